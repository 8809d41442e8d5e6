"""Remediation: fix the data (reweighing, disparate impact removal), the training (fairlearn's
reductions under policy constraints), the predictions (group thresholds, a reject option to human
review), or choose the least discriminatory accurate model; with before/after evidence.

The before/after evidence (both models audited under the policy) is :func:`steward.audit.remediate`.

>>> from steward.remediate import select_model, reweighing_weights  # doctest: +SKIP
>>> select_model(train, label="income", features=feats, protected="sex").chart()  # doctest: +SKIP
"""

from steward.remediate._data import DisparateImpactRemover, ReweighingClassifier, reweighing_weights
from steward.remediate._methods import (
    CONSTRAINTS,
    RejectOption,
    RemediatedModel,
    group_thresholds,
    reduction,
    reject_option,
)
from steward.remediate._selection import ModelSelection, default_candidates, group_fairness, select_model

__all__ = [
    "CONSTRAINTS", "DisparateImpactRemover", "ModelSelection", "RejectOption", "RemediatedModel",
    "ReweighingClassifier", "default_candidates", "group_fairness", "group_thresholds", "reduction",
    "reject_option", "reweighing_weights", "select_model",
]
