"""AVATAR's networks, priors and losses (Adversarial autoencoder + autoregressive supervisor).

Windows are channel-last ``(batch, seq_len, n_features)``. Encoder, decoder and supervisor are
GRU stacks with batch normalisation on the input of every GRU layer; the latent discriminator
has none and emits one logit per step. :class:`AvatarNet` bundles the four networks with the
prior and returns the paper's losses, so a training loop only chooses what to step.
"""

import torch
from torch import nn
from torch.nn import functional as F

from ._fast_gru import (
    GRULayer,
    half_state_linear_weight,
    half_state_stack,
    half_state_step_outputs,
    half_state_weights,
    inference_batch,
    inference_on_cpu,
)
from ._functional import batch_variance

_ACTIVATIONS = {"sigmoid": torch.sigmoid, "identity": None}


class BNGRUStack(nn.Module):
    """GRU stack with batch norm on each layer's input, then a dense layer at every step.

    Parameters
    ----------
    input_size : int
    hidden_size : int
    num_layers : int
    output_size : int
    activation : {"sigmoid", "identity"}, default="sigmoid"
        Applied to the dense output.
    batch_norm : bool, default=True
        Normalise the input of every GRU layer over batch and time, per channel.

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn._avatar import BNGRUStack
    >>> net = BNGRUStack(3, 8, num_layers=2, output_size=3)
    >>> net(torch.rand(4, 10, 3)).shape
    torch.Size([4, 10, 3])
    """

    def __init__(self, input_size, hidden_size, num_layers, output_size, activation="sigmoid",
                 batch_norm=True):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}.")
        self.activation = activation
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.norms = nn.ModuleList(nn.BatchNorm1d(s) for s in sizes) if batch_norm else None
        self.grus = nn.ModuleList(GRULayer(s, hidden_size) for s in sizes)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        """``x``: (batch, seq_len, input_size) -> (batch, seq_len, output_size)."""
        if self._can_fold():
            return self._folded_forward(x)
        # Time-major inside: each step's slice is contiguous for the recurrence.
        x = x.transpose(0, 1).contiguous()
        t, b, _ = x.shape
        for i, gru in enumerate(self.grus):
            if self.norms is not None:
                # Statistics over batch and time, per channel.
                x = self.norms[i](x.view(t * b, -1)).view(t, b, -1)
            x = gru(x)
        y = self.out(x).transpose(0, 1)
        act = _ACTIVATIONS[self.activation]
        return act(y) if act is not None else y

    def _can_fold(self):
        """Inference on a CPU with fixed batch-norm statistics (sampling, transforms)."""
        return inference_on_cpu(self) and (
            self.norms is None or all(bn.running_var is not None for bn in self.norms))

    def _folded_forward(self, x):
        """The function of the layer-by-layer path through ``half_state_stack``: every batch
        norm folded into the weights of the layer it feeds. Large batches run in passes of
        :func:`inference_batch` windows, each padded as a whole batch would be."""
        affines = None
        if self.norms is not None:
            affines = []
            for bn in self.norms:
                a = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
                affines.append((a, bn.bias - bn.running_mean * a))
        layers = [(g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0) for g in self.grus]
        weights = half_state_weights(layers, affines)
        w_out, act = half_state_linear_weight(self.out), _ACTIVATIONS[self.activation]
        parts = [half_state_step_outputs(w_out, half_state_stack(part, weights), len(part), act)
                 for part in x.split(inference_batch(x.shape[0], self.out.in_features))]
        return parts[0] if len(parts) == 1 else torch.cat(parts)


