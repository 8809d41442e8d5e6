"""People in the loop through HTTP, on a real server, on SQLite and on PostgreSQL: review decisions (confirm,
override, a second reviewer), a decision's history, appeals with re-scored corrected inputs, the appeal
window, callbacks with retries, the escalation of overdue items, and who may read a decision's inputs.

Each test deploys names of its own, all scoped to the caller key ``rapp``; the reviewers are ``reviewer``
(Rita) and ``reviewer2`` (Rob). Every step is checked in the trail.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.serving._setup import guard_settings, rows_of

DEPLOYMENTS = ["rv-confirm", "rv-override", "rv-second", "rv-appeal", "rv-late", "rv-callback", "rv-callback-fail",
               "rv-escalate", "rv-inputs", "rv-visible", "rv-queue", "rv-retention"]
# every scored row goes to a person (|score - threshold| <= 1); the policy's tiers ask for a second reviewer
ALL_ROUTE_TO_REVIEW = {"band": 1.0, "second_reviewer": False}
MODEL_ONLY = {"band": 0, "on_flags": False, "benchmark_disagreement": "flag", "second_reviewer": False}


# --- fixtures and helpers -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env(served):
    reg = served.reg
    for who, name in (("reviewer", "Rita Reviewer"), ("reviewer2", "Rob Reviewer")):
        served.keys[who] = reg.create_key(name, ["reviewer"], actor="setup")["key"]
    served.keys["rapp"] = reg.create_key("review-app", ["caller"], actor="setup", deployments=DEPLOYMENTS)["key"]
    served.keys["rother"] = reg.create_key("other-app", ["caller"], actor="setup", deployments=["rv-elsewhere"])["key"]
    return served


@pytest.fixture
def fast_loop(monkeypatch):
    """The server's delivery thread looks for due callbacks every 0.1 s and sweeps deadlines every 0.2 s."""
    import steward.web._callbacks as callbacks

    monkeypatch.setattr(callbacks, "DELIVER_EVERY", 0.1)
    monkeypatch.setattr(callbacks, "ESCALATE_EVERY", 0.2)


