import pickle
from itertools import pairwise

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.nn import CodeDiffusion, CodeMixture, _fast_gru
from sktsgen.nn._avatar import AvatarNet, BNGRUStack, GRULayer, Prior
from sktsgen.nn._fast_gru import (
    augmented_gru_weights,
    half_state_recurrence,
    inference_batch,
    with_ones_row,
)
from sktsgen.nn._functional import batch_variance
from sktsgen.training._avatar import gated_step, train_avatar
from sktsgen.training._common import recompute_batch_norm
from sktsgen.utils._torch import make_generator

TINY = {"n_iter": 2, "hidden_size": 4, "num_layers": 1, "batch_size": 16, "score_n_iter": 5,
        "metric_n_iter": 5}


def tiny(**kw):
    return AvatarGenerator(**{**TINY, "random_state": 0, **kw})


@pytest.fixture(scope="module")
def X():
    # Scaled away from [0, 1] so that tests see the original scale come back.
    return make_sines(40, seq_len=6, n_features=3, random_state=0) * 50.0 - 20.0


@pytest.fixture(scope="module")
def fitted(X):
    return tiny(n_iter=3).fit(X)


@parametrize_with_checks([tiny(num_layers=2)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_windows_do_not_depend_on_their_batch(fitted, X):
    # Exactly, not to rounding: inference pads the batch so that BLAS and elementwise
    # kernels treat every window alike (see sktsgen.nn._fast_gru.with_ones_row). sklearn's
    # check_methods_sample_order_invariance and check_methods_subset_invariance need it.
    H, rng = fitted.transform(X), np.random.RandomState(0)
    G = fitted.inverse_transform(H)
    for _ in range(20):
        idx = rng.permutation(len(X))[: rng.randint(1, len(X) + 1)]
        np.testing.assert_array_equal(fitted.transform(X[idx]), H[idx])
        np.testing.assert_array_equal(fitted.inverse_transform(H[idx]), G[idx])


def flatten(X):
    return X.reshape(len(X), -1)


# ----------------------------------------------------------------------------- networks
@pytest.mark.parametrize("in_size, hid", [(3, 5), (7, 2)])
def test_gru_layer_matches_torch_gru(in_size, hid):
    torch.manual_seed(0)
    layer = GRULayer(in_size, hid).double()
    ref = torch.nn.GRU(in_size, hid).double()
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(5, 4, in_size, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 4, hid, dtype=torch.float64)
    (layer(x) * w).sum().backward()
    ours = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    x.grad = None
    y_ref = ref(x)[0]
    (y_ref * w).sum().backward()
    theirs = [x.grad] + [p.grad for p in ref.parameters()]
    torch.testing.assert_close(layer(x), y_ref)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    with torch.no_grad():  # the forward-only path gives the same outputs
        torch.testing.assert_close(layer(x), y_ref)


def test_gru_layer_skips_only_the_gradients_nobody_needs():
    torch.manual_seed(0)
    layer = GRULayer(3, 5).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    layer(x).sum().backward()
    full = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    # Frozen weights (the discriminator passing gradients on): the input's gradient is unchanged.
    x.grad = None
    layer.requires_grad_(False)
    layer(x).sum().backward()
    torch.testing.assert_close(x.grad, full[0], rtol=0, atol=0)
    # An input without gradient: the weights' gradients are unchanged.
    layer.requires_grad_(True).zero_grad(set_to_none=True)
    layer(x.detach()).sum().backward()
    for p, want in zip(layer.parameters(), full[1:]):
        torch.testing.assert_close(p.grad, want, rtol=0, atol=0)


@pytest.mark.parametrize("batch", [1, 33])
def test_half_state_recurrence_matches_torch_gru(batch):
    # The inference recurrence: feature-major, half coordinates, an input affine folded in.
    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 5).double()
    x = torch.randn(7, batch, 3, dtype=torch.float64)
    scale = torch.rand(3, dtype=torch.float64) + 0.5
    shift = torch.randn(3, dtype=torch.float64)
    weights = augmented_gru_weights(gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0,
                                    gru.bias_hh_l0, scale, shift)
    with torch.no_grad():
        states = half_state_recurrence(with_ones_row(x), *weights)
        want = gru(x * scale + shift)[0]
    assert states.shape == (8, 6, 32 if batch == 1 else 64)  # batch padded to 32 columns
    assert (states[:, 5] == 1).all()
    torch.testing.assert_close(2 * states[1:, :5, :batch].permute(0, 2, 1) - 1, want)


@pytest.mark.parametrize("batch_norm, activation", [(True, "sigmoid"), (False, "identity")])
def test_stack_inference_folds_batch_norm(batch_norm, activation):
    torch.manual_seed(0)
    net = BNGRUStack(3, 5, 3, 2, activation, batch_norm=batch_norm).double()
    x = torch.randn(10, 7, 3, dtype=torch.float64)
    if batch_norm:
        for bn in net.norms:  # statistics and affine parameters away from their defaults
            for t in (bn.running_mean, bn.weight, bn.bias):
                t.data.normal_()
            bn.running_var.data.uniform_(0.5, 2.0)
    net.eval()
    want = net(x)  # with gradients: layer by layer, batch norms as modules
    with torch.no_grad():
        assert net._can_fold()
        torch.testing.assert_close(net(x), want)
        net.train()
        assert not net._can_fold()  # batch statistics: nothing to fold


def test_large_batches_run_in_equal_passes_with_the_same_values(monkeypatch):
    # Passes keep a step's tensors in cache; a window's values must not change with them
    # beyond rounding (BLAS may block a matrix product differently for another batch width).
    assert inference_batch(2048, 24) == 2048 and inference_batch(2300, 24) == 1152
    assert inference_batch(2048, 56) == 704
    assert inference_batch(10, 24) == 32 and inference_batch(100_000, 56) % 32 == 0
    torch.manual_seed(0)
    net = BNGRUStack(3, 5, 3, 2, "sigmoid").eval()
    x = torch.randn(300, 7, 3)
    with torch.no_grad():
        whole = net(x)
        monkeypatch.setattr(_fast_gru, "_INFERENCE_BYTES", 1)  # one aligned pass of 32 each
        assert inference_batch(300, 5) == 32
        torch.testing.assert_close(net(x), whole)


def test_stack_batch_norm_modes():
    torch.manual_seed(0)
    net = BNGRUStack(2, 3, num_layers=2, output_size=2)
    assert len(net.norms) == 2 and net.norms[0].num_features == 2
    x = torch.rand(8, 5, 2)
    net.train()
    net(x)
    assert net.norms[0].num_batches_tracked == 1
    net.eval()
    # In eval mode a window's output does not depend on the rest of the batch.
    torch.testing.assert_close(net(x)[:3], net(x[:3]))
    assert BNGRUStack(2, 3, 2, 1, "identity", batch_norm=False).norms is None


@pytest.mark.parametrize("batch_size", [64, 16])
def test_recompute_batch_norm(batch_size):
    torch.manual_seed(0)
    net = AvatarNet(2, 4, 2, Prior("gaussian", 4))
    x = torch.rand(40, 5, 2) * 3 + 1
    net.train()
    for _ in range(3):  # moving averages of a few batches
        net.reconstruct(x[:8])
    params = [p.detach().clone() for p in net.parameters()]
    first = net.encoder.norms[0]  # normalises the raw windows

    def eval_vs_train_gap():
        net.eval()
        with torch.no_grad():
            eval_out = net.reconstruct(x)
            net.train()
            gap = (eval_out - net.reconstruct(x)).abs().max()
        net.eval()
        return float(gap)

    before = eval_vs_train_gap()
    recompute_batch_norm(net, x, batch_size, make_generator(0), forward=net.reconstruct)
    assert not net.training and first.momentum == 0.1
    assert all(torch.equal(a, b) for a, b in zip(params, net.parameters(), strict=True))
    flat = x.reshape(-1, 2)
    if batch_size >= len(x):  # one batch: the plain statistics of all windows
        torch.testing.assert_close(first.running_mean, flat.mean(0))
        torch.testing.assert_close(first.running_var, flat.var(0))
        assert int(first.num_batches_tracked) == 1
    else:  # equal-weight average over the full batches of a random order
        rows = torch.randperm(len(x), generator=make_generator(0))[:32].view(2, 16)
        torch.testing.assert_close(
            first.running_mean, torch.stack([x[r].reshape(-1, 2).mean(0) for r in rows]).mean(0))
        torch.testing.assert_close(
            first.running_var, torch.stack([x[r].reshape(-1, 2).var(0) for r in rows]).mean(0))
        assert int(first.num_batches_tracked) == 2
    if batch_size >= len(x):
        # Every layer now holds the statistics of its input under the final weights, so eval
        # mode reproduces training mode on that batch (up to the unbiased variance's n / (n - 1)
        # with n = 200 values per channel), where the moving averages were far off.
        assert eval_vs_train_gap() < 2e-3 < before


def test_fit_recomputes_batch_norm_after_training(X):
    plain = tiny(n_iter=3, num_layers=2, recompute_batch_norm=False).fit(X)
    fitted = tiny(n_iter=3, num_layers=2).fit(X)
    for a, b in zip(plain.module_.parameters(), fitted.module_.parameters(), strict=True):
        assert torch.equal(a, b)  # same training; only the statistics differ
    assert not torch.equal(plain.module_.decoder.norms[0].running_mean,
                           fitted.module_.decoder.norms[0].running_mean)
    # fit = training, then the recomputation on the scaled windows, then the code density
    # and the calibration.
    seed = int(np.random.RandomState(0).randint(0, 2**31 - 1))
    data = torch.as_tensor(plain.scaler_.transform(X), dtype=torch.float32)
    recompute_batch_norm(plain.module_, data, plain.batch_size, make_generator(seed),
                         forward=plain.module_.reconstruct)
    plain.code_density_module_ = plain._fit_code_density(plain.scaler_.transform(X), seed)
    assert fitted.calibration_module_ is not None
    plain.calibration_module_ = plain._fit_calibration(data.numpy(), seed)
    # Equal up to float32 rounding: fit sums the batch statistics on one torch thread.
    np.testing.assert_allclose(plain.sample(20, random_state=1),
                               fitted.sample(20, random_state=1), rtol=1e-5)


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "mixture"])
def test_priors(kind):
    torch.manual_seed(0)
    prior = Prior(kind, 4, n_components=3)
    z = prior.sample(2000, 5, generator=make_generator(0))
    assert z.shape == (2000, 5, 4)
    if kind == "uniform":
        assert z.min() >= 0 and z.max() <= 1
    elif kind == "gaussian":
        assert abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1) < 0.05
    else:
        assert prior.means.shape == (3, 4)
        # One component per window: every window's codes lie near one of the means.
        centre = z.mean(1)
        dist = torch.cdist(centre, prior.means).min(1).values
        assert float(dist.max()) < 0.5 * 4


