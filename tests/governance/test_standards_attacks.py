"""The standards console against a team that would look compliant without doing the work, and against input
that once crashed it, on SQLite and PostgreSQL: independence is not made by registering a model into another
team; a model without a tier in the current policy does not meet "sign-offs complete" by default; an
acknowledgement says who said what; user text cannot break or inject into the Markdown digest; a date or
span out of range is one clear error, not an OverflowError."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from steward.errors import PermissionDenied

import steward
from steward.errors import StewardError
from steward.governance import Registry
from steward.governance._standards_report import post_digest, to_markdown
from tests.governance._standards_setup import (
    POLICY_V1, approve, audit, build_kit, file_monitor, iso, model, open_registry, rule, when,
)

pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return build_kit(tmp_path_factory.mktemp("attacks"))


@pytest.fixture
def reg(db_url, kit):
    r = open_registry(db_url, kit.v1)
    yield r
    r.close()


def practice(report: dict, model_name: str, pid: str) -> dict:
    row = next(m for m in report["models"] if m["model"] == model_name)
    return next(p for p in row["practices"] if p["practice"] == pid)


# --- looking compliant without the work -------------------------------------------------------------------


def test_registering_a_model_into_another_team_does_not_make_a_teammate_independent(reg, kit):
    reg.create_team("Lending", contact="lending@example.org", actor="admin")
    reg.create_team("Elsewhere", contact="#elsewhere", actor="admin")
    reg.add_team_member("Lending", "dev", actor="admin")
    reg.add_team_member("Lending", "Val", actor="admin")
    # dev (in Lending with Val) may not register a model into a team dev is not in ...
    with pytest.raises(PermissionDenied, match="dev is not a member of team 'Elsewhere'"):
        reg.register_model("laundered", actor="dev", domain="credit", team="Elsewhere")
    # ... and when an admin puts dev's model in a team neither is in, Val's approval is still not independent
    model(reg, kit, "laundered")
    reg.set_model_team("laundered", "Elsewhere", actor="admin")
    audit(reg, kit, "laundered")
    approve(reg, "laundered", validator="Val")
    p = practice(reg.standards(trend_points=1), "laundered", "independent_validation")
    assert p["applies"] and not p["adopted"], p
    # a validator who shares no team with the builder is independent
    model(reg, kit, "checked")
    reg.set_model_team("checked", "Elsewhere", actor="admin")
    audit(reg, kit, "checked")
    approve(reg, "checked", validator="Vic")
    p = practice(reg.standards(trend_points=1), "checked", "independent_validation")
    assert p["adopted"] and p["evidence"].startswith("validator Vic (not in Elsewhere) approved checked:1 on "), p
    # a principal in two teams: the validator joins the builder's second team, and is no longer independent
    reg.create_team("Platform", contact="#platform", actor="admin")
    reg.add_team_member("Platform", "dev", actor="admin")
    reg.add_team_member("Platform", "Vic", actor="admin")
    assert not practice(reg.standards(trend_points=1), "checked", "independent_validation")["adopted"]


def test_an_audited_model_without_a_tier_does_not_meet_sign_offs_by_default(reg, kit):
    model(reg, kit, "untiered", risk=None)
    run = audit(reg, kit, "untiered")  # held to the high tier
    report = reg.standards(trend_points=1)
    assert rule(report, "untiered", "risk_assessed")["status"] == "falls_short"
    # judged by the audit's tier (high: validator and executive, every 90 days), not as "requires no sign-off"
    r = rule(report, "untiered", "sign_offs")
    assert r["status"] == "falls_short" and r["why"] == (
        f"version 1: audit #{run['id']} lacks the sign-off of: validator, executive"), r
    r = rule(report, "untiered", "reaudit_cadence")
    assert r["status"] == "met" and r["lapses_at"] == iso(when(run["created_at"]) + timedelta(days=90)), r


def test_a_tier_removed_from_the_policy_leaves_the_sign_offs_unknown(reg, kit, db_url):
    model(reg, kit, "orphan")
    run = audit(reg, kit, "orphan")
    approve(reg, "orphan")
    path = kit.folder / "no-high.yaml"
    path.write_text(POLICY_V1.replace('version: "1"', 'version: "3"').replace("  high:\n", "  top:\n"))
    later = Registry(db_url, policy=steward.load_policy(path))
    try:
        report = later.standards(trend_points=1)
    finally:
        later.close()
    assert rule(report, "orphan", "risk_assessed")["why"].startswith("recorded tier 'high' is not a tier of the")
    r = rule(report, "orphan", "sign_offs")
    assert r["status"] == "falls_short" and r["severity"] == "medium", r
    assert r["why"] == (f"version 1: which sign-offs it needs is not known (neither the model's risk tier nor audit "
                        f"#{run['id']}'s tier 'high' is a tier of the current policy); assess its risk")


def test_an_acknowledgement_needs_words_and_is_shown_with_who_gave_it(reg, kit):
    model(reg, kit, "watched")
    alerts = file_monitor(reg, kit, "watched-log", "watched")["alerts"]
    first = alerts[0]["id"]
    for note in ("", "   ", "\t\n", ".", "-- ...", "\u200b"):
        with pytest.raises(StewardError, match="say what is being done about the alert"):
            reg.acknowledge_alert(first, actor="Olga", note=note)
    with pytest.raises(StewardError, match="too long"):
        reg.acknowledge_alert(first, actor="Olga", note="x" * 2001)
    reg.acknowledge_alert(first, actor="Olga", note="retraining on the new month")
    r = rule(reg.standards(trend_points=1), "watched", "monitoring")
    shown = [line for line in r["evidence"] if line.startswith("acknowledged:")]
    assert len(shown) == 1 and re.fullmatch(
        rf"acknowledged: alert #{first} \(.+\) by Olga on \d{{4}}-\d\d-\d\d: retraining on the new month", shown[0])
    # the others still fall short
    assert r["status"] == "falls_short" and sum("is not acknowledged" in x for x in r["evidence"]) == len(alerts) - 1


# --- the Markdown digest ------------------------------------------------------------------------------------


def test_user_text_cannot_break_or_inject_into_the_markdown(reg, kit):
    reg.create_team("Lending", contact="ops|desk\n# Pwned <!channel> [click](http://evil.example)", actor="admin")
    reg.add_team_member("Lending", "dev", actor="admin")
    model(reg, kit, "rejected", team="Lending")
    audit(reg, kit, "rejected")
    comment = "no\n- resolved: rejected — Sign-offs complete\n![x](http://evil.example/t.png) <b>x</b> a|b"
    reg.sign_off("rejected", "1", role="validator", decision="reject", comment=comment, actor="Val")
    digest = reg.standards_digest(days=30)
    assert any(comment in x["why"] for x in digest["shortfalls"])  # the JSON keeps the text as it was
    md = to_markdown(digest)
    lines = md.splitlines()
    assert not any(line.startswith(("# Pwned", "- resolved:")) for line in lines), md
    assert "<!channel>" not in md and "<b>" not in md and "<" not in md
    assert not re.search(r"(?<!\\)[\[\]]", md), md  # no bracket that could open a link or an image
    assert "&lt;!channel>" in md and "\\[click\\]" in md and "!\\[x\\](http://evil.example/t.png)" in md
    # every table row keeps its columns: a pipe in a cell is escaped
    for heading in ("Falls short", "Teams"):
        block = md.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in block.splitlines() if line.startswith("|")]
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, (heading, rows)
    assert "| Lending | ops\\|desk # Pwned &lt;!channel> \\[click\\](http://evil.example) |" in md


def test_a_webhook_url_that_cannot_be_parsed_is_a_clear_error_without_its_path(reg):
    digest = reg.standards_digest()
    for url in ("http://127.0.0.1:99999/T0/secret", "http://[::1/secret", "https:///secret"):
        with pytest.raises(StewardError, match=r"^--webhook: the URL is not an http\(s\) URL") as caught:
            post_digest(url, digest, timeout=1)
        assert "secret" not in str(caught.value)
    with pytest.raises(StewardError, match=r"^--webhook: posting the digest to http://xn--/\.\.\. failed") as caught:
        post_digest("http://xn--/T0/secret", digest, timeout=1)
    assert "secret" not in str(caught.value)


# --- out of range --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["0001-01-01", "0001-01-05T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1899-12-31"])
def test_a_date_out_of_range_is_one_clear_error(reg, at):
    for call in (lambda: reg.standards(at=at), lambda: reg.standards_digest(at=at)):
        with pytest.raises(StewardError, match=rf"^at: '.+' is out of range: give a date in the years 1900 to 9999"):
            call()
    # the edges work, with the longest look back
    assert reg.standards(at="1900-01-01", trend_points=60)["summary"]["models"] == 0
    assert reg.standards_digest(at="9999-12-31T23:59:59", days=366)["changes"]["since"].startswith("9998-12-30")


@pytest.mark.parametrize("bad", [0, -5, 10**9, 367, True, "7", 7.0, None])
def test_days_out_of_range_is_one_clear_error(reg, bad):
    with pytest.raises(StewardError, match=r"^days: .* is not a whole number from 1 to 366"):
        reg.standards_digest(days=bad)


@pytest.mark.parametrize("bad", [0, -1, 61, 10**6, False, "6", None])
def test_trend_points_out_of_range_is_one_clear_error(reg, bad):
    with pytest.raises(StewardError, match=r"^trend_points: .* is not a whole number from 1 to 60"):
        reg.standards(trend_points=bad)
