"""People in the loop: review items and their decisions, a logged decision with its history, a person's
appeal (filed by the calling application) and the callbacks of settled decisions.

A logged prediction is never rewritten: a decision or an appeal is a record of its own beside it. A
decision's inputs (a person's data) are shown only to the roles in the deployment guard's
``log.inputs_visible_to``; everyone else gets ``inputs: null`` and ``inputs_hidden: true``.

``POST /api/predictions/{id}/appeal`` is a caller route like the guarded endpoint (it is served where
predictions are): corrected inputs are re-scored through the same guard as a new logged prediction whose
detail says ``appeal_of``, and the appeal carries its id.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from steward.errors import PermissionDenied, StewardError, WorkflowError
from steward.governance import Registry
from steward.governance._permissions import PERMISSIONS
from steward.governance._review import FINAL_ACTIONS
from steward.serving._profile import FieldError
from steward.web._auth import key_from, registry, require
from steward.web._errors import error_body
from steward.web._inputs import IdPath, In, JsonObject, Text
from steward.web._openapi import errors
from steward.web.routers.deployments import runtime

__all__ = ["router", "appeal_router"]

router = APIRouter(tags=["review"])
appeal_router = APIRouter(tags=["predictions"])

PredictionId = Annotated[str, PathParam(pattern=r"^p[0-9a-f]{24}$", description="a prediction id")]


class DecisionIn(In):
    action: Literal[FINAL_ACTIONS] = Field(description="confirm or override a routed decision; uphold or overturn "
                                                       "an appeal; agree or disagree as the second reviewer")
    reason: Text(5000) = Field(default="", description="why, in plain words (needed to override, uphold, overturn "
                                                       "and disagree); it may be shown to the person")
    decision: Literal[0, 1] | None = Field(default=None, description="the decision an override or overturn sets "
                                                                     "(default: the other one)")


class AppealIn(In):
    statement: Text(5000, min_length=1) = Field(description="the person's reasons for appealing, in their words")
    corrected_inputs: JsonObject | None = Field(
        default=None, description="features the person says were wrong, with their right values (over the logged "
                                  "inputs when they were stored, else every feature); re-scored by the same guard")


def _inputs_visible(principal: dict[str, Any], guard: dict[str, Any]) -> bool:
    allowed = set((guard.get("log") or {}).get("inputs_visible_to") or ())
    return bool(set(principal["roles"]) & allowed)


def _hide(history: dict[str, Any], visible: bool) -> dict[str, Any]:
    """A prediction's history as ``principal`` may see it."""
    out = {**history, "inputs_hidden": not visible}
    if not visible:  # the inputs, and the values the reason codes quote from them
        out["inputs"] = None
        out["appeals"] = [{**a, "corrected_inputs": None} for a in history.get("appeals", [])]
        out["reasons"] = [{k: v for k, v in r.items() if k != "value"} for r in history.get("reasons") or []]
    return out


def _readable(reg: Registry, prediction_id: str, principal: dict[str, Any]) -> dict[str, Any]:
    """The history of a logged decision, if ``principal`` may read it (a caller key: of its deployments)."""
    history = reg.prediction_history(prediction_id)
    if not set(principal["roles"]) & set(PERMISSIONS["read"]) and \
            history["deployment"] not in principal.get("deployments", []):
        raise PermissionDenied(f"this caller key may read the decisions of "
                               f"{', '.join(principal.get('deployments', [])) or 'no deployment'}, not of "
                               f"{history['deployment']!r}")
    return _hide(history, _inputs_visible(principal, reg.prediction_guard(prediction_id)))


@router.get("/api/predictions/{prediction_id}", responses=errors(403, 404))
def get_prediction(prediction_id: PredictionId, reg: Registry = Depends(registry),
                   who=Depends(require("read_prediction"))) -> dict:
    """A logged decision: its final decision (``final_decision``, ``settled_by`` model | pending_review |
    review | appeal) and its ``history`` (model → review → appeal). A caller key reads only the decisions
    of the deployments it is scoped to."""
    return _readable(reg, prediction_id, who)


def _item(reg: Registry, item_id: int, principal: dict[str, Any]) -> dict[str, Any]:
    item = reg.review_item(item_id)
    visible = _inputs_visible(principal, reg.prediction_guard(item["prediction"]["prediction_id"]))
    out = {**item, "prediction": _hide(item["prediction"], visible)}
    if item["appeal"] and not visible:
        out["appeal"] = {**item["appeal"], "corrected_inputs": None}
    if not visible:
        out["reasons"] = [{k: v for k, v in r.items() if k != "value"} for r in item.get("reasons") or []]
    return out


