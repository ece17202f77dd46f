import numpy as np
import pytest
import torch

from sktsgen.generation._code_density import fit_code_diffusion, fit_code_mixture
from sktsgen.nn import CodeDiffusion, CodeMixture
from sktsgen.nn._code_diffusion import DenoisingMLP, cosine_alpha_bar
from sktsgen.nn._code_mixture import _gaussian_coords
from sktsgen.utils._torch import make_generator


def mixture_codes(n, seq_len=4, latent=3, seed=0):
    """Codes with two well-separated clusters on a 2-D plane of the flattened space."""
    rng = np.random.RandomState(seed)
    d = seq_len * latent
    basis = np.linalg.qr(rng.randn(d, 2))[0].T  # (2, d), orthonormal rows
    label = rng.rand(n) < 0.3
    coords = rng.randn(n, 2) * [0.5, 0.2] + np.where(label[:, None], [4.0, 0.0], [-2.0, 1.0])
    return (coords @ basis + 0.01 * rng.randn(n, d)).reshape(n, seq_len, latent), label


def assert_two_clusters(flat, real, label, share_tol, max_in_gap):
    """Draws ``flat`` hold the smaller cluster of ``real`` in its share (0.3) and few points
    in the gap between the clusters, along the codes' first principal axis."""
    axis = np.linalg.svd(real - real.mean(0), full_matrices=False)[2][0]
    first, ref = flat @ axis, real @ axis
    split = 0.5 * (ref[label].mean() + ref[~label].mean())
    side = np.sign(ref[label].mean() - split)
    assert abs(np.mean(side * (first - split) > 0) - 0.3) < share_tol
    gap = np.abs(first - split) < 0.5 * np.abs(ref[label].mean() - split)
    assert gap.mean() < max_in_gap


def test_fit_code_mixture_recovers_the_codes_distribution():
    codes, label = mixture_codes(3000)
    mix = fit_code_mixture(codes, n_components=2, n_mixture=2, random_state=0)
    assert isinstance(mix, CodeMixture) and mix.n_components == 2
    np.testing.assert_allclose(np.sort(mix.weights.numpy()), [0.3, 0.7], atol=0.03)
    draws = mix.sample(20000, 4, generator=make_generator(0)).numpy()
    assert draws.shape == (20000, 4, 3)
    flat, real = draws.reshape(len(draws), -1), codes.reshape(len(codes), -1)
    np.testing.assert_allclose(flat.mean(0), real.mean(0), atol=0.06)
    np.testing.assert_allclose(np.cov(flat.T), np.cov(real.T), atol=0.1)
    # Both clusters come back in their proportions (a single Gaussian would fill the gap).
    assert_two_clusters(flat, real, label, share_tol=0.02, max_in_gap=0.05)


def test_fit_code_mixture_caps_components_for_few_windows():
    codes, _ = mixture_codes(12)
    mix = fit_code_mixture(codes, n_components=32, n_mixture=10, random_state=0)
    # At most n - 1 principal components, and one mixture component per k + 1 windows.
    assert mix.n_components == 11 and mix.weights.shape == (1,)
    mix = fit_code_mixture(codes[:2], n_components=32, n_mixture=10, random_state=0)
    assert mix.n_components == 1
    assert torch.isfinite(mix.sample(5, generator=make_generator(0))).all()


def test_fit_code_mixture_is_reproducible():
    codes, _ = mixture_codes(500)
    a = fit_code_mixture(codes, n_components=4, n_mixture=3, random_state=7)
    b = fit_code_mixture(codes, n_components=4, n_mixture=3, random_state=7)
    torch.testing.assert_close(a.sample(50, generator=make_generator(1)),
                               b.sample(50, generator=make_generator(1)), rtol=0, atol=0)


def test_codes_come_in_the_decoders_step_major_layout():
    # Drawn as mean + coords @ components, computed transposed: the decoder's input copy
    # (with_ones_row) then reads whole rows instead of transposing.
    codes, _ = mixture_codes(500)
    mix = fit_code_mixture(codes, n_components=4, n_mixture=3, random_state=7)
    z = mix.sample(50, generator=make_generator(1))
    assert z.shape == (50, mix.seq_len, mix.latent_size)
    assert z.permute(1, 2, 0).is_contiguous()
    generator = make_generator(1)
    k = torch.multinomial(mix.weights, 50, replacement=True, generator=generator)
    e = torch.randn(50, mix.n_components, generator=generator)
    coords = _gaussian_coords(k, mix.means, mix.scale_tril, e)
    want = torch.addmm(mix.mean, coords, mix.components).view(z.shape)
    torch.testing.assert_close(z, want)


