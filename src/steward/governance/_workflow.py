"""Workflow rules: sign-offs and approval for deployment.

A version may be approved only when (1) the model has a risk assessment, (2) its latest audit was
held to the *current* policy, under the model's tier, and passed, and (3) every sign-off role the
tier requires has approved that latest audit, with no later rejection. A rejection needs a
comment. A new audit or a new version resets approval (see ``record_audit``/``register_version``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from steward.errors import StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._tables import SignOff, now
from steward.governance._views import signoff_dict

__all__ = ["WorkflowMixin", "DECISIONS"]

DECISIONS = ("approve", "reject")


class WorkflowMixin:
    def sign_off(self, model: str, version: str, *, role: str, person: str, decision: str, comment: str = "",
                 actor: str) -> dict[str, Any]:
        """Record one person's sign-off, in one role, on the version's latest audit."""
        if decision not in DECISIONS:
            raise StewardError(f"decision must be 'approve' or 'reject', got {decision!r}")
        if not person or not person.strip():
            raise StewardError("say who signs: person must not be empty")
        if decision == "reject" and not (comment or "").strip():
            raise WorkflowError("a rejection needs a comment saying why, so the owner can act on it")
        with self.tx() as s:
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
            x = SignOff(version_id=v.id, audit_run_id=run.id, role=role, person=person.strip(), decision=decision,
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
        elif not run.passed:
            problems.append(f"the latest audit (#{run.id}) failed the policy ({run.n_fail} failing finding(s))")
        signoffs = s.execute(select(SignOff).where(SignOff.audit_run_id == run.id).order_by(SignOff.id)).scalars().all()
        for role in tier.sign_off:
            mine = [x for x in signoffs if x.role == role]
            if not mine:
                problems.append(f"no {role} has signed off the latest audit")
            elif mine[-1].decision != "approve":
                problems.append(f"the {role} {mine[-1].person} rejected it: {mine[-1].comment}")
        return problems

    def approve(self, model: str, version: str, *, actor: str) -> dict[str, Any]:
        """Mark the version approved for deployment, or refuse with every reason it cannot be."""
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
            _trail.append(s, actor, "version.approve", f"version:{model}:{version}",
                          {"audit_run": run.id, "policy_sha256": run.policy_sha256})
        return self.version(model, version)
