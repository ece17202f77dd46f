"""LatentAdversarialSampler: estimator contract, both tasks, the three objectives, the networks."""

import pickle
from collections import Counter

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.nn._latent import ConvAutoencoder, LatentPerturbation, WeightNormLinear
from sktsgen.over_sampling import RandomWindowOverSampler
from sktsgen.over_sampling._channels import kept_channels, target_channel_scores
from sktsgen.over_sampling._latent_adversarial import LatentAdversarialSampler
from sktsgen.over_sampling._spectrum import apply_gain, power_spectrum, spectral_gain
from sktsgen.training._latent import encode, perturb_windows, train_perturbation
from sktsgen.utils._testing import imblearn_parametrize_with_checks
from sktsgen.utils._torch import make_generator

from .test_base import IMBLEARN_XFAIL

# Networks keep the paper's widths; only the training is shrunk so the checks stay quick.
TINY = {"latent_dim": 8, "n_iter": 2, "predictor_n_iter": 2, "batch_size": 8, "noise_dim": 4,
        "rank": 3}


def _sampler(**kw):
    return LatentAdversarialSampler(**{**TINY, "random_state": 0, **kw})


@parametrize_with_checks([_sampler()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@imblearn_parametrize_with_checks([_sampler()],
                                  expected_failed_checks=lambda est: IMBLEARN_XFAIL)
def test_imblearn_compatible(estimator, check):
    check(estimator)


def _windows(n=40, seq_len=12, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    t = np.arange(seq_len)[None, :, None]
    X = np.sin(0.3 * t + rng.uniform(0, 6, size=(n, 1, d))) + 0.1 * rng.normal(size=(n, seq_len, d))
    return (5.0 + 3.0 * X).astype(dtype)


def _regression_target(n=40, n_rare=5, seed=0, spread=False):
    y = np.random.default_rng(seed).uniform(0, 1, size=n)
    # The rare targets (y > 5) come first, or every few windows so that any fold has some.
    y[np.linspace(0, n - 1, n_rare).astype(int) if spread else slice(0, n_rare)] += 10.0
    return y


# -- the two tasks -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_classification_balances_and_perturbs(dtype):
    X = _windows(dtype=dtype)
    y = np.array([0] * 30 + [1] * 10)
    X_res, y_res = _sampler().fit_resample(X, y)
    assert X_res.shape == (60, 12, 3) and X_res.dtype == dtype
    assert Counter(y_res) == {0: 30, 1: 30}
    np.testing.assert_array_equal(X_res[:40], X)
    new = X_res[40:]
    assert np.isfinite(new).all()
    # New windows are decoded perturbations, not copies, and stay in the data's range.
    assert not any(np.allclose(w, X[y == 1], atol=1e-6) for w in new)
    assert new.min() > X.min() - 3 * X.std() and new.max() < X.max() + 3 * X.std()


def test_regression_float_strategy_multiplies_rare_windows():
    X, y = _windows(), _regression_target()
    n_rare, n_freq = 5, 35
    sampler = _sampler(minority_threshold=5.0, sampling_strategy=4 * n_rare / n_freq)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.task_ == "regression" and sampler.sampling_strategy_ == {"rare": 15}
    assert (y_res > 5.0).sum() == 4 * n_rare and X_res.shape == (55, 12, 3)
    # Every new window keeps its source's target, and sources are rare windows.
    src = sampler.sample_indices_[40:]
    assert (src < n_rare).all()
    np.testing.assert_array_equal(y_res[40:], y[src])


@pytest.mark.parametrize("seq_len", [1, 5, 33])
def test_any_window_length(seq_len):
    X = _windows(seq_len=seq_len)
    X_res, _ = _sampler().fit_resample(X, [0] * 30 + [1] * 10)
    assert X_res.shape == (60, seq_len, 3)


@pytest.mark.parametrize("mode", ["adversarial", "random", "anti-adversarial"])
def test_perturbation_modes(mode):
    X, y = _windows(), _regression_target()
    sampler = _sampler(perturbation=mode, minority_threshold=5.0, predictor_n_iter=3)
    sampler.fit_resample(X, y)
    hist = sampler.history_
    assert len(hist["autoencoder"]["reconstruction"]) == 1  # recorded every 10 iterations
    if mode == "random":
        assert sampler.predictor_module_ is None
        assert not list(sampler.perturbation_module_.parameters())
        assert hist["perturbation"]["iteration"] == []
    else:
        assert len(list(sampler.perturbation_module_.parameters())) == 6
        assert hist["perturbation"]["iteration"] == [0]


def test_residual_keeps_the_source_and_paper_mode_decodes():
    X, y = _windows(), [0] * 30 + [1] * 10
    # A vanishing perturbation isolates the decoding: residual gives the sources back,
    # the paper's decoding gives the autoencoder's (imperfect) reconstruction.
    res = _sampler(scale=1e-9)
    X_res, _ = res.fit_resample(X, y)
    np.testing.assert_allclose(X_res[40:], X[res.sample_indices_[40:]], atol=1e-4)
    full = _sampler(scale=1e-9, residual=False)
    X_full, _ = full.fit_resample(X, y)
    assert np.abs(X_full[40:] - X[full.sample_indices_[40:]]).max() > 0.1


def test_perturb_fraction_leaves_the_other_new_windows_exact_copies():
    X, y = _windows(), _regression_target(n_rare=10)
    kw = {"minority_threshold": 5.0, "sampling_strategy": {"rare": 40}, "random_state": 3}
    full = _sampler(**kw)
    X_full, _ = full.fit_resample(X, y)
    part = _sampler(**kw, perturb_fraction=0.5)
    X_part, _ = part.fit_resample(X, y)
    np.testing.assert_array_equal(part.sample_indices_, full.sample_indices_)
    src = X[part.sample_indices_[40:]]
    copied = (X_part[40:] == src).all(axis=(1, 2))
    # About half are copies (30 new windows, binomial 0.5); none are with the default.
    assert 5 <= copied.sum() <= 25 and not (X_full[40:] == src).all(axis=(1, 2)).any()
    # The perturbed ones are exactly those of perturb_fraction=1 with the same seed.
    np.testing.assert_array_equal(X_part[40:][~copied], X_full[40:][~copied])


# -- reproducibility, pickling, pipelines ---------------------------------------------------
def test_same_random_state_same_output_and_global_rng_untouched():
    X, y = _windows(), _regression_target()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = _sampler(minority_threshold=5.0, random_state=7).fit_resample(X, y)[0]
    assert torch.equal(torch.get_rng_state(), before)
    b = _sampler(minority_threshold=5.0, random_state=7).fit_resample(X, y)[0]
    c = _sampler(minority_threshold=5.0, random_state=8).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[40:], c[40:])


def test_pickle_round_trip_keeps_the_augmenter():
    X, y = _windows(), _regression_target()
    sampler = _sampler(minority_threshold=5.0)
    sampler.fit_resample(X, y)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone.device_ == torch.device("cpu")
    out = sampler._augment(X[:5], y[:5], np.random.RandomState(0))
    np.testing.assert_array_equal(clone._augment(X[:5], y[:5], np.random.RandomState(0)), out)


def _flatten(X):
    return X.reshape(X.shape[0], -1)


def test_pipeline_and_grid_search_parallel():
    X, y = _windows(n=60), _regression_target(n=60, n_rare=8, spread=True)
    pipe = Pipeline([
        ("sampler", _sampler(minority_threshold=5.0)),
        ("flatten", FunctionTransformer(_flatten)),
        ("model", Ridge()),
    ])
    search = GridSearchCV(
        pipe, {"sampler__perturbation": ["adversarial", "random"], "model__alpha": [1.0, 10.0]},
        cv=KFold(2), n_jobs=2, scoring="neg_mean_squared_error",
    )
    search.fit(X, y)
    assert search.predict(X[:3]).shape == (3,)
    assert len(search.cv_results_["params"]) == 4


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        ({"perturbation": "gaussian"}, "perturbation"),
        ({"scale": 0.0}, "scale"),
        ({"n_iter": 0}, "n_iter"),
        ({"n_iter": "epochs"}, "n_iter"),
        ({"predictor_n_iter": "many"}, "predictor_n_iter"),
        ({"batch_size": 1}, "batch_size"),
        ({"discriminator_costs": (1.0,)}, "discriminator_costs"),
        ({"discriminator_costs": (1.0, -0.1)}, "discriminator_costs"),
        ({"device": "tpu"}, "device"),
        ({"perturb_fraction": 0.0}, "perturb_fraction"),
        ({"perturb_fraction": 1.5}, "perturb_fraction"),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        _sampler(**params).fit_resample(_windows(), [0] * 30 + [1] * 10)


@pytest.mark.parametrize(
    "n_samples, batch_size, expected",
    [(40, 8, 100), (300, 128, 100), (5000, 128, 196), (15751, 128, 600), (20000, 128, 600)],
)
def test_auto_iterations_follow_the_data_size(n_samples, batch_size, expected):
    sampler = LatentAdversarialSampler(batch_size=batch_size)
    assert sampler._iterations("auto", n_samples) == expected
    assert sampler._iterations(7, n_samples) == 7


def test_auto_iterations_are_what_fit_trains_for():
    sampler = _sampler(n_iter="auto", predictor_n_iter="auto", minority_threshold=5.0)
    sampler.fit_resample(_windows(), _regression_target())
    assert sampler.n_iter_ == sampler.predictor_n_iter_ == 100  # 5 passes of 40 is 25 < 100
    # Losses are recorded every 10 iterations: 0, 10, ..., 90.
    assert sampler.history_["autoencoder"]["iteration"][-1] == 90
    assert sampler.history_["perturbation"]["iteration"][-1] == 90
    fixed = _sampler(minority_threshold=5.0).fit(_windows(), _regression_target())
    fixed.fit_resample(_windows(), _regression_target())
    assert fixed.n_iter_ == fixed.predictor_n_iter_ == 2


def test_continuous_target_without_rule_says_how_to_set_one():
    with pytest.raises(ValueError, match="minority_threshold"):
        _sampler().fit_resample(_windows(), _regression_target())


def test_verbose_prints_progress(capsys):
    _sampler(verbose=1, minority_threshold=5.0, recompute_batch_norm=True).fit_resample(
        _windows(), _regression_target())
    err = capsys.readouterr().err
    assert "autoencoder" in err and "perturbation" in err and "reconstruction=" in err
    for step in ("channels       scoring which channels carry the target ... ",
                 "batch norm     statistics over 40 windows ... ",
                 "spectrum       changes of 5 windows ... ",
                 "new windows    perturbing 30 windows ... "):
        assert step in err
    _sampler(minority_threshold=5.0).fit_resample(_windows(), _regression_target())
    assert capsys.readouterr().err == ""


# -- the networks and the objective ----------------------------------------------------------
def test_autoencoder_latent_has_no_time_axis_and_paper_sizes():
    ae = ConvAutoencoder(n_features=6, seq_len=32, latent_dim=512)
    x = torch.randn(4, 32, 6)
    assert ae.encoder(x.transpose(1, 2)).shape == (4, 256, 2)  # Section 3.4's conv output
    assert ae.encode(x).shape == (4, 512)
    assert ae(x).shape == x.shape


def test_running_statistics_first_batch_sets_then_moving_average():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(64, 6, generator=g), 3 * torch.randn(64, 6, generator=g) + 1
    pert = LatentPerturbation(6, scale=0.1, noise_dim=4, rank=3, center=True, momentum=0.25)
    pert.update_statistics(z1)
    torch.testing.assert_close(pert.running_var, z1.var(0, unbiased=False))
    pert.update_statistics(z2)
    expected = 0.75 * z1.var(0, unbiased=False) + 0.25 * z2.var(0, unbiased=False)
    torch.testing.assert_close(pert.running_var, expected)
    pert.train()
    pert._center_of(z1)
    torch.testing.assert_close(pert.running_mean, z1.mean(0))
    pert._center_of(z2)
    torch.testing.assert_close(pert.running_mean, 0.75 * z1.mean(0) + 0.25 * z2.mean(0))
    assert int(pert.n_updates) == int(pert.n_mean_updates) == 2


def test_weight_norm_linear_norm_is_the_gain():
    layer = WeightNormLinear(5, 3)
    with torch.no_grad():
        layer.direction.mul_(10.0)
    w = layer.direction * (layer.gain / layer.direction.norm(dim=1)).unsqueeze(1)
    torch.testing.assert_close(w.norm(dim=1), layer.gain)


def test_perturbation_size_follows_latent_spread():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4000, 6, generator=g) * torch.tensor([0.1, 1.0, 10.0, 1.0, 1.0, 1.0])
    random = LatentPerturbation(6, mode="random", scale=0.1)
    random.update_statistics(z)
    # Per element about scale * std(z): the re-scaling layer at work.
    ratio = random.eval().delta(z, generator=g).std(dim=0) / (0.1 * z.std(dim=0))
    torch.testing.assert_close(ratio, torch.ones(6), atol=0.1, rtol=0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        learned = LatentPerturbation(6, scale=0.1, noise_dim=4, rank=3)
    learned.update_statistics(z)
    # The learned direction is standardised per window before the same re-scaling.
    unit = learned.eval().delta(z, generator=g) / (0.1 * z.std(dim=0, unbiased=False))
    torch.testing.assert_close(unit.mean(dim=1), torch.zeros(4000), atol=1e-4, rtol=0)
    torch.testing.assert_close(unit.var(dim=1, unbiased=False), torch.ones(4000), atol=1e-3, rtol=0)


class _LinearAutoencoder(torch.nn.Module):
    """A stand-in whose decoder responds strongly to the latent (an untrained conv one barely
    does), so the sign of the objective shows within a few steps."""

    def __init__(self):
        super().__init__()
        self.enc, self.dec = torch.nn.Linear(16, 6), torch.nn.Linear(6, 16)

    def encode(self, x):
        return self.enc(x.flatten(1))

    def decode(self, z):
        return self.dec(z).view(-1, 8, 2)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mode, sign", [("adversarial", 1), ("anti-adversarial", -1)])
def test_objective_sign_against_a_frozen_predictor(mode, sign, seed):
    # With the predictor's learning rate at zero only the perturbation learns: the
    # adversarial one must raise the predictor's loss on perturbed windows, the other lower it.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        X = torch.rand(64, 8, 2)
        y = X[:, :, 0].mean(dim=1) * 4 - 2
        ae = _LinearAutoencoder()
        ae_state = {k: v.clone() for k, v in ae.state_dict().items()}
        predictor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1))
        pert = LatentPerturbation(6, mode=mode, scale=1.0, noise_dim=2, rank=2)

        def loss():
            x_new = perturb_windows(pert, ae, X, generator=make_generator(1))
            with torch.no_grad():
                return float(((predictor(x_new).squeeze(1) - y) ** 2).mean())

        Z = encode(ae, X)
        pert.update_statistics(Z)
        before = loss()
        train_perturbation(
            pert, ae, predictor, Z, X, y, source_weights=None, task="regression", n_iter=100,
            batch_size=64, lr=0.05, predictor_lr=1e-12, generator=make_generator(0),
            device="cpu",
        )
        after = loss()
    assert sign * (after - before) > 0.1 * before, (before, after)
    # The autoencoder stays frozen, and trainable again afterwards.
    for k, v in ae.state_dict().items():
        torch.testing.assert_close(v, ae_state[k])
    assert all(p.requires_grad for p in ae.parameters())