def test_code_mixture_rejects_inconsistent_shapes_and_lengths():
    with pytest.raises(ValueError, match="seq_len \\* latent_size"):
        CodeMixture(torch.zeros(5), torch.eye(2, 5), torch.ones(1), torch.zeros(1, 2),
                    torch.eye(2)[None], seq_len=2, latent_size=3)
    with pytest.raises(ValueError, match="scale_tril"):
        CodeMixture(torch.zeros(6), torch.eye(2, 6), torch.ones(1), torch.zeros(1, 3),
                    torch.eye(2)[None], seq_len=2, latent_size=3)
    mix = CodeMixture(torch.zeros(6), torch.eye(2, 6), torch.ones(1), torch.zeros(1, 2),
                      torch.eye(2)[None], seq_len=2, latent_size=3)
    with pytest.raises(ValueError, match="2 steps, not 5"):
        mix.sample(3, 5)


# The noise-prediction loss gives the noisiest levels, which place the clusters, little
# weight: on this toy it needs more iterations than the velocity loss for the same accuracy.
@pytest.mark.parametrize(("precision", "loss_weighting", "n_iter"),
                         [("float32", "noise", 3000), ("bfloat16", "noise", 3000),
                          ("float32", "velocity", 1500)])
def test_fit_code_diffusion_recovers_the_codes_distribution(precision, loss_weighting, n_iter):
    codes, label = mixture_codes(3000)
    diffusion, history = fit_code_diffusion(
        codes, n_components=2, hidden_size=64, n_iter=n_iter, batch_size=256, sampling_steps=25,
        generator=make_generator(0), random_state=0, precision=precision,
        loss_weighting=loss_weighting)
    assert isinstance(diffusion, CodeDiffusion) and not diffusion.training
    assert diffusion.n_components == 2 and diffusion.explained_variance > 0.99
    assert diffusion.loss_weighting == loss_weighting
    # The network starts predicting zero, so the first losses are the targets' own (unit)
    # scale, times the mean weight over noise levels (about one half for "noise").
    start = diffusion.alpha_bar.mean().item() if loss_weighting == "noise" else 1.0
    assert history["iteration"][0] == 0 and len(history["loss"]) == n_iter // 100
    assert history["loss"][0] > 0.95 * start and np.mean(history["loss"][-5:]) < 0.93 * start
    draws = diffusion.sample(4000, 4, generator=make_generator(1)).numpy()
    assert draws.shape == (4000, 4, 3)
    flat, real = draws.reshape(len(draws), -1), codes.reshape(len(codes), -1)
    np.testing.assert_allclose(flat.mean(0), real.mean(0), atol=0.15)
    assert_two_clusters(flat, real, label, share_tol=0.05, max_in_gap=0.1)


def test_code_diffusion_noise_weighting_is_the_noise_prediction_loss():
    # a |v_hat - v|^2 = |noise_hat - noise|^2 with noise_hat = sqrt(1 - a) x_t + sqrt(a) v_hat.
    diffusion = CodeDiffusion(torch.zeros(6), torch.eye(4, 6), torch.ones(4), seq_len=2,
                              latent_size=3, hidden_size=8, num_blocks=1)
    torch.nn.init.normal_(diffusion.denoiser.out[1].weight)  # a non-zero prediction
    coords = torch.randn(16, 4, generator=make_generator(0))
    g = make_generator(5)
    t = torch.randint(0, diffusion.alpha_bar.shape[0], (16,), generator=g)
    noise = torch.randn(coords.shape, generator=g)
    a = diffusion.alpha_bar[t][:, None]
    noised = a.sqrt() * coords + (1 - a).sqrt() * noise
    with torch.no_grad():
        noise_hat = (1 - a).sqrt() * noised + a.sqrt() * diffusion.denoiser(noised, t)
        expected = (noise_hat - noise).pow(2).mean()
        torch.testing.assert_close(diffusion(coords, generator=make_generator(5)), expected)
        diffusion.loss_weighting = "velocity"
        assert not torch.allclose(diffusion(coords, generator=make_generator(5)), expected)
    # A module pickled before the option existed unpickles with the loss it was trained on.
    state = dict(diffusion.__getstate__())
    del state["loss_weighting"]
    old = CodeDiffusion.__new__(CodeDiffusion)
    old.__setstate__(state)
    assert old.loss_weighting == "velocity"
    with pytest.raises(ValueError, match="loss_weighting must be one of"):
        CodeDiffusion(torch.zeros(6), torch.eye(4, 6), torch.ones(4), seq_len=2, latent_size=3,
                      loss_weighting="x0")


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_fit_code_diffusion_is_reproducible(precision):
    codes, _ = mixture_codes(200)
    fits = [fit_code_diffusion(codes, n_components=3, hidden_size=16, n_iter=30, batch_size=32,
                               sampling_steps=5, generator=make_generator(3), random_state=0,
                               precision=precision)
            for _ in range(2)]
    torch.testing.assert_close(*(d.sample(20, generator=make_generator(1)) for d, _ in fits),
                               rtol=0, atol=0)


