"""Correlational score, autocorrelation distance and MMD: values, invariances and errors."""

import numpy as np
import pytest

from sktsgen.metrics import (
    autocorrelation_distance,
    correlational_score,
    maximum_mean_discrepancy,
    mmd,
)

DISTANCES = [correlational_score, autocorrelation_distance, maximum_mean_discrepancy]


def _correlated(n, rng, noise=0.1):
    """Two channels that follow each other closely (correlation about 0.995)."""
    base = rng.normal(size=(n, 12, 1))
    return np.concatenate([base, base + noise * rng.normal(size=base.shape)], axis=2)


def test_correlational_score_separates_dependence():
    rng = np.random.RandomState(0)
    X_real = _correlated(300, rng)
    assert correlational_score(X_real, X_real) == 0.0
    assert correlational_score(X_real, _correlated(300, rng)) < 0.02
    independent = rng.normal(size=(300, 12, 2))
    assert correlational_score(X_real, independent) == pytest.approx(1.0, abs=0.05)
    anti = X_real * np.array([1.0, -1.0])  # correlation flips sign: largest difference
    assert correlational_score(X_real, anti) == pytest.approx(2.0, abs=0.02)


def test_correlational_score_is_the_mean_over_pairs_of_pearson_differences():
    rng = np.random.RandomState(1)
    X_real, X_synth = rng.normal(size=(50, 7, 4)), rng.normal(size=(40, 7, 4))
    X_synth[:, :, 3] += X_synth[:, :, 0]
    c_real = np.corrcoef(X_real.reshape(-1, 4), rowvar=False)
    c_synth = np.corrcoef(X_synth.reshape(-1, 4), rowvar=False)
    expected = np.abs(c_real - c_synth)[np.triu_indices(4, k=1)].mean()
    assert correlational_score(X_real, X_synth) == pytest.approx(expected, rel=1e-10)


def test_correlational_score_ignores_scale_and_constant_channels():
    rng = np.random.RandomState(2)
    X_real, X_synth = _correlated(100, rng), rng.normal(size=(100, 12, 2))
    score = correlational_score(X_real, X_synth)
    scaled = correlational_score(X_real * [3.0, 0.01] + 5.0, X_synth * [0.5, 7.0])
    assert scaled == pytest.approx(score, rel=1e-10)
    constant = X_synth.copy()
    constant[:, :, 1] = 0.5
    assert np.isfinite(correlational_score(X_real, constant))


def _acf_direct(x, k):
    """Biased sample autocorrelation of one 1-D series at lag k."""
    x = x - x.mean()
    return np.sum(x[k:] * x[:-k]) / np.sum(x * x)


def test_autocorrelation_distance_matches_a_direct_computation():
    rng = np.random.RandomState(3)
    X_real, X_synth = rng.normal(size=(6, 9, 2)), rng.normal(size=(4, 9, 2)).cumsum(axis=1)
    max_lag = 4

    def mean_acf(X):
        return np.array([[np.mean([_acf_direct(w[:, c], k) for w in X]) for c in range(2)]
                         for k in range(1, max_lag + 1)])

    expected = np.abs(mean_acf(X_real) - mean_acf(X_synth)).mean()
    assert autocorrelation_distance(X_real, X_synth, max_lag=max_lag) == pytest.approx(
        expected, rel=1e-10)


def test_autocorrelation_distance_separates_dynamics():
    rng = np.random.RandomState(4)
    walks = rng.normal(size=(200, 24, 3)).cumsum(axis=1)
    other_walks = rng.normal(size=(200, 24, 3)).cumsum(axis=1)
    noise = rng.normal(size=(200, 24, 3))
    assert autocorrelation_distance(walks, walks) == 0.0
    assert autocorrelation_distance(walks, other_walks) < 0.03
    assert autocorrelation_distance(walks, noise) > 0.15
    # Short lags carry most of the difference between a walk and white noise.
    assert autocorrelation_distance(walks, other_walks, max_lag=5) < 0.03
    assert autocorrelation_distance(walks, noise, max_lag=5) > 0.35
    # Level and scale of each window do not matter.
    assert autocorrelation_distance(walks, 10 * walks + 3) == pytest.approx(0.0, abs=1e-12)


