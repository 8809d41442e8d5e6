"""The central team's console in a real browser (headless Chromium) against a real server on loopback, over the
demo organisation (examples/org/seed.py: several teams, models in every state): the counts and the falls-short
list agree with ``Registry.standards()``, the adoption chart has a bar per practice, a model link opens its
standards, and the risk form shows the tier before anything is recorded.

Skipped when Chromium or its driver is missing, unless ``STEWARD_REQUIRE_BROWSER=1`` (as in CI), which turns
the skip into a failure (the ``browser`` fixture of ``test_browser.py``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from steward.governance import Registry
from steward.governance._adoption import PRACTICES
from tests.web.test_browser import _click_and_wait, _screenshot, browser  # noqa: F401 - fixture

SEED = Path(__file__).resolve().parents[2] / "examples" / "org" / "seed.py"
ASSESSOR = "Rae Assessor"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """The seeded organisation on a SQLite file (seeded once for the module), and its keys."""
    assert SEED.exists(), f"{SEED} is missing: the browser test runs over the demo organisation it seeds"
    spec = importlib.util.spec_from_file_location("steward_demo_org_seed", SEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    work = tmp_path_factory.mktemp("org")
    reg = Registry(f"sqlite:///{work / 'steward.db'}")
    out = module.seed(reg, work / "files")
    keys = {"governance": out["keys"][out["governance"]],
            "assessor": reg.create_key(ASSESSOR, ["developer"], actor="test setup")["key"]}
    yield reg, keys
    reg.close()


@pytest.fixture(scope="module")
def live(org):
    """The whole app served by uvicorn on loopback (one server for the module); yields its URL."""
    pytest.importorskip("uvicorn")
    from steward.web import create_app
    from tests.serving._setup import ServerThread

    server = ServerThread(create_app(org[0]))
    yield server.url
    server.stop()


def _log_in(driver, url: str, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    assert "/login" in driver.current_url
    driver.find_element(By.ID, "key").send_keys(key)
    _click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]"))


def _count(driver, key: str) -> int:
    from selenium.webdriver.common.by import By

    return int(driver.find_element(By.ID, f"count-{key}").text)


def _shortfalls(driver) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    return [(tr.get_attribute("data-model"), tr.get_attribute("data-rule"))
            for tr in driver.find_elements(By.CSS_SELECTOR, "#shortfalls tbody tr")]


def test_the_central_team_reads_the_console_in_a_real_browser(browser, live, org, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    reg, keys = org
    _log_in(browser, f"{live}/standards", keys["governance"])
    assert browser.find_element(By.TAG_NAME, "h1").text == "Standards"
    assert browser.find_element(By.CSS_SELECTOR, "header nav a[href='/standards']").text == "Standards"
    report = reg.standards()
    s = report["summary"]
    assert len(report["teams"]) >= 3 and s["falls_short"] >= 3  # an organisation with models in every state
    for key in ("models", "falls_short", "due_soon", "met"):
        assert _count(browser, key) == s[key], key
    assert _shortfalls(browser) == [(x["model"], x["rule"]) for x in report["shortfalls"]]
    severities = [tr.find_element(By.CSS_SELECTOR, "td .pill").text
                  for tr in browser.find_elements(By.CSS_SELECTOR, "#shortfalls tbody tr")]
    assert severities == [x["severity"] for x in report["shortfalls"]]
    teams = browser.find_elements(By.CSS_SELECTOR, "#teams-table tbody tr")
    assert len(teams) == len(report["teams"])
    for tr, t in zip(teams, report["teams"]):
        cells = tr.find_elements(By.TAG_NAME, "td")
        assert cells[0].text == (t["team"] or "no team") and cells[1].text == (t["contact"] or "—")
        assert [int(c.text) for c in cells[2:6]] == [t["models"], t["falls_short"], t["due_soon"], t["shortfalls"]]

    # the adoption chart: one bar per practice, each bar's figure the registry's rate
    bars = browser.find_elements(By.CSS_SELECTOR, "#adoption-chart svg rect")
    assert len(bars) == len(PRACTICES) == len(report["adoption"]["practices"])
    plot = browser.find_element(By.CSS_SELECTOR, "#adoption-chart svg")
    assert plot.size["width"] > 300 and plot.size["height"] > 150  # drawn, not an empty box
    for bar, p in zip(bars, report["adoption"]["practices"]):
        tip = bar.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        assert tip.startswith(p["title"])
        assert tip.endswith("undefined" if p["rate"] is None else f"{100 * p['rate']:.1f}%"), tip
    assert any(p["rate"] for p in report["adoption"]["practices"])  # the seeded evidence shows some practice
    assert browser.find_elements(By.CSS_SELECTOR, "#trend-chart svg polyline")
    _screenshot(browser, tmp_path / "standards.png")

    # filter by a team: the counts and the list are that team's
    team = next(t["team"] for t in report["teams"] if t["team"] and t["falls_short"])
    Select(browser.find_element(By.ID, "team-filter")).select_by_visible_text(team)
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]"))
    mine = reg.standards(team=team)
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Standards: {team}"
    assert _count(browser, "models") == mine["summary"]["models"]
    assert _shortfalls(browser) == [(x["model"], x["rule"]) for x in mine["shortfalls"]]

    # a model's evidence: its link opens the model page at its standards
    model, rule = _shortfalls(browser)[0]
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#shortfalls tbody tr a"))
    assert browser.current_url.endswith(f"/models/{model}#standards")
    assert browser.find_element(By.TAG_NAME, "h1").text == model
    top = browser.execute_script("return document.getElementById('standards').getBoundingClientRect().top")
    assert -2 < top < 200  # scrolled to the section
    row = browser.find_element(By.CSS_SELECTOR, f"#standards-rules tr[data-rule='{rule}']")
    judged = next(r for r in next(m for m in mine["models"] if m["model"] == model)["rules"] if r["rule"] == rule)
    assert "Falls short" in row.text and judged["why"].split(";")[0] in row.text
    assert team in browser.find_element(By.ID, "team").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#standards-practices tbody tr")) == len(PRACTICES)
    assert not browser.find_elements(By.ID, "risk-form-link")  # the central team only reads
    _screenshot(browser, tmp_path / "model-standards.png")


def test_an_owner_checks_the_tier_then_records_the_assessment_in_a_real_browser(browser, live, org, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    reg, keys = org
    model = next(m for m in reg.models() if m["tier"] == "high")  # higher answers than these cannot lower it
    name = model["name"]
    answers = {"domain": "criminal_justice", "people_affected": 9000, "decisions_per_day": 25, "human_review": True,
               "wrong_decision_cost": "high"}
    tier, reason = reg.policy.assign_tier(answers)
    _log_in(browser, f"{live}/models/{name}", keys["assessor"])
    _click_and_wait(browser, browser.find_element(By.ID, "risk-form-link"))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Risk assessment: {name}"
    assert not browser.find_elements(By.ID, "record")  # the tier comes first

    Select(browser.find_element(By.ID, "domain")).select_by_value(answers["domain"])
    for field in ("people_affected", "decisions_per_day"):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(f"{answers[field]:,}")  # as people write it: 9,000
    browser.find_element(By.ID, "review-yes").click()
    browser.find_element(By.ID, "cost-high").click()
    trail = len(reg.model(name)["trail"])
    _click_and_wait(browser, browser.find_element(By.ID, "check-tier"))

    # the tier, why, and what it asks, before anything is recorded
    assert browser.find_element(By.ID, "preview-tier").text == f"{tier.name} risk"
    assert reason in browser.find_element(By.ID, "preview-reason").text
    assert f"at least every {tier.reaudit_days} days" in browser.find_element(By.ID, "preview-requires").text
    assert browser.find_element(By.ID, "people_affected").get_attribute("value") == "9000"
    assert len(reg.model(name)["trail"]) == trail
    _screenshot(browser, tmp_path / "risk-preview.png")

    _click_and_wait(browser, browser.find_element(By.ID, "record"))
    assert browser.current_url.endswith(f"/models/{name}?flash=assessed#risk")
    assert "The risk assessment has been recorded" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    m = reg.model(name)
    assert m["risk"]["answers"] == answers and m["risk"]["assessed_by"] == ASSESSOR and m["tier"] == tier.name
    assert len(m["trail"]) == trail + 1
    risk = browser.find_element(By.ID, "standards-rules").find_element(By.CSS_SELECTOR, "tr[data-rule='risk_assessed']")
    assert ASSESSOR in risk.text  # the model's standards already judge the new assessment
