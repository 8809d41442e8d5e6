"""Reason codes: for each adverse decision, the features that pushed the score furthest toward the
adverse side, said in plain language from a reviewed mapping, never citing a protected attribute or
a flagged proxy.

The contributions are Shapley values (see :mod:`steward.explain._shapley`), so "pushed" is measured
against the explanation's reference: the model's average output over its training data for tree
models (TreeSHAP's base value), over a background sample otherwise. Each result says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, PolicyError
from steward.explain._shapley import ShapleyValues, shapley_values

__all__ = ["ReasonMap", "ReasonCodes", "reason_codes"]

_DEFAULT = "default"


@dataclass
class ReasonMap:
    """Plain-language reasons per feature, and the features that must never be cited.

    Read from YAML (:meth:`load`)::

        adverse: high            # a higher score is the adverse side (e.g. probability of default)
        never_cite: [personal_status_sex, age_years, foreign_worker]
        reasons:
          duration_months: "Loan duration too long"
          checking_status:       # by the row's value; `default` for the others
            A11: "Checking account is overdrawn"
            A14: "No checking account"
            default: "Checking account balance too low"

    A file holding only ``feature: text`` lines is read as the ``reasons`` mapping.

    Attributes
    ----------
    reasons : dict
        feature -> text, or feature -> {value: text, "default": text}.
    never_cite : list of str
        Protected attributes and flagged proxies; a reason for them is refused.
    adverse : {"high", "low"}
        Which end of the score is the adverse decision.
    source : str
        Where the mapping came from (the file), for the record.
    """

    reasons: dict[str, Any]
    never_cite: list[str] = field(default_factory=list)
    adverse: str = "high"
    source: str = "(in memory)"

    def __post_init__(self) -> None:
        if self.adverse not in ("high", "low"):
            raise DataValidationError(f"reasons: adverse must be 'high' or 'low', got {self.adverse!r}")
        if not isinstance(self.reasons, Mapping) or not self.reasons:
            raise DataValidationError(f"reasons ({self.source}): give a mapping of feature names to reason texts")
        for feat, text in self.reasons.items():
            texts = text.values() if isinstance(text, Mapping) else [text]
            if not all(isinstance(t, str) and t.strip() for t in texts):
                raise DataValidationError(f"reasons ({self.source}): the reason for {feat!r} must be a non-empty text "
                                          f"or a mapping of values to texts, got {text!r}")
        self.reasons = {str(k): v for k, v in self.reasons.items()}
        self.never_cite = [str(c) for c in self.never_cite or []]
        cited = sorted(set(self.reasons) & set(self.never_cite))
        if cited:
            raise PolicyError(f"reasons ({self.source}) give a reason for {', '.join(map(repr, cited))}, which must "
                              f"never be cited (protected attribute or flagged proxy); remove those entries")

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any], *, never_cite: Sequence[str] = ()) -> "ReasonMap":
        """Read a mapping from a YAML file or a dict; ``never_cite`` adds to the file's list."""
        from steward._yamlfile import read_yaml

        source, where = read_yaml(source, "reasons file")
        if not isinstance(source, Mapping):
            raise DataValidationError(f"reasons ({where}): expected a mapping of feature names to reason texts")
        if "reasons" in source:
            unknown = sorted(set(source) - {"reasons", "never_cite", "adverse"})
            if unknown:
                raise DataValidationError(f"reasons ({where}): unknown key(s) {', '.join(unknown)}; the keys are "
                                          f"reasons, never_cite and adverse")
            body, excluded, adverse = source["reasons"], list(source.get("never_cite") or []), source.get("adverse", "high")
        else:
            body, excluded, adverse = dict(source), [], "high"
        return cls(dict(body or {}), [*excluded, *never_cite], str(adverse), where)

    def citable(self, features: Sequence[str]) -> list[str]:
        """The features that may be cited: mapped and not excluded."""
        return [f for f in features if f in self.reasons and f not in self.never_cite]

    def texts(self, feature: str, values: pd.Series) -> np.ndarray:
        """The reason text for each value of ``feature``."""
        text = self.reasons[feature]
        if not isinstance(text, Mapping):
            return np.full(len(values), text, dtype=object)
        by_value = {str(k): v for k, v in text.items() if k != _DEFAULT}
        fallback = text.get(_DEFAULT)
        out = values.astype(object).astype(str).map(by_value)  # a dict lookup per distinct value, not per row
        return out.where(out.notna(), fallback).to_numpy(dtype=object)

    def to_dict(self) -> dict[str, Any]:
        return {"reasons": self.reasons, "never_cite": self.never_cite, "adverse": self.adverse, "source": self.source}