def test_bad_prior():
    with pytest.raises(ValueError, match="prior"):
        Prior("laplace", 3)


def test_gated_step_skips_below_threshold():
    for fused in (True, False):
        p = torch.nn.Parameter(torch.ones(2))
        opt = torch.optim.Adam([p], lr=0.1, fused=fused)
        p.grad = torch.ones(2)
        gated_step(opt, torch.tensor(0.1), 0.15)
        assert torch.equal(p.detach(), torch.ones(2))
        gated_step(opt, torch.tensor(0.2), 0.15)
        assert torch.all(p.detach() < 1)


def _tiny_net(prior="gaussian"):
    torch.manual_seed(0)
    return AvatarNet(2, 3, 1, Prior(prior, 3))


def test_early_stopping_restores_best_weights():
    net = _tiny_net()
    X = torch.rand(30, 5, 2)
    scores = iter([3.0, 1.0, 2.0, 5.0, 6.0, 7.0])
    snapshots = []

    def evaluate():
        snapshots.append({k: v.clone() for k, v in net.state_dict().items()})
        return next(scores)

    hist = train_avatar(net, X, n_iter=12, batch_size=8, learning_rate=1e-2,
                        generator=make_generator(0), evaluate=evaluate, eval_every=2,
                        patience=2)
    val = hist["validation"]
    assert val["iteration"] == [2, 4, 6, 8]
    assert val["best_iteration"] == 4 and val["best_score"] == 1.0
    assert len(hist["joint"]["iteration"]) == 8
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, snapshots[1][k])


