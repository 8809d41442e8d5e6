"""What a monitor compares each window with: the reference.

A :class:`Reference` holds, per feature, the reference's distribution on the bins every window is
counted on (numbers: the distinct percentiles 1..99, of which the deciles are a subset; categories: their
counts), the reference's missing rates and ranges, the score histogram when the reference has scores, the
overall favourable rate, and each protected group's favourable rate.

It is built either from a reference frame (:func:`build_reference`: training or validation data, with the
model's scores and decisions when it has them), or from what the registry holds for a deployed version
(:meth:`Reference.from_profile`: the training profile recorded at registration, and the approved audit's
group statistics).

>>> import pandas as pd
>>> ref = build_reference(pd.DataFrame({"age": range(100), "job": ["a", "b"] * 50}), features=["age", "job"])
>>> ref.features["age"].kind, len(ref.features["age"].edges), ref.features["job"].counts
('number', 99, {'a': 50, 'b': 50})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError

__all__ = ["Reference", "FeatureReference", "build_reference", "SCORE_BINS", "score_bin", "favourable_score"]

SCORE_BINS = 1000  # scores (probabilities) are counted on 1,000 equal bins of [0, 1]
DECILES = np.arange(10, 100, 10)


def score_bin(score: np.ndarray) -> np.ndarray:
    """The score bin of each probability: bin b holds b/1000 <= s < (b+1)/1000, and 1.0 the last bin."""
    return np.minimum((np.asarray(score, dtype=np.float64) * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)


def favourable_score(score: np.ndarray, favourable: int) -> np.ndarray:
    """The probability of the favourable outcome, from the model's score: the score is the model's probability
    of decision 1 (a deployment decides ``score >= threshold`` and logs that score; an audit reads it so), while
    decisions and labels are turned into "1 favourable" by ``favourable``. With ``favourable`` 0 the score is
    the adverse outcome's probability, so the favourable one is one minus it. The one place the monitor decides
    which way a score points: the reference and every window read scores through it."""
    s = np.asarray(score, dtype=np.float64)
    return s if favourable == 1 else 1.0 - s


@dataclass
class FeatureReference:
    """One feature of the reference. Numbers: ``edges`` (bin i holds edges[i-1] < x <= edges[i]), the
    reference ``counts`` on them (one more than edges), ``deciles`` (a subset of edges: the bins of PSI),
    ``min``/``max``/``mean``/``std`` of the finite values. Categories: ``counts`` per value (as text)."""

    name: str
    kind: str
    missing_rate: float
    counts: Any  # list[int] on the bins for a number; dict[str, int] for a category
    edges: list[float] = field(default_factory=list)
    deciles: list[float] = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    sums: list[float] | None = None  # per bin, the sum of the reference's values (each bin's mean: its atom)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "missing_rate": self.missing_rate, "counts": self.counts,
                "edges": self.edges, "deciles": self.deciles, "min": self.min, "max": self.max,
                "mean": self.mean, "std": self.std, "sums": self.sums}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureReference:
        return cls(**{k: d.get(k) for k in ("name", "kind", "missing_rate", "counts", "edges", "deciles", "min", "max",
                                            "mean", "std", "sums")})

    @property
    def midpoints(self) -> np.ndarray:
        """A representative value of each bin (for the binned Wasserstein distance): the middle of the bin,
        the reference's min and max for the two open-ended ones."""
        e = np.asarray(self.edges, dtype=np.float64)
        lo = self.min if self.min is not None else (e[0] if len(e) else 0.0)
        hi = self.max if self.max is not None else (e[-1] if len(e) else 0.0)
        if not len(e):
            return np.array([lo], dtype=np.float64)
        inner = (e[:-1] + e[1:]) / 2.0
        return np.concatenate([[min(lo, e[0])], inner, [max(hi, e[-1])]])

    def atoms(self) -> np.ndarray:
        """Where each bin's reference mass sits for the Wasserstein distance: the mean of the reference's values
        in the bin when known (exact for a bin of one value), else its middle."""
        mids = self.midpoints
        if self.sums is None:
            return mids
        c = np.asarray(self.counts, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c > 0, np.asarray(self.sums, dtype=np.float64) / c, mids)

    def decile_of_bin(self) -> np.ndarray:
        """For each fine bin, the index of the decile bin that holds it."""
        e = np.asarray(self.edges, dtype=np.float64)
        d = np.asarray(self.deciles, dtype=np.float64)
        upper = np.concatenate([e, [np.inf]])
        return np.searchsorted(d, upper, side="left")


