"""Classic augmenters: estimator checks and what each does to a window."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.over_sampling import (
    JitterOverSampler,
    MagnitudeWarpingOverSampler,
    TimeWarpingOverSampler,
    TranslationOverSampler,
    WindowWarpingOverSampler,
)
from sktsgen.utils._testing import imblearn_parametrize_with_checks

from .test_base import IMBLEARN_XFAIL

AUGMENTERS = [JitterOverSampler, TranslationOverSampler, MagnitudeWarpingOverSampler,
              WindowWarpingOverSampler, TimeWarpingOverSampler]


@parametrize_with_checks([cls(random_state=0) for cls in AUGMENTERS])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks(
    [cls(random_state=0) for cls in AUGMENTERS], expected_failed_checks=lambda e: IMBLEARN_XFAIL
)
def test_imblearn_compatible(estimator, check):
    check(estimator)


def _data(n=40, seq_len=16, d=3, n_rare=8, dtype=np.float64):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(n, seq_len, d)) * [1.0, 5.0, 0.1] + [0.0, 50.0, -3.0]).astype(dtype)
    y = rng.uniform(size=n)
    y[:n_rare] += 10.0
    return X, y


def _new_and_sources(sampler, X, y):
    X_res, y_res = sampler.fit_resample(X, y)
    src = sampler.sample_indices_[X.shape[0]:]
    return X_res[X.shape[0]:], X[src], y_res[X.shape[0]:], y[src]


@pytest.mark.parametrize("cls", AUGMENTERS)
def test_3d_regression_contract(cls):
    X, y = _data(dtype=np.float32)
    X_before = X.copy()
    sampler = cls(minority_threshold=5.0, random_state=0)
    new, src, y_new, y_src = _new_and_sources(sampler, X, y)
    assert new.shape == (24, 16, 3) and new.dtype == np.float32
    np.testing.assert_array_equal(y_new, y_src)
    assert np.all(y_new > 5)
    assert not np.allclose(new, src)  # augmented, not duplicated
    np.testing.assert_array_equal(X, X_before)
    again = cls(minority_threshold=5.0, random_state=0).fit_resample(X, y)[0]
    np.testing.assert_array_equal(again[40:], new)


def test_jitter_noise_is_relative_to_each_channel():
    X, y = _data(n=400, n_rare=200)
    sampler = JitterOverSampler(sigma=0.1, minority_threshold=5.0, random_state=0)
    new, src, _, _ = _new_and_sources(sampler, X, y)  # 0 new: equal counts
    assert new.shape[0] == 0
    sampler.set_params(sampling_strategy={"rare": 1200})
    new, src, _, _ = _new_and_sources(sampler, X, y)
    noise_std = (new - src).std(axis=(0, 1))
    np.testing.assert_allclose(noise_std, 0.1 * X.std(axis=(0, 1)), rtol=0.05)
    np.testing.assert_allclose(sampler.channel_std_, X.std(axis=(0, 1)))


def test_translation_is_a_constant_offset_per_channel():
    X, y = _data(n=400, n_rare=100)
    sampler = TranslationOverSampler(sigma=0.5, minority_threshold=5.0, random_state=0)
    new, src, _, _ = _new_and_sources(sampler, X, y)
    shift = new - src
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1], shift.shape), atol=1e-9)
    np.testing.assert_allclose(shift[:, 0].std(axis=0), 0.5 * X.std(axis=(0, 1)), rtol=0.15)


def test_magnitude_warping_multiplies_by_smooth_curves_around_one():
    X = np.ones((200, 32, 2))
    y = np.r_[np.zeros(150, int), np.ones(50, int)]
    sampler = MagnitudeWarpingOverSampler(sigma=0.2, random_state=0)
    new, _, _, _ = _new_and_sources(sampler, X, y)
    assert abs(new.mean() - 1.0) < 0.02
    assert 0.1 < new.std() < 0.3
    # smooth: step-to-step changes are much smaller than the spread of the curve
    assert np.abs(np.diff(new, axis=1)).mean() < 0.3 * new.std()
    assert not np.allclose(new[:, :, 0], new[:, :, 1])  # one curve per channel


@pytest.mark.parametrize("cls, params", [
    (WindowWarpingOverSampler, {"window_ratio": 0.3}),
    (TimeWarpingOverSampler, {"sigma": 0.3}),
])
def test_time_warps_keep_ends_and_order_of_a_ramp(cls, params):
    ramp = np.linspace(0.0, 1.0, 24)
    X = np.stack([ramp, 2 * ramp], axis=-1)[None].repeat(30, axis=0)
    y = np.r_[np.zeros(20, int), np.ones(10, int)]
    new, _, _, _ = _new_and_sources(cls(random_state=0, **params), X, y)
    np.testing.assert_allclose(new[:, [0, -1]], X[:10, [0, -1]])
    assert np.all(np.diff(new, axis=1) >= -1e-12)
    np.testing.assert_allclose(new[..., 1], 2 * new[..., 0])  # channels warped together
    assert not np.allclose(new, X[:10])


def test_window_warping_slows_down_or_speeds_up_a_slice():
    ramp = np.linspace(0.0, 1.0, 41)
    X = ramp[None, :, None].repeat(30, axis=0)
    y = np.r_[np.zeros(20, int), np.ones(10, int)]
    slow = WindowWarpingOverSampler(window_ratio=0.25, scales=[2.0], random_state=0)
    new, _, _, _ = _new_and_sources(slow, X, y)
    steps = np.diff(new[..., 0], axis=1) * 40  # slope relative to the original ramp
    # The slice (10 steps) now lasts 20: the warped series has 50 steps, read at 41 points,
    # so outside the slice time runs 50/40 = 1.25 times faster and inside 1.25 / 2.
    np.testing.assert_allclose(steps.max(axis=1), 1.25)
    np.testing.assert_allclose(steps.min(axis=1), 0.625)
    same = WindowWarpingOverSampler(scales=(1.0,), random_state=0)
    new, src, _, _ = _new_and_sources(same, X, y)
    np.testing.assert_allclose(new, src)


@pytest.mark.parametrize("cls, params", [
    (JitterOverSampler, {"sigma": 0.0}),
    (TranslationOverSampler, {"sigma": 0.0}),
    (MagnitudeWarpingOverSampler, {"sigma": 0.0}),
    (TimeWarpingOverSampler, {"sigma": 0.0}),
])
def test_zero_strength_gives_copies(cls, params):
    X, y = _data()
    new, src, _, _ = _new_and_sources(cls(minority_threshold=5.0, random_state=0, **params), X, y)
    np.testing.assert_allclose(new, src, atol=1e-12)


@pytest.mark.parametrize("cls", [WindowWarpingOverSampler, TimeWarpingOverSampler])
def test_length_one_windows_are_copied(cls):
    X, y = _data(seq_len=1)
    new, src, _, _ = _new_and_sources(cls(minority_threshold=5.0, random_state=0), X, y)
    np.testing.assert_array_equal(new, src)


@pytest.mark.parametrize("cls, params, match", [
    (JitterOverSampler, {"sigma": -0.1}, "sigma"),
    (MagnitudeWarpingOverSampler, {"n_knots": 0}, "n_knots"),
    (WindowWarpingOverSampler, {"window_ratio": 1.5}, "window_ratio"),
    (WindowWarpingOverSampler, {"scales": [0.5, -2.0]}, "scales"),
    (WindowWarpingOverSampler, {"scales": []}, "scales"),
    (TimeWarpingOverSampler, {"sigma": "big"}, "sigma"),
])
def test_bad_parameters(cls, params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        cls(minority_threshold=5.0, **params).fit_resample(X, y)


@pytest.mark.parametrize("keep", [[1], np.array([False, True, False]), "auto"])
def test_jitter_keep_features_leaves_those_channels_exact(keep):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8, 3)) * [1.0, 2.0, 0.5]
    y = X[:, -1, 1] + 0.1 * rng.normal(size=300)  # channel 1 carries the target
    sampler = JitterOverSampler(sigma=0.5, keep_features=keep, minority_threshold=1.5,
                                random_state=0)
    new, src, _, _ = _new_and_sources(sampler, X, y)
    np.testing.assert_array_equal(sampler.keep_mask_, [False, True, False])
    np.testing.assert_array_equal(new[..., 1], src[..., 1])
    ratio = (new - src)[..., [0, 2]].std(axis=(0, 1)) / (0.5 * X.std(axis=(0, 1))[[0, 2]])
    np.testing.assert_allclose(ratio, 1.0, atol=0.05)
    if isinstance(keep, str):
        scores = sampler.target_scores_
        assert scores[1] > 0.8 and scores[0] < 0.1 and scores[2] < 0.1


def test_jitter_keep_features_auto_keeps_nothing_in_classification():
    X, _ = _data()
    sampler = JitterOverSampler(keep_features="auto", random_state=0)
    X_res, _ = sampler.fit_resample(X, [0] * 30 + [1] * 10)
    assert sampler.keep_mask_ is None and sampler.target_scores_ is None
    plain = JitterOverSampler(random_state=0).fit_resample(X, [0] * 30 + [1] * 10)[0]
    np.testing.assert_array_equal(X_res, plain)
