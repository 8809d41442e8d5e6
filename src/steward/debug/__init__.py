"""Model debugging: benchmark models, comparisons with a benchmark or a previous version,
residual analysis and prediction churn.

>>> from steward.debug import train_benchmark, compare_models  # doctest: +SKIP
>>> bench = train_benchmark(train, label="income", features=features)  # doctest: +SKIP
>>> compare_models(model, bench, test, label="income", protected=["sex"]).to_frame()  # doctest: +SKIP
"""

from steward.debug._benchmark import BENCHMARKS, BenchmarkModel, ModelComparison, compare_models, train_benchmark
from steward.debug._bootstrap import LOWER_IS_BETTER, QUALITY_METRICS
from steward.debug._churn import ChurnReport, prediction_churn
from steward.debug._residuals import LOSSES, ResidualReport, residual_analysis, row_loss

__all__ = [
    "BENCHMARKS", "BenchmarkModel", "ChurnReport", "LOSSES", "LOWER_IS_BETTER", "ModelComparison",
    "QUALITY_METRICS", "ResidualReport", "compare_models", "prediction_churn", "residual_analysis",
    "row_loss", "train_benchmark",
]