@router.get("/api/review/{item_id}", responses=errors(404))
def get_review_item(item_id: IdPath, reg: Registry = Depends(registry), who=Depends(require("read"))) -> dict:
    """One review item: why it came to a person, the decisions on it so far, its appeal, the prediction's
    history."""
    return _item(reg, item_id, who)


@router.post("/api/review/{item_id}/decision", status_code=201, responses=errors(400, 403, 404, 409))
def decide(item_id: IdPath, body: DecisionIn, reg: Registry = Depends(registry),
           who=Depends(require("review"))) -> dict:
    """Decide a review item as the reviewer holding the key. An override, uphold, overturn or disagree
    needs a reason; turning an adverse decision favourable waits for a second, different reviewer when the
    guard says so (``status: pending_second``)."""
    record = reg.decide_review(item_id, action=body.action, reason=body.reason, decision=body.decision,
                               actor=who["name"])
    item = _item(reg, item_id, who)
    return {**record, "item_status": item["status"], "final_decision": item["prediction"]["final_decision"],
            "settled_by": item["prediction"]["settled_by"]}


@router.get("/api/deployments/{name}/callbacks", responses=errors(404))
def callbacks(name: str, reg: Registry = Depends(registry), _=Depends(require("read"))) -> list[dict]:
    """The latest callbacks of settled decisions of the deployment: pending, delivered or failed, with the
    attempts made and the last error."""
    return reg.callbacks(name)


def _caller(request: Request) -> dict[str, Any]:
    """The caller key of the request (checked before its body is read)."""
    return runtime(request).caller(key_from(request))


@appeal_router.post("/api/predictions/{prediction_id}/appeal", status_code=201,
                    responses=errors(400, 401, 403, 404, 409, 429, 503))
async def appeal(prediction_id: PredictionId, body: AppealIn, request: Request,
                 principal: dict = Depends(_caller)) -> Response:
    """File a person's appeal of a decision of a deployment the key is scoped to. ``corrected_inputs`` are
    re-scored through the deployment's guard as a new logged prediction (``detail.appeal_of``); the
    original decision's log row is never changed. Answers the appeal and the re-scored result."""
    rt = runtime(request)
    reg: Registry = rt.registry
    if not body.statement.strip():
        raise StewardError("statement: give the person's reasons for appealing, in their words")
    original = await run_in_threadpool(reg.prediction, prediction_id)
    name = original["deployment"]
    if name not in principal.get("deployments", []):
        raise PermissionDenied(f"this caller key may appeal the decisions of "
                               f"{', '.join(principal.get('deployments', [])) or 'no deployment'}, not of {name!r}")
    closes, _ = await run_in_threadpool(reg.appeal_window, prediction_id)
    if datetime.now(timezone.utc) > closes:  # checked before re-scoring: a late appeal logs nothing
        raise WorkflowError(f"the appeal window of {prediction_id} closed on {closes.isoformat()}")
    busy = await run_in_threadpool(reg.open_appeal, prediction_id)
    if busy is not None:
        raise WorkflowError(f"appeal {busy} of {prediction_id} is still open; it is decided first")
    rescored = None
    if body.corrected_inputs is not None:
        guard, killed = await rt.guard(name)
        row = {**(original["inputs"] or {}), **((original["detail"] or {}).get("protected") or {}),
               **body.corrected_inputs}
        if original["subject_id"] is not None:
            row.setdefault(guard.settings.sticky.field, original["subject_id"])
        guard.throttle(principal["key_id"], 1)
        try:
            clean = guard.validate([row])
        except FieldError as exc:
            raise FieldError(f"corrected_inputs.{exc.field}", f"corrected_inputs.{exc.field}: {exc}") from None
        served = await guard.serve([row], clean, key_id=principal["key_id"], killed=killed,
                                   detail_extra={"appeal_of": prediction_id})
        try:  # the appeal's review item is where a person decides: the re-scoring is not routed again
            await rt.log.write(served.predictions, [])
        except Exception:
            return JSONResponse(error_body(503, "the prediction log could not be written, so the corrected inputs "
                                                "were not re-scored and no appeal was filed; send it again"),
                                status_code=503, headers={"Retry-After": "1"})
        # (no "review" part: the appeal's review item is the one a person decides)
        rescored = {"deployment": name, **{k: v for k, v in served.answers[0].items() if k != "review"}}
    filed = await run_in_threadpool(
        lambda: reg.file_appeal(prediction_id, statement=body.statement, actor=principal["name"],
                                corrected_inputs=body.corrected_inputs,
                                rescored_prediction_id=rescored["prediction_id"] if rescored else None))
    return JSONResponse({"appeal": filed, "rescored": rescored}, status_code=201)
