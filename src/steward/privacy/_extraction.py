"""Model extraction: how many queries it takes to copy a model through its prediction endpoint.

An attacker with query access sends rows, reads the answers and fits a model of their own (a
*surrogate*) to them (Tramèr et al., "Stealing Machine Learning Models via Prediction APIs", USENIX
Security 2016). :func:`extraction_probe` plays that attacker at growing query budgets (100, 1,000,
10,000, ...): each budget's queries are labelled with the model's answers, three kinds of surrogate are
fitted (logistic regression, a decision tree, gradient boosting), and each is compared with the model on
real held-out rows. *Agreement* is the share of those rows on which the surrogate makes the model's
decision; the best surrogate at each budget draws the curve. The smallest budget whose agreement reaches
a target (95% by default) is the number of queries a copy takes, and at a deployment's throttle (a
token bucket of ``rate`` queries per second and ``burst`` at once, per key) the time it takes.

Where the queries come from says what the attacker knows:

* ``profile=``: the training profile Steward keeps for each model version (per-feature ranges, deciles
  and percentile histograms of numbers, counts of categories). :func:`sample_from_profile` draws each
  feature on its own from its published marginal, so the queries know nothing of how features go
  together: an attacker who has read a model card or a data sheet, nothing more.
* ``data=``: real rows the attacker holds (public data of the same population): a stronger attacker.

The guarded endpoint answers with the score as well as the decision, so by default the attacker fits
the scores (soft labels: each query counts as a positive with weight ``score`` and a negative with
weight ``1 - score``, the cross-entropy fit of the score itself); ``use_scores=False`` plays an attacker
who sees decisions only.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["SURROGATES", "ExtractionReport", "duration_text", "extraction_probe", "sample_from_profile",
           "seconds_to_send"]

SURROGATES = ("logistic", "tree", "boosting")
_SURROGATE_TEXT = {"logistic": "logistic regression (one-hot categories, standardised numbers)",
                   "tree": "decision tree (at least 5 rows a leaf)",
                   "boosting": "gradient boosting (100 rounds, native categories)"}
_MISSING = "(missing)"  # the level a missing category becomes in a surrogate's input
_MIN_BUDGET = 10


def _require_sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("the extraction probe fits scikit-learn surrogates: "
                                "pip install 'steward[privacy]'") from exc


# --- the attacker's query pool ----------------------------------------------------------------------------

def _as_profile(profile: Any) -> Any:
    from steward.serving._profile import TrainingProfile

    if isinstance(profile, TrainingProfile):
        return profile
    if isinstance(profile, Mapping):
        return TrainingProfile.from_dict(profile)
    raise DataValidationError(f"profile must be a TrainingProfile (steward.serving.build_profile) or its "
                              f"to_dict() form, got a {type(profile).__name__}")


def _pieces(f: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A number's marginal as pieces ``(low, high]`` with weights and mean values (NaN: unknown); ``low ==
    high`` puts all of a piece's weight on one value. The pieces are the bins of the percentile histogram
    when the profile has one, else the deciles."""
    lo_all, hi_all = float(f.min), float(f.max)
    h = f.histogram
    if h is not None and len(h["edges"]):
        bounds = np.array([lo_all, *h["edges"], hi_all], dtype=float)
        weights = np.asarray(h["counts"], dtype=float)
        lows, highs = bounds[:-1].copy(), bounds[1:].copy()
        means = np.full(len(weights), np.nan)
        if h.get("sums") is not None:
            np.divide(np.asarray(h["sums"], dtype=float), weights, out=means, where=weights > 0)
            # every value of bin i lies in (edges[i-1], edges[i]], so a mean on the upper edge means all of
            # them are that value (a mass point: 0 of capital-gain); the first bin may also sit on the minimum
            on_high = np.abs(means - highs) <= 1e-9 * np.maximum(1.0, np.abs(highs))
            lows[on_high] = highs[on_high]
            if weights[0] > 0 and abs(means[0] - lo_all) <= 1e-9 * max(1.0, abs(lo_all)):
                highs[0] = lo_all
        return lows, highs, weights, means
    q = np.asarray(f.quantiles if f.quantiles is not None else [lo_all, hi_all], dtype=float)
    return q[:-1].copy(), q[1:].copy(), np.ones(len(q) - 1), np.full(len(q) - 1, np.nan)


