"""What the standards console reads: every record it judges, loaded once into plain objects.

The rules (:mod:`._standards`) and the practices (:mod:`._adoption`) are pure functions of this
snapshot and a clock, so a report "as of" any date, the weekly comparison and the adoption trend are
the same code run at other times; records made after that time are left out. Only what the registry
keeps as a history can be seen back in time: a version's approval is as it is now.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steward.governance._tables import (
    Acceptance, Appeal, AuditRun, Deployment, Incident, IncidentEntry, Model, MonitorAlert, MonitorRow, MonitorWindow,
    Prediction, Principal, ReviewDecision, ReviewItem, RiskAssessment, SignOff, StoredPolicy, Team, TeamMember, Version,
)

__all__ = ["Org", "ModelRecords", "load_org", "utc"]


def utc(t: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives naive ones back; they were stored in UTC)."""
    if t is None:
        return None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


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
    windows: dict[int, list[MonitorWindow]] = field(default_factory=lambda: defaultdict(list))  # by monitor id
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


def load_org(s: Session) -> Org:
    """Every model's records, read in one transaction (one query per table)."""
    teams = {t.id: t for t in s.execute(select(Team)).scalars()}
    members: dict[int, list[str]] = defaultdict(list)
    for team_id, name in s.execute(select(TeamMember.team_id, Principal.name)
                                   .join(Principal, Principal.id == TeamMember.principal_id)):
        members[team_id].append(name)
    models = {m.id: ModelRecords(name=m.name, team=teams[m.team_id].name if m.team_id in teams else None,
                                 owner=m.owner, created_at=utc(m.created_at))
              for m in s.execute(select(Model).order_by(Model.name)).scalars()}
    for r in s.execute(select(RiskAssessment).order_by(RiskAssessment.id)).scalars():
        models[r.model_id].risks.append(r)
    version_owner: dict[int, ModelRecords] = {}
    version_model: dict[int, str] = {}
    for v in s.execute(select(Version).order_by(Version.id)).scalars():
        models[v.model_id].versions.append(v)
        version_owner[v.id] = models[v.model_id]
        version_model[v.id] = f"{models[v.model_id].name}:{v.version}"
    for a in s.execute(select(AuditRun).order_by(AuditRun.id)).scalars():
        version_owner[a.version_id].audits[a.version_id].append(a)
    for x in s.execute(select(SignOff).order_by(SignOff.id)).scalars():
        version_owner[x.version_id].sign_offs[x.version_id].append(x)
    for a in s.execute(select(Acceptance).order_by(Acceptance.id)).scalars():
        version_owner[a.version_id].acceptances[a.version_id].append(a)
    deployment_owner: dict[int, ModelRecords] = {}
    by_name: dict[str, ModelRecords] = {}
    for d in s.execute(select(Deployment).order_by(Deployment.id)).scalars():
        owner = version_owner[d.version_id]
        owner.deployments.append(d)
        deployment_owner[d.id] = owner
        by_name[d.name] = owner
    monitor_owner: dict[int, ModelRecords] = {}
    for row in s.execute(select(MonitorRow).order_by(MonitorRow.id)).scalars():
        owner = models.get(row.model_id) if row.model_id is not None else by_name.get(row.deployment or "")
        if owner is None and row.version_id is not None:
            owner = version_owner.get(row.version_id)
        if owner is not None:
            owner.monitors.append(row)
            monitor_owner[row.id] = owner
    for w in s.execute(select(MonitorWindow).order_by(MonitorWindow.monitor_id, MonitorWindow.key)).scalars():
        if w.monitor_id in monitor_owner:
            monitor_owner[w.monitor_id].windows[w.monitor_id].append(w)
    for a in s.execute(select(MonitorAlert).order_by(MonitorAlert.id)).scalars():
        if a.monitor_id in monitor_owner:
            monitor_owner[a.monitor_id].alerts.append(a)
    for inc in s.execute(select(Incident).order_by(Incident.id)).scalars():
        models[inc.model_id].incidents.append(inc)
    history: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for e in s.execute(select(IncidentEntry).where(IncidentEntry.status_change.is_not(None))
                       .order_by(IncidentEntry.id)).scalars():
        history[e.incident_id].append((e.status_change, utc(e.created_at)))
    for item in s.execute(select(ReviewItem).order_by(ReviewItem.id)).scalars():
        if item.deployment_id in deployment_owner:
            deployment_owner[item.deployment_id].review_items.append(item)
    settled: dict[int, datetime] = {}
    for item_id, at in s.execute(select(ReviewDecision.review_item_id, ReviewDecision.created_at)
                                 .where(ReviewDecision.status == "final")):
        settled[item_id] = min(utc(at), settled.get(item_id, utc(at)))
    appeals = s.execute(select(Appeal).order_by(Appeal.id)).scalars().all()
    logged = dict(s.execute(select(Prediction.id, Prediction.deployment_id)
                            .where(Prediction.id.in_({ap.prediction_id for ap in appeals}))).tuples().all()) if appeals else {}
    for ap in appeals:
        owner = deployment_owner.get(logged.get(ap.prediction_id, -1))
        if owner is not None:
            owner.appeals.append(ap)
    stored = {p.sha256: utc(p.created_at) for p in s.execute(select(StoredPolicy)).scalars()}
    return Org(models=list(models.values()),
               teams={t.name: {"contact": t.contact, "description": t.description, "members": sorted(members[t.id])}
                      for t in sorted(teams.values(), key=lambda t: t.name)},
               policy_stored_at=stored, incident_history=dict(history), review_settled=settled,
               version_model=version_model)
