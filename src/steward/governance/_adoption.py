"""Which trustworthy-ML practices each model's records show in use, and how widely the organisation has
adopted each one (the SE4ML study measured adoption by surveying engineers; the registry holds the
evidence itself).

A practice counts only when a record shows it: a model for which nothing shows a practice has not
adopted it. Practices that need a deployed model (human oversight, incident response) are counted
over the models deployed by then; the others over every model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from steward.audit._privacy import PRIVACY_CHECKS
from steward.governance._standards import _upto, active_deployments
from steward.governance._standards_data import ModelRecords, Org, utc

__all__ = ["PRACTICES", "practices_of", "adoption"]

# (id, title, what counts as evidence, applies to: "all" | "deployed" | "watched")
PRACTICES: tuple[tuple[str, str, str, str], ...] = (
    ("bias_tested_in_ci", "Bias tested in CI",
     "an audit recorded from a CI job by the gating command (steward audit --register)", "all"),
    ("independent_validation", "Independent validation",
     "a validator who is not in the model's team, and neither built the version nor uploaded its audit nor shares a "
     "team with who did, approved it", "all"),
    ("explanations", "Explanations for decisions",
     "an audit's reason-codes check passed, and every deployment gives reasons", "all"),
    ("privacy_probes", "Privacy and security probes run",
     "an audit ran a privacy or security probe (membership, attribute inference, extraction, PII, re-identification)",
     "all"),
    ("fairness_monitoring", "Monitoring with fairness signals",
     "a monitor of the model judged group fairness in at least one window", "watched"),
    ("human_oversight", "Human oversight",
     "a deployment routes decisions to a person (a review band, screening or disagreement sends them to review)",
     "deployed"),
    ("incident_response", "Incident response used",
     "an incident on the model was contained or resolved (someone responded)", "deployed"),
    ("model_card_complete", "Model card complete", "the latest audit's model-card check passed", "all"),
)


def _audits(m: ModelRecords, at: datetime) -> list:
    """Every audit of the model made by ``at``, oldest first."""
    runs = m.__dict__.get("_all_runs")
    if runs is None:
        runs = m.__dict__["_all_runs"] = sorted((a for rows in m.audits.values() for a in rows), key=lambda a: a.id)
    return [a for a in runs if a.created_at <= at]


def _check_status(run, check: str) -> list[str]:
    """The statuses of the run's findings of ``check`` (grouped once per run: the trend asks six times)."""
    by_check = run.__dict__.get("_by_check")
    if by_check is None:
        by_check = run.__dict__["_by_check"] = {}
        for f in run.findings or []:
            by_check.setdefault(f.get("check"), []).append(f.get("status"))
    return by_check.get(check, [])


def _ci(org: Org, m: ModelRecords, at: datetime) -> str | None:
    for run in reversed(_audits(m, at)):
        ctx = run.context or {}
        if ctx.get("ci") and ctx.get("gate"):
            ci = ctx["ci"]
            return (f"audit #{run.id} recorded by {run.created_by} from {ci.get('service')}"
                    f"{' run ' + ci['run'] if ci.get('run') else ''} with `{ctx.get('command')}` gating on it")
    return None


def _independent(org: Org, m: ModelRecords, at: datetime) -> str | None:
    """A validator outside the model's team who neither built the version nor uploaded the audit approved it.

    Who built the version and who uploaded the audit count as well as the model's team: a builder may register
    a model into another team (or belong to two), and a validator who shares any team with them is their
    colleague, not independent of them."""
    if m.team is None:
        return None
    team = set(org.teams.get(m.team, {}).get("members", []))
    teams_of = org.__dict__.get("_teams_of")
    if teams_of is None:  # who is in which teams: once per snapshot, not once per model and date
        teams_of = org.__dict__["_teams_of"] = {}
        for name, info in org.teams.items():
            for person in info.get("members", []):
                teams_of.setdefault(person, set()).add(name)
    builders = {v.id: v.registered_by for v in m.versions}
    uploaders = {a.id: a.created_by for rows in m.audits.values() for a in rows}
    for vid, rows in m.sign_offs.items():
        for x in _upto(rows, at):
            if x.role != "validator" or x.decision != "approve" or x.person in team:
                continue
            makers = {builders.get(vid), uploaders.get(x.audit_run_id)} - {None}
            if x.person in makers or any(teams_of.get(x.person, set()) & teams_of.get(p, set()) for p in makers):
                continue
            return f"validator {x.person} (not in {m.team}) approved {org.version_model.get(vid, vid)} on {utc(x.created_at):%Y-%m-%d}"
    return None


