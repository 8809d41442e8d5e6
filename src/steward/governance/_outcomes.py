"""What became of each logged decision: the model's decision, a reviewer's, appeals and the final decision,
read in a few queries for a whole window of a deployment's log (the audit of decisions after review reads
these rows); and the card info a version was audited with (the notice's wording and contact).

The final decision follows :meth:`ReviewMixin.prediction_history`: the latest final review decision (of a
decision's review or of an appeal), else the decision the guard answered; a decision routed to a person
whose review item is still open is ``pending_review``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from steward.errors import NotFoundError
from steward.governance._tables import (
    Appeal,
    AuditRun,
    Deployment,
    Model,
    Prediction,
    ReviewDecision,
    ReviewItem,
    Version,
    iso,
)

__all__ = ["OutcomesMixin", "card_info_of", "model_decision"]

# Routes whose logged decision is not the model's (an interim answer while a person reviews, or a kill switch's
# safe default); the model's own decision, when it made one, is in ``detail.model_decision``.
NOT_THE_MODELS = ("review", "kill_switch")


def model_decision(route: str, decision: int | None, detail: dict[str, Any] | None) -> int | None:
    """The decision made before any person looked: the guard's answer, or for a routed decision the model's
    own (None when no model decided, e.g. under the kill switch)."""
    if route in NOT_THE_MODELS:
        got = (detail or {}).get("model_decision")
        return None if got is None else int(got)
    return decision


class OutcomesMixin:
    """Registry methods: each logged decision's outcome after review and appeal, and a version's card info."""

    def decision_outcomes(self, name: str, *, since: datetime | None = None, until: datetime | None = None,
                          limit: int | None = None) -> list[dict[str, Any]]:
        """One row per logged decision of every deployment named ``name`` in ``[since, until)`` (the newest
        ``limit`` when given), oldest first; refused rows (no decision) are left out. Each row: the protected
        attributes the guard recorded, the model's decision, whether a person reviewed it and what they
        decided, its appeals, and the final decision with who settled it; ``appeal_of`` names the decision
        an appeal's re-scoring belongs to (such a row is part of that appeal, not a decision of its own)."""
        with self._sessions() as s:
            deps = {d.id: d for d in s.execute(select(Deployment).where(Deployment.name == name)).scalars()}
            if not deps:
                raise NotFoundError(f"no deployment named {name!r}; `steward deployments list` shows them")
            q = self._log_query(name, since, until).where(Prediction.decision.is_not(None))
            if limit is not None:
                q = q.order_by(None).order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(limit)
            preds = list(s.execute(q).scalars())
            if limit is not None:
                preds.reverse()
            ids = [p.id for p in preds]
            finals: dict[str, list[tuple[ReviewDecision, str]]] = {}
            open_items: set[str] = set()
            appeals: dict[str, list[Appeal]] = {}
            for chunk in _chunks(ids):
                for r, kind in s.execute(select(ReviewDecision, ReviewItem.kind)
                                         .join(ReviewItem, ReviewItem.id == ReviewDecision.review_item_id)
                                         .where(ReviewDecision.prediction_id.in_(chunk),
                                                ReviewDecision.status == "final")
                                         .order_by(ReviewDecision.id)).all():
                    finals.setdefault(r.prediction_id, []).append((r, kind))
                open_items.update(s.execute(select(ReviewItem.prediction_id).where(
                    ReviewItem.prediction_id.in_(chunk), ReviewItem.status != "decided")).scalars())
                for a in s.execute(select(Appeal).where(Appeal.prediction_id.in_(chunk)).order_by(Appeal.id)).scalars():
                    appeals.setdefault(a.prediction_id, []).append(a)
            out = []
            for p in preds:
                decided = finals.get(p.id, [])
                reviews = [r for r, kind in decided if kind != "appeal"]
                if decided:
                    final, by = decided[-1][0].decision, ("appeal" if decided[-1][1] == "appeal" else "review")
                else:
                    final = p.decision
                    by = "pending_review" if p.route in NOT_THE_MODELS and p.id in open_items else "model"
                guard = deps[p.deployment_id].guard or {}
                out.append({
                    "prediction_id": p.id, "created_at": iso(p.created_at), "route": p.route,
                    "favourable": int(guard.get("favourable", 1)),
                    "protected": dict((p.detail or {}).get("protected") or {}),
                    "answered": p.decision, "model_decision": model_decision(p.route, p.decision, p.detail),
                    "reviewed": bool(reviews), "review_decision": reviews[-1].decision if reviews else None,
                    "review_action": reviews[-1].action if reviews else None,
                    "final_decision": final, "settled_by": by,
                    "appeal_of": (p.detail or {}).get("appeal_of"),
                    "appeals": [{"id": a.id, "status": a.status, "created_at": iso(a.created_at),
                                 "decided_at": iso(a.decided_at)} for a in appeals.get(p.id, [])],
                })
            return out

    def card_info(self, model: str, version: str) -> dict[str, Any] | None:
        """The card info (owner, contact, ``wording:``, ...) of the newest audit of ``model:version`` that
        carried one, as recorded in its report; None when no audit did."""
        with self._sessions() as s:
            v = s.execute(select(Version).join(Model, Model.id == Version.model_id)
                          .where(Model.name == model, Version.version == version)).scalar_one_or_none()
            if v is None:
                raise NotFoundError(f"no version {model}:{version}")
            for text in s.execute(select(AuditRun.report_json).where(AuditRun.version_id == v.id)
                                  .order_by(AuditRun.id.desc()).limit(20)).scalars():
                info = _card_of(text)
                if info:
                    return info
        return None

    def model_domain(self, model: str) -> str | None:
        """The domain a model was registered in (``credit``, ``marketing``, ...); None for no such model."""
        with self._sessions() as s:
            return s.execute(select(Model.domain).where(Model.name == model)).scalar_one_or_none()


def _card_of(report_json: str | None) -> dict[str, Any] | None:
    try:
        info = json.loads(report_json or "{}").get("card_info")
    except (ValueError, AttributeError):
        return None
    return info if isinstance(info, dict) and info else None


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    """Ids in chunks small enough for one IN list on every database."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def card_info_of(backend: Any, ref: str | None) -> dict[str, Any] | None:
    """The card info of version ``ref`` (MODEL:VERSION) from a local registry or a server (through the
    version's audits and their stored reports); None when there is none or no ref."""
    if not ref:
        return None
    from steward.governance._registry import parse_ref

    model, version = parse_ref(ref)
    if hasattr(backend, "card_info"):
        return backend.card_info(model, version)
    for run in backend.version(model, version).get("audits", [])[:20]:
        info = backend.audit_report(run["id"]).get("card_info")
        if isinstance(info, dict) and info:
            return info
    return None