@dataclass
class Reference:
    """The reference of a monitor (see the module's docs). ``groups`` maps each protected attribute to
    ``{group: [rows, favourable]}`` (and an intersection ``"a*b"`` to ``{"x*y": [...]}`` when known);
    ``reference_groups`` names each attribute's reference group."""

    features: dict[str, FeatureReference]
    rows: int
    protected: list[str] = field(default_factory=list)
    reference_groups: dict[str, str] = field(default_factory=dict)
    favourable: int = 1
    score_counts: list[int] | None = None  # on the SCORE_BINS bins
    score_mean: float | None = None
    score_std: float | None = None
    decision_rate: float | None = None  # the favourable rate overall
    groups: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    accuracy: float | None = None
    auc: float | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        # format 2: the score statistics are of the favourable outcome's probability (see favourable_score)
        return {"format": 2, "rows": self.rows, "features": [f.to_dict() for f in self.features.values()],
                "protected": self.protected, "reference_groups": self.reference_groups, "favourable": self.favourable,
                "score_counts": self.score_counts, "score_mean": self.score_mean, "score_std": self.score_std,
                "decision_rate": self.decision_rate, "groups": self.groups, "accuracy": self.accuracy,
                "auc": self.auc, "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reference:
        from steward.monitoring._validate import check_reference

        check_reference(d)
        feats = {f["name"]: FeatureReference.from_dict(f) for f in d["features"]}
        favourable = int(d.get("favourable", 1))
        counts, mean, auc = d.get("score_counts"), d.get("score_mean"), d.get("auc")
        if d.get("format") == 1 and favourable == 0:
            # A format-1 reference counted the raw score (the adverse outcome's probability when 0 is favourable):
            # turned around here, so monitors stored before keep judging windows like for like. Bin b of s is
            # bin 999 - b of 1 - s (exact but for scores on a bin's edge).
            counts = list(reversed(counts)) if counts is not None else None
            mean = 1.0 - mean if mean is not None else None
            auc = 1.0 - auc if auc is not None else None
        return cls(features=feats, rows=int(d["rows"]), protected=list(d.get("protected") or []),
                   reference_groups=dict(d.get("reference_groups") or {}), favourable=favourable,
                   score_counts=counts, score_mean=mean, score_std=d.get("score_std"),
                   decision_rate=d.get("decision_rate"), groups=dict(d.get("groups") or {}),
                   accuracy=d.get("accuracy"), auc=auc, source=str(d.get("source") or ""))

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any], *, protected: Sequence[str] = (),
                     reference_groups: Mapping[str, str] | None = None, favourable: int = 1,
                     audit_groups: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                     decision_rate: float | None = None, source: str = "") -> Reference:
        """The reference of a deployed version: its training profile (``TrainingProfile.to_dict()``) and the
        approved audit's groups (``{attribute: {group: [rows, favourable]}}``). A number feature whose profile
        has no histogram (recorded before monitors existed) is refused: its drift could not be measured."""
        feats: dict[str, FeatureReference] = {}
        for f in profile["features"]:
            rate = float(f["missing_rate"])
            if f["kind"] == "category":
                feats[f["name"]] = FeatureReference(f["name"], "category", rate, dict(f["categories"]))
                continue
            hist = f.get("histogram")
            if f.get("min") is None:  # no finite value in training: every value seen now is out of range
                feats[f["name"]] = FeatureReference(f["name"], "number", rate, [0])
                continue
            if hist is None:
                raise DataValidationError(
                    f"feature {f['name']!r}: the version's training profile has no histogram (it was recorded before "
                    "monitoring); record it again with `steward models version MODEL VERSION --training-data FILE`, "
                    "or give the monitor a reference file (--reference)")
            q = f.get("quantiles") or []
            deciles = sorted(set(float(v) for v in q[1:10])) if len(q) == 11 else []
            counts = np.asarray(hist["counts"], dtype=np.float64)
            mids = FeatureReference(f["name"], "number", rate, hist["counts"], list(hist["edges"]), deciles,
                                    float(f["min"]), float(f["max"]), sums=hist.get("sums"))
            m = mids.atoms()
            total = counts.sum()
            mean = float((m * counts).sum() / total) if total else None
            std = float(math.sqrt(max(((m - mean) ** 2 * counts).sum() / total, 0.0))) if total else None
            mids.mean, mids.std = mean, std
            feats[f["name"]] = mids
        return cls(features=feats, rows=int(profile["rows"]), protected=list(protected),
                   reference_groups=dict(reference_groups or {}), favourable=favourable,
                   groups={a: {g: [float(x) for x in v] for g, v in gs.items()} for a, gs in (audit_groups or {}).items()},
                   decision_rate=decision_rate, source=source)


