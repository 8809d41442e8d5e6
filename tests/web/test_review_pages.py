"""The review pages (queue, item, prediction history) through an in-process HTTP client, against a registry
whose guarded deployment sent decisions to review; and the similar-decisions distance against a hand
computation."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from steward.web._neighbours import distance, nearest, scales
from tests.web._reviewed import (  # noqa: F401 - fixtures
    DEPLOYMENT,
    REVIEWER,
    SECOND,
    deployed,
    item_where,
    rev_client,
    rev_registry,
    reviewed,
)
from tests.web.conftest import csrf_of, login


def _as(client, reviewed, role):  # noqa: F811 - reviewed: the fixture's value
    login(client, reviewed.keys[role])
    return client


def _post(client, item_id, **data):
    page = client.get(f"/review/{item_id}")
    assert page.status_code == 200, page.text
    return client.post(f"/review/{item_id}", data={"csrf": csrf_of(page.text), **data}, follow_redirects=False)


def _forms(html):
    return re.findall(r'<form[^>]*action="/review/\d+"', html)


# --- the distance ------------------------------------------------------------------------------------

PROFILE = {"features": [
    {"name": "age", "kind": "number", "min": 0.0, "max": 100.0, "quantiles": list(range(0, 101, 10))},
    {"name": "gain", "kind": "number", "min": 0.0, "max": 500.0, "quantiles": [0.0] * 10 + [500.0]},
    {"name": "flat", "kind": "number", "min": 3.0, "max": 3.0, "quantiles": [3.0] * 11},
    {"name": "hours", "kind": "number", "min": 0.0, "max": 80.0,
     "quantiles": [0, 10, 20, 20, 20, 20, 20, 20, 60, 70, 80]},
    {"name": "job", "kind": "category", "categories": {"a": 5, "b": 5}},
    {"name": "sex", "kind": "category", "categories": {"F": 5, "M": 5}},
]}


def test_the_scales_are_the_interquartile_range_read_from_the_deciles_with_fallbacks():
    s = scales(PROFILE, exclude={"sex"})
    # age: 25% = (20 + 30) / 2 = 25, 75% = (70 + 80) / 2 = 75, so 50
    # gain: no interquartile or 20-80% spread (all 0 but the top): the whole range, 500
    # flat: one value in training: 1
    # hours: 25% = 20, 75% = (20 + 60) / 2 = 40, so 20
    assert s == {"age": 50.0, "gain": 500.0, "flat": 1.0, "hours": 20.0, "job": None}
    # uneven deciles: 25% = (2 + 5) / 2 = 3.5, 75% = (5 + 8) / 2 = 6.5; no deciles at all: the range
    assert scales({"features": [{"name": "x", "kind": "number", "min": 0, "max": 9,
                                 "quantiles": [0, 1, 2, 5, 5, 5, 5, 5, 8, 9, 9]},
                                {"name": "y", "kind": "number", "min": 2, "max": 6, "quantiles": None}]}) == {
        "x": 3.0, "y": 4.0}


def test_the_distance_matches_a_hand_computation():
    s = scales(PROFILE, exclude={"sex"})
    a = {"age": 30.0, "gain": 0.0, "flat": 3.0, "hours": 40.0, "job": "a", "sex": "F"}
    b = {"age": 55.0, "gain": 250.0, "flat": 5.0, "hours": 30.0, "job": "b", "sex": "M"}
    # (25/50)^2 + (250/500)^2 + (2/1)^2 + (10/20)^2 + 1 (job differs); sex (protected) left out
    assert distance(a, b, s) == pytest.approx(math.sqrt(0.25 + 0.25 + 4 + 0.25 + 1))
    assert distance(a, a | {"sex": "M"}, s) == 0  # the protected attribute does not count
    # a missing value against a present one counts 1, two missing values 0
    assert distance(a, a | {"age": None}, s) == pytest.approx(1.0)
    assert distance(a | {"age": None}, a | {"age": None}, s) == 0
    # a category is compared as text; a feature one row lacks is skipped
    assert distance({"job": "a", "age": 30}, {"job": "a"}, s) == 0


def test_nearest_keeps_the_k_closest_with_stored_inputs_in_order():
    s = scales(PROFILE, exclude={"sex"})
    me = {"age": 30.0, "gain": 0.0, "flat": 3.0, "hours": 20.0, "job": "a"}
    pool = [{"id": "far", "inputs": me | {"age": 80.0}},  # 1.0
            {"id": "hashed", "inputs": None},  # only a hash kept: skipped
            {"id": "job", "inputs": me | {"job": "b"}},  # 1.0, after "far" in the pool
            {"id": "near", "inputs": me | {"age": 35.0}},  # 0.1
            {"id": "same", "inputs": dict(me)}]  # 0
    got = nearest(me, pool, s, k=3)
    assert [c["id"] for _, c in got] == ["same", "near", "far"]
    assert [d for d, _ in got] == pytest.approx([0.0, 0.1, 1.0])


# --- the queue ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review", "/review/1", "/predictions/p0123456789abcdef01234567"])
def test_the_pages_send_a_stranger_to_the_login_form(rev_client, path):
    r = rev_client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=" + quote(path, safe="")


def test_a_viewer_sees_the_queue_without_forms(rev_client, rev_registry, reviewed):
    items = rev_registry.review_queue(status="pending")
    assert len(items) > 5
    html = _as(rev_client, reviewed, "viewer").get("/review").text
    assert '<a href="/review">Review</a>' in html  # in the navigation
    assert all(f'<a href="/review/{i["id"]}"><strong>#{i["id"]}</strong></a>' in html for i in items)
    assert f"{len(items)} of {len(items)} items waiting" in html
    assert "the score is close to the threshold" in html and "the benchmark decides otherwise" in html
    assert "0 (adverse)" in html and "due in 47 hours" in html
    assert "Only a reviewer can decide an item." in html
    assert not _forms(html) and "<script" not in html.lower()


def test_the_queue_filters_by_kind_why_age_group_and_deployment(rev_client, rev_registry, reviewed):
    items = rev_registry.review_queue(status="pending")
    appealed = rev_registry.prediction_log(DEPLOYMENT)[0]["prediction_id"]
    rev_registry.file_appeal(appealed, statement="My income was entered wrong", actor="loan-app")
    c = _as(rev_client, reviewed, "viewer")

    def shown(**query):
        r = c.get("/review", params=query)
        assert r.status_code == 200
        return [int(n) for n in re.findall(r'<a href="/review/(\d+)"><strong>', r.text)]

    assert len(shown()) == len(items) + 1
    appeal = [i["id"] for i in rev_registry.review_queue(status="pending") if i["kind"] == "appeal"]
    assert shown(kind="appeal") == appeal and len(appeal) == 1
    near = [i["id"] for i in items if "near_threshold" in i["why"]]
    assert near and shown(reason="close to the THRESHOLD") == near and shown(reason="near_thr") == near
    women = [i["id"] for i in items if i["protected"].get("sex") == "Female"]
    assert women and shown(group="sex=Female") == women
    assert 'option value="sex=Female" selected' in c.get("/review", params={"group": "sex=Female"}).text
    assert shown(age="1") == [] and len(shown(age="0")) == len(items) + 1
    assert shown(deployment="another") == [] and len(shown(deployment=DEPLOYMENT)) == len(items) + 1
    r = c.get("/review", params={"age": "soon"})  # not understood: said so, and not applied
    assert "older than: give a number of hours" in r.text and len(re.findall(r'<strong>#\d+', r.text)) == len(items) + 1


def test_overdue_and_escalated_items_are_marked(rev_client, rev_registry, reviewed):
    later = datetime.now(timezone.utc) + timedelta(hours=49)
    escalated = rev_registry.escalate_overdue(at=later)
    assert escalated
    html = _as(rev_client, reviewed, "viewer").get("/review").text
    assert html.count('<span class="pill bad">Escalated</span>') == len(escalated)
    page = rev_client.get(f"/review/{escalated[0]}").text
    assert "Escalated" in page


# --- an item -----------------------------------------------------------------------------------------


def test_a_viewer_sees_an_item_without_inputs_or_forms(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 1)
    p = item["prediction"]
    r = _as(rev_client, reviewed, "viewer").get(f"/review/{item['id']}")
    assert r.status_code == 200
    html = r.text
    assert f"Review item #{item['id']}: Decision" in html
    assert f"{p['score']:.3f}" in html and "1 (favourable)" in html  # the model's score and decision
    assert "the benchmark decides otherwise" in html  # why, and the flag
    assert f"credit:0.9 scored {p['detail']['benchmark_score']:.3f} and decided 0 (adverse)" in html
    assert "not needed: the model answered" in html  # the backup
    assert 'id="inputs-hidden"' in html and "Reviewer, Operator, Validator, Administrator" in html
    assert 'id="inputs-table"' not in html and "Machine-op-inspct" not in html and "capital-gain =" not in html
    assert not _forms(html) and "Only a reviewer can decide this item." in html
    assert 'id="similar-table"' in html and 'id="history-steps"' in html


def test_a_reviewer_sees_the_inputs_the_similar_decisions_and_the_forms(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 1)
    p = item["prediction"]
    html = _as(rev_client, reviewed, "reviewer").get(f"/review/{item['id']}").text
    assert 'id="inputs-table"' in html
    for name, value in p["inputs"].items():
        assert f"<tr><td>{name}</td><td>{value}</td>" in html
    assert len(_forms(html)) == 2 and 'value="confirm"' in html and 'value="override"' in html
    assert "Confirm the model: 1 (favourable)" in html and "Override: decide 0 (adverse)" in html
    # the 5 nearest of the deployment's other logged decisions, protected attributes left out
    profile = rev_registry.profile("credit", "1.0")
    pool = [c for c in rev_registry.prediction_log(DEPLOYMENT, limit=2000, newest=True)
            if c["prediction_id"] != p["prediction_id"] and c["decision"] is not None]
    want = nearest(p["inputs"], pool, scales(profile, exclude={"race", "sex"}), k=5)
    table = html[html.index('id="similar-table"'):html.index('id="history"')]
    assert re.findall(r'<a href="/predictions/(p[0-9a-f]{24})">', table) == [c["prediction_id"] for _, c in want]
    assert [float(x) for x in re.findall(r'<td class="num">([\d.]+)</td>\s*<td><a', table)] == pytest.approx(
        [round(d, 2) for d, _ in want], abs=0.006)


def test_a_reviewer_confirms(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 0)
    c = _as(rev_client, reviewed, "reviewer")
    page = c.get(f"/review/{item['id']}").text  # confirming keeps it adverse; only the override needs a second
    note = "This turns the adverse interim decision favourable"
    assert page.count(note) == 1 and page.index(note) > page.index('id="override-form"')
    r = _post(c, item["id"], action="confirm", reason="")
    assert r.status_code == 303 and r.headers["location"] == f"/review/{item['id']}?flash=confirm"
    html = c.get(r.headers["location"]).text
    assert "the decision stands, and it is final" in html and '<span class="pill ok" id="item-status">Decided' in html
    assert not _forms(html)
    h = rev_registry.prediction_history(item["prediction"]["prediction_id"])
    assert (h["final_decision"], h["settled_by"], h["settled_by_person"]) == (0, "review", REVIEWER)
    assert f"by a reviewer ({REVIEWER})" in html and "Confirmed" in html
    assert item["id"] not in [i["id"] for i in rev_registry.review_queue(status="pending")]


def test_confirming_a_favourable_model_decision_waits_for_a_second_reviewer(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 1)  # answered adverse (interim) while the model decided favourable
    c = _as(rev_client, reviewed, "reviewer")
    page = c.get(f"/review/{item['id']}").text
    assert page.count("This turns the adverse interim decision favourable") == 1  # under confirm, not override
    r = _post(c, item["id"], action="confirm", reason="")
    assert r.headers["location"] == f"/review/{item['id']}?flash=pending_second"
    html = c.get(r.headers["location"]).text
    assert f"<strong>{REVIEWER}</strong> decided 1 (favourable) (confirmed)" in html
    assert rev_registry.review_item(item["id"])["status"] == "awaiting_second"


def test_an_override_needs_a_reason_and_then_is_final(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 1)
    c = _as(rev_client, reviewed, "reviewer")
    r = _post(c, item["id"], action="override", decision="0", reason="   ")
    assert r.status_code == 409
    assert "Your decision was not recorded: override needs a reason in plain words" in r.text
    assert 'id="override-form"' in r.text  # the form again, to try once more
    assert rev_registry.review_item(item["id"])["status"] == "open"

    reason = "Income verified: the <b>stated</b> capital gain & <script>alert(1)</script> was a one-off"
    r = _post(c, item["id"], action="override", decision="0", reason=reason)
    assert r.status_code == 303 and r.headers["location"].endswith("flash=override")
    html = c.get(r.headers["location"]).text
    assert "<script>alert" not in html and "<b>stated</b>" not in html
    assert "the &lt;b&gt;stated&lt;/b&gt; capital gain &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in html
    h = rev_registry.prediction_history(item["prediction"]["prediction_id"])
    assert (h["final_decision"], h["settled_by"]) == (0, "review") and h["history"][-1]["reason"] == reason


def test_a_second_reviewer_must_agree_to_turn_an_adverse_decision_favourable(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 0)  # the model decided adverse; overriding makes it favourable
    c = _as(rev_client, reviewed, "reviewer")
    page = c.get(f"/review/{item['id']}").text
    assert "Confirm the model: 0 (adverse)" in page and "Override: decide 1 (favourable)" in page
    r = _post(c, item["id"], action="override", decision="1", reason="Long, steady employment history")
    assert r.headers["location"].endswith("flash=pending_second")
    html = c.get(r.headers["location"]).text
    assert "it becomes final when another reviewer agrees" in html
    assert f"<strong>{REVIEWER}</strong> decided 1 (favourable)" in html
    assert "a different reviewer must agree" in html and "You made the first decision" in html
    assert not _forms(html)
    # the same reviewer cannot agree with themself: the registry refuses, on the page
    r = c.post(f"/review/{item['id']}", data={"csrf": csrf_of(html), "action": "agree"}, follow_redirects=False)
    assert r.status_code == 403 and "a second reviewer must be someone else" in r.text
    assert rev_registry.review_item(item["id"])["status"] == "awaiting_second"

    c.cookies.clear()
    c = _as(c, reviewed, "second")
    html = c.get(f"/review/{item['id']}").text
    assert len(_forms(html)) == 2 and "Agree: 1 (favourable) is final" in html
    r = _post(c, item["id"], action="agree", reason="")
    assert r.headers["location"].endswith("flash=agree")
    h = rev_registry.prediction_history(item["prediction"]["prediction_id"])
    assert (h["final_decision"], h["settled_by"], h["settled_by_person"]) == (1, "review", SECOND)
    html = c.get(f"/predictions/{item['prediction']['prediction_id']}").text
    assert "Overrode" in html and "Agreed, as second reviewer" in html and "1 (favourable)" in html
    assert f"Settled by a reviewer ({REVIEWER}, with {SECOND} agreeing as second reviewer)." in html


def test_a_second_reviewer_who_disagrees_gives_a_reason_and_reopens_the_item(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 0)
    rev_registry.decide_review(item["id"], action="override", decision=1, reason="Looks fine", actor=REVIEWER)
    c = _as(rev_client, reviewed, "second")
    r = _post(c, item["id"], action="disagree", reason="")
    assert r.status_code == 409 and "disagree needs a reason" in r.text
    r = _post(c, item["id"], action="disagree", reason="The income is not verified")
    assert r.headers["location"].endswith("flash=disagree")
    assert rev_registry.review_item(item["id"])["status"] == "open"


def test_deciding_needs_the_forms_csrf_token_and_the_reviewer_role(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 1)
    c = _as(rev_client, reviewed, "reviewer")
    r = c.post(f"/review/{item['id']}", data={"action": "confirm"}, follow_redirects=False)
    assert r.status_code == 403 and "This form has expired" in r.text
    r = c.post(f"/review/{item['id']}", data={"action": "confirm", "csrf": "0" * 64}, follow_redirects=False)
    assert r.status_code == 403
    assert rev_registry.review_item(item["id"])["status"] == "open"
    c.cookies.clear()
    c = _as(c, reviewed, "operator")
    r = _post(c, item["id"], action="confirm")
    assert r.status_code == 403 and "Your role does not allow this" in r.text
    assert rev_registry.review_item(item["id"])["status"] == "open"


def test_a_wrong_action_or_decision_is_refused_on_the_page(rev_client, rev_registry, reviewed):
    item = item_where(rev_registry, 1)
    c = _as(rev_client, reviewed, "reviewer")
    r = _post(c, item["id"], action="uphold", reason="x")
    assert r.status_code == 409 and "is decided with confirm or override" in r.text
    r = _post(c, item["id"], action="override", decision="7", reason="x")
    assert r.status_code == 400 and "decision must be 0 or 1" in r.text
    assert c.get("/review/999999").status_code == 404


def test_an_appeal_item_shows_the_appeal_and_is_upheld_or_overturned(rev_client, rev_registry, reviewed):
    adverse = next(p for p in rev_registry.prediction_log(DEPLOYMENT) if p["route"] == "model" and p["decision"] == 0)
    rescored = next(p for p in rev_registry.prediction_log(DEPLOYMENT) if p["route"] == "model" and p["decision"] == 1)
    rev_registry.file_appeal(adverse["prediction_id"], statement="I work <b>50</b> hours, not 40", actor="loan-app",
                             corrected_inputs={"hours-per-week": 50.0},
                             rescored_prediction_id=rescored["prediction_id"])
    item = next(i for i in rev_registry.review_queue() if i["kind"] == "appeal")
    c = _as(rev_client, reviewed, "viewer")
    html = c.get(f"/review/{item['id']}").text
    assert "I work &lt;b&gt;50&lt;/b&gt; hours, not 40" in html and "loan-app" in html
    assert "given (shown only to Reviewer, Operator, Validator, Administrator)" in html and not _forms(html)
    assert f'<a href="/predictions/{rescored["prediction_id"]}">' in html
    c.cookies.clear()
    c = _as(c, reviewed, "reviewer")
    html = c.get(f"/review/{item['id']}").text
    assert "hours-per-week = 50.0" in html and "<strong>50.0</strong>" in html  # the correction, beside the original
    assert "Uphold: the decision stays 0 (adverse)" in html and "Overturn: the decision becomes 1 (favourable)" in html
    r = _post(c, item["id"], action="uphold", reason="")
    assert r.status_code == 409 and "uphold needs a reason" in r.text
    r = _post(c, item["id"], action="uphold", reason="The hours do not change the decision")
    assert r.headers["location"].endswith("flash=uphold")
    h = rev_registry.prediction_history(adverse["prediction_id"])
    assert (h["final_decision"], h["settled_by"]) == (0, "appeal") and h["appeals"][0]["status"] == "upheld"
    html = c.get(f"/predictions/{adverse['prediction_id']}").text
    assert "Appeal filed" in html and "Upheld the decision" in html and "on appeal, by Rita Reviewer" in html


def test_the_prediction_page_shows_its_history_and_hides_inputs_from_a_viewer(rev_client, rev_registry, reviewed):
    p = rev_registry.prediction_log(DEPLOYMENT)[-1]
    html = _as(rev_client, reviewed, "viewer").get(f"/predictions/{p['prediction_id']}").text
    assert f"Prediction <code>{p['prediction_id']}</code>" in html and 'id="history-steps"' in html
    assert "shown only to Reviewer, Operator, Validator, Administrator" in html and "capital-gain =" not in html
    assert rev_client.get("/predictions/p0123456789abcdef01234567").status_code == 404
    assert rev_client.get("/predictions/nonsense").status_code == 400
