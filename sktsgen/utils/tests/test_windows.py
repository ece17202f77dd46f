import numpy as np
import pandas as pd
import pytest

from sktsgen.utils import make_windowed_target, sliding_windows, sliding_windows_frame


def _loop_windows(arr, length, stride):
    return np.stack([arr[s:s + length] for s in range(0, len(arr) - length + 1, stride)])


# --- sliding_windows ----------------------------------------------------------------------

@pytest.mark.parametrize("n_steps, length, stride", [(10, 4, 1), (10, 4, 3), (10, 10, 1),
                                                     (10, 3, 4), (10, 3, 100), (7, 1, 2)])
def test_matches_loop(n_steps, length, stride):
    arr = np.random.default_rng(n_steps).normal(size=(n_steps, 3))
    out = sliding_windows(arr, length, stride=stride)
    assert out.shape == ((n_steps - length) // stride + 1, length, 3)
    np.testing.assert_array_equal(out, _loop_windows(arr, length, stride))


def test_1d_series_gets_one_channel():
    out = sliding_windows(np.arange(6.0), 2)
    assert out.shape == (5, 2, 1)
    np.testing.assert_array_equal(out[:, :, 0], _loop_windows(np.arange(6.0), 2, 1))


def test_dtypes():
    assert sliding_windows(np.arange(10), 3).dtype == np.float64
    assert sliding_windows(np.arange(10, dtype=np.float32), 3).dtype == np.float32


def test_dataframe_and_series():
    df = pd.DataFrame({"a": np.arange(5.0), "b": np.arange(5.0) * 10})
    np.testing.assert_array_equal(sliding_windows(df, 2), sliding_windows(df.to_numpy(), 2))
    assert sliding_windows(pd.Series(np.arange(5.0)), 2).shape == (4, 2, 1)


def test_result_is_a_copy():
    data = np.arange(10.0)
    out = sliding_windows(data, 3)
    out[0, 0, 0] = 99.0
    assert data[0] == 0.0 and out.flags.c_contiguous


@pytest.mark.parametrize("length, pattern", [(11, "longer than the series"),
                                             (0, "window_length")])
def test_too_short_or_bad_length(length, pattern):
    with pytest.raises(ValueError, match=pattern):
        sliding_windows(np.arange(10.0), length)


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"window_length": 2.0}, TypeError, "window_length"),
    ({"window_length": True}, TypeError, "window_length"),
    ({"window_length": 2, "stride": 0}, ValueError, "stride"),
    ({"window_length": 2, "stride": 1.5}, TypeError, "stride"),
])
def test_bad_args(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        sliding_windows(np.arange(10.0), **kwargs)


@pytest.mark.parametrize("data, pattern", [
    (np.ones((3, 2, 2)), "3 dimensions"),
    (np.array([1.0, np.nan, 2.0]), "NaN"),
    (np.array([]), "0 sample"),
    (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), "convert"),
])
def test_bad_data(data, pattern):
    with pytest.raises(ValueError, match=pattern):
        sliding_windows(data, 1)


# --- sliding_windows_frame ----------------------------------------------------------------

def test_frame_columns():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    W, cols = sliding_windows_frame(df, 2)
    assert cols == ["a", "b"] and W.shape == (2, 2, 2)
    np.testing.assert_array_equal(W[1], df.to_numpy()[1:])
    assert sliding_windows_frame(pd.DataFrame(np.ones((3, 2))), 2)[1] == ["0", "1"]
    assert sliding_windows_frame(pd.Series(np.arange(4.0), name="s"), 2)[1] == ["s"]
    assert sliding_windows_frame(np.ones((3, 2)), 2)[1] is None


# --- make_windowed_target -----------------------------------------------------------------

def _loop_target(arr, length, horizon, col, reduce, stride):
    starts = range(0, len(arr) - length - horizon + 1, stride)
    X = np.stack([arr[s:s + length] for s in starts])
    y = np.array([reduce(arr[s + length:s + length + horizon, col]) for s in starts])
    return X, y


SERIES = np.random.default_rng(1).normal(size=(30, 3))


@pytest.mark.parametrize("stride", [1, 4])
@pytest.mark.parametrize("reduce, func", [
    ("mean", np.mean), ("max", np.max), ("min", np.min), ("median", np.median),
    ("sum", np.sum), ("last", lambda a: a[-1]),
])
def test_target_matches_loop(reduce, func, stride):
    X, y = make_windowed_target(SERIES, input_length=5, horizon=3, target=2, reduce=reduce,
                                stride=stride)
    X_ref, y_ref = _loop_target(SERIES, 5, 3, 2, func, stride)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_allclose(y, y_ref, rtol=1e-15)


def test_target_by_name_negative_index_and_callable():
    df = pd.DataFrame(SERIES, columns=["a", "b", "PM2.5"])
    X_name, y_name = make_windowed_target(df, input_length=4, horizon=2, target="PM2.5")
    X_idx, y_idx = make_windowed_target(SERIES, input_length=4, horizon=2, target=-1)
    np.testing.assert_array_equal(X_name, X_idx)
    np.testing.assert_array_equal(y_name, y_idx)
    _, y_std = make_windowed_target(SERIES, input_length=4, horizon=2, target=0,
                                    reduce=lambda a, axis: a.std(axis=axis))
    np.testing.assert_allclose(y_std, _loop_target(SERIES, 4, 2, 0, np.std, 1)[1])


def test_include_target_false_drops_column():
    X, y = make_windowed_target(SERIES, input_length=4, horizon=2, target=1,
                                include_target=False)
    X_all, y_all = make_windowed_target(SERIES, input_length=4, horizon=2, target=1)
    assert X.shape == (25, 4, 2)
    np.testing.assert_array_equal(X, X_all[:, :, [0, 2]])
    np.testing.assert_array_equal(y, y_all)


def test_target_window_is_strictly_after_input():
    # The target of a window uses only steps after it: one exact count check.
    ramp = np.arange(10.0)[:, None]
    X, y = make_windowed_target(ramp, input_length=3, horizon=2, target=0, reduce="min")
    np.testing.assert_array_equal(X[:, -1, 0] + 1, y)
    assert len(y) == 10 - 3 - 2 + 1


def test_target_float32_kept():
    X, y = make_windowed_target(SERIES.astype(np.float32), input_length=3, horizon=2, target=0)
    assert X.dtype == np.float32 and y.dtype == np.float32


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"target": 3}, ValueError, "out of range"),
    ({"target": -4}, ValueError, "out of range"),
    ({"target": "PM"}, ValueError, "not a column"),
    ({"target": 1.0}, TypeError, "target"),
    ({"target": True}, TypeError, "target"),
    ({"target": 0, "reduce": "avg"}, ValueError, "reduce"),
    ({"target": 0, "input_length": 0}, ValueError, "input_length"),
    ({"target": 0, "horizon": 2.5}, TypeError, "horizon"),
    ({"target": 0, "stride": -1}, ValueError, "stride"),
    ({"target": 0, "input_length": 28}, ValueError, "fewer than input_length"),
])
def test_target_errors(kwargs, exc, pattern):
    kwargs = {"input_length": 4, "horizon": 3, **kwargs}
    with pytest.raises(exc, match=pattern):
        make_windowed_target(SERIES, **kwargs)


def test_target_name_on_unnamed_array():
    with pytest.raises(ValueError, match="pass an int"):
        make_windowed_target(SERIES, input_length=4, horizon=2, target="a")


def test_include_target_false_single_column_message():
    with pytest.raises(ValueError, match="include_target"):
        make_windowed_target(np.arange(10.0), input_length=3, horizon=2, target=0,
                             include_target=False)
