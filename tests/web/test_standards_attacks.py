"""The standards console over HTTP against input that once crashed it and a risk form recorded under other
circumstances than those its tier was explained for: a date out of range is a 400 naming ``at`` (the API, the
console page and its downloads), the digest's span is bounded alike on the API, in the library and in the CLI, and a
tier preview stops counting once someone else has assessed the model."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import HIGH_RISK, LOW, csrf_of, login


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def error_of(r, status: int) -> str:
    body = r.json()
    assert r.status_code == status and body == {"ok": False, "error": body["error"], "status": status}, r.text
    return body["error"]


@pytest.mark.parametrize("at", ["0001-01-01", "9999-12-31T23:59:59-05:00", "1899-12-31T23:00:00"])
def test_a_date_out_of_range_is_a_400_naming_at(client, keys, at):
    h = auth(keys["viewer"])
    for path in ("/api/standards", "/api/standards/digest"):
        for fmt in ("json", "csv", "md"):
            error = error_of(client.get(path, params={"at": at, "format": fmt}, headers=h), 400)
            assert error.startswith("at: ") and "is out of range: give a date in the years 1900 to 9999" in error
    login(client, keys["viewer"])
    for path in ("/standards", "/standards/report.csv", "/standards/report.md"):
        r = client.get(path, params={"at": at})
        assert r.status_code == 400, (path, r.status_code)
        assert "is out of range: give a date in the years 1900 to 9999" in r.text


def test_the_digest_span_on_the_api_matches_the_library(client, keys):
    h = auth(keys["viewer"])
    r = client.get("/api/standards/digest", params={"days": 366, "at": "2030-01-01"}, headers=h)
    assert r.status_code == 200 and r.json()["changes"]["since"].startswith("2028-12-31")
    for bad in ("367", "0", "1000000000", "7.5"):
        assert error_of(client.get("/api/standards/digest", params={"days": bad}, headers=h), 400).startswith("days: ")


def test_a_preview_stops_counting_once_someone_else_assessed_the_model(client, keys, registry):
    login(client, keys["developer"])
    path = f"/models/{LOW}/risk"
    form = {"domain": HIGH_RISK["domain"], "people_affected": str(HIGH_RISK["people_affected"]),
            "decisions_per_day": str(HIGH_RISK["decisions_per_day"]), "human_review": "yes",
            "wrong_decision_cost": HIGH_RISK["wrong_decision_cost"]}
    page = client.get(path)
    preview = client.post(path, data={"csrf": csrf_of(page.text), "action": "preview", **form})
    assert "This changes the tier from low to high" in preview.text
    checked = re.search(r'name="checked" value="([0-9a-f]+)"', preview.text).group(1)
    # meanwhile a validator records the same answers: the preview explained a change that is no longer one
    registry.assess_risk(LOW, dict(HIGH_RISK), actor="Vera Validator")
    before = [e["seq"] for e in registry.model(LOW)["trail"]]
    r = client.post(path, data={"csrf": csrf_of(preview.text), "action": "record", "checked": checked, **form})
    assert r.status_code == 200 and "nothing was recorded" in r.text
    assert "The model is in this tier already" in r.text  # the tier shown again, as things are now
    assert [e["seq"] for e in registry.model(LOW)["trail"]] == before
    assert registry.model(LOW)["risk"]["assessed_by"] == "Vera Validator"
    # recording from the fresh preview works
    again = re.search(r'name="checked" value="([0-9a-f]+)"', r.text).group(1)
    done = client.post(path, data={"csrf": csrf_of(r.text), "action": "record", "checked": again, **form},
                       follow_redirects=False)
    assert done.status_code == 303 and registry.model(LOW)["risk"]["assessed_by"] == "Dev Developer"
