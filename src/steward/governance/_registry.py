"""The registry: the system of record for models, their risk, audits, sign-offs and incidents.

Every method runs in one transaction and appends to the trail in the same transaction, so a
change and its trail entry are stored together or not at all. The HTTP API and the CLI are thin
layers over this class; who may call what is decided there (roles), what may happen is decided
here (workflow rules).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from steward.audit.policy import Policy, load_policy
from steward.errors import ConflictError, NotFoundError, PermissionDenied, StewardError
from steward.governance import _trail
from steward.governance._db import make_engine, upgrade_from
from steward.governance._challenge import ChallengeMixin
from steward.governance._deployments import DeploymentsMixin
from steward.governance._harm import HarmReportsMixin
from steward.governance._monitor_run import MonitorRunMixin
from steward.governance._monitors import MonitorsMixin
from steward.governance._review import ReviewMixin
from steward.governance._outcomes import OutcomesMixin
from steward.governance._incidents import IncidentsMixin
from steward.governance._principals import PrincipalsMixin
from steward.governance._refused import refused_value
from steward.governance._sessions import SessionsMixin
from steward.governance._standards_mixin import StandardsMixin
from steward.governance._teams import TeamsMixin
from steward.governance._tables import (
    Acceptance, AuditRun, Incident, Model, Principal, RiskAssessment, SignOff, StoredPolicy, Team, TrailEntry, Version,
    iso, now,
)
from steward.governance._views import acceptance_dict, reproduction_dict
from steward.governance._views import audit_dict as _audit_dict
from steward.governance._views import risk_dict as _risk_dict
from steward.governance._views import signoff_dict as _signoff_dict
from steward.governance._views import trail_dict as _trail_dict
from steward.governance._workflow import WorkflowMixin

__all__ = ["Registry", "parse_ref"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def parse_ref(ref: str) -> tuple[str, str]:
    """``MODEL:VERSION`` → (model, version), with a clear error otherwise."""
    if not isinstance(ref, str) or ref.count(":") != 1 or not all(ref.split(":")):
        raise StewardError(f"{ref!r} is not MODEL:VERSION (for example credit-scoring:1.4.0)")
    model, version = ref.split(":")
    return model, version


def _check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise StewardError(f"{what} {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
                           f"(at most 200, starting with a letter or digit)")
    return name


def _same_roles(model: str, version: str, earlier: list[dict[str, Any]], roles: Any) -> None:
    """A later audit of a version keeps what earlier ones judged: every protected attribute with its
    reference group, the favourable decision and the label (it may add attributes). Otherwise an
    audit could be re-run on easier terms until one passes."""
    if not earlier or not isinstance(roles, dict):
        return
    now_refs = {p.get("column"): p.get("reference") for p in roles.get("protected") or [] if isinstance(p, dict)}
    for before in earlier:
        for p in before.get("protected") or []:
            col, ref = p.get("column"), p.get("reference")
            if col not in now_refs:
                raise StewardError(f"this audit of {model}:{version} leaves out the protected attribute {col!r} that an "
                                   f"earlier audit of the version judged; audit it again (an audit may add attributes, "
                                   f"not drop them)")
            if ref is not None and now_refs[col] != ref:
                raise StewardError(f"this audit of {model}:{version} compares {col!r} with {now_refs[col]!r}, but an "
                                   f"earlier audit of the version used the reference group {ref!r}; keep it")
        for key in ("label", "favourable"):
            if before.get(key) != roles.get(key):
                raise StewardError(f"this audit of {model}:{version} has {key} {roles.get(key)!r}, an earlier one "
                                   f"{before.get(key)!r}; audits of one version keep the same {key}")


def _registry_card_section(run: AuditRun, accepted: list[dict[str, Any]]) -> str:
    """What the registry adds to the uploaded model card: its own verdict and the accepted findings."""
    verdict = ("no policy" if run.passed is None else "passed" if run.passed else
               f"blocked ({run.n_fail} failing finding(s), {run.n_not_evidenced} not evidenced)")
    lines = ["", "", "## Registry record", "",
             f"Verdict re-derived by the registry from the report's cell statistics: **{verdict}** "
             f"(policy {run.policy_name} {run.policy_version}, tier {run.tier}).", ""]
    if accepted:
        lines += ["### Accepted findings (exceptions)", "", "| check | accepted by | until | status | reason |",
                  "|---|---|---|---|---|"]
        for a in accepted:
            reason = a["reason"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {a['check']} | {a['accepted_by']} | {a['until'][:10]} | {a['status']} | {reason} |")
        lines.append("")
    return "\n".join(lines)


class Registry(WorkflowMixin, IncidentsMixin, PrincipalsMixin, SessionsMixin, ChallengeMixin, DeploymentsMixin,
               ReviewMixin, HarmReportsMixin, OutcomesMixin, MonitorsMixin, MonitorRunMixin, TeamsMixin, StandardsMixin):
    """Open (and create or upgrade) the registry database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default ``STEWARD_DATABASE_URL`` or ``sqlite:///.steward/steward.db``.
    policy : Policy or path, optional
        The current policy (default ``STEWARD_POLICY`` or the shipped one). Approval requires the
        latest audit to have been held to this policy.
    """

    def __init__(self, url: str | None = None, policy: Policy | str | Path | None = None, *,
                 trail_key: bytes | str | None = None) -> None:
        self.engine = make_engine(url)
        before, self.revision = upgrade_from(self.engine)
        self.policy = load_policy(policy if policy is not None else os.environ.get("STEWARD_POLICY"))
        # The trail's HMAC key lives outside the database (a key file beside it, or STEWARD_TRAIL_KEY).
        # An unkeyed trail is re-signed only by the upgrade that introduced keys (from revision 0001):
        # re-signing whatever unkeyed chain is found later would launder a trail rewritten by a writer.
        self.trail_key = _trail.load_key(self.engine, trail_key, rekey=before == "0001")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        _trail.track(self._sessions)  # every change to a governed row must be covered by a trail entry
        self._remember_policy(self.policy)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def tx(self) -> Iterator[Session]:
        try:
            with self._sessions() as s, s.begin():
                s.info["trail_key"] = self.trail_key
                yield s
        except (StatementError, UnicodeEncodeError, OverflowError) as exc:
            # A value the database cannot hold (too long, NUL, surrogate, out of range) is the caller's mistake.
            problem = refused_value(exc)
            if problem is None:
                raise
            raise problem from exc

    # --- policies ------------------------------------------------------------------------

    def _remember_policy(self, policy: Policy) -> None:
        """Store the policy's text by its SHA-256, so audits held to it can be re-derived later."""
        with self.tx() as s:
            if s.get(StoredPolicy, policy.sha256) is None:
                s.add(StoredPolicy(sha256=policy.sha256, name=policy.name, version=policy.version, text=policy.text))
                s.flush()
                _trail.append(s, "steward", "policy.store", f"policy:{policy.sha256[:12]}",
                              {"name": policy.name, "version": policy.version, "sha256": policy.sha256})

    def _stored_policy(self, s: Session, sha256: str) -> Policy:
        row = s.get(StoredPolicy, sha256)
        if row is None:
            raise StewardError(f"the report was held to a policy (SHA-256 {sha256[:12]}...) this registry does not "
                               f"know; audit again with the registry's policy ({self.policy.name} version "
                               f"{self.policy.version})")
        if row.sha256 == self.policy.sha256:
            return self.policy
        return load_policy(row.text)

    # --- lookups -------------------------------------------------------------------------

    def _model(self, s: Session, name: str) -> Model:
        m = s.execute(select(Model).where(Model.name == name)).scalar_one_or_none()
        if m is None:
            raise NotFoundError(f"no model named {name!r} in the registry; `steward models list` shows them")
        return m

    def _version(self, s: Session, model: str, version: str) -> tuple[Model, Version]:
        m = self._model(s, model)
        v = s.execute(select(Version).where(Version.model_id == m.id, Version.version == version)).scalar_one_or_none()
        if v is None:
            known = [x.version for x in m.versions]
            raise NotFoundError(f"model {model!r} has no version {version!r}; its versions are: "
                                f"{', '.join(known) if known else 'none yet'}")
        return m, v

    def _latest_risk(self, s: Session, m: Model) -> RiskAssessment | None:
        return s.execute(select(RiskAssessment).where(RiskAssessment.model_id == m.id)
                         .order_by(RiskAssessment.id.desc()).limit(1)).scalar_one_or_none()

    def _latest_audit(self, s: Session, v: Version) -> AuditRun | None:
        return s.execute(select(AuditRun).where(AuditRun.version_id == v.id)
                         .order_by(AuditRun.id.desc()).limit(1)).scalar_one_or_none()

    # --- models, versions, risk ----------------------------------------------------------

    def register_model(self, name: str, *, actor: str, purpose: str = "", domain: str = "other", owner: str = "",
                       accountable_executive: str = "", team: str | None = None) -> dict[str, Any]:
        """Register a model; ``team`` (an existing team) owns it."""
        _check_name("model name", name)
        if domain not in self.policy.domains:
            raise StewardError(f"domain {domain!r} is not one the policy knows; use one of: {', '.join(self.policy.domains)}")
        try:
            with self.tx() as s:
                team_id = self._team(s, team).id if team is not None else None
                if team is not None:
                    self._may_register_into(s, actor, team_id, team)
                m = Model(name=name, purpose=purpose, domain=domain, owner=owner,
                          accountable_executive=accountable_executive, status="in_development", team_id=team_id)
                s.add(m)
                s.flush()
                _trail.append(s, actor, "model.register", f"model:{name}",
                              {"purpose": purpose, "domain": domain, "owner": owner,
                               "accountable_executive": accountable_executive, "team": team})
        except IntegrityError:
            raise ConflictError(f"a model named {name!r} is already registered") from None
        return self.model(name)

    def register_version(self, model: str, version: str, *, actor: str, artifact_uri: str | None = None,
                         artifact_sha256: str | None = None, training_data_sha256: str | None = None,
                         environment: dict[str, Any] | None = None, seeds: dict[str, Any] | None = None,
                         code_revision: str | None = None, privacy: dict[str, Any] | None = None) -> dict[str, Any]:
        """Register a version; the environment is captured here when not given. Earlier approved
        versions are superseded: a new version resets approval.

        ``privacy`` records how the version was trained with differential privacy (the ``record`` of
        :func:`steward.privacy.private_training`): checked here (a :class:`DataValidationError` naming the
        field), stored on the version and in its trail entry."""
        from steward.governance._environment import capture_environment
        from steward.governance._privacy import check_privacy_record

        _check_name("version", version)
        privacy = check_privacy_record(privacy)
        for what, digest in (("artifact_sha256", artifact_sha256), ("training_data_sha256", training_data_sha256)):
            if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise StewardError(f"{what} must be 64 lowercase hex digits (a SHA-256), got {digest!r}")
        env = environment if environment is not None else capture_environment()
        try:
            with self.tx() as s:
                m = self._model(s, model)
                superseded = []
                for old in m.versions:
                    if old.status == "approved":
                        old.status = "superseded"
                        superseded.append(old.version)
                v = Version(model_id=m.id, version=version, artifact_uri=artifact_uri, artifact_sha256=artifact_sha256,
                            training_data_sha256=training_data_sha256, environment=env, seeds=seeds or {},
                            code_revision=code_revision, privacy=privacy, status="registered", registered_by=actor)
                s.add(v)
                m.status, m.updated_at = "in_development", now()
                s.flush()
                _trail.append(s, actor, "version.register", f"version:{model}:{version}",
                              {"artifact_uri": artifact_uri, "artifact_sha256": artifact_sha256,
                               "training_data_sha256": training_data_sha256, "environment": env, "seeds": seeds or {},
                               "code_revision": code_revision, "privacy": privacy, "superseded": superseded})
        except IntegrityError:
            raise ConflictError(f"model {model!r} already has a version {version!r}; versions are never overwritten") from None
        return self.version(model, version)

    def assess_risk(self, model: str, answers: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """Record answers to the policy's risk questions and the tier they yield."""
        tier, reason = self.policy.assign_tier(answers)
        with self.tx() as s:
            m = self._model(s, model)
            before = self._latest_risk(s, m)
            order = list(self.policy.tiers)  # highest risk first
            if (before is not None and before.tier in order and order.index(tier.name) > order.index(before.tier)):
                # A lower tier asks less evidence: the builders of the model may not grant it to themselves.
                p = s.execute(select(Principal).where(Principal.name == actor)).scalar_one_or_none()
                builders = {v.registered_by for v in m.versions}
                if p is None or not {"validator", "executive"} & set(p.roles) or actor in builders:
                    raise PermissionDenied(
                        f"these answers lower {model}'s risk tier from {before.tier!r} to {tier.name!r}; a lower tier "
                        f"needs less evidence, so a validator or executive who did not register its versions must "
                        f"record this assessment")
            ra = RiskAssessment(model_id=m.id, answers=dict(answers), tier=tier.name, tier_reason=reason,
                                policy_name=self.policy.name, policy_version=self.policy.version,
                                policy_sha256=self.policy.sha256, assessed_by=actor)
            s.add(ra)
            m.domain, m.updated_at = answers.get("domain", m.domain), now()
            s.flush()
            _trail.append(s, actor, "risk.assess", f"model:{model}", {"answers": dict(answers), "tier": tier.name})
            return _risk_dict(ra)

    def record_audit(self, model: str, version: str, result: Any, *, actor: str,
                     context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Store an audit run (an ``AuditResult``) with its reports. A new audit resets approval."""
        return self.record_audit_report(model, version, report=result.to_dict(), report_html=result.to_html(),
                                        model_card=result.model_card(), actor=actor, context=context)

    def record_audit_report(self, model: str, version: str, *, report: dict[str, Any], report_html: str,
                            model_card: str, actor: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Store an audit run from its reports (``report.json`` as a dict, the HTML report, the model card).

        ``context`` says where it ran (:func:`steward.governance._context.run_context`): kept as the
        recorder's claim."""
        from steward.governance._context import check_context
        from steward.governance._evidence import rederive
        from steward.governance._reports import check_report

        check_report(report)
        context = check_context(context)
        claimed = report["policy"]
        with self.tx() as s:  # what the registry believes: its stored policy and the model's recorded tier
            m, v = self._version(s, model, version)
            ra = self._latest_risk(s, m)
            policy = None if claimed is None else self._stored_policy(s, claimed["sha256"])
            registered_model = v.artifact_sha256
            earlier = [json.loads(r.report_json).get("roles") or {} for r in s.execute(
                select(AuditRun).where(AuditRun.version_id == v.id).order_by(AuditRun.id)).scalars()]
        _same_roles(model, version, earlier, report.get("roles"))
        scored_with = (report.get("model") or {}).get("sha256") if isinstance(report.get("model"), dict) else None
        if registered_model and scored_with and scored_with != registered_model:
            raise StewardError(f"the audit scored with a model of SHA-256 {scored_with[:12]}... but {model}:{version} "
                               f"was registered with artifact {registered_model[:12]}...; audit the registered model")
        tier = None
        if claimed is not None:
            tier = ra.tier if ra is not None else claimed["tier"]
            if claimed["tier"] != tier:
                raise StewardError(f"the report was held to tier {claimed['tier']!r} but {model}'s recorded risk tier is "
                                   f"{tier!r}; audit again under tier {tier!r} (or without --tier)")
        verdict = rederive(report, policy, tier)
        with self.tx() as s:
            m, v = self._version(s, model, version)
            ra = self._latest_risk(s, m)
            if claimed is not None and ra is not None and ra.tier != tier:  # re-assessed meanwhile
                raise ConflictError(f"{model}'s risk tier changed to {ra.tier!r} while the audit was checked; send it again")
            findings = verdict.findings
            run = AuditRun(
                version_id=v.id, policy_name=policy.name if policy else None,
                policy_version=policy.version if policy else None,
                policy_sha256=policy.sha256 if policy else None, tier=tier,
                passed=verdict.passed, n_fail=verdict.count("fail"), n_warn=verdict.count("warn"),
                n_not_evidenced=verdict.count("not_evidenced"), rows=report["source"].get("rows"),
                data_sha256=report["source"].get("sha256"), findings=findings,
                report_json=json.dumps(report, allow_nan=False), report_html=report_html, model_card=model_card,
                created_by=actor, context=context,
            )
            s.add(run)
            was_approved = v.status == "approved"
            if was_approved:
                v.status, v.approved_at, v.approved_by = "registered", None, None
            m.status, m.updated_at = "in_review", now()
            s.flush()
            _trail.append(s, actor, "audit.record", f"version:{model}:{version}",
                          {"audit_run": run.id, "passed": run.passed, "policy_sha256": run.policy_sha256,
                           "tier": run.tier, "data_sha256": run.data_sha256, "n_fail": run.n_fail,
                           "n_not_evidenced": run.n_not_evidenced, "approval_reset": was_approved,
                           "context": context})
            return _audit_dict(run)

    # --- reading ---------------------------------------------------------------------------

    def models(self, *, tier: str | None = None, status: str | None = None, owner: str | None = None,
               failing: bool | None = None, team: str | None = None) -> list[dict[str, Any]]:
        """The inventory: one row per model with its tier, newest version and latest verdict."""
        self.lapse_acceptances()
        out = []
        with self.tx() as s:
            team_id = self._team(s, team).id if team is not None else None
            for m in s.execute(select(Model).order_by(Model.name)).scalars():
                if team is not None and m.team_id != team_id:
                    continue
                row = self._summary(s, m)
                if tier is not None and row["tier"] != tier:
                    continue
                if status is not None and row["status"] != status:
                    continue
                if owner is not None and owner.lower() not in (row["owner"] or "").lower():
                    continue
                if failing is not None and (row["latest_audit"] is not None and row["latest_audit"]["passed"] is False) != failing:
                    continue
                out.append(row)
        return out

    def _summary(self, s: Session, m: Model) -> dict[str, Any]:
        ra = self._latest_risk(s, m)
        newest = m.versions[-1] if m.versions else None
        audit = self._latest_audit(s, newest) if newest is not None else None
        open_incidents = s.execute(select(func.count()).select_from(Incident).where(
            Incident.model_id == m.id, Incident.status != "resolved")).scalar_one()
        team = s.get(Team, m.team_id) if m.team_id is not None else None
        return {
            "name": m.name, "purpose": m.purpose, "domain": m.domain, "owner": m.owner,
            "team": team.name if team else None, "team_contact": team.contact if team else None,
            "accountable_executive": m.accountable_executive, "status": m.status,
            "tier": ra.tier if ra else None, "latest_version": newest.version if newest else None,
            "latest_version_status": newest.status if newest else None,
            "latest_audit": _audit_dict(audit) if audit else None, "open_incidents": open_incidents,
            "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        }

    def model(self, name: str) -> dict[str, Any]:
        """Everything about one model: versions with audits and sign-offs, risk, incidents, trail."""
        self.lapse_acceptances()
        with self.tx() as s:
            m = self._model(s, name)
            row = self._summary(s, m)
            ra = self._latest_risk(s, m)
            row["risk"] = _risk_dict(ra) if ra else None
            row["required_sign_off"] = list(self.policy.tier(ra.tier).sign_off) if ra and ra.tier in self.policy.tiers else []
            row["versions"] = [self._version_dict(s, m, v) for v in reversed(m.versions)]
            # The registry's own reasons the newest version cannot be approved now (what `approve` would say).
            newest = m.versions[-1] if m.versions else None
            row["approval_blockers"] = (["no version is registered yet"] if newest is None else
                                        [] if newest.status == "approved" else self.approval_problems(s, m, newest))
            row["incidents"] = [self._incident_dict(s, i, brief=True) for i in s.execute(
                select(Incident).where(Incident.model_id == m.id).order_by(Incident.id.desc())).scalars()]
            subjects = [f"model:{name}"] + [f"version:{name}:{v.version}" for v in m.versions]
            row["trail"] = [_trail_dict(e) for e in s.execute(
                select(TrailEntry).where(TrailEntry.subject.in_(subjects)).order_by(TrailEntry.seq.desc()).limit(100)).scalars()]
            return row

    def version(self, model: str, version: str) -> dict[str, Any]:
        self.lapse_acceptances()
        with self.tx() as s:
            m, v = self._version(s, model, version)
            return self._version_dict(s, m, v)

    def _version_dict(self, s: Session, m: Model, v: Version) -> dict[str, Any]:
        audits = s.execute(select(AuditRun).where(AuditRun.version_id == v.id).order_by(AuditRun.id.desc())).scalars().all()
        signoffs = s.execute(select(SignOff).where(SignOff.version_id == v.id).order_by(SignOff.id.desc())).scalars().all()
        latest = audits[0].id if audits else None
        return {
            "model": m.name, "version": v.version, "status": v.status, "artifact_uri": v.artifact_uri,
            "artifact_sha256": v.artifact_sha256, "training_data_sha256": v.training_data_sha256,
            "environment": v.environment, "seeds": v.seeds, "code_revision": v.code_revision, "privacy": v.privacy,
            "registered_by": v.registered_by, "created_at": iso(v.created_at),
            "approved_at": iso(v.approved_at), "approved_by": v.approved_by,
            "audits": [dict(_audit_dict(a), reproductions=[reproduction_dict(r) for r in self._reproductions(s, a.id)])
                       for a in audits],
            "acceptances": [acceptance_dict(a) for a in s.execute(
                select(Acceptance).where(Acceptance.version_id == v.id).order_by(Acceptance.id.desc())).scalars()],
            "sign_offs": [dict(_signoff_dict(x), current=x.audit_run_id == latest) for x in signoffs],
        }

    def audit_run(self, run_id: int) -> dict[str, Any]:
        """One audit run with its full reports (JSON, HTML, model card)."""
        with self.tx() as s:
            run = s.get(AuditRun, run_id)
            if run is None:
                raise NotFoundError(f"no audit run {run_id}")
            v = s.get(Version, run.version_id)
            m = s.get(Model, v.model_id)
            accepted = [acceptance_dict(a) for a in s.execute(
                select(Acceptance).where(Acceptance.audit_run_id == run.id).order_by(Acceptance.id)).scalars()]
            return dict(_audit_dict(run), model=m.name, version=v.version, findings=run.findings,
                        reproductions=[reproduction_dict(r) for r in self._reproductions(s, run.id)],
                        acceptances=accepted, report_html=run.report_html, report_json=run.report_json,
                        model_card=run.model_card + _registry_card_section(run, accepted))

    def trail(self, *, subject: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        with self.tx() as s:
            q = select(TrailEntry).order_by(TrailEntry.seq.desc()).limit(limit)
            if subject is not None:
                q = q.where(TrailEntry.subject == subject)
            return [_trail_dict(e) for e in s.execute(q).scalars()]

    def verify_trail(self, checkpoint: dict[str, Any] | None = None) -> _trail.TrailReport:
        """Check the trail's chain and keys, every governed row against it, and (given) a checkpoint
        from :meth:`trail_checkpoint`; a damaged database is a problem in the report."""
        with self._sessions() as s:  # read only; closing rolls back, whatever verify found
            return _trail.verify(s, self.trail_key, checkpoint)

    def trail_checkpoint(self) -> dict[str, Any]:
        """The trail's head signed with the trail key, to keep outside the database's reach."""
        with self._sessions() as s:
            return _trail.checkpoint(s, self.trail_key)