def _number_reference(name: str, values: np.ndarray) -> FeatureReference:
    missing = np.isnan(values)
    finite = values[np.isfinite(values)]
    rate = float(missing.mean()) if len(values) else 0.0
    if not finite.size:
        return FeatureReference(name, "number", rate, [0])
    edges = np.unique(np.percentile(finite, np.arange(1, 100)))
    deciles = np.unique(np.percentile(finite, DECILES))
    idx = np.searchsorted(edges, finite, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    sums = np.bincount(idx, weights=finite, minlength=len(edges) + 1)
    return FeatureReference(name, "number", rate, counts.tolist(), edges.tolist(), deciles.tolist(),
                            float(finite.min()), float(finite.max()), float(finite.mean()), float(finite.std()),
                            sums.tolist())


def factorised(values: pd.Series) -> tuple[np.ndarray, list[Any]] | None:
    """``(codes, uniques)``: each row's code (-1 missing, exactly where ``values.isna()``) and the distinct
    values as Python objects (``tolist()``), when the dtype guarantees that a row's value and its unique are
    the same value of the same type, so any text of the unique is that row's text: text (pandas strings, or
    an object column holding only ``str``), categorical, and numpy bool and integer columns. None otherwise
    (floats, whose -0.0 and 0.0 factorise together but print apart; object columns of mixed types, where
    1, 1.0 and True are one unique): the caller then goes row by row. A categorical's uniques are its
    categories, in the categories' order, unused ones included."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64, copy=False)
        uniques = values.cat.categories.tolist()
    elif (isinstance(dtype, pd.StringDtype) or (dtype == object and pd.api.types.infer_dtype(values, skipna=True)
                                                 in ("string", "empty"))
          or (isinstance(dtype, np.dtype) and dtype.kind in "biu")):
        codes, uniques_index = pd.factorize(values, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
        uniques = uniques_index.tolist()
    else:
        return None
    if not np.array_equal(codes < 0, values.isna().to_numpy()):
        return None
    return codes, uniques


def category_text(values: pd.Series) -> np.ndarray:
    """Category values as text (the form the training profile and the prediction log use); None for missing."""
    from steward.serving._profile import _category_text

    fast = factorised(values)
    if fast is not None:  # the text of each distinct value, then taken by row (-1, missing, takes the None)
        codes, uniques = fast
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:len(uniques)] = [_category_text(u) for u in uniques]
        return table[codes]
    out = np.empty(len(values), dtype=object)
    missing = values.isna().to_numpy()
    for i, (v, m) in enumerate(zip(values.tolist(), missing.tolist())):
        out[i] = None if m else _category_text(v)
    return out


def build_reference(frame: pd.DataFrame, *, features: Sequence[str], protected: Sequence[str] = (),
                    reference_groups: Mapping[str, str] | None = None, score: str | None = None,
                    decision: str | None = None, label: str | None = None, favourable: int = 1,
                    source: str = "") -> Reference:
    """The reference of ``frame``: each feature's bins and counts, and with ``score``/``decision``/``label``
    columns the score histogram, the favourable rate overall and per protected group, and the accuracy."""
    if len(frame) == 0:
        raise DataValidationError("the reference has no rows; give the training or validation data")
    for role, cols in (("feature", features), ("protected attribute", protected),
                       ("score", [score] if score else []), ("decision", [decision] if decision else []),
                       ("label", [label] if label else [])):
        for c in cols:
            if c not in frame.columns:
                raise DataValidationError(f"{role} column {c!r} is not in the reference; its columns are: "
                                          f"{', '.join(map(str, frame.columns[:30]))}")
    feats: dict[str, FeatureReference] = {}
    for name in features:
        s = frame[name]
        if pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
            feats[name] = _number_reference(name, s.to_numpy(dtype="float64", na_value=np.nan))
        else:
            text = category_text(s)
            present = [t for t in text if t is not None]
            counts = pd.Series(present, dtype=object).value_counts()
            feats[name] = FeatureReference(name, "category", float(np.mean([t is None for t in text])),
                                           {str(k): int(v) for k, v in counts.items()})
    ref = Reference(features=feats, rows=len(frame), protected=list(protected), favourable=favourable,
                    source=source)
    if score:
        s = frame[score].to_numpy(dtype="float64", na_value=np.nan)
        s = s[np.isfinite(s)]
        if s.size and (s.min() < 0 or s.max() > 1):
            raise DataValidationError(f"score column {score!r} must hold probabilities in [0, 1], found values from "
                                      f"{s.min():.4g} to {s.max():.4g}; give the model's probability of decision 1 "
                                      "(the score its threshold is applied to)")
        s = favourable_score(s, favourable)
        ref.score_counts = np.bincount(score_bin(s), minlength=SCORE_BINS).tolist()
        ref.score_mean, ref.score_std = float(s.mean()), float(s.std())
    if decision:
        d = (frame[decision].to_numpy() == favourable).astype(np.int64)
        ref.decision_rate = float(d.mean())
        # groups named as a window names them (missing: "(missing)"), and the intersections too ("race*sex":
        # {"Black*Female": ...}), so each group's drift is measured from its own reference ratio
        names = {a: frame[a].astype(object).where(frame[a].notna(), None).map(
            lambda v: "(missing)" if v is None else str(v)).to_numpy(dtype=object) for a in protected}
        for k in range(1, len(protected) + 1):
            for attrs in combinations(protected, k):
                g = names[attrs[0]] if k == 1 else pd.Series(zip(*(names[a] for a in attrs))).map("*".join)
                per = pd.DataFrame({"g": np.asarray(g, dtype=object), "d": d}).groupby("g")["d"].agg(["size", "sum"])
                ref.groups["*".join(attrs)] = {str(i): [float(r["size"]), float(r["sum"])] for i, r in per.iterrows()}
        if label:
            y = frame[label].to_numpy() == favourable
            ref.accuracy = float(np.mean(y == (d == 1)))
    if score and label:
        from sklearn.metrics import roc_auc_score

        y = (frame[label].to_numpy() == favourable).astype(int)
        sc = favourable_score(frame[score].to_numpy(dtype="float64", na_value=np.nan), favourable)
        ok = np.isfinite(sc)
        if len(set(y[ok])) == 2:
            ref.auc = float(roc_auc_score(y[ok], sc[ok]))
    ref.reference_groups = {a: (reference_groups or {}).get(a) or _largest(ref.groups.get(a), frame, a)
                            for a in protected}
    return ref


def _largest(groups: Mapping[str, Sequence[float]] | None, frame: pd.DataFrame, attribute: str) -> str:
    """The default reference group: the largest one (as the audit picks it when none is named)."""
    if groups:
        return max(groups, key=lambda g: (groups[g][0], g))
    return str(frame[attribute].astype(object).map(str).value_counts().idxmax())
