"""Validation of window arrays ``(n_samples, seq_len, n_features)`` shared by every estimator."""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_feature_names, check_array, validate_data

FLOAT_DTYPES = (np.float64, np.float32)  # float64 first: lists must not be downcast


def _ndim(X):
    """Rank of an array-like without triggering ``__array_function__`` overrides."""
    if sp.issparse(X):
        return 2
    if isinstance(X, np.ndarray) or hasattr(X, "iloc"):
        return X.ndim
    from ._lengths import _is_ragged

    if _is_ragged(X):  # windows of unequal lengths, to be padded into one 3-D array
        return 3
    return np.asarray(X).ndim


def _as_windows(X, *, input_name, ensure_min_samples, allow_2d, copy, allow_nan=False):
    """Validate one array-like and return it as a 3-D float array (no estimator state)."""
    if sp.issparse(X):
        raise TypeError(
            f"{input_name} must be a dense array of windows (n_samples, seq_len, n_features); "
            "sparse input is not supported."
        )
    ndim = _ndim(X)
    if ndim not in (2, 3) or (ndim == 2 and not allow_2d):
        expected = "3-D" if not allow_2d else "2-D or 3-D"
        raise ValueError(
            f"Expected {expected} array for {input_name} (windows of shape "
            f"(n_samples, seq_len, n_features); 2-D input is read as windows of length 1), "
            f"got an array with {ndim} dimension(s). Reshape your data or use "
            "sktsgen.utils.sliding_windows to cut a long series into windows."
        )
    try:
        X = check_array(
            X,
            dtype=list(FLOAT_DTYPES),
            allow_nd=True,
            ensure_min_samples=ensure_min_samples,
            ensure_all_finite="allow-nan" if allow_nan else True,
            copy=copy,
            input_name=input_name,
        )
    except ValueError as exc:
        msg = str(exc)
        if input_name in msg:
            raise
        # sklearn names the input only for NaN/inf; say which array was wrong.
        raise ValueError(f"Invalid {input_name} (expected windows of numeric, finite values, "
                         f"shape (n_samples, seq_len, n_features)): {msg}") from exc
    if X.ndim == 2:
        X = X[:, None, :]
    if X.shape[1] < 1 or X.shape[2] < 1:
        raise ValueError(
            f"{input_name} has shape {X.shape}: seq_len and n_features must be at least 1."
        )
    return X


def check_windows(X, *, input_name="X", ensure_min_samples=1, allow_2d=True, copy=False,
                  allow_nan=False):
    """Validate an array of windows and return it as a 3-D float array.

    Parameters
    ----------
    X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)
        Windows. 2-D input is read as windows of length 1, so that scikit-learn's
        estimator checks apply.
    input_name : str, default="X"
        Name used in error messages.
    ensure_min_samples : int, default=1
        Minimum number of windows.
    allow_2d : bool, default=True
        Whether 2-D input is accepted (read as ``seq_len=1``).
    copy : bool, default=False
        Whether to force a copy.
    allow_nan : bool, default=False
        Accept NaN (missing values); infinite values are always rejected.

    Returns
    -------
    X : ndarray of shape (n_samples, seq_len, n_features)
        float64 or float32 (other numeric dtypes become float64).

    Raises
    ------
    ValueError
        On NaN (unless ``allow_nan``) or inf, empty input, wrong rank, too few windows or
        non-numeric data.
    TypeError
        On sparse input.
    """
    return _as_windows(
        X, input_name=input_name, ensure_min_samples=ensure_min_samples,
        allow_2d=allow_2d, copy=copy, allow_nan=allow_nan,
    )