class Receiver:
    """An application's callback endpoint on loopback: ``/flaky`` fails its first two POSTs with 500, then
    accepts; ``/never`` always fails; ``/ok`` accepts. Keeps every body it got, by path."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict]] = defaultdict(list)
        self.attempts: dict[str, list[str | None]] = defaultdict(list)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.got[self.path].append(body)
                outer.attempts[self.path].append(self.headers.get("X-Steward-Attempt"))
                fail = self.path == "/never" or (self.path == "/flaky" and len(outer.got[self.path]) <= 2)
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if fail else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def deploy(env, name: str, **guard: Any) -> dict:
    return env.reg.deploy(name, "credit:1.0", guard=guard_settings(**guard), actor="Olga Operator")


def ok(resp, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def error(resp, status: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["ok"] is False and body["status"] == status, body
    return body["error"]


def scored(env, name: str, n: int = 60, start: int = 0) -> list[tuple[dict, dict]]:
    """Send test rows start..start+n to ``name`` as ``rapp``; (row, answer) of every row with a score."""
    rows = rows_of(env.models.test.iloc[start:start + n])
    results = ok(env.predict(name, rows=rows, who="rapp"))["results"]
    return [(row, a) for row, a in zip(rows, results) if a["score"] is not None]


def item_of(env, prediction_id: str, status: str = "all", **filters: Any) -> dict:
    items = ok(env.get("/api/review", who="viewer", status=status, **filters))
    (item,) = [i for i in items if i["prediction_id"] == prediction_id]
    return item


def decide(env, item_id: int, who: str = "reviewer", **body: Any):
    return env.post(f"/api/review/{item_id}/decision", body, who=who)


def history(env, prediction_id: str, who: str = "reviewer") -> dict:
    return ok(env.get(f"/api/predictions/{prediction_id}", who=who))


def trail_of(env, prediction_id: str) -> list[tuple[str, str]]:
    """(action, actor) of the trail entries about a prediction, oldest first."""
    return [(e["action"], e["actor"]) for e in reversed(env.reg.trail(subject=f"prediction:{prediction_id}"))]


def wait_for(check, timeout: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


# --- review decisions ---------------------------------------------------------------------------------------

def test_confirm_keeps_the_models_decision_and_history_shows_model_then_review(env):
    deploy(env, "rv-confirm", review=ALL_ROUTE_TO_REVIEW)
    row, a = next((r, a) for r, a in scored(env, "rv-confirm") if a["route"] == "review" and a["score"] < 0.5)
    assert a["decision"] == 0 and a["review"]["interim_decision"] == 0
    pid = a["prediction_id"]
    before = history(env, pid)
    assert before["final_decision"] == 0 and before["settled_by"] == "pending_review"
    item = item_of(env, pid, deployment="rv-confirm")
    assert item["kind"] == "decision" and item["status"] == "open" and "near_threshold" in item["why"]
    for who in ("operator", "viewer", "admin"):  # only reviewers decide
        assert "needs one of the roles: reviewer" in error(decide(env, item["id"], who=who, action="confirm"), 403)
    done = ok(decide(env, item["id"], action="confirm"), 201)
    assert done["status"] == "final" and done["reviewer"] == "Rita Reviewer" and done["decision"] == 0
    assert done["item_status"] == "decided" and done["final_decision"] == 0 and done["settled_by"] == "review"
    assert "already decided" in error(decide(env, item["id"], action="confirm"), 409)
    h = history(env, pid)
    assert [s["step"] for s in h["history"]] == ["model", "review"]
    assert h["history"][0]["score"] == a["score"] and h["history"][1]["action"] == "confirm"
    assert h["settled_by"] == "review" and h["settled_by_person"] == "Rita Reviewer"
    assert h["decision"] == 0 and h["route"] == "review"  # the logged row is as it was answered
    detail = ok(env.get(f"/api/review/{item['id']}", who="viewer"))
    assert detail["status"] == "decided" and [d["action"] for d in detail["decisions"]] == ["confirm"]
    assert ("review.confirm", "Rita Reviewer") in trail_of(env, pid)


def test_override_needs_a_reason_and_changes_the_final_decision(env):
    deploy(env, "rv-override", review=ALL_ROUTE_TO_REVIEW)
    _, a = next((r, a) for r, a in scored(env, "rv-override") if a["route"] == "review")
    pid = a["prediction_id"]
    item = item_of(env, pid, deployment="rv-override")
    assert "needs a reason" in error(decide(env, item["id"], action="override"), 409)
    assert "needs a reason" in error(decide(env, item["id"], action="override", reason="   "), 409)
    assert "decided with confirm or override" in error(decide(env, item["id"], action="uphold", reason="x"), 409)
    assert "action" in error(decide(env, item["id"], action="approve"), 400)
    assert "decision" in error(decide(env, item["id"], action="override", reason="x", decision=2), 400)
    assert history(env, pid)["settled_by"] == "pending_review"  # nothing refused was recorded
    done = ok(decide(env, item["id"], action="override", reason="Income verified by payslips"), 201)
    assert done["decision"] == 1 and done["final_decision"] == 1 and done["status"] == "final"
    h = history(env, pid)
    assert h["final_decision"] == 1 and h["decision"] == 0  # the logged decision is never rewritten
    assert h["history"][-1] | {"at": None} == {"step": "review", "at": None, "action": "override", "decision": 1,
                                               "by": "Rita Reviewer", "reason": "Income verified by payslips",
                                               "status": "final"}
    assert [t for t in trail_of(env, pid) if t[0].startswith("review.")] == [("review.override", "Rita Reviewer")]


def test_a_second_reviewer_must_agree_to_turn_an_adverse_decision_favourable(env):
    deploy(env, "rv-second", review={**ALL_ROUTE_TO_REVIEW, "second_reviewer": True})
    answers = [a for _, a in scored(env, "rv-second") if a["route"] == "review"]
    low = next(a for a in answers if a["score"] < 0.5)
    pid = low["prediction_id"]
    item = item_of(env, pid, deployment="rv-second")
    first = ok(decide(env, item["id"], action="override", decision=1, reason="Documents show a higher income"), 201)
    assert first["status"] == "pending_second" and first["item_status"] == "awaiting_second"
    assert first["final_decision"] == 0 and first["settled_by"] == "pending_review"
    waiting = ok(env.get("/api/review", who="viewer", deployment="rv-second", status="awaiting_second"))
    assert [i["id"] for i in waiting] == [item["id"]]
    # Rita cannot agree with herself; the item waits for agree or disagree only
    assert "someone else" in error(decide(env, item["id"], action="agree"), 403)
    assert "agree or disagree" in error(decide(env, item["id"], who="reviewer2", action="confirm"), 409)
    assert "needs a reason" in error(decide(env, item["id"], who="reviewer2", action="disagree"), 409)
    back = ok(decide(env, item["id"], who="reviewer2", action="disagree", reason="The payslips are not dated"), 201)
    assert back["status"] == "declined" and back["item_status"] == "open" and back["final_decision"] == 0
    assert history(env, pid)["final_decision"] == 0
    # sent back: decided again, and this time Rob agrees
    again = ok(decide(env, item["id"], action="override", decision=1, reason="Dated payslips received"), 201)
    assert again["status"] == "pending_second"
    agreed = ok(decide(env, item["id"], who="reviewer2", action="agree"), 201)
    assert agreed["status"] == "final" and agreed["item_status"] == "decided"
    h = history(env, pid)
    assert h["final_decision"] == 1 and h["settled_by"] == "review"
    steps = [(s["step"], s.get("action"), s.get("by"), s.get("status")) for s in h["history"]]
    assert steps[1:] == [("review", "override", "Rita Reviewer", "declined"),
                         ("review", "disagree", "Rob Reviewer", "declined"),
                         ("review", "override", "Rita Reviewer", "final"),
                         ("review", "agree", "Rob Reviewer", "final")]
    assert [t for t in trail_of(env, pid) if t[0].startswith("review.")] == [
        ("review.override", "Rita Reviewer"), ("review.disagree", "Rob Reviewer"),
        ("review.override", "Rita Reviewer"), ("review.agree", "Rob Reviewer")]
    # confirming the model's favourable decision also turns the adverse answer favourable: it waits too
    high = next(a for a in answers if a["score"] >= 0.5)
    item = item_of(env, high["prediction_id"], deployment="rv-second")
    assert ok(decide(env, item["id"], action="confirm"), 201)["status"] == "pending_second"
    assert ok(decide(env, item["id"], who="reviewer2", action="agree"), 201)["final_decision"] == 1


def test_the_review_queue_filters(env):
    deploy(env, "rv-queue", review=ALL_ROUTE_TO_REVIEW)
    answers = [a for _, a in scored(env, "rv-queue", n=30, start=100) if a["route"] == "review"]
    items = ok(env.get("/api/review", who="viewer", deployment="rv-queue"))
    assert {i["prediction_id"] for i in items} == {a["prediction_id"] for a in answers}
    women = ok(env.get("/api/review", who="viewer", deployment="rv-queue", group="sex=Female"))
    assert women and len(women) < len(items) and all(i["protected"]["sex"] == "Female" for i in women)
    assert ok(env.get("/api/review", who="viewer", deployment="rv-queue", why="near_thr")) == items
    assert ok(env.get("/api/review", who="viewer", deployment="rv-queue", why="appeal")) == []
    assert ok(env.get("/api/review", who="viewer", deployment="rv-queue", kind="appeal")) == []
    assert ok(env.get("/api/review", who="viewer", deployment="rv-queue", kind="decision")) == items
    assert ok(env.get("/api/review", who="viewer", deployment="rv-queue", older_than_hours=1)) == []
    assert ok(env.get("/api/review", who="viewer", deployment="rv-queue", older_than_hours=0)) == items
    assert "group" in error(env.get("/api/review", who="viewer", group="sex"), 400)
    assert "kind" in error(env.get("/api/review", who="viewer", kind="other"), 400)


# --- appeals ------------------------------------------------------------------------------------------------

def test_an_appeal_with_corrected_inputs_is_rescored_and_overturned(env):
    deploy(env, "rv-appeal", review=MODEL_ONLY)
    pairs = [(r, a) for r, a in scored(env, "rv-appeal", start=200) if a["route"] == "model" and a["decision"] == 0]
    (row, a), (_, other) = pairs[0], pairs[1]
    pid = a["prediction_id"]
    original = env.reg.prediction(pid)
    log_before = ok(env.get("/api/deployments/rv-appeal/log", who="operator"))
    path = f"/api/predictions/{pid}/appeal"
    # only a caller key scoped to the deployment files an appeal; the body is checked
    assert "needs one of the roles: caller" in error(env.post(path, {"statement": "x"}, who="operator"), 403)
    assert "not of 'rv-appeal'" in error(env.post(path, {"statement": "x"}, who="rother"), 403)
    assert "statement" in error(env.post(path, {"statement": "  "}, who="rapp"), 400)
    assert "statement" in error(env.post(path, {"why": "x"}, who="rapp"), 400)
    # corrected inputs that do not validate are refused, naming the field, and nothing is logged or filed
    bad = env.post(f"/api/predictions/{other['prediction_id']}/appeal",
                   {"statement": "my age is wrong", "corrected_inputs": {"age": "old"}}, who="rapp")
    assert "corrected_inputs.age" in error(bad, 400)
    bad = env.post(path, {"statement": "s", "corrected_inputs": {"shoe-size": 42}}, who="rapp")
    assert "corrected_inputs.shoe-size" in error(bad, 400)
    assert len(ok(env.get("/api/deployments/rv-appeal/log", who="operator"))) == len(log_before)
    assert history(env, pid)["appeals"] == []

    filed = ok(env.post(path, {"statement": "My capital gains were left out of the application.",
                               "corrected_inputs": {"capital-gain": 15024}}, who="rapp"), 201)
    appeal, rescored = filed["appeal"], filed["rescored"]
    assert appeal["status"] == "open" and appeal["filed_by"] == "review-app"
    assert appeal["corrected_inputs"] == {"capital-gain": 15024}
    assert appeal["rescored_prediction_id"] == rescored["prediction_id"] != pid
    assert rescored["deployment"] == "rv-appeal" and rescored["route"] == "model" and rescored["decision"] == 1
    # the re-scoring is a new logged prediction saying which decision it appeals; the original row is unchanged
    new = history(env, rescored["prediction_id"], who="operator")
    assert new["detail"]["appeal_of"] == pid and new["inputs"] == {**original["inputs"], "capital-gain": 15024.0}
    assert new["score"] == rescored["score"] and new["decision"] == 1
    assert env.reg.prediction(pid) == original
    log_after = ok(env.get("/api/deployments/rv-appeal/log", who="operator"))
    assert log_after[:len(log_before)] == log_before and len(log_after) == len(log_before) + 1
    assert "still open" in error(env.post(path, {"statement": "again"}, who="rapp"), 409)

    item = item_of(env, pid, kind="appeal")
    assert item["why"] == ["appeal", "corrected_inputs"] and item["interim_decision"] == 0
    assert item["score"] == rescored["score"] and item["due_at"] is not None
    assert ok(env.get("/api/review", who="viewer", why="corrected", deployment="rv-appeal")) == [item]
    shown = ok(env.get(f"/api/review/{item['id']}", who="reviewer"))
    assert shown["appeal"]["statement"].startswith("My capital gains")
    assert shown["prediction"]["inputs"] == original["inputs"]
    assert "decided with uphold or overturn" in error(decide(env, item["id"], action="confirm"), 409)
    assert "needs a reason" in error(decide(env, item["id"], action="overturn"), 409)
    done = ok(decide(env, item["id"], action="overturn", decision=1,
                     reason="With the capital gains the application meets the criteria"), 201)
    assert done["final_decision"] == 1 and done["settled_by"] == "appeal"
    h = history(env, pid)
    assert h["final_decision"] == 1 and h["settled_by"] == "appeal" and h["decision"] == 0
    assert h["appeals"][0]["status"] == "overturned" and h["appeals"][0]["decided_by"] == "Rita Reviewer"
    assert [(s["step"], s.get("action")) for s in h["history"]] == [("model", None), ("appeal", None),
                                                                     ("appeal", "overturn")]
    assert h["history"][1]["rescored_prediction_id"] == rescored["prediction_id"]
    assert env.reg.prediction(pid) == original
    assert trail_of(env, pid) == [("appeal.file", "review-app"), ("review.overturn", "Rita Reviewer"),
                                  ("appeal.overturned", "Rita Reviewer")]
    # the caller reads its own deployment's decisions (without the inputs); a new appeal may follow the decision
    mine = history(env, pid, who="rapp")
    assert mine["final_decision"] == 1 and mine["inputs"] is None and mine["inputs_hidden"] is True
    assert mine["appeals"][0]["corrected_inputs"] is None
    upheld = ok(env.post(path, {"statement": "I want it looked at again"}, who="rapp"), 201)
    assert upheld["rescored"] is None and upheld["appeal"]["corrected_inputs"] is None
    item = item_of(env, pid, kind="appeal", status="open")
    assert item["why"] == ["appeal"] and item["interim_decision"] == 1
    ok(decide(env, item["id"], action="uphold", reason="Nothing new"), 201)
    h = history(env, pid)
    assert [a["status"] for a in h["appeals"]] == ["overturned", "upheld"] and h["final_decision"] == 1


def test_an_appeal_after_the_window_is_refused_and_logs_nothing(env):
    deploy(env, "rv-late", review=MODEL_ONLY, appeals={"file_within_days": 1e-6})  # about 0.09 s
    (_, a), *_ = scored(env, "rv-late", n=5)
    time.sleep(1.2)  # the registry's clock has whole seconds
    log_before = ok(env.get("/api/deployments/rv-late/log", who="operator"))
    path = f"/api/predictions/{a['prediction_id']}/appeal"
    assert "window" in error(env.post(path, {"statement": "too late"}, who="rapp"), 409)
    late = env.post(path, {"statement": "too late", "corrected_inputs": {"age": 40}}, who="rapp")
    assert "window" in error(late, 409)
    assert ok(env.get("/api/deployments/rv-late/log", who="operator")) == log_before
    assert history(env, a["prediction_id"])["appeals"] == []
    assert not [t for t in trail_of(env, a["prediction_id"]) if t[0].startswith("appeal")]


# --- callbacks and deadlines --------------------------------------------------------------------------------

def _settle_one(env, name: str) -> str:
    _, a = next((r, a) for r, a in scored(env, name, n=10) if a["route"] == "review")
    item = item_of(env, a["prediction_id"], deployment=name)
    ok(decide(env, item["id"], action="confirm"), 201)
    return a["prediction_id"]


def test_a_callback_is_delivered_after_retries(env, receiver, fast_loop):
    deploy(env, "rv-callback", review=ALL_ROUTE_TO_REVIEW,
           callback={"url": f"{receiver.url}/flaky", "attempts": 5, "backoff_s": 0.05})
    pid = _settle_one(env, "rv-callback")
    final = history(env, pid)["final_decision"]
    delivered = wait_for(lambda: [c for c in ok(env.get("/api/deployments/rv-callback/callbacks"))
                                  if c["status"] == "delivered"])
    (c,) = delivered
    assert c["prediction_id"] == pid and c["attempts"] == 3 and c["last_error"] == "" and c["delivered_at"]
    got = receiver.got["/flaky"]
    assert len(got) == 3 and got[0] == got[-1]
    assert got[-1]["prediction_id"] == pid and got[-1]["final_decision"] == final
    assert got[-1]["deployment"] == "rv-callback" and got[-1]["settled_by"] == "review"
    assert receiver.attempts["/flaky"] == ["1", "2", "3"]
    assert ("callback.delivered", "steward (callbacks)") in trail_of(env, pid)


def test_a_callback_never_accepted_fails_after_its_attempts(env, receiver, fast_loop):
    deploy(env, "rv-callback-fail", review=ALL_ROUTE_TO_REVIEW,
           callback={"url": f"{receiver.url}/never", "attempts": 3, "backoff_s": 0.05})
    pid = _settle_one(env, "rv-callback-fail")
    failed = wait_for(lambda: [c for c in ok(env.get("/api/deployments/rv-callback-fail/callbacks"))
                               if c["status"] == "failed"])
    (c,) = failed
    assert c["attempts"] == 3 and "HTTP 500" in c["last_error"] and c["delivered_at"] is None
    time.sleep(0.5)
    assert len(receiver.got["/never"]) == 3  # and no more after it failed
    assert ("callback.failed", "steward (callbacks)") in trail_of(env, pid)
    assert "no deployment named 'nowhere'" in error(env.get("/api/deployments/nowhere/callbacks"), 404)


def test_an_overdue_item_is_escalated_with_an_incident(env, fast_loop):
    deploy(env, "rv-escalate", review={**ALL_ROUTE_TO_REVIEW, "decide_within_hours": 1e-4, "escalate_incident": True})
    a = ok(env.predict("rv-escalate", row=rows_of(env.models.test.iloc[300:301])[0], who="rapp"))
    assert a["route"] == "review"
    item = item_of(env, a["prediction_id"], deployment="rv-escalate")
    wait_for(lambda: ok(env.get(f"/api/review/{item['id']}", who="viewer"))["escalated_at"])
    title = f"Overdue decision review on rv-escalate (item {item['id']})"
    incidents = [i for i in ok(env.get("/api/incidents", who="viewer")) if i["title"] == title]
    assert len(incidents) == 1 and incidents[0]["severity"] == "medium"
    time.sleep(0.5)  # later sweeps escalate it once only
    assert len([i for i in ok(env.get("/api/incidents", who="viewer")) if i["title"] == title]) == 1
    assert ("review.escalate", "steward (deadlines)") in trail_of(env, a["prediction_id"])
    assert any(e["action"] == "incident.open" and json.loads(e["payload"]).get("review_item") == item["id"]
               for e in env.reg.trail(limit=50))
    # an escalated item can still be decided
    assert ok(decide(env, item["id"], action="confirm"), 201)["item_status"] == "decided"


# --- who reads what -----------------------------------------------------------------------------------------

def test_inputs_are_shown_only_to_the_roles_the_guard_names(env):
    deploy(env, "rv-inputs", review=ALL_ROUTE_TO_REVIEW)
    deploy(env, "rv-visible", review=ALL_ROUTE_TO_REVIEW, log={"inputs_visible_to": ["viewer"]})
    row = rows_of(env.models.test.iloc[400:401])[0]
    a = ok(env.predict("rv-inputs", row=row, who="rapp"))
    pid = a["prediction_id"]
    for who in ("reviewer", "operator", "admin", "validator"):  # validators export the log for monitoring too
        h = history(env, pid, who=who)
        assert h["inputs_hidden"] is False and h["inputs"]["age"] == float(row["age"])
    for who in ("viewer", "developer", "executive", "rapp"):
        h = history(env, pid, who=who)
        assert h["inputs_hidden"] is True and h["inputs"] is None and h["final_decision"] == a["decision"]
    item = item_of(env, pid, deployment="rv-inputs")
    assert ok(env.get(f"/api/review/{item['id']}", who="viewer"))["prediction"]["inputs"] is None
    assert ok(env.get(f"/api/review/{item['id']}", who="reviewer"))["prediction"]["inputs"]["age"] == float(row["age"])
    b = ok(env.predict("rv-visible", row=row, who="rapp"))
    assert history(env, b["prediction_id"], who="viewer")["inputs"]["age"] == float(row["age"])
    assert history(env, b["prediction_id"], who="reviewer")["inputs_hidden"] is True
    # a caller key reads only the decisions of the deployments it is scoped to
    assert "not of 'rv-inputs'" in error(env.get(f"/api/predictions/{pid}", who="rother"), 403)
    assert "not of 'rv-inputs'" in error(env.get(f"/api/predictions/{pid}", who="app2"), 403)
    assert "needs one of the roles" in error(env.get(f"/api/review/{item['id']}", who="rapp"), 403)
    assert "no prediction" in error(env.get("/api/predictions/p000000000000000000000000", who="rapp"), 404)


def test_retention_keeps_the_decisions_people_decided_or_appealed(env):
    deploy(env, "rv-retention", review=ALL_ROUTE_TO_REVIEW, log={"retention_days": 1e-6})
    answers = [a for _, a in scored(env, "rv-retention", n=3, start=500)]
    assert len(answers) == 3
    decided, appealed, plain = (a["prediction_id"] for a in answers)
    ok(decide(env, item_of(env, decided, deployment="rv-retention")["id"], action="confirm"), 201)
    ok(env.post(f"/api/predictions/{appealed}/appeal", {"statement": "Please look again"}, who="rapp"), 201)
    gone = env.reg.apply_retention(actor="steward (log retention)", at=datetime.now(timezone.utc) + timedelta(hours=1))
    assert gone["rv-retention"] == 1 and not any(n for name, n in gone.items() if name != "rv-retention")
    assert "no prediction" in error(env.get(f"/api/predictions/{plain}"), 404)
    assert history(env, decided)["settled_by"] == "review"
    assert history(env, appealed)["appeals"][0]["status"] == "open"
    items = ok(env.get("/api/review", who="viewer", deployment="rv-retention", status="all"))
    assert {i["prediction_id"] for i in items} == {decided, appealed}  # the plain decision's item went with it
