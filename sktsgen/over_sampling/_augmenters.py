"""Value augmenters as window over-samplers: jitter, translation, magnitude warping.

Each new window is its source window with noise added or a smooth multiplier applied; the
shared base decides which windows are augmented and how many.
"""

import numbers
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseWindowOverSampler, fill_common_params_doc
from ._channels import kept_channels
from ._curves import smooth_random_curves


@fill_common_params_doc
class JitterOverSampler(BaseWindowOverSampler):
    """Over-sample with jittered copies: Gaussian noise added to every value.

    A new window is ``x + e`` with ``e[t, c] ~ N(0, (sigma * std_c)^2)`` drawn independently
    for every step and channel, where ``std_c`` is channel ``c``'s standard deviation over all
    windows and steps seen in ``fit_resample``. So ``sigma`` is in units of each channel's
    spread, as on the standardised data of the augmentation literature.

    Parameters
    ----------
    sigma : float, default=0.03
        Noise level relative to each channel's standard deviation (0.03 as in Iwana &
        Uchida, 2021).
    keep_features : "auto", array-like of int or bool, default=None
        Channels left exact (no noise), as indices or a boolean mask. ``"auto"`` keeps, in
        regression, the channels whose window alone explains at least 25% of the target's
        variance (leave-one-out ridge R^2, in ``target_scores_``) beyond chance (F-test
        at 1%, corrected for the number of channels), none in classification. ``None``
        adds noise to every channel. Keeping the channel that carries a regression target
        lets the noise be large without changing what the window says about its label; see
        ``docs/design/augmenters.md`` for the measured effect.
    {common_params}

    Attributes
    ----------
    channel_std_ : ndarray of shape (n_features,)
        Per-channel standard deviation the noise is scaled by.
    keep_mask_ : ndarray of shape (n_features,) of bool or None
        Channels left exact (None: noise on every channel).
    target_scores_ : ndarray of shape (n_features,) or None
        With ``keep_features="auto"`` in regression, each channel's R^2 of the target.
    sampling_strategy_, sample_indices_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling import JitterOverSampler
    >>> X = np.random.default_rng(0).normal(size=(6, 4, 2))
    >>> y = np.array([0.1, 0.5, 3.0, 0.2, 0.4, 0.3])
    >>> sampler = JitterOverSampler(minority_threshold=2.5, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, y_res[-1]
    ((10, 4, 2), np.float64(3.0))
    >>> bool(np.abs(X_res[6:] - X[2]).max() < 0.3)  # close to the rare source window
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "keep_features": ["array-like", StrOptions({"auto"}), None],
    }

    def __init__(self, *, sigma=0.03, keep_features=None, sampling_strategy="auto",
                 minority_threshold=None, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.sigma = sigma
        self.keep_features = keep_features

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        self.channel_std_ = X.std(axis=(0, 1), dtype=np.float64)
        self.keep_mask_, self.target_scores_ = kept_channels(self.keep_features, X, y,
                                                             self.task_)

    def _augment(self, X_source, y_source, random_state):
        if self.keep_mask_ is None:
            noise = random_state.normal(0.0, 1.0, size=X_source.shape)
            return X_source + noise * (self.sigma * self.channel_std_)
        free = ~self.keep_mask_
        noise = random_state.normal(0.0, 1.0, size=(*X_source.shape[:2], int(free.sum())))
        X_new = X_source.copy()
        X_new[..., free] += (noise * (self.sigma * self.channel_std_[free])).astype(
            X_new.dtype, copy=False)
        return X_new


@fill_common_params_doc
class TranslationOverSampler(BaseWindowOverSampler):
    """Over-sample with translated copies: a random constant offset per window and channel.

    The "translation" baseline of Kim, Choi & Choo (2021), which "adds the same amount of
    value for each input feature across time" with a randomly drawn amount. We read it as one
    offset per window and channel, constant over the window's steps:
    ``x[t, c] + o_c`` with ``o_c ~ N(0, (sigma * std_c)^2)``, ``std_c`` being channel ``c``'s
    standard deviation over all windows. The paper does not give the offset's size; ``sigma``
    sets it.

    Parameters
    ----------
    sigma : float, default=0.1
        Offset spread relative to each channel's standard deviation.
    {common_params}

    Attributes
    ----------
    channel_std_ : ndarray of shape (n_features,)
        Per-channel standard deviation the offsets are scaled by.
    sampling_strategy_, sample_indices_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling import TranslationOverSampler
    >>> X = np.random.default_rng(0).normal(size=(6, 4, 2))
    >>> sampler = TranslationOverSampler(random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, [0, 0, 0, 0, 1, 1])
    >>> shift = X_res[6:] - X[sampler.sample_indices_[6:]]
    >>> bool(np.allclose(shift, shift[:, :1, :]))  # constant over time
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "sigma": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, *, sigma=0.1, sampling_strategy="auto", minority_threshold=None,
                 random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.sigma = sigma

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        self.channel_std_ = X.std(axis=(0, 1), dtype=np.float64)

    def _augment(self, X_source, y_source, random_state):
        n, _, d = X_source.shape
        offsets = random_state.normal(0.0, 1.0, size=(n, 1, d))
        return X_source + offsets * (self.sigma * self.channel_std_)


@fill_common_params_doc
class MagnitudeWarpingOverSampler(BaseWindowOverSampler):
    """Over-sample with magnitude-warped copies: each channel times a smooth random curve.

    Each channel of a new window is multiplied step by step by a cubic spline through
    ``n_knots + 2`` evenly spaced knots drawn from ``N(1, sigma^2)`` (Um et al., 2017), so
    its magnitude drifts smoothly around the original. The values are multiplied as they
    are, so the warp is relative to zero: an offset channel (e.g. a level far from 0) varies
    more in absolute terms than a centred one.

    Parameters
    ----------
    sigma : float, default=0.2
        Spread of the knot values around 1 (0.2 as in Um et al., 2017 and Iwana & Uchida,
        2021).
    n_knots : int, default=4
        Interior knots of the spline: more knots, faster changes.
    {common_params}

    Attributes
    ----------
    sampling_strategy_, sample_indices_, task_, n_features_in_, seq_len_
        See :class:`BaseWindowOverSampler`.

    Notes
    -----
    Measured against duplication on Energy (regression, rare windows x4, 10 seeds;
    ``docs/benchmarks.md``), it is worse: -3.66 +- 1.72 Wh of RMSE-macro. A likely reason, not
    measured separately: scaling the target's own history changes what a rare window says
    about its target, which the new window keeps.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.over_sampling import MagnitudeWarpingOverSampler
    >>> X = np.ones((6, 12, 2))
    >>> sampler = MagnitudeWarpingOverSampler(random_state=0)
    >>> X_res, _ = sampler.fit_resample(X, [0, 0, 0, 0, 1, 1])
    >>> X_res.shape
    (8, 12, 2)
    >>> bool(np.all(X_res[6:] != 1.0))  # each value scaled by the curve
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
        n, seq_len, d = X_source.shape
        curves = smooth_random_curves(random_state, (n, d), seq_len, self.n_knots, self.sigma)
        return X_source * np.swapaxes(curves, 1, 2)