@dataclass
class ReasonCodes:
    """The top reasons for each row's decision.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per explained row: ``score``, ``adverse`` and, for ``i`` in 1..k, ``reason_i`` (text),
        ``reason_i_feature``, ``reason_i_value`` and ``reason_i_contribution`` (how far the feature
        moved the score toward the adverse side, in the explanation's space). Favourable rows and
        rows with fewer than ``i`` adverse-pushing citable features have empty reasons.
    k : int
    threshold : float
    adverse : {"high", "low"}
    reference : str
        What the contributions are measured from, in words.
    shapley : ShapleyValues
    excluded : list of str
        Features never cited here (protected, flagged proxies, or without a reviewed text).
    """

    rows: pd.DataFrame
    k: int
    threshold: float
    adverse: str
    reference: str
    shapley: ShapleyValues
    excluded: list[str]
    mapping_source: str

    def to_frame(self) -> pd.DataFrame:
        return self.rows

    @property
    def cited(self) -> pd.Series:
        """How often each feature is cited, over all reason slots."""
        cols = [f"reason_{i}_feature" for i in range(1, self.k + 1)]
        return self.rows[cols].stack().value_counts()

    def records(self) -> list[dict[str, Any]]:
        """One JSON-safe dict per row: index, score, adverse and its reasons."""
        out = []
        r = self.rows
        index = r.index.tolist()
        for pos, idx in enumerate(index):
            reasons = []
            for i in range(1, self.k + 1):
                feat = r[f"reason_{i}_feature"].iat[pos]
                if feat is None or (isinstance(feat, float) and np.isnan(feat)):
                    break
                value = r[f"reason_{i}_value"].iat[pos]
                if not isinstance(value, str) and pd.isna(value):
                    value = None  # a missing value can be a reason (the model routes it), but JSON has no NaN
                reasons.append({"rank": i, "feature": feat, "text": r[f"reason_{i}"].iat[pos],
                                "value": value.item() if hasattr(value, "item") else value,
                                "contribution": float(r[f"reason_{i}_contribution"].iat[pos])})
            out.append({"row": idx.item() if hasattr(idx, "item") else idx, "score": float(r["score"].iat[pos]),
                        "adverse": bool(r["adverse"].iat[pos]), "reasons": reasons})
        return out

    def to_dict(self, max_rows: int | None = 100) -> dict[str, Any]:
        recs = self.records() if max_rows is None else ReasonCodes(self.rows.head(max_rows), **{
            k: getattr(self, k) for k in ("k", "threshold", "adverse", "reference", "shapley", "excluded",
                                          "mapping_source")}).records()
        return {"k": self.k, "threshold": self.threshold, "adverse": self.adverse, "reference": self.reference,
                "method": self.shapley.method, "space": self.shapley.space, "excluded": self.excluded,
                "mapping": self.mapping_source, "rows": len(self.rows),
                "adverse_rows": int(self.rows["adverse"].sum()),
                "cited": {str(k): int(v) for k, v in self.cited.items()}, "records": recs}

    def _repr_html_(self) -> str:
        import html

        from steward._html import fragment, table

        adverse = self.rows[self.rows["adverse"].astype(bool)]
        texts = [c for c in (f"reason_{i}" for i in range(1, self.k + 1)) if c in adverse.columns]
        return fragment(f"<p>Reason codes for {len(adverse):,} adverse decisions of {len(self.rows):,} rows; measured "
                        f"from {html.escape(self.reference)}.</p>"
                        + table(adverse[["score", *texts]].rename_axis("row").reset_index(), limit=10, detail_rows=200,
                                summary="the first adverse decisions"))


def _reference_text(sv: ShapleyValues) -> str:
    base = sv.base_value
    if sv.space == "log_odds":
        said = f"log-odds {base:.4f} (probability {1 / (1 + np.exp(-base)):.4f})"
    else:
        said = f"{sv.space} {base:.4f}"
    where = ("the model's average output over its training data (TreeSHAP's base value)" if "TreeSHAP" in sv.method
             else "the model's average output over the background rows")
    return f"{where}: {said}"


