"""The most similar past decisions of a deployment, for a reviewer deciding one of its review items.

Rows are compared in the training profile's standardised space:

* a **number** feature's difference is divided by its spread in training: the interquartile range,
  read from the profile's eleven deciles (0, 10, ..., 100%) by linear interpolation, so the 25% point
  is halfway between the 20% and 30% deciles (``(q[2] + q[3]) / 2``) and the 75% point halfway between
  the 70% and 80% deciles (``(q[7] + q[8]) / 2``). When that is zero (a feature mostly one value, such as
  a capital gain that is 0 for most people; then the 20% and 80% deciles are equal too), the whole training
  range ``max - min`` is used, and 1 for a feature with a single value;
* a **category** feature counts 0 when the two rows have the same value and 1 when they differ;
* a missing value against a present one counts 1; two missing values count 0.

The distance is the Euclidean one, ``sqrt(sum of squared terms)``. The protected attributes the guard
records are left out of it, so a reviewer sees how like cases were decided whatever the person's group;
features the profile does not know (or a row lacks) are skipped. Pure functions over dicts: no database.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from steward.errors import NotFoundError

__all__ = ["CANDIDATES", "K", "distance", "nearest", "scales", "similar_decisions"]

K = 5  # neighbours shown on an item's page
CANDIDATES = 2000  # the latest logged decisions of the deployment searched for them


def _spread(feature: Mapping[str, Any]) -> float:
    q = feature.get("quantiles")
    if q and len(q) == 11:
        iqr = (q[7] + q[8]) / 2 - (q[2] + q[3]) / 2
        if iqr > 0:
            return float(iqr)
    lo, hi = feature.get("min"), feature.get("max")
    if lo is not None and hi is not None and hi > lo:
        return float(hi - lo)
    return 1.0


def scales(profile: Mapping[str, Any], exclude: Collection[str] = ()) -> dict[str, float | None]:
    """Each compared feature of a training profile (as stored) to its scale: the spread of a number
    feature, ``None`` for a category (compared as equal or not)."""
    return {f["name"]: (_spread(f) if f["kind"] == "number" else None)
            for f in profile["features"] if f["name"] not in exclude}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def distance(a: Mapping[str, Any], b: Mapping[str, Any], scale: Mapping[str, float | None]) -> float:
    """The distance between two rows' inputs in the standardised space of ``scale`` (see the module notes)."""
    total = 0.0
    for name, s in scale.items():
        if name not in a or name not in b:
            continue
        x, y = a[name], b[name]
        if _missing(x) or _missing(y):
            total += 0.0 if _missing(x) and _missing(y) else 1.0
        elif s is None:
            total += 0.0 if str(x) == str(y) else 1.0
        else:
            try:
                total += ((float(x) - float(y)) / s) ** 2
            except (TypeError, ValueError):  # a number stored as text that is not one: count it as different
                total += 1.0
    return math.sqrt(total)


def nearest(inputs: Mapping[str, Any], candidates: Iterable[Mapping[str, Any]], scale: Mapping[str, float | None],
            k: int = K) -> list[tuple[float, Mapping[str, Any]]]:
    """The ``k`` candidates (logged predictions with ``inputs``) nearest to ``inputs``, nearest first, as
    (distance, candidate); ties keep the candidates' order. Candidates without stored inputs are skipped."""
    scored = [(distance(inputs, c["inputs"], scale), i, c) for i, c in enumerate(candidates) if c.get("inputs")]
    scored.sort(key=lambda t: (t[0], t[1]))
    return [(d, c) for d, _, c in scored[:k]]


def similar_decisions(reg: Any, item: Mapping[str, Any], guard: Mapping[str, Any], *, k: int = K,
                      candidates: int = CANDIDATES) -> dict[str, Any]:
    """The ``k`` past decisions of the item's deployment most similar to its prediction, each with its final
    decision (model, review or appeal). Returns ``{"rows": [...], "note": why there are none, or None}``."""
    p = item["prediction"]
    if not p.get("inputs"):
        return {"rows": [], "note": "The log keeps only a hash of this decision's inputs, so it cannot be compared."}
    ref = p.get("deployment_version") or p.get("version")
    profile = None
    if ref and ":" in ref:
        try:
            profile = reg.profile(*ref.rsplit(":", 1))
        except NotFoundError:  # a version gone from the registry: say so rather than fail the page
            profile = None
    if not profile:
        return {"rows": [], "note": "The version that decided has no training profile to compare rows in."}
    scale = scales(profile, exclude=set(guard.get("protected") or []))
    skip = {p["prediction_id"]}
    if item.get("appeal") and item["appeal"].get("rescored_prediction_id"):
        skip.add(item["appeal"]["rescored_prediction_id"])
    pool = [c for c in reg.prediction_log(item["deployment"], limit=candidates, newest=True)
            if c["prediction_id"] not in skip and c["decision"] is not None]
    rows = []
    for d, c in nearest(p["inputs"], pool, scale, k):
        h = reg.prediction_history(c["prediction_id"])
        rows.append({"distance": d, "prediction_id": c["prediction_id"], "created_at": c["created_at"],
                     "score": c["score"], "decision": c["decision"], "route": c["route"], "inputs": c["inputs"],
                     "final_decision": h["final_decision"], "settled_by": h["settled_by"],
                     "settled_by_person": h["settled_by_person"]})
    note = None if rows else "No other decision of this deployment has stored inputs to compare with."
    return {"rows": rows, "note": note, "searched": len(pool), "features": list(scale)}
