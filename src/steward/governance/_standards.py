"""The standards every model is held to, judged from the registry's records at a given time.

Each rule reads only what the registry recorded (no client's claim about itself) and says one of
``met``, ``due_soon`` (met, but it lapses within the warning period), ``falls_short`` or
``not_applicable``, with the evidence behind it, since when it falls short and when it lapses. Missing
evidence is a shortfall, not a pass: a model with no risk assessment, a version with no audit, a
deployment with no monitor falls short.

The rules are pure functions of a snapshot (:mod:`._standards_data`) and a clock, so tests fix the
clock and the console compares this week with last week by running them twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from steward.audit.policy import Policy, Tier
from steward.audit.policy._policy import TIER_DEFAULTS
from steward.errors import StewardError
from steward.governance._standards_data import ModelRecords, Org, utc

__all__ = ["RULES", "judge_model", "STATUS_ORDER", "SEVERITY_ORDER", "WARN_DAYS", "worst_status",
           "active_deployments", "scope_versions"]

STATUS_ORDER = ("falls_short", "due_soon", "met", "not_applicable")
SEVERITY_ORDER = ("critical", "high", "medium", "low")
WARN_DAYS = 30  # an acceptance or a re-audit due within this many days is "due soon"
APPEAL_WARN = timedelta(days=7)
REVIEW_WARN = timedelta(days=1)
BLOCKING = ("fail", "not_evidenced")
_PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31)}

# (id, what the rule asks) in the order the console shows them
RULES: tuple[tuple[str, str], ...] = (
    ("risk_assessed", "Risk assessed under the current policy"),
    ("audited_current_policy", "Audited under the current policy"),
    ("audit_passes", "Latest audit passes (or its failures are accepted)"),
    ("reaudit_cadence", "Re-audited within the tier's cadence"),
    ("sign_offs", "Sign-offs complete"),
    ("acceptances", "Accepted risks in force, none expiring unnoticed"),
    ("deployed_approved", "Deployed versions approved"),
    ("monitoring", "Monitored, with no unacknowledged alert"),
    ("incidents", "Incidents contained within the tier's response times"),
    ("review_deadlines", "Review queue and appeals within their deadlines"),
)


def worst_status(statuses: list[str]) -> str:
    return min(statuses, key=STATUS_ORDER.index) if statuses else "not_applicable"


def _day(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d") if t is not None else "?"


def _age(at: datetime, since: datetime) -> str:
    hours = (at - since).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


@dataclass
class _Part:
    status: str
    line: str
    severity: str | None = None
    since: datetime | None = None
    lapses_at: datetime | None = None


@dataclass
class _Verdict:
    rule: str
    parts: list[_Part] = field(default_factory=list)

    def add(self, status: str, line: str, severity: str | None = None, since: datetime | None = None,
            lapses_at: datetime | None = None) -> None:
        self.parts.append(_Part(status, line, severity, since, lapses_at))

    def to_dict(self, model: str) -> dict[str, Any]:
        title = dict(RULES)[self.rule]
        if not self.parts:
            return {"rule": self.rule, "title": title, "status": "not_applicable", "severity": None, "since": None,
                    "lapses_at": None, "why": "does not apply", "evidence": []}
        status = worst_status([p.status for p in self.parts])
        short = [p for p in self.parts if p.status == "falls_short"]
        severity = min((p.severity or "medium" for p in short), key=SEVERITY_ORDER.index) if short else None
        since = min((p.since for p in short if p.since), default=None)
        lapses = min((p.lapses_at for p in self.parts if p.lapses_at and p.status in ("met", "due_soon")), default=None)
        lead = next(p for p in self.parts if p.status == status)
        return {"rule": self.rule, "title": title, "status": status, "severity": severity,
                "since": since.isoformat() if since else None, "lapses_at": lapses.isoformat() if lapses else None,
                "why": lead.line, "evidence": [p.line for p in self.parts]}


def _upto(rows: list, at: datetime, attr: str = "created_at") -> list:
    return [r for r in rows if utc(getattr(r, attr)) <= at]


def active_deployments(m: ModelRecords, at: datetime) -> list:
    return [d for d in _upto(m.deployments, at) if d.replaced_at is None or utc(d.replaced_at) > at]


def scope_versions(m: ModelRecords, at: datetime) -> list[tuple[Any, bool]]:
    """The versions the standards apply to, with whether each is deployed: every deployed version, and the
    newest (the one being readied)."""
    versions = _upto(m.versions, at)
    deployed = {d.version_id for d in active_deployments(m, at)}
    out = [(v, True) for v in versions if v.id in deployed]
    if versions and versions[-1].id not in deployed:
        out.append((versions[-1], False))
    return out


def _label(ver, deployed: bool) -> str:
    return f"{ver.version}{' (deployed)' if deployed else ''}"


@dataclass
class _Context:
    org: Org
    m: ModelRecords
    policy: Policy
    at: datetime
    diff: Callable[[str, str], list[str]]  # (old policy sha256, tier) -> the lines that changed
    tier: Tier | None = None
    risk: Any = None

    def tier_for(self, run) -> Tier | None:
        """The tier the run is judged by: the model's, or (without one in the current policy) the audit's."""
        return self.tier or self.policy.tiers.get(run.tier or "")

    def latest_audit(self, v) -> Any:
        runs = _upto(self.m.audits.get(v.id, []), self.at)
        return runs[-1] if runs else None

    def audited(self):
        """(version, deployed, its latest audit, its label) for each version in scope that has an audit."""
        for ver, deployed in scope_versions(self.m, self.at):
            run = self.latest_audit(ver)
            if run is not None:
                yield ver, deployed, run, _label(ver, deployed)

    def accepted(self, run) -> dict[str, Any]:
        """The acceptances in force at ``at`` for the run, by check."""
        out = {}
        for a in _upto(self.m.acceptances.get(run.version_id, []), self.at):
            if a.audit_run_id == run.id and utc(a.until) > self.at:
                out.setdefault(a.check_name, a)
        return out


def _risk(c: _Context) -> _Verdict:
    v = _Verdict("risk_assessed")
    if c.risk is None:
        v.add("falls_short", "no risk assessment is recorded; the owner answers the policy's risk questions "
                             "(the risk form on the model page, or `steward models assess`)", "high", c.m.created_at)
        return v
    r = c.risk
    where = f"tier {r.tier}, assessed by {r.assessed_by} on {_day(utc(r.created_at))} under policy version {r.policy_version}"
    if r.tier not in c.policy.tiers:
        v.add("falls_short", f"recorded tier {r.tier!r} is not a tier of the current policy; assess again", "high",
              utc(r.created_at))
        return v
    if r.policy_sha256 != c.policy.sha256:
        try:
            tier, _ = c.policy.assign_tier(r.answers)
        except StewardError as exc:
            v.add("falls_short", f"the recorded answers do not fit the current policy ({exc}); assess again", "high",
                  c.org.policy_stored_at.get(c.policy.sha256))
            return v
        if tier.name != r.tier:
            v.add("falls_short", f"under the current policy (version {c.policy.version}) its recorded answers give tier "
                                 f"{tier.name}, not {r.tier}; assess again", "high",
                  max(utc(r.created_at), c.org.policy_stored_at.get(c.policy.sha256, utc(r.created_at))))
            return v
    v.add("met", where)
    return v


def _audited(c: _Context) -> _Verdict:
    v = _Verdict("audited_current_policy")
    for ver, deployed in scope_versions(c.m, c.at):
        name = _label(ver, deployed)
        run = c.latest_audit(ver)
        if run is None:
            v.add("falls_short", f"version {name} has no audit", "high" if deployed else "medium", utc(ver.created_at))
        elif run.policy_sha256 is None:
            v.add("falls_short", f"version {name}: audit #{run.id} was held to no policy", "high", utc(run.created_at))
        elif run.policy_sha256 != c.policy.sha256:
            since = max(utc(run.created_at), c.org.policy_stored_at.get(c.policy.sha256, utc(run.created_at)))
            v.add("falls_short", f"version {name}: audit #{run.id} was held to policy version {run.policy_version}; the "
                                 f"current one is {c.policy.version}", "high" if deployed else "medium", since)
            for line in c.diff(run.policy_sha256, run.tier or (c.risk.tier if c.risk else "")):
                v.add("falls_short", f"  changed: {line}", "high" if deployed else "medium", since)
        elif c.risk is not None and run.tier != c.risk.tier:
            v.add("falls_short", f"version {name}: audit #{run.id} was held to tier {run.tier} but the model is now "
                                 f"tier {c.risk.tier}", "high", utc(c.risk.created_at))
        else:
            v.add("met", f"version {name}: audit #{run.id} of {_day(utc(run.created_at))} was held to the current policy "
                         f"(version {c.policy.version}, tier {run.tier})")
    return v


def _failing(checks: list[str], unrun: set[str]) -> str:
    """``fails a, b; not evidenced: c`` (a check that did not run is not said to fail)."""
    failed = [x for x in checks if x not in unrun]
    lacking = [x for x in checks if x in unrun]
    return "; ".join(([f"fails {', '.join(failed)}"] if failed else []) +
                     ([f"not evidenced: {', '.join(lacking)}"] if lacking else []))


def _passes(c: _Context) -> _Verdict:
    v = _Verdict("audit_passes")
    for ver, deployed, run, name in c.audited():
        blocking = sorted({f["check"] for f in run.findings or [] if f.get("status") in BLOCKING})
        unrun = {f["check"] for f in run.findings or [] if f.get("status") == "not_evidenced"}
        if not blocking and run.passed is not None:
            v.add("met", f"version {name}: audit #{run.id} passed")
            continue
        if run.passed is None:
            v.add("falls_short", f"version {name}: audit #{run.id} gave no verdict (no policy)", "high", utc(run.created_at))
            continue
        accepted = c.accepted(run)
        open_ = [x for x in blocking if x not in accepted]
        if open_:
            # a check accepted until some day falls short from that day, not from the audit
            lapsed: dict[str, datetime] = {}
            for a in _upto(c.m.acceptances.get(ver.id, []), c.at):
                if a.audit_run_id == run.id and a.check_name in open_:
                    lapsed[a.check_name] = max(utc(a.until), lapsed.get(a.check_name, utc(a.until)))
            since = min(lapsed.get(x, utc(run.created_at)) for x in open_)
            v.add("falls_short", f"version {name}: audit #{run.id} {_failing(open_, unrun)}"
                                 f"{' (not accepted)' if accepted else ''}", "high" if deployed else "medium", since)
        else:
            until = min(utc(accepted[x].until) for x in blocking)
            v.add("met", f"version {name}: audit #{run.id} {_failing(blocking, unrun)}, each accepted by an executive "
                         f"(the first acceptance ends {_day(until)})", lapses_at=until)
    return v


def _cadence(c: _Context) -> _Verdict:
    v = _Verdict("reaudit_cadence")
    for ver, deployed, run, name in c.audited():
        tier = c.tier_for(run)
        days = tier.reaudit_days if tier else TIER_DEFAULTS["reaudit_days"]
        due = utc(run.created_at) + timedelta(days=days)
        if c.at >= due:
            v.add("falls_short", f"version {name}: last audited {_day(utc(run.created_at))}; the tier asks for an audit "
                                 f"every {days} days, due {_day(due)}", "high" if deployed else "medium", due)
        elif due - c.at <= timedelta(days=WARN_DAYS):
            v.add("due_soon", f"version {name}: re-audit due {_day(due)} (every {days} days)", lapses_at=due)
        else:
            v.add("met", f"version {name}: audited {_day(utc(run.created_at))}, next due {_day(due)}", lapses_at=due)
    return v


def _sign_offs(c: _Context) -> _Verdict:
    v = _Verdict("sign_offs")
    for ver, deployed, run, name in c.audited():
        tier = c.tier_for(run)
        if tier is None:  # no tier says which sign-offs it needs: not evidenced, so not met
            v.add("falls_short", f"version {name}: which sign-offs it needs is not known (neither the model's risk "
                                 f"tier nor audit #{run.id}'s tier {run.tier!r} is a tier of the current policy); "
                                 f"assess its risk", "high" if deployed else "medium", utc(run.created_at))
            continue
        required = list(tier.sign_off)
        if not required:
            v.add("met", f"version {name}: tier {tier.name} requires no sign-off")
            continue
        # as in the registry, each role's latest sign-off decides (a later approval supersedes a rejection)
        latest: dict[str, Any] = {}
        for x in _upto(c.m.sign_offs.get(ver.id, []), c.at):
            if x.audit_run_id == run.id:
                latest[x.role] = x
        rejected = [latest[r] for r in required if r in latest and latest[r].decision == "reject"]
        if rejected:
            x = rejected[0]
            v.add("falls_short", f"version {name}: the {x.role} {x.person} rejected it: {x.comment}", "high",
                  utc(x.created_at))
            continue
        distinct = bool(tier.distinct_signers)
        excluded = {ver.registered_by, run.created_by} if distinct else set()
        used: set[str] = set()
        missing = []
        signed = []
        for role in required:
            x = latest.get(role)
            if (x is not None and x.decision == "approve" and x.person not in excluded
                    and not (distinct and x.person in used)):
                used.add(x.person)
                signed.append(f"{role} {x.person}")
            else:
                missing.append(role)
        if missing:
            v.add("falls_short", f"version {name}: audit #{run.id} lacks the sign-off of: {', '.join(missing)}"
                                 f"{' (signed: ' + ', '.join(signed) + ')' if signed else ''}",
                  "high" if deployed else "low", utc(run.created_at))
        else:
            v.add("met", f"version {name}: signed off by {', '.join(signed)}")
    return v


def _acceptances(c: _Context) -> _Verdict:
    v = _Verdict("acceptances")
    for ver, deployed in scope_versions(c.m, c.at):
        run = c.latest_audit(ver)
        name = _label(ver, deployed)
        in_force = c.accepted(run) if run is not None else {}
        for a in _upto(c.m.acceptances.get(ver.id, []), c.at):
            if run is None or a.audit_run_id != run.id:
                continue  # an acceptance of an earlier audit covers nothing now (a new audit needs its own)
            until = utc(a.until)
            what = f"version {name}: {a.check_name} accepted by {a.accepted_by} until {_day(until)}"
            if until > c.at:
                if until - c.at <= timedelta(days=WARN_DAYS):
                    v.add("due_soon", f"{what} (lapses in {_age(until, c.at)})", lapses_at=until)
                else:
                    v.add("met", what, lapses_at=until)
            elif deployed and a.check_name not in in_force:
                v.add("falls_short", f"{what}: lapsed, and the deployed version still fails it", "high", until)
    return v


def _killed(d, at: datetime) -> bool:
    """Whether the deployment's kill switch was pulled at ``at`` (it is now, and was since before ``at``)."""
    return bool(d.killed) and (d.killed_at is None or utc(d.killed_at) <= at)


