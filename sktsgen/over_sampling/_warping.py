"""Time augmenters as window over-samplers: window warping and time warping.

Both distort a window's time axis and read the source window back at the distorted,
fractional time positions (linear interpolation), so the new window keeps ``seq_len``
steps. All channels of a window share one distortion, keeping them aligned in time. Windows
of length 1 have no time axis to warp and are copied unchanged.
"""

import numbers
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import BaseWindowOverSampler, fill_common_params_doc
from ._curves import interpolate_windows, smooth_random_curves


@fill_common_params_doc
class WindowWarpingOverSampler(BaseWindowOverSampler):
    """Over-sample with window-warped copies: a random slice sped up or slowed down.

    Window warping (Le Guennec et al., 2016), one of the paper's baselines: a slice covering
    ``window_ratio`` of the window, at a random position, is stretched or compressed in time
    by a factor drawn from ``scales``; the whole warped series is then resampled to
    ``seq_len`` steps (linear interpolation), so the rest of the window is compressed or
    stretched slightly to make room.

    Parameters
    ----------
    window_ratio : float, default=0.1
        Length of the warped slice as a fraction of the window (0.1 as in Iwana & Uchida,
        2021).
    scales : sequence of float, default=(0.5, 2.0)
        Warping factors, one drawn uniformly per new window: 2 slows the slice down (it
        takes twice as many steps), 0.5 speeds it up (Le Guennec et al., 2016).
    {common_params}

    Attributes
    ----------
    sampling_strategy_, sample_indices_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling import WindowWarpingOverSampler
    >>> X = np.tile(np.linspace(0, 1, 20)[None, :, None], (6, 1, 1))   # ramps
    >>> sampler = WindowWarpingOverSampler(window_ratio=0.3, random_state=0)
    >>> X_res, _ = sampler.fit_resample(X, [0, 0, 0, 0, 1, 1])
    >>> X_res.shape
    (8, 20, 1)
    >>> bool(np.all(np.diff(X_res[6:, :, 0]) >= 0))  # still a ramp, warped in time
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "window_ratio": [Interval(numbers.Real, 0, 1, closed="neither")],
        "scales": ["array-like"],
    }

    def __init__(self, *, window_ratio=0.1, scales=(0.5, 2.0), sampling_strategy="auto",
                 minority_threshold=None, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.window_ratio = window_ratio
        self.scales = scales

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        scales = np.asarray(self.scales, dtype=object).ravel()
        if scales.size == 0 or not all(
            isinstance(s, numbers.Real) and not isinstance(s, bool) and np.isfinite(s) and s > 0
            for s in scales
        ):
            raise ValueError(
                f"scales must be a non-empty sequence of positive numbers, got {self.scales!r}."
            )
        self._scales = scales.astype(np.float64)

    def _augment(self, X_source, y_source, random_state):
        n, seq_len, _ = X_source.shape
        if seq_len < 2:
            return X_source
        last = seq_len - 1
        width = self.window_ratio * last  # slice length, in steps
        start = random_state.uniform(0.0, last - width, size=(n, 1))
        scale = self._scales[random_state.randint(0, self._scales.size, size=(n, 1))]
        # The warped series is longer or shorter by width * (scale - 1); read it at seq_len
        # evenly spaced points u and map each back to source time s(u), piecewise linearly.
        u = np.linspace(0.0, 1.0, seq_len)[None, :] * (last + width * (scale - 1.0))
        end = start + width * scale
        s = np.where(u < start, u,
                     np.where(u < end, start + (u - start) / scale, u - width * (scale - 1.0)))
        return interpolate_windows(X_source, s)


@fill_common_params_doc
class TimeWarpingOverSampler(BaseWindowOverSampler):
    """Over-sample with time-warped copies: a smooth random distortion of the time axis.

    The local speed of time follows a cubic spline through ``n_knots + 2`` evenly spaced
    knots drawn from ``N(1, sigma^2)`` (Um et al., 2017); its cumulative sum, rescaled to
    span the window, gives the source time of every output step. Parts of the window are
    thus played faster and others slower, with start and end kept in place.

    Parameters
    ----------
    sigma : float, default=0.2
        Spread of the speed knots around 1 (0.2 as in Um et al., 2017 and Iwana & Uchida,
        2021). Speeds are floored at 0.01 so that time never runs backwards.
    n_knots : int, default=4
        Interior knots of the speed curve.
    {common_params}

    Attributes
    ----------
    sampling_strategy_, sample_indices_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling import TimeWarpingOverSampler
    >>> X = np.tile(np.linspace(0, 1, 20)[None, :, None], (6, 1, 1))
    >>> X_res, _ = TimeWarpingOverSampler(random_state=0).fit_resample(X, [0, 0, 0, 0, 1, 1])
    >>> new = X_res[6:, :, 0]
    >>> bool(np.allclose(new[:, [0, -1]], [0, 1]) and np.all(np.diff(new) > 0))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "n_knots": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, *, sigma=0.2, n_knots=4, sampling_strategy="auto",
                 minority_threshold=None, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.sigma = sigma
        self.n_knots = n_knots

    def _augment(self, X_source, y_source, random_state):
        n, seq_len, _ = X_source.shape
        if seq_len < 2:
            return X_source
        speed = np.maximum(
            smooth_random_curves(random_state, (n,), seq_len, self.n_knots, self.sigma), 0.01)
        clock = np.cumsum(speed, axis=1)
        clock -= clock[:, :1]
        positions = clock * ((seq_len - 1) / clock[:, -1:])
        return interpolate_windows(X_source, positions)