def _biased_perturbation(center):
    """A learned module whose affine map has a large bias: every window gets the same push."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        pert = LatentPerturbation(6, scale=0.1, noise_dim=4, rank=3, center=center)
    with torch.no_grad():
        pert.up.bias.copy_(torch.tensor([5.0, -5.0, 0.0, 0.0, 0.0, 0.0]))
    return pert


def test_centred_perturbation_shares_no_common_direction():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(256, 6, generator=g)
    plain, centred = _biased_perturbation(False), _biased_perturbation(True)
    for pert in (plain, centred):
        pert.update_statistics(z)
    unit = 1 / (0.1 * z.std(dim=0, unbiased=False))
    # The bias shifts every window's perturbation the same way without centring...
    assert (plain.train().delta(z, generator=g) * unit).mean(0).abs().max() > 0.5
    # ...centring removes that shift in training (batch mean) and at generation (running mean).
    shift = (centred.train().delta(z, generator=g) * unit).mean(0)
    torch.testing.assert_close(shift, torch.zeros(6), atol=1e-5, rtol=0)
    for _ in range(30):
        centred.delta(z, generator=g)
    assert int(centred.n_mean_updates) == 31
    assert (centred.eval().delta(z, generator=g) * unit).mean(0).abs().max() < 0.1
    # The random perturbation has nothing to centre.
    assert LatentPerturbation(6, mode="random", center=True).running_mean.numel() == 0


def test_sampler_center_reaches_the_module():
    X, y = _windows(), _regression_target()
    kw = {"minority_threshold": 5.0, "predictor_n_iter": 3}
    centred = _sampler(center=True, **kw)
    X_c, _ = centred.fit_resample(X, y)
    assert centred.perturbation_module_.center
    assert int(centred.perturbation_module_.n_mean_updates) == 3
    X_p, _ = _sampler(**kw).fit_resample(X, y)
    assert not np.allclose(X_c[len(X):], X_p[len(X):])


def test_random_fraction_mixes_fresh_noise_into_the_direction():
    z = torch.randn(500, 6, generator=torch.Generator().manual_seed(0))

    def module(fraction, seed):
        pert = _biased_perturbation(False)  # a learned part that ignores its noise input
        with torch.no_grad():
            pert.down.direction[:, 6:] = 0.0
            pert.up.direction.mul_(1.0 + seed)
        pert.random_fraction = fraction
        pert.update_statistics(z)
        return pert.eval()

    def draw(pert, seed):
        return pert.delta(z, generator=make_generator(seed))

    # f = 0: two draws for the same windows coincide (the paper's module here).
    torch.testing.assert_close(draw(module(0.0, 0), 1), draw(module(0.0, 0), 2))
    # f = 1: only noise, whatever the learned weights are.
    torch.testing.assert_close(draw(module(1.0, 0), 1), draw(module(1.0, 1), 1))
    # f = 0.5: half the variance is fresh per draw, so two draws differ by about its size.
    half = module(0.5, 0)
    a, b = draw(half, 1), draw(half, 2)
    ratio = ((a - b).norm(dim=1) / a.norm(dim=1)).median()
    assert 0.8 < float(ratio.detach()) < 1.2
    with pytest.raises(ValueError, match="random_fraction"):
        LatentPerturbation(6, random_fraction=1.5)
    with pytest.raises(ValueError, match="random_fraction"):
        _sampler(random_fraction=-0.1).fit_resample(_windows(), _regression_target())


def test_recompute_batch_norm_replaces_the_autoencoders_moving_averages():
    X, y = _windows(), np.array([0] * 30 + [1] * 10)
    plain, recomputed = _sampler(), _sampler(recompute_batch_norm=True)
    plain.fit_resample(X, y)
    first = recomputed.fit_resample(X, y)
    norms = [m for m in recomputed.autoencoder_module_.modules()
             if isinstance(m, torch.nn.BatchNorm1d)]
    assert norms and not recomputed.autoencoder_module_.training
    # Same training; only the statistics differ (a pass of 5 batches of 8 windows).
    for a, b in zip(plain.autoencoder_module_.parameters(),
                    recomputed.autoencoder_module_.parameters(), strict=True):
        assert torch.equal(a, b)
    assert all(int(m.num_batches_tracked) == 5 for m in norms)
    assert not torch.equal(norms[0].running_mean,
                           next(m for m in plain.autoencoder_module_.modules()
                                if isinstance(m, torch.nn.BatchNorm1d)).running_mean)
    again = _sampler(recompute_batch_norm=True).fit_resample(X, y)
    np.testing.assert_array_equal(first[0], again[0])


# -- keep_features -------------------------------------------------------------------------
@pytest.mark.parametrize("keep", [[0], [-3], np.array([True, False, False])])
def test_keep_features_copies_those_channels_and_perturbs_the_others(keep):
    X, y = _windows(), _regression_target()
    sampler = _sampler(minority_threshold=5.0, keep_features=keep)
    X_res, _ = sampler.fit_resample(X, y)
    src = sampler.sample_indices_[40:]
    np.testing.assert_array_equal(sampler.keep_mask_, [True, False, False])
    np.testing.assert_array_equal(X_res[40:, :, 0], X[src, :, 0])
    assert np.abs(X_res[40:, :, 1:] - X[src, :, 1:]).min(axis=(1, 2)).max() > 0
    plain = _sampler(minority_threshold=5.0, keep_features=None).fit_resample(X, y)[0]
    # The other channels are those of a sampler whose perturbation trained under the
    # constraint: not the unconstrained sampler's windows with channel 0 pasted back.
    assert not np.array_equal(X_res[40:, :, 1:], plain[40:, :, 1:])
    assert _sampler(minority_threshold=5.0).get_params()["keep_features"] == "auto"


class _FirstChannelPredictor(torch.nn.Module):
    """Reads only channel 0 of (batch, 8, 2) windows."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.linear(x[:, :, 0])


