"""GPU checks: device placement, ``device="auto"``, and pickles of GPU fits that load on CPU.

Skipped where CUDA is absent (CI); run them on a machine with a GPU. The CPU-only side of
portable pickles is tested without a GPU in each estimator's own tests.
"""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import discriminative_score
from sktsgen.models import GRUClassifier, GRURegressor
from sktsgen.over_sampling import LatentAdversarialSampler

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

AVATAR = {"n_iter": 4, "hidden_size": 6, "num_layers": 2, "batch_size": 16, "score_n_iter": 5,
          "metric_n_iter": 5, "random_state": 0}
SAMPLER = {"latent_dim": 8, "n_iter": 3, "predictor_n_iter": 3, "batch_size": 8, "noise_dim": 4,
           "rank": 3, "random_state": 0}
GRU = {"hidden_size": 8, "num_layers": 1, "max_iter": 5, "batch_size": 16, "random_state": 0}


@pytest.fixture(scope="module")
def X():
    return make_sines(60, seq_len=8, n_features=3, random_state=0) * 10.0 + 5.0


@pytest.fixture(scope="module")
def y_class(X):
    return (np.arange(len(X)) % 5 == 0).astype(int)


@pytest.fixture(scope="module")
def y_reg(X):
    return X[:, -2:, 0].mean(axis=1)


def torch_attributes(est):
    """Every fitted torch module and tensor an estimator holds."""
    return {k: v for k, v in vars(est).items()
            if k.endswith("_") and isinstance(v, (torch.nn.Module, torch.Tensor))}


def assert_on(est, device_type):
    assert est.device_.type == device_type
    found = torch_attributes(est)
    assert found, "no torch state found"
    for name, value in found.items():
        tensors = ([value] if isinstance(value, torch.Tensor)
                   else [*value.parameters(), *value.buffers()])
        assert all(t.device.type == device_type for t in tensors), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avatar_fits_samples_and_scores_on_cuda(X, dtype):
    gen = AvatarGenerator(device="cuda", early_stopping=True, validation_fraction=0.25,
                          validation_interval=2, **AVATAR).fit(X.astype(dtype))
    assert_on(gen, "cuda")
    S = gen.sample(300, random_state=1)
    assert S.shape == (300, 8, 3) and S.dtype == dtype and np.isfinite(S).all()
    np.testing.assert_array_equal(S, gen.sample(300, random_state=1))
    H = gen.transform(X.astype(dtype))
    assert isinstance(H, np.ndarray) and H.dtype == dtype
    assert gen.inverse_transform(H).shape == X.shape
    assert 0.0 <= gen.score(X) <= 1.0


