"""What the standards console reads: every record it judges, loaded once into plain objects.

The rules (:mod:`._standards`) and the practices (:mod:`._adoption`) are pure functions of this
snapshot and a clock, so a report "as of" any date, the weekly comparison and the adoption trend are
the same code run at other times; records made after that time are left out. Only what the registry
keeps as a history can be seen back in time: a version's approval is as it is now.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Text, cast, select
from sqlalchemy.orm import Session

from steward.governance._tables import (
    Acceptance, Appeal, AuditRun, Deployment, Incident, IncidentEntry, Model, MonitorAlert, MonitorRow, MonitorWindow,
    Prediction, Principal, ReviewDecision, ReviewItem, RiskAssessment, SignOff, StoredPolicy, Team, TeamMember, Version,
)

__all__ = ["Org", "ModelRecords", "load_org", "utc"]


def utc(t: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives naive ones back; they were stored in UTC)."""
    if t is None or t.tzinfo is timezone.utc:
        return t
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


class Window(NamedTuple):
    key: str
    updated_at: datetime


@dataclass
class ModelRecords:
    name: str
    team: str | None
    owner: str
    created_at: datetime
    risks: list[RiskAssessment] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    audits: dict[int, list[AuditRun]] = field(default_factory=lambda: defaultdict(list))  # by version id, oldest first
    sign_offs: dict[int, list[SignOff]] = field(default_factory=lambda: defaultdict(list))
    acceptances: dict[int, list[Acceptance]] = field(default_factory=lambda: defaultdict(list))
    deployments: list[Deployment] = field(default_factory=list)
    monitors: list[MonitorRow] = field(default_factory=list)
    windows: dict[int, list[Window]] = field(default_factory=lambda: defaultdict(list))  # by monitor id, oldest first
    # monitor id -> the first window (by when it was stored) that judged group fairness
    fairness: dict[int, Window] = field(default_factory=dict)
    alerts: list[MonitorAlert] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    review_items: list[ReviewItem] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)


@dataclass
class Org:
    models: list[ModelRecords]
    teams: dict[str, dict[str, Any]]  # name -> contact, description, members (principal names)
    policy_stored_at: dict[str, datetime]  # policy sha256 -> when the registry first held audits to it
    incident_history: dict[int, list[tuple[str, datetime]]]  # incident id -> (status, since) in order
    review_settled: dict[int, datetime]  # review item id -> when its final decision was made
    version_model: dict[int, str] = field(default_factory=dict)


# Columns the rules never read and that hold most of a registry's bytes (stored reports, references, window
# statistics): left in the database, so a console view reads what it judges and no more.
_HEAVY = {"audit_runs": {"report_json", "report_html", "model_card"},
          "monitors": {"source", "reference", "state", "watermark"}, "monitor_windows": {"stats"},
          "monitor_alerts": {"evidence"}, "incidents": {"description", "checklist"},
          "review_items": {"why", "reasons"}, "appeals": {"statement", "corrected_inputs"}}


def _rows(s: Session, entity, *order) -> list[SimpleNamespace]:
    """The table's rows without its heavy columns, as plain objects with the column names as attributes and
    every time in aware UTC (converted once here, not in each rule at each date of the trend)."""
    table = entity.__table__
    cols = [c for c in table.c if c.name not in _HEAVY.get(table.name, ())]
    names = [c.name for c in cols]
    times = {c.name for c in cols if isinstance(c.type, DateTime)}
    out = []
    # through the session's connection (Core): the ORM's result loading costs more than the rows themselves
    for row in s.connection().execute(select(*cols).order_by(*(order or (table.c.id,)))):
        out.append(SimpleNamespace(**{k: utc(v) if k in times else v for k, v in zip(names, row)}))
    return out


def _judged_fairness(text: str) -> bool:
    """Whether a window's stored result measured a fairness signal (a value, not only "too few rows")."""
    try:
        signals = (json.loads(text) or {}).get("signals", [])
    except (ValueError, AttributeError):
        return False
    return any(x.get("signal") == "fairness" and x.get("value") is not None for x in signals if isinstance(x, dict))


