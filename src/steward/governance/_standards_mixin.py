"""The registry's standards console: every model and team against the standards, practice adoption
from evidence, and the weekly digest (what changed since a week before)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from steward.errors import StewardError
from steward.governance._adoption import adoption, practices_of
from steward.governance._policy_diff import policy_diff
from steward.governance._standards import (
    RULES, SEVERITY_ORDER, active_deployments, judge_model, worst_status,
)
from steward.governance._standards_data import Org, load_org

__all__ = ["StandardsMixin", "SCHEMA", "TREND_STEP_DAYS"]

SCHEMA = "steward.standards/1"
TREND_STEP_DAYS = 30


# The years `at` may name: the trend and the digest look back from it (at most TREND_MAX points 30 days apart,
# or DAYS_MAX days), which must stay within the dates a datetime can hold.
AT_YEARS = (1900, 9999)
TREND_MAX = 60
DAYS_MAX = 366


def _at(at: datetime | str | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)  # to the microsecond: a record made this second counts
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            raise StewardError(f"at: {at!r} is not a date or ISO datetime (e.g. 2026-12-01 or "
                               f"2026-12-01T09:00:00+00:00)") from None
    if not isinstance(at, datetime):
        raise StewardError(f"at must be a date or ISO datetime, got {type(at).__name__}")
    given = at.isoformat()
    try:
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
    except OverflowError:
        at = None
    if at is None or not AT_YEARS[0] <= at.year <= AT_YEARS[1]:
        raise StewardError(f"at: {given!r} is out of range: give a date in the years {AT_YEARS[0]} to {AT_YEARS[1]} "
                           f"(the report looks back from it), e.g. 2026-12-01")
    return at


def _whole(name: str, value: object, most: int) -> int:
    """``value`` if it is a whole number from 1 to ``most``, else a :class:`StewardError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise StewardError(f"{name}: {value!r} is not a whole number from 1 to {most}; give e.g. {name}=7")
    return value


class StandardsMixin:
    def _standards_org(self) -> tuple[Org, Any]:
        cache: dict[tuple[str, str], list[str]] = {}

        def diff(sha: str, tier: str) -> list[str]:
            if (sha, tier) not in cache:
                try:
                    with self.tx() as s:
                        old = self._stored_policy(s, sha)
                    cache[(sha, tier)] = policy_diff(old, self.policy, tier)
                except StewardError as exc:
                    cache[(sha, tier)] = [f"the earlier policy cannot be read: {exc}"]
            return cache[(sha, tier)]

        with self.tx() as s:
            return load_org(s), diff

    def standards(self, *, at: datetime | str | None = None, team: str | None = None,
                  trend_points: int = 6) -> dict[str, Any]:
        """Every model (of ``team``) against every rule at ``at`` (default now), the shortfalls sorted by
        severity and age, per-team tables, practice adoption and its trend (one point every 30 days)."""
        at = _at(at)
        _whole("trend_points", trend_points, TREND_MAX)
        if team is not None:
            self.team(team)  # an unknown team is a NotFoundError naming the teams, not an empty report
        org, diff = self._standards_org()
        return _report(org, self.policy, at, team, diff, trend_points)

    def model_standards(self, name: str, *, at: datetime | str | None = None) -> dict[str, Any]:
        """One model's row of the report at ``at`` (its rules with their evidence, and its practices), with the
        time and policy it was judged under: what a model's page shows, without judging every other model."""
        at = _at(at)
        self.model(name)  # an unknown model is a NotFoundError naming how to list them
        org, diff = self._standards_org()
        m = next(x for x in org.models if x.name == name)
        return dict(_model_row(org, m, self.policy, at, diff), at=at.isoformat(),
                    policy={"name": self.policy.name, "version": self.policy.version, "sha256": self.policy.sha256})

    def standards_digest(self, *, at: datetime | str | None = None, team: str | None = None,
                         days: int = 7) -> dict[str, Any]:
        """The report at ``at`` with what changed since ``days`` before: shortfalls new and gone."""
        at = _at(at)
        _whole("days", days, DAYS_MAX)
        if team is not None:
            self.team(team)
        org, diff = self._standards_org()
        now_ = _report(org, self.policy, at, team, diff, 1)
        before = _report(org, self.policy, at - timedelta(days=days), team, diff, 1)
        key = lambda x: (x["model"], x["rule"])  # noqa: E731
        old = {key(x): x for x in before["shortfalls"]}
        new = {key(x): x for x in now_["shortfalls"]}
        changes = {"since": before["at"], "new_shortfalls": [new[k] for k in new if k not in old],
                   "resolved": [old[k] for k in old if k not in new],
                   "adoption": [{"practice": a["practice"], "title": a["title"], "rate": a["rate"], "before": b["rate"]}
                                for a, b in zip(now_["adoption"]["practices"], before["adoption"]["practices"])
                                if a["rate"] != b["rate"]]}
        return dict(now_, kind="digest", changes=changes)


def _tier_of(m, at: datetime) -> str | None:
    risks = [r for r in m.risks if r.created_at <= at]
    return risks[-1].tier if risks else None


def _model_row(org: Org, m, policy, at: datetime, diff) -> dict[str, Any]:
    """One model against every rule at ``at``, with its practices: a row of the report."""
    rules = judge_model(org, m, policy, at, diff)
    return {"model": m.name, "team": m.team, "owner": m.owner, "tier": _tier_of(m, at),
            "status": worst_status([r["status"] for r in rules]),
            "deployed": [d.name for d in active_deployments(m, at)], "rules": rules,
            "practices": practices_of(org, m, at)}


def _report(org: Org, policy, at: datetime, team: str | None, diff, trend_points: int) -> dict[str, Any]:
    models = [m for m in org.models if (team is None or m.team == team) and m.created_at <= at]
    rows = [_model_row(org, m, policy, at, diff) for m in models]
    tier_order = list(policy.tiers)
    ranked = []
    for row in rows:
        for r in row["rules"]:
            if r["status"] == "falls_short":
                since = datetime.fromisoformat(r["since"]) if r["since"] else None
                x = {"model": row["model"], "team": row["team"], "tier": row["tier"], "rule": r["rule"],
                     "title": r["title"], "severity": r["severity"], "since": r["since"],
                     "age_days": round((at - since).total_seconds() / 86400, 1) if since else None, "why": r["why"]}
                # by severity, tier, then age: the oldest first (by the time itself; age_days is rounded)
                ranked.append(((SEVERITY_ORDER.index(x["severity"] or "medium"),
                                tier_order.index(x["tier"]) if x["tier"] in tier_order else len(tier_order),
                                since or at, x["model"], x["rule"]), x))
    shortfalls = [x for _, x in sorted(ranked, key=lambda kx: kx[0])]
    team_names = [t for t in org.teams if team is None or t == team]
    if team is None and any(row["team"] is None for row in rows):
        team_names.append(None)
    teams = []
    for t in team_names:
        mine = [row for row in rows if row["team"] == t]
        applied = [p for row in mine for p in row["practices"] if p["applies"]]
        info = org.teams.get(t, {}) if t is not None else {}
        teams.append({"team": t, "contact": info.get("contact"), "members": info.get("members", []),
                      "models": len(mine), "falls_short": sum(row["status"] == "falls_short" for row in mine),
                      "due_soon": sum(row["status"] == "due_soon" for row in mine),
                      "shortfalls": sum(1 for x in shortfalls if x["team"] == t),
                      "practices_adopted": sum(p["adopted"] for p in applied), "practices_applicable": len(applied),
                      "adoption": (sum(p["adopted"] for p in applied) / len(applied)) if applied else None})
    trend = []
    for k in reversed(range(trend_points)):
        point = at - timedelta(days=TREND_STEP_DAYS * k)
        alive = [m for m in models if m.created_at <= point]
        rates = adoption([practices_of(org, m, point) for m in alive])
        trend.append({"at": point.isoformat(), "models": len(alive), "rates": {a["practice"]: a["rate"] for a in rates}})
    counts = {s: sum(row["status"] == s for row in rows) for s in ("falls_short", "due_soon", "met", "not_applicable")}
    return {
        "schema": SCHEMA, "kind": "report", "at": at.isoformat(), "team": team,
        "policy": {"name": policy.name, "version": policy.version, "sha256": policy.sha256},
        "rules": [{"rule": r, "title": t} for r, t in RULES],
        "summary": {"models": len(rows), **counts, "shortfalls": len(shortfalls),
                    "by_severity": {s: sum(x["severity"] == s for x in shortfalls) for s in SEVERITY_ORDER}},
        "shortfalls": shortfalls, "teams": teams, "models": rows,
        "adoption": {"practices": adoption([row["practices"] for row in rows]), "trend": trend},
    }
