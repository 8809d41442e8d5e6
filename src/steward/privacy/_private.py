"""Private training and its price: differentially private Explainable Boosting Machines (DP-EBM, Nori,
Caruana et al., ICML 2021; ``interpret.privacy.DPExplainableBoostingClassifier``) at several privacy budgets
ε, each beside the same kind of model trained without privacy, judged on the same test rows.

Differential privacy bounds what the model can reveal about any one training row: with budget (ε, δ), adding
or removing a person changes the chance of any outcome of training by a factor of at most e^ε (plus δ). The
noise that buys this falls hardest where the data are thin, so under-represented groups tend to pay more
accuracy than the majority does (Bagdasaryan, Poursaeed and Shmatikov, NeurIPS 2019, "Differential privacy
has disparate impact on model accuracy"). The report therefore shows, per model (non-private and each ε),
overall accuracy (Wilson interval) and AUC (Hanley-McNeil interval), and per protected attribute and group:
accuracy, favourable (selection) rate, true- and false-positive rates, the adverse impact ratio against a
reference group (Katz interval), and the change of the group's accuracy from the non-private model with
Newcombe's paired interval ("the price per group"). Group figures come from Steward's own group metrics
(:func:`steward.metrics.group_metrics`), so they mean exactly what they mean in an audit.

What the privacy guarantee covers, and what it does not:

* Feature types are given to DP-EBM from the columns' dtypes (numbers continuous, the rest nominal), so it
  does not look at the values to guess them; the categories themselves are chosen by DP-EBM's private
  binning (a share ``bin_budget_frac`` of ε).
* Each number's range must be public knowledge: DP-EBM spreads its bins over it. Give the ranges with
  ``privacy_bounds`` (e.g. ``{"age": (17, 90)}``, a range anyone could state without seeing the data).
  For a number without one, the training data's minimum and maximum are used and passed explicitly: that
  look at the data is outside the privacy budget (interpret would warn the same), and the report lists
  those columns in ``bounds_from_data`` and says so in its notes.
* ``seed`` fixes the noise so the figures can be reproduced; whoever knows the seed knows the noise, so a
  model that is released should be trained with ``seed=None``.
* The test rows are used only to measure the models, never to train them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward._html import HtmlView
from steward.errors import DataValidationError, MissingExtraError, SmallGroupWarning

__all__ = ["PrivateTrainingReport", "private_training"]

INSTALL = "pip install 'steward[privacy]'"
NON_PRIVATE = "non-private"
# an ε whose noise is negligible: DP-EBM's settings without (meaningful) privacy, to split the price in two
DESIGN_EPSILON = 1e4
_LABEL, _SCORE = "__steward_label__", "__steward_score__"
# columns of steward.metrics.group_metrics kept per group (their _ci_low/_ci_high come along)
_GROUP_COLUMNS = ("accuracy", "favourable_rate", "true_positive_rate", "false_positive_rate", "adverse_impact_ratio")
# the options the function sets itself, so a caller cannot set them twice by another road
_RESERVED = {"feature_types", "random_state", "epsilon", "delta", "privacy_bounds", "feature_names"}


@dataclass
class PrivateTrainingReport(HtmlView):
    """What privacy costs, per model and per group.

    ``overall``: one row per model (``non-private`` first, then each ε ascending) with ``epsilon``
    (infinite for the non-private model: no privacy), ``accuracy`` and ``auc`` with intervals,
    ``favourable_rate``, ``accuracy_change`` from the non-private model (Newcombe's paired interval over
    the same test rows) and, for private models, the noise scales DP-EBM used for binning and boosting.
    ``table``: one row per model x protected attribute x group with ``rows``, ``accuracy``,
    ``favourable_rate``, ``true_positive_rate``, ``false_positive_rate``, ``adverse_impact_ratio`` (against
    ``reference``; each with its interval), ``below_four_fifths``, ``too_small_to_judge`` and
    ``accuracy_change`` (the group's accuracy minus its accuracy under the non-private model: negative is
    the price the group pays).

    ``design`` (unless ``design_control=False``): the same figures for DP-EBM with the same settings at an ε so
    large (``DESIGN_EPSILON``) that its noise is negligible. The non-private model's accuracy minus this one's is
    the part of the price that comes with DP-EBM's settings (learning rate, rounds, private binning, no
    bagging) rather than with the noise; this one's minus a private model's is the part the noise costs.

    The intervals are over the test rows (another test sample would give other figures); they do not
    include the randomness of the privacy noise itself, which ``seed`` fixes: compare seeds to see it.
    ``baseline`` and ``models`` (by ε) are the fitted models, for scoring other rows.
    """

    table: pd.DataFrame
    overall: pd.DataFrame
    epsilons: tuple[float, ...]
    delta: float
    seed: int | None
    interpret_version: str
    rows: dict[str, int]
    features: list[str]
    privacy: dict[str, Any]
    options: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    design: dict[str, Any] | None = None
    baseline: Any = field(default=None, repr=False)
    models: dict[float, Any] = field(default_factory=dict, repr=False)
    design_model: Any = field(default=None, repr=False)

    page_title = "Private training and its price"
    page_kind = "probe"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def largest_loss(self, epsilon: float | None = None) -> dict[str, Any] | None:
        """The group losing the most accuracy at ``epsilon`` (default: the smallest ε) relative to the
        non-private model, among the groups large enough to judge (all groups when none is); ``None`` when
        there are no groups. Keys: ``attribute``, ``group``, ``epsilon``, ``rows``, ``accuracy_non_private``,
        ``accuracy``, ``accuracy_change`` and, for comparison, ``overall_change``."""
        eps = min(self.epsilons) if epsilon is None else float(epsilon)
        if eps not in self.epsilons:
            raise DataValidationError(f"epsilon {epsilon!r} was not trained; the trained values are "
                                      f"{', '.join(f'{e:g}' for e in self.epsilons)}")
        t = self.table[self.table["epsilon"] == eps]
        judged = t[~t["too_small_to_judge"]]
        t = judged if len(judged) else t
        t = t[t["accuracy_change"].notna()]
        if t.empty:
            return None
        row = t.loc[t["accuracy_change"].idxmin()]
        overall = self.overall.set_index("epsilon")["accuracy_change"]
        return {"attribute": str(row["attribute"]), "group": str(row["group"]), "epsilon": eps,
                "rows": int(row["rows"]), "accuracy_non_private": float(row["accuracy"] - row["accuracy_change"]),
                "accuracy": float(row["accuracy"]), "accuracy_change": float(row["accuracy_change"]),
                "overall_change": float(overall[eps])}

    def record(self, chosen: float | None = None) -> dict[str, Any]:
        """What the registry stores on a model version trained this way: the mechanism and the library
        version, every ε tried, δ, the ε chosen for the version (``chosen``, one of the ε tried), and the
        privacy settings that decide what the guarantee covers (composition, the share of ε spent on
        binning, the public ranges and which ranges were read from the data, DP-EBM's other options, whether the
        noise was seeded)."""
        if chosen is not None:
            try:
                chosen = float(chosen)
            except (TypeError, ValueError):
                raise DataValidationError(f"chosen must be one of the trained epsilons, got {chosen!r}") from None
            if chosen not in self.epsilons:
                raise DataValidationError(f"chosen epsilon {chosen:g} was not trained; choose one of "
                                          f"{', '.join(f'{e:g}' for e in self.epsilons)}")
        return {
            "mechanism": "DP-EBM (interpret.privacy.DPExplainableBoostingClassifier)",
            "library": "interpret",
            "library_version": self.interpret_version,
            "epsilons": list(self.epsilons),
            "delta": self.delta,
            "chosen_epsilon": chosen,
            "composition": self.privacy["composition"],
            "bin_budget_frac": self.privacy["bin_budget_frac"],
            "privacy_bounds": self.privacy["privacy_bounds"],
            "bounds_from_data": list(self.privacy["bounds_from_data"]),
            "dp_options": dict(self.options["dp"]),
            "seeded_noise": self.seed is not None,
            "seed": self.seed,
            "train_rows": self.rows["train"],
            "features": list(self.features),
        }

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"epsilons": list(self.epsilons), "delta": self.delta, "seed": self.seed,
                "interpret_version": self.interpret_version, "rows": dict(self.rows), "features": list(self.features),
                "privacy": self.privacy, "options": self.options, "settings": self.settings,
                "record": self.record(), "largest_loss": self.largest_loss(), "notes": list(self.notes),
                "design": None if self.design is None else {k: _plain(v) for k, v in self.design.items()},
                "overall": json_rows(self.overall, limit=len(self.overall)),
                "table": json_rows(self.table, limit=len(self.table))}

    def html(self, heading: int = 2) -> str:
        """Page body: the verdict, accuracy and adverse impact per group against ε, and the tables."""
        from steward.privacy._private_html import private_html

        return private_html(self, heading)


def _dp_classes() -> tuple[Any, Any, str]:
    """interpret's EBM and DP-EBM classes and its version, or a one-line error naming the extra."""
    try:
        import interpret
        from interpret.glassbox import ExplainableBoostingClassifier
        from interpret.privacy import DPExplainableBoostingClassifier
    except ImportError:
        raise MissingExtraError(f"differentially private training needs interpret's DP-EBM: {INSTALL}") from None
    try:
        from importlib.metadata import version

        ver = version("interpret-core")
    except Exception:  # noqa: BLE001 - an unusual installation without metadata
        ver = str(getattr(interpret, "__version__", "unknown"))
    return ExplainableBoostingClassifier, DPExplainableBoostingClassifier, ver


