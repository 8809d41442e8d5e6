"""Rows of the registry as JSON-safe dicts, for the API, the CLI and the web pages."""

from __future__ import annotations

from typing import Any

from steward.governance._tables import Acceptance, AuditRun, Reproduction, RiskAssessment, SignOff, TrailEntry, iso

__all__ = ["audit_dict", "risk_dict", "signoff_dict", "trail_dict", "acceptance_dict", "reproduction_dict"]

def risk_dict(ra: RiskAssessment) -> dict[str, Any]:
    return {"answers": ra.answers, "tier": ra.tier, "tier_reason": ra.tier_reason, "policy_name": ra.policy_name,
            "policy_version": ra.policy_version, "policy_sha256": ra.policy_sha256, "assessed_by": ra.assessed_by,
            "created_at": iso(ra.created_at)}


def audit_dict(a: AuditRun) -> dict[str, Any]:
    return {"id": a.id, "policy_name": a.policy_name, "policy_version": a.policy_version,
            "policy_sha256": a.policy_sha256, "tier": a.tier, "passed": a.passed, "n_fail": a.n_fail,
            "n_warn": a.n_warn, "n_not_evidenced": a.n_not_evidenced, "rows": a.rows, "data_sha256": a.data_sha256, "created_by": a.created_by,
            "created_at": iso(a.created_at), "context": a.context}


def signoff_dict(x: SignOff) -> dict[str, Any]:
    return {"id": x.id, "role": x.role, "person": x.person, "decision": x.decision, "comment": x.comment,
            "audit_run": x.audit_run_id, "recorded_by": x.recorded_by, "created_at": iso(x.created_at)}


def trail_dict(e: TrailEntry) -> dict[str, Any]:
    return {"seq": e.seq, "created_at": e.created_at, "actor": e.actor, "action": e.action, "subject": e.subject,
            "payload": e.payload, "hash": e.hash}


def acceptance_dict(a: Acceptance) -> dict[str, Any]:
    return {"id": a.id, "audit_run": a.audit_run_id, "check": a.check_name, "reason": a.reason, "until": iso(a.until), "accepted_by": a.accepted_by,
            "status": a.status, "lapsed_at": iso(a.lapsed_at), "created_at": iso(a.created_at)}


def reproduction_dict(r: Reproduction) -> dict[str, Any]:
    return {"id": r.id, "audit_run": r.audit_run_id, "outcome": r.outcome, "detail": r.detail,
            "data_sha256": r.data_sha256, "model_sha256": r.model_sha256, "run_by": r.run_by,
            "created_at": iso(r.created_at)}
