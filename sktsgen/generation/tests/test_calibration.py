"""The calibration of generated windows (``AvatarGenerator(calibration=...)``): the covariance
map and the quantile map."""

import pickle

import numpy as np
import pytest
import torch

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.nn import CovarianceCalibration, QuantileCalibration
from sktsgen.nn._calibration import covariance_map


def correlated(n, d, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    mixing = rng.randn(d, d) * scale
    return rng.randn(n, d) @ mixing + rng.randn(d)


def flat(windows):
    return windows.reshape(len(windows), -1)


def test_covariance_map_gives_the_reference_mean_and_covariance():
    reference, generated = correlated(4000, 6, 0), correlated(3000, 6, 1, scale=0.3)
    mean_g, matrix, mean_r = covariance_map(reference, generated, shrinkage=0.0)
    mapped = (generated - mean_g) @ matrix + mean_r
    np.testing.assert_allclose(mapped.mean(0), reference.mean(0), atol=1e-10)
    np.testing.assert_allclose(np.cov(mapped, rowvar=False), np.cov(reference, rowvar=False),
                               rtol=1e-8, atol=1e-8)
    # The optimal transport map between Gaussians is symmetric positive definite.
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-8)
    assert np.linalg.eigvalsh(matrix).min() > 0


def test_covariance_map_moves_rows_least_among_the_maps_that_match():
    """Any other matching map (here: a rotated one) moves the rows further on average."""
    reference, generated = correlated(4000, 4, 2), correlated(4000, 4, 3)
    mean_g, matrix, mean_r = covariance_map(reference, generated, shrinkage=0.0)
    centred = generated - mean_g
    best = np.mean(np.sum((centred @ matrix + mean_r - generated) ** 2, axis=1))
    # Whitening, a rotation, then colouring with the reference also matches both moments.
    S_g, S_r = np.cov(generated, rowvar=False), np.cov(reference, rowvar=False)
    white = np.linalg.inv(np.linalg.cholesky(S_g)).T
    colour = np.linalg.cholesky(S_r).T
    rotation = np.linalg.qr(np.random.RandomState(0).randn(4, 4))[0]
    other = centred @ white @ rotation @ colour + mean_r
    np.testing.assert_allclose(np.cov(other, rowvar=False), S_r, rtol=1e-8, atol=1e-8)
    assert best < np.mean(np.sum((other - generated) ** 2, axis=1))


def test_covariance_map_keeps_rows_that_already_match():
    rows = correlated(5000, 5, 4)
    mean_g, matrix, mean_r = covariance_map(rows, rows, shrinkage=0.0)
    np.testing.assert_allclose(matrix, np.eye(5), atol=1e-8)
    np.testing.assert_allclose(mean_g, mean_r)


def test_covariance_map_shrinkage_does_not_blow_up_flat_directions():
    """Generated rows that barely vary along a direction: shrinkage bounds the gain there."""
    rng = np.random.RandomState(5)
    reference = rng.randn(3000, 3)
    generated = rng.randn(3000, 3) * [1.0, 1.0, 1e-6]
    gain = lambda s: np.linalg.eigvalsh(covariance_map(reference, generated, s)[1]).max()
    assert gain(0.0) > 1e5
    # At most about sqrt(1 / (shrinkage * mean generated variance)) = sqrt(1 / (0.01 * 2/3)).
    assert gain(1e-2) < 13