def load_org(s: Session) -> Org:
    """Every model's records, read in one transaction (one query per table)."""
    teams = {t.id: t for t in _rows(s, Team)}
    members: dict[int, list[str]] = defaultdict(list)
    for team_id, name in s.execute(select(TeamMember.team_id, Principal.name)
                                   .join(Principal, Principal.id == TeamMember.principal_id)):
        members[team_id].append(name)
    models = {m.id: ModelRecords(name=m.name, team=teams[m.team_id].name if m.team_id in teams else None,
                                 owner=m.owner, created_at=utc(m.created_at))
              for m in _rows(s, Model, Model.name)}
    for r in _rows(s, RiskAssessment):
        models[r.model_id].risks.append(r)
    version_owner: dict[int, ModelRecords] = {}
    version_model: dict[int, str] = {}
    for v in _rows(s, Version):
        models[v.model_id].versions.append(v)
        version_owner[v.id] = models[v.model_id]
        version_model[v.id] = f"{models[v.model_id].name}:{v.version}"
    for a in _rows(s, AuditRun):
        version_owner[a.version_id].audits[a.version_id].append(a)
    for x in _rows(s, SignOff):
        version_owner[x.version_id].sign_offs[x.version_id].append(x)
    for a in _rows(s, Acceptance):
        version_owner[a.version_id].acceptances[a.version_id].append(a)
    deployment_owner: dict[int, ModelRecords] = {}
    by_name: dict[str, ModelRecords] = {}
    for d in _rows(s, Deployment):
        owner = version_owner[d.version_id]
        owner.deployments.append(d)
        deployment_owner[d.id] = owner
        by_name[d.name] = owner
    monitor_owner: dict[int, ModelRecords] = {}
    for row in _rows(s, MonitorRow):
        owner = models.get(row.model_id) if row.model_id is not None else by_name.get(row.deployment or "")
        if owner is None and row.version_id is not None:
            owner = version_owner.get(row.version_id)
        if owner is not None:
            owner.monitors.append(row)
            monitor_owner[row.id] = owner
    # A window's result is read as text and decoded only until a monitor's first fairness judgement is found:
    # decoding every window's signals was most of a console view's time in a large organisation.
    for monitor_id, key, updated_at, text in s.connection().execute(
            select(MonitorWindow.monitor_id, MonitorWindow.key, MonitorWindow.updated_at,
                   cast(MonitorWindow.result, Text)).order_by(MonitorWindow.monitor_id, MonitorWindow.updated_at,
                                                              MonitorWindow.key)):
        owner = monitor_owner.get(monitor_id)
        if owner is None:
            continue
        w = Window(key, utc(updated_at))
        owner.windows[monitor_id].append(w)
        if monitor_id not in owner.fairness and text and '"fairness"' in text and _judged_fairness(text):
            owner.fairness[monitor_id] = w
    for a in _rows(s, MonitorAlert):
        if a.monitor_id in monitor_owner:
            monitor_owner[a.monitor_id].alerts.append(a)
    for inc in _rows(s, Incident):
        models[inc.model_id].incidents.append(inc)
    history: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for incident_id, status, at in s.connection().execute(
            select(IncidentEntry.incident_id, IncidentEntry.status_change, IncidentEntry.created_at)
            .where(IncidentEntry.status_change.is_not(None)).order_by(IncidentEntry.id)):
        history[incident_id].append((status, utc(at)))
    for item in _rows(s, ReviewItem):
        if item.deployment_id in deployment_owner:
            deployment_owner[item.deployment_id].review_items.append(item)
    settled: dict[int, datetime] = {}
    for item_id, at in s.connection().execute(select(ReviewDecision.review_item_id, ReviewDecision.created_at)
                                 .where(ReviewDecision.status == "final")):
        settled[item_id] = min(utc(at), settled.get(item_id, utc(at)))
    appeals = _rows(s, Appeal)
    logged = dict(s.execute(select(Prediction.id, Prediction.deployment_id)
                            .where(Prediction.id.in_({ap.prediction_id for ap in appeals}))).all()) if appeals else {}
    for ap in appeals:
        owner = deployment_owner.get(logged.get(ap.prediction_id, -1))
        if owner is not None:
            owner.appeals.append(ap)
    stored = dict(s.execute(select(StoredPolicy.sha256, StoredPolicy.created_at)).all())
    stored = {sha: utc(t) for sha, t in stored.items()}
    return Org(models=list(models.values()),
               teams={t.name: {"contact": t.contact, "description": t.description, "members": sorted(members[t.id])}
                      for t in sorted(teams.values(), key=lambda t: t.name)},
               policy_stored_at=stored, incident_history=dict(history), review_settled=settled,
               version_model=version_model)