def _check_budget(epsilons: Any, delta: Any) -> tuple[tuple[float, ...], float]:
    if isinstance(epsilons, (int, float)) and not isinstance(epsilons, bool):
        epsilons = (epsilons,)
    if isinstance(epsilons, (str, bytes)) or epsilons is None:
        raise DataValidationError(f"epsilons must be a list of positive numbers such as (0.5, 1, 4, 8), "
                                  f"got {epsilons!r}")
    try:
        eps = [float(e) for e in epsilons if not isinstance(e, bool)]
        if len(eps) != len(list(epsilons)):
            raise TypeError
    except (TypeError, ValueError):
        raise DataValidationError(f"epsilons must be a list of positive numbers such as (0.5, 1, 4, 8), "
                                  f"got {epsilons!r}") from None
    if not eps:
        raise DataValidationError("epsilons is empty; give at least one privacy budget, e.g. epsilons=(1.0,)")
    bad = [e for e in eps if not (math.isfinite(e) and e > 0)]
    if bad:
        raise DataValidationError(f"epsilon must be a finite number > 0, got {bad[0]:g}; the non-private model is "
                                  f"always trained, so leave infinity out")
    if len(set(eps)) < len(eps):
        raise DataValidationError(f"epsilons repeat a value ({', '.join(f'{e:g}' for e in eps)}); give each once")
    try:
        d = float(delta)
    except (TypeError, ValueError):
        raise DataValidationError(f"delta must be a number between 0 and 1, e.g. 1e-6, got {delta!r}") from None
    if not (0 < d < 1) or isinstance(delta, bool):
        raise DataValidationError(f"delta must be a number between 0 and 1 (far below 1/rows, e.g. 1e-6), "
                                  f"got {delta!r}")
    return tuple(sorted(eps)), d