def test_bfloat16_training_runs_the_products_in_bfloat16_and_keeps_float32_weights():
    codes, _ = mixture_codes(200)
    fits = {p: fit_code_diffusion(codes, n_components=3, hidden_size=16, n_iter=30,
                                  batch_size=32, sampling_steps=5, generator=make_generator(3),
                                  random_state=0, precision=p)[0]
            for p in ("float32", "bfloat16")}
    weights = {p: torch.cat([w.flatten() for w in d.parameters()]) for p, d in fits.items()}
    assert all(w.dtype == torch.float32 for w in weights.values())
    # Same seeds, same batches: only the precision of the products differs, a little.
    gap = (weights["float32"] - weights["bfloat16"]).abs().max()
    assert 0 < gap < 0.05


def test_cosine_schedule_goes_from_signal_to_noise():
    ab = cosine_alpha_bar(1000)
    assert ab.shape == (1000,) and (ab[1:] <= ab[:-1]).all() and ab[500] < 0.6
    assert ab[0] > 0.999 and ab[-1] <= 1e-4


def test_code_diffusion_loss_and_draws():
    d = CodeDiffusion(torch.zeros(6), torch.eye(2, 6), torch.tensor([1.0, 3.0]), seq_len=2,
                      latent_size=3, hidden_size=8, num_blocks=1, sampling_steps=4,
                      loss_weighting="velocity")
    loss = d(torch.randn(16, 2), generator=make_generator(0))
    assert loss.ndim == 0 and loss.requires_grad
    # Zero-initialised output layer: the predicted velocity is 0, so the loss is the
    # velocity's mean square (1 in expectation).
    assert 0.5 < float(loss.detach()) < 1.5
    z = d.sample(5, 2, generator=make_generator(0))
    assert z.shape == (5, 2, 3)
    # Draws lie in the span of the components, mapped back from whitened coordinates.
    flat = z.reshape(5, -1)
    torch.testing.assert_close(flat[:, 2:], torch.zeros(5, 4))
    torch.testing.assert_close(d.coordinates(z) * d.scale, flat[:, :2])


def test_denoiser_takes_one_level_for_every_row():
    # Sampling passes one level per DDIM step; its embedding is computed once and broadcast.
    torch.manual_seed(0)
    denoiser = DenoisingMLP(3, hidden_size=8, num_blocks=2)
    for p in denoiser.parameters():
        torch.nn.init.normal_(p)
    x, t = torch.randn(10, 3), torch.tensor([417])
    with torch.no_grad():
        torch.testing.assert_close(denoiser(x, t), denoiser(x, t.expand(10)))


def test_code_diffusion_rejects_inconsistent_shapes_and_lengths():
    with pytest.raises(ValueError, match="seq_len \\* latent_size"):
        CodeDiffusion(torch.zeros(5), torch.eye(2, 5), torch.ones(2), seq_len=2, latent_size=3)
    with pytest.raises(ValueError, match="scale must have shape \\(2,\\)"):
        CodeDiffusion(torch.zeros(6), torch.eye(2, 6), torch.ones(3), seq_len=2, latent_size=3)
    with pytest.raises(ValueError, match="sampling_steps"):
        CodeDiffusion(torch.zeros(6), torch.eye(2, 6), torch.ones(2), seq_len=2, latent_size=3,
                      n_timesteps=10, sampling_steps=11)
    d = CodeDiffusion(torch.zeros(6), torch.eye(2, 6), torch.ones(2), seq_len=2, latent_size=3,
                      hidden_size=8, num_blocks=1)
    with pytest.raises(ValueError, match="2 steps, not 5"):
        d.sample(3, 5)


@pytest.mark.parametrize("n_iter", [1, 3, 4, 7])
def test_fit_code_diffusion_trains_for_any_number_of_iterations(n_iter):
    codes, _ = mixture_codes(50)
    diffusion, history = fit_code_diffusion(
        codes, n_components=3, hidden_size=8, n_iter=n_iter, batch_size=8, sampling_steps=2,
        generator=make_generator(0), random_state=0)
    assert history["iteration"] == [0] and np.isfinite(history["loss"]).all()
    assert torch.isfinite(diffusion.sample(4, generator=make_generator(0))).all()
