"""Metric names accepted by :func:`repeat_metric` and :func:`make_generation_scorer`."""

from ._distribution import autocorrelation_distance, correlational_score, maximum_mean_discrepancy
from ._posthoc import discriminative_score, predictive_score

# Every metric here is lower-is-better.
METRICS = {
    "discriminative": discriminative_score,
    "predictive": predictive_score,
    "correlational": correlational_score,
    "autocorrelation": autocorrelation_distance,
    "mmd": maximum_mean_discrepancy,
}


def get_metric(metric, *, name="metric"):
    """Return the function for a metric name, or ``metric`` itself when it is callable."""
    if callable(metric):
        return metric
    if isinstance(metric, str) and metric in METRICS:
        return METRICS[metric]
    raise ValueError(
        f"{name} must be one of {sorted(METRICS)} or a callable "
        f"metric(X_real, X_synth, **params), got {metric!r}."
    )