def reason_codes(
    model: Any,
    X: pd.DataFrame,
    *,
    reasons: ReasonMap | str | Path | Mapping[str, Any],
    k: int = 4,
    threshold: float = 0.5,
    adverse: str | None = None,
    never_cite: Sequence[str] = (),
    all_rows: bool = False,
    shapley: ShapleyValues | None = None,
    **shapley_options: Any,
) -> ReasonCodes:
    """The top ``k`` reasons behind each adverse decision.

    Parameters
    ----------
    model : Model or model object
    X : pandas.DataFrame
        The rows whose decisions are explained.
    reasons : ReasonMap, YAML path or dict
        The reviewed plain-language texts (see :class:`ReasonMap`).
    k : int
        Reasons per row (the principal reasons of an adverse action notice; 4 is customary).
    threshold : float
        The decision threshold on the model's score.
    adverse : {"high", "low"}, optional
        Which end of the score is adverse; overrides the mapping's ``adverse``.
    never_cite : list of str
        Protected attributes and flagged proxies, added to the mapping's list; these are never cited.
    all_rows : bool
        Give reasons for favourable decisions too (the features that pushed toward adverse anyway).
    shapley : ShapleyValues, optional
        Contributions already computed for these rows.
    **shapley_options
        Passed to :func:`shapley_values` (``space``, ``background``, ``max_evals``, ...).

    Returns
    -------
    ReasonCodes

    Raises
    ------
    PolicyError
        The mapping gives a text for a feature that must never be cited.
    DataValidationError
        A model feature has no reason text and is not excluded, or a value has no text.
    """
    from steward.models import wrap_model

    if not isinstance(k, (int, np.integer)) or k < 1:
        raise DataValidationError(f"k must be a positive whole number of reasons, got {k!r}")
    rmap = reasons if isinstance(reasons, ReasonMap) else ReasonMap.load(reasons, never_cite=never_cite)
    if isinstance(reasons, ReasonMap) and never_cite:
        rmap = ReasonMap(rmap.reasons, [*rmap.never_cite, *never_cite], rmap.adverse, rmap.source)
    side = adverse or rmap.adverse
    if side not in ("high", "low"):
        raise DataValidationError(f"adverse must be 'high' or 'low', got {side!r}")
    model = wrap_model(model)
    sv = shapley if shapley is not None else shapley_values(model, X, **shapley_options)
    features = sv.features
    unmapped = [f for f in features if f not in rmap.reasons and f not in rmap.never_cite]
    if unmapped:
        raise DataValidationError(
            f"reasons ({rmap.source}): no reason text for model feature(s) {', '.join(map(repr, unmapped))}; add a "
            f"text for each, or list it under never_cite if it must not be cited")
    if sv.space == "log_odds" and model.kind in ("lightgbm", "xgboost"):
        score = 1.0 / (1.0 + np.exp(-sv.output))  # the probability is the link of the contributions' sum
    else:
        score = model.score(X) if len(X) else np.empty(0)
    is_adverse = score >= threshold if side == "high" else score < threshold
    sign = 1.0 if side == "high" else -1.0
    push = sign * sv.values  # > 0: toward the adverse side
    # the link is increasing, so a push up in log-odds is a push up in probability: one sign rule for both
    citable = np.array([f in rmap.reasons and f not in rmap.never_cite for f in features], dtype=bool)
    push = np.where(citable[None, :] & (push > 0), push, -np.inf)
    kk = min(k, len(features))
    if kk and len(push):
        top = np.argpartition(-push, kk - 1, axis=1)[:, :kk] if kk < len(features) else np.tile(np.arange(kk), (len(push), 1))
        order = np.argsort(-np.take_along_axis(push, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
    else:
        top = np.zeros((len(push), kk), dtype=int)
    active = is_adverse if not all_rows else np.ones(len(push), dtype=bool)
    rows: dict[str, Any] = {"score": score, "adverse": is_adverse}
    data = sv.data
    text_cache: dict[int, np.ndarray] = {}
    for i in range(kk):
        j = top[:, i]
        contrib = np.take_along_axis(push, j[:, None], axis=1)[:, 0]
        valid = active & np.isfinite(contrib)
        feat = np.where(valid, np.asarray(features, dtype=object)[j], None)
        text = np.full(len(j), None, dtype=object)
        value = np.full(len(j), None, dtype=object)
        for col in np.unique(j[valid]):
            if col not in text_cache:
                text_cache[col] = rmap.texts(features[col], data.iloc[:, col])
            sel = valid & (j == col)
            text[sel] = text_cache[col][sel]
            if pd.isna(text[sel]).any():
                seen = sorted({str(v) for v, t in zip(data.iloc[:, col][sel], text[sel]) if pd.isna(t)})[:5]
                raise DataValidationError(f"reasons ({rmap.source}): {features[col]!r} has no text for value(s) "
                                          f"{', '.join(seen)}; add them or a `default:` text")
            value[sel] = data.iloc[:, col].to_numpy(dtype=object)[sel]
        rows[f"reason_{i + 1}"] = text
        rows[f"reason_{i + 1}_feature"] = feat
        rows[f"reason_{i + 1}_value"] = value
        rows[f"reason_{i + 1}_contribution"] = np.where(valid, contrib, np.nan)
    excluded = [f for f in features if not citable[features.index(f)]]
    return ReasonCodes(pd.DataFrame(rows, index=X.index), kk, float(threshold), side, _reference_text(sv), sv,
                       excluded, rmap.source)