class Prior(nn.Module):
    """Latent prior: draws per window, step and unit, optionally correlated along time (a
    mixture picks one component per window, so a window's codes stay in one cluster).

    Parameters
    ----------
    kind : {"gaussian", "uniform", "mixture"}
        ``"gaussian"``: N(0, 1) (the paper). ``"uniform"``: U(0, 1) (the authors' code).
        ``"mixture"``: equal-weight mixture of ``n_components`` Gaussians with unit-variance
        random means and standard deviation ``component_std``.
    latent_size : int
    n_components : int, default=1
    component_std : float, default=0.5
    correlation : float, default=0.0
        Lag-one correlation along time of the underlying standard normal draws: an AR(1)
        process ``e_t = r e_{t-1} + sqrt(1 - r^2) u_t`` with stationary N(0, 1) marginals, so
        every step keeps the marginal above (the uniform prior maps ``e`` through the normal
        CDF). 0 gives the paper's i.i.d. codes. :meth:`calibrate` sets it per unit from codes.
    generator : torch.Generator, default=None
        Draws the mixture means (a buffer, so they travel with the module).
    """

    def __init__(self, kind, latent_size, n_components=1, component_std=0.5, correlation=0.0,
                 generator=None):
        super().__init__()
        if kind not in ("gaussian", "uniform", "mixture"):
            raise ValueError(f"prior must be 'gaussian', 'uniform' or 'mixture', got {kind!r}.")
        if not 0.0 <= float(correlation) < 1.0:
            raise ValueError(f"correlation must be in [0, 1), got {correlation!r}.")
        self.kind = kind
        self.latent_size = latent_size
        self.component_std = float(component_std)
        means = torch.zeros(n_components if kind == "mixture" else 0, latent_size)
        if kind == "mixture":
            means = torch.randn(n_components, latent_size, generator=generator)
        self.register_buffer("means", means)
        self.register_buffer("correlation", torch.full((latent_size,), float(correlation)))

    @torch.no_grad()
    def calibrate(self, codes, max_correlation=0.99):
        """Set the per-unit lag-one correlation to that of ``codes`` (batch, seq_len, units).

        The autocorrelation is measured on the codes' normal scores (through the inverse
        normal CDF for the uniform prior), clipped to ``[0, max_correlation]``.
        """
        h = codes.double()
        if self.kind == "uniform":
            h = torch.special.ndtri(h.clamp(1e-6, 1 - 1e-6))
        if h.shape[1] < 2:
            return self
        h = h - h.mean((0, 1))
        r = (h[:, 1:] * h[:, :-1]).mean((0, 1)) / h.pow(2).mean((0, 1)).clamp_min(1e-12)
        self.correlation.copy_(r.clamp(0.0, max_correlation).to(self.correlation))
        return self

    def _normal_scores(self, n, seq_len, generator):
        dev = self.means.device
        e = torch.randn((n, seq_len, self.latent_size), generator=generator, device=dev)
        r = self.correlation
        if seq_len < 2 or not bool((r > 0).any()):
            return e
        # AR(1) recursion along time; stationary, so each step stays N(0, 1).
        innov = torch.sqrt(1 - r * r)
        steps = [e[:, 0]]
        for t in range(1, seq_len):
            steps.append(r * steps[-1] + innov * e[:, t])
        return torch.stack(steps, 1)

    def sample(self, n, seq_len, generator=None):
        """Draw ``(n, seq_len, latent_size)`` codes on the prior's device."""
        e = self._normal_scores(n, seq_len, generator)
        if self.kind == "uniform":
            return torch.special.ndtr(e)
        if self.kind == "gaussian":
            return e
        k = torch.randint(0, self.means.shape[0], (n,), generator=generator, device=e.device)
        return self.means[k][:, None, :] + self.component_std * e


def masked_mse(input, target, mask=None):
    """Mean squared error over the entries where ``mask`` is 1 (all entries when None).

    ``mask`` is a float tensor of 0 and 1 shaped like ``target``: 1 at observed entries,
    0 at missing ones (whose values in ``target`` must be finite, e.g. filled). Without a
    mask this is :func:`torch.nn.functional.mse_loss`.
    """
    if mask is None:
        return F.mse_loss(input, target)
    return ((input - target).square() * mask).sum() / mask.sum().clamp_min(1.0)


def supervised_loss(x_tilde, s):
    """Next-step and second-next-step MSE of the supervisor's output against ``x_tilde``.

    Lags longer than the window are skipped (windows of length 1 or 2 have none or one).
    """
    t = x_tilde.shape[1]
    loss = x_tilde.new_zeros(())
    for lag in (1, 2):
        if lag < t:
            loss = loss + F.mse_loss(s[:, :-lag], x_tilde[:, lag:])
    return loss


def distribution_loss(z, h, eps=1e-6):
    """Mean absolute gap of batch means and batch standard deviations (per step and unit)."""
    std_gap = (torch.sqrt(batch_variance(z) + eps)
               - torch.sqrt(batch_variance(h) + eps)).abs().mean()
    return std_gap + (z.mean(0) - h.mean(0)).abs().mean()


