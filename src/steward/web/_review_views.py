"""What the review pages show, worked out from the registry's dicts (no templates here, no database).

The queue's filters (deployment, kind, why, age, group), each item's age and deadline, and the words for
review actions, decision statuses and how a decision was settled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from steward.serving._settings import GuardSettings
from steward.web._deployment_views import why_text

__all__ = ["ACTIONS", "DECISION_STATUS", "ITEM_STATUS", "KINDS", "QUEUE_STATUSES", "Filters", "age_text", "due_of",
           "groups_of", "guard_of", "inputs_visible", "outcomes", "parse_filters", "queue_rows", "settled_text"]

KINDS = {"decision": "Decision", "appeal": "Appeal"}
# The queue shows what still waits for a person: both kinds of wait, or one.
QUEUE_STATUSES = {"pending": "Waiting for a reviewer (any)", "open": "Waiting for a first decision",
                  "awaiting_second": "Waiting for a second reviewer"}
ACTIONS = {"confirm": "Confirmed", "override": "Overrode", "uphold": "Upheld the decision",
           "overturn": "Overturned the decision", "agree": "Agreed, as second reviewer",
           "disagree": "Disagreed, as second reviewer"}
DECISION_STATUS = {"final": "final", "pending_second": "waits for a second reviewer",
                   "declined": "declined by the second reviewer"}
ITEM_STATUS = {"open": "Waiting for a reviewer", "awaiting_second": "Waiting for a second reviewer",
               "decided": "Decided"}


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def age_text(seconds: float) -> str:
    """How long ago, as people say it: ``under a minute``, ``25 minutes``, ``5 hours``, ``3 days``."""
    seconds = abs(seconds)
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size * (2 if unit == "day" else 1):
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "under a minute"


def guard_of(deployments: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The guard settings of the deployment ``name``: the active one's, else the newest replaced one's."""
    same = [d for d in deployments if d["name"] == name]
    active = [d for d in same if d["status"] == "active"]
    chosen = (active or sorted(same, key=lambda d: -d["id"]) or [{"guard": {}}])[0]
    return GuardSettings.model_validate(chosen["guard"] or {}).model_dump(mode="json")


def inputs_visible(who: Mapping[str, Any] | None, guard: Mapping[str, Any]) -> bool:
    """Whether the logged-in person's role may see a decision's inputs (the guard's ``log.inputs_visible_to``)."""
    allowed = set((guard.get("log") or {}).get("inputs_visible_to") or ())
    return bool(who) and bool(set(who["roles"]) & allowed)


def due_of(item: Mapping[str, Any], guard: Mapping[str, Any]) -> datetime:
    """When an item must be decided: its own deadline (appeals), else the guard's ``decide_within_hours``."""
    due = _time(item.get("due_at"))
    if due is not None:
        return due
    hours = float((guard.get("review") or {}).get("decide_within_hours", 72))
    return _time(item["created_at"]) + timedelta(hours=hours)


def groups_of(items: list[Mapping[str, Any]]) -> list[str]:
    """Every ``attribute=value`` of the protected attributes the items' deployments record, sorted."""
    return sorted({f"{k}={v}" for item in items for k, v in (item.get("protected") or {}).items() if v is not None})


class Filters(dict):
    """The queue's filters as given in the query (text), with ``problem`` when one was not understood."""

    problem: str | None = None

    @property
    def active(self) -> bool:
        return any(v for k, v in self.items() if k != "status") or self.get("status") not in ("", "pending")


def parse_filters(query: Mapping[str, str]) -> Filters:
    f = Filters({k: (query.get(k) or "").strip() for k in ("deployment", "kind", "reason", "age", "group", "status")})
    if f["status"] not in QUEUE_STATUSES:
        f["status"] = "pending"
    if f["kind"] and f["kind"] not in KINDS:
        f.problem, f["kind"] = f"kind: choose {' or '.join(KINDS)}", ""
    if f["age"]:
        try:
            hours = float(f["age"])
            if not (hours >= 0 and hours != float("inf")):
                raise ValueError
        except ValueError:
            f.problem, f["age"] = "older than: give a number of hours, such as 24", ""
    if f["group"] and "=" not in f["group"]:
        f.problem, f["group"] = "group: give an attribute and a value, such as sex=Female", ""
    return f