# ----------------------------------------------------------------------------- estimator
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtype_and_scale(X, dtype):
    Xd = X.astype(dtype)
    gen = tiny().fit(Xd)
    S = gen.sample(7)
    assert S.shape == (7, 6, 3) and S.dtype == dtype
    # Outputs pass a sigmoid before the inverse scaling: they stay in the data's range.
    lo, hi = X.min(axis=(0, 1)), X.max(axis=(0, 1))
    assert np.all(S >= lo - 1e-3) and np.all(S <= hi + 1e-3)
    assert S.max() > 1.5  # the original scale, not [0, 1]
    H = gen.transform(Xd)
    assert H.shape == (40, 6, 4) and H.dtype == dtype
    back = gen.inverse_transform(H)
    assert back.shape == Xd.shape and back.dtype == dtype
    assert gen.n_features_in_ == 3 and gen.seq_len_ == 6 and gen.hidden_size_ == 4


@pytest.mark.parametrize("n_features, expected", [(3, 24), (12, 24), (13, 26), (28, 56)])
def test_default_hidden_size_is_twice_the_channels_at_least_24(n_features, expected):
    X = np.random.default_rng(0).normal(size=(20, 4, n_features))
    gen = tiny(hidden_size=None, n_iter=1).fit(X)
    assert gen.hidden_size_ == expected
    assert gen.transform(X[:2]).shape == (2, 4, expected)