def _revoked_at(m: ModelRecords, ver, d) -> datetime:
    """When the approval of ``ver`` (deployed by ``d``, so approved then) was revoked: the first rejection, new
    audit or lapsed acceptance of the version after the deployment (the deployment's time if none is found;
    records are stamped to the second, so one in the deployment's second is taken as made before it)."""
    start = utc(d.created_at)
    times = [utc(x.created_at) for x in m.sign_offs.get(ver.id, []) if x.decision == "reject"]
    times += [utc(r.created_at) for r in m.audits.get(ver.id, [])]
    times += [utc(a.lapsed_at) for a in m.acceptances.get(ver.id, []) if a.lapsed_at is not None]
    return min((t for t in times if t > start), default=start)


def _deployed(c: _Context) -> _Verdict:
    v = _Verdict("deployed_approved")
    versions = {x.id: x for x in c.m.versions}
    for d in active_deployments(c.m, c.at):
        ver = versions[d.version_id]
        if ver.approved_at is not None and ver.status in ("approved", "superseded"):
            v.add("met", f"deployment {d.name} serves {ver.version}, approved by {ver.approved_by} on "
                         f"{_day(utc(ver.approved_at))}")
            continue
        revoked = _revoked_at(c.m, ver, d)
        if revoked > c.at:  # deployed approved; the approval was revoked after `at`
            v.add("met", f"deployment {d.name} serves {ver.version}, approved then (the approval was revoked on "
                         f"{_day(revoked)})")
        elif _killed(d, c.at):
            v.add("falls_short", f"deployment {d.name} serves {ver.version}, which is not approved ({ver.status}); its "
                                 f"kill switch is pulled", "medium", revoked)
        else:
            v.add("falls_short", f"deployment {d.name} serves {ver.version}, which is not approved ({ver.status}), and "
                                 f"decides about people", "critical", revoked)
    return v


