"""WindowSMOTE: estimator checks, interpolation between neighbours, SMOTER targets, fallback."""

import warnings
from collections import Counter

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.over_sampling import WindowSMOTE
from sktsgen.utils._testing import imblearn_parametrize_with_checks

from .test_base import IMBLEARN_XFAIL


@parametrize_with_checks([WindowSMOTE(random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks(
    [WindowSMOTE(random_state=0)], expected_failed_checks=lambda e: IMBLEARN_XFAIL
)
def test_imblearn_compatible(estimator, check):
    check(estimator)


def _windows(n=40, seq_len=6, d=3, seed=0, dtype=np.float64):
    """Channels on very different scales, so that the scaling matters for the neighbours."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, seq_len, d)) * [1.0, 5.0, 0.1][:d] + [0.0, 50.0, -3.0][:d]
    return X.astype(dtype)


def _regression_target(n=40, n_rare=8, seed=0):
    y = np.random.default_rng(seed).uniform(size=n)
    y[:n_rare] += 10.0  # rare: y > 5
    return y


def _on_segment(new, src, candidates):
    """Which candidate ``new`` lies on a segment towards, from ``src``, and the weight.

    Returns the candidate's position, the weight ``u`` (least squares over every step and
    channel) and the largest deviation of ``new`` from ``src + u * (candidate - src)``.
    """
    new, src = new.ravel().astype(np.float64), src.ravel().astype(np.float64)
    diff = candidates.reshape(candidates.shape[0], -1).astype(np.float64) - src
    u = diff @ (new - src) / np.einsum("ij,ij->i", diff, diff)
    residual = np.abs(new - src - u[:, None] * diff).max(axis=1)
    best = int(np.argmin(residual))
    return best, u[best], residual[best]


def _scaled_knn(X, group, source, k):
    """The ``k`` nearest windows of ``source`` within ``group`` after per-channel scaling."""
    flat = (X / X.std(axis=(0, 1))).reshape(X.shape[0], -1)
    others = group[group != source]
    dist = np.linalg.norm(flat[others] - flat[source], axis=1)
    return set(others[np.argsort(dist)[:k]])


def _unscaled_knn(X, group, source, k):
    flat = X.reshape(X.shape[0], -1)
    others = group[group != source]
    return set(others[np.argsort(np.linalg.norm(flat[others] - flat[source], axis=1))[:k]])


# -- regression (SMOTER) -----------------------------------------------------------------
def test_3d_regression_contract():
    X, y = _windows(dtype=np.float32), _regression_target()
    X_before, y_before = X.copy(), y.copy()
    sampler = WindowSMOTE(k_neighbors=2, minority_threshold=5.0, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert X_res.shape == (64, 6, 3) and X_res.dtype == np.float32
    assert y_res.shape == (64,) and y_res.dtype == y.dtype
    np.testing.assert_array_equal(X_res[:40], X)
    np.testing.assert_array_equal(y_res[:40], y)
    np.testing.assert_array_equal(X, X_before)  # inputs untouched
    np.testing.assert_array_equal(y, y_before)
    assert sampler.k_neighbors_ == {"rare": 2}
    np.testing.assert_allclose(sampler.channel_std_, X.std(axis=(0, 1), dtype=np.float64))

    rare = np.flatnonzero(y > 5)
    sources = sampler.sample_indices_[40:]
    assert set(sources) <= set(rare)
    # The test can tell scaled from unscaled neighbours on this data.
    assert any(_scaled_knn(X, rare, s, 2) != _unscaled_knn(X, rare, s, 2) for s in rare)
    weights = []
    for new, y_new, src in zip(X_res[40:], y_res[40:], sources):
        others = rare[rare != src]
        pos, u, residual = _on_segment(new, X[src], X[others])
        nn = others[pos]
        assert residual < 1e-4, "not on a segment between the source and a rare window"
        assert 0.0 <= u <= 1.0
        assert nn in _scaled_knn(X, rare, src, 2)
        # The target moves with the same weight towards the same neighbour.
        np.testing.assert_allclose(y_new, y[src] + u * (y[nn] - y[src]), atol=1e-4)
        assert min(y[src], y[nn]) - 1e-12 <= y_new <= max(y[src], y[nn]) + 1e-12
        weights.append(u)
    assert np.ptp(weights) > 0.3  # one weight per new window, spread over (0, 1)
    assert np.all(y_res[40:] > 5)
    assert not np.isin(y_res[40:], y).all()  # new targets, not copies


def test_window_and_target_share_the_weight_and_the_neighbour():
    # Channel 0 of every window is constant and equal to its target: interpolating window and
    # target with the same weight and neighbour keeps it so, anything else breaks it.
    X, y = _windows(n=30, d=2), _regression_target(n=30, n_rare=10)
    y[:10] = np.linspace(6.0, 15.0, 10)
    X[:, :, 0] = y[:, None]
    sampler = WindowSMOTE(k_neighbors=3, minority_threshold=5.0, random_state=1)
    X_res, y_res = sampler.fit_resample(X, y)
    new, y_new, src = X_res[30:], y_res[30:], sampler.sample_indices_[30:]
    np.testing.assert_allclose(new[:, :, 0], np.broadcast_to(y_new[:, None], new.shape[:2]))
    # Solve u from channel 0 and check channel 1 moved by the same fraction towards a rare
    # window of the source's 3 nearest.
    rare = np.flatnonzero(y > 5)
    for x_new, t_new, s in zip(new, y_new, src):
        u_by_target = {j: (t_new - y[s]) / (y[j] - y[s]) for j in rare if j != s}
        assert any(
            np.allclose(x_new[:, 1], X[s, :, 1] + u * (X[j, :, 1] - X[s, :, 1]))
            and j in _scaled_knn(X, rare, s, 3)
            for j, u in u_by_target.items()
        )


def test_float32_target_stays_float32_and_int_target_becomes_float():
    X = _windows()
    y = _regression_target().astype(np.float32)
    _, y_res = WindowSMOTE(minority_threshold=5.0, random_state=0).fit_resample(X, y)
    assert y_res.dtype == np.float32
    y_int = np.r_[np.full(8, 10), np.arange(8, 40) % 3]
    y_int[:8] += np.arange(8)
    _, y_res = WindowSMOTE(minority_threshold=5, random_state=0).fit_resample(X, y_int)
    assert y_res.dtype == np.float64
    assert not np.all(y_res[40:] == np.round(y_res[40:]))  # interpolated, not truncated


def test_duplicate_windows_are_neighbours_but_never_their_own():
    # Four identical rare windows with different targets: every distance is 0, so a source
    # that was its own neighbour would keep its target; excluded by index, it never does.
    X = _windows(n=20)
    X[:4] = X[0]
    y = _regression_target(n=20, n_rare=4)
    y[:4] = [10.0, 11.0, 12.0, 13.0]
    for k in (1, 3):
        sampler = WindowSMOTE(k_neighbors=k, sampling_strategy={"rare": 40},
                              minority_threshold=5.0, random_state=0)
        X_res, y_res = sampler.fit_resample(X, y)
        src = sampler.sample_indices_[20:]
        np.testing.assert_array_equal(X_res[20:], X[src])
        assert np.all(y_res[20:] != y[src])
        assert np.all((y_res[20:] >= 10.0) & (y_res[20:] <= 13.0))


def test_constant_channel_is_not_scaled_and_stays_constant():
    X = _windows(n=30)
    X[:, :, 2] = 7.0
    y = np.r_[np.zeros(20, int), np.ones(10, int)]
    sampler = WindowSMOTE(random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.channel_std_[2] == 0.0
    assert np.all(np.isfinite(X_res)) and np.all(X_res[:, :, 2] == 7.0)


# -- classification ----------------------------------------------------------------------
def test_classification_keeps_labels_and_interpolates_within_the_class():
    X = _windows()
    y = np.array([0] * 24 + [1] * 10 + [2] * 6)
    sampler = WindowSMOTE(k_neighbors=3, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res) == {0: 24, 1: 24, 2: 24}
    assert sampler.k_neighbors_ == {1: 3, 2: 3}
    src = sampler.sample_indices_[40:]
    np.testing.assert_array_equal(y_res[40:], y[src])
    for new, label, s in zip(X_res[40:], y_res[40:], src):
        members = np.flatnonzero(y == label)
        others = members[members != s]
        pos, u, residual = _on_segment(new, X[s], X[others])
        assert residual < 1e-9 and 0.0 <= u <= 1.0
        assert others[pos] in _scaled_knn(X, members, s, 3)
        # not on a segment towards a window of another class (relative to the step's size)
        foreign = np.flatnonzero(y != label)
        assert _on_segment(new, X[s], X[foreign])[2] > 0.01 * np.abs(new - X[s]).max()


def test_neighbour_uniform_among_the_k_nearest_and_weight_uniform():
    X = _windows(n=30, seq_len=4)
    y = np.r_[np.zeros(24, int), np.ones(6, int)]
    sampler = WindowSMOTE(k_neighbors=4, sampling_strategy={1: 606}, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    members = np.flatnonzero(y == 1)
    pairs, weights = Counter(), []
    for new, s in zip(X_res[30:], sampler.sample_indices_[30:]):
        others = members[members != s]
        pos, u, residual = _on_segment(new, X[s], X[others])
        assert residual < 1e-9
        pairs[s, others[pos]] += 1
        weights.append(u)
    for s in members:
        used = {j: pairs[s, j] for j in members if pairs[s, j]}
        assert set(used) == _scaled_knn(X, members, s, 4)  # all 4 nearest, never the 5th
        expected = sum(used.values()) / 4  # about 25 draws each
        assert all(0.4 * expected < c < 1.6 * expected for c in used.values())
    weights = np.array(weights)
    assert abs(weights.mean() - 0.5) < 0.05 and weights.min() < 0.02 and weights.max() > 0.98


@pytest.mark.parametrize(
    "strategy",
    ["auto", "minority", "not minority", "not majority", "all",
     {1: 12, 2: 9}, lambda y: {2: int((y == 2).sum()) * 3}],
)
def test_classification_counts_match_imblearn_smote(strategy):
    X = _windows(seq_len=2)
    y = np.array([0] * 26 + [1] * 8 + [2] * 6)
    _, y_res = WindowSMOTE(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    _, y_ref = SMOTE(sampling_strategy=strategy, random_state=0).fit_resample(
        X.reshape(40, -1), y)
    assert Counter(y_res) == Counter(y_ref)


def test_binary_float_strategy_and_string_labels():
    X = _windows(dtype=np.float32)
    y = np.array(["a"] * 30 + ["b"] * 10)
    X_res, y_res = WindowSMOTE(sampling_strategy=0.5, random_state=0).fit_resample(X, y)
    assert Counter(y_res) == {"a": 30, "b": 15}
    assert X_res.dtype == np.float32
    assert set(y_res[40:]) == {"b"}


# -- determinism -------------------------------------------------------------------------
def test_same_random_state_same_output_and_global_rng_untouched():
    X, y = _windows(), _regression_target()
    state = np.random.get_state()[1].copy()
    runs = [WindowSMOTE(minority_threshold=5.0, random_state=seed).fit_resample(X, y)
            for seed in (3, 3, 4)]
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])
    rs_run = WindowSMOTE(minority_threshold=5.0,
                         random_state=np.random.RandomState(3)).fit_resample(X, y)
    np.testing.assert_array_equal(rs_run[0], runs[0][0])


# -- too few windows ---------------------------------------------------------------------
def test_small_class_falls_back_to_fewer_neighbours_with_a_warning():
    X = _windows()
    y = np.array([0] * 34 + [1] * 3 + [2] * 3)
    sampler = WindowSMOTE(k_neighbors=5, sampling_strategy={1: 10}, random_state=0)
    with pytest.warns(UserWarning, match=r"class 1 has 3 windows.*k_neighbors=5.*k=2"):
        X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.k_neighbors_ == {1: 2}  # class 2 not over-sampled: no warning for it
    assert Counter(y_res) == {0: 34, 1: 10, 2: 3}
    members = np.flatnonzero(y == 1)
    for new, s in zip(X_res[40:], sampler.sample_indices_[40:]):
        others = members[members != s]
        assert _on_segment(new, X[s], X[others])[2] < 1e-9


def test_rare_windows_fall_back_too_and_enough_windows_do_not_warn():
    X, y = _windows(), _regression_target(n_rare=2)
    sampler = WindowSMOTE(k_neighbors=3, minority_threshold=5.0, random_state=0)
    with pytest.warns(UserWarning, match=r"the rare windows has 2 windows.*k_neighbors=3"):
        sampler.fit_resample(X, y)
    assert sampler.k_neighbors_ == {"rare": 1}
    X, y = _windows(), _regression_target(n_rare=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sampler.fit_resample(X, y)  # 4 rare windows = k_neighbors + 1
    assert sampler.k_neighbors_ == {"rare": 3}


@pytest.mark.parametrize("params, y, match", [
    ({}, np.r_[np.zeros(36, int), np.ones(3, int), 2], r"class 2.*single window.*k_neighbors=5"),
    ({"minority_threshold": 5.0}, _regression_target(n_rare=1),
     r"rare windows.*single window.*k_neighbors=5"),
])
def test_single_window_cannot_be_interpolated(params, y, match):
    with pytest.raises(ValueError, match=match):
        WindowSMOTE(**params).fit_resample(_windows(), y)


def test_single_window_class_left_out_of_the_strategy_is_fine():
    y = np.r_[np.zeros(36, int), np.ones(3, int), 2]
    sampler = WindowSMOTE(k_neighbors=2, sampling_strategy={1: 36}, random_state=0)
    _, y_res = sampler.fit_resample(_windows(), y)
    assert Counter(y_res) == {0: 36, 1: 36, 2: 1}


@pytest.mark.parametrize("k", [0, -1, 1.5, "5"])
def test_bad_k_neighbors(k):
    with pytest.raises(ValueError, match="k_neighbors"):
        WindowSMOTE(k_neighbors=k).fit_resample(_windows(), np.r_[np.zeros(30), np.ones(10)])
