"""Explanations: Shapley values, reason codes, global views (importance, PDP/ICE, ALE, surrogate tree),
interpretable models (EBM, monotone LightGBM) and the quality of explanations.

>>> from steward.explain import shapley_values, reason_codes, ReasonMap
>>> sv = shapley_values(model, frame)  # doctest: +SKIP
>>> codes = reason_codes(model, frame, reasons=ReasonMap.load("reasons.yaml"), k=4)  # doctest: +SKIP
"""

from steward.explain._global import (
    EffectCurves,
    FeatureImportance,
    accumulated_local_effects,
    effects,
    partial_dependence,
    permutation_importance,
)
from steward.explain._glassbox import (
    MonotonicityReport,
    check_monotonicity,
    load_constraints,
    train_ebm,
    train_monotone_lightgbm,
)
from steward.explain._quality import ExplanationQuality, explanation_quality
from steward.explain._reasons import ReasonCodes, ReasonMap, reason_codes
from steward.explain._shapley import SPACES, ShapleyValues, shapley_values
from steward.explain._surrogate import SurrogateTree, surrogate_tree

__all__ = [
    "SPACES", "EffectCurves", "ExplanationQuality", "FeatureImportance", "MonotonicityReport", "ReasonCodes",
    "ReasonMap", "ShapleyValues", "SurrogateTree", "accumulated_local_effects", "check_monotonicity", "effects",
    "explanation_quality", "load_constraints", "partial_dependence", "permutation_importance", "reason_codes",
    "shapley_values", "surrogate_tree", "train_ebm", "train_monotone_lightgbm",
]