def _period(c: _Context, row) -> timedelta:
    by = ((row.settings or {}).get("window") or {}).get("by") or ((c.tier.monitor if c.tier else {}).get("window") or {}).get("by")
    return _PERIODS.get(by or "day", timedelta(days=1))


def _monitoring(c: _Context) -> _Verdict:
    v = _Verdict("monitoring")
    monitors = _upto(c.m.monitors, c.at)
    for d in active_deployments(c.m, c.at):
        if _killed(d, c.at):
            v.add("met", f"deployment {d.name}: its kill switch is pulled; no decisions to watch")
            continue
        mine = [row for row in monitors if row.deployment == d.name]
        if not mine:
            v.add("falls_short", f"deployment {d.name}: no monitor watches it", "high", utc(d.created_at))
            continue
        for row in mine:
            grace = 2 * _period(c, row)
            last = utc(row.last_run_at)
            if last is None or last > c.at:
                # the monitor's last run before ``at``: the latest window a run stored by then (a run that found
                # nothing new touches no window, so this errs towards calling the monitor stale)
                last = max((utc(w.updated_at) for w in c.m.windows.get(row.id, []) if utc(w.updated_at) <= c.at),
                           default=None)
            stale_since = (last or utc(row.created_at)) + grace
            if c.at > stale_since:
                v.add("falls_short", f"monitor {row.name}: last ran {_day(last) if last else 'never'}; it should run at "
                                     f"least every {_age(stale_since, stale_since - grace)}", "medium", stale_since)
            else:
                v.add("met", f"monitor {row.name} watches {d.name}; last ran {_day(last)}")
    for a in _upto(c.m.alerts, c.at):
        if a.acknowledged_at is None or utc(a.acknowledged_at) > c.at:
            v.add("falls_short", f"alert #{a.id} ({a.signal}, {a.subject}, window {a.window}) is not acknowledged",
                  a.severity if a.severity in SEVERITY_ORDER else "high", utc(a.created_at))
        else:  # the console shows who said what is being done, so an empty gesture is seen for what it is
            v.add("met", f"acknowledged: alert #{a.id} ({a.signal}, {a.subject}) by {a.acknowledged_by} on "
                         f"{_day(utc(a.acknowledged_at))}: {a.acknowledged_note}")
    return v


