"""Quality metrics for synthetic windows: post-hoc scores, distribution distances, scorers.

Every metric compares real windows ``X_real`` with synthetic ones ``X_synth`` (both
``(n_samples, seq_len, n_features)``) and is lower-is-better; the scorers negate them for
model selection. The macro-averaged errors for imbalanced regression compare targets.
"""

from ._distribution import (
    autocorrelation_distance,
    correlational_score,
    maximum_mean_discrepancy,
    mmd,
)
from ._imbalanced_regression import macro_mean_absolute_error, macro_root_mean_squared_error
from ._posthoc import discriminative_score, predictive_score
from ._repeat import repeat_metric
from ._scorer import (
    GenerationScorer,
    discriminative_scorer,
    make_generation_scorer,
    predictive_scorer,
)

__all__ = [
    "GenerationScorer",
    "autocorrelation_distance",
    "correlational_score",
    "discriminative_score",
    "discriminative_scorer",
    "macro_mean_absolute_error",
    "macro_root_mean_squared_error",
    "make_generation_scorer",
    "maximum_mean_discrepancy",
    "mmd",
    "predictive_score",
    "predictive_scorer",
    "repeat_metric",
]
