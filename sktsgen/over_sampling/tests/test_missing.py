"""Over-samplers and missing values: LatentAdversarialSampler(allow_nan=True), the others
rejecting NaN."""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.nn._latent import ConvAutoencoder, WindowDiscriminator
from sktsgen.over_sampling import (
    JitterOverSampler,
    RandomWindowOverSampler,
    WindowSMOTE,
)
from sktsgen.over_sampling._latent_adversarial import LatentAdversarialSampler
from sktsgen.training._latent import train_autoencoder
from sktsgen.utils._torch import make_generator

TINY = {"latent_dim": 8, "n_iter": 3, "predictor_n_iter": 3, "batch_size": 16, "noise_dim": 4,
        "rank": 3, "random_state": 0}


def _sampler(**kw):
    return LatentAdversarialSampler(**{**TINY, **kw})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 16, 3)) * [1.0, 10.0, 0.1]
    y = X[:, -4:, 0].mean(axis=1) + 0.1 * rng.normal(size=60)
    X_nan = X.copy()
    X_nan[rng.random(X.shape) < 0.25] = np.nan
    X_nan[1, :, 2] = np.nan  # a channel missing over a whole window
    X_nan.setflags(write=False)
    return X, X_nan, y, float(np.quantile(y, 0.8))


@parametrize_with_checks([_sampler(allow_nan=True, n_iter=2, predictor_n_iter=2, batch_size=8)])
def test_sklearn_compatible_with_allow_nan(estimator, check):
    check(estimator)


def test_nan_rejected_unless_asked(data):
    X, X_nan, y, t = data
    with pytest.raises(ValueError, match=r"NaN.*allow_nan=True"):
        _sampler(minority_threshold=t).fit_resample(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0, 0] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        _sampler(minority_threshold=t, allow_nan=True).fit_resample(X_inf, y)
    assert not _sampler().__sklearn_tags__().input_tags.allow_nan
    assert _sampler(allow_nan=True).__sklearn_tags__().input_tags.allow_nan


@pytest.mark.parametrize("sampler", [RandomWindowOverSampler(minority_threshold=0.5),
                                     WindowSMOTE(minority_threshold=0.5),
                                     JitterOverSampler(minority_threshold=0.5)],
                         ids=lambda s: type(s).__name__)
def test_other_samplers_keep_rejecting_nan(data, sampler):
    _, X_nan, y, _ = data
    assert not sampler.__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="NaN"):
        sampler.fit_resample(X_nan, y)


def test_complete_windows_give_the_same_windows(data):
    X, _, y, t = data
    a = _sampler(minority_threshold=t).fit_resample(X, y)
    b = _sampler(minority_threshold=t, allow_nan=True).fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", [
    {},
    {"keep_features": None, "residual": False},
    {"jitter": "auto", "perturb_fraction": 0.5, "perturbation_snapshots": 2},
    {"perturbation": "random"},
])
def test_originals_unchanged_new_windows_complete(data, dtype, params):
    _, X_nan, y, t = data
    Xd = X_nan.astype(dtype)
    before = Xd.copy()
    sampler = _sampler(minority_threshold=t, allow_nan=True, **params)
    X_res, y_res = sampler.fit_resample(Xd, y)
    np.testing.assert_array_equal(Xd, before)  # not modified
    assert X_res.dtype == dtype and X_res.shape[1:] == Xd.shape[1:]
    n = len(Xd)
    np.testing.assert_array_equal(X_res[:n], Xd)  # with their NaN
    assert len(X_res) > n and np.isfinite(X_res[n:]).all()
    np.testing.assert_array_equal(y_res[:n], y)
    assert np.isfinite(sampler.channel_std_).all()
    # Reproducible.
    again = _sampler(minority_threshold=t, allow_nan=True, **params).fit_resample(Xd, y)[0]
    np.testing.assert_array_equal(again, X_res)


def test_kept_channels_copy_observed_values(data):
    _, X_nan, y, t = data
    sampler = _sampler(minority_threshold=t, allow_nan=True, keep_features=[0])
    X_res, _ = sampler.fit_resample(X_nan, y)
    src = sampler.sample_indices_[len(X_nan):]
    new, source = X_res[len(X_nan):, :, 0], X_nan[src, :, 0]
    observed = ~np.isnan(source)
    np.testing.assert_array_equal(new[observed], source[observed])
    assert np.isfinite(new).all()


def test_classification_with_nan(data):
    _, X_nan, _, _ = data
    y = np.r_[np.zeros(50, dtype=int), np.ones(10, dtype=int)]
    X_res, y_res = _sampler(allow_nan=True).fit_resample(X_nan, y)
    assert np.bincount(y_res).tolist() == [50, 50]
    assert np.isfinite(X_res[60:]).all()


def test_all_missing_channel_is_an_error(data):
    X, _, y, t = data
    X = X.copy()
    X[..., 1] = np.nan
    with pytest.raises(ValueError, match=r"no observed value .* channel\(s\) \[1\]"):
        _sampler(minority_threshold=t, allow_nan=True).fit_resample(X, y)


def _train(X, mask, seed=0):
    torch.manual_seed(seed)
    ae, disc = ConvAutoencoder(2, 16, 8), WindowDiscriminator(2, 16)
    history = train_autoencoder(ae, disc, X, n_iter=4, batch_size=8, lr=1e-3, disc_lr=1e-3,
                                adversarial_weight=0.05, real_cost=1.0, fake_cost=0.1,
                                generator=make_generator(0, "cpu"), device="cpu", mask=mask,
                                history_every=1)
    return ae, history


def test_autoencoder_reconstruction_is_masked():
    X = torch.rand(32, 16, 2, generator=torch.Generator().manual_seed(0))
    ones = torch.ones_like(X)
    _, plain = _train(X, None)
    _, masked = _train(X, ones)
    np.testing.assert_allclose(plain["reconstruction"], masked["reconstruction"], rtol=1e-5)
    mask = (torch.rand(32, 16, 2, generator=torch.Generator().manual_seed(1)) > 0.3).float()
    _, partial = _train(X, mask)
    # The first loss is taken before any step: the MSE over the observed entries only.
    torch.manual_seed(0)
    ae = ConvAutoencoder(2, 16, 8)
    idx = torch.randint(0, 32, (4, 8), generator=make_generator(0, "cpu"))
    xb, mb = X[idx[0]], mask[idx[0]].bool()
    ae.train()
    expected = ((ae(xb) - xb)[mb] ** 2).mean()
    np.testing.assert_allclose(partial["reconstruction"][0], float(expected.detach()), rtol=1e-5)
