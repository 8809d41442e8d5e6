"""Group metrics and discrimination tests built on the cell statistics."""

from steward.metrics._groups import COMPARISONS, RATES, Comparison, group_metrics
from steward.metrics._inference import (
    katz_ratio_interval,
    newcombe_difference_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

__all__ = [
    "COMPARISONS",
    "RATES",
    "Comparison",
    "group_metrics",
    "katz_ratio_interval",
    "newcombe_difference_interval",
    "two_proportion_test",
    "welch_test",
    "wilson_interval",
]
