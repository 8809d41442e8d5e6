"""Incidents: severity, status open → contained → resolved, a timeline, and the policy's checklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steward.errors import NotFoundError, StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._tables import Incident, IncidentEntry, Model, Version, iso, now

__all__ = ["IncidentsMixin", "SEVERITIES", "STATUSES"]

SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "contained", "resolved")
_NEXT = {"open": "contained", "contained": "resolved"}


class IncidentsMixin:
    def open_incident(self, model: str, *, title: str, severity: str, actor: str, description: str = "",
                      version: str | None = None) -> dict[str, Any]:
        if severity not in SEVERITIES:
            raise StewardError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
        if not title or not title.strip():
            raise StewardError("an incident needs a title saying what went wrong")
        with self.tx() as s:
            if version is not None:
                m, v = self._version(s, model, version)
            else:
                m, v = self._model(s, model), None
            inc = self._new_incident(s, m, v, actor=actor, title=title.strip(), severity=severity,
                                     description=description or "")
            _trail.append(s, actor, "incident.open", f"incident:{inc.id}",
                          {"model": model, "version": version, "title": inc.title, "severity": severity})
            iid = inc.id
        return self.incident(iid)

    def _new_incident(self, s: Session, m: Model, v: Version | None, *, actor: str, title: str, severity: str,
                      description: str) -> Incident:
        """An open incident with the policy's checklist and its first timeline entry (the caller's
        transaction appends the trail entry that covers both)."""
        inc = Incident(model_id=m.id, version_id=v.id if v else None, title=title, severity=severity, status="open",
                       description=description, opened_by=actor,
                       checklist=[{"item": item, "done": False, "by": None, "at": None}
                                  for item in self.policy.incident_checklist])
        s.add(inc)
        s.flush()
        s.add(IncidentEntry(incident_id=inc.id, author=actor, text=f"Opened: {title}", status_change="open"))
        s.flush()
        return inc

    def update_incident(self, incident_id: int, *, actor: str, note: str | None = None, status: str | None = None,
                        done: list[int] | None = None) -> dict[str, Any]:
        """Add a timeline note, move the status one step forward, and/or tick checklist items (0-based)."""
        if note is None and status is None and not done:
            raise StewardError("say what changed: a note, a new status, or checklist items done")
        with self.tx() as s:
            inc = self._incident(s, incident_id, lock=True)
            change = None
            if status is not None and status != inc.status:
                if status not in STATUSES:
                    raise StewardError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
                if _NEXT.get(inc.status) != status:
                    raise WorkflowError(f"incident {incident_id} is {inc.status}; it can only move to "
                                        f"{_NEXT.get(inc.status, 'nothing (it is resolved)')}, not {status}")
                if status == "resolved" and not (note or "").strip():
                    raise WorkflowError("resolving an incident needs a note saying what was done")
                inc.status, change = status, status
            checklist = [dict(c) for c in inc.checklist]
            for i in done or []:
                if not 0 <= i < len(checklist):
                    raise StewardError(f"checklist item {i} does not exist; the items are numbered 0 to {len(checklist) - 1}")
                checklist[i].update(done=True, by=actor, at=iso(now()))
            inc.checklist = checklist
            inc.updated_at = now()
            text = (note or "").strip() or (f"Status: {change}" if change else "Checklist updated")
            s.add(IncidentEntry(incident_id=inc.id, author=actor, text=text, status_change=change))
            _trail.append(s, actor, "incident.update", f"incident:{incident_id}",
                          {"note": note, "status": change, "done": list(done or [])})
        return self.incident(incident_id)

    def _incident(self, s: Session, incident_id: int, lock: bool = False) -> Incident:
        q = select(Incident).where(Incident.id == incident_id)
        inc = s.execute(q.with_for_update() if lock else q).scalar_one_or_none()
        if inc is None:
            raise NotFoundError(f"no incident {incident_id}")
        return inc

    def incident(self, incident_id: int) -> dict[str, Any]:
        with self.tx() as s:
            return self._incident_dict(s, self._incident(s, incident_id))

    def incidents(self, *, model: str | None = None, status: str | None = None,
                  team: str | None = None) -> list[dict[str, Any]]:
        """Incidents, newest first; of one model, in one status, of the models of one team."""
        with self.tx() as s:
            q = select(Incident).order_by(Incident.id.desc())
            if model is not None:
                q = q.where(Incident.model_id == self._model(s, model).id)
            if team is not None:
                q = q.where(Incident.model_id.in_(select(Model.id).where(Model.team_id == self._team(s, team).id)))
            if status is not None:
                q = q.where(Incident.status == status)
            return [self._incident_dict(s, i, brief=True) for i in s.execute(q).scalars()]

    def _incident_dict(self, s: Session, inc: Incident, brief: bool = False) -> dict[str, Any]:
        m = s.get(Model, inc.model_id)
        v = s.get(Version, inc.version_id) if inc.version_id else None
        out = {"id": inc.id, "model": m.name, "version": v.version if v else None, "title": inc.title,
               "severity": inc.severity, "status": inc.status, "opened_by": inc.opened_by,
               "created_at": iso(inc.created_at), "updated_at": iso(inc.updated_at)}
        if not brief:
            out["description"] = inc.description
            out["checklist"] = inc.checklist
            out["timeline"] = [{"author": e.author, "text": e.text, "status_change": e.status_change,
                                "created_at": iso(e.created_at)} for e in inc.entries]
        return out