def _incident_status(c: _Context, inc) -> str:
    status = "open"
    for s, t in c.org.incident_history.get(inc.id, []):
        if t <= c.at:
            status = s
    return status


def _incidents(c: _Context) -> _Verdict:
    v = _Verdict("incidents")
    hours = c.tier.incident_response_hours if c.tier else TIER_DEFAULTS["incident_response_hours"]
    seen = False
    for inc in _upto(c.m.incidents, c.at):
        status = _incident_status(c, inc)
        if status == "resolved":
            continue
        seen = True
        opened = utc(inc.created_at)
        limit = hours.get(inc.severity, TIER_DEFAULTS["incident_response_hours"].get(inc.severity, 72))
        deadline = opened + timedelta(hours=limit)
        what = f"incident #{inc.id} ({inc.severity}) {inc.title!r}, opened {_day(opened)}"
        if status == "contained":
            v.add("met", f"{what}: contained, not yet resolved ({_age(c.at, opened)} old)")
        elif c.at > deadline:
            v.add("falls_short", f"{what}: still open after {_age(c.at, opened)}; the tier's response time for "
                                 f"{inc.severity} is {limit:g} h", inc.severity, deadline)
        else:
            v.add("due_soon", f"{what}: open, to be contained by {deadline:%Y-%m-%d %H:%M} UTC", lapses_at=deadline)
    if not seen:
        v.add("met", "no open incidents")
    return v


