"""Monitors over real HTTP (one uvicorn server on loopback for the module, a SQLite registry file): a
deployment's monitor whose reference the registry re-derives (the version's training profile and its audit
on the training data, protected race and sex), served traffic read from the prediction log, a broken
feature pipeline that raises the alert whose rule pulls the kill switch, the incident that follows, and
the trail; a records monitor fed by POST with late labels; ``/metrics`` in Prometheus' text format;
errors in the one JSON shape."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

import steward

pytest.importorskip("uvicorn")
pytest.importorskip("lightgbm")

from tests.serving import _setup  # noqa: E402
from tests.serving._setup import FEATURES, ServerThread, guard_settings, populate, rows_of, train_models  # noqa: E402

DEPLOYMENT = "credit-watched"
PROTECTED = {"sex": "Male", "race": "White"}


def _policy(folder: Path) -> steward.Policy:
    """The serving tests' policy, where a model audit without probes passes the low tier."""
    _setup.serving_policy(folder)
    doc = yaml.safe_load((folder / "serving-policy.yaml").read_text(encoding="utf-8"))
    for name in ("slices", "situation_testing", "proxies", "pii_in_features", "reidentification"):
        doc["tiers"]["low"]["checks"][name] = dict(doc["tiers"]["high"]["checks"][name], optional=True)
    # the low tier's monitoring rules here: a broken pipeline pulls the kill switch; PRADA is off (it reads a
    # constant column far out of range as a query pattern too; tested in tests/monitoring); reviewers may
    # overturn many decisions of these tests
    doc["tiers"]["low"]["monitor"] = {"data_quality": {"trip": True, "severity": "critical"},
                                      "extraction": {"enabled": False}, "oversight": {"max_override_rate": 0.99}}
    doc["policy"]["version"] += "-monitor"
    path = folder / "monitor-policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return steward.load_policy(path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    from tests.serving.conftest import _database

    folder = tmp_path_factory.mktemp(f"monitors-http-{request.param}")
    with _database(request.param, folder) as url:
        yield from _env(folder, url)


def _env(folder: Path, url: str):
    import lightgbm as lgb

    from steward.governance import Registry
    from steward.web import create_app

    models = train_models(folder / "models")
    policy = _policy(folder)
    booster = lgb.Booster(model_file=str(models.paths["1.0"]))

    def model_audit(_policy_ignored: Any) -> Any:
        """The model's own audit on its training data (scores, decisions, race and sex): the monitor's reference."""
        df = models.train.copy()
        df["y"] = (df["income"] == ">50K").astype(int)
        df["s"] = booster.predict(_setup._categories(df[FEATURES]))
        df["d"] = (df["s"] >= 0.5).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", steward.StewardWarning)
            result = steward.audit(df, label="y", prediction="d", score="s", protected=PROTECTED, policy=policy,
                                   tier="low")
        assert result.passed, [(f.check, f.status) for f in result.findings if f.status in ("fail", "not_evidenced")]
        return result

    reg = Registry(url, policy=policy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_setup, "_rules_audit", model_audit)
        keys = populate(reg, models, policy)
    keys["app"] = reg.create_key("watched-app", ["caller"], actor="setup", deployments=[DEPLOYMENT])["key"]
    reg.deploy(DEPLOYMENT, "credit:1.0", actor="Olga Operator", guard=guard_settings())
    server = ServerThread(create_app(reg))
    http = httpx.Client(base_url=server.url, timeout=60)
    try:
        yield {"reg": reg, "http": http, "keys": keys, "models": models}
    finally:
        http.close()
        server.stop()
        reg.close()


def _h(env, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['keys'][who]}"}


