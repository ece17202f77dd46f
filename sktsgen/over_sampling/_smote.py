"""SMOTE for windows: new windows interpolated between a window and a near neighbour.

Classification follows Chawla et al. (2002); regression follows SMOTER (Torgo et al., 2013),
which interpolates the target with the same weight as the window.
"""

import numbers
import warnings
from typing import ClassVar

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval
from threadpoolctl import threadpool_limits

from ._base import BaseWindowOverSampler, fill_common_params_doc


@fill_common_params_doc
class WindowSMOTE(BaseWindowOverSampler):
    """Over-sample windows with SMOTE: interpolation between a window and a near neighbour.

    A new window is ``x_src + u * (x_nn - x_src)``, where ``x_src`` is the source window the
    base draws (uniformly with replacement from its class, or from the rare windows),
    ``x_nn`` is one of its ``k_neighbors`` nearest neighbours drawn uniformly, and
    ``u ~ U(0, 1)`` is drawn once per new window, so every step and channel moves along the
    same segment. Neighbours are searched among the windows of the source's class
    (classification) or among the rare windows (regression), never including the source
    itself (excluded by index, so duplicated windows are still valid neighbours of each
    other).

    Distances are Euclidean between the flattened windows after dividing each channel by its
    standard deviation over all windows and steps (``channel_std_``; a constant channel is
    left as it is), so that a channel with large values does not decide the neighbours
    alone. The interpolation itself is in the original scale and dtype. Windows of unequal
    lengths (NaN-padded) are compared and interpolated with their padding filled by their
    last step, over the full ``seq_len``; a new window then has its source's length (see
    :class:`BaseWindowOverSampler`), so a neighbour's steps beyond that are cut.

    In classification the new window keeps its class label. In regression the target is
    interpolated with the same weight, ``y_src + u * (y_nn - y_src)`` (SMOTER, Torgo et al.,
    2013), so it lies between two rare targets.

    Parameters
    ----------
    k_neighbors : int, default=5
        Number of nearest neighbours each source window may be interpolated with. A class (or
        the set of rare windows) with ``n <= k_neighbors`` windows uses ``n - 1`` neighbours
        instead, with a ``UserWarning``. imbalanced-learn's ``SMOTE`` raises an error there;
        we fall back because minority classes of 3 to 5 windows are the normal case in our
        classification benchmark. A class to over-sample with a single window raises a
        ``ValueError``: there is nothing to interpolate with.
    {common_params}

    Attributes
    ----------
    channel_std_ : ndarray of shape (n_features,)
        Per-channel standard deviation used to scale the windows for the neighbour search
        (0 for a constant channel, which is then not scaled).
    k_neighbors_ : dict
        Number of neighbours actually used for each over-sampled class (classification) or
        ``{"rare": k}`` (regression); smaller than ``k_neighbors`` after a fallback. Classes
        that get no new window are not listed.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        For each output window, the index in ``X`` of its source: the window a new window was
        interpolated *from* (not the neighbour it was interpolated towards). The originals
        map to themselves.
    sampling_strategy_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    See Also
    --------
    RandomWindowOverSampler : Duplication, the reference.
    JitterOverSampler : Noise around a single source window.

    Notes
    -----
    In regression the neighbours are searched among all rare windows. With a callable
    ``minority_threshold`` marking two separate ranges as rare (for example both tails,
    ``np.abs(y) > t``), a window of one range may be interpolated with a window of the
    other, and the new target then lies between them, possibly among the frequent targets.
    Torgo et al. (2013) over-sample each range separately; do the same by over-sampling one
    range per sampler (e.g. ``y > t`` and, in a second sampler, ``y < -t``).

    Measured against duplication (``docs/benchmarks.md``), it is no better: on Energy
    (regression, 10 seeds) -0.45 +- 0.95 Wh of RMSE-macro, a tie; with a GRU (three per
    seed) -3.7 +- 3.0 points of balanced accuracy on GunPoint and +1.5 +- 1.0 on
    JapaneseVowels, within noise; worse beyond noise, if by little, on JapaneseVowels with a
    logistic regression (-0.6 +- 0.2 points) and on Stocks volume surges (0.002 +- 0.001 of
    RMSE-macro, 0.4%).

    References
    ----------
    N. V. Chawla, K. W. Bowyer, L. O. Hall, W. P. Kegelmeyer. SMOTE: Synthetic Minority
    Over-sampling Technique. JAIR 16, 2002.

    L. Torgo, R. P. Ribeiro, B. Pfahringer, P. Branco. SMOTE for Regression. EPIA 2013.

    Examples
    --------
    Regression: the rare targets (above 2.5) are interpolated along with their windows.

    >>> import numpy as np
    >>> from sktsgen.over_sampling import WindowSMOTE
    >>> X = np.random.default_rng(0).normal(size=(8, 4, 2))
    >>> y = np.array([3.0, 4.0, 5.0, 0.1, 0.5, 0.2, 0.4, 0.3])
    >>> sampler = WindowSMOTE(k_neighbors=2, minority_threshold=2.5, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape
    (10, 4, 2)
    >>> bool(np.all((y_res[8:] >= 3.0) & (y_res[8:] <= 5.0)))
    True
    >>> sampler.sample_indices_[8:]  # the windows the new ones were interpolated from
    array([0, 1])

    Classification: new windows keep their class.

    >>> X_res, y_res = WindowSMOTE(k_neighbors=2, random_state=0).fit_resample(
    ...     X, [0, 0, 0, 0, 0, 1, 1, 1])
    >>> np.bincount(y_res)
    array([5, 5])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "k_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, *, k_neighbors=5, sampling_strategy="auto", minority_threshold=None,
                 random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.k_neighbors = k_neighbors

    def _groups(self, y, rare_mask):
        """``{group: indices in X}`` of the groups that get new windows."""
        if rare_mask is not None:
            pools = {"rare": np.flatnonzero(rare_mask)}
        else:
            pools = {label: np.flatnonzero(y == label) for label in self.sampling_strategy_}
        return {g: idx for g, idx in pools.items() if self.sampling_strategy_[g] > 0}

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        std = X.std(axis=(0, 1), dtype=np.float64)
        self.channel_std_ = std
        scale = np.where(std > 0, std, 1.0)
        self.k_neighbors_ = {}
        # Per group: its indices in X and, for each of its windows, its neighbours' indices.
        self._neighbors = {}
        groups = self._groups(y, rare_mask)
        names = {g: "the rare windows" if rare_mask is not None else f"class {g}" for g in groups}
        single = [names[g] for g, idx in groups.items() if idx.shape[0] < 2]
        if single:
            raise ValueError(
                f"WindowSMOTE cannot over-sample {' and '.join(single)}: a single window, "
                "and SMOTE needs at least 2 windows to interpolate between "
                f"(k_neighbors={self.k_neighbors}). Leave it out of sampling_strategy, or "
                "duplicate it with RandomWindowOverSampler."
            )
        for group, idx in groups.items():
            name, n = names[group], idx.shape[0]
            k = self.k_neighbors
            if n <= k:
                warnings.warn(
                    f"WindowSMOTE: {name} has {n} windows, fewer than k_neighbors + 1 = "
                    f"{k + 1} (k_neighbors={k}); using k={n - 1} neighbours for it.",
                    UserWarning,
                    stacklevel=5,
                )
                k = n - 1
            self.k_neighbors_[group] = k
            flat = (X[idx] / scale).reshape(n, -1)
            # kneighbors() without X leaves each window out of its own neighbours by index,
            # also when it has exact duplicates.
            # One BLAS thread, as for every small product in the package (docs/benchmarks.md,
            # thread discipline).
            with threadpool_limits(limits=1):
                nn = NearestNeighbors(n_neighbors=k).fit(flat)
                self._neighbors[group] = (idx, idx[nn.kneighbors(return_distance=False)])

    def _augment_indices(self, X, y, source, random_state):
        n_new = source.shape[0]
        regression = self.task_ == "regression"
        # Row of each source in its group's neighbour table, and its group's k.
        row = np.empty(n_new, dtype=np.intp)
        k = np.empty(n_new, dtype=np.intp)
        tables = []
        y_src = y[source]
        for group, (idx, table) in self._neighbors.items():
            in_group = np.ones(n_new, dtype=bool) if regression else y_src == group
            row[in_group] = np.searchsorted(idx, source[in_group])
            k[in_group] = self.k_neighbors_[group]
            tables.append((in_group, table))
        column = random_state.randint(0, k)
        u = random_state.uniform(0.0, 1.0, size=n_new)
        neighbor = np.empty(n_new, dtype=np.intp)
        for in_group, table in tables:
            neighbor[in_group] = table[row[in_group], column[in_group]]

        X_src, X_nn = X[source], X[neighbor]
        X_new = X_src + u.astype(X.dtype)[:, None, None] * (X_nn - X_src)
        if not regression:
            return X_new, y_src
        y_nn = y[neighbor]
        y_dtype = y.dtype if np.issubdtype(y.dtype, np.floating) else np.float64
        y_new = (y_src + u * (y_nn - y_src)).astype(y_dtype, copy=False)
        return X_new, y_new
