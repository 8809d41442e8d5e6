"""Auditing the humans: a seeded scenario where reviewers overturn women's adverse decisions far more often
than men's (60 % against 10 %) shows up as a failing finding with the right rates and intervals (checked
against a hand computation); appeals decided alike for both groups do not; and `steward audit-decisions`
prints it and exits 1 (0 for a deployment whose reviewers treat groups alike, 2 on bad input).

Every decision goes through the guarded endpoint in-process (TestClient) with a review band covering every
score, so each is a review item; a reviewer decides each (a second reviewer agrees where the guard asks)."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from click.testing import CliRunner
from scipy import stats

from steward.cli import cli
from steward.errors import StewardError
from steward.governance._humans import audit_decisions
from tests.governance._humans_setup import REVIEWER, build, deploy, send

Z = 1.959963984540054  # the 97.5th percentile of the standard normal


def wilson(x, n, z=Z):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def katz(x1, n1, x2, n2, z=Z):
    r = (x1 / n1) / (x2 / n2)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return r, r * math.exp(-z * se), r * math.exp(z * se)


def decide(reg, item_id, action, **kw):
    d = reg.decide_review(item_id, action=action, actor=REVIEWER, **kw)
    if d["status"] == "pending_second":  # the guard asks a second person to agree to a favourable turn
        reg.decide_review(item_id, action="agree", actor="Rob Reviewer")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """credit-humans: 400 decisions, reviewers overturn 6 in 10 of women's adverse decisions and 1 in 10 of
    men's; 40 appeals per sex, 1 in 4 overturned for both. credit-even: 120 decisions, every one confirmed."""
    from fastapi.testclient import TestClient

    from steward.web import create_app

    env = build(tmp_path_factory.mktemp("humans"))
    deploy(env, "credit-humans", review={"band": 1.0})
    deploy(env, "credit-even", review={"band": 1.0})
    with TestClient(create_app(env.reg)) as client:
        assert {a["route"] for a in send(client, env, "credit-humans", env.rows[:400])} == {"review"}
        send(client, env, "credit-even", env.rows[400:520])
    logged = {r["prediction_id"]: r for r in env.reg.decision_outcomes("credit-humans")}
    hand = {"n": Counter(), "x": Counter()}  # reviewed adverse decisions of the model, and those overturned
    for item in env.reg.review_queue(deployment="credit-humans", status="open", limit=1000):
        row = logged[item["prediction_id"]]
        sex = row["protected"]["sex"]
        if row["model_decision"] == 0:
            i = hand["n"][sex]
            hand["n"][sex] += 1
            if i % 10 < (6 if sex == "Female" else 1):
                hand["x"][sex] += 1
                decide(env.reg, item["id"], "override", reason="Income verified by phone", decision=1)
                continue
        decide(env.reg, item["id"], "confirm")
    for item in env.reg.review_queue(deployment="credit-even", status="open", limit=1000):
        decide(env.reg, item["id"], "confirm")
    # appeals: the first 40 adverse final decisions of each sex; every fourth is overturned
    appealed = Counter()
    for row in env.reg.decision_outcomes("credit-humans"):
        sex = row["protected"]["sex"]
        if row["final_decision"] == 0 and appealed[sex] < 40:
            appealed[sex] += 1
            env.reg.file_appeal(row["prediction_id"], statement="The decision is wrong", actor="humans-app")
    hand["appeals"], hand["overturned"] = Counter(), Counter()
    for item in env.reg.review_queue(deployment="credit-humans", status="open", limit=1000):
        assert item["kind"] == "appeal"
        sex = item["protected"]["sex"]
        i = hand["appeals"][sex]
        hand["appeals"][sex] += 1
        if i % 4 == 0:
            hand["overturned"][sex] += 1
            decide(env.reg, item["id"], "overturn", reason="The applicant's documents change the picture", decision=1)
        else:
            decide(env.reg, item["id"], "uphold", reason="The documents do not change the decision")
    yield env, hand
    env.reg.close()


def _audit(env, name="credit-humans", **kw):
    kw.setdefault("protected", {"sex": "Male", "race": "White"})
    return audit_decisions(env.reg.decision_outcomes(name), card_info=env.reg.card_info("credit", "1.0"),
                           deployment=name, intersections=False, **kw)


def _row(result, measure, group):
    frame = result.rates[measure]
    return frame[(frame["attribute"] == "sex") & (frame["group"] == group)].iloc[0]