def test_covariance_map_of_constant_rows_only_moves_the_mean():
    mean_g, matrix, _ = covariance_map(correlated(100, 3, 6), np.ones((50, 3)))
    np.testing.assert_array_equal(matrix, np.eye(3))
    np.testing.assert_array_equal(mean_g, np.ones(3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_calibration_module_maps_whole_windows_and_clips_to_the_data_range(dtype):
    rng = np.random.RandomState(7)
    reference = rng.rand(500, 4, 2)
    generated = 0.5 + 0.1 * rng.randn(600, 4, 2)
    module = CovarianceCalibration.from_windows(reference, generated, shrinkage=0.0)
    out = module(torch.as_tensor(generated, dtype=dtype))
    assert out.dtype == dtype and out.shape == (600, 4, 2)
    out = out.numpy()
    assert out.min() >= reference.min() - 1e-6 and out.max() <= reference.max() + 1e-6
    mean_g, matrix, mean_r = covariance_map(flat(reference), flat(generated), shrinkage=0.0)
    expected = ((flat(generated) - mean_g) @ matrix + mean_r).reshape(generated.shape)
    expected = np.clip(expected, reference.min(axis=(0, 1)), reference.max(axis=(0, 1)))
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_quantile_map_gives_each_value_the_reference_distribution():
    rng = np.random.RandomState(8)
    reference = rng.exponential(size=(6000, 3, 2)) * [1.0, 3.0]
    generated = rng.randn(5000, 3, 2)
    module = QuantileCalibration.from_windows(reference, generated, n_knots=101)
    out = module(torch.as_tensor(generated)).numpy()
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    np.testing.assert_allclose(np.quantile(flat(out), levels, axis=0),
                               np.quantile(flat(reference), levels, axis=0), rtol=0.02)
    # Monotone per value: the ranks of the windows at every step and channel are kept.
    np.testing.assert_array_equal(np.argsort(flat(out), axis=0, kind="stable"),
                                  np.argsort(flat(generated), axis=0, kind="stable"))
    # Piecewise linear between the knots: the same as numpy's interpolation.
    knots = np.quantile(flat(generated), np.linspace(0, 1, 101), axis=0)
    values = np.quantile(flat(reference), np.linspace(0, 1, 101), axis=0)
    expected = np.stack([np.interp(flat(generated)[:, j], knots[:, j], values[:, j])
                         for j in range(6)], axis=1)
    np.testing.assert_allclose(flat(out), expected, atol=1e-4)


def test_quantile_map_clamps_new_extremes_and_handles_ties():
    reference = np.linspace(0.0, 1.0, 1001)[:, None, None]
    generated = np.concatenate([np.zeros(500), np.linspace(0.0, 2.0, 500)])[:, None, None]
    module = QuantileCalibration.from_windows(reference, generated, n_knots=11)
    out = module(torch.tensor([[[-5.0]], [[0.0]], [[2.0]], [[9.0]]])).numpy().ravel()
    # Below and above the generated range: the data's smallest and largest value; the value
    # half of the samples take exactly: the first of the data's matching quantiles.
    np.testing.assert_allclose(out, [0.0, 0.0, 1.0, 1.0], atol=1e-6)
    assert out.dtype == np.float32


def nasty_knots(rng, n_rows=40, n_knots=101):
    """Sorted knot rows with what real data gives: heavy tails, runs of equal knots (at an
    end, inside), constant rows and knots one float32 ulp apart."""
    rows = []
    for j in range(n_rows):
        row = np.sort(rng.exponential(size=n_knots) ** (1 + j % 4)).astype(np.float32)
        if j % 5 == 1:
            row[:60] = row[0]  # mass at the lower bound
        if j % 5 == 2:
            row[30:70] = row[30]
        if j % 5 == 3:
            row[:] = 0.25
        if j % 5 == 4:
            row[10:20] = np.nextafter(row[10], np.float32(np.inf)) + np.arange(10) * 1e-7
            row.sort()
        rows.append(row)
    return np.array(rows, dtype=np.float32)


def probes(rng, knots, batch=3000):
    """Values of each row: at, just beside and between its knots, beyond both ends, NaN."""
    picks = knots[np.arange(len(knots))[:, None], rng.randint(0, knots.shape[1], (len(knots),
                                                                                  batch))]
    x = picks.copy()
    x[:, 1::4] = np.nextafter(picks[:, 1::4], np.float32(np.inf))
    x[:, 2::4] = np.nextafter(picks[:, 2::4], np.float32(-np.inf))
    span = knots[:, -1:] - knots[:, :1] + 1.0
    x[:, 3::4] = (knots[:, :1] + span * rng.uniform(-0.2, 1.2, (len(knots), 1))).astype(
        np.float32)
    x[:, :8] = [-np.inf, np.inf, -1e30, 1e30, np.nan, 0.0, -0.0, 1e-40]
    return torch.as_tensor(x)


def test_quantile_map_bucket_lookup_finds_the_pieces_of_searchsorted():
    """The bucketed lookup returns torch.searchsorted's index exactly, so the map is the
    same, bit for bit, on the values that make a binary search's corner cases."""
    rng = np.random.RandomState(11)
    knots = nasty_knots(rng)
    module = QuantileCalibration(knots, np.sort(rng.rand(*knots.shape), axis=1))
    # Some rows take the buckets, the most crowded ones the binary search.
    assert 0 < len(module.slow_rows) < len(knots) and module.bucket_steps <= 3
    x = probes(rng, knots)
    number = ~x.isnan()  # NaN maps to NaN either way, from another piece
    torch.testing.assert_close(module._knots_below(x)[number],
                               torch.searchsorted(module.knots, x)[number], rtol=0, atol=0)
    windows = x.T.reshape(-1, 8, 5)  # (batch, steps, channels) with 40 values
    out = module(windows)
    saved, module.bucket_steps = module.bucket_steps, None  # the searchsorted path
    torch.testing.assert_close(module(windows), out, rtol=0, atol=0, equal_nan=True)
    module.bucket_steps = saved


def test_quantile_map_falls_back_to_searchsorted_on_clustered_knots():
    """Knots so crowded that no bucket count separates them: the binary search is used."""
    knots = np.concatenate([np.arange(100) * 1e-30, [1.0]]).astype(np.float32)[None]
    module = QuantileCalibration(knots, np.linspace(0, 1, 101)[None])
    assert module.bucket_steps is None
    x = probes(np.random.RandomState(12), knots, batch=500)
    torch.testing.assert_close(module._knots_below(x), torch.searchsorted(module.knots, x),
                               rtol=0, atol=0)
    assert module(x.T[:, :, None]).isnan().sum() == 1


def test_calibration_modules_reject_inconsistent_shapes_and_inputs():
    eye = np.eye(6)
    with pytest.raises(ValueError, match="matrix must be square"):
        CovarianceCalibration(np.zeros(5), eye, np.zeros(6), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="lower and upper"):
        CovarianceCalibration(np.zeros(6), eye, np.zeros(6), np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="CovarianceCalibration maps windows of 6 values"):
        CovarianceCalibration(np.zeros(6), eye, np.zeros(6), np.zeros(2), np.ones(2))(
            torch.zeros(4, 2, 2))
    knots = np.sort(np.random.RandomState(0).rand(6, 11), axis=1)
    with pytest.raises(ValueError, match="same shape"):
        QuantileCalibration(knots, knots[:, :5])
    with pytest.raises(ValueError, match="non-decreasing"):
        QuantileCalibration(knots[:, ::-1], knots)
    with pytest.raises(ValueError, match="QuantileCalibration maps windows of 6 values"):
        QuantileCalibration(knots, knots)(torch.zeros(4, 3, 3))


@pytest.fixture(scope="module")
def sines():
    return make_sines(400, seq_len=6, n_features=2, random_state=0)


def fitted(X, **params):
    return AvatarGenerator(n_iter=20, hidden_size=8, random_state=0, **params).fit(X)


def test_calibration_modules_follow_the_parameter(sines):
    auto, both = fitted(sines), fitted(sines, calibration="covariance-quantiles")
    assert isinstance(auto.calibration_module_, torch.nn.Sequential)
    assert [type(m) for m in auto.calibration_module_] == [CovarianceCalibration,
                                                            QuantileCalibration]
    np.testing.assert_array_equal(auto.sample(30, random_state=0), both.sample(30, random_state=0))
    assert isinstance(fitted(sines, calibration="covariance").calibration_module_,
                      CovarianceCalibration)


def test_quantile_calibration_gives_each_value_the_data_distribution(sines):
    calibrated, plain = fitted(sines), fitted(sines, calibration=None)
    levels = [0.1, 0.5, 0.9]
    target = np.quantile(flat(sines), levels, axis=0)

    def error(gen):
        return np.abs(np.quantile(flat(gen.sample(4000, random_state=1)), levels, axis=0)
                      - target).max()

    assert error(calibrated) < 0.3 * error(plain)


def test_covariance_calibration_matches_the_windows_covariance(sines):
    calibrated = fitted(sines, calibration="covariance")
    plain = fitted(sines, calibration=None)
    assert plain.calibration_module_ is None
    target = np.cov(flat(sines), rowvar=False)

    def error(gen):
        samples = gen.sample(4000, random_state=1)
        return np.abs(np.cov(flat(samples), rowvar=False) - target).max()

    # Networks and codes are the same; only the map differs.
    assert error(calibrated) < 0.2 * error(plain)
    assert not np.allclose(plain.sample(50, random_state=3),
                           calibrated.sample(50, random_state=3))


def test_calibrated_samples_are_reproducible_and_survive_pickling(sines):
    gen = fitted(sines)
    samples = gen.sample(100, random_state=2)
    np.testing.assert_array_equal(samples, fitted(sines).sample(100, random_state=2))
    np.testing.assert_array_equal(samples, pickle.loads(pickle.dumps(gen)).sample(
        100, random_state=2))
    np.testing.assert_array_equal(samples, np.concatenate(list(
        gen.sample_iter(100, chunk_size=30, random_state=2))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_calibrated_samples_keep_the_dtype_and_the_data_range(sines, dtype):
    X = sines.astype(dtype)
    samples = fitted(X).sample(500, random_state=0)
    assert samples.dtype == dtype
    low, high = X.min(axis=(0, 1)), X.max(axis=(0, 1))
    assert (samples >= low - 1e-5 * (high - low)).all()
    assert (samples <= high + 1e-5 * (high - low)).all()


def test_auto_calibration_needs_twice_as_many_windows_as_values(sines):
    # 6 steps x 2 channels = 12 values: 24 windows are enough, 23 are not.
    assert fitted(sines[:24]).calibration_module_ is not None
    assert fitted(sines[:23]).calibration_module_ is None
    assert fitted(sines[:23], calibration="covariance").calibration_module_ is not None


def test_auto_calibration_skips_windows_with_too_many_values(monkeypatch, sines):
    monkeypatch.setattr(AvatarGenerator, "_calibration_max_values", 11)
    assert fitted(sines).calibration_module_ is None
    assert fitted(sines, calibration="covariance").calibration_module_ is not None


def test_calibration_skips_incomplete_windows_and_covariance_rejects_them(sines):
    X = sines.copy()
    X[0, 4:] = np.nan  # a shorter window, padded with NaN
    assert fitted(X).calibration_module_ is None
    with pytest.raises(ValueError, match="calibration='covariance' needs complete windows"):
        fitted(X, calibration="covariance")
    X = sines.copy()
    X[3, 2, 1] = np.nan
    assert fitted(X, allow_nan=True).calibration_module_ is None
    with pytest.raises(ValueError, match="calibration='covariance' needs complete windows"):
        fitted(X, allow_nan=True, calibration="covariance")


def test_conditional_samples_are_not_calibrated(sines):
    """The map is fitted to all windows together, so windows of one class keep the
    networks' own decoding; unconditional ones are still calibrated."""
    y = np.arange(len(sines)) % 2
    plain, cal = fitted(sines, calibration=None).fit(sines, y), fitted(sines).fit(sines, y)
    assert cal.calibration_module_ is not None
    np.testing.assert_array_equal(plain.sample(20, y=1, random_state=0),
                                  cal.sample(20, y=1, random_state=0))
    np.testing.assert_array_equal(
        plain.sample(20, y=1, random_state=0),
        np.concatenate(list(cal.sample_iter(20, chunk_size=7, y=1, random_state=0))))
    assert not np.allclose(plain.sample(20, random_state=0), cal.sample(20, random_state=0))


def test_calibration_rejects_unknown_values(sines):
    with pytest.raises(ValueError, match="calibration"):
        fitted(sines, calibration="spectrum")
