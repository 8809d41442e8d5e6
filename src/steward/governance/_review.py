"""Humans in the loop: review decisions, appeals, final decisions with their history, escalation of overdue
items and the callbacks that tell an application a routed decision is settled.

A logged prediction is never rewritten. A reviewer's decision is a record of its own linked to it (who,
what, why), and so is an appeal and its outcome; the *final* decision is the latest final review decision,
else the decision the guard answered. Every decision and appeal is in the trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from steward.errors import NotFoundError, PermissionDenied, StewardError, WorkflowError
from steward.governance import _trail
from steward.governance._tables import (
    Appeal,
    Callback,
    Deployment,
    Prediction,
    ReviewDecision,
    ReviewItem,
    iso,
    now,
)

__all__ = ["ReviewMixin", "FINAL_ACTIONS"]

# Actions on a decision's review item, and on an appeal's.
DECISION_ACTIONS = ("confirm", "override")
APPEAL_ACTIONS = ("uphold", "overturn")
SECOND_ACTIONS = ("agree", "disagree")
FINAL_ACTIONS = DECISION_ACTIONS + APPEAL_ACTIONS + SECOND_ACTIONS


def _aware(t: datetime | None) -> datetime | None:
    from datetime import timezone

    return None if t is None else (t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc))


def _guard(s, deployment_id: int) -> tuple[Deployment, dict[str, Any]]:
    d = s.get(Deployment, deployment_id)
    return d, dict(d.guard or {})


def decision_dict(r: ReviewDecision) -> dict[str, Any]:
    return {"id": r.id, "review_item_id": r.review_item_id, "reviewer": r.reviewer, "action": r.action,
            "decision": r.decision, "reason": r.reason, "status": r.status, "at": iso(r.created_at)}


def appeal_dict(a: Appeal) -> dict[str, Any]:
    return {"id": a.id, "prediction_id": a.prediction_id, "statement": a.statement,
            "corrected_inputs": a.corrected_inputs, "rescored_prediction_id": a.rescored_prediction_id,
            "status": a.status, "outcome_reason": a.outcome_reason, "decided_by": a.decided_by,
            "filed_by": a.filed_by, "due_at": iso(a.due_at), "created_at": iso(a.created_at),
            "decided_at": iso(a.decided_at)}


class ReviewMixin:
    """Registry methods for review decisions, appeals, final decisions, escalation and callbacks."""

    # --- reading --------------------------------------------------------------------------------

    def _final(self, s, p: Prediction) -> tuple[int | None, str, str | None]:
        """(final decision, settled by: model | review | appeal, by whom)."""
        last = s.execute(select(ReviewDecision).where(ReviewDecision.prediction_id == p.id,
                                                      ReviewDecision.status == "final")
                         .order_by(ReviewDecision.id.desc()).limit(1)).scalar_one_or_none()
        if last is None:
            return p.decision, ("pending_review" if p.route in ("review", "kill_switch") and self._open_item(s, p)
                                else "model"), None
        item = s.get(ReviewItem, last.review_item_id)
        return last.decision, "appeal" if item.kind == "appeal" else "review", last.reviewer

    def _open_item(self, s, p: Prediction) -> bool:
        return s.execute(select(ReviewItem.id).where(ReviewItem.prediction_id == p.id,
                                                     ReviewItem.status != "decided")).first() is not None

    def prediction_history(self, prediction_id: str) -> dict[str, Any]:
        """The current (final) decision of a logged prediction and how it got there: model → review → appeal."""
        from steward.governance._deployments import _ref, prediction_dict

        with self._sessions() as s:
            p = s.get(Prediction, prediction_id)
            if p is None:
                raise NotFoundError(f"no prediction {prediction_id!r}")
            d = s.get(Deployment, p.deployment_id)
            out = prediction_dict(p, {d.id: _ref(s, d.version_id)}, s)
            final, by, who = self._final(s, p)
            steps = [{"step": "model", "at": iso(p.created_at), "route": p.route, "decision": p.decision,
                      "score": p.score, "by": out["version"] or "the guard", "reason": ", ".join(p.flags or [])}]
            for item in s.execute(select(ReviewItem).where(ReviewItem.prediction_id == p.id)
                                  .order_by(ReviewItem.id)).scalars():
                if item.kind == "appeal":
                    a = s.get(Appeal, item.appeal_id)
                    steps.append({"step": "appeal", "at": iso(a.created_at), "by": a.filed_by,
                                  "reason": a.statement, "decision": None,
                                  "rescored_prediction_id": a.rescored_prediction_id})
                for r in s.execute(select(ReviewDecision).where(ReviewDecision.review_item_id == item.id)
                                   .order_by(ReviewDecision.id)).scalars():
                    steps.append({"step": item.kind if item.kind == "appeal" else "review", "at": iso(r.created_at),
                                  "action": r.action, "decision": r.decision, "by": r.reviewer, "reason": r.reason,
                                  "status": r.status})
            appeals = [appeal_dict(a) for a in s.execute(select(Appeal).where(Appeal.prediction_id == p.id)
                                                         .order_by(Appeal.id)).scalars()]
            return {**out, "deployment": d.name, "final_decision": final, "settled_by": by, "settled_by_person": who,
                    "history": steps, "appeals": appeals}

    def review_item(self, item_id: int) -> dict[str, Any]:
        with self._sessions() as s:
            item = s.get(ReviewItem, item_id)
            if item is None:
                raise NotFoundError(f"no review item {item_id}")
            d = s.get(Deployment, item.deployment_id)
            decisions = [decision_dict(r) for r in s.execute(select(ReviewDecision).where(
                ReviewDecision.review_item_id == item.id).order_by(ReviewDecision.id)).scalars()]
            appeal = appeal_dict(s.get(Appeal, item.appeal_id)) if item.appeal_id else None
        return {"id": item.id, "kind": item.kind, "status": item.status, "deployment": d.name, "why": item.why,
                "interim_decision": item.interim_decision, "score": item.score, "reasons": item.reasons,
                "created_at": iso(item.created_at), "due_at": iso(item.due_at), "escalated_at": iso(item.escalated_at),
                "decisions": decisions, "appeal": appeal, "prediction": self.prediction_history(item.prediction_id)}

    # --- deciding -------------------------------------------------------------------------------

    def decide_review(self, item_id: int, *, action: str, actor: str, reason: str = "",
                      decision: int | None = None) -> dict[str, Any]:
        """Record ``actor``'s decision on a review item.

        ``confirm`` keeps the decision answered (or the model's, for a decision routed only for review);
        ``override`` sets ``decision`` (default: the other one) and needs a reason; on an appeal, ``uphold``
        keeps the current final decision and ``overturn`` changes it, both with a reason. When the guard asks
        for a second reviewer, turning an adverse decision favourable waits for another reviewer's ``agree``
        (``disagree`` sends the item back)."""
        if action not in FINAL_ACTIONS:
            raise StewardError(f"action must be one of {', '.join(FINAL_ACTIONS)}, got {action!r}")
        reason = (reason or "").strip()
        with self.tx() as s:
            item = s.get(ReviewItem, item_id)
            if item is None:
                raise NotFoundError(f"no review item {item_id}")
            p = s.get(Prediction, item.prediction_id)
            d, guard = _guard(s, item.deployment_id)
            favourable = int(guard.get("favourable", 1))
            adverse = 1 - favourable
            current, _, _ = self._final(s, p)
            if item.status == "decided":
                raise WorkflowError(f"review item {item_id} is already decided; an appeal reopens a decision")
            if item.status == "awaiting_second":
                return self._second(s, item, p, d, action, actor, reason)
            allowed = APPEAL_ACTIONS if item.kind == "appeal" else DECISION_ACTIONS
            if action not in allowed:
                raise WorkflowError(f"a {item.kind} review item is decided with {' or '.join(allowed)}, not {action!r}")
            if action in ("override", "overturn", "uphold") and not reason:
                raise WorkflowError(f"{action} needs a reason in plain words; it is stored beside the decision and "
                                    f"may be shown to the person")
            if action == "confirm":
                new = item.interim_decision if p.score is None else (p.decision if p.route != "review"
                                                                      else (p.detail or {}).get("model_decision",
                                                                                                item.interim_decision))
            elif action == "uphold":
                new = current
            else:
                new = decision if decision is not None else (1 - int(current if current is not None else adverse))
            if new not in (0, 1):
                raise StewardError(f"decision must be 0 or 1, got {new!r}")
            # a confirm that turns the adverse interim answer into the model's favourable decision is such a turn too
            needs_second = (action in ("confirm", "override", "overturn") and new == favourable and current == adverse
                            and (guard.get("review") or {}).get("second_reviewer", False))
            r = ReviewDecision(review_item_id=item.id, prediction_id=p.id, reviewer=actor, action=action,
                               decision=int(new), reason=reason, status="pending_second" if needs_second else "final")
            s.add(r)
            item.status = "awaiting_second" if needs_second else "decided"
            s.flush()
            _trail.append(s, actor, f"review.{action}", f"prediction:{p.id}",
                          {"review_item": item.id, "decision": int(new), "reason": reason,
                           "awaiting_second": needs_second, "deployment": d.name})
            if not needs_second:
                self._settled(s, item, p, d, guard, r)
            return decision_dict(r)

    def _second(self, s, item: ReviewItem, p: Prediction, d: Deployment, action: str, actor: str,
                reason: str) -> dict[str, Any]:
        if action not in SECOND_ACTIONS:
            raise WorkflowError(f"review item {item.id} waits for a second reviewer: agree or disagree")
        first = s.execute(select(ReviewDecision).where(ReviewDecision.review_item_id == item.id,
                                                       ReviewDecision.status == "pending_second")
                          .order_by(ReviewDecision.id.desc()).limit(1)).scalar_one()
        if first.reviewer == actor:
            raise PermissionDenied(f"{actor} made the override; a second reviewer must be someone else")
        if action == "disagree" and not reason:
            raise WorkflowError("disagree needs a reason, for the first reviewer and the record")
        first.status = "final" if action == "agree" else "declined"
        r = ReviewDecision(review_item_id=item.id, prediction_id=p.id, reviewer=actor, action=action,
                           decision=first.decision, reason=reason, status="final" if action == "agree" else "declined")
        s.add(r)
        item.status = "decided" if action == "agree" else "open"
        s.flush()
        _trail.append(s, actor, f"review.{action}", f"prediction:{p.id}",
                      {"review_item": item.id, "of": first.id, "decision": first.decision, "reason": reason})
        if action == "agree":
            self._settled(s, item, p, d, dict(d.guard or {}), first)
        return decision_dict(r)

    def _settled(self, s, item: ReviewItem, p: Prediction, d: Deployment, guard: dict[str, Any],
                 r: ReviewDecision) -> None:
        """A routed decision is final: close its appeal, if any, and queue the callback."""
        if item.kind == "appeal" and item.appeal_id:
            a = s.get(Appeal, item.appeal_id)
            before = s.execute(select(ReviewDecision.decision).where(
                ReviewDecision.prediction_id == p.id, ReviewDecision.status == "final",
                ReviewDecision.id < r.id).order_by(ReviewDecision.id.desc()).limit(1)).scalar_one_or_none()
            original = p.decision if before is None else before
            a.status = "overturned" if r.decision != original else "upheld"
            a.outcome_reason, a.decided_by, a.decided_at = r.reason, r.reviewer, now()
            s.flush()
            _trail.append(s, r.reviewer, f"appeal.{a.status}", f"prediction:{p.id}",
                          {"appeal": a.id, "decision": r.decision, "reason": r.reason})
        url = (guard.get("callback") or {}).get("url")
        if url:
            s.add(Callback(prediction_id=p.id, deployment_id=d.id, url=url, status="pending", attempts=0,
                           last_error="", next_attempt_at=now(),
                           payload={"prediction_id": p.id, "deployment": d.name, "final_decision": r.decision,
                                    "settled_by": "appeal" if item.kind == "appeal" else "review",
                                    "reason": r.reason, "at": iso(now())}))

    # --- appeals --------------------------------------------------------------------------------

    def prediction_guard(self, prediction_id: str) -> dict[str, Any]:
        """The guard settings of the deployment that made a logged decision (with its ``deployment`` name)."""
        with self._sessions() as s:
            p = s.get(Prediction, prediction_id)
            if p is None:
                raise NotFoundError(f"no prediction {prediction_id!r}")
            d, guard = _guard(s, p.deployment_id)
            return {**guard, "deployment": d.name, "created_at": _aware(p.created_at)}

    def appeal_window(self, prediction_id: str) -> tuple[datetime, dict[str, Any]]:
        """When the appeal window of a decision closes, and its deployment's guard settings."""
        guard = self.prediction_guard(prediction_id)
        days = float((guard.get("appeals") or {}).get("file_within_days", 30))
        return guard.pop("created_at") + timedelta(days=days), guard

    def open_appeal(self, prediction_id: str) -> int | None:
        """The id of the decision's appeal still open, if any."""
        with self._sessions() as s:
            row = s.execute(select(Appeal.id).where(Appeal.prediction_id == prediction_id,
                                                    Appeal.status == "open")).first()
            return None if row is None else row[0]

    def file_appeal(self, prediction_id: str, *, statement: str, actor: str, corrected_inputs: dict | None = None,
                    rescored_prediction_id: str | None = None, at: datetime | None = None) -> dict[str, Any]:
        """File a person's appeal (by the calling application): it becomes a review item due by the guard's
        ``appeals.decide_within_days``. Refused after the appeal window or while another appeal is open."""
        if not (statement or "").strip():
            raise StewardError("statement: give the person's reasons for appealing, in their words")
        closes, guard = self.appeal_window(prediction_id)
        t = at or now()
        if t > closes:
            raise WorkflowError(f"the appeal window of {prediction_id} closed on {closes.date().isoformat()} "
                                f"({guard.get('appeals', {}).get('file_within_days', 30):g} days after the decision)")
        with self.tx() as s:
            p = s.get(Prediction, prediction_id)
            busy = s.execute(select(Appeal.id).where(Appeal.prediction_id == p.id, Appeal.status == "open")).first()
            if busy is not None:
                raise WorkflowError(f"appeal {busy[0]} of {prediction_id} is still open; it is decided first")
            days = float((guard.get("appeals") or {}).get("decide_within_days", 14))
            a = Appeal(prediction_id=p.id, statement=statement.strip(), corrected_inputs=corrected_inputs,
                       rescored_prediction_id=rescored_prediction_id, status="open", outcome_reason="",
                       filed_by=actor, due_at=t + timedelta(days=days), created_at=t)
            s.add(a)
            s.flush()
            current, _, _ = self._final(s, p)
            rescored = s.get(Prediction, rescored_prediction_id) if rescored_prediction_id else None
            s.add(ReviewItem(prediction_id=p.id, deployment_id=p.deployment_id, kind="appeal", appeal_id=a.id,
                             why=["appeal"] + (["corrected_inputs"] if corrected_inputs else []),
                             interim_decision=current, score=rescored.score if rescored is not None else p.score,
                             reasons=(rescored.reasons if rescored is not None else p.reasons) or [],
                             status="open", created_at=t, due_at=a.due_at))
            s.flush()
            _trail.append(s, actor, "appeal.file", f"prediction:{p.id}",
                          {"appeal": a.id, "corrected_inputs": corrected_inputs is not None,
                           "rescored_prediction": rescored_prediction_id, "due_at": iso(a.due_at)})
            return appeal_dict(a)

    # --- deadlines and callbacks -----------------------------------------------------------------

    def escalate_overdue(self, *, actor: str = "steward (deadlines)", at: datetime | None = None) -> list[int]:
        """Mark review items past their deadline escalated (once); open an incident when the guard says so."""
        t = at or now()
        out: list[int] = []
        waiting = select(ReviewItem).where(ReviewItem.status != "decided", ReviewItem.escalated_at.is_(None))
        # a read first: most sweeps find nothing overdue, and need no write transaction
        with self._sessions() as s:
            if not any(self._due(s, item) <= t for item in s.execute(waiting).scalars()):
                return out
        with self.tx() as s:
            # (another process sweeping at the same time skips the items this one holds)
            for item in s.execute(waiting.order_by(ReviewItem.id).with_for_update(skip_locked=True)).scalars():
                d, guard = _guard(s, item.deployment_id)
                due = self._due(s, item)
                if due > t:
                    continue
                item.escalated_at = t
                out.append(item.id)
                _trail.append(s, actor, "review.escalate", f"prediction:{item.prediction_id}",
                              {"review_item": item.id, "kind": item.kind, "due_at": iso(due), "deployment": d.name})
                if (guard.get("review") or {}).get("escalate_incident"):
                    v = d.version_id
                    from steward.governance._tables import Version

                    ver = s.get(Version, v)
                    inc = self._new_incident(s, ver.model, ver, actor=actor, severity="medium",
                                             title=f"Overdue {item.kind} review on {d.name} (item {item.id})",
                                             description=f"Review item {item.id} was due {iso(due)} and is still "
                                                         f"{item.status}.")
                    _trail.append(s, actor, "incident.open", f"incident:{inc.id}",
                                  {"title": inc.title, "severity": "medium", "automatic": True,
                                   "review_item": item.id})
        return out

    @staticmethod
    def _due(s, item: ReviewItem) -> datetime:
        _, guard = _guard(s, item.deployment_id)
        return _aware(item.due_at) or _aware(item.created_at) + timedelta(
            hours=float((guard.get("review") or {}).get("decide_within_hours", 72)))

    def due_callbacks(self, *, limit: int = 50, at: datetime | None = None,
                      lease_s: float | None = None) -> list[dict[str, Any]]:
        """The callbacks due for an attempt. With ``lease_s`` they are claimed: none is due again for that
        long, so several server processes delivering at once do not send one callback twice."""
        t = at or now()
        due = (select(Callback).where(Callback.status == "pending", Callback.next_attempt_at <= t)
               .order_by(Callback.id).limit(limit))
        with self._sessions() as s:
            found = [{"id": c.id, "url": c.url, "payload": c.payload, "attempts": c.attempts}
                     for c in s.execute(due).scalars()]
        if not found or lease_s is None:
            return found
        with self.tx() as s:
            claimed = list(s.execute(due.with_for_update(skip_locked=True)).scalars())
            for c in claimed:
                c.next_attempt_at = t + timedelta(seconds=lease_s)
            return [{"id": c.id, "url": c.url, "payload": c.payload, "attempts": c.attempts} for c in claimed]

    def callback_result(self, callback_id: int, *, ok: bool, error: str = "") -> None:
        """Record a delivery attempt: delivered, or the next attempt after a doubling backoff (failed after the
        guard's ``callback.attempts``)."""
        with self.tx() as s:
            c = s.get(Callback, callback_id)
            _, guard = _guard(s, c.deployment_id)
            settings = guard.get("callback") or {}
            c.attempts += 1
            if ok:
                c.status, c.delivered_at, c.last_error = "delivered", now(), ""
                _trail.append(s, "steward (callbacks)", "callback.delivered", f"prediction:{c.prediction_id}",
                              {"callback": c.id, "url": c.url, "attempts": c.attempts})
                return
            c.last_error = error[:500]
            if c.attempts >= int(settings.get("attempts", 6)):
                c.status = "failed"
                _trail.append(s, "steward (callbacks)", "callback.failed", f"prediction:{c.prediction_id}",
                              {"callback": c.id, "url": c.url, "attempts": c.attempts, "error": c.last_error})
            else:
                c.next_attempt_at = now() + timedelta(seconds=float(settings.get("backoff_s", 2.0)) * 2 ** (c.attempts - 1))

    def callbacks(self, name: str, *, limit: int = 50) -> list[dict[str, Any]]:
        with self._sessions() as s:
            ids = select(Deployment.id).where(Deployment.name == name)
            if s.execute(ids.limit(1)).first() is None:
                raise NotFoundError(f"no deployment named {name!r}; `steward deployments list` shows them")
            return [{"id": c.id, "prediction_id": c.prediction_id, "url": c.url, "status": c.status,
                     "attempts": c.attempts, "last_error": c.last_error, "next_attempt_at": iso(c.next_attempt_at),
                     "delivered_at": iso(c.delivered_at)}
                    for c in s.execute(select(Callback).where(Callback.deployment_id.in_(ids))
                                       .order_by(Callback.id.desc()).limit(limit)).scalars()]
