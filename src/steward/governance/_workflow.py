"""Workflow rules: sign-offs and approval for deployment.

A version may be approved only when (1) the model has a risk assessment, (2) its latest audit was
held to the *current* policy, under the model's tier, and no finding the registry derived fails or
lacks evidence unless an executive's acceptance of that check is in force, (3) every sign-off
role the tier requires has approved that latest audit, with no later rejection, (4) with
``distinct_signers`` the sign-offs come from different principals, none of whom registered the
version or uploaded the audit, and (5) with ``require_reproduction`` a validator reproduced the
audit. A sign-off is made by an authenticated principal in a role it holds. A rejection needs a
comment. A new audit or a new version resets approval (see ``record_audit``/``register_version``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from steward.audit._findings import BLOCKING
from steward.errors import PermissionDenied, StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._tables import Principal, SignOff, now
from steward.governance._views import signoff_dict

__all__ = ["WorkflowMixin", "DECISIONS"]

DECISIONS = ("approve", "reject")


class WorkflowMixin:
    def _holds(self, s, actor: str, role: str, what: str) -> Principal:
        """The principal ``actor`` if it holds ``role``; sign-offs, acceptances and reproductions are
        never made in a name that is not an enabled principal's."""
        p = s.execute(select(Principal).where(Principal.name == actor)).scalar_one_or_none()
        if p is None or p.disabled:
            raise PermissionDenied(f"{actor!r} is not a principal of this registry, so it cannot {what}; "
                                   f"act with an API key (steward keys create)")
        if role not in p.roles:
            raise PermissionDenied(f"{actor} cannot {what} as {role}: their roles are {', '.join(p.roles)}")
        return p

    def sign_off(self, model: str, version: str, *, role: str, decision: str, comment: str = "",
                 actor: str, person: str | None = None) -> dict[str, Any]:
        """Record the principal ``actor``'s sign-off, in a role it holds, on the version's latest audit."""
        if decision not in DECISIONS:
            raise StewardError(f"decision must be 'approve' or 'reject', got {decision!r}")
        if person is not None and person != actor:
            raise PermissionDenied(f"a sign-off is made by the principal who signs ({actor}), not in the name of {person!r}")
        person = actor
        if decision == "reject" and not (comment or "").strip():
            raise WorkflowError("a rejection needs a comment saying why, so the owner can act on it")
        self.lapse_acceptances()
        with self.tx() as s:
            self._holds(s, actor, role, "sign off")
            m, v = self._version(s, model, version)
            ra = self._latest_risk(s, m)
            if ra is None:
                raise WorkflowError(f"model {model!r} has no risk assessment yet, so no tier says who must sign off; "
                                    f"assess its risk first")
            required = self.policy.tier(ra.tier).sign_off
            if role not in required:
                raise WorkflowError(f"the {ra.tier}-risk tier asks sign-off from {', '.join(required) or 'nobody'}; "
                                    f"{role!r} is not one of them")
            run = self._latest_audit(s, v)
            if run is None:
                raise WorkflowError(f"{model}:{version} has no audit yet; a sign-off approves an audit, so record one first")
            if self.policy.tier(ra.tier).distinct_signers and decision == "approve":
                conflict = self._duty_conflict(s, v, run, person, role)
                if conflict:
                    raise WorkflowError(f"separation of duties (distinct_signers in the {ra.tier}-risk tier): {conflict}")
            x = SignOff(version_id=v.id, audit_run_id=run.id, role=role, person=person, decision=decision,
                        comment=comment or "", recorded_by=actor)
            s.add(x)
            revoked = False
            if decision == "reject" and v.status == "approved":
                v.status, v.approved_at, v.approved_by, revoked = "registered", None, None, True
                m.status = "in_review"
            m.updated_at = now()
            s.flush()
            _trail.append(s, actor, f"signoff.{decision}", f"version:{model}:{version}",
                          {"role": role, "person": x.person, "comment": x.comment, "audit_run": run.id,
                           "approval_revoked": revoked})
            if revoked:
                why = f"{actor} rejected {model}:{version} as {role}: {comment}"
                tripped = self._trip_on_revocation(s, v, actor, why)
                if tripped:
                    self._incident_for_trip(s, v, actor, tripped, why)
            return signoff_dict(x)

    def approval_problems(self, s, m, v) -> list[str]:
        """Why the version cannot be approved now (empty when it can)."""
        problems: list[str] = []
        newest = m.versions[-1]
        if newest.id != v.id:
            problems.append(f"{v.version} is not the newest version ({newest.version}); approve the newest")
        ra = self._latest_risk(s, m)
        if ra is None:
            return problems + ["the model has no risk assessment, so it has no tier"]
        if ra.tier not in self.policy.tiers:
            return problems + [f"the model's tier {ra.tier!r} is not in the current policy; assess its risk again"]
        tier = self.policy.tier(ra.tier)
        run = self._latest_audit(s, v)
        if run is None:
            return problems + ["no audit is recorded for this version"]
        if run.policy_sha256 is None:
            problems.append(f"the latest audit (#{run.id}) was not held to a policy; audit with --policy")
        elif run.policy_sha256 != self.policy.sha256:
            problems.append(f"the latest audit (#{run.id}) was held to {run.policy_name} version {run.policy_version}, "
                            f"not the current policy ({self.policy.name} version {self.policy.version}); audit again")
        elif run.tier != tier.name:
            problems.append(f"the latest audit (#{run.id}) used tier {run.tier!r} but the model's risk tier is {tier.name!r}")
        else:
            accepted = self._accepted_checks(s, v)
            blocking: dict[str, list[dict]] = {}
            for f in run.findings:
                if f["status"] in BLOCKING and f["check"] not in accepted:
                    blocking.setdefault(f["check"], []).append(f)
            for check, items in blocking.items():
                missing = [f for f in items if f["status"] == "not_evidenced"]
                if missing:
                    problems.append(f"check {check} is not evidenced in the latest audit (#{run.id}); it would run with: "
                                    f"{missing[0].get('needs') or 'its inputs'} (or an executive accepts it)")
                else:
                    problems.append(f"check {check} fails in the latest audit (#{run.id}) ({len(items)} failing "
                                    f"finding(s)); fix the model or an executive accepts it")
        signoffs = s.execute(select(SignOff).where(SignOff.audit_run_id == run.id).order_by(SignOff.id)).scalars().all()
        approving = []
        for role in tier.sign_off:
            mine = [x for x in signoffs if x.role == role]
            if not mine:
                problems.append(f"no {role} has signed off the latest audit")
            elif mine[-1].decision != "approve":
                problems.append(f"the {role} {mine[-1].person} rejected it: {mine[-1].comment}")
            else:
                approving.append(mine[-1])
        if tier.distinct_signers:
            seen: dict[str, str] = {}
            for x in approving:
                if x.person in seen:
                    problems.append(f"separation of duties: {x.person} signed off both as {seen[x.person]} and as "
                                    f"{x.role}; the tier needs distinct signers")
                seen.setdefault(x.person, x.role)
                if x.person in (v.registered_by, run.created_by):
                    did = "registered the version" if x.person == v.registered_by else "uploaded the audit"
                    problems.append(f"separation of duties: {x.person} {did} and cannot also sign it off as {x.role}")
        if tier.require_reproduction and not any(r.outcome == "reproduced" for r in self._reproductions(s, run.id)):
            problems.append(f"the tier requires the latest audit (#{run.id}) to be reproduced by a validator "
                            f"(steward reproduce); it has not been")
        return problems

    def _duty_conflict(self, s, v, run, person: str, role: str) -> str | None:
        """Why ``person`` may not approve ``run`` in ``role`` under distinct signers (None if they may)."""
        if person == v.registered_by:
            return f"{person} registered {v.version} and cannot also sign it off"
        if person == run.created_by:
            return f"{person} uploaded audit #{run.id} and cannot also sign it off"
        other = s.execute(select(SignOff).where(SignOff.audit_run_id == run.id, SignOff.person == person,
                                                SignOff.role != role, SignOff.decision == "approve")).scalars().first()
        if other is not None:
            return f"{person} already signed off audit #{run.id} as {other.role}; another person must sign as {role}"
        return None

    def approve(self, model: str, version: str, *, actor: str) -> dict[str, Any]:
        """Mark the version approved for deployment, or refuse with every reason it cannot be."""
        self.lapse_acceptances()
        with self.tx() as s:
            m, v = self._version(s, model, version)
            if v.status == "approved":
                raise WorkflowError(f"{model}:{version} is already approved (by {v.approved_by})")
            problems = self.approval_problems(s, m, v)
            if problems:
                raise WorkflowError(f"{model}:{version} cannot be approved for deployment: " + "; ".join(problems))
            v.status, v.approved_at, v.approved_by = "approved", now(), actor
            m.status, m.updated_at = "approved", now()
            run = self._latest_audit(s, v)
            accepted = sorted(self._accepted_checks(s, v))
            _trail.append(s, actor, "version.approve", f"version:{model}:{version}",
                          {"audit_run": run.id, "policy_sha256": run.policy_sha256, "accepted_checks": accepted})
        return self.version(model, version)
