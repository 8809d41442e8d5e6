"""A reviewer works the review queue in a real browser (headless Chromium) against a real server on loopback:
overrides a decision with a reason, then decides an appeal of it with a second reviewer, and the prediction's
history shows model → review → appeal.

Skipped when Chromium or its driver is missing, unless ``STEWARD_REQUIRE_BROWSER=1`` (as in CI), which
turns the skip into a failure (the ``browser`` fixture of ``test_browser.py``).
"""

from __future__ import annotations

import time

import pytest

from tests.web._reviewed import (  # noqa: F401 - fixtures
    DEPLOYMENT,
    REVIEWER,
    SECOND,
    deployed,
    item_where,
    rev_registry,
    reviewed,
)
from tests.web.test_browser import _click_and_wait, _screenshot, browser  # noqa: F401


@pytest.fixture()
def live(rev_registry):
    """The whole app served by uvicorn on loopback; yields its URL."""
    pytest.importorskip("uvicorn")
    from steward.web import create_app
    from tests.serving._setup import ServerThread

    server = ServerThread(create_app(rev_registry))
    yield server.url
    server.stop()


def _log_in(browser, url: str, key: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url)
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "key").send_keys(key)
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]"))


def _click_fresh(browser, css: str) -> None:
    """Find and click ``css`` on the page just loaded; once more if Chromium says the node belonged to the document
    that a login redirect was replacing (seen once in CI: "Node with given id does not belong to the document")."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    for attempt in range(3):
        try:
            return _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, css))
        except (StaleElementReferenceException, WebDriverException) as exc:
            stale = isinstance(exc, StaleElementReferenceException) or "does not belong to the document" in str(exc)
            if attempt == 2 or not stale:
                raise


def _log_out(browser) -> None:
    from selenium.webdriver.common.by import By

    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))


def test_a_reviewer_overrides_a_decision_and_an_appeal_is_overturned_in_a_real_browser(browser, live, rev_registry,
                                                                                       reviewed, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    item = item_where(rev_registry, 1)  # the model said favourable; the caller got the adverse interim decision
    pid = item["prediction"]["prediction_id"]

    # Log in as the reviewer, coming back to the queue; the navigation links it.
    _log_in(browser, f"{live}/review", reviewed.keys["reviewer"])
    assert browser.find_element(By.TAG_NAME, "h1").text == "Review queue"
    assert f"Signed in as {REVIEWER}" in browser.find_element(By.CSS_SELECTOR, "header").text
    assert browser.find_element(By.CSS_SELECTOR, "header nav a[href='/review']").text == "Review"
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert len(rows) == len(rev_registry.review_queue(status="pending"))
    _screenshot(browser, tmp_path / "review-queue.png")

    # Open the item: the inputs, the benchmark, the similar decisions and the two forms.
    _click_and_wait(browser, browser.find_element(By.LINK_TEXT, f"#{item['id']}"))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Review item #{item['id']}: Decision"
    assert browser.find_elements(By.CSS_SELECTOR, "#inputs-table tbody tr")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#similar-table tbody tr")) == 5
    assert "disagrees with the model" in browser.find_element(By.ID, "backup-benchmark").text

    # The reason is required: the browser will not send the override without it.
    override = browser.find_element(By.CSS_SELECTOR, "#override-form button[type=submit]")
    assert override.text == "Override: decide 0 (adverse)"
    override.click()
    assert browser.execute_script("return document.getElementById('override-reason').validity.valueMissing")
    time.sleep(0.3)
    assert rev_registry.review_item(item["id"])["status"] == "open"

    reason = "Capital gain was a one-off sale; income alone is below the bar"
    browser.find_element(By.ID, "override-reason").send_keys(reason)
    _click_and_wait(browser, override)
    assert "Your override is recorded" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert browser.find_element(By.ID, "item-status").text == "Decided"
    decided = browser.find_element(By.ID, "decisions").text
    assert REVIEWER in decided and "Overrode" in decided and reason in decided
    history = browser.find_element(By.ID, "history-steps").text
    assert "Model" in history and "Review" in history and reason in history
    final = browser.find_element(By.ID, "final").text
    assert "0 (adverse)" in final and f"by a reviewer ({REVIEWER})" in final
    assert not browser.find_elements(By.ID, "override-form")
    _screenshot(browser, tmp_path / "review-item-decided.png")

    # The person appeals (the application files it); the appeal shows in the queue and on its item page.
    statement = "I sold a house this year; my salary alone is above the bar"
    rev_registry.file_appeal(pid, statement=statement, actor="loan-app")
    browser.get(f"{live}/review")
    Select(browser.find_element(By.NAME, "kind")).select_by_value("appeal")
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#review-filters button[type=submit]"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert len(rows) == 1 and "Appeal" in rows[0].text
    _click_and_wait(browser, rows[0].find_element(By.CSS_SELECTOR, "a[href^='/review/']"))
    appeal_item = int(browser.current_url.rsplit("/", 1)[1])
    assert statement in browser.find_element(By.ID, "appeal-statement").text
    browser.find_element(By.ID, "appeal-reason").send_keys("Payslips confirm the salary")
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#appeal-form button[value=overturn]"))
    assert "second reviewer" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert "You made the first decision" in browser.find_element(By.ID, "second").text

    # A second, different reviewer agrees.
    _log_out(browser)
    _log_in(browser, f"{live}/review/{appeal_item}", reviewed.keys["second"])
    assert f"Signed in as {SECOND}" in browser.find_element(By.CSS_SELECTOR, "header").text
    _click_fresh(browser, "#agree-form button[type=submit]")
    assert "the first reviewer's decision is final" in browser.find_element(By.CSS_SELECTOR, ".flash").text

    # The prediction's page: model → review → appeal, and the overturned final decision.
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, f"a[href='/predictions/{pid}']"))
    assert pid in browser.find_element(By.TAG_NAME, "h1").text
    history = browser.find_element(By.ID, "history-steps").text
    for text in ("Model", "Overrode", reason, "Appeal filed", statement, "Overturned the decision",
                 "Agreed, as second reviewer"):
        assert text in history, text
    final = browser.find_element(By.ID, "final").text
    assert "1 (favourable)" in final and f"on appeal, by {REVIEWER}, with {SECOND} agreeing" in final
    assert "Overturned" in browser.find_element(By.ID, "appeals").text
    _screenshot(browser, tmp_path / "prediction-history.png")
    h = rev_registry.prediction_history(pid)
    assert (h["final_decision"], h["settled_by"]) == (1, "appeal") and h["appeals"][0]["status"] == "overturned"
