"""AVATAR's networks, priors and losses (Adversarial autoencoder + autoregressive supervisor).

Windows are channel-last ``(batch, seq_len, n_features)``. Encoder, decoder and supervisor are
GRU stacks with batch normalisation on the input of every GRU layer; the latent discriminator
has none and emits one logit per step. :class:`AvatarNet` bundles the four networks with the
prior and returns the paper's losses, so a training loop only chooses what to step.
"""

import torch
from torch import nn
from torch.nn import functional as F

_ACTIVATIONS = {"sigmoid": torch.sigmoid, "identity": None}


class _GRULayerFn(torch.autograd.Function):
    """One GRU layer over a time-major sequence with a hand-written backward.

    On a CPU a small GRU's cost is the number of tensor operations, not arithmetic. The
    forward takes 6 operations per step and saves the gates; the backward precomputes every
    factor that does not depend on the incoming gradient over all steps at once, so the
    recurrence costs 3 operations per step, and the weight gradients are one matmul each.
    Same gate order and equations as ``torch.nn.GRU`` (r, z, n).
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh):
        t_len, batch, _ = x.shape
        hid = w_hh.shape[1]
        gi = torch.addmm(b_ih, x.reshape(-1, x.shape[2]), w_ih.t()).view(t_len, batch, 3 * hid)
        gh = x.new_empty(t_len, batch, 3 * hid)
        rz = x.new_empty(t_len, batch, 2 * hid)
        n = x.new_empty(t_len, batch, hid)
        # hs[0] is the zero initial state; outputs are hs[1:], previous states hs[:-1].
        hs = x.new_zeros(t_len + 1, batch, hid)
        h = hs[0]
        w_hh_t = w_hh.t()
        steps = zip(gi[..., : 2 * hid].unbind(0), gi[..., 2 * hid:].unbind(0), gh.unbind(0),
                    rz.unbind(0), n.unbind(0), hs[1:].unbind(0))
        for gi_rz, gi_n, gh_t, rz_t, n_t, y_t in steps:
            torch.addmm(b_hh, h, w_hh_t, out=gh_t)
            torch.add(gi_rz, gh_t[:, : 2 * hid], out=rz_t).sigmoid_()
            torch.addcmul(gi_n, rz_t[:, :hid], gh_t[:, 2 * hid:], out=n_t).tanh_()
            h = torch.lerp(n_t, h, rz_t[:, hid:], out=y_t)
        ctx.save_for_backward(x, w_ih, w_hh, gh, rz, n, hs)
        return hs[1:]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        x, w_ih, w_hh, gh, rz, n, hs = ctx.saved_tensors
        t_len, batch, hid = n.shape
        h_prev = hs[:-1]
        r, z = rz[..., :hid], rz[..., hid:]
        a = (1 - z) * (1 - n * n)
        # d(gh)/d(h_t) per gate (r, z, n): dgh = g * c_gh, linear in the incoming gradient g.
        c_gh = x.new_empty(t_len, batch, 3, hid)
        torch.mul(a * gh[..., 2 * hid:], torch.addcmul(r, r, r, value=-1), out=c_gh[:, :, 0])
        torch.mul(h_prev - n, torch.addcmul(z, z, z, value=-1), out=c_gh[:, :, 1])
        torch.mul(a, r, out=c_gh[:, :, 2])
        g_all = torch.empty_like(n)
        dgh = torch.empty_like(c_gh)
        dy = dy.contiguous()
        g = g_all[-1].copy_(dy[-1])
        for t in range(t_len - 1, -1, -1):
            torch.mul(c_gh[t], g[:, None, :], out=dgh[t])
            if t:
                g = torch.addcmul(dy[t - 1], g, z[t])
                g = torch.addmm(g, dgh[t].view(batch, 3 * hid), w_hh, out=g_all[t - 1])
        # dgi equals dgh for r and z; for n it is g * a (dgh_n has the extra factor r).
        dgi = dgh.clone()
        torch.mul(g_all, a, out=dgi[:, :, 2])
        dgh = dgh.view(t_len * batch, 3 * hid)
        dgi = dgi.view(t_len * batch, 3 * hid)
        dx = (dgi @ w_ih).view_as(x)
        return (dx, dgi.t() @ x.reshape(t_len * batch, -1),
                dgh.t() @ h_prev.reshape(-1, hid), dgi.sum(0), dgh.sum(0))


class GRULayer(nn.GRU):
    """Single-layer GRU on time-major input ``(seq_len, batch, input_size)`` with the fast
    hand-written backward of :class:`_GRULayerFn`; parameters and initialisation are those
    of ``nn.GRU(input_size, hidden_size)``, so results match it to rounding."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)

    def forward(self, x):
        """``x``: (seq_len, batch, input_size) -> outputs (seq_len, batch, hidden_size)."""
        if not torch.is_grad_enabled() or not (x.requires_grad or self.weight_hh_l0.requires_grad):
            # Forward only: torch's native kernel is the faster one here.
            return super().forward(x)[0]
        return _GRULayerFn.apply(x.contiguous(), self.weight_ih_l0, self.weight_hh_l0,
                                 self.bias_ih_l0, self.bias_hh_l0)


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


