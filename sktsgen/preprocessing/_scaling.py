"""Per-channel min-max scaling of windows that always round-trips."""

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._validation import FLOAT_DTYPES, _ndim, check_windows, validate_windows

# Values scaled per step of transform and inverse_transform: the float64 arithmetic (float32
# data are scaled in float64, as a whole array would be) then needs 1 MB temporaries instead
# of two arrays twice the size of X.
_CHUNK_VALUES = 2**17


def chunk_rows(X):
    """Windows per step when ``X`` is processed about ``_CHUNK_VALUES`` values at a time
    (at least one window)."""
    return max(1, _CHUNK_VALUES // max(1, int(np.prod(X.shape[1:]))))


class WindowMinMaxScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale each channel of windows to ``feature_range``, fitted over all windows and steps.

    Every generator and sampler in sktsgen scales its input with this class and maps its
    output back with :meth:`inverse_transform`, so synthetic windows come out in the scale
    of the data they were fitted on. A constant channel is mapped to the lower end of
    ``feature_range`` and back to its constant (no NaN).

    As with :class:`sklearn.preprocessing.MinMaxScaler`, NaN marks a missing value: it is
    ignored by :meth:`fit` and kept as NaN by :meth:`transform` and
    :meth:`inverse_transform`. A channel with no observed value is an error; infinite
    values are always rejected.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
        Range of the scaled data.
    clip : bool, default=False
        Clip transformed values of unseen data to ``feature_range``.

    Attributes
    ----------
    data_min_ : ndarray of shape (n_features,)
        Per-channel minimum seen in fit.
    data_max_ : ndarray of shape (n_features,)
        Per-channel maximum seen in fit.
    data_range_ : ndarray of shape (n_features,)
        ``data_max_ - data_min_``.
    n_features_in_ : int
        Number of channels.
    seq_len_ : int
        Window length seen in fit (transform accepts any window length).

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.preprocessing import WindowMinMaxScaler
    >>> X = np.random.default_rng(0).normal(size=(8, 5, 2)) * 100
    >>> scaler = WindowMinMaxScaler().fit(X)
    >>> Xt = scaler.transform(X)
    >>> float(Xt.min()), float(Xt.max())
    (0.0, 1.0)
    >>> bool(np.allclose(scaler.inverse_transform(Xt), X))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "feature_range": [tuple],
        "clip": ["boolean"],
    }

    def __init__(self, feature_range=(0, 1), *, clip=False):
        self.feature_range = feature_range
        self.clip = clip

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check_range(self):
        try:
            lo, hi = (float(v) for v in self.feature_range)
        except (TypeError, ValueError):
            raise ValueError(
                f"feature_range must be a tuple of two numbers (min, max), "
                f"got {self.feature_range!r}."
            ) from None
        if not lo < hi:
            raise ValueError(
                f"feature_range must be (min, max) with min < max, got {self.feature_range}."
            )
        return lo, hi

    def fit(self, X, y=None):
        """Compute per-channel minimum and maximum over windows and time steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)
            NaN entries (missing values) are ignored.
        y : None
            Ignored.

        Returns
        -------
        self : WindowMinMaxScaler
        """
        self._validate_params()
        self._check_range()
        X = validate_windows(self, X, reset=True, allow_nan=True)
        data_min, data_max = X.min(axis=(0, 1)), X.max(axis=(0, 1))
        # NaN propagates through min: only data with NaN takes the NaN-aware passes. fmin
        # and fmax skip NaN (np.nanmin and np.nanmax are these reductions) and give NaN only
        # for a channel with no observed value, so no mask of X's size is needed.
        if np.isnan(data_min).any():
            data_min = np.fmin.reduce(X, axis=(0, 1))
            missing = np.isnan(data_min)
            if missing.any():
                raise ValueError(
                    f"X has no observed value (only NaN) in channel(s) "
                    f"{np.flatnonzero(missing).tolist()}: their range cannot be fitted.")
            data_max = np.fmax.reduce(X, axis=(0, 1))
        self.data_min_ = data_min.astype(np.float64)
        self.data_max_ = data_max.astype(np.float64)
        self.data_range_ = self.data_max_ - self.data_min_
        return self

    def _scale(self):
        lo, hi = self._check_range()
        # A constant channel gets unit range: it maps to ``lo`` and back exactly.
        rng = np.where(self.data_range_ > 0, self.data_range_, 1.0)
        return (hi - lo) / rng, lo

    def _check(self, X):
        # Any window length may be scaled (e.g. windows longer than the fitted ones).
        check_is_fitted(self)
        ndim = _ndim(X)
        if ndim == 2:
            X = validate_data(self, X, reset=False, dtype=list(FLOAT_DTYPES),
                              ensure_all_finite="allow-nan")[:, None, :]
        else:
            X = check_windows(X, allow_2d=False, allow_nan=True)
        if X.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[2]} features (channels), but WindowMinMaxScaler is "
                f"expecting {self.n_features_in_} features as input."
            )
        return X, ndim

    def transform(self, X):
        """Scale windows to ``feature_range``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)

        Returns
        -------
        Xt : ndarray of the same shape and dtype (float32 stays float32)
            NaN where ``X`` is NaN.
        """
        X, ndim = self._check(X)
        Xt = self._transform_into(X, np.empty(X.shape, dtype=X.dtype))
        return Xt[:, 0, :] if ndim == 2 else Xt

    def _transform_into(self, X, out, rows=None):
        """Scale windows ``X`` (or ``X[rows]``) into ``out`` (any float dtype) a chunk at a
        time, and return ``out``. Each value is computed as by ``transform`` on the whole
        array, then cast to ``out``'s dtype, so the result is the same bit for bit."""
        scale, lo = self._scale()
        n = len(X) if rows is None else len(rows)
        step = chunk_rows(X)
        for start in range(0, n, step):
            part = X[start:start + step] if rows is None else X[rows[start:start + step]]
            chunk = (part - self.data_min_) * scale + lo
            if self.clip:
                np.clip(chunk, lo, self.feature_range[1], out=chunk)
            out[start:start + step] = chunk
        return out

    def inverse_transform(self, X):
        """Map scaled windows back to the original scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)

        Returns
        -------
        X_original : ndarray of the same shape and dtype
            NaN where ``X`` is NaN.
        """
        X, ndim = self._check(X)
        scale, lo = self._scale()
        Xo = np.empty(X.shape, dtype=X.dtype)
        step = chunk_rows(X)
        for start in range(0, len(X), step):
            Xo[start:start + step] = (X[start:start + step] - lo) / scale + self.data_min_
        return Xo[:, 0, :] if ndim == 2 else Xo
