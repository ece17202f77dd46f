"""A denoising diffusion model over principal coordinates of code sequences, as a torch module.

Where a window's codes span many dimensions (Energy: 24 steps x 28 units), a Gaussian mixture
on a few principal components loses detail the decoder needs. A diffusion model (Ho et al.,
2020, DDPM) is a far more flexible density: whitened principal coordinates are noised at
every level of a cosine schedule (Nichol & Dhariwal, 2021), a network learns to undo it, and
new coordinates come from pure noise by deterministic DDIM steps (Song et al., 2021), a few
dozen instead of the thousand of training. The network predicts the velocity
``v = sqrt(a) * noise - sqrt(1 - a) * x`` (Salimans & Ho, 2022) rather than the noise: a
noise prediction must be divided by ``sqrt(a)``, about .003 at the last level, to give the
clean coordinates, and a small network's error there made a toy model's draws 50 times too
wide; velocities give both clean coordinates and noise without a division. The loss weighs
each velocity error by ``a`` by default, which makes it the noise-prediction loss of DDPM
(``a |v_hat - v|^2 = |noise_hat - noise|^2``): the unweighted velocity loss spends most of the
network on the noisiest levels, and on Energy's codes it drew windows that a classifier told
apart more easily. ``forward`` returns the training loss; the loop that minimises it lives in
:mod:`sktsgen.training`.
"""

import math

import torch
from torch import nn

from ._code_basis import check_code_basis, check_code_length, codes_from_coords

EMBEDDING_SIZE = 64  # sinusoidal features of the noise level
LOSS_WEIGHTINGS = ("noise", "velocity")


def cosine_alpha_bar(n_timesteps, offset=0.008):
    """Signal fraction ``alpha_bar`` at steps 1..T of the cosine schedule, shape ``(T,)``."""
    t = torch.arange(n_timesteps + 1, dtype=torch.float64) / n_timesteps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return (f / f[0]).clamp(1e-5, 1.0)[1:].float()


class _Block(nn.Module):
    """Pre-norm residual MLP block; the noise-level embedding is added to its input."""

    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(),
                                 nn.Linear(2 * width, width))

    def forward(self, h, emb):
        return h + self.mlp(self.norm(h) + emb)