def _send(env, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i in range(0, len(rows), 200):
        r = env["http"].post(f"/api/deployments/{DEPLOYMENT}/predict", json={"rows": rows[i:i + 200]},
                             headers=_h(env, "app"))
        assert r.status_code == 200, r.text
        out += r.json()["results"]
    return out


def test_a_broken_pipeline_in_served_traffic_raises_the_alert_that_pulls_the_kill_switch(env):
    http = env["http"]
    # Created by an operator; the reference is the registry's own, never the client's.
    r = http.post("/api/monitors", json={
        "name": "watch", "deployment": DEPLOYMENT,
        "settings": {"window": {"by": "count", "size": 600}, "min_rows": 100, "feature_drift": {"consecutive": 1}}}, headers=_h(env, "operator"))
    assert r.status_code == 201, r.text
    m = env["reg"].monitor("watch")
    ref = m["reference"]
    assert ref["source"].startswith("credit:1.0 training profile and audit")
    assert ref["reference_groups"] == PROTECTED and ref["decision_rate"] is not None
    assert "White*Female" in ref["groups"]["race*sex"]  # the audit's intersection, in the guard's order

    test = env["models"].test
    _send(env, rows_of(test.iloc[:600]))  # window 1: the test population, as the model was audited on
    r = http.post("/api/monitors/watch/run", json={}, headers=_h(env, "operator"))
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["rows_read"] == 600 and first["windows_closed"] == ["#000000"]
    # the model's disparity for women is the one its approved audit showed (four-fifths rule, per window);
    # nothing drifted from the reference, so the sequential detector stays quiet
    assert {(a["signal"], a["subject"]) for a in first["alerts"]} == {
        ("fairness", "sex=Female:air"), ("fairness", "race*sex=White*Female:air")}, first["alerts"]
    assert first["tripped"] == []
    # the fairness alert carries the slice finder's answer: where in the window adverse decisions gather
    fair = [a for a in env["reg"].monitor("watch")["alerts"] if a["signal"] == "fairness"]
    slices = fair[0]["evidence"]["slices"]
    assert slices and all(s["slice"] and s["size"] >= 32 for s in slices), slices

    broken = test.iloc[600:1200].copy()
    broken["hours-per-week"] = 999  # a unit change upstream: every value far beyond training's range
    _send(env, rows_of(broken))
    r = http.post("/api/monitors/watch/run", json={}, headers=_h(env, "operator"))
    second = r.json()
    assert second["windows_closed"] == ["#000001"]
    subjects = {(a["signal"], a["subject"]) for a in second["alerts"]}
    # the broken column, and what it does to the scores: more favourable decisions, a lower expected accuracy;
    # every row is screened by the guard (out of range)
    assert subjects == {("feature_drift", "hours-per-week"), ("data_quality", "hours-per-week:out_of_range"),
                        ("prediction_drift", "decision_rate"), ("estimated_performance", "accuracy"),
                        ("screening", "screened")}, second["alerts"]
    assert second["tripped"] == [DEPLOYMENT]
    inc_id = second["incident_id"]
    assert inc_id

    # The deployment now answers with its safe default; the incident and the trail say why.
    deadline = time.monotonic() + 3  # every server process reads the switches every half second
    while (answer := _send(env, rows_of(test.iloc[:1]))[0])["route"] != "kill_switch" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answer["route"] == "kill_switch"
    dep = http.get(f"/api/deployments/{DEPLOYMENT}", headers=_h(env, "viewer")).json()
    assert dep["killed"] and "monitor watch: data_quality alert on hours-per-week:out_of_range" in dep["kill_reason"]
    inc = http.get(f"/api/incidents/{inc_id}", headers=_h(env, "viewer")).json()
    assert inc["severity"] == "critical" and "Monitor watch" in inc["title"]
    trail = [e["action"] for e in env["reg"].trail(limit=500)]
    assert {"monitor.create", "monitor.run", "monitor.alert", "incident.open", "deployment.kill"} <= set(trail)
    assert env["reg"].verify_trail().ok

    # /metrics: the latest window's values, breaches and the alerts counted.
    text = http.get("/metrics", headers=_h(env, "viewer")).text
    assert ('steward_monitor_breach{monitor="watch",window="#000001",signal="data_quality",'
            'subject="hours-per-week:out_of_range"} 1') in text
    assert 'steward_monitor_alerts_total{monitor="watch",signal="data_quality",severity="critical"} 1' in text
    assert http.get("/metrics").status_code == 401
    env["reg"].revive(DEPLOYMENT, actor="Olga Operator")


def test_a_records_monitor_takes_posted_predictions_and_late_labels(env):
    from steward.monitoring import build_reference

    http = env["http"]
    rng = np.random.default_rng(3)
    n = 2000
    x = rng.normal(0, 1, n)
    s = 1 / (1 + np.exp(-x))
    import pandas as pd

    ref_frame = pd.DataFrame({"x": x, "sex": rng.choice(["F", "M"], n), "score": s, "decision": (s >= 0.5).astype(int),
                              "label": (rng.random(n) < s).astype(int)})
    ref = build_reference(ref_frame, features=["x"], protected=["sex"], reference_groups={"sex": "M"}, score="score",
                          decision="decision", label="label")
    r = http.post("/api/monitors", json={"name": "ext", "records": True, "reference": ref.to_dict(), "tier": "high",
                                         "settings": {"window": {"by": "count", "size": 500}}},
                  headers=_h(env, "developer"))
    assert r.status_code == 201, r.text
    from datetime import datetime, timedelta, timezone

    sent_at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    recs = [{"x": float(v), "sex": str(g), "score": float(p), "decision": int(p >= 0.5), "prediction_id": f"e{i}",
             "key_id": "other-system", "time": sent_at}
            for i, (v, g, p) in enumerate(zip(ref_frame["x"][:1000], ref_frame["sex"][:1000], s[:1000]))]
    r = http.post("/api/monitors/ext/records", json={"records": recs}, headers=_h(env, "developer"))
    assert r.status_code == 202 and r.json() == {"accepted": 1000}

    # One bad record refuses the request, naming it; nothing of it is stored.
    bad = [dict(recs[0]), dict(recs[1], score=1.5)]
    r = http.post("/api/monitors/ext/records", json={"records": bad}, headers=_h(env, "developer"))
    assert r.status_code == 400 and "records[1].score" in r.json()["error"]
    for bad, says in (([dict(recs[0], sex="Z" * 201)], "records[0].sex: 201 characters"),
                      ([dict(recs[0], time="9999-12-31T00:00:00Z")], "records[0].time"),
                      ([dict(recs[0], time="2026-11-30T10:00:00")], "has no time zone")):
        r = http.post("/api/monitors/ext/records", json={"records": bad}, headers=_h(env, "developer"))
        assert r.status_code == 400 and says in r.json()["error"], r.text
    bad = [dict(recs[0], salary=1)]
    r = http.post("/api/monitors/ext/records", json={"records": bad}, headers=_h(env, "developer"))
    assert r.status_code == 400 and "records[0].salary" in r.json()["error"]
    r = http.post("/api/monitors/ext/records", json={"records": recs[:1]}, headers=_h(env, "viewer"))
    assert r.status_code == 403

    out = http.post("/api/monitors/ext/run", json={}, headers=_h(env, "developer")).json()
    assert out["rows_read"] == 1000 and out["windows_closed"] == ["#000000", "#000001"] and out["alerts"] == []

    labels = [{"prediction_id": f"e{i}", "label": int(v)} for i, v in enumerate(ref_frame["label"][:1000])]
    r = http.post("/api/monitors/ext/labels", json={"labels": labels}, headers=_h(env, "developer"))
    assert r.status_code == 200 and r.json()["added"] == 1000
    r = http.post("/api/monitors/ext/labels", json={"labels": [{"prediction_id": "e1", "label": 2}]},
                  headers=_h(env, "developer"))
    assert r.status_code == 400 and "label" in r.json()["error"]
    out = http.post("/api/monitors/ext/run", json={}, headers=_h(env, "developer")).json()
    assert out["relabelled"] == ["#000000", "#000001"]
    shown = http.get("/api/monitors/ext", headers=_h(env, "viewer")).json()
    for w, part in zip(shown["windows"], (slice(0, 500), slice(500, 1000))):
        acc = next(x for x in w["result"]["signals"] if x["signal"] == "performance" and x["subject"] == "accuracy")
        f = ref_frame.iloc[part]
        assert acc["measures"]["accuracy"] == pytest.approx(float((f["decision"] == f["label"]).mean()))


def test_reviewers_overrides_by_group_reach_the_monitor_also_after_the_window_closed(env):
    """Decisions routed to people: what reviewers did, by group, is the window's oversight signal; a review
    settled after the window was judged makes the next run read that window again."""
    reg = env["reg"]
    name = "credit-reviewed"
    reg.deploy(name, "credit:1.0", actor="Olga Operator",
               guard=guard_settings(review={"band": 0.2, "second_reviewer": False, "on_flags": False}))
    key = reg.create_key("reviewed-app", ["caller"], actor="setup", deployments=[name])["key"]
    r = env["http"].post("/api/monitors", json={"name": "watch-people", "deployment": name, "settings": {
        "window": {"by": "count", "size": 400}, "min_rows": 100}}, headers=_h(env, "operator"))
    assert r.status_code == 201, r.text
    rows = rows_of(env["models"].test.iloc[1200:1600])
    got = env["http"].post(f"/api/deployments/{name}/predict", json={"rows": rows},
                           headers={"Authorization": f"Bearer {key}"}).json()["results"]
    items = reg.review_queue(deployment=name, status="open", limit=1000)
    assert len(items) >= 40
    sex = {x["prediction_id"]: rows[i]["sex"] for i, x in enumerate(got)}
    first, later = items[: len(items) // 2], items[len(items) // 2:]
    for it in first:  # a reviewer overturns the women's decisions and confirms the men's
        female = sex[it["prediction_id"]] == "Female"
        reg.decide_review(it["id"], action="override" if female else "confirm", actor="Rita Reviewer",
                          reason="payslips checked" if female else "")

    def oversight(window: dict) -> dict[str, tuple[int, int]]:
        return {x["subject"]: (x["measures"]["cases"], x["measures"]["count"])
                for x in window["result"]["signals"] if x["signal"] == "oversight" and x["subject"].startswith("sex=")
                and x["subject"].endswith("override_rate")}

    def expected() -> dict[str, tuple[int, int]]:
        """From the registry's decision outcomes (the audit of decisions' reading): reviewed, and overturned
        when the reviewer's decision differs from the model's."""
        out: dict[str, tuple[int, int]] = {}
        for o in reg.decision_outcomes(name):
            if o["reviewed"]:
                k = f"sex={o['protected']['sex']}:override_rate"
                c, n = out.get(k, (0, 0))
                out[k] = (c + 1, n + int(o["review_decision"] != o["model_decision"]))
        return out

    out = env["http"].post("/api/monitors/watch-people/run", json={}, headers=_h(env, "operator")).json()
    assert out["windows_closed"] == ["#000000"]
    before = expected()
    assert sum(c for c, _ in before.values()) == len(first) and sum(n for _, n in before.values()) > 0
    assert oversight(reg.monitor("watch-people")["windows"][0]) == before
    for it in later:  # settled after the window was judged
        reg.decide_review(it["id"], action="override", actor="Rita Reviewer", reason="second look")
    out = env["http"].post("/api/monitors/watch-people/run", json={}, headers=_h(env, "operator")).json()
    assert out["relabelled"] == ["#000000"]
    after = expected()
    assert sum(c for c, _ in after.values()) == len(items) and after != before
    assert oversight(reg.monitor("watch-people")["windows"][0]) == after


def test_monitor_errors_are_one_json_shape(env):
    http = env["http"]
    r = http.get("/api/monitors/nope", headers=_h(env, "viewer"))
    assert r.status_code == 404 and "no monitor named 'nope'" in r.json()["error"]
    r = http.post("/api/monitors", json={"name": "two", "deployment": DEPLOYMENT, "records": True},
                  headers=_h(env, "operator"))
    assert r.status_code == 400 and "one source" in r.json()["error"]
    r = http.post("/api/monitors", json={"name": "watch", "deployment": DEPLOYMENT}, headers=_h(env, "operator"))
    assert r.status_code == 409
    r = http.post("/api/monitors", json={"name": "x", "deployment": DEPLOYMENT, "settings": {"fairness": {"min_air": 3}}},
                  headers=_h(env, "operator"))
    assert r.status_code == 400 and "fairness.min_air" in r.json()["error"]
    r = http.post("/api/monitors", json={"name": "bad name!", "records": True}, headers=_h(env, "operator"))
    assert r.status_code in (400, 422)


def test_the_deployment_and_model_pages_show_the_monitor_its_alerts_and_its_report(env):
    """After the kill switch test: the pages a viewer reads (a logged-in browser session, over HTTP)."""
    from html.parser import HTMLParser

    from tests.web.conftest import login

    with httpx.Client(base_url=str(env["http"].base_url), timeout=60) as browser:
        login(browser, env["keys"]["viewer"])
        page = browser.get(f"/deployments/{DEPLOYMENT}")
        assert page.status_code == 200
        html = page.text
        section = html[html.index('id="monitoring"'):html.index('id="history"')]
        assert 'href="/monitors/watch"' in section and "reference: credit:1.0 training profile and audit" in section
        alerts = env["reg"].monitor("watch")["alerts"]
        assert section.count("<tr><td>#") == len(alerts) == 7
        assert f'href="/incidents/{alerts[0]["incident_id"]}"' in section
        assert section.count(f"pulled on {DEPLOYMENT}") == 1  # the one alert whose rule trips the switch
        model = browser.get("/models/credit").text
        assert 'href="/monitors/watch"' in model[model.index('id="monitoring"'):]
        report = browser.get("/monitors/watch")
        assert report.status_code == 200 and "<svg" in report.text
        HTMLParser().feed(report.text)  # well-formed enough to parse
        assert browser.get("/monitors/nope").status_code == 404
    anonymous = env["http"].get("/monitors/watch", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)


def test_a_monitor_may_be_stricter_than_its_tier_never_looser_nor_take_a_reference_for_a_deployment(env):
    http = env["http"]

    def create(**body):
        return http.post("/api/monitors", json={"name": "strict", "deployment": DEPLOYMENT, **body},
                         headers=_h(env, "developer"))

    for settings, says in (({"fairness": {"enabled": False}}, "fairness.enabled: the tier turns it on"),
                           ({"fairness": {"min_air": 0.5}}, "fairness.min_air: 0.5 is looser"),
                           ({"feature_drift": {"trip": True}}, "only the policy's tier can make an alert pull"),
                           ({"data_quality": {"trip": False}}, "a monitor cannot stop it"),
                           ({"min_rows": 10**6}, "min_rows"),
                           ({"feature_drift": {"consecutive": 5}}, "feature_drift.consecutive: 5 is looser"),
                           ({"fairness": {"severity": "low"}}, "lower than the tier's high")):
        r = create(settings=settings)
        assert r.status_code == 400 and says in r.json()["error"], (settings, r.text)
    r = create(reference=env["reg"].monitor("watch")["reference"])
    assert r.status_code == 400 and r.json()["error"].startswith("reference:")
    r = create(tier="high")
    assert r.status_code == 400 and "--tier" in r.json()["error"]
    r = create(settings={"fairness": {"min_air": 0.9}, "feature_drift": {"psi": 0.1}, "window": {"by": "hour"}})
    assert r.status_code == 201, r.text
    entry = next(e for e in env["reg"].trail(limit=50) if e["action"] == "monitor.create" and e["subject"] == "monitor:strict")
    assert json.loads(entry["payload"])["settings"]["fairness"] == {"min_air": 0.9} and len(json.loads(entry["payload"])["reference"]["sha256"]) == 64


def test_labels_name_decisions_of_the_deployment_and_a_replaced_label_is_in_the_trail(env):
    reg = env["reg"]
    pid = reg.prediction_log(DEPLOYMENT, limit=1)[0]["prediction_id"]
    r = env["http"].post("/api/monitors/watch/labels", json={"labels": [{"prediction_id": "p" + "0" * 24, "label": 1}]},
                         headers=_h(env, "operator"))
    assert r.status_code == 400 and "name no decision" in r.json()["error"]
    for label in (1, 0):
        r = env["http"].post("/api/monitors/watch/labels", json={"labels": [{"prediction_id": pid, "label": label}]},
                             headers=_h(env, "operator"))
        assert r.status_code == 200, r.text
    assert r.json() == {"added": 0, "replaced": 1}
    entry = next(e for e in reg.trail(limit=50) if e["action"] == "monitor.labels")
    assert json.loads(entry["payload"])["changes"] == [[pid, 1, 0, "Olga Operator"]]


def test_a_protected_attribute_must_be_a_group_name_not_a_document(env):
    row = rows_of(env["models"].test.iloc[:1])[0]
    r = env["http"].post(f"/api/deployments/{DEPLOYMENT}/predict", json={"row": dict(row, sex="Z" * 201)},
                         headers=_h(env, "app"))
    assert r.status_code == 400 and "'sex' (a protected attribute)" in r.json()["error"], r.text
    for bad in ({"nested": 1}, [1, 2]):  # sex is a model input too here: the screen refuses these first
        r = env["http"].post(f"/api/deployments/{DEPLOYMENT}/predict", json={"row": dict(row, sex=bad)},
                             headers=_h(env, "app"))
        assert r.status_code == 400 and "field 'sex'" in r.json()["error"], r.text


def test_a_malformed_reference_is_refused_naming_its_part(env):
    from steward.monitoring import build_reference
    import pandas as pd

    good = build_reference(pd.DataFrame({"x": np.arange(1000.0), "c": ["a", "b"] * 500}), features=["x", "c"]).to_dict()

    def with_(change) -> dict:
        doc = json.loads(json.dumps(good))
        change(doc)
        return doc

    cases = [
        (lambda d: d["features"][0].update(kind="weird"), "reference.features[0].kind"),
        (lambda d: d["features"][0].update(counts=[1, 2, 3]), "reference.features[0].counts"),
        (lambda d: d["features"][0].update(edges=list(range(300_000))), "reference.features[0].edges"),
        (lambda d: d["features"][0].update(edges=d["features"][0]["edges"][::-1]), "reference.features[0].edges"),
        (lambda d: d["features"][1].update(counts=["a", "b"]), "reference.features[1].counts"),
        (lambda d: d.update(features="x"), "reference.features"),
        (lambda d: d.update(rows="abc"), "reference.rows"),
        (lambda d: d.update(decision_rate="hi"), "reference.decision_rate"),
        (lambda d: d.update(score_counts=[1, 2, 3]), "reference.score_counts"),
        (lambda d: d["features"][0].update(std=-1), "reference.features[0].std"),
        (lambda d: d.update(favourable=7), "reference.favourable"),
    ]
    for change, names in cases:
        r = env["http"].post("/api/monitors", json={"name": "malformed", "records": True, "reference": with_(change)},
                             headers=_h(env, "developer"))
        assert r.status_code == 400 and r.json()["error"].startswith(names), (names, r.text[:300])


def test_a_decision_committed_after_a_later_one_is_still_read(env):
    """A prediction is stamped when its request arrives and committed with its answer: one stamped a moment
    before the last row a run read can land after that run. The next run reads it (once)."""
    from datetime import timedelta

    from steward.governance._tables import Prediction

    reg = env["reg"]
    reg.create_monitor("late", actor="Olga Operator", deployment=DEPLOYMENT,
                       settings={"window": {"by": "count", "size": 100_000}})
    _send(env, rows_of(env["models"].test.iloc[:5]))
    before = reg.run_monitor("late", actor="Olga Operator")
    last = reg.prediction_log(DEPLOYMENT, limit=1, newest=True)[0]
    with reg.tx() as s:
        p = s.get(Prediction, last["prediction_id"])
        late = Prediction(id="p" + "f" * 24, deployment_id=p.deployment_id, version_id=p.version_id, key_id=p.key_id,
                          subject_id=None, inputs=p.inputs, inputs_sha256=p.inputs_sha256, score=p.score,
                          decision=p.decision, route=p.route, flags=p.flags, reasons=p.reasons, detail=p.detail,
                          created_at=p.created_at - timedelta(seconds=2))
        s.add(late)
    after = reg.run_monitor("late", actor="Olga Operator")
    again = reg.run_monitor("late", actor="Olga Operator")
    assert before["rows_read"] >= 5 and after["rows_read"] == 1 and again["rows_read"] == 0


def test_after_a_redeploy_of_another_version_the_monitor_says_so_instead_of_comparing_with_the_old_reference(env):
    """A monitor made while another version served (here: its record moved to 0.8, the version before, as if 1.0
    had been deployed since) is not run against the new version's log with the old reference."""
    from sqlalchemy import select

    from steward.governance._tables import Model, MonitorRow, Version

    reg, http = env["reg"], env["http"]
    reg.create_monitor("before", actor="Olga Operator", deployment=DEPLOYMENT)
    with reg.tx() as s:
        old = s.execute(select(Version).join(Model).where(Model.name == "credit", Version.version == "0.8")).scalar_one()
        s.execute(select(MonitorRow).where(MonitorRow.name == "before")).scalar_one().version_id = old.id
        s.flush()
        from steward.governance import _trail
        _trail.append(s, "test", "monitor.test", "monitor:before", {"version": "0.8"})
    r = http.post("/api/monitors/before/run", json={}, headers=_h(env, "operator"))
    assert r.status_code == 400 and "now serves credit:1.0, not the version monitor 'before'" in r.json()["error"], r.text
