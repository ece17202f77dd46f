"""Windows of unequal lengths, stored as one array padded with NaN at the end.

The convention (tslearn's too): a window's padding is the run of steps at its end on which
every channel is NaN. A NaN before the last observed step is a missing value, not padding.
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_array

from ._validation import FLOAT_DTYPES


def _is_ragged(X, seq_len=None):
    """Whether ``X`` is a list or tuple of 2-D array-likes that differ in length (or, given
    ``seq_len``, are all shorter than it)."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    try:
        lengths = {len(x) for x in X}
    except TypeError:
        return False
    short = seq_len is not None and max(lengths) < seq_len
    return (len(lengths) > 1 or short) and all(np.ndim(x) == 2 for x in X)


def pad_windows(windows, *, length=None, dtype=None):
    """Stack windows of unequal lengths into one array, padded with NaN at the end.

    Parameters
    ----------
    windows : list of array-like of shape (len_i, n_features)
        The windows, oldest step first; all with the same number of channels.
    length : int, default=None
        Steps of the padded array; the longest window when None.
    dtype : {np.float64, np.float32}, default=None
        float32 when every window is float32, else float64.

    Returns
    -------
    X : ndarray of shape (n_windows, length, n_features)
        Window ``i`` holds its values on its first ``len_i`` steps and NaN after them.

    See Also
    --------
    window_lengths : The lengths back from a padded array.
    unpad_windows : The list back from a padded array.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.utils import pad_windows, window_lengths
    >>> X = pad_windows([np.ones((3, 2)), np.zeros((1, 2))])
    >>> X.shape, window_lengths(X)
    ((2, 3, 2), array([3, 1]))
    >>> X[1, :, 0]
    array([ 0., nan, nan])
    """
    if not isinstance(windows, (list, tuple)) or len(windows) == 0:
        raise TypeError(f"windows must be a non-empty list of 2-D arrays (steps, channels), "
                        f"got {type(windows).__name__}.")
    arrays = []
    for i, w in enumerate(windows):
        if np.ndim(w) != 2:
            raise ValueError(f"windows[{i}] has {np.ndim(w)} dimension(s); expected a 2-D "
                             "array of shape (steps, channels).")
        arrays.append(check_array(w, dtype=list(FLOAT_DTYPES), ensure_all_finite="allow-nan",
                                  input_name=f"windows[{i}]"))
    widths = {a.shape[1] for a in arrays}
    if len(widths) > 1:
        raise ValueError(f"All windows must have the same number of channels, got "
                         f"{sorted(widths)}.")
    longest = max(a.shape[0] for a in arrays)
    if length is None:
        length = longest
    elif isinstance(length, (bool, np.bool_)) or not isinstance(length, numbers.Integral):
        raise TypeError(f"length must be a positive int or None, got {length!r}.")
    elif length < longest:
        raise ValueError(f"length={length} is shorter than the longest window ({longest} "
                         "steps); expected length >= every window's length.")
    if dtype is None:
        dtype = np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64
    X = np.full((len(arrays), int(length), arrays[0].shape[1]), np.nan, dtype=dtype)
    for i, a in enumerate(arrays):
        X[i, :a.shape[0]] = a
    return X


def window_lengths(X):
    """Steps of each window before its NaN padding.

    A window's length is one plus its last step on which at least one channel is not NaN;
    the steps after it (NaN on every channel) are padding.

    Parameters
    ----------
    X : ndarray of shape (n_samples, seq_len, n_features)

    Returns
    -------
    lengths : ndarray of shape (n_samples,), dtype intp
        ``seq_len`` for complete windows; 0 for a window that is NaN throughout.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.utils import window_lengths
    >>> X = np.zeros((2, 4, 1))
    >>> X[1, 2:] = np.nan
    >>> window_lengths(X)
    array([4, 2])
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X must be a 3-D array of windows (n_samples, seq_len, n_features), "
                         f"got {X.ndim} dimension(s).")
    lengths = np.full(X.shape[0], X.shape[1], dtype=np.intp)
    # Only windows whose last step is NaN on every channel can be padded; the others are
    # skipped, so complete data costs one pass over the last steps.
    cut = np.flatnonzero(np.isnan(X[:, -1, :]).all(axis=1))
    for start in range(0, cut.shape[0], 4096):
        rows = cut[start:start + 4096]
        observed = ~np.isnan(X[rows]).all(axis=2)  # (rows, seq_len)
        any_observed = observed.any(axis=1)
        last = X.shape[1] - 1 - np.argmax(observed[:, ::-1], axis=1)
        lengths[rows] = np.where(any_observed, last + 1, 0)
    return lengths


def unpad_windows(X, lengths=None):
    """Split a padded array into a list of windows of their own lengths.

    Parameters
    ----------
    X : ndarray of shape (n_samples, seq_len, n_features)
    lengths : array-like of shape (n_samples,), default=None
        Steps to keep per window; :func:`window_lengths` of ``X`` when None.

    Returns
    -------
    windows : list of ndarray of shape (len_i, n_features)
        Views into ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.utils import pad_windows, unpad_windows
    >>> [w.shape for w in unpad_windows(pad_windows([np.ones((3, 2)), np.ones((1, 2))]))]
    [(3, 2), (1, 2)]
    """
    X = np.asarray(X)
    lengths = window_lengths(X) if lengths is None else np.asarray(lengths, dtype=np.intp)
    if lengths.shape != (X.shape[0],):
        raise ValueError(f"lengths must have one entry per window ({X.shape[0]}), got shape "
                         f"{lengths.shape}.")
    return [X[i, :n] for i, n in enumerate(lengths)]


def padding_mask(lengths, seq_len):
    """Boolean ``(n_samples, seq_len)`` array, True on each window's own steps."""
    return np.arange(seq_len)[None, :] < np.asarray(lengths)[:, None]


def check_lengths(lengths, n_samples, seq_len, *, name="lengths"):
    """``lengths`` as an intp array of ``n_samples`` values in ``[1, seq_len]``; an int is
    broadcast."""
    if isinstance(lengths, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or an array of ints, got {lengths!r}.")
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.intp)
        else:
            raise TypeError(f"{name} must be an int or an array of ints, got dtype "
                            f"{arr.dtype}.")
    if arr.ndim == 0:
        arr = np.full(n_samples, int(arr), dtype=np.intp)
    if arr.shape != (n_samples,):
        raise ValueError(f"{name} must be an int or have one entry per window ({n_samples}), "
                         f"got shape {arr.shape}.")
    if arr.size and (arr.min() < 1 or arr.max() > seq_len):
        raise ValueError(f"{name} must lie between 1 and seq_len={seq_len}, got values from "
                         f"{arr.min()} to {arr.max()}.")
    return arr.astype(np.intp, copy=False)


def fill_padding(X, lengths):
    """``X`` with each window's padding replaced by repetitions of its last own step.

    Parameters
    ----------
    X : ndarray of shape (n_samples, seq_len, n_features)
        Not modified.
    lengths : ndarray of shape (n_samples,)
        Each window's own steps (:func:`window_lengths`), all at least 1.

    Returns
    -------
    X_filled : ndarray of shape (n_samples, seq_len, n_features)
        ``X`` itself when every window is complete, else a copy of the same dtype.
    """
    lengths = np.asarray(lengths, dtype=np.intp)
    if (lengths >= X.shape[1]).all():
        return X
    # Step t of window i reads step min(t, len_i - 1): its own value, or its last step.
    source = np.minimum(np.arange(X.shape[1])[None, :], lengths[:, None] - 1)
    return np.take_along_axis(X, source[:, :, None], axis=1)
