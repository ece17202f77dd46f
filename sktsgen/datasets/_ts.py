"""Reader for the ``.ts`` text format of the UCR/UEA time-series classification archive."""

import numbers
import os

import numpy as np

from ._timegan import _check_bool

_PAD_OPTIONS = ("last", "nan", None)
_BOOL_WORDS = {"true": True, "false": False}


class _Header:
    """What the ``@`` lines before ``@data`` declare (keys are case-insensitive)."""

    def __init__(self):
        self.class_labels = None  # tuple of declared labels when @classLabel true
        self.regression = False  # @targetlabel true
        self.dimensions = None
        self.dimensions_line = None
        self.equal_length = None
        self.series_length = None

    @property
    def labelled(self):
        return self.class_labels is not None or self.regression


def _flag(where, key, words):
    if not words or words[0].lower() not in _BOOL_WORDS:
        raise ValueError(f"{where}: expected '@{key} true' or '@{key} false', got "
                         f"{' '.join(['@' + key, *words])!r}.")
    return _BOOL_WORDS[words[0].lower()]


def _positive(where, key, words):
    try:
        value = int(words[0])
    except (IndexError, ValueError):
        value = 0
    if value < 1:
        raise ValueError(f"{where}: expected '@{key}' followed by a positive integer, got "
                         f"{' '.join(['@' + key, *words])!r}.")
    return value


def _read_header_line(header, line, where, lineno):
    key, *words = line[1:].split()
    key_l = key.lower()
    if key_l == "timestamps" and _flag(where, key, words):
        raise ValueError(f"{where}: files with time stamps ('@timeStamps true', values "
                         "written as '(t,v)' pairs) are not supported.")
    if key_l == "classlabel":
        if _flag(where, key, words):
            header.class_labels = tuple(words[1:])
    elif key_l == "targetlabel":
        header.regression = _flag(where, key, words)
    elif key_l == "dimensions":
        header.dimensions, header.dimensions_line = _positive(where, key, words), lineno
    elif key_l == "equallength":
        header.equal_length = _flag(where, key, words)
    elif key_l == "serieslength":
        header.series_length = _positive(where, key, words)
    # @problemName, @univariate, @missing and anything unknown carry nothing the parser needs.


def _parse_channel(text, where, channel):
    values = text.split(",")
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        pass  # "?" (missing) or a bad value: go through one at a time
    out = np.empty(len(values))
    for i, value in enumerate(values):
        value = value.strip()
        if value == "?":
            out[i] = np.nan
            continue
        try:
            out[i] = float(value)
        except ValueError:
            what = "an empty value" if not value else repr(value)
            raise ValueError(f"{where}, channel {channel}, value {i + 1}: expected a number "
                             f"or '?' for a missing value, got {what}.") from None
    return out


def _parse_series(line, header, n_channels, where):
    """``(values (length, n_channels), label or None)`` of one data line."""
    fields = line.split(":")
    label = None
    if header.labelled:
        label = fields[-1].strip()
        if len(fields) < 2 or not label or "," in label:
            kind = "class label" if header.class_labels is not None else "target value"
            found = "no ':'" if len(fields) < 2 else f"{fields[-1].strip()[:40]!r}"
            raise ValueError(f"{where}: missing {kind}; expected the channels, then ':' and "
                             f"the {kind} last, found {found} after the last channel.")
        fields = fields[:-1]
    if n_channels is not None and len(fields) != n_channels[0]:
        raise ValueError(f"{where}: expected {n_channels[0]} channels separated by ':' "
                         f"({n_channels[1]}), got {len(fields)}.")
    channels = [_parse_channel(text, where, j + 1) for j, text in enumerate(fields)]
    lengths = {len(c) for c in channels}
    if len(lengths) > 1:
        raise ValueError(f"{where}: the channels of one series must have the same length, got "
                         f"lengths {[len(c) for c in channels]}.")
    if header.class_labels is not None and header.class_labels and \
            label not in header.class_labels:
        raise ValueError(f"{where}: class label {label!r} is not among those declared by "
                         f"@classLabel ({' '.join(header.class_labels)}).")
    if header.regression:
        try:
            label = float(label)
        except ValueError:
            raise ValueError(f"{where}: expected a numeric target value after the last ':' "
                             f"(@targetlabel true), got {label!r}.") from None
    return np.stack(channels, axis=1), label


