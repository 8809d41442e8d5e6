"""The checks a reference passes before a monitor keeps it: it may come from a client (a records or file
monitor), so every part is checked for shape, type and size, with one line naming the part that is wrong.
A reference the registry derives itself passes them too."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from steward.errors import DataValidationError

__all__ = ["check_reference", "MAX_EDGES", "MAX_FEATURES", "MAX_CATEGORIES"]

MAX_EDGES = 99  # the distinct percentiles 1..99
MAX_FEATURES = 2_000
MAX_CATEGORIES = 10_000  # per category feature
MAX_GROUPS = 10_000  # per protected attribute or intersection
_SCORE_BINS = 1000


def _bad(where: str, what: str, got: Any) -> DataValidationError:
    text = repr(got)
    return DataValidationError(f"reference.{where}: {what}, got {text if len(text) <= 60 else text[:57] + '...'}; "
                               "build it with steward.monitoring.build_reference (or --reference FILE)")


def _real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _count(x: Any) -> bool:
    return _real(x) and x >= 0


def _fraction(x: Any) -> bool:
    return _real(x) and 0.0 <= x <= 1.0


def check_reference(d: Any) -> None:
    """Raise :class:`DataValidationError` naming the first part of ``d`` that is not a well-formed reference."""
    if not isinstance(d, Mapping) or d.get("format") not in (1, 2):
        raise _bad("format", "must be 2 (the JSON Reference.to_dict() writes) or 1 (an earlier reference)",
                   d.get("format") if isinstance(d, Mapping) else d)
    if not (isinstance(d.get("rows"), int) and not isinstance(d.get("rows"), bool) and d["rows"] >= 0):
        raise _bad("rows", "must be a non-negative whole number", d.get("rows"))
    feats = d.get("features")
    if not isinstance(feats, list) or not feats or len(feats) > MAX_FEATURES:
        raise _bad("features", f"must be a list of 1 to {MAX_FEATURES:,} features", type(feats).__name__)
    names = set()
    for i, f in enumerate(feats):
        at = f"features[{i}]"
        if not isinstance(f, Mapping) or not isinstance(f.get("name"), str) or not f["name"] or len(f["name"]) > 200:
            raise _bad(f"{at}.name", "must be a non-empty text of at most 200 characters",
                       f.get("name") if isinstance(f, Mapping) else f)
        if f["name"] in names:
            raise _bad(f"{at}.name", "repeats an earlier feature", f["name"])
        names.add(f["name"])
        if not _fraction(f.get("missing_rate")):
            raise _bad(f"{at}.missing_rate", "must be a number in [0, 1]", f.get("missing_rate"))
        kind, counts = f.get("kind"), f.get("counts")
        if kind == "category":
            if not isinstance(counts, Mapping) or len(counts) > MAX_CATEGORIES or not all(
                    isinstance(k, str) and len(k) <= 200 and _count(v) for k, v in counts.items()):
                raise _bad(f"{at}.counts", f"must map at most {MAX_CATEGORIES:,} categories (text of at most 200 "
                                           "characters) to non-negative counts", type(counts).__name__)
            continue
        if kind != "number":
            raise _bad(f"{at}.kind", "must be 'number' or 'category'", kind)
        edges = f.get("edges") or []
        if not isinstance(edges, list) or len(edges) > MAX_EDGES or not all(_real(e) for e in edges) \
                or any(a >= b for a, b in zip(edges, edges[1:])):
            raise _bad(f"{at}.edges", f"must be at most {MAX_EDGES} increasing finite numbers", edges)
        if not isinstance(counts, list) or len(counts) != len(edges) + 1 or not all(_count(c) for c in counts):
            raise _bad(f"{at}.counts", f"must be {len(edges) + 1} non-negative counts (one more than the edges)",
                       counts)
        deciles = f.get("deciles") or []
        if not isinstance(deciles, list) or not set(deciles) <= set(edges):
            raise _bad(f"{at}.deciles", "must be some of the edges", deciles)
        sums = f.get("sums")
        if sums is not None and (not isinstance(sums, list) or len(sums) != len(counts)
                                 or not all(_real(x) for x in sums)):
            raise _bad(f"{at}.sums", "must be null or one finite number per count", sums)
        for k in ("min", "max", "mean"):
            if f.get(k) is not None and not _real(f[k]):
                raise _bad(f"{at}.{k}", "must be a finite number or null", f[k])
        if f.get("std") is not None and not _count(f["std"]):
            raise _bad(f"{at}.std", "must be a non-negative number or null", f["std"])
    protected = d.get("protected") or []
    if not isinstance(protected, list) or not all(isinstance(p, str) and 0 < len(p) <= 200 for p in protected):
        raise _bad("protected", "must be a list of column names", protected)
    refs = d.get("reference_groups") or {}
    if not isinstance(refs, Mapping) or not all(k in protected and isinstance(v, str) and len(v) <= 200
                                                for k, v in refs.items()):
        raise _bad("reference_groups", "must map protected attributes to a group's name", refs)
    if d.get("favourable", 1) not in (0, 1) or isinstance(d.get("favourable"), bool):
        raise _bad("favourable", "must be 0 or 1", d.get("favourable"))
    score = d.get("score_counts")
    if score is not None and (not isinstance(score, list) or len(score) != _SCORE_BINS
                              or not all(_count(c) for c in score)):
        raise _bad("score_counts", f"must be null or {_SCORE_BINS} non-negative counts", type(score).__name__)
    for k in ("decision_rate", "accuracy", "auc"):
        if d.get(k) is not None and not _fraction(d[k]):
            raise _bad(k, "must be a number in [0, 1] or null", d[k])
    for k in ("score_mean", "score_std"):
        if d.get(k) is not None and not _real(d[k]):
            raise _bad(k, "must be a finite number or null", d[k])
    groups = d.get("groups") or {}
    if not isinstance(groups, Mapping):
        raise _bad("groups", "must map attributes to their groups", type(groups).__name__)
    for a, gs in groups.items():
        if not isinstance(a, str) or not set(a.split("*")) <= set(protected) or not isinstance(gs, Mapping) \
                or len(gs) > MAX_GROUPS:
            raise _bad(f"groups.{a}", "must be a protected attribute (or an intersection a*b) with its groups", a)
        for g, v in gs.items():
            if not (isinstance(g, str) and isinstance(v, list) and len(v) == 2 and all(_count(x) for x in v)
                    and v[1] <= v[0]):
                raise _bad(f"groups.{a}.{g}", "must be [rows, favourable] with 0 <= favourable <= rows", v)
    if not isinstance(d.get("source", ""), str) or len(d.get("source") or "") > 500:
        raise _bad("source", "must be text of at most 500 characters", d.get("source"))
