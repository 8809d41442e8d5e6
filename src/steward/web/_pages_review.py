"""The review pages: the queue of decisions and appeals waiting for a person, one item with everything a
reviewer needs to decide it, and a logged decision's history (server-rendered, no script).

Every reader sees the queue and the items; only reviewers get the decision forms (POST, with the
session's CSRF token), and only the roles in the deployment guard's ``log.inputs_visible_to`` see a
person's inputs. The registry keeps the rules (a reason for an override, a second and different
reviewer) and the trail; the pages show its refusals.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from steward.errors import NotFoundError, StewardError
from steward.web._auth import check
from steward.web._auth import registry as registry_of
from steward.web._deployment_views import ROUTES, decision_text, flag_text, stamp, why_text
from steward.web._errors import status_of
from steward.web._inputs import IdPath
from steward.web._neighbours import CANDIDATES, similar_decisions
from steward.web._pages_core import PageRoute, form_user, render, user
from steward.web._review_views import (
    ACTIONS,
    DECISION_STATUS,
    ITEM_STATUS,
    KINDS,
    QUEUE_STATUSES,
    age_text,
    due_of,
    groups_of,
    guard_of,
    inputs_visible,
    outcomes,
    parse_filters,
    queue_rows,
    settled_text,
)

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Chosen by code, as on the other pages, so a crafted link cannot make the page say something else.
FLASH = {
    "confirm": "Your decision is recorded: the decision stands, and it is final.",
    "override": "Your override is recorded: it is the final decision.",
    "uphold": "The appeal is decided: the decision is upheld.",
    "overturn": "The appeal is decided: the decision is overturned.",
    "agree": "Your agreement is recorded: the first reviewer's decision is final.",
    "disagree": "Your disagreement is recorded: the item is open again for a reviewer.",
    "pending_second": "Your decision is recorded. Turning an adverse decision favourable needs a second reviewer: "
                      "it becomes final when another reviewer agrees.",
}
MAX_REASON = 2000
PredictionId = Annotated[str, Path(pattern=r"^p[0-9a-f]{24}$", description="a prediction id")]


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _decision(text: str) -> int | None:
    """An override's decision as sent by the form: ``0`` or ``1``, or none (the registry's default)."""
    if text.strip() in ("", "0", "1"):
        return int(text) if text.strip() else None
    raise StewardError(f"decision must be 0 or 1, got {text[:20]!r}")


@router.get("/review")
def review_queue(request: Request, who: dict = Depends(user)) -> Response:
    """Decisions and appeals waiting for a person, oldest first, with filters."""
    reg = registry_of(request)
    f = parse_filters(request.query_params)
    deployments = reg.deployments(include_replaced=True)
    items = reg.review_queue(deployment=f["deployment"] or None, status="pending")
    names = sorted({d["name"] for d in deployments} | {i["deployment"] for i in items})
    guards = {n: guard_of(deployments, n) for n in {i["deployment"] for i in items}}
    rows = queue_rows(items, guards, f, datetime.now(timezone.utc))
    groups = groups_of(items)
    if f["group"] and f["group"] not in groups:  # keep the chosen group in the list, even when no item has it
        groups.append(f["group"])
    return render(request, "review_queue.html", rows=rows, filters=f, total=len(items), names=names, groups=groups,
                  kinds=KINDS, statuses=QUEUE_STATUSES, item_status=ITEM_STATUS, error=f.problem,
                  decision=decision_text, stamp=stamp)


def _item_page(request: Request, item_id: int, status: int = 200, error: str | None = None,
               form: dict[str, Any] | None = None) -> Response:
    reg = registry_of(request)
    who = request.state.principal
    item = reg.review_item(item_id)
    guard = guard_of(reg.deployments(include_replaced=True), item["deployment"])
    p = item["prediction"]
    favourable = guard.get("favourable", 1)
    now = datetime.now(timezone.utc)
    due = due_of(item, guard)
    pending_first = next((d for d in reversed(item["decisions"]) if d["status"] == "pending_second"), None)
    rescored = None
    if item["appeal"] and item["appeal"]["rescored_prediction_id"]:
        try:
            rescored = reg.prediction(item["appeal"]["rescored_prediction_id"])
        except NotFoundError:  # removed by the log's retention
            rescored = None
    return render(
        request, "review_item.html", status=status, error=error, form=form or {}, item=item, p=p, guard=guard,
        flash=FLASH.get(request.query_params.get("flash", "")), show_inputs=inputs_visible(who, guard),
        may_decide=who is not None and "reviewer" in who["roles"], pending_first=pending_first, rescored=rescored,
        due=due.isoformat(), overdue=due < now and item["status"] != "decided",
        age=age_text((now - datetime.fromisoformat(item["created_at"])).total_seconds()),
        similar=similar_decisions(reg, item, guard), candidates=CANDIDATES,
        decision=lambda value: decision_text(value, favourable), favourable=favourable,
        flag_text=flag_text, why_text=why_text, stamp=stamp, routes=ROUTES, actions=ACTIONS,
        decision_status=DECISION_STATUS, item_status=ITEM_STATUS, kinds=KINDS, settled=settled_text(p),
        outcome=outcomes(item, guard), max_reason=MAX_REASON)


@router.get("/review/{item_id}")
def review_item_page(request: Request, item_id: IdPath, who: dict = Depends(user)) -> Response:
    """One review item: the decision, why it came to a person, the appeal, similar past decisions, the
    decisions so far and the prediction's history; reviewers get the forms to decide it."""
    return _item_page(request, item_id)


@router.post("/review/{item_id}")
def decide(request: Request, item_id: IdPath, action: str = Form(""), reason: str = Form(""),
           decision: str = Form(""), who: dict = Depends(form_user)) -> Response:
    """Record the logged-in reviewer's decision on the item: confirm or override, uphold or overturn an
    appeal, agree or disagree as second reviewer."""
    check(who, "review")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        return _item_page(request, item_id, 400, f"Your decision was not recorded: the reason is {len(reason):,} "
                                                 f"characters long; give at most {MAX_REASON:,}.",
                          {"action": action, "reason": reason})
    try:
        done = registry_of(request).decide_review(item_id, action=action, actor=who["name"], reason=reason,
                                                  decision=_decision(decision))
    except StewardError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _item_page(request, item_id, status_of(exc), f"Your decision was not recorded: {exc}",
                          {"action": action, "reason": reason})
    code = "pending_second" if done["status"] == "pending_second" else action
    return _see(f"/review/{item_id}?flash={code}")


@router.get("/predictions/{prediction_id}")
def prediction_page(request: Request, prediction_id: PredictionId, who: dict = Depends(user)) -> Response:
    """A logged decision and how it got to its final decision: model → review → appeal."""
    reg = registry_of(request)
    h = reg.prediction_history(prediction_id)
    guard = guard_of(reg.deployments(include_replaced=True), h["deployment"])
    favourable = guard.get("favourable", 1)
    return render(request, "prediction.html", p=h, show_inputs=inputs_visible(who, guard), guard=guard,
                  decision=lambda value: decision_text(value, favourable), settled=settled_text(h),
                  flag_text=flag_text, stamp=stamp, routes=ROUTES, actions=ACTIONS, decision_status=DECISION_STATUS)
