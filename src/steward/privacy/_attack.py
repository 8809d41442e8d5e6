"""What the inference attacks share: the model seen as an attacker sees it (class probabilities for rows of a
numeric matrix, as the Adversarial Robustness Toolbox wants it), the attack's figures (AUC with the
Hanley-McNeil interval, advantage with a Wald interval) and the binary label.

ART (``adversarial-robustness-toolbox``, MIT) is imported only here and only when an attack runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["art", "Encoded", "auc", "auc_interval", "advantage", "best_threshold", "binary_label", "black_box",
           "class_probabilities"]

INSTALL = "pip install 'steward[privacy]'"


def art() -> Any:
    """The ``art`` package, or a one-line error naming the extra."""
    import warnings

    try:
        with warnings.catch_warnings():  # ART says on import that torch is absent; its attacks here do not need it
            warnings.simplefilter("ignore", UserWarning)
            import art as _art  # noqa: F401
            import art.attacks.inference.attribute_inference  # noqa: F401
            import art.attacks.inference.membership_inference  # noqa: F401
            import art.estimators.classification  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"the inference attacks need the Adversarial Robustness Toolbox: {INSTALL}") from None
    return _art


def binary_label(values: pd.Series, column: str, positive_label: Any = None) -> np.ndarray:
    """0/1 of a label column: ``positive_label`` is 1; without it the larger of two values (as scikit-learn's
    class 1)."""
    v = values
    if v.isna().any():
        raise DataValidationError(f"label {column!r} has {int(v.isna().sum())} missing values; drop those rows or "
                                  f"fill them before probing")
    uniq = sorted(pd.unique(v).tolist(), key=str)
    if positive_label is None:
        if len(uniq) != 2:
            shown = ", ".join(map(str, uniq[:5]))
            raise DataValidationError(f"label {column!r} has {len(uniq)} distinct values ({shown}); the probes need "
                                      f"a binary label, or name the favourable one with "
                                      f"positive_label")
        try:
            positive_label = max(uniq)
        except TypeError:
            positive_label = uniq[-1]
    elif positive_label not in set(uniq) and str(positive_label) not in {str(u) for u in uniq}:
        raise DataValidationError(f"label {column!r} never takes the positive label {positive_label!r}; its values "
                                  f"are {', '.join(map(str, uniq[:5]))}")
    return (v.astype(str) == str(positive_label)).to_numpy().astype(np.int64)


def class_probabilities(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """``[[P(0), P(1)], ...]`` of a Steward model's scores; a model whose scores are not probabilities is refused."""
    p = np.asarray(model.score(frame), dtype=float)
    if p.shape != (len(frame),) or not np.isfinite(p).all():
        raise DataValidationError("the model returned scores that are not one finite number per row")
    if ((p < 0) | (p > 1)).any():
        raise DataValidationError("the model's scores are not probabilities (some are outside 0..1); the inference "
                                  "attacks read a classifier's probability of class 1")
    return np.column_stack([1.0 - p, p])


class Encoded:
    """A frame as a float matrix and back: numbers as they are (missing as NaN), every other column as its
    category codes (missing -1), so ART's attacks, which take numeric arrays, can query a model that reads the
    frame's own columns (``frame`` decodes a matrix to the original values, rows the attacker builds included)."""

    def __init__(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise RoleError(f"column(s) {', '.join(map(repr, missing))} are not in the data; its columns are: "
                            f"{', '.join(map(str, frame.columns[:30]))}")
        self.columns = list(columns)
        self.categories: dict[str, list[Any]] = {}
        self.dtypes = {c: frame[c].dtype for c in self.columns}
        for c in self.columns:
            s = frame[c]
            if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
                self.categories[c] = sorted(pd.unique(s.dropna()).tolist(), key=str)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            if c in self.categories:
                at = {v: i for i, v in enumerate(self.categories[c])}
                out[:, j] = [at.get(v, -1) if v == v and v is not None else -1 for v in frame[c].tolist()]
            else:
                out[:, j] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def frame(self, x: np.ndarray) -> pd.DataFrame:
        cols: dict[str, Any] = {}
        for j, c in enumerate(self.columns):
            if c in self.categories:
                cats = self.categories[c]
                codes = np.rint(x[:, j]).astype(np.int64)
                cols[c] = pd.Series([cats[k] if 0 <= k < len(cats) else None for k in codes.tolist()], dtype=object)
            else:
                v = x[:, j]
                whole = pd.api.types.is_integer_dtype(self.dtypes[c]) and not np.isnan(v).any()
                cols[c] = pd.Series(np.rint(v).astype(self.dtypes[c]) if whole else v)
        return pd.DataFrame(cols)


def black_box(model: Any, encoded: Encoded) -> Any:
    """The model as ART's ``BlackBoxClassifier`` over ``encoded``'s matrices."""
    art()
    from art.estimators.classification import BlackBoxClassifier

    return BlackBoxClassifier(lambda x: class_probabilities(model, encoded.frame(np.asarray(x, dtype=np.float64))),
                              input_shape=(len(encoded.columns),), nb_classes=2)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive's signal > a negative's) + half the ties: the Mann-Whitney AUC."""
    from scipy.stats import rankdata

    n1, n0 = len(positive), len(negative)
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(np.concatenate([positive, negative]))
    return float((r[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_interval(a: float, n1: int, n0: int, confidence: float = 0.95) -> tuple[float, float]:
    """Hanley and McNeil (1982)'s standard error of an AUC, as a normal interval clipped to [0, 1]."""
    if not (n1 and n0) or a != a:
        return (float("nan"), float("nan"))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    z = float(norm.ppf(0.5 + confidence / 2))
    half = z * math.sqrt(max(var, 0.0))
    return (max(0.0, a - half), min(1.0, a + half))


def best_threshold(positive: np.ndarray, negative: np.ndarray) -> float:
    """The threshold t maximising TPR - FPR of "signal >= t is a member" (the attacker's choice, made on rows
    apart from those it is judged on)."""
    values = np.unique(np.concatenate([positive, negative]))
    if len(values) > 2_000:
        values = np.unique(np.quantile(values, np.linspace(0, 1, 2_001)))
    p = np.sort(positive)
    n = np.sort(negative)
    tpr = 1 - np.searchsorted(p, values, side="left") / max(len(p), 1)
    fpr = 1 - np.searchsorted(n, values, side="left") / max(len(n), 1)
    return float(values[int(np.argmax(tpr - fpr))])


def advantage(guess_pos: np.ndarray, guess_neg: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float,
                                                                                                float, float]:
    """The membership advantage of 0/1 guesses (Yeom et al., 2018): TPR - FPR, with a Wald interval of the
    difference of two independent proportions; returns (advantage, low, high, tpr, fpr)."""
    n1, n0 = len(guess_pos), len(guess_neg)
    if not (n1 and n0):
        nan = float("nan")
        return (nan, nan, nan, nan, nan)
    tpr, fpr = float(np.mean(guess_pos)), float(np.mean(guess_neg))
    z = float(norm.ppf(0.5 + confidence / 2))
    half = z * math.sqrt(tpr * (1 - tpr) / n1 + fpr * (1 - fpr) / n0)
    adv = tpr - fpr
    return (adv, max(-1.0, adv - half), min(1.0, adv + half), tpr, fpr)