def _reviews(c: _Context) -> _Verdict:
    v = _Verdict("review_deadlines")
    if not active_deployments(c.m, c.at) and not c.m.review_items and not c.m.appeals:
        return v
    overdue = due = waiting = 0
    first_overdue = next_due = None
    guards = {d.id: d.guard or {} for d in c.m.deployments}
    for item in _upto(c.m.review_items, c.at):
        if item.kind == "appeal":  # an appeal's item: judged below, by the appeal's deadline
            continue
        settled = c.org.review_settled.get(item.id)
        if item.status == "decided" and (settled is None or settled <= c.at):
            continue
        if settled is not None and settled <= c.at:
            continue
        waiting += 1
        # a routed decision's deadline is its deployment's decide_within_hours (as the registry escalates it)
        hours = float((guards.get(item.deployment_id, {}).get("review") or {}).get("decide_within_hours", 72))
        due_at = utc(item.due_at) or utc(item.created_at) + timedelta(hours=hours)
        if due_at < c.at:
            overdue += 1
            first_overdue = min(first_overdue or due_at, due_at)
        else:
            next_due = min(next_due or due_at, due_at)
            if due_at - c.at <= REVIEW_WARN:
                due += 1
    if overdue:
        v.add("falls_short", f"{overdue} of {waiting} review items waiting are past their deadline (the oldest since "
                             f"{_day(first_overdue)})", "high", first_overdue)
    elif due:
        v.add("due_soon", f"{due} of {waiting} review items waiting are due within a day", lapses_at=next_due)
    else:
        v.add("met", f"{waiting} review items waiting, none overdue", lapses_at=next_due)
    for ap in _upto(c.m.appeals, c.at):
        if ap.decided_at is not None and utc(ap.decided_at) <= c.at:
            continue
        due_at = utc(ap.due_at)
        if due_at < c.at:
            v.add("falls_short", f"appeal #{ap.id} was due {_day(due_at)} and is not decided", "high", due_at)
        elif due_at - c.at <= APPEAL_WARN:
            v.add("due_soon", f"appeal #{ap.id} is due {_day(due_at)}", lapses_at=due_at)
        else:
            v.add("met", f"appeal #{ap.id} is due {_day(due_at)}", lapses_at=due_at)
    return v


_JUDGES = {"risk_assessed": _risk, "audited_current_policy": _audited, "audit_passes": _passes,
           "reaudit_cadence": _cadence, "sign_offs": _sign_offs, "acceptances": _acceptances,
           "deployed_approved": _deployed, "monitoring": _monitoring, "incidents": _incidents,
           "review_deadlines": _reviews}


def judge_model(org: Org, m: ModelRecords, policy: Policy, at: datetime,
                diff: Callable[[str, str], list[str]]) -> list[dict[str, Any]]:
    """Every rule's verdict on one model at ``at``, in the order of :data:`RULES`."""
    risks = _upto(m.risks, at)
    risk = risks[-1] if risks else None
    c = _Context(org, m, policy, at, diff, tier=policy.tiers.get(risk.tier) if risk else None, risk=risk)
    return [_JUDGES[rule](c).to_dict(m.name) for rule, _ in RULES]
