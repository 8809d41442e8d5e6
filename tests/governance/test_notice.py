"""Adverse-action notices: the wording from facts alone (compose_notice, its text and HTML), and through the
HTTP route on a registry whose decisions were made by the guarded endpoint (TestClient, in-process)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from steward.errors import ConflictError, WorkflowError
from steward.governance._notice import (
    ECOA_NOTICE,
    NO_CONTACT,
    compose_notice,
    notice_html,
    notice_text,
)
from tests.governance._humans_setup import CARD, REVIEWER, build, deploy, send

DAY = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
GUARD = {"favourable": 1, "appeals": {"file_within_days": 30, "decide_within_days": 14}}
REASONS = [{"feature": "capital-gain", "text": "Little or no investment income", "contribution": 0.7},
           {"feature": "hours-per-week", "text": "hours worked per week", "contribution": 0.3}]


def history(**over):
    base = {"prediction_id": "p0123456789abcdef01234567", "deployment": "credit-live", "created_at": DAY.isoformat(),
            "decision": 0, "route": "model", "reasons": REASONS, "final_decision": 0, "settled_by": "model",
            "history": [{"step": "model", "at": DAY.isoformat(), "decision": 0}], "appeals": []}
    return {**base, **over}


def compose(h=None, **kw):
    kw.setdefault("closes_at", DAY + timedelta(days=30))
    kw.setdefault("guard", GUARD)
    kw.setdefault("card_info", CARD)
    kw.setdefault("today", DAY + timedelta(days=1))
    return compose_notice(h or history(), **kw)


# --- the wording, from facts alone -------------------------------------------------------------------


def test_an_adverse_decision_in_the_cards_wording_with_reasons_and_deadline():
    n = compose()
    text = notice_text(n)
    assert n["statement"] == "You were not offered credit."
    assert "You were not offered credit." in text
    assert "Date of the decision: 2 March 2026" in text
    assert "1. Little or no investment income" in text and "2. Hours worked per week" in text  # capitalised
    assert "until 1 April 2026" in text and n["appeal_by"] == "2026-04-01"  # 30 days after the decision
    assert "appeals@example.org" in text and "p0123456789abcdef01234567" in text
    assert "no person reviewed it" in text
    assert "right to a statement of the specific reasons" in text and "within 60 days" in text
    assert "Credit pre-screen" in text
    assert n["ecoa"] is None and ECOA_NOTICE not in text  # the model's domain is not credit


def test_a_reviewed_decision_says_a_person_reviewed_it_and_gives_their_explanation():
    h = history(route="review", settled_by="review", reasons=[], history=[
        {"step": "model", "at": DAY.isoformat(), "decision": 0},
        {"step": "review", "at": (DAY + timedelta(days=2)).isoformat(), "action": "confirm", "decision": 0,
         "status": "final", "reason": "Income could not be verified"}])
    n = compose(h, domain="credit")
    text = notice_text(n)
    assert "A person reviewed this decision on 4 March 2026." in text
    assert "1. Income could not be verified" in text  # no logged reason: the reviewer's explanation is the reason
    assert n["decided_on"] == "4 March 2026"
    assert ECOA_NOTICE in text  # a credit model: the Act's notice too


def test_an_appeal_settled_on_rescored_inputs_cites_the_rescored_reasons():
    h = history(settled_by="appeal", appeals=[{"status": "upheld", "rescored_prediction_id": "p1"}], history=[
        {"step": "model", "at": DAY.isoformat(), "decision": 0},
        {"step": "appeal", "at": (DAY + timedelta(days=5)).isoformat(), "action": "uphold", "decision": 0,
         "status": "final", "reason": "The corrected income is still below the limit"}])
    n = compose(h, rescored_reasons=[{"text": "Income below the product's limit"}])
    assert n["reasons"] == ["Income below the product's limit"]
    assert "on appeal" in n["review"]
    assert "The reviewer's explanation: The corrected income is still below the limit" in notice_text(n)


def test_window_closed_open_appeal_and_no_contact_or_wording():
    closed = compose(today=DAY + timedelta(days=40))
    assert closed["appeal"] == "The time to appeal this decision ended on 1 April 2026." and not closed["appeal_open"]
    pending = compose(history(appeals=[{"status": "open", "created_at": (DAY + timedelta(days=3)).isoformat(),
                                        "due_at": (DAY + timedelta(days=17)).isoformat()}]))
    assert "being considered" in pending["appeal"] and "19 March 2026" in pending["appeal"]
    bare = compose(card_info=None)
    assert bare["statement"] == "The decision was not in your favour."
    assert NO_CONTACT in bare["appeal"] and NO_CONTACT in bare["right_to_reasons"]


def test_favourable_pending_and_refused_decisions_have_no_notice():
    with pytest.raises(ConflictError, match="favourable"):
        compose(history(final_decision=1, decision=1))
    with pytest.raises(WorkflowError, match="still with a reviewer"):
        compose(history(settled_by="pending_review"))
    with pytest.raises(WorkflowError, match="no decision"):
        compose(history(final_decision=None, decision=None))
    fav0 = compose(history(final_decision=1), guard={**GUARD, "favourable": 0})  # 1 is adverse when 0 is good
    assert fav0["decision"] == 1


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_standalone_escaped_and_has_no_script():
    card = {**CARD, "wording": {"unfavourable": "<script>alert(1)</script> declined"},
            "model": {"contact": "a&b <appeals@example.org>", "name": "<b>x</b>"}}
    h = history(reasons=[{"text": "<img src=x onerror=alert(1)>"}])
    page = notice_html(compose(h, card_info=card))
    assert "<script>" not in page and "<img" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; declined" in page
    assert "a&amp;b &lt;appeals@example.org&gt;" in page
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert page.startswith("<!DOCTYPE html>") and "http" not in page  # nothing to fetch: readable offline
    assert "Little" not in page and "<img src=x onerror=alert(1)>" in "".join(parsed.text)


# --- through the HTTP route ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    import contextlib

    from fastapi.testclient import TestClient

    from steward.web import create_app
    from tests.governance.conftest import fresh_postgres

    database = fresh_postgres() if request.param == "postgresql" else contextlib.nullcontext(None)
    with database as url:
        env = build(tmp_path_factory.mktemp("notice"), url)
        deploy(env, "credit-notice")
        deploy(env, "credit-other")
        with TestClient(create_app(env.reg)) as client:
            answers = send(client, env, "credit-notice", env.rows[:60])
            yield env, client, answers
        env.reg.close()


def _get(client, env, pid, who="app", **params):
    return client.get(f"/api/predictions/{pid}/notice", params=params or None, headers={"X-API-Key": env.keys[who]})


def test_route_gives_the_notice_of_an_adverse_decision_as_text_and_html(served):
    env, client, answers = served
    adverse = next(a for a in answers if a["route"] == "model" and a["decision"] == 0)
    text = _get(client, env, adverse["prediction_id"], format="text")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    body = text.text
    assert "You were not offered credit." in body and "appeals@example.org" in body
    cited = [r["text"] for r in adverse["reasons"]]
    assert cited and all(t[:1].upper() + t[1:] in body for t in cited)
    closes, _ = env.reg.appeal_window(adverse["prediction_id"])
    assert f"until {closes.day} {closes:%B %Y}" in body
    for attribute in ("race", "sex"):  # protected attributes are never cited
        assert all(r["feature"] != attribute for r in adverse["reasons"])
    page = _get(client, env, adverse["prediction_id"], who="viewer")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text and "not offered credit" in page.text


def test_route_refuses_a_favourable_decision_with_409(served):
    env, client, answers = served
    favourable = next(a for a in answers if a["decision"] == 1)
    r = _get(client, env, favourable["prediction_id"])
    assert r.status_code == 409 and "only for an adverse decision" in r.json()["error"]


def test_route_says_a_reviewer_decided(served):
    env, client, answers = served
    adverse = [a for a in answers if a["route"] == "model" and a["decision"] == 0]
    pid = adverse[1]["prediction_id"]
    env.reg.file_appeal(pid, statement="My income was wrong", actor="humans-app")
    item = next(i for i in env.reg.review_queue(deployment="credit-notice") if i["prediction_id"] == pid)
    env.reg.decide_review(item["id"], action="uphold", actor=REVIEWER, reason="The income on file was confirmed")
    body = _get(client, env, pid, format="text").text
    assert "A person reviewed this decision on appeal" in body
    assert "The reviewer's explanation: The income on file was confirmed" in body


def test_route_access(served):
    env, client, answers = served
    pid = next(a for a in answers if a["decision"] == 0)["prediction_id"]
    other = _get(client, env, pid, who="other")  # a caller key of another deployment
    assert other.status_code == 403 and "credit-other" in other.json()["error"]
    assert client.get(f"/api/predictions/{pid}/notice").status_code == 401
    assert _get(client, env, "p" + "0" * 24).status_code == 404
    assert _get(client, env, pid, format="pdf").status_code in (400, 422)
    assert _get(client, env, pid, who="reviewer").status_code == 200