def test_two_d_input_is_windows_of_length_one():
    X2 = np.random.default_rng(0).normal(size=(30, 3))
    gen = tiny().fit(X2)
    assert gen.seq_len_ == 1 and gen.sample(4).shape == (4, 1, 3)
    assert gen.transform(X2).shape == (30, 4)
    assert gen.inverse_transform(gen.transform(X2)).shape == (30, 3)


def test_same_random_state_gives_identical_fit_and_samples(X, fitted):
    other = tiny(n_iter=3).fit(X)
    assert other.history_ == fitted.history_
    np.testing.assert_array_equal(other.sample(5, random_state=1),
                                  fitted.sample(5, random_state=1))
    # random_state=None continues a stream seeded at fit: new windows, reproducibly.
    a, b = tiny(n_iter=3).fit(X), tiny(n_iter=3).fit(X)
    first, second = a.sample(4), a.sample(4)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, b.sample(4))
    np.testing.assert_array_equal(second, b.sample(4))
    rs = np.random.RandomState(3)
    np.testing.assert_array_equal(fitted.sample(3, random_state=rs),
                                  fitted.sample(3, random_state=np.random.RandomState(3)))


def test_different_random_state_differs(X, fitted):
    other = tiny(n_iter=3, random_state=1).fit(X)
    assert not np.array_equal(other.sample(5, random_state=0), fitted.sample(5, random_state=0))


