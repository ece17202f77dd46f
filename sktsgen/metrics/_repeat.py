"""Repeat a noisy metric with different seeds and summarise it the way papers report it."""

import inspect
import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._registry import get_metric

OUTLIER_RULE = "scores above Q3 + 1.5 * IQR dropped before mean and std (AVATAR's tutorial)"


def accepts_random_state(func):
    """Whether ``func`` takes a ``random_state`` keyword."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "random_state" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


@validate_params(
    {"metric": [str, callable], "X_real": ["array-like"], "X_synth": ["array-like"],
     "n_repeats": [Interval(numbers.Integral, 1, None, closed="left")],
     "drop_outliers": ["boolean"], "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def repeat_metric(metric, X_real, X_synth, *, n_repeats=10, drop_outliers=False,
                  random_state=None, **metric_params):
    """Compute a metric ``n_repeats`` times with different seeds and summarise the scores.

    Papers run the discriminative and predictive scores 10 times and report mean and
    standard deviation. The discriminative score in particular is noisy (its small
    classifier sometimes fails to learn and scores about 0), so the median is given too.

    Parameters
    ----------
    metric : {"discriminative", "predictive", "correlational", "autocorrelation", "mmd"} \
or callable
        A metric of :mod:`sktsgen.metrics` by name, or any callable
        ``metric(X_real, X_synth, **metric_params)`` returning a float.
    X_real, X_synth : array-like of shape (n_samples, seq_len, n_features)
        Passed unchanged to the metric.
    n_repeats : int, default=10
        Number of runs.
    drop_outliers : bool, default=False
        Drop the scores above ``Q3 + 1.5 * IQR`` (quartiles of all the scores) before the
        mean and standard deviation, as AVATAR's tutorial does. Only high scores are
        dropped: the failure mode of the discriminative score (a classifier that did not
        learn) gives LOW scores, which this rule keeps, so look at the median as well.
    random_state : int, RandomState instance or None, default=None
        Draws one seed per run, passed as ``random_state`` to the metric when it takes one
        (a deterministic metric gives ``n_repeats`` equal scores).
    **metric_params : dict
        Other keyword arguments of the metric (e.g. ``n_iter``).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``scores``: ndarray of shape (n_repeats,), every run in order;
        - ``seeds``: ndarray of the seed of each run (``None`` entries if the metric takes
          no ``random_state``);
        - ``mean``, ``std``: over the kept scores; ``std`` is the population standard
          deviation (``ddof=0``), as numpy and the papers' code compute it;
        - ``median``: over ALL scores;
        - ``kept``: boolean mask of the scores used for mean and std;
        - ``n_dropped``: number of scores dropped;
        - ``outlier_rule``: the rule applied, or ``None`` when ``drop_outliers=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import repeat_metric
    >>> rng = np.random.RandomState(0)
    >>> X_real = rng.normal(size=(60, 6, 2))
    >>> X_synth = rng.normal(size=(60, 6, 2))
    >>> result = repeat_metric("mmd", X_real, X_synth, n_repeats=3, max_samples=40,
    ...                        random_state=0)
    >>> result.scores.shape, result.n_dropped, result.outlier_rule
    ((3,), 0, None)
    >>> bool(result.mean == result.scores.mean())
    True
    """
    func = get_metric(metric)
    rng = check_random_state(random_state)
    seeded = accepts_random_state(func)
    seeds = [int(rng.randint(0, 2**31 - 1)) if seeded else None for _ in range(n_repeats)]
    scores = np.array([
        float(func(X_real, X_synth, **metric_params,
                   **({"random_state": seed} if seeded else {})))
        for seed in seeds
    ])
    kept = np.ones(n_repeats, dtype=bool)
    if drop_outliers:
        q1, q3 = np.percentile(scores, [25, 75])
        kept = scores <= q3 + 1.5 * (q3 - q1)
    return Bunch(
        scores=scores,
        seeds=np.array(seeds, dtype=object if not seeded else np.int64),
        mean=float(scores[kept].mean()),
        std=float(scores[kept].std()),
        median=float(np.median(scores)),
        kept=kept,
        n_dropped=int((~kept).sum()),
        outlier_rule=OUTLIER_RULE if drop_outliers else None,
    )
