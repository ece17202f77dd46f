"""Cutting long series into windows and windowed supervised tasks."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array


def _check_positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}.")
    return int(value)


def _check_series(data, name="data"):
    """A long series as a 2-D float array ``(T, d)`` plus its column names (or None)."""
    columns = None
    if isinstance(data, pd.Series):
        columns = [data.name] if data.name is not None else None
        data = data.to_frame()
    elif isinstance(data, pd.DataFrame):
        columns = [str(c) for c in data.columns]
    arr = np.asarray(data) if not isinstance(data, pd.DataFrame) else data
    if np.ndim(arr) == 1:
        arr = np.asarray(arr)[:, None]
    if np.ndim(arr) != 2:
        raise ValueError(
            f"{name} must be a long series of shape (n_timesteps, n_features) or "
            f"(n_timesteps,), got an array with {np.ndim(arr)} dimensions."
        )
    arr = check_array(arr, dtype=[np.float64, np.float32], ensure_all_finite=True,
                      input_name=name)
    return arr, columns


def sliding_windows(data, window_length, stride=1):
    """Cut a long series into overlapping windows.

    Parameters
    ----------
    data : array-like or DataFrame of shape (n_timesteps, n_features) or (n_timesteps,)
        The series, oldest first. An ndarray cannot carry column names: use
        :func:`sliding_windows_frame` to get a DataFrame's column names with the windows.
    window_length : int
        Steps per window.
    stride : int, default=1
        Steps between the starts of consecutive windows.

    Returns
    -------
    windows : ndarray of shape (n_windows, window_length, n_features)
        ``n_windows = (n_timesteps - window_length) // stride + 1``. A copy: changing it
        does not change ``data``. float64 unless ``data`` is float32.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.utils import sliding_windows
    >>> sliding_windows(np.arange(10.0), window_length=4, stride=3)[:, :, 0]
    array([[0., 1., 2., 3.],
           [3., 4., 5., 6.],
           [6., 7., 8., 9.]])
    """
    window_length = _check_positive_int(window_length, "window_length")
    stride = _check_positive_int(stride, "stride")
    arr, _ = _check_series(data)
    if arr.shape[0] < window_length:
        raise ValueError(
            f"window_length={window_length} is longer than the series "
            f"({arr.shape[0]} time steps)."
        )
    view = np.lib.stride_tricks.sliding_window_view(arr, window_length, axis=0)
    # view: (T - L + 1, d, L) -> (n, L, d)
    return np.ascontiguousarray(view[::stride].transpose(0, 2, 1))


def sliding_windows_frame(frame, window_length, stride=1):
    """Like :func:`sliding_windows`, also returning the column names of a DataFrame.

    Parameters
    ----------
    frame : DataFrame, Series or array-like of shape (n_timesteps, n_features)
    window_length : int
    stride : int, default=1

    Returns
    -------
    windows : ndarray of shape (n_windows, window_length, n_features)
    columns : list of str or None
        Column names of a DataFrame (or a named Series), else None.

    Examples
    --------
    >>> import pandas as pd
    >>> from sktsgen.utils import sliding_windows_frame
    >>> W, columns = sliding_windows_frame(pd.DataFrame({"a": range(5), "b": range(5)}), 3)
    >>> W.shape, columns
    ((3, 3, 2), ['a', 'b'])
    """
    _, columns = _check_series(frame)
    return sliding_windows(frame, window_length, stride), columns


_REDUCERS = {"mean": np.mean, "max": np.max, "min": np.min, "median": np.median,
             "sum": np.sum, "last": lambda a, axis: np.take(a, -1, axis=axis)}


def make_windowed_target(data, *, input_length, horizon, target, reduce="mean", stride=1,
                         include_target=True):
    """Turn a long multivariate series into a supervised task on windows.

    Each sample's input is ``input_length`` consecutive steps; its target is ``reduce``
    over the next ``horizon`` steps of the ``target`` column. For example, 32 hourly steps
    of all pollutants -> mean PM2.5 of the next 6 hours.

    Parameters
    ----------
    data : array-like or DataFrame of shape (n_timesteps, n_features)
        The series, oldest first.
    input_length : int
        Steps in each input window.
    horizon : int
        Steps after the window over which the target is reduced.
    target : int or str
        Column index, or column name when ``data`` is a DataFrame.
    reduce : {"mean", "max", "min", "median", "sum", "last"} or callable, default="mean"
        How the ``horizon`` future values become one target. A callable gets an array of
        shape ``(n_windows, horizon)`` and ``axis=1``.
    stride : int, default=1
        Steps between consecutive window starts.
    include_target : bool, default=True
        Whether the target column is part of the input windows.

    Returns
    -------
    X : ndarray of shape (n_windows, input_length, n_features_kept)
    y : ndarray of shape (n_windows,)
        ``n_windows = (n_timesteps - input_length - horizon) // stride + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktsgen.utils import make_windowed_target
    >>> series = np.arange(20.0).reshape(10, 2)          # column 1 = 1, 3, 5, ...
    >>> X, y = make_windowed_target(series, input_length=3, horizon=2, target=1)
    >>> X.shape, y[:2]
    ((6, 3, 2), array([ 8., 10.]))
    """
    input_length = _check_positive_int(input_length, "input_length")
    horizon = _check_positive_int(horizon, "horizon")
    stride = _check_positive_int(stride, "stride")
    arr, columns = _check_series(data)
    if isinstance(target, str):
        if columns is None or target not in columns:
            raise ValueError(
                f"target={target!r} is not a column of data "
                f"(columns: {columns if columns is not None else 'none, pass an int'})."
            )
        col = columns.index(target)
    elif isinstance(target, numbers.Integral) and not isinstance(target, bool):
        col = int(target)
        if not -arr.shape[1] <= col < arr.shape[1]:
            raise ValueError(f"target={target} is out of range for {arr.shape[1]} columns.")
        col %= arr.shape[1]
    else:
        raise TypeError(f"target must be a column index (int) or name (str), got {target!r}.")
    if callable(reduce):
        reducer = reduce
    elif reduce in _REDUCERS:
        reducer = _REDUCERS[reduce]
    else:
        raise ValueError(f"reduce must be one of {sorted(_REDUCERS)} or a callable, got {reduce!r}.")
    n_steps = arr.shape[0]
    if n_steps < input_length + horizon:
        raise ValueError(
            f"The series has {n_steps} steps, fewer than input_length + horizon = "
            f"{input_length + horizon}."
        )
    if not include_target and arr.shape[1] == 1:
        raise ValueError(
            "include_target=False leaves no input channel: the series has only the target "
            "column. Use include_target=True or pass more columns."
        )
    starts = np.arange(0, n_steps - input_length - horizon + 1, stride)
    inputs = arr if include_target else np.delete(arr, col, axis=1)
    X = sliding_windows(inputs[: n_steps - horizon], input_length, 1)[starts]
    future = np.lib.stride_tricks.sliding_window_view(arr[input_length:, col], horizon)[starts]
    y = np.asarray(reducer(future, axis=1), dtype=arr.dtype)
    return X, y