def _check_columns(frame: Any, name: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"column(s) {', '.join(map(repr, missing))} not in {name}; its columns are: "
                                  f"{', '.join(map(str, list(frame.columns)[:30]))}")
    if frame.empty:
        raise DataValidationError(f"{name} has no rows; give rows to train and judge the models on")


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _feature_frame(frame: pd.DataFrame, features: Sequence[str], numeric: set[str], name: str) -> pd.DataFrame:
    """The features as DP-EBM takes them: numbers as floats (missing numbers refused: DP-EBM's private binning
    takes none), everything else as text with missing values a category of their own."""
    out = {}
    for c in features:
        s = frame[c]
        if c in numeric:
            if not _is_number(s):
                raise DataValidationError(f"feature {c!r} holds numbers in the training data but {s.dtype} values in "
                                          f"{name}; give it the same kind of values in both")
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isnan(x).any():
                raise DataValidationError(
                    f"feature {c!r} has missing values in {int(np.isnan(x).sum()):,} rows of {name}; DP-EBM's private "
                    f"binning takes no missing numbers: fill them (with a value chosen without looking at the data) "
                    f"or drop those rows")
            out[c] = x
        else:
            out[c] = s.astype(object).where(s.notna(), "(missing)").astype(str).to_numpy(dtype=object)
    return pd.DataFrame(out, index=frame.index)