class Prior(nn.Module):
    """Latent prior: i.i.d. draws per window, step and unit (a mixture picks one component per
    window, so a window's codes stay in one cluster).

    Parameters
    ----------
    kind : {"gaussian", "uniform", "mixture"}
        ``"gaussian"``: N(0, 1) (the paper). ``"uniform"``: U(0, 1) (the authors' code).
        ``"mixture"``: equal-weight mixture of ``n_components`` Gaussians with unit-variance
        random means and standard deviation ``component_std``.
    latent_size : int
    n_components : int, default=1
    component_std : float, default=0.5
    generator : torch.Generator, default=None
        Draws the mixture means (a buffer, so they travel with the module).
    """

    def __init__(self, kind, latent_size, n_components=1, component_std=0.5, generator=None):
        super().__init__()
        if kind not in ("gaussian", "uniform", "mixture"):
            raise ValueError(f"prior must be 'gaussian', 'uniform' or 'mixture', got {kind!r}.")
        self.kind = kind
        self.latent_size = latent_size
        self.component_std = float(component_std)
        means = torch.zeros(n_components if kind == "mixture" else 0, latent_size)
        if kind == "mixture":
            means = torch.randn(n_components, latent_size, generator=generator)
        self.register_buffer("means", means)

    def sample(self, n, seq_len, generator=None):
        """Draw ``(n, seq_len, latent_size)`` codes on the prior's device."""
        dev = self.means.device
        shape = (n, seq_len, self.latent_size)
        if self.kind == "uniform":
            return torch.rand(shape, generator=generator, device=dev)
        z = torch.randn(shape, generator=generator, device=dev)
        if self.kind == "gaussian":
            return z
        k = torch.randint(0, self.means.shape[0], (n,), generator=generator, device=dev)
        return self.means[k][:, None, :] + self.component_std * z


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
    std_gap = (torch.sqrt(z.var(0, unbiased=False) + eps)
               - torch.sqrt(h.var(0, unbiased=False) + eps)).abs().mean()
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

    Notes
    -----
    The encoder's output goes through a sigmoid for the uniform prior (as in the authors'
    code) and stays linear for unbounded priors, so that the codes can match them.
    """

    def __init__(self, n_features, hidden_size, num_layers, prior, use_supervisor=True,
                 use_distribution_loss=True, disc_hidden_size=None):
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

    def autoencoder_parameters(self):
        """Parameters stepped by the autoencoder optimizer (encoder, decoder, supervisor)."""
        nets = [self.encoder, self.decoder] + ([self.supervisor] if self.supervisor else [])
        return [p for net in nets for p in net.parameters()]

    def generate(self, z):
        """Codes -> windows in [0, 1]: the decoder, refined by the supervisor when present."""
        x = self.decoder(z)
        return self.supervisor(x) if self.supervisor is not None else x

    def reconstruction_loss(self, x):
        """Stage 1: MSE of the autoencoder's reconstruction."""
        return F.mse_loss(self.decoder(self.encoder(x)), x)

    def supervised_stage_loss(self, x):
        """Stage 2: supervised loss over decoder and supervisor (the encoder is frozen)."""
        with torch.no_grad():
            h = self.encoder(x)
        x_tilde = self.decoder(h)
        return supervised_loss(x_tilde, self.supervisor(x_tilde))

    def joint_losses(self, x, z):
        """Stage 3 autoencoder losses: joint reconstruction, adversarial, supervised,
        distribution. Returns ``(total, parts)`` with ``parts`` a dict of detached scalars."""
        h = self.encoder(x)
        x_tilde = self.decoder(h)
        recon = F.mse_loss(x_tilde, x)
        sup = x.new_zeros(())
        if self.supervisor is not None:
            s = self.supervisor(x_tilde)
            recon = recon + F.mse_loss(s, x)
            sup = supervised_loss(x_tilde, s)
        logits = self.discriminator(h)
        adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        dist = distribution_loss(z, h) if self.use_distribution_loss else x.new_zeros(())
        total = recon + adv + sup + dist
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
    """Hidden size used when the estimator's ``hidden_size`` is None."""
    return max(int(n_features), 24)


__all__ = ["AvatarNet", "BNGRUStack", "GRULayer", "Prior", "default_hidden_size", "distribution_loss",
           "supervised_loss"]
