"""Teams: who owns a model, who belongs to which team, and acknowledging a monitor's alerts.

A model belongs to one team (its owner team, with a contact); a principal may belong to several. The
standards console filters by team, and judges a validator's sign-off independent only when the
validator is not a member of the model's team. Creating teams, changing membership and moving a
model to another team are the admin's: a builder who could move their model to another team could
make a teammate's sign-off look independent.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steward.errors import ConflictError, NotFoundError, StewardError
from steward.governance import _trail
from steward.governance._tables import Model, MonitorAlert, MonitorRow, Principal, Team, TeamMember, iso, now

__all__ = ["TeamsMixin"]

NOTE_MAX = 2000  # an acknowledgement's note is shown in the standards console's evidence
_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._&-]{0,99}$")


def _check_team_name(name: Any) -> str:
    if not isinstance(name, str) or not _TEAM.fullmatch(name) or name != name.strip() or "  " in name:
        raise StewardError(f"team name {name!r} must start with a letter or digit and hold at most 100 letters, "
                           f"digits, single spaces and . _ & -")
    return name


class TeamsMixin:
    def _team(self, s: Session, name: str) -> Team:
        t = s.execute(select(Team).where(Team.name == name)).scalar_one_or_none()
        if t is None:
            known = s.execute(select(Team.name).order_by(Team.name)).scalars().all()
            raise NotFoundError(f"no team named {name!r}; the teams are: {', '.join(known) if known else 'none yet'} "
                                f"(`steward teams add` creates one)")
        return t

    def _team_dict(self, s: Session, t: Team) -> dict[str, Any]:
        members = s.execute(select(Principal.name).join(TeamMember, TeamMember.principal_id == Principal.id)
                            .where(TeamMember.team_id == t.id).order_by(Principal.name)).scalars().all()
        models = s.execute(select(Model.name).where(Model.team_id == t.id).order_by(Model.name)).scalars().all()
        return {"name": t.name, "contact": t.contact, "description": t.description, "members": list(members),
                "models": list(models), "created_by": t.created_by, "created_at": iso(t.created_at)}

    def create_team(self, name: str, *, contact: str, actor: str, description: str = "") -> dict[str, Any]:
        """A new team; ``contact`` is where the central team reaches it (an address or channel)."""
        _check_team_name(name)
        if not isinstance(contact, str) or not contact.strip():
            raise StewardError("a team needs a contact (an e-mail address or channel the central team can reach it on)")
        if len(contact.strip()) > 300:
            raise StewardError(f"a team's contact holds at most 300 characters, got {len(contact.strip())}; give an "
                               f"address or channel name")
        try:
            with self.tx() as s:
                t = Team(name=name, contact=contact.strip(), description=description or "", created_by=actor)
                s.add(t)
                s.flush()
                _trail.append(s, actor, "team.create", f"team:{name}", {"contact": t.contact, "description": t.description})
                return self._team_dict(s, t)
        except IntegrityError:
            raise ConflictError(f"a team named {name!r} already exists") from None

    def teams(self) -> list[dict[str, Any]]:
        with self.tx() as s:
            return [self._team_dict(s, t) for t in s.execute(select(Team).order_by(Team.name)).scalars()]

    def team(self, name: str) -> dict[str, Any]:
        with self.tx() as s:
            return self._team_dict(s, self._team(s, name))

    def _may_register_into(self, s: Session, actor: str, team_id: int, team: str) -> None:
        """A principal registers a model only into a team they belong to (an admin into any): placing a model
        in another team would make a teammate's sign-off look independent, or move shortfalls to that team.
        An actor who is no principal (the library used directly, by whoever holds the database) is not asked."""
        p = s.execute(select(Principal).where(Principal.name == actor)).scalar_one_or_none()
        if p is None or "admin" in p.roles:
            return
        member = s.execute(select(TeamMember.id).where(TeamMember.team_id == team_id,
                                                      TeamMember.principal_id == p.id)).first()
        if member is None:
            from steward.errors import PermissionDenied

            raise PermissionDenied(f"{actor} is not a member of team {team!r}, so may not register a model into it; "
                                   f"an admin adds you to the team (`steward teams add-member`) or assigns the model")

    def _principal_named(self, s: Session, name: str) -> Principal:
        p = s.execute(select(Principal).where(Principal.name == name)).scalar_one_or_none()
        if p is None:
            raise NotFoundError(f"no principal named {name!r}; `steward keys list` shows them")
        return p

    def add_team_member(self, team: str, principal: str, *, actor: str) -> dict[str, Any]:
        with self.tx() as s:
            t, p = self._team(s, team), self._principal_named(s, principal)
            if s.execute(select(TeamMember).where(TeamMember.team_id == t.id, TeamMember.principal_id == p.id)
                         ).scalar_one_or_none() is not None:
                raise ConflictError(f"{principal} is already a member of {team}")
            s.add(TeamMember(team_id=t.id, principal_id=p.id, added_by=actor))
            s.flush()
            _trail.append(s, actor, "team.member_add", f"team:{team}", {"principal": principal})
            return self._team_dict(s, t)

    def remove_team_member(self, team: str, principal: str, *, actor: str) -> dict[str, Any]:
        with self.tx() as s:
            t, p = self._team(s, team), self._principal_named(s, principal)
            row = s.execute(select(TeamMember).where(TeamMember.team_id == t.id, TeamMember.principal_id == p.id)
                            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"{principal} is not a member of {team}")
            s.delete(row)
            s.flush()
            _trail.append(s, actor, "team.member_remove", f"team:{team}", {"principal": principal})
            return self._team_dict(s, t)

    def set_model_team(self, model: str, team: str, *, actor: str) -> dict[str, Any]:
        """Make ``team`` the model's owner team (the trail keeps the one before)."""
        with self.tx() as s:
            m, t = self._model(s, model), self._team(s, team)
            old = s.get(Team, m.team_id) if m.team_id is not None else None
            before = old.name if old is not None else None
            if m.team_id == t.id:
                raise ConflictError(f"{model} already belongs to {team}")
            m.team_id, m.updated_at = t.id, now()
            s.flush()
            _trail.append(s, actor, "model.team", f"model:{model}", {"team": team, "before": before})
        return self.model(model)

    def acknowledge_alert(self, alert_id: int, *, actor: str, note: str) -> dict[str, Any]:
        """A person saw a monitor's alert and says what is being done; until then the standards count it."""
        if not isinstance(note, str) or not any(ch.isalnum() for ch in note):
            raise StewardError("say what is being done about the alert (--note), in words, so the acknowledgement "
                               "means something")
        if len(note.strip()) > NOTE_MAX:
            raise StewardError(f"--note: {len(note.strip())} characters is too long (at most {NOTE_MAX}); say in short "
                               f"what is being done, and keep the details in an incident")
        with self.tx() as s:
            a = s.get(MonitorAlert, alert_id, with_for_update=True)
            if a is None:
                raise NotFoundError(f"no monitor alert {alert_id}; `steward monitor show NAME` lists a monitor's alerts")
            if a.acknowledged_at is not None:
                raise ConflictError(f"alert {alert_id} was acknowledged by {a.acknowledged_by} at {iso(a.acknowledged_at)}")
            a.acknowledged_by, a.acknowledged_at, a.acknowledged_note = actor, now(), note.strip()
            s.flush()
            monitor = s.get(MonitorRow, a.monitor_id)
            _trail.append(s, actor, "alert.acknowledge", f"monitor:{monitor.name}",
                          {"alert": a.id, "signal": a.signal, "note": a.acknowledged_note})
            return self._alert_dict(a)
