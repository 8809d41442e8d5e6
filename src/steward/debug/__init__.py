"""Model debugging: benchmark models, comparisons with a benchmark or a previous version,
residual analysis, prediction churn, and the probes beyond group averages: the counterfactual flip
test, situation testing, proxy detection, sensitivity and stress tests, adversarial search.

>>> from steward.debug import train_benchmark, compare_models  # doctest: +SKIP
>>> bench = train_benchmark(train, label="income", features=features)  # doctest: +SKIP
>>> compare_models(model, bench, test, label="income", protected=["sex"]).to_frame()  # doctest: +SKIP
"""

from steward.debug._adversarial import AdversarialReport, adversarial_search, default_immutable
from steward.debug._benchmark import BENCHMARKS, BenchmarkModel, ModelComparison, compare_models, train_benchmark
from steward.debug._bootstrap import LOWER_IS_BETTER, QUALITY_METRICS
from steward.debug._churn import ChurnReport, prediction_churn
from steward.debug._flip import FlipReport, flip_test
from steward.debug._proxies import ProxyReport, proxy_detection
from steward.debug._residuals import LOSSES, ResidualReport, residual_analysis, row_loss
from steward.debug._sensitivity import (
    SensitivityReport,
    StressReport,
    load_scenarios,
    sensitivity_analysis,
    stress_test,
)
from steward.debug._situation import SituationReport, situation_testing

__all__ = [
    "BENCHMARKS", "AdversarialReport", "BenchmarkModel", "ChurnReport", "FlipReport", "LOSSES", "LOWER_IS_BETTER",
    "ModelComparison", "ProxyReport", "QUALITY_METRICS", "ResidualReport", "SensitivityReport", "SituationReport",
    "StressReport", "adversarial_search", "compare_models", "default_immutable", "flip_test", "load_scenarios",
    "prediction_churn", "proxy_detection", "residual_analysis", "row_loss", "sensitivity_analysis",
    "situation_testing", "stress_test", "train_benchmark",
]