def _draw_number(f: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.full(n, np.nan)
    present = rng.random(n) >= f.missing_rate
    k = int(present.sum())
    if f.min is None or k == 0:
        return out
    lows, highs, weights, means = _pieces(f)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    pick = rng.choice(len(weights), size=k, p=weights / weights.sum())
    lo, hi, mean = lows[pick], highs[pick], means[pick]
    u, v = 1.0 - rng.random(k), rng.random(k)  # u in (0, 1]: a piece is (low, high]
    if f.integer:
        # the integers of (low, high] are floor(low)+1 .. floor(high); the first piece [min, high] also holds
        # the minimum itself
        a, b = np.floor(lo), np.floor(hi)
        a = np.where(pick == 0, np.minimum(a, float(f.min) - 1.0), a)
        a = np.where(lo == hi, b - 1.0, a)  # a mass point
        values = np.clip(np.ceil(a + (b - a) * u), a + 1.0, b)
        # integers pile up on round values (40 hours a week: 47% of Adult, in a bin that also holds 39), so a
        # bin's mean decides: the integers equally likely, plus a share on the top (or bottom) one that
        # gives the bin its training mean
        mid = (a + 1.0 + b) / 2.0
        with np.errstate(invalid="ignore", divide="ignore"):
            top = np.where(np.isfinite(mean) & (mean > mid), (mean - mid) / (b - mid), 0.0)
            bottom = np.where(np.isfinite(mean) & (mean < mid), (mid - mean) / (mid - a - 1.0), 0.0)
        top, bottom = np.clip(np.nan_to_num(top), 0, 1), np.clip(np.nan_to_num(bottom), 0, 1)
        values = np.where(v < top, b, np.where(v < bottom, a + 1.0, values))
    else:
        values = np.where(lo == hi, hi, lo + (hi - lo) * u)
    out[present] = np.clip(values, f.min, f.max)
    return out


def _draw_category(f: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    levels = np.array(list((f.categories or {}).keys()), dtype=object)
    counts = np.array(list((f.categories or {}).values()), dtype=float)
    present = rng.random(n) >= f.missing_rate
    out = np.full(n, np.nan, dtype=object)
    if len(levels) and counts.sum() > 0:
        out[present] = levels[rng.choice(len(levels), size=int(present.sum()), p=counts / counts.sum())]
    return out


def sample_from_profile(profile: Any, n: int, seed: int = 0) -> pd.DataFrame:
    """Draw ``n`` synthetic rows from a training profile, each feature on its own.

    Parameters
    ----------
    profile : TrainingProfile or dict
        A model version's training profile (:func:`steward.serving.build_profile`, or its ``to_dict()``).
    n : int
        Rows to draw.
    seed : int
        Seed of the random draws; the same seed gives the same rows.

    Returns
    -------
    pandas.DataFrame
        One column per profiled feature, in the profile's order. A number is drawn by inverting its
        cumulative distribution, read as linear between the knots the profile keeps (minimum, the
        percentile edges of its histogram or, without one, the deciles, maximum): each bin gets its share
        of the rows, spread evenly within it; a bin whose values all equal one number (its mean sits on its
        edge) gives that number. An integer feature gives integers (``int64`` when never missing): those of
        each bin evenly, plus a share on the bin's top or bottom integer that gives the bin its training
        mean, so that values people round to (40 hours a week) keep their weight. A category is drawn with
        its training frequency. Each feature is missing at its training rate (NaN).

    Notes
    -----
    The features are drawn independently: the rows reproduce each feature's published distribution
    (its marginal), not how features go together. They are what an attacker who knows only the marginals
    can send, and a copy trained on them is a lower bound on what an attacker with real rows achieves.

    Examples
    --------
    >>> import pandas as pd
    >>> from steward.serving import build_profile
    >>> p = build_profile(pd.DataFrame({"age": [20, 30, 40, 50], "job": ["a", "b", "a", "a"]}))
    >>> rows = sample_from_profile(p, 5, seed=1)
    >>> list(rows.columns), bool(rows["age"].between(20, 50).all())
    (['age', 'job'], True)
    """
    profile = _as_profile(profile)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise DataValidationError(f"n must be a whole number of rows >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for f in profile.features.values():
        if f.kind == "number":
            values = _draw_number(f, int(n), rng)
            columns[f.name] = values.astype(np.int64) if f.integer and not np.isnan(values).any() else values
        else:
            columns[f.name] = pd.Series(_draw_category(f, int(n), rng).tolist())  # text, as pandas reads it
    return pd.DataFrame(columns)


# --- the throttle -------------------------------------------------------------------------------------------

def seconds_to_send(queries: int, rate: float, burst: float = 0) -> float:
    """Seconds one API key needs to send ``queries`` through a token bucket of ``rate`` queries per
    second holding ``burst``: the first ``burst`` go at once, the rest at ``rate`` a second."""
    return max(0.0, float(queries) - float(burst)) / float(rate)


def duration_text(seconds: float) -> str:
    """A duration in words, to its two largest units: ``200`` -> ``"3 min 20 s"``, ``90000`` -> ``"1 day 1 h"``."""
    if not seconds >= 1:
        return "under a second"
    rest, counts = int(round(seconds)), []
    for unit, size in (("day", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        k, rest = divmod(rest, size)
        counts.append((k, unit + ("s" if unit == "day" and k != 1 else "")))
    first = next(i for i, (k, _) in enumerate(counts) if k)
    return " ".join(f"{k} {unit}" for k, unit in counts[first:first + 2] if k)


# --- surrogates -----------------------------------------------------------------------------------------------

def _surrogate(name: str, numbers_: list[str], categories: list[str], seed: int) -> tuple[Any, Any]:
    """(input transformer, classifier) of surrogate ``name``; categories arrive as codes (see ``_coded``)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    if name == "logistic":
        pre = ColumnTransformer([("number", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                                          StandardScaler()), numbers_),
                                 ("category", OneHotEncoder(handle_unknown="ignore"), categories)])
        return pre, LogisticRegression(C=1.0, max_iter=2000)
    pre = ColumnTransformer([("all", "passthrough", [*numbers_, *categories])])
    if name == "tree":
        return pre, DecisionTreeClassifier(min_samples_leaf=5, random_state=seed)
    mask = [False] * len(numbers_) + [True] * len(categories)
    return pre, HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=seed,
                                               categorical_features=mask if categories else None)


def _fit_predict(name: str, Q: pd.DataFrame, target: np.ndarray, soft: bool, H: pd.DataFrame,
                 numbers_: list[str], categories: list[str], seed: int) -> np.ndarray:
    """Fit surrogate ``name`` on the queries ``Q`` and their answers; its scores of the held-out rows ``H``."""
    import scipy.sparse as sp

    if soft:  # each query twice: a positive of weight score, a negative of weight 1 - score
        y = np.r_[np.ones(len(Q)), np.zeros(len(Q))]
        w = np.r_[target, 1.0 - target]
    else:
        y, w = target.astype(float), np.ones(len(Q))
    keep = w > 0
    if np.unique(y[keep]).size < 2:  # every answer alike: the copy answers the same
        return np.full(len(H), float(y[keep][0]) if keep.any() else 0.0)
    pre, est = _surrogate(name, numbers_, categories, seed)
    Z = pre.fit_transform(Q)
    if soft:
        Z = sp.vstack([Z, Z]).tocsr() if sp.issparse(Z) else np.vstack([Z, Z])
    est.fit(Z[keep], y[keep], sample_weight=w[keep])
    return est.predict_proba(pre.transform(H))[:, list(est.classes_).index(1.0)]


def _texts(values: pd.Series) -> pd.Series:
    """A category column as the profile writes its values (text), missing as a level of its own."""
    from steward.serving._profile import _category_text

    values = values.astype(object)
    present = values.notna()
    if not values[present].map(type).eq(str).all():  # numbers, bools...
        values = values.map(lambda v: _category_text(v) if pd.notna(v) else v)
    return values.where(present, _MISSING)


# the booster takes at most 255 levels a category: beyond the 250 commonest in the queries, levels share a code
_MAX_LEVELS = 250


def _coded(Q: pd.DataFrame, H: pd.DataFrame, numbers_: list[str], categories: list[str]) -> tuple[pd.DataFrame,
                                                                                                  pd.DataFrame]:
    """Queries and held-out rows as the surrogates read them: numbers as float, each category as a code
    (0, 1, ... by frequency in the queries); a held-out level the queries never held is -1, unknown to every
    surrogate (the booster reads it as missing, the one-hot encoder as no level)."""
    q_out = {c: pd.to_numeric(Q[c], errors="coerce").astype(float) for c in numbers_}
    h_out = {c: pd.to_numeric(H[c], errors="coerce").astype(float) for c in numbers_}
    for c in categories:
        q, h = _texts(Q[c]), _texts(H[c])
        levels = q.value_counts().index
        table = {v: float(min(i, _MAX_LEVELS)) for i, v in enumerate(levels)}
        q_out[c] = q.map(table).astype(float)
        h_out[c] = h.map(table).fillna(-1.0).astype(float)
    order = [*numbers_, *categories]
    return pd.DataFrame(q_out, index=Q.index)[order], pd.DataFrame(h_out, index=H.index)[order]


# --- the result ------------------------------------------------------------------------------------------------

@dataclass
class ExtractionReport(HtmlView):
    """How well copies fitted to a model's answers agree with it, against the number of queries.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (``budget``, ``surrogate``, ``repeat``): ``agreement`` (share of held-out rows where the
        copy makes the model's decision, with its Wilson interval), ``score_correlation`` and
        ``mean_abs_score_gap`` between the copy's and the model's scores (NaN when the attacker sees
        decisions only), ``positive_share`` of the queries' decisions and ``fit_seconds`` (fitting the copy and
        scoring the held-out rows).
    summary : pandas.DataFrame
        One row per budget: the ``best_surrogate`` (highest mean agreement over repeats), its mean
        ``agreement`` with a Wilson interval on the held-out rows, the lowest and highest over repeats,
        its score figures, ``reached`` (agreement at least the target) and, with a throttle,
        ``time_seconds`` for one key to send that many queries.
    queries_needed : int or None
        The smallest budget whose best agreement reaches ``agreement_target``; None when none does
        (the copy was not reached within the largest budget).
    time_needed_seconds : float or None
        Seconds one key needs to send ``queries_needed`` queries at the throttle; None without a
        throttle or when the target was not reached.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    queries_needed: int | None
    time_needed_seconds: float | None
    agreement_target: float
    threshold: float
    baseline_agreement: float
    holdout_rows: int
    source: str
    answers: str
    surrogates: tuple[str, ...]
    repeats: int
    rate: float | None = None
    burst: float | None = None
    notes: list[str] = field(default_factory=list)

    page_title = "Model extraction"
    page_kind = "probe"

    @property
    def time_needed_hours(self) -> float | None:
        """Hours one key needs to copy the model at the throttle: 0 when a copy is reached and nothing limits the
        rate (no throttle), None when no copy was reached."""
        if self.queries_needed is None:
            return None
        return 0.0 if self.time_needed_seconds is None else self.time_needed_seconds / 3600

    @property
    def budgets(self) -> list[int]:
        return [int(b) for b in self.summary["budget"]]

    def curve(self) -> pd.DataFrame:
        """Mean agreement over repeats: one row per budget, one column per surrogate."""
        return self.table.pivot_table(index="budget", columns="surrogate", values="agreement",
                                      aggfunc="mean", sort=False)[list(self.surrogates)]

    def verdict(self) -> str:
        """The finding in one sentence: how many queries a copy takes, and how long at the throttle."""
        target = f"{100 * self.agreement_target:g}%"
        best = self.summary.iloc[-1]
        if self.queries_needed is None:
            largest = int(best["budget"])
            text = (f"No copy reached {target} agreement with the model's decisions within {largest:,} queries "
                    f"(best: {100 * best['agreement']:.1f}% with {best['best_surrogate']})")
            if self.rate is not None:
                text += f"; sending {largest:,} queries takes {self._at_rate(largest)}"
            return text + "."
        row = self.summary[self.summary["budget"] == self.queries_needed].iloc[0]
        text = (f"A copy agreeing with {100 * row['agreement']:.1f}% of the model's decisions takes "
                f"{self.queries_needed:,} queries ({row['best_surrogate']})")
        if self.rate is not None:
            text += f": {self._at_rate(self.queries_needed)}"
        return text + "."

    def _at_rate(self, queries: int) -> str:
        burst = self.burst or 0
        took = duration_text(seconds_to_send(queries, self.rate, burst))
        bucket = f" after a burst of {burst:g}" if burst else ""
        return f"{took} at {self.rate:g} queries per second{bucket} for one key"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"queries_needed": self.queries_needed, "reached": self.queries_needed is not None,
                "time_needed_seconds": self.time_needed_seconds, "time_needed_hours": self.time_needed_hours,
                "agreement_target": self.agreement_target, "threshold": self.threshold,
                "baseline_agreement": self.baseline_agreement, "holdout_rows": self.holdout_rows,
                "source": self.source, "answers": self.answers, "surrogates": list(self.surrogates),
                "repeats": self.repeats, "rate": self.rate, "burst": self.burst, "verdict": self.verdict(),
                "notes": list(self.notes), "summary": json_rows(self.summary, limit=len(self.summary)),
                "fits": json_rows(self.table, limit=len(self.table))}

    def html(self, heading: int = 2) -> str:
        """Page body: the verdict, agreement against the budget, what was done, and the figures."""
        from steward.privacy._extraction_html import extraction_html

        return extraction_html(self, heading)


# --- the probe -----------------------------------------------------------------------------------------------

def _check_budgets(budgets: Any) -> list[int]:
    try:
        values = [budgets] if isinstance(budgets, numbers.Number) else list(budgets)
    except TypeError:  # not a sequence
        values = []
    ok = values and all(isinstance(b, numbers.Integral) and not isinstance(b, bool) for b in values)
    if not ok or min(values) < _MIN_BUDGET or any(b >= c for b, c in zip(values, values[1:])):
        raise DataValidationError(f"budgets must be increasing whole numbers of queries, each at least "
                                  f"{_MIN_BUDGET}, got {budgets!r}; e.g. budgets=(100, 1000, 10000)")
    return [int(b) for b in values]


def _check_surrogates(surrogates: Any) -> tuple[str, ...]:
    names = (surrogates,) if isinstance(surrogates, str) else tuple(surrogates)
    unknown = [s for s in names if s not in SURROGATES]
    if not names or unknown or len(set(names)) != len(names):
        found = f"unknown {', '.join(map(repr, unknown))}" if unknown else f"{names!r}"
        raise DataValidationError(f"surrogates must name each of {', '.join(SURROGATES)} at most once, got "
                                  f"{found}; e.g. surrogates=('logistic', 'boosting')")
    return names


def _check_number(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and \
        (value > low if low_open else value >= low) and value <= high
    if not ok:
        span = (f"{'>' if low_open else '>='} {low:g}" if math.isinf(high) else
                f"in {'(' if low_open else '['}{low:g}, {high:g}]")
        raise DataValidationError(f"{name} must be a number {span}, got {value!r}")
    return float(value)


def _kinds(features: list[str], profile: Any, data: pd.DataFrame | None) -> tuple[list[str], list[str]]:
    if profile is not None:
        numbers_ = [f for f in features if profile.features[f].kind == "number"]
    else:
        numbers_ = [f for f in features if pd.api.types.is_numeric_dtype(data[f].dtype)
                    and not isinstance(data[f].dtype, pd.CategoricalDtype)]
    return numbers_, [f for f in features if f not in numbers_]


def extraction_probe(
    model: Any,
    *,
    profile: Any = None,
    data: pd.DataFrame | None = None,
    holdout: pd.DataFrame,
    budgets: Sequence[int] = (100, 1_000, 10_000),
    surrogates: Sequence[str] = SURROGATES,
    repeats: int = 3,
    seed: int = 0,
    threshold: float = 0.5,
    agreement_target: float = 0.95,
    rate: float | None = None,
    burst: float | None = None,
    use_scores: bool = True,
    confidence: float = 0.95,
    on_progress: Callable[[str, float], None] | None = None,
) -> ExtractionReport:
    """How many queries an attacker needs to copy ``model``, and how long that takes at a throttle.

    For each repeat, an attacker draws ``max(budgets)`` query rows (from ``profile`` or ``data``) and
    asks the model about each; at each budget the first ``budget`` answers train each surrogate, and the
    surrogate's decisions on ``holdout`` are compared with the model's.

    Parameters
    ----------
    model : Model or model object
        A Steward :class:`~steward.models.Model` or anything :func:`~steward.models.wrap_model` takes; a
        binary classifier (its score is the probability of class 1; the decision is ``score >= threshold``).
        When it does not name its features, every feature of the profile (or column of ``data``) is one.
    profile : TrainingProfile or dict, optional
        The model version's training profile: queries are drawn from its marginals
        (:func:`sample_from_profile`), the attacker who knows only what is published.
    data : pandas.DataFrame, optional
        Real rows the attacker holds, the query pool instead of a profile: drawn without replacement
        while the pool lasts, with replacement beyond it. Give ``profile`` or ``data``, not both.
    holdout : pandas.DataFrame
        Real rows the copies are judged on (never queried), with the model's features.
    budgets : sequence of int
        Increasing numbers of queries, each at least 10.
    surrogates : sequence of str
        Which of ``"logistic"``, ``"tree"``, ``"boosting"`` the attacker fits.
    repeats : int
        Attackers per budget (independent query draws); figures are averaged over them.
    seed : int
        Seed of the draws and the surrogates.
    threshold : float
        The model's decision threshold on its score.
    agreement_target : float
        The agreement that counts as a copy.
    rate, burst : float, optional
        The deployment's throttle per API key (the guard's ``throttle: {rate, burst}``): a token bucket
        of ``burst`` queries refilled at ``rate`` a second. With ``rate`` the report says how long one
        key needs to send the queries: ``max(0, queries - burst) / rate`` seconds.
    use_scores : bool
        Whether the attacker reads the model's scores (as the guarded endpoint returns them) or only its
        decisions. A model whose scores are all 0 or 1 gives decisions only either way.
    confidence : float
        Level of the Wilson intervals on agreement.
    on_progress : callable, optional
        Called as ``on_progress("extraction", share_done)`` after each fit.

    Returns
    -------
    ExtractionReport

    Raises
    ------
    DataValidationError
        Neither or both of ``profile`` and ``data``; a feature missing from the profile, the data or the
        holdout; bad ``budgets``, an unknown surrogate, or an option out of range.
    RoleError
        The model is a regressor.
    """
    from steward.metrics import wilson_interval
    from steward.models import wrap_model

    _require_sklearn()
    model = wrap_model(model)
    if model.task != "classification":
        raise RoleError(f"extraction_probe copies a classifier's decisions; the {model.kind} model is a "
                        f"{model.task} model")
    budgets_ = _check_budgets(budgets)
    names = _check_surrogates(surrogates)
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 1:
        raise DataValidationError(f"repeats must be a whole number >= 1, got {repeats!r}")
    threshold = _check_number("threshold", threshold, 0.0, 1.0)
    target = _check_number("agreement_target", agreement_target, 0.0, 1.0, low_open=True)
    confidence = _check_number("confidence", confidence, 0.0, 1.0, low_open=True)
    if rate is not None:
        rate = _check_number("rate (queries per second per key)", rate, 0.0, math.inf, low_open=True)
        burst = 0.0 if burst is None else _check_number("burst (queries at once)", burst, 0.0, math.inf)
    elif burst is not None:
        raise DataValidationError("burst was given without rate; give the throttle's rate (queries per second "
                                  "per key) too, e.g. rate=50, burst=200")
    if (profile is None) == (data is None):
        raise DataValidationError("give the attacker's query pool as profile= (the model's training profile) or "
                                  "data= (real rows the attacker holds)" +
                                  (", not both" if profile is not None else ""))
    if not isinstance(holdout, pd.DataFrame) or len(holdout) == 0:
        raise DataValidationError("holdout must be a non-empty DataFrame of real rows the copies are judged on")
    if profile is not None:
        profile = _as_profile(profile)
        features = list(model.features or profile.features)
        source, lacks = "profile", [f for f in features if f not in profile.features]
    else:
        if not isinstance(data, pd.DataFrame) or len(data) == 0:
            raise DataValidationError("data must be a non-empty DataFrame of rows the attacker can query with")
        features = list(model.features or data.columns)
        source, lacks = "data", [f for f in features if f not in data.columns]
    if lacks:
        raise DataValidationError(f"the {source} lacks the model's feature(s) {', '.join(map(repr, lacks))}; give a "
                                  f"{source} {'of the model version' if profile is not None else 'with them'}")
    absent = [f for f in features if f not in holdout.columns]
    if absent:
        raise DataValidationError(f"holdout lacks the model's feature(s) {', '.join(map(repr, absent))}; give real "
                                  f"held-out rows with every feature")
    numbers_, categories = _kinds(features, profile, data)

    h_scores = model.score(holdout)
    h_decision = h_scores >= threshold
    soft = bool(use_scores and np.any((h_scores > 0) & (h_scores < 1)))
    n_h = len(holdout)
    notes: list[str] = []
    if data is not None and budgets_[-1] > len(data):
        notes.append(f"The attacker's {len(data):,} rows are fewer than {budgets_[-1]:,} queries: beyond them, "
                     f"rows are queried again (drawn with replacement).")

    from threadpoolctl import threadpool_limits

    rows: list[dict[str, Any]] = []
    seeds = np.random.SeedSequence(seed).spawn(repeats)
    total, done = repeats * len(budgets_) * len(names), 0
    # one thread (OpenMP and BLAS): idle threads spin while they wait, and on a shared machine (a CI runner, a
    # notebook server) a busy neighbour turns each of the many small fits into a crawl (measured here with two
    # busy cores: 14 s with two threads against 2.8 s with one, for the same 27 fits)
    with threadpool_limits(limits=1):
        for r, ss in enumerate(seeds):
            rng = np.random.default_rng(ss)
            largest = budgets_[-1]
            if profile is not None:
                queries = sample_from_profile(profile, largest, seed=int(rng.integers(2**32)))[features]
            else:
                pick = rng.choice(len(data), size=largest, replace=largest > len(data))
                queries = data.iloc[pick][features].reset_index(drop=True)
            q_scores = model.score(queries)
            answers = q_scores if soft else (q_scores >= threshold).astype(float)
            Q, H = _coded(queries, holdout, numbers_, categories)
            for b in budgets_:
                for name in names:
                    t0 = time.perf_counter()
                    s = _fit_predict(name, Q.iloc[:b], answers[:b], soft, H, numbers_, categories, seed + r)
                    took = time.perf_counter() - t0
                    same = int(((s >= (threshold if soft else 0.5)) == h_decision).sum())
                    lo, hi = wilson_interval(np.array([same]), np.array([n_h]), confidence)
                    rows.append({"budget": b, "surrogate": name, "repeat": r, "agreement": same / n_h,
                                 "agreement_ci_low": float(lo[0]), "agreement_ci_high": float(hi[0]),
                                 "score_correlation": _correlation(s, h_scores) if soft else np.nan,
                                 "mean_abs_score_gap": float(np.mean(np.abs(s - h_scores))) if soft else np.nan,
                                 "positive_share": float(np.mean(q_scores[:b] >= threshold)),
                                 "fit_seconds": took})
                    done += 1
                    if on_progress:
                        on_progress("extraction", done / total)
    table = pd.DataFrame(rows)
    summary = _summarise(table, names, n_h, target, confidence, rate, burst)
    reached = summary[summary["reached"]]
    needed = int(reached["budget"].iloc[0]) if len(reached) else None
    share = float(h_decision.mean())
    return ExtractionReport(
        table=table, summary=summary, queries_needed=needed,
        time_needed_seconds=None if needed is None or rate is None else seconds_to_send(needed, rate, burst),
        agreement_target=target, threshold=threshold, baseline_agreement=max(share, 1.0 - share), holdout_rows=n_h,
        source=source, answers="scores" if soft else "decisions", surrogates=names, repeats=int(repeats),
        rate=rate, burst=burst, notes=notes)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant (a copy that answers one score)."""
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(np.sum(da * da)) * float(np.sum(db * db)))
    return float(np.sum(da * db) / denom) if denom > 0 else float("nan")


def _summarise(table: pd.DataFrame, names: tuple[str, ...], n_h: int, target: float, confidence: float,
               rate: float | None, burst: float | None) -> pd.DataFrame:
    from steward.metrics import wilson_interval

    out = []
    for b, part in table.groupby("budget", sort=False):
        means = part.groupby("surrogate", sort=False)["agreement"].mean()
        best = max(names, key=lambda s: (means[s], -names.index(s)))  # ties: the first named
        mine = part[part["surrogate"] == best]
        agreement = float(mine["agreement"].mean())
        lo, hi = wilson_interval(np.array([agreement * n_h]), np.array([n_h]), confidence)
        row = {"budget": int(b), "best_surrogate": best, "agreement": agreement,
               "agreement_ci_low": float(lo[0]), "agreement_ci_high": float(hi[0]),
               "agreement_lowest": float(mine["agreement"].min()), "agreement_highest": float(mine["agreement"].max()),
               "score_correlation": float(mine["score_correlation"].mean()),
               "mean_abs_score_gap": float(mine["mean_abs_score_gap"].mean()),
               "reached": bool(agreement >= target)}
        if rate is not None:
            row["time_seconds"] = seconds_to_send(int(b), rate, burst or 0.0)
        out.append(row)
    return pd.DataFrame(out)