def test_reviewers_overturning_one_groups_adverse_decisions_is_a_failing_finding(scenario):
    env, hand = scenario
    result = _audit(env)
    xf, nf, xm, nm = hand["x"]["Female"], hand["n"]["Female"], hand["x"]["Male"], hand["n"]["Male"]
    assert nf >= 60 and nm >= 60  # enough of each to judge
    female, male = _row(result, "adverse_overturned", "Female"), _row(result, "adverse_overturned", "Male")
    assert (female["events"], female["trials"], male["events"], male["trials"]) == (xf, nf, xm, nm)
    assert female["rate"] == pytest.approx(xf / nf) and male["rate"] == pytest.approx(xm / nm)
    assert 0.58 < xf / nf < 0.62 and 0.09 < xm / nm < 0.11
    assert (female["ci_low"], female["ci_high"]) == pytest.approx(wilson(xf, nf), abs=1e-12)
    assert (male["ci_low"], male["ci_high"]) == pytest.approx(wilson(xm, nm), abs=1e-12)
    ratio, lo, hi = katz(xf, nf, xm, nm)
    assert (female["ratio"], female["ratio_ci_low"], female["ratio_ci_high"]) == pytest.approx((ratio, lo, hi))
    chi2 = stats.chi2_contingency([[xf, nf - xf], [xm, nm - xm]], correction=False)
    assert female["test"] == "z" and female["p_value"] == pytest.approx(chi2.pvalue, rel=1e-9)
    found = [f for f in result.findings if f.check == "review_overrides" and f.attribute == "sex"
             and f.metric == "adverse_overturned_rate_ratio"]
    assert [(f.group, f.status) for f in found] == [("Female", "fail")]
    f = found[0]
    assert f.value == pytest.approx(ratio) and f.ci == pytest.approx((lo, hi)) and f.significant
    assert f"{100 * xf / nf:.1f}%" in f.message and f"{100 * xm / nm:.1f}%" in f.message
    assert "Female applicants" in f.message and "not offered credit" in f.message  # the card's wording
    assert not result.passed
    text = result.text()
    assert "FAIL: Of the model's adverse decisions" in text and "Wilson" in text and "Katz" in text


def test_appeals_decided_alike_are_no_finding_and_rates_match(scenario):
    env, hand = scenario
    result = _audit(env)
    for sex in ("Female", "Male"):
        row = _row(result, "appeal_success", sex)
        assert (row["events"], row["trials"]) == (hand["overturned"][sex], hand["appeals"][sex]) == (10, 40)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson(10, 40), abs=1e-12)
    appeal = [f for f in result.findings if f.check == "appeal_outcomes" and f.attribute == "sex"]
    assert [(f.group, f.status) for f in appeal] == [("Female", "pass")]
    assert result.counts["appeals"] == result.counts["appeals_decided"] == 80


def test_final_and_model_decisions_audited_with_decision_checks_only(scenario):
    env, _ = scenario
    result = _audit(env, policy=env.policy, tier="low")
    assert set(result.not_run) >= {"false_positive_rate_ratio", "false_negative_rate_ratio", "model_card"}
    assert "outcomes" in result.not_run["false_negative_rate_ratio"]
    assert {f.check for f in result.final.findings} <= {"adverse_impact_ratio", "group_size"}
    cmp = result.comparison().set_index(["attribute", "group"])
    # reviewers turned many of women's adverse decisions favourable: their final rate is far above the model's
    assert cmp.loc[("sex", "Female"), "final_favourable_rate"] > cmp.loc[("sex", "Female"), "model_favourable_rate"]
    outcomes = env.reg.decision_outcomes("credit-humans")
    settled = [r for r in outcomes if r["settled_by"] != "pending_review"]
    women = [r for r in settled if r["protected"]["sex"] == "Female"]
    assert cmp.loc[("sex", "Female"), "final_rows"] == len(women)
    assert cmp.loc[("sex", "Female"), "final_favourable_rate"] == pytest.approx(
        sum(r["final_decision"] == 1 for r in women) / len(women))
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert doc["final_decisions"]["findings"] and doc["checks_run"] == ["adverse_impact_ratio", "group_size"]


def test_cli_audit_decisions_exit_codes_and_output(scenario, tmp_path):
    env, hand = scenario
    url = f"sqlite:///{env.path}"
    run = CliRunner().invoke
    failing = run(cli, ["audit-decisions", "credit-humans", "--database-url", url, "--no-intersections",
                        "--protected", "sex=Male", "--protected", "race=White", "--out", str(tmp_path / "out")])
    assert failing.exit_code == 1, failing.output
    assert "Decisions after review: credit-humans" in failing.output
    assert "FAIL: Of the model's adverse decisions (not offered credit)" in failing.output
    assert f"{hand['x']['Female']} of {hand['n']['Female']}" in failing.output
    saved = json.loads((tmp_path / "out" / "decisions-audit.json").read_text())
    assert saved["passed"] is False and (tmp_path / "out" / "decisions-audit.txt").exists()

    as_json = run(cli, ["audit-decisions", "credit-humans", "--database-url", url, "--format", "json",
                        "--policy", env.policy.path])  # the tier: the model's recorded one (low)
    assert as_json.exit_code == 1, as_json.output
    doc = json.loads(as_json.output)
    assert doc["policy"]["tier"] == "low" and "false_positive_rate_ratio" in doc["checks_not_run"]
    assert any(f["check"] == "review_overrides" and f["status"] == "fail" for f in doc["findings"])

    even = run(cli, ["audit-decisions", "credit-even", "--database-url", url, "--no-intersections"])
    assert even.exit_code == 0, even.output
    assert "none: no group's decisions were overturned" in even.output and even.output.rstrip().endswith("PASSED")

    for args in (["credit-nowhere"], ["credit-humans", "--since", "2030-01-02", "--until", "2030-01-01"],
                 ["credit-humans", "--since", "yesterday"], ["credit-humans", "--since", "2099-01-01"]):
        bad = run(cli, ["audit-decisions", *args, "--database-url", url])
        assert bad.exit_code == 2, (args, bad.output)
        assert bad.output.count("\n") <= 2  # one line saying what is wrong


