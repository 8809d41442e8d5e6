"""The guarded prediction endpoint through HTTP, on a real server, on SQLite and on PostgreSQL.

One server per database for the module (``served`` in conftest.py); each test deploys a name of its own
(all scoped to the caller key ``app``), so the guard's per-deployment state (throttle buckets, recent
requests, sticky decisions) of one test never meets another's.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import warnings
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steward
from steward.models import load_model
from tests.serving._setup import FEATURES, LOW_RISK, PROTECTED, REASONS, guard_settings, rows_of

SUBJECT = "subject_id"


# --- helpers -----------------------------------------------------------------------------------------------

def deploy(served, name: str, version: str = "credit:1.0", **guard: Any) -> dict:
    """Deploy ``name`` (no benchmark, no backup unless asked) with the tests' guard settings."""
    backup = guard.pop("backup", None)
    benchmark = guard.pop("benchmark", None)
    return served.reg.deploy(name, version, backup=backup, benchmark=benchmark, guard=guard_settings(**guard),
                             actor="Olga Operator")


def ok(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()


def error(resp, status: int) -> str:
    """The error message of a response in the one JSON error shape, after checking its status."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str), body
    return body["error"]


def scores_of(served, version: str, rows: list[dict]) -> np.ndarray:
    """The model's own scoring of JSON rows (the independent reference)."""
    return load_model(served.models.paths[version]).score(pd.DataFrame(rows)[FEATURES])


def log_of(served, name: str) -> list[dict]:
    return ok(served.get(f"/api/deployments/{name}/log", who="operator", limit=100_000))


def until(check, seconds: float, what: str, step: float = 0.02):
    """Call ``check`` until it returns something truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds} s")
        time.sleep(step)


def pushes(served, version: str, rows: list[dict]) -> np.ndarray:
    """Each feature's push towards the adverse decision (a low score: favourable is 1), by LightGBM's own
    TreeSHAP on a DataFrame with category dtypes (rows x features)."""
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(served.models.paths[version]))
    X = pd.DataFrame(rows)[FEATURES]
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype("category")
    return -booster.predict(X, pred_contrib=True)[:, :-1]


def expected_reasons(push_row: np.ndarray, k: int = 4) -> list[str]:
    citable = [j for j, f in enumerate(FEATURES) if f not in PROTECTED]
    return [FEATURES[j] for j in sorted((j for j in citable if push_row[j] > 0), key=lambda j: -push_row[j])[:k]]


def payload(entry: dict) -> dict:
    """A trail entry's payload (canonical JSON text)."""
    return json.loads(entry["payload"]) if isinstance(entry["payload"], str) else entry["payload"]


def fresh_rows(served, start: int, n: int) -> list[dict]:
    """Test rows ``start`` to ``start + n``."""
    return rows_of(served.models.test.iloc[start:start + n])


@pytest.fixture(scope="module")
def test_rows(served) -> list[dict]:
    return rows_of(served.models.test)


@pytest.fixture(scope="module")
def reference(served, test_rows) -> dict[str, np.ndarray]:
    """Scores of every test row by the model (1.0), the backup (0.8) and the benchmark (0.9)."""
    return {v: scores_of(served, v, test_rows) for v in ("1.0", "0.8", "0.9")}


# --- authentication ----------------------------------------------------------------------------------------

def test_authentication(served, test_rows):
    row = test_rows[0]
    assert "API key is required" in error(served.predict("credit-live", row=row, who=None), 401)
    resp = served.http.post("/api/deployments/credit-live/predict", json={"row": row},
                            headers={"Authorization": "Bearer not-a-key"})
    error(resp, 401)
    for who in ("viewer", "operator", "admin", "developer"):
        msg = error(served.predict("credit-live", row=row, who=who), 403)
        assert "needs one of the roles" in msg and "caller" in msg
    msg = error(served.predict("credit-live", row=row, who="elsewhere"), 403)
    assert "credit-live" in msg and "somewhere-else" in msg
    # a caller key reads nothing of the registry
    error(served.get("/api/deployments", who="caller"), 403)
    # a deployment the key is scoped to but that does not exist
    assert "credit-nowhere" in error(served.predict("credit-nowhere", row=row), 404)

    assert ok(served.predict("credit-live", row=row, who="caller"))["route"] in ("model", "review")
    made = served.reg.create_key("short-lived-app", ["caller"], actor="Ada Admin", deployments=["credit-live"])
    served.keys["short"] = made["key"]
    ok(served.predict("credit-live", row=row, who="short"))
    served.reg.revoke_key(made["key_id"], actor="Ada Admin")
    time.sleep(1.1)  # a process trusts a key it checked for a second
    assert "revoked" in error(served.predict("credit-live", row=row, who="short"), 401)


# --- throttle ------------------------------------------------------------------------------------------------

def test_throttle_answers_429_with_retry_after(served):
    name = "credit-throttle"
    deploy(served, name, throttle={"rate": 2, "burst": 3})
    rows = fresh_rows(served, 100, 6)
    ok(served.predict(name, row=rows[0]))  # loads the guard
    time.sleep(0.6)  # the bucket is full again (3 tokens, 2 a second)
    for row in rows[1:4]:
        ok(served.predict(name, row=row))
    resp = served.predict(name, row=rows[4])
    msg = error(resp, 429)
    assert "per second" in msg
    assert resp.headers["Retry-After"].isdigit() and int(resp.headers["Retry-After"]) >= 1
    # a batch larger than the burst can never pass at once: 429, not a silent partial answer
    resp = served.predict(name, rows=fresh_rows(served, 110, 4))
    error(resp, 429)
    assert int(resp.headers["Retry-After"]) >= 1
    # throttling is per key: another caller key is not slowed by this one
    made = served.reg.create_key("throttle-app", ["caller"], actor="Ada Admin", deployments=[name])
    served.keys["throttle"] = made["key"]
    ok(served.predict(name, row=rows[5], who="throttle"))
    # refused requests are not logged
    assert len(log_of(served, name)) == 5


# --- validation ----------------------------------------------------------------------------------------------

def test_validation_errors_name_the_field_and_log_nothing(served, test_rows):
    name = "credit-valid"
    deploy(served, name)
    row = dict(test_rows[200])

    missing = {k: v for k, v in row.items() if k != "age"}
    assert "'age'" in error(served.predict(name, row=missing), 400)
    assert "'age'" in error(served.predict(name, row={**row, "age": "forty"}), 400)
    assert "'hours-per-week'" in error(served.predict(name, row={**row, "hours-per-week": [40]}), 400)
    for text in ("NaN", "Infinity", "-Infinity", "1e300"):
        body = json.dumps({"row": {**row, "capital-gain": "X"}}).replace('"X"', text).encode()
        assert "'capital-gain'" in error(served.predict(name, content=body), 400), text
    huge = json.dumps({"row": {**row, "age": 10 ** 400}}).encode()
    assert "'age'" in error(served.predict(name, content=huge), 400)
    assert "'colour'" in error(served.predict(name, row={**row, "colour": "blue"}), 400)
    assert "JSON object" in error(served.predict(name, row=[1, 2, 3]), 400)
    assert "JSON object" in error(served.predict(name, row="age=40"), 400)
    # a category never missing in training may not be null
    assert "'workclass'" in error(served.predict(name, row={**row, "workclass": None}), 400)
    # bodies
    assert "not JSON" in error(served.predict(name, content=b"{row: 1"), 400)
    assert "empty" in error(served.predict(name, rows=[]), 400)
    error(served.predict(name, content=b'{"row": {}, "rows": []}'), 400)
    error(served.predict(name, content=b'{"rows": {"age": 40}}'), 400)
    error(served.predict(name, content=b"[]"), 400)
    # in a batch the field is named with its row: rows[i].field; one bad row refuses the whole batch
    good = test_rows[201:204]
    msg = error(served.predict(name, rows=[*good, {**row, "age": "forty"}]), 400)
    assert "rows[3]" in msg and "'age'" in msg
    msg = error(served.predict(name, rows=[good[0], missing]), 400)
    assert "rows[1]" in msg and "'age'" in msg
    msg = error(served.predict(name, rows=[good[0], 7]), 400)
    assert "rows[1]" in msg
    assert log_of(served, name) == []
    # numeric text is read as a number, and the sticky field and protected attributes may accompany the row
    answer = ok(served.predict(name, row={**row, "age": str(row["age"]), SUBJECT: "v-1"}))
    assert [p["prediction_id"] for p in log_of(served, name)] == [answer["prediction_id"]]


# --- kill switch ----------------------------------------------------------------------------------------------

def test_kill_switch_and_revive(served):
    name = "credit-kill"
    deploy(served, name)
    rows = iter(fresh_rows(served, 300, 200))
    assert ok(served.predict(name, row=next(rows)))["route"] == "model"

    # only an operator or admin pulls it, with a reason
    error(served.post(f"/api/deployments/{name}/kill", {"reason": "drift"}, who="viewer"), 403)
    error(served.post(f"/api/deployments/{name}/kill", {"reason": ""}), 400)
    killed = ok(served.post(f"/api/deployments/{name}/kill", {"reason": "scores drifted overnight"}))
    t0 = time.monotonic()
    assert killed["killed"] is True and killed["kill_reason"] == "scores drifted overnight"
    error(served.post(f"/api/deployments/{name}/kill", {"reason": "again"}), 409)

    answer = until(lambda: (a := ok(served.predict(name, row=next(rows))))["route"] == "kill_switch" and a, 1.0,
                   "the kill switch reaching the server")
    assert time.monotonic() - t0 < 1.0
    assert answer["score"] is None and answer["decision"] == 0 and answer["reasons"] == []
    assert answer["review"] == {"why": ["kill_switch"], "interim_decision": 0}
    batch = ok(served.predict(name, rows=[next(rows) for _ in range(3)]))["results"]
    assert [a["route"] for a in batch] == ["kill_switch"] * 3 and {a["decision"] for a in batch} == {0}
    queue = ok(served.get("/api/review", deployment=name))
    queued = {r["prediction_id"]: r for r in queue}
    for a in [answer, *batch]:
        assert queued[a["prediction_id"]]["why"] == ["kill_switch"]
        assert queued[a["prediction_id"]]["interim_decision"] == 0 and queued[a["prediction_id"]]["status"] == "open"
    logged = ok(served.get(f"/api/predictions/{answer['prediction_id']}"))
    assert logged["route"] == "kill_switch" and logged["score"] is None and logged["decision"] == 0

    ok(served.post(f"/api/deployments/{name}/revive"))
    t0 = time.monotonic()
    back = until(lambda: (a := ok(served.predict(name, row=next(rows))))["route"] == "model" and a, 1.0,
                 "the revival reaching the server")
    assert time.monotonic() - t0 < 1.0 and isinstance(back["score"], float)

    trail = ok(served.get("/api/trail", subject=f"deployment:{name}"))
    actions = [(e["action"], e["actor"]) for e in trail]
    assert ("deployment.kill", "Olga Operator") in actions and ("deployment.revive", "Olga Operator") in actions
    kill_entry = payload(next(e for e in trail if e["action"] == "deployment.kill"))
    assert kill_entry["reason"] == "scores drifted overnight" and kill_entry["version"] == "credit:1.0"
    assert [e["action"] for e in served.reg.trail(subject=f"deployment:{name}")][:2] == [
        "deployment.revive", "deployment.kill"]


def test_kill_switch_favourable_answer(served):
    name = "credit-kill-fav"
    deploy(served, name, kill_switch={"answer": "favourable"})
    row = fresh_rows(served, 520, 1)[0]
    ok(served.predict(name, row=row))
    served.reg.kill(name, reason="maintenance", actor="Olga Operator")
    answer = until(lambda: (a := ok(served.predict(name, row=row)))["route"] == "kill_switch" and a, 1.0,
                   "the kill switch reaching the server")
    assert answer["decision"] == 1 and answer["score"] is None and "review" not in answer
    assert ok(served.get("/api/review", deployment=name)) == []


# --- screening -------------------------------------------------------------------------------------------------

def test_screening(served, test_rows):
    name = "credit-screen"
    deploy(served, name, screening={"out_of_range": "review"})
    row = dict(test_rows[600])

    old = ok(served.predict(name, row={**row, "age": 200}))
    assert old["route"] == "review" and old["flags"] == ["out_of_range:age"]
    assert old["review"]["why"] == ["screening:out_of_range:age"] and old["decision"] == 0
    assert old["review"]["interim_decision"] == 0 and isinstance(old["score"], float)

    unseen = ok(served.predict(name, row={**row, "workclass": "Space-agency"}))
    assert "unseen_category:workclass" in unseen["flags"]
    assert unseen["route"] == "model" and "review" not in unseen  # the low tier only flags it

    garbage = {**row, "age": 1e9, "capital-gain": 1e12}
    resp = served.predict(name, row=garbage)
    msg = error(resp, 422)
    assert "refused" in msg and "anomalous" in msg
    result = resp.json()["result"]
    assert result["route"] == "refused" and "anomalous" in result["flags"] and result["decision"] is None
    assert {"out_of_range:age", "out_of_range:capital-gain"} <= set(result["flags"])
    logged = ok(served.get(f"/api/predictions/{result['prediction_id']}"))
    assert logged["route"] == "refused" and logged["score"] is None and "anomalous" in logged["flags"]

    batch = ok(served.predict(name, rows=[dict(test_rows[601]), {**garbage, "hours-per-week": 41}]))["results"]
    assert batch[0]["route"] in ("model", "review") and batch[0]["score"] is not None
    assert batch[1]["route"] == "refused" and batch[1]["score"] is None and "anomalous" in batch[1]["flags"]
    assert "error" in batch[1]

    once = dict(test_rows[602])
    first = ok(served.predict(name, row=once))
    second = ok(served.predict(name, row=once))
    assert "duplicate" not in first["flags"] and "duplicate" in second["flags"]
    assert second["route"] == "model"  # duplicate: flag
    assert "duplicate" not in ok(served.predict(name, row=once, who="app2"))["flags"]  # another key's request

    training = rows_of(served.models.train, 1)[0]
    flagged = ok(served.predict(name, row=training))
    assert "training_row" in flagged["flags"] and flagged["route"] == "model"
    assert "training_row" not in ok(served.predict(name, row={**training, "hours-per-week": 77}))["flags"]


# --- sticky decisions ------------------------------------------------------------------------------------------

def test_sticky_decisions(served, test_rows):
    name = "credit-sticky"
    deploy(served, name)
    subject = f"person-{served.db}-1"
    row = {**test_rows[700], SUBJECT: subject}
    first = ok(served.predict(name, row=row))
    assert first["route"] == "model"
    again = ok(served.predict(name, row=row))
    assert again["route"] == "sticky"
    same = ("decision", "score", "reasons")
    assert [again[k] for k in same] == [first[k] for k in same]
    assert again["prediction_id"] != first["prediction_id"]
    logged = ok(served.get(f"/api/predictions/{again['prediction_id']}"))
    assert logged["route"] == "sticky" and logged["detail"]["sticky_of"] == first["prediction_id"]
    assert logged["subject_id"] == subject and logged["version"] == "credit:1.0"

    changed = ok(served.predict(name, row={**row, "hours-per-week": row["hours-per-week"] + 1}))
    assert changed["route"] == "model"
    other = ok(served.predict(name, row={**row, SUBJECT: f"person-{served.db}-2"}))
    assert other["route"] == "model"
    nobody = ok(served.predict(name, row=dict(test_rows[700])))
    assert nobody["route"] == "model"


# --- the backup ------------------------------------------------------------------------------------------------

def slow_model(served, name: str, monkeypatch, row: dict) -> None:
    """Make the deployment's model (in this process's server) take 1 s a call, far past the 100 ms
    budget, which the backup (answering in about a millisecond) meets: "too slow" is certain, and the
    backup's own budget is not in question."""
    ok(served.predict(name, row=row))  # loads the guard
    guard = served.app.state.serving._guards[name]
    real = guard.model.scorer.score

    def slow(rows, X=None):
        time.sleep(1.0)
        return real(rows, X)

    monkeypatch.setattr(guard.model.scorer, "score", slow)


def test_backup_answers_when_the_model_is_too_slow(served, test_rows, reference, monkeypatch):
    name = "credit-backup"
    deploy(served, name, backup="credit:0.8", latency_budget_ms=100)
    slow_model(served, name, monkeypatch, test_rows[799])
    answer = ok(served.predict(name, row=test_rows[800]))
    assert answer["route"] == "backup" and answer["version"] == "credit:0.8"
    assert abs(answer["score"] - reference["0.8"][800]) < 1e-9
    logged = ok(served.get(f"/api/predictions/{answer['prediction_id']}"))
    assert "did not answer within 100 ms" in logged["detail"]["fallback"]
    assert logged["version"] == "credit:0.8" and logged["deployment_version"] == "credit:1.0"
    batch = ok(served.predict(name, rows=test_rows[801:806]))["results"]
    assert {a["route"] for a in batch} == {"backup"}
    assert np.allclose([a["score"] for a in batch], reference["0.8"][801:806], rtol=0, atol=1e-9)


def test_no_backup_sends_to_review(served, test_rows, monkeypatch):
    name = "credit-nobackup"
    deploy(served, name, latency_budget_ms=100)
    slow_model(served, name, monkeypatch, test_rows[809])
    answer = ok(served.predict(name, row=test_rows[810]))
    assert answer["route"] == "review" and answer["score"] is None and answer["decision"] == 0
    assert "model_unavailable" in answer["flags"]
    assert answer["review"]["why"] == ["model_unavailable"]  # the kill switch was not pulled


# --- the benchmark ---------------------------------------------------------------------------------------------

def _disagreements(reference, lo: int, hi: int) -> tuple[list[int], list[int]]:
    model = reference["1.0"] >= 0.5
    bench = reference["0.9"] >= 0.5
    idx = np.arange(lo, hi)
    return [int(i) for i in idx if model[i] != bench[i]], [int(i) for i in idx if model[i] == bench[i]]


def test_benchmark_disagreement(served, test_rows, reference):
    differ, agree = _disagreements(reference, 900, 1300)
    assert len(differ) >= 4, "the model and the benchmark should disagree on a few test rows"
    differ, agree = differ[:8], agree[:8]
    rows = [test_rows[i] for i in differ + agree]

    deploy(served, "credit-bench-review", benchmark="credit:0.9", review={"benchmark_disagreement": "review"})
    got = ok(served.predict("credit-bench-review", rows=rows))["results"]
    for a in got[:len(differ)]:
        assert a["route"] == "review" and "benchmark_disagrees" in a["flags"], a
        assert "benchmark_disagrees" in a["review"]["why"] and a["decision"] == 0
    for a, i in zip(got[len(differ):], agree):
        assert a["route"] == "model" and "benchmark_disagrees" not in a["flags"], a
        assert a["decision"] == int(reference["1.0"][i] >= 0.5)
    logged = ok(served.get(f"/api/predictions/{got[0]['prediction_id']}"))
    assert logged["detail"]["benchmark"] == "credit:0.9"
    assert abs(logged["detail"]["benchmark_score"] - reference["0.9"][differ[0]]) < 1e-9

    deploy(served, "credit-bench-take", benchmark="credit:0.9", review={"benchmark_disagreement": "benchmark"})
    got = ok(served.predict("credit-bench-take", rows=rows))["results"]
    bench_push = pushes(served, "0.9", rows)
    for n, (a, i) in enumerate(zip(got[:len(differ)], differ)):
        assert a["route"] == "benchmark" and "benchmark_disagrees" in a["flags"], a
        assert a["decision"] == int(reference["0.9"][i] >= 0.5)
        # the decision answered is the benchmark's: an adverse one carries reasons, a favourable one none
        if a["decision"] == 0:  # reasons of the model that decided: the benchmark
            assert 1 <= len(a["reasons"]) <= 4, a
            assert [r["feature"] for r in a["reasons"]] == expected_reasons(bench_push[n])
        else:
            assert a["reasons"] == [], a
    for a in got[len(differ):]:
        assert a["route"] == "model" and "benchmark_disagrees" not in a["flags"]


# --- the review band -------------------------------------------------------------------------------------------

def test_review_band(served, test_rows):
    name = "credit-band"
    deploy(served, name, review={"band": 0.5})
    got = ok(served.predict(name, rows=test_rows[1300:1320]))["results"]
    assert {a["route"] for a in got} == {"review"}
    for a in got:
        assert a["decision"] == 0 and a["review"]["interim_decision"] == 0 and "near_threshold" in a["review"]["why"]
        assert isinstance(a["score"], float)
    queued = {r["prediction_id"] for r in ok(served.get("/api/review", deployment=name))}
    assert queued == {a["prediction_id"] for a in got}
    info = ok(served.get(f"/api/deployments/{name}"))
    assert info["open_reviews"] == 20 and info["routes"] == {"review": 20}


# --- reason codes ---------------------------------------------------------------------------------------------

def test_reason_codes(served, test_rows):
    name = "credit-reasons"
    deploy(served, name)
    rows = test_rows[1400:1700]
    got = ok(served.predict(name, rows=rows))["results"]
    push = pushes(served, "1.0", rows)
    adverse = favourable = protected_would_lead = 0
    for i, a in enumerate(got):
        if a["route"] != "model":
            continue
        if a["decision"] == 1:
            favourable += 1
            assert a["reasons"] == [], a
            continue
        adverse += 1
        assert 1 <= len(a["reasons"]) <= 4, a
        expected = [FEATURES.index(f) for f in expected_reasons(push[i])]
        assert [r["feature"] for r in a["reasons"]] == [FEATURES[j] for j in expected]
        for r, j in zip(a["reasons"], expected):
            assert r["feature"] not in PROTECTED
            assert r["text"] == REASONS[r["feature"]]
            assert r["contribution"] > 0 and abs(r["contribution"] - push[i, j]) < 1e-6
            sent = rows[i][r["feature"]]
            assert r["value"] == (float(sent) if isinstance(sent, (int, float)) else sent)
        top = max(range(len(FEATURES)), key=lambda j: push[i, j])
        protected_would_lead += FEATURES[top] in PROTECTED or any(
            push[i, FEATURES.index(p)] > push[i, expected[-1]] for p in PROTECTED)
    assert adverse >= 50 and favourable >= 10
    assert protected_would_lead > 0, "some adverse decision should owe much to race or sex, which is never cited"


# --- the fast scorer equals the model --------------------------------------------------------------------------

def test_fast_scorer_equals_the_model(served, test_rows, reference):
    name = "credit-fast"
    deploy(served, name)
    got = ok(served.predict(name, rows=test_rows[:500]))["results"]
    scored = [(i, a["score"]) for i, a in enumerate(got) if a["route"] != "refused"]
    assert len(scored) >= 495
    idx = [i for i, _ in scored]
    assert np.allclose([s for _, s in scored], reference["1.0"][idx], rtol=0, atol=1e-9)
    assert all(a["decision"] == int(reference["1.0"][i] >= 0.5) for i, a in enumerate(got) if a["route"] == "model")
    # and the same row alone (not in a batch) scores the same
    assert abs(ok(served.predict(name, row={**test_rows[3], "hours-per-week": test_rows[3]["hours-per-week"]}))["score"]
               - reference["1.0"][3]) < 1e-9


# --- the prediction log ----------------------------------------------------------------------------------------

def _canonical_sha(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_every_answer_is_logged(served, test_rows):
    name = "credit-log"
    deploy(served, name)
    rows = test_rows[1800:1820]
    answers = ok(served.predict(name, rows=rows))["results"]
    answers.append(ok(served.predict(name, row={**test_rows[1820], SUBJECT: "log-subject"})))
    rows = [*rows, test_rows[1820]]
    for a, row in zip(answers, rows):
        # (an operator: a viewer sees the decision but not the person's inputs, log.inputs_visible_to)
        logged = ok(served.get(f"/api/predictions/{a['prediction_id']}", who="operator"))
        assert logged["deployment"] == name and logged["deployment_version"] == "credit:1.0"
        assert (logged["route"], logged["flags"], logged["decision"], logged["score"], logged["reasons"]) == (
            a["route"], a["flags"], a["decision"], a["score"], a["reasons"])
        assert logged["key_id"] == served.key_ids["app"]
        assert set(logged["inputs"]) == set(FEATURES)
        for f in FEATURES:
            assert logged["inputs"][f] == (float(row[f]) if isinstance(row[f], (int, float)) else row[f])
        assert logged["inputs_sha256"] == _canonical_sha(logged["inputs"])
        assert logged["detail"]["protected"] == {p: row[p] for p in PROTECTED}
    assert logged["subject_id"] == "log-subject"
    # the export (operator, validator or admin) holds them all, in order
    exported = log_of(served, name)
    assert {p["prediction_id"]: p["route"] for p in exported} == {a["prediction_id"]: a["route"] for a in answers}
    assert len(exported) == len(answers) and exported[-1]["prediction_id"] == answers[-1]["prediction_id"]
    assert [p["created_at"] for p in exported] == sorted(p["created_at"] for p in exported)
    error(served.get(f"/api/deployments/{name}/log", who="viewer"), 403)
    # a caller reads the decisions of its own deployments (without the inputs), not another's
    mine = ok(served.get(f"/api/predictions/{answers[0]['prediction_id']}", who="app"))
    assert mine["inputs"] is None and all("value" not in r for r in mine["reasons"])
    error(served.get(f"/api/predictions/{answers[0]['prediction_id']}", who="elsewhere"), 403)
    error(served.get("/api/predictions/p000000000000000000000000"), 404)

    # log: {inputs: hash} stores the hash of the inputs only
    deploy(served, "credit-hash", log={"inputs": "hash"})
    hashed = ok(served.predict("credit-hash", row=test_rows[1800]))
    logged = ok(served.get(f"/api/predictions/{hashed['prediction_id']}"))
    stored = next(p for p in exported if p["prediction_id"] == answers[0]["prediction_id"])
    assert logged["inputs"] is None and logged["inputs_sha256"] == stored["inputs_sha256"]
    assert [p["inputs"] for p in log_of(served, "credit-hash")] == [None]


# --- deploying -------------------------------------------------------------------------------------------------

def test_deploy_refusals_and_replacement(served, test_rows):
    from steward.serving import build_profile

    body = {"name": "credit-redeploy", "version": "credit:0.9", "guard": guard_settings()}
    msg = error(served.post("/api/deployments", body), 409)
    assert "not approved" in msg and "no audit is recorded" in msg
    msg = error(served.post("/api/deployments", {**body, "version": "credit:0.8"}), 409)
    assert "superseded" in msg
    # an approved version without a training profile
    _second_model(served, "credit-other", LOW_RISK, features=True, profile=False)
    ok(served.post("/api/models/credit-other/versions/1.0/approve", who="developer"))
    msg = error(served.post("/api/deployments", {**body, "version": "credit-other:1.0"}), 409)
    assert "no training profile" in msg
    # the profile is the client's claim: one that leaves out an input the model reads is refused
    _second_model(served, "credit-thin", LOW_RISK, features=True, profile=False)
    ok(served.post("/api/models/credit-thin/versions/1.0/approve", who="developer"))
    served.reg.record_profile("credit-thin", "1.0", build_profile(served.models.train, FEATURES[:-1]).to_dict(),
                              actor="Dev Developer")
    msg = error(served.post("/api/deployments", {**body, "version": "credit-thin:1.0"}), 409)
    assert f"reads '{FEATURES[-1]}'" in msg and "training profile" in msg
    error(served.post("/api/deployments", {**body, "version": "credit:1.0"}, who="viewer"), 403)
    error(served.post("/api/deployments", {**body, "version": "credit:1.0", "backup": "credit:0.9"}), 409)
    bad = guard_settings(reasons={"texts": {**REASONS, "race": "race weighed against the application"}})
    assert "race" in error(served.post("/api/deployments", {**body, "version": "credit:1.0", "guard": bad}), 400)
    assert "throttle.rate" in error(served.post("/api/deployments", {
        **body, "version": "credit:1.0", "guard": guard_settings(throttle={"rate": -1})}), 400)
    error(served.get("/api/deployments/credit-redeploy"), 404)

    served.reg.record_profile("credit-other", "1.0", build_profile(served.models.train, FEATURES).to_dict(),
                              actor="Dev Developer")
    first = served.post("/api/deployments", {**body, "version": "credit-other:1.0"})
    assert first.status_code == 201, first.text
    before = ok(served.predict("credit-redeploy", rows=test_rows[1900:1905]))["results"]
    assert {a["version"] for a in before} == {"credit-other:1.0"}

    # requests in flight during the replacement are all answered, by one version or the other
    stop, seen, statuses = threading.Event(), [], []

    def traffic():
        import httpx

        with httpx.Client(base_url=served.url, timeout=30) as c:
            k = 0
            while not stop.is_set():
                r = c.post("/api/deployments/credit-redeploy/predict", json={"row": test_rows[1910 + k % 50]},
                           headers=served.auth("app"))
                statuses.append(r.status_code)
                if r.status_code == 200:
                    seen.append(r.json()["version"])
                k += 1

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(0.2)
        second = served.post("/api/deployments", {**body, "version": "credit:1.0"})
        assert second.status_code == 201, second.text
        until(lambda: seen and seen[-1] == "credit:1.0", 3.0, "the new version answering")
    finally:
        stop.set()
        worker.join(10)
    assert set(statuses) == {200} and seen[0] == "credit-other:1.0" and seen[-1] == "credit:1.0"
    assert seen == sorted(seen, key=["credit-other:1.0", "credit:1.0"].index)  # never back to the old one

    after = ok(served.predict("credit-redeploy", rows=test_rows[1960:1963]))["results"]
    assert {a["version"] for a in after} == {"credit:1.0"}
    every = ok(served.get("/api/deployments", all="true"))
    rows = [d for d in every if d["name"] == "credit-redeploy"]
    assert [(d["version"], d["status"]) for d in rows] == [("credit:1.0", "active"), ("credit-other:1.0", "replaced")]
    assert rows[1]["replaced_at"] is not None
    assert [d["name"] for d in ok(served.get("/api/deployments"))].count("credit-redeploy") == 1

    logged = {p["prediction_id"]: p for p in log_of(served, "credit-redeploy")}
    for a in before:
        assert logged[a["prediction_id"]]["deployment_version"] == "credit-other:1.0"
        assert logged[a["prediction_id"]]["version"] == "credit-other:1.0"
    for a in after:
        assert logged[a["prediction_id"]]["deployment_version"] == "credit:1.0"
    info = ok(served.get("/api/deployments/credit-redeploy"))
    assert [(h["version"], h["status"]) for h in info["history"]] == [("credit:1.0", "active"),
                                                                      ("credit-other:1.0", "replaced")]
    assert info["predictions"] == len(logged) and sum(info["routes"].values()) == len(logged)
    routes: dict[str, int] = {}
    for p in logged.values():
        routes[p["route"]] = routes.get(p["route"], 0) + 1
    assert info["routes"] == routes
    trail = [e["action"] for e in ok(served.get("/api/trail", subject="deployment:credit-redeploy"))]
    assert trail[:2] == ["deployment.replace", "deployment.create"]


# --- an approval revoked after deployment -----------------------------------------------------------------------

_AUDITS: dict[tuple, Any] = {}


def _rules_audit(policy, tier: str, features: bool) -> Any:
    """An audit of made-up decisions (no model), held to ``policy``'s ``tier``; without ``features`` the
    checks that need them are not evidenced. Kept for the session (both databases record the same)."""
    key = (policy.sha256, tier, features)
    if key not in _AUDITS:
        rng = np.random.default_rng(1)
        n = 2000
        df = pd.DataFrame({"team": rng.choice(["north", "south"], size=n), "y": rng.integers(0, 2, size=n),
                           "d": rng.integers(0, 2, size=n), "age_days": rng.integers(0, 30, size=n),
                           "words": rng.integers(5, 400, size=n)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", steward.StewardWarning)
            _AUDITS[key] = steward.audit(df, label="y", prediction="d", favourable=1, protected={"team": "north"},
                                         features=["age_days", "words"] if features else (), policy=policy, tier=tier)
    return _AUDITS[key]


def _second_model(served, name: str, risk: dict, *, features: bool, profile: bool = True) -> Any:
    """Register ``name`` 1.0 (the same file as credit 1.0) with a rules audit of ``risk``'s tier."""
    from steward.models import file_sha256
    from steward.serving import build_profile

    reg, dev = served.reg, "Dev Developer"
    reg.register_model(name, actor=dev, purpose="Pre-screens credit applications (second line)",
                       domain="operations", owner="Ana Owner", accountable_executive="Eve Executive")
    tier = reg.assess_risk(name, risk, actor=dev)["tier"]
    path = served.models.paths["1.0"]
    reg.register_version(name, "1.0", actor=dev, artifact_uri=str(path), artifact_sha256=file_sha256(path))
    result = _rules_audit(served.policy, tier, features)
    reg.record_audit(name, "1.0", result, actor=dev)
    if profile:
        reg.record_profile(name, "1.0", build_profile(served.models.train, FEATURES).to_dict(), actor=dev)
    return result


def _assert_tripped(served, name: str, model: str, why: str, row: dict) -> None:
    info = ok(served.get(f"/api/deployments/{name}"))
    assert info["killed"] is True and info["kill_reason"].startswith("approval revoked: ")
    assert why in info["kill_reason"]
    answer = until(lambda: (a := ok(served.predict(name, row=row)))["route"] == "kill_switch" and a, 1.0,
                   "the tripped kill switch reaching the server")
    assert answer["score"] is None and answer["decision"] == 0
    incidents = ok(served.get("/api/incidents", model=model, status="open"))
    assert len(incidents) == 1 and incidents[0]["severity"] == "high", incidents
    trail = ok(served.get("/api/trail", subject=f"deployment:{name}"))
    kill = next(e for e in trail if e["action"] == "deployment.kill")
    assert payload(kill)["automatic"] is True and payload(kill)["reason"] == info["kill_reason"]
    # deploying the version again is refused while it is not approved
    msg = error(served.post("/api/deployments", {"name": name, "version": f"{model}:1.0"}), 409)
    assert "not approved" in msg


def test_revocation_by_a_validators_rejection(served, test_rows):
    model, name = "credit-second", "credit-signoff"
    medium = dict(domain="operations", people_affected=200, decisions_per_day=10, human_review=True,
                  wrong_decision_cost="medium")
    _second_model(served, model, medium, features=True)
    msg = error(served.post(f"/api/models/{model}/versions/1.0/approve", who="developer"), 409)
    assert "no validator has signed off" in msg  # the medium tier asks for a validator's sign-off
    served.reg.sign_off(model, "1.0", role="validator", decision="approve", actor="Vera Validator")
    served.reg.approve(model, "1.0", actor="Dev Developer")
    served.reg.deploy(name, f"{model}:1.0", guard=guard_settings(), actor="Olga Operator")
    row = test_rows[1990]
    assert ok(served.predict(name, row=row))["route"] == "model"

    reject = served.post(f"/api/models/{model}/versions/1.0/signoffs",
                         {"role": "validator", "decision": "reject", "comment": "the holdout was leaked"},
                         who="validator")
    assert reject.status_code == 201, reject.text
    why = "Vera Validator rejected credit-second:1.0 as validator: the holdout was leaked"
    _assert_tripped(served, name, model, why, row)


def test_revocation_by_a_lapsed_acceptance(served, test_rows):
    from steward.governance._tables import now

    model, name = "credit-third", "credit-lapse"
    result = _second_model(served, model, LOW_RISK, features=False)  # without features: checks lack evidence
    blocking = sorted({f.check for f in result.findings if f.status in ("fail", "not_evidenced")})
    assert blocking
    for check in blocking:
        served.reg.accept(model, "1.0", check=check, reason="evidence comes with the next release",
                          until=now() + timedelta(hours=1), actor="Eve Executive")
    served.reg.approve(model, "1.0", actor="Dev Developer")
    served.reg.deploy(name, f"{model}:1.0", guard=guard_settings(), actor="Olga Operator")
    row = test_rows[1995]
    assert ok(served.predict(name, row=row))["route"] == "model"

    assert served.reg.lapse_acceptances(at=now() + timedelta(hours=2))
    _assert_tripped(served, name, model, "lapsed", row)
