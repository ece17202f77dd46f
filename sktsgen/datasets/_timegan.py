"""The Stocks and Energy benchmarks of TimeGAN, cut into windows the way the papers do."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..utils._windows import sliding_windows
from ._base import RemoteFile, fetch_file

_BASE_URL = "https://raw.githubusercontent.com/jsyoon0823/TimeGAN/master/data/"

# Module-level so that tests (and mirrors) can point a data set at another URL.
DATASETS = {
    "stocks": RemoteFile(
        "stock_data.csv", _BASE_URL + "stock_data.csv",
        "134b8a00eb4eefa3242dd7ae85144082da80dedf75a1a656d5d08f97cd95277a",
    ),
    "energy": RemoteFile(
        "energy_data.csv", _BASE_URL + "energy_data.csv",
        "0869e426fd33995b4028e092e90ae75c38756172c652b287639d4415985901f2",
    ),
}


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def _protocol_windows(data, seq_len, *, shuffle, random_state):
    """TimeGAN's preprocessing of a long series ``(T, d)``, oldest row first.

    Reverse the rows, min-max scale each column with ``(x - min) / (max - min + 1e-7)``,
    take the windows starting at ``0, ..., T - seq_len - 1`` (the reference stops one
    window short of the last possible one), then permute them.
    """
    data = np.asarray(data, dtype=np.float64)[::-1]
    lo = data.min(axis=0)
    data = (data - lo) / (data.max(axis=0) - lo + 1e-7)
    windows = sliding_windows(data, seq_len)[:-1]
    if shuffle:
        windows = windows[check_random_state(random_state).permutation(len(windows))]
    return windows


def _fetch_timegan(name, *, data_home, download_if_missing, as_frame, seq_len, shuffle,
                   random_state):
    """Shared body of :func:`fetch_stocks` and :func:`fetch_energy`."""
    download_if_missing = _check_bool(download_if_missing, "download_if_missing")
    as_frame = _check_bool(as_frame, "as_frame")
    shuffle = _check_bool(shuffle, "shuffle")
    if isinstance(seq_len, (bool, np.bool_)) or not isinstance(seq_len, numbers.Integral):
        raise TypeError(f"seq_len must be a positive int, got {seq_len!r}.")
    if seq_len < 1:
        raise ValueError(f"seq_len must be a positive int, got {seq_len}.")
    path = fetch_file(DATASETS[name], data_home=data_home,
                      download_if_missing=download_if_missing)
    frame = pd.read_csv(path)
    if as_frame:
        return frame
    if seq_len >= len(frame):
        raise ValueError(
            f"seq_len={seq_len} leaves no window: the {name} series has {len(frame)} rows."
        )
    return _protocol_windows(frame.to_numpy(dtype=np.float64), int(seq_len), shuffle=shuffle,
                           random_state=random_state)


_PARAMS_DOC = """
    Parameters
    ----------
    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home` (``SKTSGEN_DATA``, else ``~/sktsgen_data``).
    download_if_missing : bool, default=True
        Download the CSV from the TimeGAN GitHub repository when it is not cached.
    as_frame : bool, default=False
        Return the raw CSV as a DataFrame (file order, oldest first, header names) instead
        of the windows. ``seq_len``, ``shuffle`` and ``random_state`` are then unused.
    seq_len : int, default=24
        Steps per window.
    shuffle : bool, default=True
        Permute the windows, as the protocol does (splits of unshuffled windows are a
        season apart).
    random_state : int, RandomState instance or None, default=0
        Seed of the permutation.

    Returns
    -------
    windows : ndarray of shape (n_rows - seq_len, seq_len, n_features), dtype float64
        Rows reversed (newest first), each column min-max scaled to ``[0, 1)`` with
        ``(x - min) / (max - min + 1e-7)``, every stride-1 window (the reference drops the
        last possible one), permuted when ``shuffle``.
    frame : DataFrame
        Only when ``as_frame=True``.

    Raises
    ------
    OSError
        The file is not cached and cannot be downloaded (offline) or
        ``download_if_missing=False``, or its SHA-256 checksum is wrong. The message gives
        the exact path where the file is expected and the URL to get it from.
"""


def fetch_stocks(*, data_home=None, download_if_missing=True, as_frame=False, seq_len=24,
                 shuffle=True, random_state=0):
    """Load the "Stocks" benchmark of TimeGAN: daily Google prices, 2004 to 2019.

    Six columns (``Open, High, Low, Close, Adj_Close, Volume``), 3,685 rows from Yahoo
    Finance, as redistributed by the TimeGAN repository (``data/stock_data.csv``). The
    default returns the 3,661 windows of 24 steps used in the TimeGAN and AVATAR papers.
    {params}
    Examples
    --------
    >>> from sktsgen.datasets import fetch_stocks
    >>> X = fetch_stocks()  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (3661, 24, 6)

    Offline, point ``data_home`` at a folder holding the CSV; a missing file is reported
    with the path to put it at:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:  # doctest: +ELLIPSIS
    ...     fetch_stocks(data_home=empty, download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: stock_data.csv is not in the data folder (.../stock_data.csv does not exist) ...
    """
    return _fetch_timegan(
        "stocks", data_home=data_home, download_if_missing=download_if_missing,
        as_frame=as_frame, seq_len=seq_len, shuffle=shuffle, random_state=random_state,
    )


def fetch_energy(*, data_home=None, download_if_missing=True, as_frame=False, seq_len=24,
                 shuffle=True, random_state=0):
    """Load the "Energy" benchmark of TimeGAN: UCI Appliances Energy Prediction.

    28 columns of 10-minute readings over about 4.5 months (Candanedo et al., 2017,
    CC BY 4.0), 19,735 rows, as redistributed by the TimeGAN repository
    (``data/energy_data.csv``). The last two columns, ``rv1`` and ``rv2``, are identical
    random noise. The default returns the 19,711 windows of 24 steps used in the papers.
    {params}
    Examples
    --------
    >>> from sktsgen.datasets import fetch_energy
    >>> X = fetch_energy()  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (19711, 24, 28)

    Offline, point ``data_home`` at a folder holding the CSV; a missing file is reported
    with the path to put it at:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:  # doctest: +ELLIPSIS
    ...     fetch_energy(data_home=empty, download_if_missing=False)
    Traceback (most recent call last):
    ...
    OSError: energy_data.csv is not in the data folder (.../energy_data.csv does not exist) ...
    """
    return _fetch_timegan(
        "energy", data_home=data_home, download_if_missing=download_if_missing,
        as_frame=as_frame, seq_len=seq_len, shuffle=shuffle, random_state=random_state,
    )


fetch_stocks.__doc__ = fetch_stocks.__doc__.format(params=_PARAMS_DOC)
fetch_energy.__doc__ = fetch_energy.__doc__.format(params=_PARAMS_DOC)