def test_the_deployment_page_shows_decisions_after_review(scenario):
    from fastapi.testclient import TestClient

    from steward.web import create_app
    from tests.web.conftest import login

    env, hand = scenario
    deploy(env, "credit-other")  # deployed, no decision yet
    with TestClient(create_app(env.reg)) as client:
        login(client, env.keys["viewer"])
        page = client.get("/deployments/credit-humans")
        empty = client.get("/deployments/credit-other")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<h2 id="after-review">Decisions after review</h2>' in html and 'id="after-review-rates"' in html
    assert "FAIL: Of the model&#39;s adverse decisions (not offered credit)" in html
    assert f"{hand['x']['Female']} of {hand['n']['Female']}" in html
    assert "<script" not in html.lower()
    assert empty.status_code == 200 and "Nothing to audit yet (no logged decisions in this window" in empty.text


def test_the_outcomes_route_is_for_those_who_may_export_the_log(scenario):
    from fastapi.testclient import TestClient

    from steward.web import create_app

    env, _ = scenario
    with TestClient(create_app(env.reg)) as client:
        def get(who, **params):
            return client.get("/api/deployments/credit-humans/outcomes", params=params or None,
                              headers={"X-API-Key": env.keys[who]})

        rows = get("operator").json()
        assert len(rows) == 400 and {"final_decision", "model_decision", "protected", "appeals"} <= set(rows[0])
        assert rows == env.reg.decision_outcomes("credit-humans")
        assert len(get("validator", limit=10).json()) == 10
        assert get("operator", since="2099-01-01").json() == []
        assert get("viewer").status_code == 403 and get("app").status_code == 403
        assert client.get("/api/deployments/credit-nowhere/outcomes",
                          headers={"X-API-Key": env.keys["operator"]}).status_code == 404


def _synthetic(sex, model, review=None, appeals=(), **over):
    reviewed = review is not None
    final = review if reviewed else model
    return {"protected": {"sex": sex} if sex is not None else {}, "model_decision": model, "reviewed": reviewed,
            "review_decision": review, "final_decision": final, "settled_by": "review" if reviewed else "model",
            "appeals": [{"status": s} for s in appeals], "favourable": 1, **over}


def test_rates_from_rows_alone_edge_cases():
    rows = ([_synthetic("Male", 0, 0) for _ in range(100)] + [_synthetic("Female", 0, 1) for _ in range(30)]
            + [_synthetic("Female", 0, 0) for _ in range(70)] + [_synthetic(None, 1) for _ in range(5)]
            + [_synthetic("Female", 1, appeal_of="p1"), _synthetic("Male", 0, settled_by="pending_review")])
    result = audit_decisions(rows, protected={"sex": "Male"}, intersections=False)
    female = _row(result, "adverse_overturned", "Female")
    assert (female["events"], female["trials"], female["ratio"]) == (30, 100, math.inf)  # the reference: 0 of 100
    [finding] = [f for f in result.findings if f.metric == "adverse_overturned_rate_ratio" and f.group == "Female"]
    assert finding.status == "fail" and finding.value is None and finding.p_value < 1e-6
    assert result.counts["logged"] == 206 and result.counts["pending"] == 1  # the re-scoring is left out
    assert any("re-scorings" in n for n in result.notes) and any("(not recorded)" in n for n in result.notes)
    assert "(not recorded)" in set(result.rates["reviewed"]["group"])
    json.dumps(result.to_dict(), allow_nan=False)  # infinity and NaN become null
    with pytest.raises(StewardError, match="nothing to audit"):
        audit_decisions([_synthetic("Male", 0, appeal_of="p1")], protected=["sex"])
    with pytest.raises(StewardError, match="still with a reviewer"):
        audit_decisions([_synthetic("Male", 0, settled_by="pending_review")], protected=["sex"])