def _read(lines, source):
    header = _Header()
    in_data = False
    series, labels, n_channels, first_len = [], [], None, None
    for lineno, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}, line {lineno}"
        if not in_data:
            if not line.startswith("@"):
                raise ValueError(f"{where}: expected a header line starting with '@' (the "
                                 f"header ends with '@data'), got {line[:40]!r}.")
            if line.split()[0].lower() == "@data":
                in_data = True
                if header.class_labels is not None and header.regression:
                    raise ValueError(f"{source}: the header declares both '@classLabel true' "
                                     "and '@targetlabel true'; expected at most one.")
                if header.dimensions is not None:
                    n_channels = (header.dimensions,
                                  f"declared by @dimensions on line {header.dimensions_line}")
            else:
                _read_header_line(header, line, where, lineno)
            continue
        if line.startswith("@"):
            raise ValueError(f"{where}: expected a series after '@data', got the header line "
                             f"{line[:40]!r}.")
        values, label = _parse_series(line, header, n_channels, where)
        if n_channels is None:
            n_channels = (values.shape[1], f"as on line {lineno}, the first series")
        if header.equal_length:
            expected = header.series_length or first_len
            if expected is not None and len(values) != expected:
                origin = ("declared by @seriesLength" if header.series_length
                          else "as the first series")
                raise ValueError(f"{where}: '@equalLength true' but this series has "
                                 f"{len(values)} steps, expected {expected} ({origin}).")
            first_len = len(values)
        series.append(values)
        labels.append(label)
    if not in_data:
        raise ValueError(f"{source}: no '@data' line; a .ts file is a header of '@' lines "
                         "ended by '@data', then one series per line.")
    if not series:
        raise ValueError(f"{source}: no series after '@data'.")
    if header.regression:
        y = np.asarray(labels, dtype=np.float64)
    elif header.class_labels is not None:
        y = np.asarray(labels)
    else:
        y = None
    return series, y


def _pad(series, pad, pad_to):
    lengths = np.array([len(s) for s in series], dtype=np.intp)
    longest = int(lengths.max())
    if pad_to is not None and pad_to < longest:
        i = int(np.argmax(lengths))
        raise ValueError(f"pad_to={pad_to} is shorter than series {i} ({longest} steps); "
                         "expected pad_to >= the longest series.")
    length = longest if pad_to is None else int(pad_to)
    X = np.empty((len(series), length, series[0].shape[1]), dtype=np.float64)
    for i, s in enumerate(series):
        X[i, :len(s)] = s
        X[i, len(s):] = s[-1] if pad == "last" else np.nan
    return X, lengths