@pytest.mark.parametrize("keep, moves", [(None, True), ([True, False], False)])
def test_kept_channels_give_the_adversary_no_gradient(keep, moves):
    # A predictor that reads only channel 0: once channel 0 is kept from the source, the
    # perturbation cannot change the loss, so it gets zero gradients and does not move.
    with torch.random.fork_rng():
        torch.manual_seed(0)
        X = torch.rand(64, 8, 2)
        y = X[:, :, 0].mean(dim=1) * 4 - 2
        ae, predictor = _LinearAutoencoder(), _FirstChannelPredictor()
        pert = LatentPerturbation(6, scale=1.0, noise_dim=2, rank=2)
    before = [p.detach().clone() for p in pert.parameters()]
    Z = encode(ae, X)
    train_perturbation(
        pert, ae, predictor, Z, X, y, source_weights=None, task="regression", n_iter=5,
        batch_size=16, lr=0.05, predictor_lr=1e-3, generator=make_generator(0), device="cpu",
        residual=True, keep=None if keep is None else torch.tensor(keep),
    )
    changed = any(not torch.equal(a, b) for a, b in zip(before, pert.parameters(), strict=True))
    assert changed is moves


@pytest.mark.parametrize(
    "keep, error, match",
    [
        ([3], ValueError, "outside the 3 channels"),
        ([-4], ValueError, "outside the 3 channels"),
        ([0, 1, 2], ValueError, "keeps all 3 channels"),
        ([True, False], ValueError, "one entry per channel"),
        ([[0]], ValueError, "1-D"),
        ([0.5], TypeError, "int channel indices"),
    ],
)
def test_bad_keep_features_are_named(keep, error, match):
    with pytest.raises(error, match=match):
        _sampler(minority_threshold=5.0, keep_features=keep).fit_resample(
            _windows(), _regression_target())