class DenoisingMLP(nn.Module):
    """Predicts the velocity of noised coordinates ``x`` at integer noise levels ``t``.

    Parameters
    ----------
    size : int
        Coordinates per sample.
    hidden_size : int, default=512
    num_blocks : int, default=4
        Residual blocks.
    """

    def __init__(self, size, hidden_size=512, num_blocks=4):
        super().__init__()
        self.register_buffer("freqs", torch.exp(
            -math.log(1e4) * torch.arange(EMBEDDING_SIZE // 2) / (EMBEDDING_SIZE // 2)))
        self.embed = nn.Sequential(nn.Linear(EMBEDDING_SIZE, hidden_size), nn.SiLU(),
                                   nn.Linear(hidden_size, hidden_size))
        self.inp = nn.Linear(size, hidden_size)
        self.blocks = nn.ModuleList(_Block(hidden_size) for _ in range(num_blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden_size), nn.Linear(hidden_size, size))
        # Start by predicting zero: early losses stay at the targets' own scale (about 1).
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, x, t):
        """``x`` (n, size) at levels ``t`` of shape (n,), or (1,) for one level for every
        row (its embedding then computed once, as when sampling)."""
        angle = t.float()[:, None] * self.freqs[None]
        emb = self.embed(torch.cat([angle.sin(), angle.cos()], dim=1))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)


class CodeDiffusion(nn.Module):
    """Draws code sequences ``(n, seq_len, latent_size)`` from a diffusion model.

    Codes are flattened per window and mapped to principal coordinates, each divided by its
    standard deviation (whitened); the model is trained and sampled in those coordinates.

    Parameters
    ----------
    mean : Tensor of shape (seq_len * latent_size,)
        Mean of the flattened codes.
    components : Tensor of shape (n_components, seq_len * latent_size)
        Orthonormal principal directions (rows).
    scale : Tensor of shape (n_components,)
        Standard deviation of each principal coordinate.
    seq_len, latent_size : int
    hidden_size : int, default=512
        Width of the denoising network.
    num_blocks : int, default=4
        Residual blocks of the denoising network.
    n_timesteps : int, default=1000
        Noise levels of training.
    sampling_steps : int, default=25
        DDIM steps per draw (at most ``n_timesteps``).
    loss_weighting : {"noise", "velocity"}, default="noise"
        ``"noise"``: each sample's squared velocity error times its signal fraction ``a``,
        which equals the squared error of the noise it implies (DDPM's loss).
        ``"velocity"``: the unweighted velocity error (Salimans & Ho, 2022).

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn import CodeDiffusion
    >>> d, k = 3 * 2, 4
    >>> diffusion = CodeDiffusion(torch.zeros(d), torch.eye(k, d), torch.ones(k), seq_len=3,
    ...                           latent_size=2, hidden_size=16, num_blocks=1)
    >>> loss = diffusion(torch.randn(8, k))      # training loss to minimise
    >>> diffusion.sample(5, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 3, 2])
    """

    def __init__(self, mean, components, scale, *, seq_len, latent_size, hidden_size=512,
                 num_blocks=4, n_timesteps=1000, sampling_steps=25, loss_weighting="noise"):
        super().__init__()
        k = components.shape[0]
        check_code_basis(mean, components, seq_len, latent_size)
        if scale.shape != (k,):
            raise ValueError(f"scale must have shape ({k},), got {tuple(scale.shape)}.")
        if not 1 <= int(sampling_steps) <= int(n_timesteps):
            raise ValueError(f"sampling_steps must be in [1, n_timesteps={n_timesteps}], "
                             f"got {sampling_steps}.")
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f"loss_weighting must be one of {LOSS_WEIGHTINGS}, "
                             f"got {loss_weighting!r}.")
        self.loss_weighting = loss_weighting
        self.seq_len, self.latent_size = int(seq_len), int(latent_size)
        self.sampling_steps = int(sampling_steps)
        for name, value in (("mean", mean), ("components", components), ("scale", scale)):
            self.register_buffer(name, value.detach().clone().float())
        self.register_buffer("alpha_bar", cosine_alpha_bar(int(n_timesteps)))
        self.denoiser = DenoisingMLP(k, hidden_size, num_blocks)

    def __setstate__(self, state):
        # Modules pickled before ``loss_weighting`` existed were trained on the velocity loss.
        state.setdefault("loss_weighting", "velocity")
        super().__setstate__(state)

    @property
    def n_components(self):
        """Principal components modelled."""
        return self.components.shape[0]

    def coordinates(self, codes):
        """Whitened principal coordinates of code sequences ``(n, seq_len, latent_size)``."""
        flat = codes.reshape(codes.shape[0], -1).float()
        return ((flat - self.mean) @ self.components.t()) / self.scale

    def forward(self, coords, generator=None):
        """Mean squared error of the predicted velocity at random noise levels, each
        weighted as ``loss_weighting`` says (the loss).

        ``coords`` are whitened coordinates (see :meth:`coordinates`).
        """
        n = coords.shape[0]
        t = torch.randint(0, self.alpha_bar.shape[0], (n,), generator=generator,
                          device=coords.device)
        noise = torch.randn(coords.shape, generator=generator, device=coords.device)
        ab = self.alpha_bar[t][:, None]
        noised = ab.sqrt() * coords + (1 - ab).sqrt() * noise
        velocity = ab.sqrt() * noise - (1 - ab).sqrt() * coords
        error = (self.denoiser(noised, t) - velocity).pow(2)
        if self.loss_weighting == "noise":
            error = ab * error
        return error.mean()

    @torch.no_grad()
    def sample(self, n, seq_len=None, generator=None):
        """Draw ``n`` code sequences on the module's device by deterministic DDIM steps.

        ``seq_len`` is accepted for the interface of :class:`~sktsgen.nn._avatar.Prior` and
        must equal the fitted length. Call in eval mode. The result, of shape
        ``(n, seq_len, latent_size)``, is a view of step-major memory (flatten it with
        ``reshape``, not ``view``).
        """
        check_code_length(seq_len, self.seq_len, "diffusion")
        dev = self.mean.device
        levels = torch.linspace(self.alpha_bar.shape[0] - 1, 0, self.sampling_steps,
                                device=dev).round().long()
        x = torch.randn(n, self.n_components, generator=generator, device=dev)
        for i, t in enumerate(levels):
            ab = self.alpha_bar[t]
            v = self.denoiser(x, t.reshape(1))  # one level: its embedding once per step
            x0 = ab.sqrt() * x - (1 - ab).sqrt() * v
            eps = (1 - ab).sqrt() * x + ab.sqrt() * v
            if i + 1 == len(levels):
                x = x0
            else:
                ab_next = self.alpha_bar[levels[i + 1]]
                x = ab_next.sqrt() * x0 + (1 - ab_next).sqrt() * eps
        return codes_from_coords(self.mean, x * self.scale, self.components, self.seq_len,
                                 self.latent_size)


__all__ = ["CodeDiffusion", "DenoisingMLP", "cosine_alpha_bar"]