def load_ts(path, *, pad="last", pad_to=None, return_lengths=False):
    """Load a data set in the ``.ts`` text format of the UCR/UEA time-series archive.

    The format (timeseriesclassification.com): header lines start with ``@`` and end with
    ``@data``; then one series per line, its channels separated by ``:``, the values of a
    channel by ``,``, and the class label (or regression target) last. Lines starting with
    ``#`` are comments. ``?`` marks a missing value. Header keys are read case-insensitively;
    ``@classLabel true <labels>`` (classification), ``@targetlabel true`` (regression),
    ``@dimensions``, ``@equalLength`` and ``@seriesLength`` are checked against the data.

    Parameters
    ----------
    path : str, path-like or file-like
        The file, or an open file object (text or binary, UTF-8) whose lines are read.
    pad : {"last", "nan"} or None, default="last"
        How series shorter than the longest are extended at their end: ``"last"`` repeats
        each series' last step, ``"nan"`` fills NaN. ``None`` returns the series unpadded, as
        a list.
    pad_to : int, default=None
        Pad to this many steps instead of the longest series of the file, e.g. to give a
        training and a test file the same length. A series longer than ``pad_to`` raises a
        ``ValueError``. Only with ``pad`` set.
    return_lengths : bool, default=False
        Also return each series' own number of steps.

    Returns
    -------
    X : ndarray of shape (n_series, max_len, n_channels), dtype float64, or list
        Channel-last windows; ``max_len`` is ``pad_to`` or the longest series. With
        ``pad=None``, a list of ``n_series`` arrays of shape ``(len_i, n_channels)``.
        Missing values (``?``) are NaN.
    y : ndarray of shape (n_series,) or None
        Class labels as strings, exactly as written in the file; float64 targets for a
        regression file (``@targetlabel true``); None when the file declares no label
        (``@classLabel false``).
    lengths : ndarray of shape (n_series,), dtype intp
        Only when ``return_lengths=True``: the steps of each series before padding.

    Raises
    ------
    ValueError
        A malformed file; the message gives the line number and what was expected: no
        ``@data`` line, a series whose channel count differs from ``@dimensions`` or from
        the first series, a missing label, a value that is not a number, channels of one
        series of different lengths, a label not declared by ``@classLabel``, unequal
        lengths in a file declaring ``@equalLength true``, or time stamps (not supported).

    See Also
    --------
    sktsgen.utils.validate_windows : The checks estimators apply; padded NaN
        (``pad="nan"``) or missing values must be filled before fitting.

    Examples
    --------
    Two series of three channels and unequal lengths, with their class labels:

    >>> import io
    >>> from sktsgen.datasets import load_ts
    >>> text = '''# a comment
    ... @problemName Toy
    ... @dimensions 3
    ... @equalLength false
    ... @classLabel true up down
    ... @data
    ... 1,2,3:4,5,6:7,8,9:up
    ... 1,2:3,?:5,6:down
    ... '''
    >>> X, y, lengths = load_ts(io.StringIO(text), return_lengths=True)
    >>> X.shape, y, lengths
    ((2, 3, 3), array(['up', 'down'], dtype='<U4'), array([3, 2]))
    >>> X[1]  # the last step repeated; '?' is NaN
    array([[ 1.,  3.,  5.],
           [ 2., nan,  6.],
           [ 2., nan,  6.]])
    >>> X_list, y = load_ts(io.StringIO(text), pad=None)
    >>> [x.shape for x in X_list]
    [(3, 3), (2, 3)]

    Malformed files are reported with the line and what was expected:

    >>> load_ts(io.StringIO(text.replace("5,6:down", "down")))
    Traceback (most recent call last):
    ...
    ValueError: <file>, line 8: expected 3 channels separated by ':' (declared by ...), got 2.
    """
    if pad not in _PAD_OPTIONS:
        raise ValueError(f"pad must be 'last', 'nan' or None, got {pad!r}.")
    if pad_to is not None:
        if isinstance(pad_to, (bool, np.bool_)) or not isinstance(pad_to, numbers.Integral):
            raise TypeError(f"pad_to must be a positive int or None, got {pad_to!r}.")
        if pad_to < 1:
            raise ValueError(f"pad_to must be a positive int or None, got {pad_to}.")
        if pad is None:
            raise ValueError("pad_to needs pad='last' or pad='nan'; with pad=None the series "
                             "are returned unpadded.")
    return_lengths = _check_bool(return_lengths, "return_lengths")
    if hasattr(path, "read"):
        series, y = _read(path, getattr(path, "name", None) or "<file>")
    elif isinstance(path, (str, os.PathLike)):
        with open(path, encoding="utf-8") as f:
            series, y = _read(f, os.fspath(path))
    else:
        raise TypeError(f"path must be a str, a path-like or a file-like object, got "
                        f"{type(path).__name__}.")
    if pad is None:
        X, lengths = series, np.array([len(s) for s in series], dtype=np.intp)
    else:
        X, lengths = _pad(series, pad, pad_to)
    return (X, y, lengths) if return_lengths else (X, y)
