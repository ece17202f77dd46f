"""Conv1d autoencoder, its window discriminator and the latent perturbation module.

Networks of latent adversarial augmentation (Kim, Choi & Choo, ACML 2021, Section 3.4).
Windows are channel-last ``(batch, seq_len, n_features)``; the convolutions transpose inside.
"""

import math
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from ._functional import batch_variance

# Encoder conv widths of Section 3.4; each conv halves the time axis (kernel 4, stride 2, pad 1).
ENCODER_CHANNELS = (64, 64, 128, 256)
# Decoder: a first layer to 500 channels, then transposed convs mirroring the encoder.
DECODER_CHANNELS = (500, 256, 128, 64)


def _coarse_len(seq_len):
    """Time steps left after the encoder: ``ceil(seq_len / 16)`` (input padded to a multiple)."""
    return max(math.ceil(seq_len / 2 ** len(ENCODER_CHANNELS)), 1)


class ConvAutoencoder(nn.Module):
    """Conv1d encoder and transposed-conv decoder with a latent vector without time axis.

    The encoder is Section 3.4's four convolutions (kernel 4, stride 2, padding 1; 64, 64,
    128, 256 channels, batch norm after all but the first). Windows of any length are padded
    at the end (by repeating the last step) to a multiple of 16 steps, and the encoder's
    ``256 x ceil(seq_len / 16)`` output is flattened and mapped linearly to ``latent_dim``
    elements, so a perturbation never acts on one time step alone. The decoder's first layer
    (the paper's kernel-1 transposed convolution to 500 channels) maps the latent vector to
    500 channels at each coarse step; four transposed convolutions (256, 128, 64,
    ``n_features`` channels) mirror the encoder, and the padding is cropped off. For 32 steps
    and ``latent_dim=512`` the sizes are the paper's.

    Parameters
    ----------
    n_features : int
        Channels of the windows.
    seq_len : int
        Steps per window (any positive length).
    latent_dim : int, default=512
        Elements of the latent vector.

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn._latent import ConvAutoencoder
    >>> ae = ConvAutoencoder(n_features=6, seq_len=20, latent_dim=32)
    >>> z = ae.encode(torch.zeros(3, 20, 6))
    >>> tuple(z.shape), tuple(ae.decode(z).shape)
    ((3, 32), (3, 20, 6))
    """

    def __init__(self, n_features, seq_len, latent_dim=512):
        super().__init__()
        self.n_features, self.seq_len, self.latent_dim = n_features, seq_len, latent_dim
        self.coarse_len = _coarse_len(seq_len)
        self.padded_len = self.coarse_len * 2 ** len(ENCODER_CHANNELS)
        layers, c_in = [], n_features
        for i, c_out in enumerate(ENCODER_CHANNELS):
            layers.append(nn.Conv1d(c_in, c_out, 4, 2, 1))
            if i > 0:
                layers.append(nn.BatchNorm1d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        self.encoder = nn.Sequential(*layers)
        self.to_latent = nn.Linear(ENCODER_CHANNELS[-1] * self.coarse_len, latent_dim)
        self.from_latent = nn.Linear(latent_dim, DECODER_CHANNELS[0] * self.coarse_len)
        layers = []
        widths = DECODER_CHANNELS + (n_features,)
        for i, (c_in, c_out) in enumerate(pairwise(widths)):
            layers.append(nn.ConvTranspose1d(c_in, c_out, 4, 2, 1))
            if i < len(widths) - 2:
                # No batch norm on the output layer: it would tie the decoded scale to batches.
                layers += [nn.BatchNorm1d(c_out), nn.ReLU()]
        self.decoder = nn.Sequential(*layers)

    def encode(self, x):
        """``x``: (batch, seq_len, n_features) -> latent (batch, latent_dim)."""
        h = x.transpose(1, 2)
        if self.padded_len > self.seq_len:
            h = F.pad(h, (0, self.padded_len - self.seq_len), mode="replicate")
        return self.to_latent(self.encoder(h).flatten(1))

    def decode(self, z):
        """Latent (batch, latent_dim) -> windows (batch, seq_len, n_features)."""
        h = F.relu(self.from_latent(z)).view(-1, DECODER_CHANNELS[0], self.coarse_len)
        return self.decoder(h)[:, :, : self.seq_len].transpose(1, 2)

    def forward(self, x):
        """Reconstruction of ``x``."""
        return self.decode(self.encode(x))


class WindowDiscriminator(nn.Module):
    """Four affine layers on the flattened window with dropout between them (Section 3.4).

    Returns one logit per window: real windows versus the autoencoder's reconstructions.

    Parameters
    ----------
    n_features : int
    seq_len : int
    hidden_sizes : tuple of int, default=(256, 128, 64)
    dropout : float, default=0.4

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn._latent import WindowDiscriminator
    >>> WindowDiscriminator(6, 32)(torch.zeros(5, 32, 6)).shape
    torch.Size([5])
    """

    def __init__(self, n_features, seq_len, hidden_sizes=(256, 128, 64), dropout=0.4):
        super().__init__()
        layers, d_in = [], n_features * seq_len
        for h in hidden_sizes:
            layers += [nn.Linear(d_in, h), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            d_in = h
        layers.append(nn.Linear(d_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x.flatten(1)).squeeze(1)


class WeightNormLinear(nn.Module):
    """Affine map with weight normalisation, ``W = g * V / ||V||`` row-wise.

    Written out rather than with ``torch.nn.utils.parametrizations.weight_norm`` because
    parametrised modules cannot be pickled whole, and fitted estimators must pickle.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        lin = nn.Linear(in_features, out_features)
        self.direction = nn.Parameter(lin.weight.detach().clone())
        self.gain = nn.Parameter(lin.weight.detach().norm(dim=1))
        self.bias = nn.Parameter(lin.bias.detach().clone())

    def forward(self, x):
        w = self.direction * (self.gain / self.direction.norm(dim=1)).unsqueeze(1)
        return F.linear(x, w, self.bias)


PERTURBATIONS = ("adversarial", "random", "anti-adversarial")


class LatentPerturbation(nn.Module):
    """Perturbation module of Section 3.3: ``z + scale * std(z) * standardise(A(z, noise))``.

    ``A`` is two low-rank weight-normalised affine maps without a non-linearity between them,
    over the latent and a Gaussian noise vector; the standardisation is a layer norm without
    parameters; the re-scaling multiplies element-wise by the running standard deviation of
    the latents (updated in training mode, like batch norm's running variance), so every
    latent element is moved in proportion to its own spread. With ``mode="random"`` there is
    no affine map: ``z + scale * std(z) * noise`` (the paper's untrained rows).

    Parameters
    ----------
    latent_dim : int
    mode : {"adversarial", "random", "anti-adversarial"}, default="adversarial"
        Only "random" changes the module; the sign of the objective is the trainer's business.
    scale : float, default=0.1
    noise_dim : int, default=100
    rank : int, default=100
        Width between the two affine maps.
    momentum : float, default=0.1
        Weight of a new batch in the running variance (and running mean, with ``center``).
    center : bool, default=False
        Subtract the mean of the standardised direction over the batch (in evaluation mode a
        running mean of it, as batch norm does), so that the perturbations of a batch share
        no common direction. Without it an adversarial module can shift every window the
        same way.
    random_fraction : float in [0, 1], default=0.0
        Share of the direction's variance that is fresh Gaussian noise:
        ``sqrt(1 - f) * learned + sqrt(f) * noise``. 0 is the paper's module; 1 perturbs as
        ``mode="random"`` does (the learned part then has no effect).

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn._latent import LatentPerturbation
    >>> p = LatentPerturbation(8, scale=0.1, noise_dim=4, rank=3)
    >>> z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    >>> p.update_statistics(z)
    >>> p.eval()(z, generator=torch.Generator().manual_seed(1)).shape
    torch.Size([16, 8])
    """

    def __init__(self, latent_dim, mode="adversarial", scale=0.1, noise_dim=100, rank=100,
                 momentum=0.1, center=False, random_fraction=0.0):
        super().__init__()
        if mode not in PERTURBATIONS:
            raise ValueError(f"mode must be one of {PERTURBATIONS}, got {mode!r}.")
        self.latent_dim, self.mode, self.scale = latent_dim, mode, float(scale)
        self.noise_dim = latent_dim if mode == "random" else noise_dim
        self.momentum = momentum
        self.center = bool(center) and mode != "random"
        if not 0.0 <= float(random_fraction) <= 1.0:
            raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction!r}.")
        self.random_fraction = 0.0 if mode == "random" else float(random_fraction)
        if mode != "random":
            self.down = WeightNormLinear(latent_dim + noise_dim, rank)
            self.up = WeightNormLinear(rank, latent_dim)
        self.register_buffer("running_var", torch.ones(latent_dim))
        self.register_buffer("n_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("running_mean", torch.zeros(latent_dim if self.center else 0))
        self.register_buffer("n_mean_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update_statistics(self, z):
        """Fold a batch of latents into the running per-element variance."""
        self._fold(self.running_var, self.n_updates, batch_variance(z.detach()))

    def _fold(self, running, count, value):
        """``running`` becomes ``value`` at the first update, then its moving average; chosen
        on the device (``torch.where``), so a training step needs no host sync."""
        running.copy_(torch.where(count == 0, value, running.lerp(value, self.momentum)))
        count += 1

    def delta(self, z, generator=None):
        """The perturbation added to ``z`` (a fresh noise vector per row)."""
        noise = torch.randn(z.shape[0], self.noise_dim, generator=generator,
                            device=z.device, dtype=z.dtype)
        if self.mode == "random":
            direction = noise
        else:
            h = self.up(self.down(torch.cat([z, noise], dim=1)))
            direction = F.layer_norm(h, h.shape[1:])
            if self.center:
                # After the norm: centring before it still leaves a common shift when the
                # rows share one direction with coefficients of skewed sign.
                direction = direction - self._center_of(direction)
            if self.random_fraction > 0:
                fresh = torch.randn(z.shape[0], self.latent_dim, generator=generator,
                                    device=z.device, dtype=z.dtype)
                direction = (math.sqrt(1 - self.random_fraction) * direction
                             + math.sqrt(self.random_fraction) * fresh)
        return self.scale * self.running_var.sqrt() * direction

    def _center_of(self, h):
        """Batch mean of ``h`` in training (folded into the running mean), else the running
        mean."""
        if not self.training:
            return self.running_mean
        mean = h.mean(0)
        with torch.no_grad():
            self._fold(self.running_mean, self.n_mean_updates, mean)
        return mean

    def forward(self, z, generator=None):
        if self.training:
            self.update_statistics(z)
        return z + self.delta(z, generator)
