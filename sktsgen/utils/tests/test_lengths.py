import numpy as np
import pytest
from sklearn.base import BaseEstimator

from sktsgen.utils import pad_windows, unpad_windows, validate_windows, window_lengths
from sktsgen.utils._lengths import check_lengths, fill_padding, padding_mask


class _Est(BaseEstimator):
    """Stand-in estimator for validate_windows."""

    def __init__(self, allow_nan=False):
        self.allow_nan = allow_nan


def _ragged(rng=0):
    rng = np.random.default_rng(rng)
    return [rng.normal(size=(n, 3)) for n in (5, 2, 7, 1)]


def test_pad_unpad_round_trip():
    windows = _ragged()
    X = pad_windows(windows)
    assert X.shape == (4, 7, 3) and X.dtype == np.float64
    np.testing.assert_array_equal(window_lengths(X), [5, 2, 7, 1])
    for w, back in zip(windows, unpad_windows(X), strict=True):
        np.testing.assert_array_equal(w, back)
    assert np.isnan(X[1, 2:]).all()


def test_pad_windows_dtype_and_length():
    X = pad_windows([np.ones((2, 1), np.float32), np.ones((3, 1), np.float32)], length=5)
    assert X.dtype == np.float32 and X.shape == (2, 5, 1)
    with pytest.raises(ValueError, match="length=2 is shorter"):
        pad_windows([np.ones((3, 1))], length=2)
    with pytest.raises(ValueError, match="same number of channels"):
        pad_windows([np.ones((3, 1)), np.ones((3, 2))])
    with pytest.raises(ValueError, match=r"windows\[1\] has 1 dimension"):
        pad_windows([np.ones((3, 1)), np.ones(3)])
    with pytest.raises(TypeError, match="non-empty list"):
        pad_windows(np.ones((2, 3, 1)))


def test_window_lengths_reads_only_trailing_all_nan_steps():
    X = np.zeros((3, 5, 2))
    X[0, 1, 0] = np.nan  # a missing value, not padding
    X[1, 3:, :] = np.nan
    X[1, 1, 1] = np.nan
    X[2, 4, 0] = np.nan  # one channel missing at the end: not padding
    np.testing.assert_array_equal(window_lengths(X), [5, 3, 5])
    X[2] = np.nan
    assert window_lengths(X)[2] == 0


def test_window_lengths_many_windows_matches_loop():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 9, size=9000)
    X = pad_windows([rng.normal(size=(n, 2)) for n in lengths], length=8)
    np.testing.assert_array_equal(window_lengths(X), lengths)
    np.testing.assert_array_equal(padding_mask(lengths, 8).sum(axis=1), lengths)


def test_validate_windows_pads_a_ragged_list_only_when_allowed():
    windows = _ragged()
    X = validate_windows(_Est(), windows, reset=True, allow_padding=True)
    np.testing.assert_array_equal(window_lengths(X), [5, 2, 7, 1])
    with pytest.raises(ValueError, match="unequal lengths.*pad_windows"):
        validate_windows(_Est(), windows, reset=True)


def test_validate_windows_padding_versus_missing_values():
    X = pad_windows(_ragged())
    before = X.copy()
    validate_windows(_Est(), X, reset=True, allow_padding=True)
    np.testing.assert_array_equal(X, before)  # not modified in place
    with pytest.raises(ValueError, match="NaN"):
        validate_windows(_Est(), X, reset=True)
    X[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN inside window 0 \(step 1 of its 5"):
        validate_windows(_Est(), X, reset=True, allow_padding=True)
    validate_windows(_Est(), X, reset=True, allow_padding=True, allow_nan=True)
    X[3] = np.nan
    with pytest.raises(ValueError, match="Window 3 of X is empty"):
        validate_windows(_Est(), X, reset=True, allow_padding=True, allow_nan=True)


def test_check_lengths():
    np.testing.assert_array_equal(check_lengths(3, 2, 5), [3, 3])
    np.testing.assert_array_equal(check_lengths([1.0, 5.0], 2, 5), [1, 5])
    with pytest.raises(ValueError, match="between 1 and seq_len=5"):
        check_lengths([0, 2], 2, 5)
    with pytest.raises(ValueError, match="one entry per window"):
        check_lengths([1, 2, 3], 2, 5)
    with pytest.raises(TypeError, match="int"):
        check_lengths([1.5, 2], 2, 5)
    with pytest.raises(TypeError, match="int"):
        check_lengths(True, 2, 5)


def test_validate_windows_pads_a_list_to_the_fitted_length():
    est = _Est()
    est.fit = None  # check_is_fitted looks for a fit method
    validate_windows(est, pad_windows(_ragged()), reset=True, allow_padding=True)
    X = validate_windows(est, [np.ones((2, 3)), np.ones((4, 3))], reset=False,
                         allow_padding=True)
    assert X.shape == (2, 7, 3)
    np.testing.assert_array_equal(window_lengths(X), [2, 4])
    with pytest.raises(ValueError, match="seq_len=8"):
        validate_windows(est, [np.ones((2, 3)), np.ones((8, 3))], reset=False,
                         allow_padding=True)


def test_fill_padding_repeats_each_windows_last_step():
    X = pad_windows([np.arange(6.0).reshape(3, 2), np.array([[7.0, np.nan]])])
    filled = fill_padding(X, window_lengths(X))
    np.testing.assert_array_equal(filled[0], X[0])
    np.testing.assert_array_equal(filled[1], [[7.0, np.nan]] * 3)  # a missing value repeats
    assert np.isnan(X[1, 1:]).all()  # not modified
    complete = np.zeros((2, 3, 1), dtype=np.float32)
    assert fill_padding(complete, [3, 3]) is complete
    assert fill_padding(X.astype(np.float32), window_lengths(X)).dtype == np.float32
