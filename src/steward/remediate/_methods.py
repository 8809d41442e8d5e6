"""Fix the training (fairlearn's reductions) and the predictions (fairlearn's ThresholdOptimizer, and a
reject-option rule that sends decisions near the threshold to human review).

The reductions are wrapped, not re-implemented: the audit turns the policy's limits into fairlearn
constraints (:func:`steward.audit.constraint_from_policy`: an adverse-impact-ratio floor of 0.8 becomes
``DemographicParity(ratio_bound=0.8)``, an error-rate ratio ceiling of 1.25 ``EqualizedOdds(ratio_bound=0.8)``)
and this returns an ordinary model.
Group-aware thresholds USE THE PROTECTED ATTRIBUTE AT DECISION TIME, which can be unlawful in
regulated settings (e.g. US credit under ECOA); every result says whether it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.errors import DataValidationError, MissingExtraError, RoleError

__all__ = ["CONSTRAINTS", "RejectOption", "RemediatedModel", "group_thresholds", "reduction", "reject_option"]

CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity", "false_positive_rate_parity",
               "error_rate_parity")


def _fairlearn() -> Any:
    try:
        import fairlearn.postprocessing  # noqa: F401
        import fairlearn.reductions as red
    except ImportError as exc:
        raise MissingExtraError("this method needs fairlearn: pip install 'steward[remediate]'") from exc
    return red


def _constraint(name: str, ratio_bound: float | None, difference_bound: float | None) -> Any:
    red = _fairlearn()
    classes = {"demographic_parity": red.DemographicParity, "equalized_odds": red.EqualizedOdds,
               "true_positive_rate_parity": red.TruePositiveRateParity,
               "false_positive_rate_parity": red.FalsePositiveRateParity, "error_rate_parity": red.ErrorRateParity}
    if name not in classes:
        raise DataValidationError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {name!r}")
    kwargs = {}
    if ratio_bound is not None:
        kwargs["ratio_bound"] = ratio_bound
    if difference_bound is not None:
        kwargs["difference_bound"] = difference_bound
    return classes[name](**kwargs)


@dataclass
class RemediatedModel:
    """A remediated model: ``model`` scores like any Steward model; ``uses_protected_at_decision`` says
    whether it needs the protected attribute to decide; ``method`` says what was done."""

    model: Any
    method: str
    uses_protected_at_decision: bool
    details: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {"method": self.method, "uses_protected_at_decision": self.uses_protected_at_decision, **self.details}


def _frame(data: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    X = data[list(features)]
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    if not text:
        return X.astype(float)
    return pd.get_dummies(X, columns=text, dtype=float)


def reduction(
    data: pd.DataFrame,
    *,
    label: str,
    features: Sequence[str],
    protected: str,
    positive_label: Any = None,
    constraint: str = "demographic_parity",
    ratio_bound: float | None = 0.8,
    difference_bound: float | None = None,
    method: str = "exponentiated_gradient",
    estimator: Any = None,
    random_state: int = 0,
) -> RemediatedModel:
    """Train under a fairness constraint with fairlearn's ``ExponentiatedGradient`` or ``GridSearch``.

    The estimator (default: logistic regression on standardised numbers and one-hot categories)
    never sees the protected attribute; fairlearn uses it during training only. The returned model
    scores with the mixture's probability (``ExponentiatedGradient``'s ``_pmf_predict``) or the
    chosen grid model's.
    """
    red = _fairlearn()
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from steward.engine._columns import binary_array
    from steward.models import wrap_model

    if protected in features:
        raise RoleError(f"{protected!r} is protected: the reductions use it during training, not as a feature")
    y = binary_array(data[label], column=label, role="label", positive=positive_label).astype(int)
    X = _frame(data, features)
    columns = list(X.columns)
    # the reductions pass sample_weight to the estimator, which a Pipeline refuses: scale here instead
    scaler = StandardScaler().fit(X) if estimator is None else None
    if scaler is not None:
        X = pd.DataFrame(scaler.transform(X), columns=columns, index=X.index)
    base = estimator if estimator is not None else LogisticRegression(max_iter=2000)
    cons = _constraint(constraint, ratio_bound, difference_bound)
    if method == "exponentiated_gradient":
        algo = red.ExponentiatedGradient(base, constraints=cons)
    elif method == "grid_search":
        algo = red.GridSearch(base, constraints=cons, grid_size=15)
    else:
        raise DataValidationError(f"method must be exponentiated_gradient or grid_search, got {method!r}")
    np.random.seed(random_state)
    algo.fit(X, y, sensitive_features=data[protected].astype(str))

    def score(frame: pd.DataFrame) -> np.ndarray:
        Xn = _frame(frame, features).reindex(columns=columns, fill_value=0.0)
        if scaler is not None:
            Xn = pd.DataFrame(scaler.transform(Xn), columns=columns, index=Xn.index)
        if method == "exponentiated_gradient":
            return algo._pmf_predict(Xn)[:, 1]
        return algo.predictor_.predict_proba(Xn)[:, 1]

    return RemediatedModel(wrap_model(score, features=list(features)), f"fairlearn {method} ({constraint})", False,
                           {"constraint": constraint, "ratio_bound": ratio_bound, "difference_bound": difference_bound})


def group_thresholds(model: Any, data: pd.DataFrame, *, label: str, protected: str, positive_label: Any = None,
                     constraint: str = "demographic_parity", objective: str = "balanced_accuracy_score",
                     random_state: int = 0) -> RemediatedModel:
    """A threshold per group chosen by fairlearn's ``ThresholdOptimizer`` on ``data`` (prefit model).

    The result USES THE PROTECTED ATTRIBUTE AT DECISION TIME: scoring needs the protected column in
    the rows. Its score is the probability of the favourable class 1 decision under the group's
    (possibly randomised) threshold.
    """
    _fairlearn()
    from fairlearn.postprocessing import ThresholdOptimizer

    from steward.engine._columns import binary_array
    from steward.models import wrap_model

    inner = wrap_model(model)
    if constraint not in ("demographic_parity", "equalized_odds", "true_positive_rate_parity",
                          "false_negative_rate_parity", "true_negative_rate_parity", "false_positive_rate_parity"):
        raise DataValidationError(f"constraint {constraint!r} is not one ThresholdOptimizer takes")
    y = binary_array(data[label], column=label, role="label", positive=positive_label).astype(int)
    if protected not in data.columns:
        raise DataValidationError(f"protected column {protected!r} is not in the data")

    from sklearn.base import BaseEstimator, ClassifierMixin

    class _Scores(ClassifierMixin, BaseEstimator):  # ThresholdOptimizer reads a prefit model's predict_proba
        fitted_ = True  # what scikit-learn's check_is_fitted looks for
        classes_ = np.array([0, 1])

        def fit(self, *_: Any) -> "_Scores":
            return self

        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            s = inner.score(X)
            return np.column_stack([1 - s, s])

    opt = ThresholdOptimizer(estimator=_Scores(), constraints=constraint, objective=objective, prefit=True,
                             predict_method="predict_proba")
    opt.fit(data, y, sensitive_features=data[protected].astype(str))

    def score(frame: pd.DataFrame) -> np.ndarray:
        if protected not in frame.columns:
            raise DataValidationError(f"group thresholds need the protected column {protected!r} at decision time")
        return opt._pmf_predict(frame, sensitive_features=frame[protected].astype(str))[:, 1]

    feats = None if inner.features is None else list(dict.fromkeys([*inner.features, protected]))
    return RemediatedModel(wrap_model(score, features=feats), f"fairlearn ThresholdOptimizer ({constraint})", True,
                           {"constraint": constraint, "objective": objective})


@dataclass
class RejectOption:
    """Decisions with a score within ``band`` of the threshold go to human review instead."""

    decision: np.ndarray  # 0/1, or -1 for "sent to review"
    to_review: int
    band: float
    threshold: float
    by_group: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        from steward.debug._benchmark import json_rows

        return {"to_review": self.to_review, "band": self.band, "threshold": self.threshold,
                "share_to_review": self.to_review / max(len(self.decision), 1),
                "groups": json_rows(self.by_group, limit=len(self.by_group))}


def reject_option(scores: Any, *, threshold: float = 0.5, band: float = 0.05, groups: Any = None) -> RejectOption:
    """Route low-confidence decisions (``|score - threshold| < band``) to human review.

    Does not use the protected attribute to decide; ``groups`` only reports how many of each group
    are sent to review (a reviewer queue that fills with one group is a finding of its own).
    """
    s = np.asarray(scores, dtype=float)
    if not 0 <= band < 0.5:
        raise DataValidationError(f"band must be in [0, 0.5), got {band}")
    review = np.abs(s - threshold) < band
    decision = np.where(review, -1, (s >= threshold).astype(int))
    rows = []
    if groups is not None:
        g = pd.Series(np.asarray(groups, dtype=object)).astype(str)
        for v in g.unique():
            sel = (g == v).to_numpy()
            rows.append({"group": v, "rows": int(sel.sum()), "to_review": int(review[sel].sum()),
                         "share_to_review": float(review[sel].mean())})
    return RejectOption(decision, int(review.sum()), band, threshold, pd.DataFrame(rows))
