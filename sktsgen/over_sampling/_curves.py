"""Vectorised helpers of the classic augmenters: smooth random curves, resampling in time."""

import numpy as np
from scipy.interpolate import CubicSpline


def smooth_random_curves(random_state, shape, seq_len, n_knots, sigma):
    """Cubic splines through ``n_knots + 2`` evenly spaced knots drawn from ``N(1, sigma^2)``.

    Returns an array of shape ``shape + (seq_len,)``: one smooth curve around 1 per entry of
    ``shape``, evaluated at steps ``0 .. seq_len - 1`` (Um et al., 2017).
    """
    knots_x = np.linspace(0.0, max(seq_len - 1, 1), n_knots + 2)
    knots_y = random_state.normal(1.0, sigma, size=(n_knots + 2,) + tuple(shape))
    curves = CubicSpline(knots_x, knots_y, axis=0)(np.arange(seq_len))
    return np.moveaxis(curves, 0, -1)


def interpolate_windows(X, positions):
    """Read windows at fractional time ``positions`` by linear interpolation.

    Parameters
    ----------
    X : ndarray of shape (n, seq_len, d)
    positions : ndarray of shape (n, m)
        Fractional step indices into each window, clipped to ``[0, seq_len - 1]``.

    Returns
    -------
    ndarray of shape (n, m, d)
    """
    last = X.shape[1] - 1
    pos = np.clip(positions, 0.0, last)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, last)
    frac = (pos - lo)[..., None]
    rows = np.arange(X.shape[0])[:, None]
    return X[rows, lo] * (1.0 - frac) + X[rows, hi] * frac