Bounds = dict[str, tuple[float, float]]


def _bounds(X: pd.DataFrame, numeric: list[str], given: Mapping[str, Any] | None) -> tuple[Bounds, list[str]]:
    """Each number's public range: as given, or else the training data's minimum and maximum (listed)."""
    given = dict(given or {})
    unknown = [c for c in given if c not in numeric]
    if unknown:
        raise DataValidationError(f"privacy_bounds names {', '.join(map(repr, unknown))}, which is not a numeric "
                                  f"feature; the numeric features are: {', '.join(numeric) or 'none'}")
    out: Bounds = {}
    from_data = []
    for c in numeric:
        if c in given:
            try:
                lo, hi = (float(v) for v in given[c])
            except (TypeError, ValueError):
                raise DataValidationError(f"privacy_bounds[{c!r}] must be a pair (low, high) of numbers, "
                                          f"got {given[c]!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise DataValidationError(f"privacy_bounds[{c!r}] must have finite low < high, got ({lo:g}, {hi:g})")
        else:
            lo, hi = float(X[c].min()), float(X[c].max())
            if lo == hi:  # a constant column: any range holding it will do
                lo, hi = lo - 0.5, hi + 0.5
            from_data.append(c)
        out[c] = (lo, hi)
    return out, from_data


def _options(options: Mapping[str, Any] | None, cls: Any, name: str) -> dict[str, Any]:
    options = dict(options or {})
    taken = sorted(set(options) & _RESERVED)
    if taken:
        raise DataValidationError(f"{name} sets {', '.join(taken)}, which private_training sets itself; use its own "
                                  f"arguments (epsilons, delta, seed, privacy_bounds) instead")
    known = set(cls().get_params())
    unknown = sorted(set(options) - known)
    if unknown:
        raise DataValidationError(f"{name} has unknown option(s) {', '.join(unknown)} for {cls.__name__}; its options "
                                  f"are: {', '.join(sorted(known - _RESERVED))}")
    return options


def _fit(model: Any, X: pd.DataFrame, y: np.ndarray, notes: list[str], seed: int | None) -> Any:
    """Fit, turning interpret's warnings into notes of the report (each once)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    for w in caught:
        text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else type(w.message).__name__
        if "fixed random_state" in text:
            text = (f"the privacy noise was drawn with the fixed seed {seed}, so the figures can be reproduced; "
                    f"whoever knows the seed knows the noise, so train a model to release with seed=None")
        if text not in notes:
            notes.append(text)
    return model


def _group_rows(frame: pd.DataFrame, attrs: list[str], refs: dict[str, str | None], *, threshold: float,
                favourable: int, min_group_size: int, confidence: float) -> pd.DataFrame:
    """Steward's group metrics of one model's scores on the test rows (decision: score >= threshold)."""
    from steward.data import Roles, open_source, parse_protected
    from steward.engine import cells_from_frame
    from steward.metrics import Comparison, group_metrics

    roles = Roles(label=_LABEL, score=_SCORE, threshold=threshold, favourable=favourable,
                  protected=parse_protected(attrs))
    cells, _, _ = cells_from_frame(open_source(frame), roles)
    comparisons = []
    for a in attrs:
        names = list(cells.groups([a])["group"])
        comparisons.append(Comparison(a, (a,), refs.get(a) or names[0], refs.get(a) is None))
    return group_metrics(cells, comparisons, favourable=favourable, min_group_size=min_group_size,
                         confidence=confidence)


def _match_references(test: pd.DataFrame, prot: Sequence[Any]) -> dict[str, str | None]:
    """Each given reference group matched to a group of the test rows (before any training), else None."""
    import difflib

    from steward.data import same_value

    out: dict[str, str | None] = {}
    for p in prot:
        if p.reference is None:
            out[p.column] = None
            continue
        names = list(dict.fromkeys(_group_names(test[p.column])))
        match = [g for g in names if g == p.reference] or [g for g in names if same_value(g, p.reference)]
        if not match:
            close = difflib.get_close_matches(str(p.reference), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DataValidationError(f"reference group {p.reference!r} of protected attribute {p.column!r} does not "
                                      f"occur in the test data; {hint}the groups are: {', '.join(sorted(names))}")
        out[p.column] = match[0]
    return out


def _most_favoured(first: pd.DataFrame, given: dict[str, str | None], min_group_size: int) -> dict[str, str]:
    """The given reference of each attribute, or else the group with the highest favourable rate under the
    non-private model among the groups large enough to judge (among all when none is)."""
    out = {}
    for a, ref in given.items():
        if ref is not None:
            out[a] = ref
            continue
        part = first[first["attribute"] == a]
        big = part[part["rows"] >= min_group_size]
        pool = big if len(big) else part
        out[a] = str(pool.loc[pool["favourable_rate"].idxmax(), "group"])
    return out


def paired_change_interval(both: int, first_only: int, second_only: int, neither: int,
                           confidence: float = 0.95) -> tuple[float, float, float]:
    """The change ``p1 - p2`` of two proportions measured on the same rows (here: a row classified
    correctly by the private model, ``p1``, and by the non-private one, ``p2``), with Newcombe's
    square-and-add interval for paired data (Newcombe 1998, Statistics in Medicine 17:2635, method 10):
    Wilson intervals of the two proportions, combined with the correlation of the pairs (phi, with
    Newcombe's continuity adjustment). Unlike a normal interval it does not shrink to a point when no row
    changes, and it stays within [-1, 1]."""
    from steward.metrics import wilson_interval

    a, b, c, d = (float(v) for v in (both, first_only, second_only, neither))
    n = a + b + c + d
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = (a + b) / n, (a + c) / n
    (l1, l2), (u1, u2) = wilson_interval([a + b, a + c], [n, n], confidence)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if margins == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > n / 2 else cross) / math.sqrt(margins)
    lo = (p1 - p2) - math.sqrt(max((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2), 0.0))
    hi = (p1 - p2) + math.sqrt(max((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1), 0.0))
    return (p1 - p2, max(-1.0, lo), min(1.0, hi))


def _paired_change(correct: np.ndarray, base: np.ndarray, confidence: float) -> tuple[float, float, float]:
    both = int(np.sum(correct & base))
    first = int(np.sum(correct & ~base))
    second = int(np.sum(~correct & base))
    return paired_change_interval(both, first, second, len(correct) - both - first - second, confidence)


def private_training(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    label: str,
    features: Sequence[str],
    protected: Any,
    epsilons: Sequence[float] = (0.5, 1.0, 4.0, 8.0),
    delta: float = 1e-6,
    positive_label: Any = None,
    favourable: int = 1,
    seed: int | None = 0,
    threshold: float = 0.5,
    confidence: float = 0.95,
    min_group_size: int = 30,
    privacy_bounds: Mapping[str, tuple[float, float]] | None = None,
    ebm_options: Mapping[str, Any] | None = None,
    dp_options: Mapping[str, Any] | None = None,
    design_control: bool = True,
    on_progress: Callable[[str, float], None] | None = None,
) -> PrivateTrainingReport:
    """Train a DP-EBM at each ε in ``epsilons`` and an EBM without privacy on ``train[features]``, and report
    on ``test`` what each costs in accuracy, overall and per protected group.

    Parameters
    ----------
    train, test : pandas.DataFrame
        Training rows (features and label) and the rows the models are judged on (features, label and the
        protected attributes). Protected attributes are features only when ``features`` lists them.
    label : str
        The observed outcome; binary (0/1, or two values with ``positive_label`` naming the positive one).
    features : list of str
        The model's inputs. Numbers are continuous features (no missing values: DP-EBM takes none), every
        other column a nominal one (missing values are a category of their own).
    protected : mapping or list
        Protected attributes, as in :func:`steward.audit`: ``{"race": "White", "sex": None}`` or
        ``["race", "sex=Male"]``. Without a reference group, the group with the highest favourable rate under
        the non-private model is the reference (among groups of at least ``min_group_size`` test rows); the
        same reference serves every model, so the adverse impact ratios can be compared across ε.
    epsilons : list of float
        Privacy budgets, each > 0; smaller is more private (and noisier).
    delta : float
        The chance the ε guarantee fails; must be far below 1/(training rows).
    favourable : {0, 1}
        The decision value that is good for the person; decision = 1 when P(label 1) >= ``threshold``.
    seed : int or None
        Seeds both models, and so the privacy noise (reproducible, but not private against whoever knows the
        seed); ``None`` draws fresh noise, as a model that is released should be trained.
    privacy_bounds : mapping, optional
        Public ``(low, high)`` ranges of numeric features; others are read from the training data (outside
        the privacy budget, and the report says so).
    ebm_options, dp_options : mapping, optional
        Further options of ``ExplainableBoostingClassifier`` (the non-private model; Steward sets
        ``interactions=0`` by default, because DP-EBM fits no interactions either, so the two differ by the
        privacy alone) and of ``DPExplainableBoostingClassifier`` (e.g. ``max_rounds``, ``composition``,
        ``bin_budget_frac``). For a quick run: ``ebm_options={"outer_bags": 2}``. DP-EBM's settings matter as
        much as ε (interpret's defaults, 300 rounds at learning rate 0.01, underfit Adult even without noise);
        choose them on public data, since tuning them on the private rows spends privacy budget too.
    design_control : bool
        Also train DP-EBM at ε = ``DESIGN_EPSILON`` (negligible noise), to tell the price of its settings from
        the price of its noise (``report.design``).
    on_progress : callable, optional
        Called as ``on_progress(stage, fraction)``.

    Returns
    -------
    PrivateTrainingReport

    Raises
    ------
    DataValidationError
        A column is missing, the label is not binary, an ε is not > 0, ``epsilons`` is empty, δ is not far
        below 1/(training rows), or an option is unknown.
    MissingExtraError
        ``interpret`` (with ``interpret.privacy``) is not installed.

    Examples
    --------
    >>> import steward
    >>> from steward.privacy._private import private_training
    >>> df = steward.datasets.load_adult().sample(4000, random_state=0)
    >>> feats = ["age", "education-num", "hours-per-week", "occupation", "marital-status"]
    >>> rep = private_training(df[:3000], df[3000:], label="income", positive_label=">50K", features=feats,
    ...                        protected=["sex"], epsilons=(1.0, 8.0), ebm_options={"outer_bags": 2})
    >>> list(rep.overall["model"])
    ['non-private', 'ε = 1', 'ε = 8']
    """
    from steward.data import check_feature_values, check_training_label, parse_protected
    from steward.engine._columns import binary_array

    eps, delta = _check_budget(epsilons, delta)
    if not (isinstance(confidence, float) and 0 < confidence < 1):
        raise DataValidationError(f"confidence must be a number between 0 and 1 (e.g. 0.95), got {confidence!r}")
    if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 < threshold < 1):
        raise DataValidationError(f"threshold must be a probability between 0 and 1 (e.g. 0.5), got {threshold!r}")
    if favourable not in (0, 1) or isinstance(favourable, bool):
        raise DataValidationError(f"favourable must be 0 or 1 (the decision value good for the person), "
                                  f"got {favourable!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise DataValidationError(f"seed must be a whole number or None (fresh noise), got {seed!r}")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
        raise DataValidationError(f"min_group_size must be a whole number >= 1, got {min_group_size!r}")
    if isinstance(features, str) or not len(list(features)):
        raise DataValidationError(f"features must be a non-empty list of column names, got {features!r}")
    features = list(dict.fromkeys(features))
    prot = parse_protected(protected)
    attrs = [p.column for p in prot]
    if label in features or label in attrs:
        raise DataValidationError(f"label {label!r} is also listed as a feature or a protected attribute; give "
                                  f"the outcome its own column")
    _check_columns(train, "train", [*features, label])
    _check_columns(test, "test", [*features, label, *attrs])
    check_feature_values(train, features, what="feature")
    check_feature_values(test, features, what="feature")
    y_train = binary_array(train[label], column=label, role="label", positive=positive_label).astype(np.int64)
    y_test = binary_array(test[label], column=label, role="label", positive=positive_label).astype(np.int64)
    check_training_label(y_train, column=label, what="train")
    check_training_label(y_test, column=label, what="test", min_per_class=1)
    if delta >= 1.0 / len(train):
        raise DataValidationError(f"delta {delta:g} is not below 1/(training rows) = {1 / len(train):.3g}; a delta "
                                  f"that large lets a row leak outright: use a smaller one, e.g. 1e-6")

    given = _match_references(test, prot)

    EBM, DPEBM, version = _dp_classes()
    ebm_opts = {"interactions": 0, **_options(ebm_options, EBM, "ebm_options")}
    dp_opts = _options(dp_options, DPEBM, "dp_options")

    numeric = [c for c in features if _is_number(train[c])]
    X_train = _feature_frame(train, features, set(numeric), "train")
    X_test = _feature_frame(test, features, set(numeric), "test")
    bounds, from_data = _bounds(X_train, numeric, privacy_bounds)
    types = ["continuous" if c in numeric else "nominal" for c in features]

    notes: list[str] = []
    if from_data:
        notes.append(f"the ranges of {len(from_data)} numeric feature(s) ({', '.join(from_data)}) were read from the "
                     f"training data, which the privacy budget does not cover; give privacy_bounds with public ranges "
                     f"for a full guarantee")
    total = len(eps) + 2 + int(design_control)

    def progress(stage: str, done: float) -> None:
        if on_progress is not None:
            on_progress(stage, done / total)

    progress("training the non-private EBM", 0)
    baseline = _fit(EBM(feature_types=types, random_state=seed, **ebm_opts), X_train, y_train, notes, seed)
    models: dict[float, Any] = {}
    for i, e in enumerate(eps):
        progress(f"training the DP-EBM at epsilon {e:g}", 1 + i)
        models[e] = _fit(DPEBM(feature_types=types, epsilon=e, delta=delta, random_state=seed,
                               privacy_bounds=bounds, **dp_opts), X_train, y_train, notes, seed)
    design_model = None
    if design_control:
        progress(f"training the DP-EBM at epsilon {DESIGN_EPSILON:g} (its settings, negligible noise)", 1 + len(eps))
        design_model = _fit(DPEBM(feature_types=types, epsilon=DESIGN_EPSILON, delta=delta, random_state=seed,
                                  privacy_bounds=bounds, **dp_opts), X_train, y_train, [], seed)
    progress("group metrics", total - 1)

    frame = test[attrs].copy()
    frame[_LABEL] = y_test
    scores = {math.inf: baseline.predict_proba(X_test)[:, 1], **{e: m.predict_proba(X_test)[:, 1]
                                                               for e, m in models.items()}}
    settings = {"threshold": threshold, "favourable": favourable, "min_group_size": min_group_size,
                "confidence": confidence}
    first = _group_rows(frame.assign(**{_SCORE: scores[math.inf]}), attrs, {}, **settings)
    refs = _most_favoured(first, given, min_group_size)
    correct_base = (scores[math.inf] >= threshold).astype(int) == y_test
    codes = {a: _group_names(test[a]) for a in attrs}
    overall_rows, parts = [], []
    for e, s in scores.items():
        name = NON_PRIVATE if e == math.inf else f"ε = {e:g}"
        correct = (s >= threshold).astype(int) == y_test
        overall_rows.append({"model": name, "private": e != math.inf, "epsilon": e,
                             **_overall(s, y_test, correct, correct_base, e == math.inf, favourable, threshold,
                                        confidence),
                             **_noise(baseline if e == math.inf else models[e])})
        g = _group_rows(frame.assign(**{_SCORE: s}), attrs, refs, **settings)
        keep = ["attribute", "group", "reference", "is_reference", "rows", "too_small_to_judge"]
        keep += [f"{c}{suffix}" for c in _GROUP_COLUMNS for suffix in ("", "_ci_low", "_ci_high")]
        g = g[keep + ["below_four_fifths"]].copy()
        changes = [(_paired_change(correct[codes[a] == grp], correct_base[codes[a] == grp], confidence)
                    if e != math.inf else (0.0, math.nan, math.nan))
                   for a, grp in zip(g["attribute"], g["group"])]
        for k, suffix in enumerate(("", "_ci_low", "_ci_high")):
            g[f"accuracy_change{suffix}"] = [c[k] for c in changes]
        g.insert(0, "epsilon", e)
        g.insert(0, "private", e != math.inf)
        g.insert(0, "model", name)
        parts.append(g)
    table = pd.concat(parts, ignore_index=True)
    design = None
    if design_model is not None:
        s = design_model.predict_proba(X_test)[:, 1]
        design = {"epsilon": DESIGN_EPSILON, **_overall(s, y_test, (s >= threshold).astype(int) == y_test, correct_base,
                                                        False, favourable, threshold, confidence),
                  **_noise(design_model)}
    overall = pd.DataFrame(overall_rows)
    small = table[(table["epsilon"] == math.inf) & table["too_small_to_judge"]]
    if len(small):
        listed = ", ".join(f"{a}={g} ({r} rows)"
                           for a, g, r in small[["attribute", "group", "rows"]].itertuples(index=False))
        msg = (f"{len(small)} group(s) have fewer than {min_group_size} test rows (or their reference has), so their "
               f"figures are too uncertain to judge: {listed}")
        notes.append(msg)
        warnings.warn(msg, SmallGroupWarning, stacklevel=2)
    progress("done", total)
    dp_params = next(iter(models.values())).get_params()
    return PrivateTrainingReport(
        table=table, overall=overall, epsilons=eps, delta=delta, seed=seed, interpret_version=version,
        rows={"train": len(train), "test": len(test)}, features=features,
        privacy={"composition": dp_params["composition"], "bin_budget_frac": float(dp_params["bin_budget_frac"]),
                 "privacy_bounds": {c: [lo, hi] for c, (lo, hi) in bounds.items()}, "bounds_from_data": from_data,
                 "feature_types": dict(zip(features, types))},
        options={"ebm": {k: _plain(v) for k, v in ebm_opts.items()}, "dp": {k: _plain(v) for k, v in dp_opts.items()}},
        settings={"label": label, "positive_label": _plain(positive_label), "favourable": favourable,
                  "threshold": float(threshold), "confidence": confidence, "min_group_size": min_group_size,
                  "references": refs, "reference_chosen": {a: "given" if given[a] is not None else
                                                           "highest favourable rate under the non-private model"
                                                           for a in attrs}},
        notes=notes, design=design, baseline=baseline, models=models, design_model=design_model,
    )


def _overall(score: np.ndarray, y: np.ndarray, correct: np.ndarray, correct_base: np.ndarray, baseline: bool,
             favourable: int, threshold: float, confidence: float) -> dict[str, Any]:
    """One model's figures over all test rows: accuracy (Wilson), AUC (Hanley-McNeil), favourable rate and the
    change of accuracy from the non-private model (Newcombe's paired interval)."""
    from steward.metrics import wilson_interval
    from steward.privacy._attack import auc, auc_interval

    hits, n = int(correct.sum()), len(correct)
    lo, hi = wilson_interval([hits], [n], confidence)
    area = auc(score[y == 1], score[y == 0])
    a_lo, a_hi = auc_interval(area, int(y.sum()), int((1 - y).sum()), confidence)
    change = (0.0, math.nan, math.nan) if baseline else _paired_change(correct, correct_base, confidence)
    selected = float(np.mean(score >= threshold))
    return {"rows": n, "accuracy": hits / n, "accuracy_ci_low": float(lo[0]), "accuracy_ci_high": float(hi[0]),
            "auc": area, "auc_ci_low": a_lo, "auc_ci_high": a_hi,
            "favourable_rate": selected if favourable == 1 else 1.0 - selected,
            "accuracy_change": change[0], "accuracy_change_ci_low": change[1], "accuracy_change_ci_high": change[2]}


def _noise(model: Any) -> dict[str, float]:
    """The noise scales DP-EBM used for binning and for boosting (NaN for the non-private model)."""
    return {"noise_scale_binning": float(getattr(model, "noise_scale_binning_", math.nan)),
            "noise_scale_boosting": float(getattr(model, "noise_scale_boosting_", math.nan))}


def _group_names(s: pd.Series) -> np.ndarray:
    """Each row's group name, spelled as the group metrics spell it."""
    from steward.data import group_labels
    from steward.engine._columns import factorize_groups

    codes, uniques = factorize_groups(s, column=str(s.name))
    return np.asarray(group_labels(uniques), dtype=object)[codes]


def _plain(value: Any) -> Any:
    """A setting as JSON can hold it."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
