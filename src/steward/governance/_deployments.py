"""Deployments: which approved version answers behind a guarded endpoint, with its backup, benchmark,
guard settings and kill switch; and the training profiles the guard screens against.

A new deployment of a name replaces the active one in the same transaction (the old row stays, status
``replaced``, so every logged decision keeps the deployment and version that made it). Every change is a
trail entry. An approval revoked after deployment (a rejection, a lapsed acceptance) trips the kill
switch of the deployments serving that version when their guard says ``kill_on_revocation``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select

from steward.errors import ConflictError, NotFoundError, StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._tables import (
    Appeal,
    Callback,
    Deployment,
    Model,
    Prediction,
    ReviewDecision,
    ReviewItem,
    TrainingProfileRow,
    Version,
    iso,
    now,
)

__all__ = ["DeploymentsMixin", "deployment_dict"]


def _ref(s, version_id: int | None) -> str | None:
    if version_id is None:
        return None
    v = s.get(Version, version_id)
    return f"{v.model.name}:{v.version}"


def deployment_dict(s, d: Deployment) -> dict[str, Any]:
    return {
        "id": d.id, "name": d.name, "version": _ref(s, d.version_id), "backup": _ref(s, d.backup_version_id),
        "benchmark": _ref(s, d.benchmark_version_id), "guard": d.guard, "status": d.status, "killed": d.killed,
        "kill_reason": d.kill_reason, "killed_by": d.killed_by, "killed_at": iso(d.killed_at),
        "created_by": d.created_by, "created_at": iso(d.created_at), "replaced_at": iso(d.replaced_at),
    }


def _profile_sha(profile: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(profile, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class DeploymentsMixin:
    """Registry methods for training profiles, deployments, the kill switch and the prediction log."""

    # --- training profiles -----------------------------------------------------------------

    def record_profile(self, model: str, version: str, profile: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """Record the training profile of a version (once: a version's training data does not change)."""
        from steward.serving._profile import TrainingProfile

        try:
            TrainingProfile.from_dict(profile)
        except (ValueError, TypeError, KeyError) as exc:
            raise StewardError(f"the training profile is malformed: {exc}; build it with "
                               f"steward.serving.build_profile") from None
        digest = _profile_sha(profile)
        with self.tx() as s:
            m, v = self._version(s, model, version)
            if s.get(TrainingProfileRow, v.id) is not None:
                raise ConflictError(f"{model}:{version} already has a training profile; register a new version "
                                    f"for other training data")
            s.add(TrainingProfileRow(version_id=v.id, profile=profile, sha256=digest, recorded_by=actor))
            s.flush()
            _trail.append(s, actor, "version.profile", f"version:{model}:{version}",
                          {"sha256": digest, "features": [f["name"] for f in profile["features"]],
                           "rows": profile.get("rows")})
        return {"model": model, "version": version, "sha256": digest}

    def profile(self, model: str, version: str) -> dict[str, Any] | None:
        with self._sessions() as s:
            _, v = self._version(s, model, version)
            row = s.get(TrainingProfileRow, v.id)
            return None if row is None else row.profile

    # --- deployments -----------------------------------------------------------------------

    def _guard_defaults(self, s, m: Model) -> tuple[str | None, dict[str, Any]]:
        ra = self._latest_risk(s, m)
        if ra is None or ra.tier not in self.policy.tiers:
            return None, {}
        return ra.tier, dict(self.policy.tier(ra.tier).guard)

    def _loadable(self, v: Version, what: str, features: list[str] | None = None) -> None:
        """The artifact loads with the safe loaders and has the registered SHA-256; a model that names its
        inputs reads only ``features`` (the deployed version's profile: every row the guard passes on holds
        those and no others)."""
        from steward.models import load_model

        ref = f"{v.model.name}:{v.version}"
        if not v.artifact_uri or not v.artifact_sha256:
            raise WorkflowError(f"the {what} {ref} has no artifact file with a SHA-256; register the version with "
                                f"--artifact FILE")
        try:
            loaded = load_model(v.artifact_uri, sha256=v.artifact_sha256)
        except StewardError as exc:
            raise WorkflowError(f"the {what} {ref} cannot be served: {exc}") from None
        missing = [f for f in (loaded.features or []) if features is not None and f not in features]
        if missing:
            raise WorkflowError(f"the {what} {ref} reads {', '.join(map(repr, missing))}, which the training profile "
                                f"of the deployed version does not hold, so the guard would never pass them on; "
                                f"record a profile over the model's inputs (steward models version --features)")

    def deploy(self, name: str, ref: str, *, actor: str, backup: str | None = None, benchmark: str | None = None,
               guard: dict[str, Any] | None = None) -> dict[str, Any]:
        """Deploy the approved version ``ref`` (MODEL:VERSION) as ``name``, replacing the active deployment
        of that name atomically. The refusal of an unapproved version lists what blocks its approval."""
        from steward.governance._registry import _check_name, parse_ref
        from steward.serving._settings import load_guard

        _check_name("deployment name", name)
        self.lapse_acceptances()
        with self.tx() as s:
            m, v = self._version(s, *parse_ref(ref))
            if v.status != "approved":
                blockers = self.approval_problems(s, m, v) if v.status != "superseded" else [
                    f"{v.version} was superseded by a newer version; deploy the newest approved version"]
                raise WorkflowError(f"{ref} is not approved (status {v.status}), so it cannot be deployed: "
                                    + ("; ".join(blockers) or "approve it first (steward approve)"))
            prof = s.get(TrainingProfileRow, v.id)
            if prof is None:
                raise WorkflowError(f"{ref} has no training profile, so its endpoint cannot validate or screen rows; "
                                    f"register the version with --training-data (the profile is recorded then)")
            # the profile is the client's claim: the model's own input names must be in it
            features = [f["name"] for f in prof.profile.get("features", [])]
            self._loadable(v, "version", features)
            extra: dict[str, Version | None] = {"backup": None, "benchmark": None}
            for what, other in (("backup", backup), ("benchmark", benchmark)):
                if other is None:
                    continue
                _, ov = self._version(s, *parse_ref(other))
                if what == "backup" and ov.status not in ("approved", "superseded"):
                    raise WorkflowError(f"the backup {other} answers decisions when the model cannot, so it must have "
                                        f"been approved (status {ov.status})")
                if ov.id == v.id:
                    raise WorkflowError(f"the {what} must be another version than {ref}")
                self._loadable(ov, what, features)
                extra[what] = ov
            tier, defaults = self._guard_defaults(s, m)
            settings = load_guard(guard or {}, defaults=defaults).model_dump(mode="json")
            old = s.execute(select(Deployment).where(Deployment.name == name, Deployment.status == "active")
                            .with_for_update()).scalar_one_or_none()
            t = now()
            if old is not None:
                old.status, old.replaced_at = "replaced", t
            d = Deployment(name=name, version_id=v.id, guard=settings, status="active", killed=False, kill_reason="",
                           backup_version_id=extra["backup"].id if extra["backup"] else None,
                           benchmark_version_id=extra["benchmark"].id if extra["benchmark"] else None,
                           created_by=actor, created_at=t)
            s.add(d)
            s.flush()
            _trail.append(s, actor, "deployment.replace" if old is not None else "deployment.create",
                          f"deployment:{name}", {"version": ref, "backup": backup, "benchmark": benchmark, "tier": tier,
                                                 "guard": settings, "replaces": old.id if old is not None else None})
            return deployment_dict(s, d)

    def _active(self, s, name: str) -> Deployment:
        d = s.execute(select(Deployment).where(Deployment.name == name, Deployment.status == "active")
                      ).scalar_one_or_none()
        if d is None:
            raise NotFoundError(f"no active deployment named {name!r}; `steward deployments list` shows them")
        return d

    def deployments(self, *, include_replaced: bool = False, team: str | None = None) -> list[dict[str, Any]]:
        """The deployments (the active ones unless ``include_replaced``), of the models of ``team`` if given."""
        with self._sessions() as s:
            q = select(Deployment).order_by(Deployment.name, Deployment.id.desc())
            if not include_replaced:
                q = q.where(Deployment.status == "active")
            if team is not None:
                owned = select(Version.id).join(Model, Model.id == Version.model_id).where(
                    Model.team_id == self._team(s, team).id)
                q = q.where(Deployment.version_id.in_(owned))
            return [deployment_dict(s, d) for d in s.execute(q).scalars()]

    def deployment(self, name: str) -> dict[str, Any]:
        from sqlalchemy import func

        with self._sessions() as s:
            d = self._active(s, name)
            out = deployment_dict(s, d)
            ids = select(Deployment.id).where(Deployment.name == name)
            out["history"] = [deployment_dict(s, h) for h in s.execute(
                select(Deployment).where(Deployment.name == name).order_by(Deployment.id.desc())).scalars()]
            out["predictions"] = s.execute(select(func.count()).select_from(Prediction)
                                           .where(Prediction.deployment_id.in_(ids))).scalar_one()
            out["routes"] = dict(s.execute(select(Prediction.route, func.count()).where(
                Prediction.deployment_id.in_(ids)).group_by(Prediction.route)).all())
            out["open_reviews"] = s.execute(select(func.count()).select_from(ReviewItem).where(
                ReviewItem.deployment_id.in_(ids), ReviewItem.status == "open")).scalar_one()
            return out

    def serving_spec(self, name: str) -> dict[str, Any]:
        """What a server process needs to serve ``name``: the deployment, each model's artifact and SHA-256,
        and the primary version's training profile."""
        with self._sessions() as s:
            d = self._active(s, name)

            def art(version_id: int | None) -> dict[str, Any] | None:
                if version_id is None:
                    return None
                v = s.get(Version, version_id)
                return {"ref": f"{v.model.name}:{v.version}", "version_id": v.id, "uri": v.artifact_uri,
                        "sha256": v.artifact_sha256}

            prof = s.get(TrainingProfileRow, d.version_id)
            return {**deployment_dict(s, d), "model": art(d.version_id), "backup_model": art(d.backup_version_id),
                    "benchmark_model": art(d.benchmark_version_id), "profile": prof.profile if prof else None}

    def deployment_states(self) -> dict[str, tuple[int, bool]]:
        """Each active deployment's (id, killed): read by every server process at most every half second."""
        with self._sessions() as s:
            return {n: (i, bool(k)) for n, i, k in s.execute(
                select(Deployment.name, Deployment.id, Deployment.killed).where(Deployment.status == "active"))}

    def _switch(self, name: str, killed: bool, reason: str, actor: str) -> dict[str, Any]:
        if killed and not (reason or "").strip():
            raise StewardError("the kill switch needs a reason (--reason), so others know why decisions stopped")
        with self.tx() as s:
            d = self._active(s, name)
            if d.killed == killed:
                raise ConflictError(f"deployment {name!r} is already {'killed' if killed else 'live'}")
            d.killed = killed
            d.kill_reason, d.killed_by, d.killed_at = (reason, actor, now()) if killed else ("", None, None)
            s.flush()
            _trail.append(s, actor, "deployment.kill" if killed else "deployment.revive", f"deployment:{name}",
                          {"reason": reason, "version": _ref(s, d.version_id)})
            return deployment_dict(s, d)

    def kill(self, name: str, *, reason: str, actor: str) -> dict[str, Any]:
        """Pull the kill switch: no request reaches the model; each gets the deployment's safe default."""
        return self._switch(name, True, reason, actor)

    def revive(self, name: str, *, actor: str) -> dict[str, Any]:
        return self._switch(name, False, "", actor)

    def _trip_on_revocation(self, s, v: Version, actor: str, why: str) -> list[str]:
        """Inside the transaction that revokes ``v``'s approval: kill its deployments whose guard says so."""
        tripped = []
        for d in s.execute(select(Deployment).where(Deployment.version_id == v.id, Deployment.status == "active",
                                                     Deployment.killed.is_(False))).scalars():
            if not (d.guard or {}).get("kill_on_revocation", True):
                continue
            d.killed, d.kill_reason, d.killed_by, d.killed_at = True, f"approval revoked: {why}", actor, now()
            s.flush()
            _trail.append(s, actor, "deployment.kill", f"deployment:{d.name}",
                          {"reason": d.kill_reason, "version": f"{v.model.name}:{v.version}", "automatic": True})
            tripped.append(d.name)
        return tripped

    def _incident_for_trip(self, s, v: Version, actor: str, tripped: list[str], why: str) -> None:
        inc = self._new_incident(
            s, v.model, v, actor=actor, severity="high",
            title=f"Approval of {v.version} revoked; kill switch pulled on {', '.join(tripped)}",
            description=f"{why}. The deployments now answer with their safe default until an approved version is "
                        f"deployed or an operator revives them.")
        _trail.append(s, actor, "incident.open", f"incident:{inc.id}", {"title": inc.title, "severity": "high",
                                                                        "automatic": True})

    # --- the prediction log -----------------------------------------------------------------

    def _log_query(self, name: str, since: datetime | None, until: datetime | None):
        since, until = _utc(since), _utc(until)
        ids = select(Deployment.id).where(Deployment.name == name)
        q = select(Prediction).where(Prediction.deployment_id.in_(ids)).order_by(Prediction.created_at, Prediction.id)
        if since is not None:
            q = q.where(Prediction.created_at >= since)
        if until is not None:
            q = q.where(Prediction.created_at < until)
        return q

    def prediction_log(self, name: str, *, since: datetime | None = None, until: datetime | None = None,
                       limit: int | None = None, newest: bool = False) -> list[dict[str, Any]]:
        """The logged decisions of every deployment named ``name`` (the replaced ones too), oldest first
        (newest first with ``newest``, so ``limit`` keeps the latest)."""
        with self._sessions() as s:
            if s.execute(select(Deployment.id).where(Deployment.name == name).limit(1)).first() is None:
                raise NotFoundError(f"no deployment named {name!r}; `steward deployments list` shows them")
            refs = {d.id: _ref(s, d.version_id) for d in s.execute(select(Deployment).where(Deployment.name == name)).scalars()}
            q = self._log_query(name, since, until)
            if newest:
                q = q.order_by(None).order_by(Prediction.created_at.desc(), Prediction.id.desc())
            if limit is not None:
                q = q.limit(limit)
            return [prediction_dict(p, refs, s) for p in s.execute(q).scalars()]

    def prediction(self, prediction_id: str) -> dict[str, Any]:
        with self._sessions() as s:
            p = s.get(Prediction, prediction_id)
            if p is None:
                raise NotFoundError(f"no prediction {prediction_id!r}")
            d = s.get(Deployment, p.deployment_id)
            return {**prediction_dict(p, {d.id: _ref(s, d.version_id)}, s), "deployment": d.name}

    def review_queue(self, *, deployment: str | None = None, status: str = "open", limit: int = 500,
                     kind: str | None = None, why: str | None = None, older_than_hours: float | None = None,
                     group: str | None = None) -> list[dict[str, Any]]:
        """Review items, oldest first: ``status`` open | pending (not decided) | all | an item status; ``why``
        matches part of a reason for review, ``group`` (``attribute=value``) a recorded protected attribute."""
        if group is not None and "=" not in group:
            raise StewardError(f"group: give an attribute and a value, such as sex=Female (got {group!r})")
        with self._sessions() as s:
            q = select(ReviewItem, Deployment.name).join(Deployment, Deployment.id == ReviewItem.deployment_id)
            if deployment is not None:
                q = q.where(Deployment.name == deployment)
            if status == "pending":
                q = q.where(ReviewItem.status != "decided")
            elif status != "all":
                q = q.where(ReviewItem.status == status)
            if kind is not None:
                q = q.where(ReviewItem.kind == kind)
            if older_than_hours is not None:
                q = q.where(ReviewItem.created_at <= datetime.now(timezone.utc) - timedelta(hours=older_than_hours))
            q = q.add_columns(Prediction.detail).join(Prediction, Prediction.id == ReviewItem.prediction_id)
            q = q.order_by(ReviewItem.id)
            out = []
            for r, n, detail in s.execute(q.limit(limit) if why is None and group is None else q).all():
                protected = (detail or {}).get("protected", {})
                if why is not None and not any(why.lower() in str(w).lower() for w in r.why or []):
                    continue
                if group is not None:
                    attribute, _, value = group.partition("=")
                    if str(protected.get(attribute.strip())) != value.strip():
                        continue
                out.append({"id": r.id, "prediction_id": r.prediction_id, "deployment": n, "kind": r.kind,
                            "why": r.why, "interim_decision": r.interim_decision, "score": r.score,
                            "reasons": r.reasons, "status": r.status, "created_at": iso(r.created_at),
                            "due_at": iso(r.due_at), "escalated_at": iso(r.escalated_at), "protected": protected})
                if len(out) >= limit:
                    break
            return out

    def apply_retention(self, *, actor: str, at: datetime | None = None) -> dict[str, int]:
        """Delete logged decisions older than each deployment's ``log.retention_days`` (and their review
        items); each deletion is a trail entry saying how many rows and up to when. A decision a person
        decided or appealed (or whose callback is recorded, or that re-scored an appeal) is kept: the
        records of that decision refer to it."""
        t = _utc(at) or now()
        out: dict[str, int] = {}
        with self._sessions() as s:
            active = list(s.execute(select(Deployment.name, Deployment.guard).where(Deployment.status == "active")))
        for name, guard in active:
            days = ((guard or {}).get("log") or {}).get("retention_days")
            if not days:
                continue
            cutoff = t - timedelta(days=float(days))
            with self.tx() as s:
                ids = select(Deployment.id).where(Deployment.name == name)
                held = or_(exists().where(ReviewDecision.prediction_id == Prediction.id),
                           exists().where(Appeal.prediction_id == Prediction.id),
                           exists().where(Appeal.rescored_prediction_id == Prediction.id),
                           exists().where(Callback.prediction_id == Prediction.id))
                due = and_(Prediction.deployment_id.in_(ids), Prediction.created_at < cutoff, ~held)
                s.execute(delete(ReviewItem).where(ReviewItem.prediction_id.in_(select(Prediction.id).where(due))))
                n = s.execute(delete(Prediction).where(due)).rowcount or 0
                if n:
                    _trail.append(s, actor, "log.retention", f"deployment:{name}",
                                  {"deleted": n, "before": cutoff.isoformat(), "retention_days": days})
                out[name] = n
        return out


def _utc(t: datetime | None) -> datetime | None:
    """``t`` in UTC: SQLite compares stored times as text, ignoring an offset (a naive time is taken as UTC)."""
    return t.astimezone(timezone.utc) if t is not None and t.tzinfo is not None else t


def prediction_dict(p: Prediction, refs: dict[int, str | None], s=None) -> dict[str, Any]:
    version = None
    if p.version_id is not None and s is not None:
        version = _ref(s, p.version_id)
    return {"prediction_id": p.id, "created_at": iso(p.created_at), "deployment_version": refs.get(p.deployment_id),
            "version": version, "key_id": p.key_id, "subject_id": p.subject_id, "inputs": p.inputs,
            "inputs_sha256": p.inputs_sha256, "score": p.score, "decision": p.decision, "route": p.route,
            "flags": p.flags, "reasons": p.reasons, "detail": p.detail}