def test_any_n_samples_and_chunks(fitted, monkeypatch):
    assert fitted.sample(1).shape == (1, 6, 3)
    assert fitted.sample(130).shape == (130, 6, 3)  # more than the 40 training windows
    whole = fitted.sample(7, random_state=5)
    monkeypatch.setattr(AvatarGenerator, "_chunk_size", 7)
    chunked = fitted.sample(20, random_state=5)
    assert chunked.shape == (20, 6, 3) and np.isfinite(chunked).all()
    np.testing.assert_array_equal(chunked[:7], whole)
    H = fitted.transform(make_sines(20, 6, 3, random_state=1))
    monkeypatch.setattr(AvatarGenerator, "_chunk_size", 16384)
    np.testing.assert_allclose(H, fitted.transform(make_sines(20, 6, 3, random_state=1)),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_bad_n_jobs_is_rejected_by_name(X, n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        tiny(n_iter=2, n_jobs=n_jobs).fit(X)


@pytest.mark.parametrize("n_jobs", [2, -1])
def test_n_jobs_gives_the_same_windows(fitted, monkeypatch, n_jobs):
    monkeypatch.setattr(AvatarGenerator, "_chunk_size", 7)  # several chunks per call
    Xn = make_sines(30, 6, 3, random_state=1)
    serial = (fitted.sample(40, random_state=2), fitted.transform(Xn))
    gen = pickle.loads(pickle.dumps(fitted)).set_params(n_jobs=n_jobs)
    threads = torch.get_num_threads()
    parallel = (gen.sample(40, random_state=2), gen.transform(Xn))
    assert torch.get_num_threads() == threads
    for a, b in zip(serial, parallel, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 rounding at most
    np.testing.assert_allclose(gen.inverse_transform(parallel[1]),
                               fitted.inverse_transform(serial[1]), rtol=1e-5, atol=1e-6)


DIFFUSION = {"diffusion_n_iter": 20, "diffusion_batch_size": 16, "diffusion_hidden_size": 8,
             "diffusion_steps": 3}


@pytest.mark.parametrize("latent_sampling", ["fitted", "diffusion", "prior"])
def test_sample_equals_decoding_code_draws(X, latent_sampling):
    gen = tiny(n_iter=3, latent_sampling=latent_sampling, **DIFFUSION).fit(X)
    if latent_sampling == "prior":
        assert gen.code_density_module_ is None
        source = gen.module_.prior
    else:
        source = gen.code_density_module_
        assert isinstance(source, CodeMixture if latent_sampling == "fitted" else CodeDiffusion)
        # At most n_samples - 1 components, and no more than the flattened code size.
        assert source.n_components == min(len(X) - 1, X.shape[1] * gen.hidden_size_)
    z = source.sample(6, 6, generator=make_generator(11))
    np.testing.assert_allclose(gen.inverse_transform(z.numpy().astype(np.float64)),
                               gen.sample(6, random_state=_seed_of(11)),
                               rtol=1e-5)


def _seed_of(seed):
    """A RandomState whose first seed draw is ``seed`` (sample draws one seed from it)."""

    class _Fixed(np.random.RandomState):
        def randint(self, *args, **kwargs):
            return seed

    return _Fixed(0)


def test_pickle_round_trip(fitted):
    clone_ = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone_.sample(9, random_state=2), fitted.sample(9, random_state=2))
    # The sample stream travels too.
    np.testing.assert_array_equal(clone_.sample(3), pickle.loads(pickle.dumps(fitted)).sample(3))
    assert clone_.device_ == torch.device("cpu")


def test_clone_is_unfitted(fitted):
    c = clone(fitted)
    assert not hasattr(c, "module_") and c.get_params() == fitted.get_params()


def test_global_rngs_untouched(X):
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    gen = tiny().fit(X)
    gen.sample(5)
    gen.transform(X)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])


def test_history_contents(X):
    gen = tiny(n_iter=4).fit(X)
    h = gen.history_
    assert set(h) == {"autoencoder", "supervisor", "joint"}
    assert h["autoencoder"]["iteration"] == [0, 1, 2, 3]
    assert set(h["joint"]) == {"iteration", "reconstruction", "adversarial", "supervised",
                               "distribution", "discriminator"}
    assert all(len(v) == 4 and np.all(np.isfinite(v)) for v in h["joint"].values())
    assert gen.n_iter_ == 4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_variance_matches_torch_var(dtype):
    g = torch.Generator().manual_seed(0)
    x = (5 * torch.randn(128, 24, 7, generator=g) + 100).to(dtype).requires_grad_()
    ours, ref = batch_variance(x), x.var(0, unbiased=False)
    torch.testing.assert_close(ours, ref)
    w = torch.randn(24, 7, generator=g).to(dtype)
    (grad_ours,) = torch.autograd.grad((ours * w).sum(), x)
    (grad_ref,) = torch.autograd.grad((ref * w).sum(), x)
    torch.testing.assert_close(grad_ours, grad_ref)


def test_ablation_switches(X):
    gen = tiny(use_supervisor=False, use_distribution_loss=False).fit(X)
    assert gen.module_.supervisor is None and "supervisor" not in gen.history_
    assert gen.history_["joint"]["supervised"] == [0.0, 0.0]
    assert gen.history_["joint"]["distribution"] == [0.0, 0.0]
    assert gen.sample(3).shape == (3, 6, 3)


@pytest.mark.parametrize("prior", ["uniform", "mixture"])
def test_other_priors_fit(X, prior):
    gen = tiny(prior=prior, prior_components=2).fit(X)
    H = gen.transform(X)
    if prior == "uniform":  # encoder ends in a sigmoid, like the prior's support
        assert H.min() >= 0 and H.max() <= 1
    assert gen.sample(4).shape == (4, 6, 3)