def validate_windows(estimator, X, *, reset, ensure_min_samples=1, y=None, copy=False,
                     warn_2d=False, allow_nan=False, allow_padding=False, **y_kw):
    """Validate windows for an estimator and record or check ``n_features_in_``/``seq_len_``.

    With ``reset=True`` (``fit``), sets ``n_features_in_`` (channel count), ``seq_len_`` and
    ``feature_names_in_`` (2-D DataFrame input). With ``reset=False`` (``transform``,
    ``predict``...), checks that the channel count and sequence length match the fitted ones.

    Parameters
    ----------
    estimator : estimator instance
    X : array-like of shape (n_samples, seq_len, n_features) or (n_samples, n_features)
    reset : bool
    ensure_min_samples : int, default=1
    y : array-like of shape (n_samples,), default=None
        If given, validated (1-D, finite, same length as X) and returned too.
    copy : bool, default=False
    warn_2d : bool, default=False
        Warn (``UserWarning``) when ``X`` is 2-D and ``reset`` is True: a generator or
        sampler fitted on windows of length 1 has most likely been given one long series
        instead of windows. A 3-D ``(n, 1, d)`` array says the windows really have length 1.
    allow_nan : bool, default=False
        Accept NaN in ``X`` (missing values); inf is always rejected. When NaN is rejected
        and the estimator has an ``allow_nan`` parameter, the error names it.
    allow_padding : bool, default=False
        Accept windows of unequal lengths: a list of 2-D arrays of different lengths is
        padded with NaN at the end (:func:`sktsgen.utils.pad_windows`), and a 3-D array may
        end its windows with steps that are NaN on every channel (padding, see
        :func:`sktsgen.utils.window_lengths`) even when ``allow_nan`` is False. Every window
        keeps at least one step.
    **y_kw : dict
        Passed to :func:`sklearn.utils.check_array` for ``y`` (e.g. ``dtype=None``).

    Returns
    -------
    X : ndarray of shape (n_samples, seq_len, n_features)
    y : ndarray of shape (n_samples,)
        Only when ``y`` is given.
    """
    if not reset:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
    from ._lengths import _is_ragged, pad_windows

    fitted = None if reset else getattr(estimator, "seq_len_", None)
    if _is_ragged(X, None if not allow_padding else fitted):
        if not allow_padding:
            raise ValueError(
                f"X is a list of windows of unequal lengths, which "
                f"{type(estimator).__name__} does not support: expected windows of one "
                "length. Crop them to a common length, or pad them with "
                "sktsgen.datasets.load_ts(pad='last') or sktsgen.utils.pad_windows and fill "
                "the padding.")
        # After fit, pad to the fitted length so that a list can be scored as it comes.
        longest = max(len(x) for x in X)
        X = pad_windows(X, length=fitted if fitted is not None and fitted >= longest else None)
        copy = False
    try:
        X = _validated_windows(estimator, X, reset=reset, ensure_min_samples=ensure_min_samples,
                               copy=copy, warn_2d=warn_2d, allow_nan=allow_nan or allow_padding)
        if allow_padding:
            _check_padding(X, allow_nan)
    except ValueError as exc:
        has_param = "allow_nan" in estimator.get_params(deep=False)
        if allow_nan or "NaN" not in str(exc) or "is empty" in str(exc) or not has_param:
            raise
        raise ValueError(
            f"{exc} {type(estimator).__name__} accepts missing values (NaN) with "
            "allow_nan=True.") from exc
    n_features, seq_len = X.shape[2], X.shape[1]
    if reset:
        estimator.n_features_in_ = n_features
        estimator.seq_len_ = seq_len
    else:
        if n_features != estimator.n_features_in_:
            raise ValueError(
                f"X has {n_features} features (channels), but {type(estimator).__name__} "
                f"is expecting {estimator.n_features_in_} features as input."
            )
        if seq_len != estimator.seq_len_:
            raise ValueError(
                f"X has windows of seq_len={seq_len}, but {type(estimator).__name__} was "
                f"fitted on windows of seq_len={estimator.seq_len_}."
            )
    if y is None:
        return X
    y = check_target(y, n_samples=X.shape[0], **y_kw)
    return X, y


def _check_padding(X, allow_nan):
    """Reject windows that are NaN throughout and, unless ``allow_nan``, NaN before the end
    of a window's own steps."""
    if np.isfinite(X.sum(dtype=np.float64)):
        return
    from ._lengths import padding_mask, window_lengths

    lengths = window_lengths(X)
    if (lengths == 0).any():
        i = int(np.argmin(lengths))
        raise ValueError(f"Window {i} of X is empty (NaN on every step and channel); every "
                         "window needs at least one observed step.")
    if allow_nan:
        return
    inside = np.isnan(X).any(axis=2) & padding_mask(lengths, X.shape[1])
    if inside.any():
        i, t = (int(v) for v in np.argwhere(inside)[0])
        raise ValueError(
            f"Input X contains NaN inside window {i} (step {t} of its {lengths[i]} steps): "
            "only the steps at the end of a window that are NaN on every channel are read "
            "as padding of a shorter window; other NaN are missing values.")


def _validated_windows(estimator, X, *, reset, ensure_min_samples, copy, warn_2d, allow_nan):
    ndim = _ndim(X)
    if ndim == 2 and not sp.issparse(X):
        # 2-D input goes through sklearn so that feature names are handled its way.
        X2 = validate_data(
            estimator, X, reset=reset, dtype=list(FLOAT_DTYPES),
            ensure_all_finite="allow-nan" if allow_nan else True,
            ensure_min_samples=ensure_min_samples, copy=copy,
        )
        if reset and warn_2d:
            _warn_length_one(estimator, X2.shape)
        return X2[:, None, :]
    if ndim == 3:
        _check_feature_names(estimator, X, reset=reset)
    return _as_windows(
        X, input_name="X", ensure_min_samples=ensure_min_samples, allow_2d=False, copy=copy,
        allow_nan=allow_nan,
    )