class AvatarNet(nn.Module):
    """Encoder, decoder, supervisor and latent discriminator of AVATAR, with their losses.

    Parameters
    ----------
    n_features : int
    hidden_size : int
        Width of every GRU and of the latent code.
    num_layers : int
        GRU layers of encoder, decoder and discriminator; the supervisor has one fewer
        (at least one).
    prior : Prior
    use_supervisor : bool, default=True
    use_distribution_loss : bool, default=True
    disc_hidden_size : int, default=None
        Width of the discriminator (``hidden_size`` when None).
    reconstruction_weight : float, default=1.0
        Weight of the joint reconstruction loss in the joint stage (1: the paper's
        unweighted sum).

    Notes
    -----
    The encoder's output goes through a sigmoid for the uniform prior (as in the authors'
    code) and stays linear for unbounded priors, so that the codes can match them.
    """

    def __init__(self, n_features, hidden_size, num_layers, prior, use_supervisor=True,
                 use_distribution_loss=True, disc_hidden_size=None, reconstruction_weight=1.0):
        super().__init__()
        latent_act = "sigmoid" if prior.kind == "uniform" else "identity"
        self.encoder = BNGRUStack(n_features, hidden_size, num_layers, hidden_size, latent_act)
        self.decoder = BNGRUStack(hidden_size, hidden_size, num_layers, n_features)
        self.supervisor = (BNGRUStack(n_features, hidden_size, max(num_layers - 1, 1), n_features)
                           if use_supervisor else None)
        self.discriminator = BNGRUStack(hidden_size, disc_hidden_size or hidden_size, num_layers, 1,
                                        "identity", batch_norm=False)
        self.prior = prior
        self.use_distribution_loss = use_distribution_loss
        self.reconstruction_weight = float(reconstruction_weight)

    def autoencoder_parameters(self):
        """Parameters stepped by the autoencoder optimizer (encoder, decoder, supervisor)."""
        nets = [self.encoder, self.decoder] + ([self.supervisor] if self.supervisor else [])
        return [p for net in nets for p in net.parameters()]

    def generate(self, z):
        """Codes -> windows in [0, 1]: the decoder, refined by the supervisor when present."""
        x = self.decoder(z)
        return self.supervisor(x) if self.supervisor is not None else x

    def reconstruct(self, x):
        """Windows -> codes -> windows, refined by the supervisor when present."""
        return self.generate(self.encoder(x))

    def reconstruction_loss(self, x, mask=None):
        """Stage 1: MSE of the autoencoder's reconstruction (over the entries where
        ``mask`` is 1 when given, see :func:`masked_mse`)."""
        return masked_mse(self.decoder(self.encoder(x)), x, mask)

    def supervised_stage_loss(self, x):
        """Stage 2: supervised loss over decoder and supervisor (the encoder is frozen)."""
        with torch.no_grad():
            h = self.encoder(x)
        x_tilde = self.decoder(h)
        return supervised_loss(x_tilde, self.supervisor(x_tilde))

    def joint_losses(self, x, z, mask=None):
        """Stage 3 autoencoder losses: joint reconstruction, adversarial, supervised,
        distribution. Returns ``(total, parts)`` with ``parts`` a dict of detached scalars.
        With ``mask``, the reconstruction terms average over its observed entries only."""
        h = self.encoder(x)
        x_tilde = self.decoder(h)
        recon = masked_mse(x_tilde, x, mask)
        sup = x.new_zeros(())
        if self.supervisor is not None:
            s = self.supervisor(x_tilde)
            recon = recon + masked_mse(s, x, mask)
            sup = supervised_loss(x_tilde, s)
        logits = self.discriminator(h)
        adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        dist = distribution_loss(z, h) if self.use_distribution_loss else x.new_zeros(())
        total = self.reconstruction_weight * recon + adv + sup + dist
        parts = {"reconstruction": recon, "adversarial": adv, "supervised": sup,
                 "distribution": dist}
        return total, {k: v.detach() for k, v in parts.items()}

    def discriminator_loss(self, x, z):
        """BCE of the latent discriminator: prior codes are real (1), encoded codes fake (0).

        The encoder runs without gradient; prior and encoded codes go through the
        discriminator as one batch (it has no batch norm, so this changes nothing).
        """
        with torch.no_grad():
            h = self.encoder(x)
        logits = self.discriminator(torch.cat([z, h], 0))
        target = torch.cat([torch.ones(z.shape[0]), torch.zeros(h.shape[0])]).to(logits)
        target = target[:, None, None].expand_as(logits)
        # Mean over each half, summed, as BCE(D(Z), 1) + BCE(D(H), 0).
        per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return per[: z.shape[0]].mean() + per[z.shape[0]:].mean()


def default_hidden_size(n_features):
    """Hidden size used when the estimator's ``hidden_size`` is None: twice the channels,
    at least 24. A code as wide as the data reconstructs many channels poorly (Energy's 28)."""
    return max(2 * int(n_features), 24)


__all__ = ["AvatarNet", "BNGRUStack", "GRULayer", "Prior", "default_hidden_size", "distribution_loss",
           "masked_mse", "supervised_loss"]
