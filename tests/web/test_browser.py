"""The pages in a real browser (headless Chromium) against a real server on loopback.

Skipped when Chromium or its driver is missing, unless ``STEWARD_REQUIRE_BROWSER=1`` (as in CI),
which turns the skip into a failure so CI cannot pass without running it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.web.conftest import MODEL

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _unavailable(reason: str):
    if os.environ.get("STEWARD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"STEWARD_REQUIRE_BROWSER=1 but the browser test cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture()
def server(registry):
    """``create_app(registry)`` served by uvicorn on 127.0.0.1 in a background thread; yields its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    from steward.web import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port; the server uses this very socket, so no race
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(registry), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 10 s")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture()
def browser(tmp_path):
    """Headless Chromium through chromedriver, with everything that reaches the network turned off."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(Path(path).name)):
            _unavailable(f"{path} is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
    except ImportError:
        _unavailable("selenium is not installed (pip install 'steward[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                "--window-size=1280,1000", "--lang=en-US"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    except WebDriverException as exc:
        _unavailable(f"Chromium did not start: {exc.msg}")
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def _screenshot(driver, path: Path) -> None:
    """The whole page, not just the window: grow the window to the page's height first."""
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height), 12000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)


def _click_and_wait(driver, element) -> None:
    """Click something that loads a new page, and wait until the old page is gone (else the next
    lookup may find an element of the old page that is about to go stale)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait = WebDriverWait(driver, 20)
    wait.until(expected_conditions.staleness_of(old))
    # the old document is gone, but the new one may still be arriving (a redirect after a form post):
    # an element looked up now could belong to a document that is about to be replaced
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def test_an_executive_signs_off_and_accepts_a_finding_in_a_real_browser(browser, server, registry, keys, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # A page without the cookie goes to the login form, which logs in with the key.
    browser.get(f"{server}/")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "key").send_keys(keys["executive"])
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]"))

    # The inventory, then the model.
    assert browser.find_element(By.TAG_NAME, "h1").text == "Model inventory"
    assert "Signed in as Eve Executive" in browser.find_element(By.CSS_SELECTOR, "header").text
    _click_and_wait(browser, browser.find_element(By.LINK_TEXT, MODEL))
    assert browser.find_element(By.TAG_NAME, "h1").text == MODEL
    assert browser.find_element(By.CSS_SELECTOR, ".verdict.bad").text == "FAILED"

    # The stored report loads in its frame with the login cookie (charts included).
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.report")
    browser.switch_to.frame(frame)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Steward audit report"
    assert browser.find_elements(By.TAG_NAME, "svg")
    browser.switch_to.default_content()

    _screenshot(browser, tmp_path / "model-page.png")

    # Sign off through the form.
    Select(browser.find_element(By.ID, "role")).select_by_value("executive")
    browser.find_element(By.ID, "decision-approve").click()
    browser.find_element(By.ID, "comment").send_keys("Accepted while the disparity is remediated")
    _click_and_wait(browser, browser.find_element(By.XPATH, "//button[text()='Record my sign-off']"))

    assert "Your sign-off has been recorded." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    table = browser.find_element(By.CSS_SELECTOR, "#signoff + p + table").text
    assert "Accountable executive Approved Eve Executive" in table
    [x] = registry.model(MODEL)["versions"][0]["sign_offs"]
    assert (x["person"], x["role"], x["decision"], x["current"]) == ("Eve Executive", "executive", "approve", True)
    assert x["comment"] == "Accepted while the disparity is remediated"
    _screenshot(browser, tmp_path / "model-page-signed.png")

    # Accept a check that did not run, through its form, typing the date as a person does.
    Select(browser.find_element(By.ID, "accept-check")).select_by_value("flip_test")
    reason = "The vendor runs the flip test on the model it hosts"
    browser.find_element(By.ID, "accept-reason").send_keys(reason)
    until = datetime.now(timezone.utc).date() + timedelta(days=30)
    field = browser.find_element(By.ID, "accept-until")
    field.send_keys(until.strftime("%m%d%Y"))  # Chromium's en-US date field: month, day, year
    assert field.get_attribute("value") == until.isoformat()
    _click_and_wait(browser, browser.find_element(By.XPATH, "//button[text()='Accept this finding']"))

    assert "Your acceptance has been recorded" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    rows = browser.find_element(By.CSS_SELECTOR, "#acceptances + p + table").text
    assert f"flip_test Eve Executive {reason}" in rows and "In force" in rows
    [a] = registry.version(MODEL, "1.0")["acceptances"]
    assert (a["check"], a["accepted_by"], a["reason"], a["until"][:10]) == \
        ("flip_test", "Eve Executive", reason, until.isoformat())
    browser.find_element(By.XPATH, "//summary[text()='Show the model card']").click()
    card = browser.find_element(By.CSS_SELECTOR, "div.card").text
    assert "Accepted findings (exceptions)" in card and reason in card
    _screenshot(browser, tmp_path / "model-page-accepted.png")


def test_a_missing_browser_fails_the_run_when_ci_requires_it(monkeypatch):
    monkeypatch.setenv("STEWARD_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="STEWARD_REQUIRE_BROWSER=1 but .*no chromium"):
        _unavailable("no chromium")
    monkeypatch.delenv("STEWARD_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        _unavailable("no chromium")
