"""The monitoring pages in a real browser (headless Chromium) against a real server on loopback: a model's
page lists its monitor, the newest alerts and the incident they opened; the monitor's link opens its report,
whose charts carry the threshold and the alert markers; following the incident link shows the incident."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.serving._setup import ServerThread
from tests.web.test_browser import _click_and_wait, _screenshot, browser  # noqa: F401


@pytest.fixture()
def watched(tmp_path):
    """A registry with a model, an operator, and a file monitor linked to the model that raised alerts."""
    from steward.governance import Registry
    from steward.monitoring import build_reference
    from steward.web import create_app

    rng = np.random.default_rng(5)

    def rows(n: int, shift: float, start: str) -> pd.DataFrame:
        x = rng.normal(shift, 1, n)
        s = 1 / (1 + np.exp(-x))
        return pd.DataFrame({"x": x, "sex": rng.choice(["F", "M"], n), "score": s, "decision": (s >= 0.5).astype(int),
                             "ts": pd.Timestamp(start, tz="UTC") + pd.to_timedelta(rng.integers(0, 3 * 86400, n),
                                                                                   unit="s")})

    ref = rows(4000, 0.0, "2026-10-01")
    pd.concat([rows(2000, 0.0, "2026-11-01"), rows(2000, 1.2, "2026-11-04")]).to_parquet(tmp_path / "log.parquet")
    reg = Registry(f"sqlite:///{tmp_path / 'reg.db'}")
    viewer = reg.create_key("Victor Viewer", ["viewer"], actor="setup")["key"]
    reg.register_model("scorer", actor="setup", purpose="Scores", domain="operations", owner="Ana")
    reference = build_reference(ref, features=["x"], protected=["sex"], reference_groups={"sex": "M"},
                                score="score", decision="decision")
    reg.create_monitor("scorer-log", actor="setup", data=str(tmp_path / "log.parquet"), reference=reference.to_dict(),
                       columns={"time": "ts", "score": "score", "decision": "decision"}, model="scorer", tier="medium",
                       settings={"window": {"by": "day"}, "feature_drift": {"consecutive": 1}})
    out = reg.run_monitor("scorer-log", actor="setup", close_all=True)
    assert out["alerts"] and out["incident_id"]
    server = ServerThread(create_app(reg))
    try:
        yield {"url": server.url, "viewer": viewer, "run": out}
    finally:
        server.stop()
        reg.close()


def test_the_model_page_links_the_monitor_its_report_and_its_incident_in_a_real_browser(browser, watched,  # noqa: F811
                                                                                        tmp_path):
    from selenium.webdriver.common.by import By

    live = watched["url"]
    browser.get(f"{live}/models/scorer")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "key").send_keys(watched["viewer"])
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("scorer")

    monitors = browser.find_element(By.ID, "monitors").text
    assert "scorer-log" in monitors and "2026-11-06" in monitors  # the latest window
    alerts = browser.find_elements(By.CSS_SELECTOR, "#monitor-alerts tbody tr")
    assert len(alerts) == len(watched["run"]["alerts"])
    assert any("feature drift: x" in a.text for a in alerts)
    _screenshot(browser, tmp_path / "model-monitoring.png")

    _click_and_wait(browser, browser.find_element(By.LINK_TEXT, "scorer-log"))
    assert browser.current_url.endswith("/monitors/scorer-log")
    assert browser.find_elements(By.CSS_SELECTOR, "svg")
    page = browser.page_source
    assert "2026-11-04" in page and "Feature drift" in page
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0  # no script runs
    _screenshot(browser, tmp_path / "monitor-report.png")

    browser.back()
    link = browser.find_element(By.CSS_SELECTOR, f"#monitor-alerts a[href='/incidents/{watched['run']['incident_id']}']")
    _click_and_wait(browser, link)
    assert "Monitor scorer-log" in browser.find_element(By.TAG_NAME, "body").text
