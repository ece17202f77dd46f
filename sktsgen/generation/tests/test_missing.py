"""AvatarGenerator with missing values (``allow_nan=True``): masked losses, filled inputs."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.nn._avatar import AvatarNet, Prior, masked_mse
from sktsgen.training._avatar import train_avatar
from sktsgen.utils._torch import make_generator
from sktsgen.utils._validation import fill_missing

TINY = {"n_iter": 3, "hidden_size": 4, "num_layers": 1, "batch_size": 16, "score_n_iter": 5,
        "metric_n_iter": 5, "code_mixture_components": 2, "random_state": 0}


def tiny(**kw):
    return AvatarGenerator(**{**TINY, **kw})


@pytest.fixture(scope="module")
def X():
    return make_sines(40, seq_len=6, n_features=3, random_state=0) * 50.0 - 20.0


@pytest.fixture(scope="module")
def X_nan(X):
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.3] = np.nan
    X[0, :, 1] = np.nan  # a channel missing over a whole window
    X.setflags(write=False)
    return X


@parametrize_with_checks([tiny(allow_nan=True, num_layers=2, n_iter=2)])
def test_sklearn_compatible_with_allow_nan(estimator, check):
    check(estimator)


def test_nan_rejected_unless_asked(X, X_nan):
    with pytest.raises(ValueError, match=r"NaN.*allow_nan=True"):
        tiny().fit(X_nan)
    fitted = tiny().fit(X)
    with pytest.raises(ValueError, match=r"NaN.*allow_nan=True"):
        fitted.transform(X_nan)
    X_inf = X.copy()
    X_inf[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        tiny(allow_nan=True).fit(X_inf)
    assert not tiny().__sklearn_tags__().input_tags.allow_nan
    assert tiny(allow_nan=True).__sklearn_tags__().input_tags.allow_nan


def test_complete_windows_give_the_same_model(X):
    a = tiny().fit(X)
    b = tiny(allow_nan=True).fit(X)
    np.testing.assert_array_equal(a.sample(50, random_state=1), b.sample(50, random_state=1))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_with_nan_gives_complete_samples(X_nan, dtype):
    Xd = X_nan.astype(dtype)
    before = Xd.copy()
    gen = tiny(allow_nan=True).fit(Xd)
    np.testing.assert_array_equal(Xd, before)  # not modified
    S = gen.sample(30, random_state=0)
    assert S.shape == (30, 6, 3) and S.dtype == dtype and np.isfinite(S).all()
    H = gen.transform(Xd)
    assert H.shape == (40, 6, 4) and H.dtype == dtype and np.isfinite(H).all()
    np.testing.assert_array_equal(Xd, before)
    # Reproducible.
    np.testing.assert_array_equal(S, clone(gen).fit(Xd).sample(30, random_state=0))


def test_filled_windows_read_observed_entries_only(X_nan):
    # The network inputs are the filled windows: built from observed entries alone, so
    # whatever the data held at a missing entry, training sees the same numbers (and the
    # masked losses skip those entries, see test_masked_mse_ignores_missing_targets).
    mask = ~np.isnan(X_nan)
    rng = np.random.default_rng(1)
    fills = [fill_missing(np.where(mask, X_nan, np.nan), np.zeros(3))]
    for _ in range(3):
        behind = rng.normal(size=X_nan.shape) * 1e3
        # The same observed entries, other values behind the mask, then removed again.
        fills.append(fill_missing(np.where(mask, np.where(mask, X_nan, behind), np.nan),
                                  np.zeros(3)))
    for filled, observed in fills:
        np.testing.assert_array_equal(filled, fills[0][0])
        np.testing.assert_array_equal(observed, mask)
        np.testing.assert_array_equal(filled[mask], X_nan[mask])


def test_mask_changes_the_losses_not_the_inputs(X_nan):
    # The same filled windows as complete data: the same scaling and network inputs, but
    # every entry in the losses, so a different model.
    masked = tiny(allow_nan=True).fit(X_nan)
    filled = masked.scaler_.inverse_transform(
        fill_missing(masked.scaler_.transform(X_nan), masked._channel_fill)[0])
    plain = tiny().fit(filled)
    np.testing.assert_allclose(plain.scaler_.data_min_, masked.scaler_.data_min_)
    np.testing.assert_allclose(plain.scaler_.data_max_, masked.scaler_.data_max_)
    assert not np.allclose(masked.history_["autoencoder"]["reconstruction"],
                           plain.history_["autoencoder"]["reconstruction"])


def test_fill_missing_rule():
    X = np.array([[[np.nan, np.nan], [1.0, np.nan], [np.nan, np.nan], [3.0, np.nan]],
                  [[5.0, 6.0], [np.nan, 7.0], [8.0, np.nan], [np.nan, np.nan]]])
    filled, mask = fill_missing(X, [0.5, 0.25])
    np.testing.assert_array_equal(filled[..., 0], [[1, 1, 1, 3], [5, 5, 8, 8]])
    np.testing.assert_array_equal(filled[..., 1], [[0.25] * 4, [6, 7, 7, 7]])
    np.testing.assert_array_equal(mask, ~np.isnan(X))
    complete = np.ones((2, 3, 1))
    same, none = fill_missing(complete, [0.0])
    assert same is complete and none is None


def test_masked_mse_ignores_missing_targets():
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(4, 5, 3, generator=gen, requires_grad=True)
    target = torch.rand(4, 5, 3, generator=gen)
    mask = (torch.rand(4, 5, 3, generator=gen) > 0.4).float()
    loss = masked_mse(pred, target, mask)
    obs = mask.bool()
    torch.testing.assert_close(loss, ((pred - target)[obs] ** 2).mean())
    loss.backward()
    assert (pred.grad[~obs] == 0).all()
    other = torch.where(obs, target, torch.full_like(target, 100.0))
    torch.testing.assert_close(masked_mse(pred, other, mask), loss)
    torch.testing.assert_close(masked_mse(pred, target), torch.nn.functional.mse_loss(pred, target))


def test_avatar_net_reconstruction_terms_are_masked():
    torch.manual_seed(0)
    net = AvatarNet(3, 4, 1, Prior("gaussian", 4))
    x = torch.rand(8, 5, 3)
    mask = (torch.rand(8, 5, 3) > 0.3).float()
    z = torch.randn(8, 5, 4)
    _, parts = net.joint_losses(x, z, mask)
    x_tilde = net.decoder(net.encoder(x))
    obs = mask.bool()
    expected = (((x_tilde - x)[obs] ** 2).mean()
                + ((net.supervisor(x_tilde) - x)[obs] ** 2).mean())
    torch.testing.assert_close(parts["reconstruction"], expected.detach())
    torch.testing.assert_close(net.reconstruction_loss(x, mask),
                               ((x_tilde - x)[obs] ** 2).mean())


def test_all_ones_mask_trains_as_no_mask():
    X = torch.as_tensor(make_sines(32, seq_len=5, n_features=2, random_state=0),
                        dtype=torch.float32)
    curves = []
    for mask in (None, torch.ones_like(X)):
        torch.manual_seed(0)
        net = AvatarNet(2, 4, 1, Prior("gaussian", 4))
        curves.append(train_avatar(net, X, n_iter=4, batch_size=8, learning_rate=1e-3,
                                   generator=make_generator(0, "cpu"), mask=mask))
    for stage in ("autoencoder", "joint"):
        np.testing.assert_allclose(curves[0][stage]["reconstruction"],
                                   curves[1][stage]["reconstruction"], rtol=1e-5)


def test_score_and_early_stopping_need_complete_windows(X, X_nan):
    gen = tiny(allow_nan=True).fit(X_nan)
    with pytest.raises(ValueError, match="score needs complete windows"):
        gen.score(X_nan)
    assert np.isfinite(gen.score(X))
    with pytest.raises(ValueError, match="score needs complete windows"):
        tiny().fit(X).score(X_nan)
    with pytest.raises(ValueError, match="early_stopping needs complete windows"):
        tiny(allow_nan=True, early_stopping=True, validation_interval=1).fit(X_nan)


def test_all_missing_channel_is_an_error(X):
    X = X.copy()
    X[..., 2] = np.nan
    with pytest.raises(ValueError, match=r"no observed value .* channel\(s\) \[2\]"):
        tiny(allow_nan=True).fit(X)


def test_warm_start_and_2d_input(X_nan):
    gen = tiny(allow_nan=True, warm_start=True).fit(X_nan)
    gen.fit(X_nan)
    assert gen.n_iter_ == 6 and np.isfinite(gen.sample(5, random_state=0)).all()
    X2 = X_nan[:, 0, :]
    with pytest.warns(UserWarning, match="length 1"):
        gen2 = tiny(allow_nan=True).fit(X2)
    assert gen2.transform(X2).shape == (40, 4)