def fill_missing(X, channel_values):
    """Windows with their missing entries filled, and the mask of observed entries.

    Each missing entry takes the last observed value of its channel earlier in the window,
    or, before the first observed one, that first observed value; a channel with no observed
    value in a window takes ``channel_values``. The observed entries are left as they are.

    Parameters
    ----------
    X : ndarray of shape (n_samples, seq_len, n_features)
        Windows with NaN at missing entries (not modified).
    channel_values : array-like of shape (n_features,)
        Value of a channel that is missing over a whole window.

    Returns
    -------
    X_filled : ndarray of shape (n_samples, seq_len, n_features)
        ``X`` itself when nothing is missing, else a filled copy.
    mask : ndarray of shape (n_samples, seq_len, n_features) of bool, or None
        True at observed entries; None when nothing is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.utils._validation import fill_missing
    >>> X = np.array([[[np.nan], [1.0], [np.nan], [3.0]]])
    >>> filled, mask = fill_missing(X, [0.5])
    >>> filled[0, :, 0], mask[0, :, 0]
    (array([1., 1., 1., 3.]), array([False,  True, False,  True]))
    """
    mask = ~np.isnan(X)
    if mask.all():
        return X, None
    steps = np.arange(X.shape[1])[None, :, None]
    # Index of the last observed step at or before each step (-1 before the first one).
    last = np.maximum.accumulate(np.where(mask, steps, -1), axis=1)
    first = np.where(mask, steps, X.shape[1]).min(axis=1, keepdims=True)
    source = np.where(last >= 0, last, np.minimum(first, X.shape[1] - 1))
    filled = np.take_along_axis(X, source, axis=1)
    empty = ~mask.any(axis=1, keepdims=True)  # channels missing over the whole window
    values = np.broadcast_to(np.asarray(channel_values, dtype=X.dtype), filled.shape)
    return np.where(empty, values, filled).astype(X.dtype, copy=False), mask


def _warn_length_one(estimator, shape):
    warnings.warn(
        f"{type(estimator).__name__} got 2-D X of shape {tuple(shape)} and reads it as "
        f"{shape[0]} windows of length 1 (seq_len=1). If X is one long series (time steps x "
        "channels), cut it into windows first: sktsgen.utils.sliding_windows(X, seq_len). "
        "To fit windows of length 1 without this warning, pass a 3-D array of shape "
        "(n_samples, 1, n_features).",
        UserWarning,
        stacklevel=_caller_stacklevel(),
    )


def _caller_stacklevel():
    """``stacklevel`` of the first frame outside sktsgen, scikit-learn and imbalanced-learn,
    so that a warning points at the user's line whatever the path (fit, fit_resample,
    a Pipeline)."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(("sktsgen.", "sklearn.", "imblearn.")) or ".tests." in name:
            return level
        frame, level = frame.f_back, level + 1
    return 1


def check_target(y, *, n_samples, dtype="numeric", input_name="y"):
    """Validate a 1-D target of length ``n_samples`` (finite, no NaN).

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, 1)
    n_samples : int
        Number of windows the target must match.
    dtype : str, type or None, default="numeric"
        Passed to :func:`sklearn.utils.check_array` (``None`` keeps class labels as given).
    input_name : str, default="y"
        Name used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from sktsgen.utils import check_target
    >>> check_target([[1.0], [2.0]], n_samples=2)
    array([1., 2.])
    """
    if y is None:
        raise ValueError(f"{input_name} is required: pass an array of shape ({n_samples},).")
    y = check_array(
        y, ensure_2d=False, dtype=dtype, ensure_all_finite=True, input_name=input_name,
        ensure_min_samples=0,
    )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{input_name} must be 1-D of shape ({n_samples},), got {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has {n_samples} "
            f"windows but {input_name} has {y.shape[0]}."
        )
    return y


def check_n_samples(n_samples, *, name="n_samples"):
    """Validate a positive integer count of windows to generate.

    Parameters
    ----------
    n_samples : int
        Count to check; ``bool`` and floats are rejected with a ``TypeError``.
    name : str, default="n_samples"
        Name used in error messages.

    Returns
    -------
    n_samples : int

    Examples
    --------
    >>> from sktsgen.utils import check_n_samples
    >>> check_n_samples(5)
    5
    """
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {type(n_samples).__name__}.")
    if n_samples < 1:
        raise ValueError(f"{name} must be a positive int, got {n_samples}.")
    return int(n_samples)
