import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.preprocessing import WindowMinMaxScaler

RNG = np.random.default_rng(0)
# Channels with very different scales and offsets.
X_WIDE = RNG.normal(size=(40, 7, 4)) * [1e-3, 1.0, 1e3, 1e6] + [0.0, 5.0, -100.0, 1e6]


@parametrize_with_checks([WindowMinMaxScaler(), WindowMinMaxScaler(feature_range=(-2, 3),
                                                                  clip=True)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("feature_range", [(0, 1), (-1, 1), (0.25, 0.5)])
def test_round_trip(dtype, feature_range):
    X = X_WIDE.astype(dtype)
    scaler = WindowMinMaxScaler(feature_range=feature_range).fit(X)
    Xt = scaler.transform(X)
    back = scaler.inverse_transform(Xt)
    assert Xt.dtype == dtype and back.dtype == dtype and back.shape == X.shape
    lo, hi = feature_range
    assert Xt.min() == pytest.approx(lo, abs=4 * float(np.finfo(dtype).eps))
    assert Xt.max() == pytest.approx(hi, abs=4 * float(np.finfo(dtype).eps))
    # Exact up to the rounding of one step in the input dtype, per channel's range.
    tol = 2 * np.finfo(dtype).eps * scaler.data_range_
    assert np.all(np.abs(back.astype(np.float64) - X) <= tol)


def test_statistics_over_windows_and_steps():
    scaler = WindowMinMaxScaler().fit(X_WIDE)
    np.testing.assert_array_equal(scaler.data_min_, X_WIDE.reshape(-1, 4).min(axis=0))
    np.testing.assert_array_equal(scaler.data_max_, X_WIDE.reshape(-1, 4).max(axis=0))
    np.testing.assert_array_equal(scaler.data_range_, scaler.data_max_ - scaler.data_min_)
    assert scaler.n_features_in_ == 4 and scaler.seq_len_ == 7


def test_constant_channel_maps_to_low_end_and_back():
    X = RNG.normal(size=(5, 6, 2))
    X[..., 0] = 7.3
    scaler = WindowMinMaxScaler(feature_range=(-1, 1)).fit(X)
    Xt = scaler.transform(X)
    assert np.isfinite(Xt).all()
    np.testing.assert_array_equal(Xt[..., 0], -1.0)
    np.testing.assert_array_equal(scaler.inverse_transform(Xt)[..., 0], 7.3)


def test_clip():
    X = RNG.normal(size=(10, 4, 3))
    scaled = WindowMinMaxScaler(feature_range=(-2, 3)).fit(X).transform(5 * X)
    assert scaled.min() < -2 and scaled.max() > 3
    clipped = WindowMinMaxScaler(feature_range=(-2, 3), clip=True).fit(X).transform(5 * X)
    assert clipped.min() == -2 and clipped.max() == 3
    np.testing.assert_array_equal(clipped, np.clip(scaled, -2, 3))


def test_any_seq_len_and_2d():
    scaler = WindowMinMaxScaler().fit(X_WIDE)
    long = RNG.normal(size=(3, 50, 4))
    np.testing.assert_allclose(scaler.transform(long)[:, 10],
                               scaler.transform(long[:, 10]), rtol=0, atol=0)
    assert scaler.transform(long).shape == (3, 50, 4)
    flat = WindowMinMaxScaler().fit(X_WIDE[:, 0, :])
    assert flat.seq_len_ == 1 and flat.transform(X_WIDE[:, 0, :]).shape == (40, 4)
    # Fitted on 2-D, 3-D input of any length is scaled channel-wise the same way.
    np.testing.assert_array_equal(flat.transform(X_WIDE)[:, 0], flat.transform(X_WIDE[:, 0]))


def test_dtype_follows_input_not_fit():
    scaler = WindowMinMaxScaler().fit(X_WIDE)
    assert scaler.transform(X_WIDE.astype(np.float32)).dtype == np.float32
    assert scaler.transform(np.ones((2, 3, 4), dtype=int)).dtype == np.float64


def test_inputs_not_modified():
    X = X_WIDE.copy()
    scaler = WindowMinMaxScaler(clip=True).fit(X)
    scaler.transform(X)
    scaler.inverse_transform(X)
    np.testing.assert_array_equal(X, X_WIDE)


def test_feature_names_from_dataframe():
    df = pd.DataFrame(X_WIDE[:, 0, :], columns=["a", "b", "c", "d"])
    scaler = WindowMinMaxScaler().fit(df)
    np.testing.assert_array_equal(scaler.get_feature_names_out(), ["a", "b", "c", "d"])


@pytest.mark.parametrize("X_bad, pattern", [
    (np.ones((2, 3, 5)), "5 features"),
    (np.ones((2, 5)), "5 features"),
    (np.full((2, 3, 4), np.inf), "infinity"),
    (np.ones((2, 3, 4, 1)), "4 dimension"),
])
def test_transform_errors(X_bad, pattern):
    scaler = WindowMinMaxScaler().fit(X_WIDE)
    with pytest.raises(ValueError, match=pattern):
        scaler.transform(X_bad)
    with pytest.raises(ValueError, match=pattern):
        scaler.inverse_transform(X_bad)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        WindowMinMaxScaler().transform(X_WIDE)


@pytest.mark.parametrize("params, pattern", [
    ({"feature_range": (1, 0)}, "feature_range"),
    ({"feature_range": (0, 0)}, "feature_range"),
    ({"feature_range": (0, np.nan)}, "feature_range"),
    ({"feature_range": [0, 1]}, "feature_range"),
    ({"clip": 1}, "clip"),
])
def test_bad_params(params, pattern):
    with pytest.raises(ValueError, match=pattern):
        WindowMinMaxScaler(**params).fit(X_WIDE)


@pytest.mark.parametrize("feature_range", [(0, 1, 2), ("a", "b")])
def test_malformed_feature_range_message(feature_range):
    with pytest.raises(ValueError, match="feature_range"):
        WindowMinMaxScaler(feature_range=feature_range).fit(X_WIDE)


def test_refit_and_clone():
    scaler = WindowMinMaxScaler().fit(X_WIDE)
    other = RNG.normal(size=(5, 2, 4))
    scaler.fit(other)
    np.testing.assert_array_equal(scaler.data_min_, other.reshape(-1, 4).min(axis=0))
    assert scaler.seq_len_ == 2
    assert not hasattr(clone(scaler), "data_min_")


def test_missing_values_ignored_in_fit_and_kept_in_transform():
    X = X_WIDE.copy()
    X[0, 0, 1] = X[1, 2, 3] = np.nan
    before = X.copy()
    scaler = WindowMinMaxScaler().fit(X)
    np.testing.assert_array_equal(before, X)  # not modified
    np.testing.assert_array_equal(scaler.data_min_, np.nanmin(X, axis=(0, 1)))
    np.testing.assert_array_equal(scaler.data_max_, np.nanmax(X, axis=(0, 1)))
    for X32 in (X, X.astype(np.float32)):
        Xt = scaler.transform(X32)
        assert Xt.dtype == X32.dtype
        np.testing.assert_array_equal(np.isnan(Xt), np.isnan(X32))
        assert np.nanmin(Xt) >= -1e-6 and np.nanmax(Xt) <= 1 + 1e-6
        back = scaler.inverse_transform(Xt)
        np.testing.assert_array_equal(np.isnan(back), np.isnan(X32))
        err = np.nanmax(np.abs(back - X32), axis=(0, 1)) / scaler.data_range_
        assert (err < 1e-5).all()
    # Complete data: the same range as before missing values were accepted.
    full = WindowMinMaxScaler().fit(X_WIDE)
    np.testing.assert_array_equal(full.data_min_, X_WIDE.min(axis=(0, 1)))


def test_all_missing_channel_is_an_error():
    X = X_WIDE.copy()
    X[..., 2] = np.nan
    with pytest.raises(ValueError, match=r"no observed value .* channel\(s\) \[2\]"):
        WindowMinMaxScaler().fit(X)
    X = X_WIDE.copy()
    X[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        WindowMinMaxScaler().fit(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("clip", [False, True])
def test_transform_in_chunks_is_the_whole_array_arithmetic(monkeypatch, dtype, clip):
    """transform and inverse_transform go a few windows at a time (small float64
    temporaries); every value is still the whole array's arithmetic, bit for bit."""
    from sktsgen.preprocessing import _scaling

    X = X_WIDE.astype(dtype)
    X[3, 2, 1] = np.nan
    scaler = WindowMinMaxScaler(feature_range=(-1, 2), clip=clip).fit(X[:30])
    scale = 3.0 / scaler.data_range_
    whole = (X - scaler.data_min_) * scale - 1.0
    if clip:
        np.clip(whole, -1, 2, out=whole)
    whole = whole.astype(dtype)
    back = ((whole - (-1.0)) / scale + scaler.data_min_).astype(dtype)
    monkeypatch.setattr(_scaling, "_CHUNK_VALUES", 3 * 7 * 4)  # 3 windows per step
    before = X.copy()
    Xt = scaler.transform(X)
    assert Xt.dtype == dtype and Xt.shape == X.shape
    np.testing.assert_array_equal(Xt, whole)
    np.testing.assert_array_equal(scaler.inverse_transform(Xt), back)
    np.testing.assert_array_equal(X, before)  # the input is not modified
    rows = np.array([5, 0, 39, 12])
    out = np.empty((4, 7, 4), dtype=np.float32)
    np.testing.assert_array_equal(scaler._transform_into(X, out, rows),
                                  whole[rows].astype(np.float32))