def test_avatar_n_jobs_and_batch_norm_recompute_on_cuda(X):
    # n_jobs is ignored on a GPU (one stream): the windows equal a one-job draw's.
    gen = AvatarGenerator(device="cuda", **AVATAR).fit(X)
    np.testing.assert_array_equal(gen.sample(700, random_state=3),
                                  gen.set_params(n_jobs=2).sample(700, random_state=3))
    moving_fit = AvatarGenerator(device="cuda", recompute_batch_norm=False, **AVATAR).fit(X)
    moving = [m.running_mean for m in moving_fit.module_.modules()
              if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    recomputed = [m.running_mean for m in gen.module_.modules()
                  if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert moving and all(t.device.type == "cuda" for t in recomputed)
    assert not all(torch.equal(a, b) for a, b in zip(moving, recomputed, strict=True))


def test_avatar_code_diffusion_on_cuda(X):
    gen = AvatarGenerator(device="cuda", latent_sampling="diffusion", diffusion_n_iter=20,
                          diffusion_batch_size=16, diffusion_hidden_size=8, diffusion_steps=3,
                          **AVATAR).fit(X)
    assert_on(gen, "cuda")
    S = gen.sample(100, random_state=2)
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(S, gen.sample(100, random_state=2))


def test_avatar_warm_start_stays_on_cuda(X):
    gen = AvatarGenerator(device="cuda", warm_start=True, **AVATAR).fit(X)
    gen.set_params(n_iter=2).fit(X)
    assert_on(gen, "cuda")


def test_auto_device_picks_cuda(X, y_class):
    assert_on(AvatarGenerator(device="auto", **AVATAR).fit(X), "cuda")
    assert_on(GRUClassifier(device="auto", **GRU).fit(X, y_class), "cuda")


def test_sampler_and_models_on_cuda(X, y_class, y_reg):
    sampler = LatentAdversarialSampler(device="cuda", **SAMPLER)
    X_res, y_res = sampler.fit_resample(X, y_class)
    assert_on(sampler, "cuda")
    assert np.bincount(y_res)[0] == np.bincount(y_res)[1] and X_res.dtype == X.dtype
    threshold = float(np.quantile(y_reg, 0.9))
    _, y_r = LatentAdversarialSampler(device="cuda", minority_threshold=threshold,
                                      **SAMPLER).fit_resample(X, y_reg)
    assert (y_r > threshold).sum() > (y_reg > threshold).sum()
    reg = GRURegressor(device="cuda", **GRU).fit(X, y_reg)
    assert_on(reg, "cuda")
    assert reg.predict(X).shape == y_reg.shape


def test_on_the_fly_augmenter_follows_the_model_to_cuda(X, y_reg):
    threshold = float(np.quantile(y_reg, 0.9))
    # The augmenter asks for the CPU; it runs where the model runs.
    aug = LatentAdversarialSampler(device="cpu", minority_threshold=threshold,
                                   keep_features=[0], **SAMPLER)
    reg = GRURegressor(device="cuda", **GRU, augmenter=aug).fit(X, y_reg)
    assert_on(reg, "cuda")
    assert_on(reg.augmenter_, "cuda")
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_allclose(restored.predict(X), reg.predict(X), rtol=1e-6)


def test_discriminative_score_on_cuda(X):
    s = discriminative_score(X, X[::-1] + 1.0, n_iter=5, device="cuda", random_state=0)
    assert 0.0 <= s <= 0.5


def test_pickles_of_gpu_fits_load_in_a_process_without_cuda(X, y_class, y_reg, tmp_path):
    fitted = {
        "avatar": AvatarGenerator(device="cuda", **AVATAR).fit(X),
        "sampler": LatentAdversarialSampler(device="cuda", **SAMPLER),
        "regressor": GRURegressor(device="cuda", **GRU).fit(X, y_reg),
        "classifier": GRUClassifier(device="cuda", **GRU).fit(X, y_class),
    }
    fitted["sampler"].fit_resample(X, y_class)
    expected = {
        "avatar": fitted["avatar"].inverse_transform(fitted["avatar"].transform(X)),
        "regressor": fitted["regressor"].predict(X),
        "classifier": fitted["classifier"].predict_proba(X),
    }
    path = tmp_path / "gpu_fits.pkl"
    path.write_bytes(pickle.dumps((fitted, X, expected)))
    # Same GPU process: a pickle round trip stays on the GPU.
    for est in pickle.loads(path.read_bytes())[0].values():
        assert_on(est, "cuda")
    script = textwrap.dedent(f"""
        import pickle, numpy as np, torch
        assert not torch.cuda.is_available()
        fitted, X, expected = pickle.load(open({str(path)!r}, "rb"))
        for name, est in fitted.items():
            assert est.device_.type == "cpu", name
            for p in [t for m in vars(est).values() if isinstance(m, torch.nn.Module)
                      for t in [*m.parameters(), *m.buffers()]]:
                assert p.device.type == "cpu", name
        gen = fitted["avatar"]
        np.testing.assert_allclose(gen.inverse_transform(gen.transform(X)),
                                   expected["avatar"], rtol=1e-3, atol=1e-3)
        assert np.isfinite(gen.sample(50, random_state=0)).all()
        np.testing.assert_allclose(fitted["regressor"].predict(X), expected["regressor"],
                                   rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(fitted["classifier"].predict_proba(X),
                                   expected["classifier"], rtol=1e-3, atol=1e-4)
        print("loaded on CPU")
    """)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "loaded on CPU" in done.stdout


def test_gru_layer_on_cuda_matches_cpu():
    # cuDNN on the GPU, the hand-written recurrence on the CPU; float64 keeps TF32 out.
    from sktsgen.nn import GRULayer

    torch.manual_seed(0)
    layer = GRULayer(3, 5).double()
    x = torch.randn(7, 4, 3, dtype=torch.float64, requires_grad=True)
    (layer(x) ** 2).sum().backward()
    cpu = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    gpu_layer = layer.to("cuda")
    xg = x.detach().to("cuda").requires_grad_(True)
    (gpu_layer(xg) ** 2).sum().backward()
    gpu = [xg.grad] + [p.grad for p in gpu_layer.parameters()]
    for a, b in zip(cpu, gpu):
        torch.testing.assert_close(b.cpu(), a)


def test_windows_of_unequal_lengths_on_cuda():
    from sktsgen.utils import pad_windows, window_lengths

    rng = np.random.default_rng(0)
    windows = [rng.normal(size=(rng.integers(3, 9), 3)) for _ in range(48)]
    y = np.array([w[:, 0].mean() > 0 for w in windows]).astype(int)
    clf = GRUClassifier(device="cuda", early_stopping=True, **GRU).fit(windows, y)
    assert_on(clf, "cuda")
    proba = clf.predict_proba(windows)  # packed sequences on the GPU
    clf.module_.to("cpu")
    clf.device_ = torch.device("cpu")
    # The CPU reads each window cropped to its own steps; cuDNN may use TF32.
    np.testing.assert_allclose(proba, clf.predict_proba(windows), atol=2e-3)
    X = pad_windows(windows)
    sampler = LatentAdversarialSampler(device="cuda", **SAMPLER)
    X_res, _ = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(window_lengths(X_res),
                                  window_lengths(X)[sampler.sample_indices_])
    y_reg = y + rng.normal(size=48)
    threshold = float(np.quantile(y_reg, 0.8))
    aug = LatentAdversarialSampler(minority_threshold=threshold, **SAMPLER)
    reg = GRURegressor(device="cuda", **GRU, augmenter=aug).fit(X, y_reg)
    assert np.isfinite(reg.predict(windows)).all()