def _explanations(org: Org, m: ModelRecords, at: datetime) -> str | None:
    passed = [run for run in _audits(m, at) if "pass" in _check_status(run, "reason_codes")]
    if not passed:
        return None
    silent = [d.name for d in active_deployments(m, at) if int(((d.guard or {}).get("reasons") or {}).get("count", 0)) <= 0]
    if silent:
        return None
    return f"audit #{passed[-1].id}: reason codes checked (pass)" + (
        f"; deployments give reasons" if active_deployments(m, at) else "")


def _privacy(org: Org, m: ModelRecords, at: datetime) -> str | None:
    for run in reversed(_audits(m, at)):
        ran = sorted({f.get("check") for f in run.findings or [] if f.get("check") in PRIVACY_CHECKS
                      and f.get("status") not in ("not_evidenced", "not_applicable")})  # (not run)
        if ran:
            return f"audit #{run.id} ran {', '.join(ran)}"
    return None


def _fairness_monitoring(org: Org, m: ModelRecords, at: datetime) -> str | None:
    for row in _upto(m.monitors, at):
        first = m.fairness.get(row.id)
        if first is not None and first.updated_at <= at:
            return f"monitor {row.name} judged group fairness in window {first.key}"
    return None


def _routes_to_review(guard: dict[str, Any], benchmark: bool) -> list[str]:
    """How the guard sends decisions to a person (disagreement only when there is a benchmark to disagree with)."""
    review = guard.get("review") or {}
    routes = []
    if float(review.get("band") or 0) > 0:
        routes.append(f"scores within {review['band']} of the threshold")
    routes += [f"{k.replace('_', ' ')} inputs" for k, a in sorted((guard.get("screening") or {}).items()) if a == "review"]
    if benchmark and review.get("benchmark_disagreement") == "review":
        routes.append("disagreement with the benchmark model")
    return routes


def _oversight(org: Org, m: ModelRecords, at: datetime) -> str | None:
    for d in reversed(_upto(m.deployments, at)):
        routes = _routes_to_review(d.guard or {}, d.benchmark_version_id is not None)
        if routes:
            appeals = (d.guard or {}).get("appeals") or {}
            return (f"deployment {d.name} sends to a person: {', '.join(routes)}; appeals decided within "
                    f"{appeals.get('decide_within_days', '?')} days")
    return None


def _incident_response(org: Org, m: ModelRecords, at: datetime) -> str | None:
    for inc in reversed(_upto(m.incidents, at)):
        moves = [(s, t) for s, t in org.incident_history.get(inc.id, []) if s != "open" and t <= at]
        if moves:
            return f"incident #{inc.id} ({inc.severity}) was {moves[-1][0]} on {moves[-1][1]:%Y-%m-%d}"
    return None


def _card(org: Org, m: ModelRecords, at: datetime) -> str | None:
    versions = _upto(m.versions, at)
    if not versions:
        return None
    runs = _upto(m.audits.get(versions[-1].id, []), at)
    card = _check_status(runs[-1], "model_card") if runs else []
    if card and all(s == "pass" for s in card):  # one finding per required field: each one given
        return f"audit #{runs[-1].id} of {versions[-1].version}: model card complete"
    return None


_EVIDENCE = {"bias_tested_in_ci": _ci, "independent_validation": _independent, "explanations": _explanations,
             "privacy_probes": _privacy, "fairness_monitoring": _fairness_monitoring, "human_oversight": _oversight,
             "incident_response": _incident_response, "model_card_complete": _card}


def _applies(org: Org, m: ModelRecords, at: datetime, scope: str) -> bool:
    if scope == "all":
        return True
    deployed = bool(_upto(m.deployments, at))
    return deployed or (scope == "watched" and bool(_upto(m.monitors, at)))


def practices_of(org: Org, m: ModelRecords, at: datetime) -> list[dict[str, Any]]:
    """Each practice for one model: whether it applies, whether a record shows it, and which record."""
    out = []
    for pid, title, counts, scope in PRACTICES:
        applies = _applies(org, m, at, scope)
        evidence = _EVIDENCE[pid](org, m, at) if applies else None
        out.append({"practice": pid, "title": title, "applies": applies, "adopted": evidence is not None,
                    "evidence": evidence or (f"no record shows it ({counts})" if applies else
                                             "does not apply: not deployed" + (" or monitored" if scope == "watched" else ""))})
    return out


def adoption(per_model: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The share of models (to which each practice applies) whose records show it."""
    out = []
    for i, (pid, title, counts, scope) in enumerate(PRACTICES):
        applicable = sum(rows[i]["applies"] for rows in per_model)
        adopted = sum(rows[i]["applies"] and rows[i]["adopted"] for rows in per_model)
        out.append({"practice": pid, "title": title, "counts": counts, "adopted": adopted, "applicable": applicable,
                    "rate": adopted / applicable if applicable else None})
    return out