def test_verbose_progress(X, capsys):
    tiny(verbose=1).fit(X)
    err = capsys.readouterr().err
    for stage in ("autoencoder", "supervisor", "joint"):
        assert stage in err
    assert "reconstruction=" in err and "discriminator=" in err
    # The steps after training say what they do before they start, and how long they took.
    assert "batch norm     statistics over 40 windows ... " in err
    assert "code density   encoding 40 windows, fitting PCA and a Gaussian mixture ..." in err
    tiny(verbose=1).fit(X, np.arange(len(X)) % 2)
    assert "conditional    a Gaussian mixture per class ... " in capsys.readouterr().err
    tiny().fit(X, np.arange(len(X)) % 2)
    assert capsys.readouterr().err == ""


def test_pipeline_feature_extraction(X):
    y = np.arange(len(X)) % 2
    pipe = make_pipeline(tiny(), FunctionTransformer(flatten), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (40,)


def test_bad_input(X, fitted):
    with pytest.raises(ValueError, match="hidden_size"):
        tiny(hidden_size=0).fit(X)
    with pytest.raises(ValueError, match="prior"):
        tiny(prior="laplace").fit(X)
    with pytest.raises(ValueError, match="device"):
        tiny(device="tpu").fit(X)
    with pytest.raises(ValueError, match="dimension"):
        tiny().fit(X[..., None])
    with pytest.raises(ValueError, match="NaN"):
        tiny().fit(np.where(X > 0, np.nan, X))
    with pytest.raises(ValueError, match="1 sample"):
        tiny().fit(X[:1])
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)
    with pytest.raises(TypeError, match="n_samples"):
        fitted.sample(2.5)
    with pytest.raises(ValueError, match="features"):
        fitted.transform(X[..., :2])
    with pytest.raises(ValueError, match="seq_len"):
        fitted.transform(X[:, :4])
    with pytest.raises(ValueError, match="latent units"):
        fitted.inverse_transform(np.zeros((2, 6, 5)))
    with pytest.raises(ValueError, match="early_stopping"):
        tiny(early_stopping=True, validation_fraction=0.01).fit(X)


def test_input_not_modified(X):
    Xc = X.copy()
    tiny().fit(Xc).transform(Xc)
    np.testing.assert_array_equal(Xc, X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_without_gpu_is_a_clear_error(X):
    with pytest.raises(ValueError, match="CUDA is not available"):
        tiny(device="cuda").fit(X)


# ----------------------------------------------------------------------------- metric-based
def test_score_is_higher_is_better_and_seeded(X, fitted):
    s = fitted.score(X)
    assert 0.0 <= s <= 1.0
    assert s == fitted.score(X)  # samples and classifier seeded by random_state


def test_grid_search_with_default_score(X):
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(tiny(), {"hidden_size": [3, 4]}, cv=2, n_jobs=2).fit(X)
    assert search.best_params_["hidden_size"] in (3, 4)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.sample(2).shape == (2, 6, 3)


def test_early_stopping_in_the_estimator(X):
    gen = tiny(n_iter=6, early_stopping=True, validation_fraction=0.25, validation_interval=2,
               n_iter_no_change=1).fit(X)
    val = gen.history_["validation"]
    assert val["iteration"][: len(val["score"])] == [2, 4, 6][: len(val["score"])]
    assert val["best_score"] == min(val["score"]) and 0 <= val["best_score"] <= 0.5
    assert gen.n_iter_ == val["iteration"][-1]
    assert gen.module_.training is False


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_pickle_from_a_gpu_fit_loads_on_cpu(fitted):
    # A GPU-fitted estimator records device_ = cuda; without CUDA it must come back on CPU.
    gpu_like = pickle.loads(pickle.dumps(fitted))
    gpu_like.device_ = torch.device("cuda")
    restored = pickle.loads(pickle.dumps(gpu_like))
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.sample(4, random_state=0),
                                  fitted.sample(4, random_state=0))


