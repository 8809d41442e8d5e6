"""The kill switch in a real browser (headless Chromium) against a real server on loopback, with a caller
hitting the guarded endpoint over HTTP meanwhile.

Skipped when Chromium or its driver is missing, unless ``STEWARD_REQUIRE_BROWSER=1`` (as in CI), which
turns the skip into a failure (the ``browser`` fixture of ``test_browser.py``).
"""

from __future__ import annotations

import time

import pytest

from tests.web._deployed import DEPLOYMENT, OPERATOR, dep_registry, deployed  # noqa: F401
from tests.web.test_browser import _click_and_wait, _screenshot, browser  # noqa: F401

PAGE = f"/deployments/{DEPLOYMENT}"


@pytest.fixture()
def live(dep_registry):
    """The whole app (pages and guarded endpoints) served by uvicorn on loopback; yields its URL."""
    pytest.importorskip("uvicorn")
    from steward.web import create_app
    from tests.serving._setup import ServerThread

    server = ServerThread(create_app(dep_registry))
    yield server.url
    server.stop()


def _route_until(url: str, key: str, row: dict, done, within: float) -> tuple[str, float]:
    """Call the guarded endpoint over HTTP until ``done(route)`` or ``within`` seconds pass; the last
    route and the seconds it took."""
    import httpx

    start = time.monotonic()
    with httpx.Client(base_url=url, timeout=5) as http:
        while True:
            r = http.post(f"/api/deployments/{DEPLOYMENT}/predict", json={"row": row}, headers={"X-API-Key": key})
            assert r.status_code == 200, r.text
            route = r.json()["route"]
            took = time.monotonic() - start
            if done(route) or took > within:
                return route, took
            time.sleep(0.05)


def _killed(route: str) -> bool:
    return route == "kill_switch"


def _live(route: str) -> bool:
    return route != "kill_switch"


def test_an_operator_pulls_the_kill_switch_and_revives_it_in_a_real_browser(browser, live, dep_registry, deployed,
                                                                            tmp_path):
    from selenium.webdriver.common.by import By

    caller, row = deployed.keys["caller"], deployed.test_rows[0]
    route, _ = _route_until(live, caller, row, _live, 0)  # the server has read the switch: live
    assert _live(route)

    # Log in as the operator, coming back to the deployment's page.
    browser.get(f"{live}{PAGE}")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "key").send_keys(deployed.keys["operator"])
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]"))
    assert browser.find_element(By.TAG_NAME, "h1").text == DEPLOYMENT
    assert f"Signed in as {OPERATOR}" in browser.find_element(By.CSS_SELECTOR, "header").text
    assert browser.find_element(By.CSS_SELECTOR, "#kill-switch .verdict").text == "LIVE"
    assert browser.find_elements(By.CSS_SELECTOR, ".chart svg")  # the routes chart drew
    _screenshot(browser, tmp_path / "deployment-live.png")

    # The reason is required: the browser will not send the form without it.
    button = browser.find_element(By.XPATH, "//button[text()='Pull the kill switch']")
    button.click()
    assert browser.execute_script("return document.getElementById('kill-reason').validity.valueMissing")
    time.sleep(0.3)
    assert browser.current_url == f"{live}{PAGE}" and not dep_registry.deployment(DEPLOYMENT)["killed"]

    reason = "Declines doubled since this morning's release"
    browser.find_element(By.ID, "kill-reason").send_keys(reason)
    _click_and_wait(browser, button)
    banner = browser.find_element(By.ID, "killed")
    assert "KILL SWITCH PULLED" in banner.text and reason in banner.text and OPERATOR in banner.text
    assert "The kill switch is pulled" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    d = dep_registry.deployment(DEPLOYMENT)
    assert (d["killed"], d["kill_reason"], d["killed_by"]) == (True, reason, OPERATOR)
    _screenshot(browser, tmp_path / "deployment-killed.png")

    # A caller over HTTP gets the safe default within a second (of the page saying so, after the commit).
    route, took = _route_until(live, caller, row, _killed, 1.0)
    assert _killed(route), f"still {route} {took:.2f} s after the kill"

    # Revive from the banner; decisions reach the model again.
    _click_and_wait(browser, banner.find_element(By.XPATH, ".//button[starts-with(text(), 'Revive')]"))
    assert "live again" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert not browser.find_elements(By.ID, "killed")
    assert browser.find_element(By.CSS_SELECTOR, "#kill-switch .verdict").text == "LIVE"
    assert dep_registry.deployment(DEPLOYMENT)["killed"] is False
    route, took = _route_until(live, caller, row, _live, 1.0)
    assert _live(route), f"still killed {took:.2f} s after the revival"
    actions = [e["action"] for e in dep_registry.trail(subject=f"deployment:{DEPLOYMENT}")]
    assert actions[:2] == ["deployment.revive", "deployment.kill"]
