"""Cheap distribution distances between real and synthetic windows (no training)."""

import functools
import numbers

import numpy as np
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from threadpoolctl import threadpool_limits

from ._validation import check_window_pair


def _one_blas_thread(func):
    """Run a metric on one BLAS/OpenMP thread: its products (at most a few thousand rows)
    gain little from a second thread and lose many times over when another process holds
    the other core."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


def _channel_correlation(X):
    """Pearson correlation between channels, pooling every step of every window.

    A constant channel has no defined correlation: it counts as uncorrelated (0).
    """
    flat = X.reshape(-1, X.shape[2])
    flat = flat - flat.mean(axis=0)
    scale = np.sqrt((flat ** 2).mean(axis=0))
    flat = flat / np.where(scale > 0, scale, 1.0)
    return flat.T @ flat / len(flat)


@validate_params(
    {"X_real": ["array-like"], "X_synth": ["array-like"]},
    prefer_skip_nested_validation=True,
)
@_one_blas_thread
def correlational_score(X_real, X_synth):
    """Mean absolute difference between the channel correlation matrices of two window sets.

    For each set, every channel is standardised with its mean and standard deviation over
    all steps of all windows, and ``C[i, j]`` is the mean over windows and steps of the
    product of channels ``i`` and ``j`` (the Pearson correlation of the two channels,
    pooled over windows and steps). The score is the mean of ``|C_real[i, j] -
    C_synth[i, j]|`` over the ``n_features * (n_features - 1) / 2`` pairs ``i < j``. Lower
    is better; it lies in ``[0, 2]``. It checks that a generator keeps the dependence
    between channels, which the post-hoc scores see only indirectly.

    Parameters
    ----------
    X_real : array-like of shape (n_real, seq_len, n_features)
        Real windows, ``n_features >= 2``.
    X_synth : array-like of shape (n_synth, seq_len, n_features)
        Synthetic windows, same ``seq_len`` and ``n_features``; the counts may differ.

    Returns
    -------
    score : float

    Notes
    -----
    This is the lag-0 "correlational score" of CoSCI-GAN and Diffusion-TS, normalised
    differently: Diffusion-TS reports the SUM of the absolute differences over the lower
    triangle (diagonal included, where both matrices are 1 up to the ``n - 1`` of the
    sample standard deviation) divided by 10, computed on random subsets of windows. Its
    number is about this score times ``n_features * (n_features - 1) / 20``. A constant
    channel counts as uncorrelated with every other. The score does not depend on the
    scale of each channel.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import correlational_score
    >>> rng = np.random.RandomState(0)
    >>> base = rng.normal(size=(200, 10, 1))
    >>> X_real = np.concatenate([base, base + 0.1 * rng.normal(size=base.shape)], axis=2)
    >>> X_synth = rng.normal(size=(200, 10, 2))  # independent channels
    >>> round(correlational_score(X_real, X_synth), 1)
    1.0
    >>> correlational_score(X_real, X_real)
    0.0
    """
    X_real, X_synth = check_window_pair(X_real, X_synth, min_features=2,
                                        metric="correlational_score")
    diff = np.abs(_channel_correlation(X_real) - _channel_correlation(X_synth))
    upper = np.triu_indices(X_real.shape[2], k=1)
    return float(diff[upper].mean())


def _mean_autocorrelation(X, max_lag):
    """Per-window sample autocorrelation of each channel, averaged over windows.

    ``acf[k - 1, c]`` is the mean over windows of ``sum_t x_t x_{t+k} / sum_t x_t^2`` with
    ``x`` the window's channel ``c`` minus its mean; a constant window counts as 0.
    """
    Xc = X - X.mean(axis=1, keepdims=True)
    denom = np.einsum("ntd,ntd->nd", Xc, Xc)
    safe = np.where(denom > 0, denom, 1.0)
    acf = np.empty((max_lag, X.shape[2]))
    for k in range(1, max_lag + 1):
        num = np.einsum("ntd,ntd->nd", Xc[:, k:], Xc[:, :-k])
        acf[k - 1] = np.where(denom > 0, num / safe, 0.0).mean(axis=0)
    return acf


@validate_params(
    {"X_real": ["array-like"], "X_synth": ["array-like"],
     "max_lag": [Interval(numbers.Integral, 1, None, closed="left"), None]},
    prefer_skip_nested_validation=True,
)
@_one_blas_thread
def autocorrelation_distance(X_real, X_synth, *, max_lag=None):
    """Mean absolute difference between the mean autocorrelation functions of two sets.

    For every window and channel, the sample autocorrelation at lag ``k`` is
    ``sum_t x_t x_{t+k} / sum_t x_t ** 2`` where ``x`` is the channel minus its mean over
    the window (the usual biased estimator; a constant window counts as 0). These are
    averaged over the windows of each set, giving one function of the lag per channel, and
    the score is the mean of their absolute differences over lags ``1 .. max_lag`` and
    channels. Lower is better; it lies in ``[0, 2]``. It measures how well the temporal
    dynamics inside a window are kept.

    Parameters
    ----------
    X_real : array-like of shape (n_real, seq_len, n_features)
        Real windows, ``seq_len >= 2``.
    X_synth : array-like of shape (n_synth, seq_len, n_features)
        Synthetic windows, same ``seq_len`` and ``n_features``; the counts may differ.
    max_lag : int, default=None
        Largest lag, at most ``seq_len - 1`` (the default). Estimates at lags close to
        ``seq_len`` rest on few products per window.

    Returns
    -------
    distance : float

    Notes
    -----
    Per-window centring makes the score blind to the level of each window and to its
    scale; it compares shapes only.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import autocorrelation_distance
    >>> rng = np.random.RandomState(0)
    >>> walks = rng.normal(size=(100, 20, 2)).cumsum(axis=1)  # strong autocorrelation
    >>> noise = rng.normal(size=(100, 20, 2))                 # almost none
    >>> bool(autocorrelation_distance(walks, noise, max_lag=5) > 0.3)
    True
    >>> autocorrelation_distance(walks, walks)
    0.0
    """
    X_real, X_synth = check_window_pair(X_real, X_synth, min_seq_len=2,
                                        metric="autocorrelation_distance")
    seq_len = X_real.shape[1]
    if max_lag is None:
        max_lag = seq_len - 1
    elif max_lag > seq_len - 1:
        raise ValueError(
            f"max_lag must be at most seq_len - 1 = {seq_len - 1}, got max_lag={max_lag}."
        )
    diff = _mean_autocorrelation(X_real, max_lag) - _mean_autocorrelation(X_synth, max_lag)
    return float(np.abs(diff).mean())


def _flat_subsample(X, max_samples, rng):
    """At most ``max_samples`` random windows of ``X``, flattened to float64 rows."""
    if max_samples is not None and len(X) > max_samples:
        X = X[rng.choice(len(X), max_samples, replace=False)]
    return X.reshape(len(X), -1).astype(np.float64, copy=False)


@validate_params(
    {"X_real": ["array-like"], "X_synth": ["array-like"],
     "gamma": [Interval(numbers.Real, 0, None, closed="neither"), None],
     "max_samples": [Interval(numbers.Integral, 2, None, closed="left"), None],
     "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
@_one_blas_thread
def maximum_mean_discrepancy(X_real, X_synth, *, gamma=None, max_samples=1000,
                             random_state=None):
    """Squared maximum mean discrepancy (MMD^2) between flattened windows, RBF kernel.

    Windows are flattened to vectors of ``seq_len * n_features`` values and compared with
    the kernel ``k(x, y) = exp(-gamma * ||x - y|| ** 2)``. The unbiased estimator is
    returned: the mean kernel value within the real set plus within the synthetic set
    (pairs of distinct windows only) minus twice the mean between the sets. It is about 0
    when both sets come from the same distribution (it can be slightly negative) and grows
    as they differ. Lower is better.

    Parameters
    ----------
    X_real : array-like of shape (n_real, seq_len, n_features)
        Real windows, at least 2.
    X_synth : array-like of shape (n_synth, seq_len, n_features)
        Synthetic windows, same ``seq_len`` and ``n_features``, at least 2; the counts may
        differ.
    gamma : float, default=None
        Kernel coefficient. ``None`` uses the median heuristic: ``gamma = 1 / (2 * s ** 2)``
        with ``s`` the median Euclidean distance between distinct windows of the two sets
        pooled (after subsampling). Fix ``gamma`` to compare scores across experiments: the
        heuristic adapts the bandwidth to each pair of sets.
    max_samples : int or None, default=1000
        Each set larger than this is randomly subsampled (without replacement) to this
        many windows: cost and memory grow with the square of the count. ``None`` uses all.
    random_state : int, RandomState instance or None, default=None
        Controls the subsampling.

    Returns
    -------
    mmd2 : float

    Notes
    -----
    Distances are computed on the values as given (no rescaling): channels with a larger
    range weigh more, so compare data in one scale (for example the protocol's min-max).

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.metrics import maximum_mean_discrepancy
    >>> rng = np.random.RandomState(0)
    >>> X_a = rng.normal(size=(100, 5, 2))
    >>> X_b = rng.normal(size=(100, 5, 2))
    >>> same = maximum_mean_discrepancy(X_a, X_b)
    >>> shifted = maximum_mean_discrepancy(X_a, X_b + 1.0)
    >>> bool(abs(same) < 0.02 and shifted > 0.1)
    True
    """
    X_real, X_synth = check_window_pair(X_real, X_synth, min_samples=2,
                                        metric="maximum_mean_discrepancy")
    rng = check_random_state(random_state)
    A = _flat_subsample(X_real, max_samples, rng)
    B = _flat_subsample(X_synth, max_samples, rng)
    m, n = len(A), len(B)
    d2 = np.maximum(euclidean_distances(np.vstack([A, B]), squared=True), 0.0)
    if gamma is None:
        median = np.median(np.sqrt(d2[np.triu_indices(m + n, k=1)]))
        gamma = 1.0 / (2.0 * median ** 2) if median > 0 else 1.0
    K = np.exp(-gamma * d2)
    k_aa = (K[:m, :m].sum() - np.trace(K[:m, :m])) / (m * (m - 1))
    k_bb = (K[m:, m:].sum() - np.trace(K[m:, m:])) / (n * (n - 1))
    return float(k_aa + k_bb - 2.0 * K[:m, m:].mean())


mmd = maximum_mean_discrepancy
