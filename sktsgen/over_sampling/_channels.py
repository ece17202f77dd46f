"""Which channels a sampler copies unchanged from its source window (``keep_features``).

Perturbing the channel that carries a regression target (typically the target's own
history) changes what the window says about its label while the label is kept; samplers
that take ``keep_features`` leave those channels exact.
"""

import numpy as np
from scipy import stats
from sklearn.linear_model import RidgeCV
from threadpoolctl import threadpool_limits

# keep_features="auto": a channel "carries the target" when a ridge regression of y on that
# channel's window alone explains this share of y's variance (leave-one-out R^2). On Energy the
# target's own history scores 0.43 and every other channel at most 0.12.
AUTO_KEEP_R2 = 0.25
AUTO_KEEP_MAX_WINDOWS = 20000  # windows the scores are computed on (evenly spaced subsample)
# ... and when that R^2 is not chance: an F-test of a seq_len-feature regression on n windows at
# this level, Bonferroni-corrected over the channels (few windows with a few extreme targets
# reach R^2 0.25 by chance: 40 windows of 12 steps did in a test).
AUTO_KEEP_ALPHA = 0.01


def _significant(r2, n, p, n_channels):
    """Whether an R^2 of ``p`` features on ``n`` samples is unlikely under no relation."""
    dof = n - p - 1
    if dof <= 0 or r2 <= 0:
        return False
    f = (r2 / p) / (max(1.0 - r2, 1e-12) / dof)
    return bool(stats.f.sf(f, p, dof) < AUTO_KEEP_ALPHA / n_channels)

def target_channel_scores(X, y):
    """Leave-one-out R^2 of a ridge regression of ``y`` on each channel's window alone.

    Parameters
    ----------
    X : ndarray of shape (n_samples, seq_len, n_features)
    y : ndarray of shape (n_samples,)
        Continuous targets.

    Returns
    -------
    scores : ndarray of shape (n_features,)
        One R^2 per channel, at most 1 (0 for a constant channel or target).

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling._channels import target_channel_scores
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 8, 2))
    >>> y = X[:, -1, 1] + 0.1 * rng.normal(size=300)  # channel 1 carries the target
    >>> target_channel_scores(X, y).round(1)
    array([0., 1.])
    """
    n = X.shape[0]
    if n > AUTO_KEEP_MAX_WINDOWS:
        rows = np.linspace(0, n - 1, AUTO_KEEP_MAX_WINDOWS).astype(np.intp)
        X, y = X[rows], y[rows]
    y = np.asarray(y, dtype=np.float64)
    var = y.var()
    scores = np.zeros(X.shape[2])
    if var == 0:
        return scores
    # Small (n, seq_len) problems: one BLAS thread is as fast, and far faster on a busy machine.
    with threadpool_limits(limits=1):
        for c in range(X.shape[2]):
            scores[c] = _channel_score(X[:, :, c], y, var)
    return scores


def _channel_score(Xc, y, var):
    """Leave-one-out R^2 of a ridge regression of ``y`` on one channel's windows ``Xc``."""
    Xc = np.asarray(Xc, dtype=np.float64)
    std = Xc.std(axis=0)
    if not std.any():
        return 0.0
    Xc = (Xc - Xc.mean(axis=0)) / np.where(std > 0, std, 1.0)
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 7), store_cv_results=True).fit(Xc, y)
    loo_mse = ridge.cv_results_.mean(axis=0).min()
    return max(1.0 - loo_mse / var, 0.0)


def kept_channels(keep_features, X, y, task):
    """Resolve ``keep_features`` on windows ``X`` and targets ``y``.

    Returns the boolean mask of kept channels (None when no channel is kept) and, for
    ``"auto"`` in regression, the per-channel scores of :func:`target_channel_scores`
    (else None). Raises a ValueError or TypeError naming ``keep_features`` when it is not a
    valid set of channels, or keeps all of them.
    """
    n_features = X.shape[2]
    if keep_features is None:
        return None, None
    if isinstance(keep_features, str):  # "auto", checked by the parameter constraints
        if task != "regression":
            return None, None
        scores = target_channel_scores(X, y)
        n = min(X.shape[0], AUTO_KEEP_MAX_WINDOWS)
        mask = np.array([s >= AUTO_KEEP_R2 and _significant(s, n, X.shape[1], n_features)
                         for s in scores], dtype=bool)
        # Every channel carrying the target leaves nothing to change: keep none.
        return (mask if mask.any() and not mask.all() else None), scores
    keep = np.asarray(keep_features)
    if keep.ndim != 1:
        raise ValueError(
            "keep_features must be a 1-D list of channel indices or a boolean mask, got "
            f"an array of shape {keep.shape}."
        )
    if keep.dtype == bool:
        if keep.shape[0] != n_features:
            raise ValueError(
                f"keep_features as a boolean mask must have one entry per channel "
                f"({n_features}), got {keep.shape[0]}."
            )
        mask = keep.copy()
    else:
        if keep.size and not np.issubdtype(keep.dtype, np.integer):
            raise TypeError(
                f"keep_features must hold int channel indices or bools, got dtype {keep.dtype}."
            )
        if keep.size and (keep.min() < -n_features or keep.max() >= n_features):
            raise ValueError(
                f"keep_features={keep_features!r} names channels outside the {n_features} "
                f"channels of X (valid indices: -{n_features} to {n_features - 1})."
            )
        mask = np.zeros(n_features, dtype=bool)
        mask[keep.astype(np.intp)] = True
    if mask.all():
        raise ValueError(
            f"keep_features={keep_features!r} keeps all {n_features} channels, so every new "
            "window would be a copy; use RandomWindowOverSampler for duplication, or keep "
            "fewer channels."
        )
    return (mask if mask.any() else None), None