def test_autocorrelation_distance_constant_windows_count_as_zero():
    X = np.ones((5, 6, 1))
    walks = np.random.RandomState(5).normal(size=(5, 6, 1)).cumsum(axis=1)
    assert autocorrelation_distance(X, X) == 0.0
    assert autocorrelation_distance(walks, X) > 0


def _mmd2_direct(A, B, gamma):
    """Unbiased MMD^2 with loops over pairs."""
    def k(x, y):
        return np.exp(-gamma * np.sum((x - y) ** 2))

    m, n = len(A), len(B)
    aa = sum(k(A[i], A[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    bb = sum(k(B[i], B[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    ab = sum(k(a, b) for a in A for b in B) / (m * n)
    return aa + bb - 2 * ab


def test_mmd_matches_the_unbiased_estimator():
    rng = np.random.RandomState(6)
    A, B = rng.normal(size=(7, 3, 2)), rng.normal(size=(5, 3, 2)) + 0.5
    expected = _mmd2_direct(A.reshape(7, -1), B.reshape(5, -1), gamma=0.2)
    assert maximum_mean_discrepancy(A, B, gamma=0.2) == pytest.approx(expected, rel=1e-10)
    # Median heuristic: gamma = 1 / (2 * median distance ** 2) over the pooled windows.
    pooled = np.vstack([A.reshape(7, -1), B.reshape(5, -1)])
    dist = np.sqrt(((pooled[:, None] - pooled[None]) ** 2).sum(-1))[np.triu_indices(12, k=1)]
    gamma = 1 / (2 * np.median(dist) ** 2)
    assert maximum_mean_discrepancy(A, B) == pytest.approx(
        _mmd2_direct(A.reshape(7, -1), B.reshape(5, -1), gamma), rel=1e-10)


def test_mmd_identical_vs_shifted():
    rng = np.random.RandomState(7)
    X = rng.normal(size=(300, 8, 2))
    same = mmd(X, rng.normal(size=(300, 8, 2)))
    shifted = mmd(X, rng.normal(size=(300, 8, 2)) + 0.5)
    assert abs(mmd(X, X)) < 0.01 and abs(same) < 0.01
    assert shifted > 10 * max(abs(same), 1e-3)
    assert mmd is maximum_mean_discrepancy


def test_mmd_subsampling_is_seeded():
    rng = np.random.RandomState(8)
    A, B = rng.normal(size=(120, 4, 2)), rng.normal(size=(90, 4, 2)) + 0.3
    first = mmd(A, B, max_samples=50, random_state=0)
    assert first == mmd(A, B, max_samples=50, random_state=0)
    assert first != mmd(A, B, max_samples=50, random_state=1)
    assert mmd(A, B, max_samples=None) == mmd(A, B, max_samples=500)


@pytest.mark.parametrize("metric", DISTANCES)
def test_inputs_are_validated(metric):
    rng = np.random.RandomState(9)
    X = rng.normal(size=(10, 5, 2))
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metric(X, bad)
    with pytest.raises(ValueError, match="3-D"):
        metric(X.reshape(10, -1), X)
    with pytest.raises(ValueError, match="same seq_len and n_features"):
        metric(X, X[:, :4])
    with pytest.raises(ValueError, match="same seq_len and n_features"):
        metric(X, np.concatenate([X, X], axis=2))
    X_before = X.copy()
    metric(X, X[::-1])
    np.testing.assert_array_equal(X, X_before)  # inputs are not modified


def test_metric_specific_errors():
    X = np.random.RandomState(10).normal(size=(10, 5, 1))
    with pytest.raises(ValueError, match="at least 2 features"):
        correlational_score(X, X)
    with pytest.raises(ValueError, match="max_lag must be at most seq_len - 1 = 4"):
        autocorrelation_distance(X, X, max_lag=5)
    with pytest.raises(ValueError, match="max_lag"):
        autocorrelation_distance(X, X, max_lag=0)
    with pytest.raises(ValueError, match="at least 2 steps"):
        autocorrelation_distance(X[:, :1], X[:, :1])
    with pytest.raises(ValueError, match="gamma"):
        mmd(X, X, gamma=-1.0)
    with pytest.raises(ValueError, match="max_samples"):
        mmd(X, X, max_samples=1)
    with pytest.raises(ValueError, match="minimum of 2"):
        mmd(X[:1], X)