def _target_in_channel(n=200, seq_len=12, seed=0):
    """Windows whose channel 1 holds the target's history; channels 0 and 2 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, seq_len, 3))
    level = rng.gamma(2.0, size=n)
    X[:, :, 1] += 3.0 * level[:, None]
    return X, level + 0.1 * rng.normal(size=n)


def test_target_channel_scores_find_the_channel_that_carries_the_target():
    X, y = _target_in_channel()
    scores = target_channel_scores(X, y)
    assert scores.shape == (3,)
    assert scores[1] > 0.8 and scores[0] < 0.1 and scores[2] < 0.1
    X[:, :, 2] = 7.0  # a constant channel explains nothing
    assert target_channel_scores(X, y)[2] == 0.0
    assert not target_channel_scores(X, np.ones(200)).any()


def test_keep_features_auto_keeps_the_target_channel_in_regression_only():
    X, y = _target_in_channel()
    threshold = float(np.quantile(y, 0.9))
    sampler = _sampler(minority_threshold=threshold, keep_features="auto")
    X_res, _ = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(sampler.keep_mask_, [False, True, False])
    assert sampler.target_scores_[1] > 0.8
    src = sampler.sample_indices_[200:]
    np.testing.assert_array_equal(X_res[200:, :, 1], X[src, :, 1])
    assert np.abs(X_res[200:, :, 0] - X[src, :, 0]).max() > 0
    # Classification: labels have no channel of their own, every channel is perturbed.
    labels = (y > threshold).astype(int)
    fitted = _sampler(keep_features="auto")
    fitted.fit_resample(X, labels)
    assert fitted.keep_mask_ is None and fitted.target_scores_ is None


def test_keep_features_auto_perturbs_every_channel_when_all_or_none_carry_the_target():
    X, y = _target_in_channel()
    noise_only = X[:, :, [0, 2]]
    sampler = _sampler(minority_threshold=float(np.quantile(y, 0.9)), keep_features="auto")
    sampler.fit_resample(noise_only, y)
    assert sampler.keep_mask_ is None and sampler.target_scores_.max() < 0.25
    target_only = X[:, :, [1]]
    sampler.fit_resample(target_only, y)
    assert sampler.keep_mask_ is None and sampler.target_scores_[0] > 0.8


# -- perturbation_snapshots ------------------------------------------------------------------
def test_one_snapshot_is_the_default_and_several_come_from_distinct_states():
    X, y = _windows(), _regression_target()
    kw = {"minority_threshold": 5.0, "predictor_n_iter": 12}
    default = _sampler(**kw)
    X_default = default.fit_resample(X, y)[0]
    assert default.perturbation_snapshots_ is None
    np.testing.assert_array_equal(
        _sampler(**kw, perturbation_snapshots=1).fit_resample(X, y)[0], X_default)
    sampler = _sampler(**kw, perturbation_snapshots=3)
    X_res = sampler.fit_resample(X, y)[0]
    states = [*sampler.perturbation_snapshots_, sampler.perturbation_module_]
    assert len(states) == 3
    weights = [torch.cat([p.detach().flatten() for p in s.parameters()]) for s in states]
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
    # The training is the same: the final state and the originals do not change.
    final = torch.cat([p.detach().flatten() for p in default.perturbation_module_.parameters()])
    torch.testing.assert_close(weights[2], final, rtol=0, atol=0)
    np.testing.assert_array_equal(X_res[:40], X)
    assert not np.array_equal(X_res[40:], X_default[40:])
    restored = pickle.loads(pickle.dumps(sampler))
    assert len(restored.perturbation_snapshots_) == 2


def test_train_perturbation_returns_evenly_spaced_copies():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        X = torch.rand(64, 8, 2)
        y = X[:, :, 0].mean(dim=1)
        ae, predictor = _LinearAutoencoder(), _FirstChannelPredictor()
        pert = LatentPerturbation(6, scale=1.0, noise_dim=2, rank=2)
    kw = {"source_weights": None, "task": "regression", "batch_size": 16, "lr": 0.05,
          "predictor_lr": 1e-3, "device": "cpu"}
    _, states = train_perturbation(pert, ae, predictor, encode(ae, X), X, y, n_iter=6,
                                   generator=make_generator(0), snapshots=3, **kw)
    assert len(states) == 3 and all(not s.training for s in states)
    for a, b in zip(states[-1].parameters(), pert.parameters(), strict=True):
        assert torch.equal(a, b)
    first, last = (torch.cat([p.flatten() for p in s.parameters()]) for s in (states[0], states[2]))
    assert not torch.equal(first, last)
    # More copies than iterations: copies share an iteration, the count is kept.
    _, states = train_perturbation(pert, ae, predictor, encode(ae, X), X, y, n_iter=2,
                                   generator=make_generator(0), snapshots=5, **kw)
    assert len(states) == 5


# -- jitter ----------------------------------------------------------------------------------
def test_jitter_adds_noise_of_its_size_to_the_perturbed_channels_only():
    X, y = _windows(n=200), _regression_target(n=200, n_rare=40)
    kw = {"minority_threshold": 5.0, "keep_features": [0], "sampling_strategy": 0.5}
    quiet = _sampler(**kw, jitter=0.0).fit_resample(X, y)[0][200:]
    sampler = _sampler(**kw, jitter=0.5)
    noisy = sampler.fit_resample(X, y)[0][200:]
    assert sampler.jitter_ == 0.5
    np.testing.assert_allclose(sampler.channel_std_, X.std(axis=(0, 1)))
    np.testing.assert_array_equal(noisy[..., 0], quiet[..., 0])  # kept: exact copies
    ratio = (noisy - quiet)[..., 1:].std(axis=(0, 1)) / (0.5 * X.std(axis=(0, 1))[1:])
    np.testing.assert_allclose(ratio, 1.0, atol=0.05)


@pytest.mark.parametrize(
    "params, expected",
    [({"keep_features": [0]}, 0.5), ({}, 0.0), ({"keep_features": [0], "jitter": 0.2}, 0.2)],
)
def test_jitter_auto_needs_kept_channels(params, expected):
    sampler = _sampler(**{"minority_threshold": 5.0, **params})  # jitter="auto" by default
    sampler.fit_resample(_windows(), _regression_target())
    assert sampler.jitter_ == expected


def test_jitter_leaves_the_plain_copies_of_perturb_fraction_exact():
    X, y = _windows(n=200), _regression_target(n=200, n_rare=40)
    sampler = _sampler(minority_threshold=5.0, keep_features=[0], jitter=0.5,
                       perturb_fraction=0.5, sampling_strategy=0.5)
    X_res = sampler.fit_resample(X, y)[0]
    new, src = X_res[200:], X[sampler.sample_indices_[200:]]
    exact = (new == src).all(axis=(1, 2))
    assert 0.3 < exact.mean() < 0.7
    assert (np.abs(new[~exact] - src[~exact])[..., 1:].mean(axis=(1, 2)) > 0.1).all()


def test_negative_jitter_is_named():
    with pytest.raises(ValueError, match="jitter"):
        _sampler(jitter=-0.1).fit_resample(_windows(), [0] * 30 + [1] * 10)


def test_keep_features_auto_ignores_a_chance_score_on_few_windows():
    # 40 windows of 12 steps and 5 extreme targets: channel 1 reaches R^2 0.27 by chance.
    X, y = _windows(), _regression_target()
    mask, scores = kept_channels("auto", X, y, "regression")
    assert scores[1] > 0.25 and mask is None


# -- symmetric steps ----------------------------------------------------------------------
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_symmetric_steps_go_both_ways_along_the_same_perturbation(task):
    X = _windows(n=60)
    if task == "regression":
        y, kw = _regression_target(n=60, n_rare=6), {"minority_threshold": 5.0,
                                                     "keep_features": None}
    else:
        y, kw = np.r_[np.zeros(50), np.ones(10)].astype(int), {}
    full = _sampler(predictor_n_iter=5, symmetric=False, **kw)
    X_full, y_full = full.fit_resample(X, y)
    sym = _sampler(predictor_n_iter=5, **kw)  # symmetric by default
    X_sym, y_sym = sym.fit_resample(X, y)
    n = len(X)
    # Training is the same: same sources, targets and modules; only the steps differ.
    np.testing.assert_array_equal(sym.sample_indices_, full.sample_indices_)
    np.testing.assert_array_equal(y_sym, y_full)
    np.testing.assert_array_equal(X_sym[:n], X)
    source = X[sym.sample_indices_[n:]]
    step_full = (X_full[n:] - source).reshape(len(source), -1)
    step_sym = (X_sym[n:] - source).reshape(len(source), -1)
    # Each symmetric step lies along its own full perturbation, with a length in [-1, 1] of it.
    along = (step_sym * step_full).sum(1) / (step_full ** 2).sum(1)
    assert along.min() < -0.2 and along.max() > 0.2
    assert np.all(np.abs(along) <= 1.05)
    # The full perturbations share a push; the symmetric ones (mean step ~0) much less.
    shared = np.linalg.norm(step_full.mean(0)) / np.linalg.norm(step_full, axis=1).mean()
    shared_sym = np.linalg.norm(step_sym.mean(0)) / np.linalg.norm(step_full, axis=1).mean()
    assert shared_sym < 0.5 * shared
    # Reproducible.
    X_again, _ = _sampler(predictor_n_iter=5, **kw).fit_resample(X, y)
    np.testing.assert_array_equal(X_again, X_sym)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sources_are_those_duplication_draws_with_the_same_random_state(task):
    X = _windows(n=60)
    if task == "regression":
        y, kw = _regression_target(n=60, n_rare=6), {"minority_threshold": 5.0}
    else:
        y, kw = np.r_[np.zeros(50), np.ones(10)].astype(int), {}
    latent = _sampler(random_state=7, **kw)
    latent.fit_resample(X, y)
    duplication = RandomWindowOverSampler(random_state=7, **kw)
    duplication.fit_resample(X, y)
    np.testing.assert_array_equal(latent.sample_indices_, duplication.sample_indices_)
    # A RandomState instance passed in is still advanced (by the sources' and noise draws).
    state = np.random.RandomState(7)
    _sampler(random_state=state, **kw).fit_resample(X, y)
    assert not np.array_equal(state.get_state()[1], np.random.RandomState(7).get_state()[1])


# -- match_spectrum ----------------------------------------------------------------------
def _sines(n=50, seq_len=64, d=2, period=32, seed=0):
    t = np.arange(seq_len)[None, :, None]
    phase = np.random.default_rng(seed).uniform(0, 6, size=(n, 1, d))
    return np.sin(2 * np.pi * t / period + phase)


def test_spectral_gain_caps_each_frequency_at_the_changes_share_of_the_data():
    smooth = _sines()
    change = 0.1 * np.random.default_rng(1).normal(size=smooth.shape)
    gain = spectral_gain(smooth, change)
    assert gain.shape == (33, 2)
    assert np.all((gain >= 0) & (gain <= 1)) and np.all(gain[0] == 1)
    shaped = apply_gain(change, gain)
    p_ref, p_chg, p_new = power_spectrum(smooth), power_spectrum(change), power_spectrum(shaped)
    share = p_chg[1:].sum(0) / p_ref[1:].sum(0)
    assert np.all(p_new[1:] <= share * p_ref[1:] * (1 + 1e-9) + 1e-12)
    # White noise on sines of period 32: nearly all of it goes, the sines' frequency stays.
    assert p_new[1:].sum() < 0.1 * p_chg[1:].sum()
    np.testing.assert_array_equal(gain[64 // 32], 1.0)
    np.testing.assert_allclose(shaped.mean(axis=1), change.mean(axis=1), atol=1e-12)


def test_spectral_gain_leaves_a_change_shaped_like_the_data_and_a_constant_channel():
    smooth = _sines() + 0.01 * np.random.default_rng(2).normal(size=(50, 64, 2))
    np.testing.assert_allclose(spectral_gain(smooth, 0.1 * smooth), 1.0, rtol=1e-7)
    smooth[..., 1] = 3.0  # constant: a change keeps only its mean
    change = np.random.default_rng(1).normal(size=smooth.shape)
    gain = spectral_gain(smooth, change)
    assert gain[0, 1] == 1 and np.all(gain[1:, 1] == 0)
    shaped = apply_gain(change, gain)[..., 1]
    np.testing.assert_allclose(shaped, np.broadcast_to(change[..., 1].mean(1, keepdims=True),
                                                       shaped.shape), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_match_spectrum_filters_each_change_with_the_fitted_gain(dtype):
    X = _windows(n=60, seq_len=16, dtype=dtype)
    y = np.r_[np.zeros(50), np.ones(10)].astype(int)
    raw = _sampler(match_spectrum=False)
    X_raw, _ = raw.fit_resample(X, y)
    shaped = _sampler()  # match_spectrum=True by default
    X_shaped, _ = shaped.fit_resample(X, y)
    assert raw.spectral_gain_ is None
    gain = shaped.spectral_gain_
    assert gain.shape == (9, 3) and np.all((gain >= 0) & (gain <= 1)) and gain.min() < 1
    assert X_shaped.dtype == dtype
    n = len(X)
    np.testing.assert_array_equal(shaped.sample_indices_, raw.sample_indices_)
    np.testing.assert_array_equal(X_shaped[:n], X)
    # Same training and draws: the new windows are the raw changes filtered by the gain
    # (the per-channel scaling commutes with the filter).
    source = X[shaped.sample_indices_[n:]].astype(np.float64)
    expected = source + apply_gain(X_raw[n:] - source, gain)
    tol = 1e-5 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(X_shaped[n:], expected, rtol=tol, atol=tol * X.std())
    assert not np.allclose(X_shaped[n:], X_raw[n:])
