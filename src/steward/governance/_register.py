"""Record an audit against ``MODEL:VERSION``, creating the model, version and risk assessment on first use."""

from __future__ import annotations

from typing import Any

from steward.errors import NotFoundError
from steward.governance._registry import parse_ref

__all__ = ["record_audit_run"]


def record_audit_run(backend: Any, ref: str, result: Any, *, actor: str,
                     artifact_uri: str | None = None, seeds: dict | None = None,
                     code_revision: str | None = None, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store ``result`` as an audit run of ``MODEL:VERSION`` in a :class:`Registry` or a remote one.

    A model that is not registered yet is registered from the card info (purpose, owner, accountable
    executive; domain from its risk answers); a new version is registered with the environment
    captured here; when the card has risk answers and the model has no assessment (or other
    answers), they are recorded. Returns the audit run.
    """
    from steward.governance._environment import capture_environment

    model, version = parse_ref(ref)
    card = result.card
    risk = card.risk.model_dump() if card is not None and card.risk is not None else None
    try:
        existing = backend.model(model)
    except NotFoundError:
        details = card.model if card is not None else None
        uses = card.intended_use.primary_uses if card is not None else None
        backend.register_model(
            model, actor=actor, purpose=" ".join(uses) if isinstance(uses, list) else (uses or ""),
            domain=risk["domain"] if risk else "other",
            owner=(details.owner or "") if details else "",
            accountable_executive=(details.accountable_executive or "") if details else "")
        existing = backend.model(model)
    if version not in {v["version"] for v in existing["versions"]}:
        backend.register_version(model, version, actor=actor, artifact_uri=artifact_uri,
                                 training_data_sha256=None, environment=capture_environment(), seeds=seeds or {},
                                 code_revision=code_revision)
    if risk is not None and (existing.get("risk") is None or existing["risk"]["answers"] != risk):
        backend.assess_risk(model, risk, actor=actor)
    return backend.record_audit(model, version, result, actor=actor, context=context)