def _matches(item: Mapping[str, Any], f: Filters, age_s: float) -> bool:
    if f["deployment"] and item["deployment"] != f["deployment"]:
        return False
    if f["kind"] and item["kind"] != f["kind"]:
        return False
    if f["status"] != "pending" and item["status"] != f["status"]:
        return False
    if f["reason"]:
        words = " ".join(f"{w} {why_text(w)}" for w in item["why"] or []).lower()
        if f["reason"].lower() not in words:
            return False
    if f["age"] and age_s < float(f["age"]) * 3600:
        return False
    if f["group"]:
        attribute, _, value = f["group"].partition("=")
        if str((item.get("protected") or {}).get(attribute.strip())) != value.strip():
            return False
    return True


def queue_rows(items: list[dict[str, Any]], guards: Mapping[str, Mapping[str, Any]], f: Filters,
               now: datetime) -> list[dict[str, Any]]:
    """The items that pass the filters, oldest first, each with ``age``, ``due``, ``overdue``, ``due_text``,
    ``why_words`` and ``favourable`` (of its deployment's guard)."""
    rows = []
    for item in items:
        guard = guards.get(item["deployment"]) or {}
        age_s = (now - _time(item["created_at"])).total_seconds()
        if not _matches(item, f, age_s):
            continue
        due = due_of(item, guard)
        left = (due - now).total_seconds()
        rows.append(item | {
            "age": age_text(age_s), "due": due.isoformat(), "overdue": left < 0,
            "due_text": (f"overdue by {age_text(left)}" if left < 0 else f"due in {age_text(left)}"),
            "why_words": [why_text(w) for w in item["why"] or []], "favourable": guard.get("favourable", 1)})
    return rows


def outcomes(item: Mapping[str, Any], guard: Mapping[str, Any]) -> dict[str, Any]:
    """What each action on an open item makes the final decision, as :meth:`Registry.decide_review` decides it:
    ``confirm`` keeps the model's decision (the one answered, unless the guard sent it to review), ``override``
    takes the other one (the page sends it), ``uphold`` keeps the current final decision, ``overturn`` the other.
    ``second`` names the actions that wait for a second reviewer: those turning an adverse decision favourable
    when the guard asks for one."""
    p = item["prediction"]
    if p["score"] is None:
        confirm = item["interim_decision"]
    elif p["route"] != "review":
        confirm = p["decision"]
    else:
        confirm = (p.get("detail") or {}).get("model_decision", item["interim_decision"])
    current = p.get("final_decision")
    out: dict[str, Any] = {"confirm": confirm, "override": None if confirm is None else 1 - confirm,
                           "uphold": current, "overturn": None if current is None else 1 - current}
    favourable = guard.get("favourable", 1)
    asks = bool((guard.get("review") or {}).get("second_reviewer"))
    out["second"] = {a for a in ("confirm", "override", "overturn")
                     if asks and current == 1 - favourable and out[a] == favourable}
    return out


def settled_text(history: Mapping[str, Any]) -> str:
    """How a prediction's final decision was settled, in words."""
    by, who = history.get("settled_by"), history.get("settled_by_person")
    steps = [s for s in history.get("history") or [] if s.get("action")]
    if len(steps) > 1 and steps[-1]["action"] == "agree":  # the first reviewer decided, the second agreed
        who = f"{steps[-2]['by']}, with {steps[-1]['by']} agreeing as second reviewer"
    return {"model": "by the guard: no person needed to decide",
            "pending_review": "not yet: a person's review is pending, and the caller was given the interim decision",
            "review": f"by a reviewer ({who})", "appeal": f"on appeal, by {who}"}.get(by, str(by))