# ----------------------------------------------------------------- correlated prior, weights
def _lag_one(z):
    z = z - z.mean((0, 1))
    return float((z[:, 1:] * z[:, :-1]).mean() / z.pow(2).mean())


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "mixture"])
def test_correlated_prior_keeps_marginals(kind):
    iid = Prior(kind, 3, n_components=2, generator=make_generator(1))
    corr = Prior(kind, 3, n_components=2, correlation=0.8, generator=make_generator(1))
    z0 = iid.sample(4000, 12, generator=make_generator(0))
    z1 = corr.sample(4000, 12, generator=make_generator(0))
    # Same marginal per step (mean and spread), but smooth along time.
    torch.testing.assert_close(z1.mean((0, 1)), z0.mean((0, 1)), atol=0.08, rtol=0)
    torch.testing.assert_close(z1.std((0, 1)), z0.std((0, 1)), atol=0.08, rtol=0)
    if kind == "uniform":
        assert 0 < float(z1.min()) and float(z1.max()) < 1
    if kind != "mixture":  # the mixture's window means add their own correlation
        assert abs(_lag_one(z0)) < 0.03
        assert 0.7 < _lag_one(z1) < 0.85


def test_prior_calibrate_measures_codes():
    target = Prior("gaussian", 4, correlation=0.6)
    codes = target.sample(3000, 20, generator=make_generator(0)) * 3.0 + 1.0
    prior = Prior("gaussian", 4).calibrate(codes)
    torch.testing.assert_close(prior.correlation, torch.full((4,), 0.6), atol=0.05, rtol=0)
    # Anti-correlated codes clip to 0 (i.i.d. prior).
    alt = torch.ones(10, 6, 4)
    alt[:, 1::2] = -1
    assert float(Prior("gaussian", 4).calibrate(alt).correlation.max()) == 0.0
    with pytest.raises(ValueError, match="correlation"):
        Prior("gaussian", 4, correlation=1.0)


def test_prior_correlation_auto_in_the_estimator(X):
    gen = tiny(prior_correlation="auto", n_iter=20).fit(X)
    r = gen.module_.prior.correlation
    assert r.shape == (4,) and float(r.max()) > 0  # sines give smooth codes
    iid = tiny(n_iter=20, prior_correlation=0.0).fit(X)
    assert float(iid.module_.prior.correlation.abs().max()) == 0.0
    fixed = tiny(prior_correlation=0.5).fit(X)
    torch.testing.assert_close(fixed.module_.prior.correlation, torch.full((4,), 0.5))
    a = tiny(prior_correlation="auto").fit(X).sample(7, random_state=3)
    b = tiny(prior_correlation="auto").fit(X).sample(7, random_state=3)
    np.testing.assert_array_equal(a, b)


def test_reconstruction_weight_scales_the_joint_loss():
    torch.manual_seed(0)
    x, z = torch.rand(8, 5, 2), torch.randn(8, 5, 3)
    net = _tiny_net()
    total1, parts = net.joint_losses(x, z)
    net.reconstruction_weight = 4.0
    total4, _ = net.joint_losses(x, z)
    torch.testing.assert_close(total4 - total1, 3.0 * parts["reconstruction"])


# ----------------------------------------------------------------------------- warm start
def test_warm_start_continues_the_joint_stage(X):
    gen = tiny(n_iter=3, warm_start=True).fit(X)
    ae_curve = list(gen.history_["autoencoder"]["reconstruction"])
    first = {k: v.detach().clone() for k, v in gen.module_.state_dict().items()}
    gen.fit(X)
    assert gen.n_iter_ == 6
    assert gen.history_["joint"]["iteration"] == list(range(6))
    assert len(gen.history_["joint"]["discriminator"]) == 6
    assert gen.history_["autoencoder"]["reconstruction"] == ae_curve  # stage 1 not rerun
    changed = [k for k, v in gen.module_.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, first[k])]
    assert changed
    # Reproducible: the same sequence of fits gives the same samples.
    other = tiny(n_iter=3, warm_start=True).fit(X).fit(X)
    np.testing.assert_array_equal(gen.sample(5, random_state=0), other.sample(5, random_state=0))
    # Without warm_start a refit starts over.
    gen.set_params(warm_start=False).fit(X)
    assert gen.n_iter_ == 3 and gen.history_["joint"]["iteration"] == [0, 1, 2]


def test_warm_start_needs_the_fitted_shape(X):
    gen = tiny(warm_start=True).fit(X)
    with pytest.raises(ValueError, match="features"):
        gen.fit(X[:, :, :2])


