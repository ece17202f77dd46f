"""Quality metrics for synthetic windows: post-hoc scores, distribution distances, scorers."""

from ._distribution import (autocorrelation_distance, correlational_score,
                            maximum_mean_discrepancy, mmd)
from ._posthoc import discriminative_score, predictive_score

__all__ = [
    "autocorrelation_distance",
    "correlational_score",
    "discriminative_score",
    "maximum_mean_discrepancy",
    "mmd",
    "predictive_score",
]
