import io

import numpy as np
import pytest

from sktsgen.datasets import load_ts
from sktsgen.utils._testing import shared_data_dir

SHARED = shared_data_dir()
UCR = None if SHARED is None else SHARED / "ucr"

EQUAL = """\
#A comment before the header
@problemName Equal
@timeStamps false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1,2,3,4:a
# a comment between series
0.5,-1e-3,7,8:b

4,3,2,1:a
"""

UNEQUAL = """\
@problemName Unequal
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2 3
@data
1,2,3:10,20,30:1
4,5:40,50:2
6:60:3
"""


def _write(tmp_path, text, name="data.ts"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_equal_length_univariate(tmp_path):
    X, y = load_ts(_write(tmp_path, EQUAL))
    assert X.shape == (3, 4, 1) and X.dtype == np.float64
    np.testing.assert_array_equal(X[:, :, 0], [[1, 2, 3, 4], [0.5, -1e-3, 7, 8], [4, 3, 2, 1]])
    np.testing.assert_array_equal(y, ["a", "b", "a"])
    assert y.dtype.kind == "U"


def test_str_path_and_file_objects(tmp_path):
    path = _write(tmp_path, EQUAL)
    X, y = load_ts(path)
    for source in (str(path), io.StringIO(EQUAL), io.BytesIO(EQUAL.encode())):
        X2, y2 = load_ts(source)
        np.testing.assert_array_equal(X2, X)
        np.testing.assert_array_equal(y2, y)
    with open(path) as f:
        np.testing.assert_array_equal(load_ts(f)[0], X)


def test_unequal_multichannel_pad_last(tmp_path):
    X, y, lengths = load_ts(_write(tmp_path, UNEQUAL), return_lengths=True)
    assert X.shape == (3, 3, 2)
    np.testing.assert_array_equal(lengths, [3, 2, 1])
    np.testing.assert_array_equal(X[0], [[1, 10], [2, 20], [3, 30]])
    np.testing.assert_array_equal(X[1], [[4, 40], [5, 50], [5, 50]])
    np.testing.assert_array_equal(X[2], [[6, 60]] * 3)
    np.testing.assert_array_equal(y, ["1", "2", "3"])  # labels stay strings


def test_pad_nan_and_none(tmp_path):
    path = _write(tmp_path, UNEQUAL)
    X, _ = load_ts(path, pad="nan")
    np.testing.assert_array_equal(X[1], [[4, 40], [5, 50], [np.nan, np.nan]])
    assert np.isnan(X[2, 1:]).all()
    series, y, lengths = load_ts(path, pad=None, return_lengths=True)
    assert isinstance(series, list)
    np.testing.assert_array_equal(y, ["1", "2", "3"])
    assert [s.shape for s in series] == [(3, 2), (2, 2), (1, 2)]
    assert all(s.dtype == np.float64 for s in series)
    np.testing.assert_array_equal(series[1], [[4, 40], [5, 50]])
    np.testing.assert_array_equal(lengths, [3, 2, 1])


def test_pad_to(tmp_path):
    path = _write(tmp_path, UNEQUAL)
    X, _ = load_ts(path, pad_to=5)
    assert X.shape == (3, 5, 2)
    np.testing.assert_array_equal(X[0, 3:], [[3, 30], [3, 30]])
    with pytest.raises(ValueError, match="pad_to=2 is shorter than series 0"):
        load_ts(path, pad_to=2)
    with pytest.raises(ValueError, match="pad_to needs"):
        load_ts(path, pad=None, pad_to=5)


def test_missing_values_and_comments():
    text = "@classLabel true x\n@data\n# comment\n1,?,3:?,5,6:x\n\n  \n?,?,?:1,2,3:x\n"
    X, y = load_ts(io.StringIO(text))
    assert X.shape == (2, 3, 2)
    assert np.isnan(X[0, 1, 0]) and np.isnan(X[0, 0, 1])
    assert np.isnan(X[1, :, 0]).all()
    assert np.isnan(X).sum() == 5
    np.testing.assert_array_equal(y, ["x", "x"])


def test_header_case_insensitive_and_crlf():
    text = "@PROBLEMNAME t\r\n@CLASSLABEL TRUE 1 2\r\n@DATA\r\n1,2:1\r\n3,4:2\r\n"
    X, y = load_ts(io.StringIO(text, newline=""))
    np.testing.assert_array_equal(X[:, :, 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, ["1", "2"])


def test_regression_targets():
    text = "@targetlabel true\n@data\n1,2:3,4:0.5\n5,6:7,8:-2\n"
    X, y = load_ts(io.StringIO(text))
    assert X.shape == (2, 2, 2)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [0.5, -2.0])


def test_unlabelled():
    X, y = load_ts(io.StringIO("@classLabel false\n@data\n1,2:3,4\n5,6:7,8\n"))
    assert X.shape == (2, 2, 2) and y is None


def test_lengths_before_padding_equal(tmp_path):
    _, _, lengths = load_ts(_write(tmp_path, EQUAL), return_lengths=True)
    assert lengths.dtype == np.intp
    np.testing.assert_array_equal(lengths, [4, 4, 4])


@pytest.mark.parametrize("text, match", [
    # no @data
    ("@problemName x\n@classLabel true a\n", r"no '@data' line"),
    ("", r"no '@data' line"),
    # data before @data
    ("@classLabel true a\n1,2:a\n", r"line 2: expected a header line starting with '@'"),
    # nothing after @data
    ("@classLabel true a\n@data\n# only a comment\n", r"no series after '@data'"),
    # channel count differs from the first series
    ("@classLabel true a\n@data\n1,2:3,4:a\n1,2:3,4:a\n5,6:7,8:9,9:a\n",
     r"line 5: expected 2 channels separated by ':' \(as on line 3, the first series\), got 3"),
    ("@classLabel true a\n@data\n1,2:3,4:a\n1,2:a\n", r"line 4: expected 2 channels .*got 1"),
    # channel count differs from @dimensions
    ("@dimensions 3\n@classLabel true a\n@data\n1,2:3,4:a\n",
     r"line 4: expected 3 channels .*declared by @dimensions on line 1.*got 2"),
    # missing label: no ':' at all
    ("@classLabel true a\n@data\n1,2,3:a\n1,2,3\n", r"line 4: missing class label.*no ':'"),
    # missing label in a multichannel file: the last field is a channel
    ("@classLabel true a\n@data\n1,2:3,4:a\n1,2:3,4\n", r"line 4: missing class label.*'3,4'"),
    ("@classLabel true a\n@data\n1,2:\n", r"line 3: missing class label"),
    # undeclared label
    ("@classLabel true a b\n@data\n1,2:c\n", r"line 3: class label 'c' is not among .*\(a b\)"),
    # bad values
    ("@classLabel true a\n@data\n1,x,3:a\n", r"line 3, channel 1, value 2: expected a number"),
    ("@classLabel true a\n@data\n1,,3:a\n", r"value 2: expected a number .*an empty value"),
    ("@classLabel true a\n@data\n1,2:3:a\n", r"line 3: the channels of one series must have"),
    # equal length declared but violated
    ("@equalLength true\n@classLabel true a\n@data\n1,2:a\n1,2,3:a\n",
     r"line 5: '@equalLength true' but this series has 3 steps, expected 2"),
    ("@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n",
     r"line 5: .*expected 3 \(declared by @seriesLength\)"),
    # header problems
    ("@timeStamps true\n@data\n(0,1),(1,2):a\n", r"line 1: files with time stamps"),
    ("@classLabel maybe\n@data\n", r"line 1: expected '@classLabel true' or"),
    ("@dimensions two\n@data\n", r"line 1: expected '@dimensions' followed by a positive"),
    ("@classLabel true a\n@targetlabel true\n@data\n1:1\n", r"both '@classLabel true' and"),
    ("@classLabel true a\n@data\n1,2:a\n@problemName x\n", r"line 4: expected a series after"),
    ("@targetlabel true\n@data\n1,2:high\n", r"line 3: expected a numeric target value"),
])
def test_malformed_files(tmp_path, text, match):
    path = _write(tmp_path, text, "bad.ts")
    with pytest.raises(ValueError, match=match) as info:
        load_ts(path)
    if "'@data'" not in match:
        assert str(path) in str(info.value)  # the message names the file


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"pad": "zero"}, ValueError, "pad must be"),
    ({"pad_to": 0}, ValueError, "pad_to"),
    ({"pad_to": 2.5}, TypeError, "pad_to"),
    ({"pad_to": True}, TypeError, "pad_to"),
    ({"return_lengths": 1}, TypeError, "return_lengths"),
])
def test_bad_arguments(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_ts(_write(tmp_path, EQUAL), **kwargs)


def test_bad_path_type():
    with pytest.raises(TypeError, match="path must be"):
        load_ts(3)


def test_input_file_object_not_closed():
    f = io.StringIO(EQUAL)
    load_ts(f)
    assert not f.closed


@pytest.mark.skipif(UCR is None or not (UCR / "GunPoint_TRAIN.ts").exists(),
                    reason="../shared/data/ucr/GunPoint_TRAIN.ts is absent")
def test_gunpoint_train():
    X, y, lengths = load_ts(UCR / "GunPoint_TRAIN.ts", return_lengths=True)
    assert X.shape == (50, 150, 1) and X.dtype == np.float64
    assert not np.isnan(X).any()
    assert (lengths == 150).all()
    labels, counts = np.unique(y, return_counts=True)
    assert labels.tolist() == ["1", "2"] and counts.sum() == 50


@pytest.mark.skipif(UCR is None or not (UCR / "JapaneseVowels_TRAIN.ts").exists(),
                    reason="../shared/data/ucr/JapaneseVowels_TRAIN.ts is absent")
def test_japanese_vowels_train():
    path = UCR / "JapaneseVowels_TRAIN.ts"
    X, y, lengths = load_ts(path, return_lengths=True)
    # The data set's series have 7 to 29 steps; those of the training file 7 to 26.
    assert X.shape == (270, 26, 12)
    assert lengths.min() == 7 and lengths.max() == 26
    assert np.unique(y).tolist() == [str(c) for c in range(1, 10)]
    assert not np.isnan(X).any()
    series, _ = load_ts(path, pad=None)
    assert len(series) == 270 and {s.shape[1] for s in series} == {12}
    for i in range(len(series)):  # padding repeats each series' last step
        np.testing.assert_array_equal(X[i, :lengths[i]], series[i])
        np.testing.assert_array_equal(X[i, lengths[i]:], np.broadcast_to(
            series[i][-1], (X.shape[1] - lengths[i], 12)))
    X_nan, _ = load_ts(path, pad="nan")
    assert np.isnan(X_nan).any(axis=2).sum() == (X.shape[1] - lengths).sum()
    assert load_ts(path, pad_to=29)[0].shape == (270, 29, 12)