def test_d_learning_rate_drives_only_the_discriminator():
    def moved(d_lr):
        torch.manual_seed(0)
        net = _tiny_net().train()
        before = {k: v.detach().clone() for k, v in net.named_parameters()}
        train_avatar(net, torch.rand(16, 5, 2), n_iter=3, batch_size=8, learning_rate=1e-2,
                     d_learning_rate=d_lr, generator=make_generator(0))
        return {k: float((v.detach() - before[k]).abs().max()) for k, v in net.named_parameters()}

    slow, fast = moved(1e-12), moved(None)
    disc = [k for k in slow if k.startswith("discriminator.")]
    assert max(slow[k] for k in disc) < 1e-9 < min(fast[k] for k in disc)
    assert min(slow[k] for k in slow if k.startswith("encoder.")) > 1e-4


def test_cosine_schedule(X):
    from sktsgen.training._avatar import cosine_factor

    f = [cosine_factor(i, 50) for i in range(50)]
    assert f[0] == pytest.approx(1.0) and f[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in pairwise(f))
    const = tiny(n_iter=4).fit(X).sample(5, random_state=0)
    cos = tiny(n_iter=4, lr_schedule="cosine").fit(X).sample(5, random_state=0)
    assert not np.array_equal(const, cos)
    with pytest.raises(ValueError, match="lr_schedule"):
        tiny(lr_schedule="step").fit(X)


@pytest.mark.parametrize("latent_sampling, expected", [("fitted", 64), ("diffusion", 128)])
def test_code_pca_components_default_depends_on_the_density(latent_sampling, expected):
    X = make_sines(200, seq_len=8, n_features=3, random_state=0)
    gen = tiny(hidden_size=24, latent_sampling=latent_sampling, **DIFFUSION).fit(X)
    assert gen.code_pca_components is None
    assert gen.code_density_module_.n_components == expected
    assert gen.set_params(code_pca_components=5).fit(X).code_density_module_.n_components == 5


def test_diffusion_sampling_is_reproducible_portable_and_leaves_global_rng_alone(X):
    state = torch.random.get_rng_state()
    gen = tiny(latent_sampling="diffusion", **DIFFUSION).fit(X.astype(np.float32))
    assert torch.equal(state, torch.random.get_rng_state())
    curve = gen.history_["code_diffusion"]
    assert curve["iteration"] == [0] and len(curve["loss"]) == 1  # every 100 iterations
    S = gen.sample(50, random_state=4)
    assert S.shape == (50, *X.shape[1:]) and S.dtype == np.float32 and np.isfinite(S).all()
    again = tiny(latent_sampling="diffusion", **DIFFUSION).fit(X.astype(np.float32))
    np.testing.assert_array_equal(again.sample(50, random_state=4), S)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(gen)).sample(50, random_state=4), S)
    assert not np.array_equal(gen.sample(50, random_state=5), S)


def test_diffusion_loss_weighting_reaches_the_density(X):
    fits = {w: tiny(latent_sampling="diffusion", diffusion_loss_weighting=w, **DIFFUSION).fit(X)
            for w in ("noise", "velocity")}
    assert AvatarGenerator().diffusion_loss_weighting == "noise"
    for w, gen in fits.items():
        assert gen.code_density_module_.loss_weighting == w
    # Same networks and seeds: only the density's loss differs, and so do its draws.
    assert not np.array_equal(*(g.sample(20, random_state=0) for g in fits.values()))


def test_early_stopping_with_diffusion_evaluates_through_a_mixture(X):
    gen = tiny(n_iter=4, latent_sampling="diffusion", early_stopping=True,
               validation_fraction=0.25, validation_interval=2, **DIFFUSION).fit(X)
    assert len(gen.history_["validation"]["score"]) >= 1
    # The evaluations fitted mixtures; the final density is the diffusion, trained once.
    assert isinstance(gen.code_density_module_, CodeDiffusion)
    assert len(gen.history_["code_diffusion"]["loss"]) == 1


@pytest.mark.parametrize("param, value", [("diffusion_steps", 0), ("diffusion_steps", 1001),
                                          ("diffusion_n_iter", 0), ("latent_sampling", "flow"),
                                          ("diffusion_precision", "float16"),
                                          ("diffusion_loss_weighting", "x0")])
def test_bad_diffusion_parameters_are_rejected_by_name(X, param, value):
    with pytest.raises(ValueError, match=param):
        tiny(**{param: value}).fit(X)
