"""Training of latent adversarial augmentation: autoencoder + discriminator, then perturbation.

Stage 1 trains the autoencoder against a window discriminator with the two time-scale update
rule and a cost-sensitive discriminator loss (Section 3.2). Stage 2 freezes the autoencoder
and trains the perturbation module jointly with a predictor of the target (Section 3.3): one
backward pass serves both, the perturbation's gradient being reversed so that it maximises
the predictor's loss on decoded perturbed windows ("adversarial") or left as is so that it
minimises it ("anti-adversarial"). :class:`BatchPerturber` is the paper's own protocol for
stage 2: the perturbation trained on the fly against the downstream model itself, through the
per-batch hook of :func:`sktsgen.training._supervised.train_supervised`.
"""

import copy

import torch
from torch.nn import functional as F

from ..nn._avatar import masked_mse
from ._common import LossHistory, ProgressBar, batch_indices, make_adam


def train_autoencoder(autoencoder, discriminator, X, *, n_iter, batch_size, lr, disc_lr,
                      adversarial_weight, real_cost, fake_cost, generator, device,
                      verbose=0, history_every=10, mask=None):
    """Train ``autoencoder`` on windows ``X`` (a device tensor, scaled) against ``discriminator``.

    The discriminator sees real windows (label 1) and reconstructions (label 0); calling a
    real window fake costs ``real_cost``, calling a reconstruction real costs ``fake_cost``
    (weighted cross-entropy). The autoencoder minimises the reconstruction MSE plus
    ``adversarial_weight`` times the cross-entropy of its reconstructions being judged real.
    TTUR: ``lr`` for the autoencoder is smaller than ``disc_lr``.

    ``mask`` (a float tensor shaped like ``X``, 1 at observed entries, 0 at missing ones,
    which ``X`` holds filled) restricts the reconstruction MSE to the observed entries, and
    the discriminator's real windows take the reconstruction's values at their missing
    entries, so that neither loss asks the autoencoder to reproduce the filled values.

    Returns
    -------
    history : dict of lists
        ``iteration``, ``reconstruction``, ``adversarial``, ``disc_real``, ``disc_fake``.
    """
    opt_ae = make_adam(autoencoder.parameters(), lr, betas=(0.5, 0.999))
    opt_d = make_adam(discriminator.parameters(), disc_lr, betas=(0.5, 0.999))
    idx = batch_indices(X.shape[0], batch_size, n_iter, generator, device)
    history, bar = LossHistory(history_every), ProgressBar(n_iter, "autoencoder", verbose)
    autoencoder.train()
    discriminator.train()
    losses = {}
    for i in range(n_iter):
        xb = X[idx[i]]
        mb = None if mask is None else mask[idx[i]]
        recon = autoencoder(xb)
        # Discriminator step on this batch's reconstruction, then the autoencoder step
        # through the updated discriminator: one autoencoder forward per iteration.
        real = xb if mb is None else torch.where(mb > 0, xb, recon.detach())
        logit_real, logit_fake = discriminator(real), discriminator(recon.detach())
        d_real = F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real))
        d_fake = F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))
        opt_d.zero_grad(set_to_none=True)
        (real_cost * d_real + fake_cost * d_fake).backward()
        opt_d.step()
        rec = masked_mse(recon, xb, mb)
        logit = discriminator(recon)
        adv = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
        opt_ae.zero_grad(set_to_none=True)
        (rec + adversarial_weight * adv).backward()
        opt_ae.step()
        losses = {"reconstruction": rec.detach(), "adversarial": adv.detach(),
                  "disc_real": d_real.detach(), "disc_fake": d_fake.detach()}
        history.record(i, **losses)
        bar.update(i, losses)
    bar.close(losses)
    autoencoder.eval()
    discriminator.eval()
    return history.to_dict()


class _ReverseGrad(torch.autograd.Function):
    """Identity forward, negated gradient backward: lets one backward pass train a
    predictor to minimise a loss and the module before it to maximise the same loss."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


@torch.no_grad()
def encode(autoencoder, X, chunk_size=4096):
    """Latents of ``X`` in memory-bounded chunks (eval mode)."""
    autoencoder.eval()
    return torch.cat([autoencoder.encode(c) for c in torch.split(X, chunk_size)])


def train_perturbation(perturbation, autoencoder, predictor, Z, X, y, *, source_weights,
                       task, n_iter, batch_size, lr, predictor_lr, generator, device,
                       residual=False, keep=None, snapshots=1, verbose=0, history_every=10):
    """Train ``perturbation`` jointly with ``predictor`` on a frozen ``autoencoder``.

    Each iteration the predictor sees a batch of real windows drawn uniformly plus
    ``batch_size // 4`` decoded perturbed windows whose sources are drawn with probability
    ``source_weights`` (e.g. only rare windows), labelled with their sources' targets, and
    takes one step on the mean loss over both. The perturbation takes a step on the same
    backward pass, ascending the loss (``mode="adversarial"``) or descending it
    (``"anti-adversarial"``). ``mode="random"`` has nothing to train: only the latent
    variance over all of ``Z`` is recorded.

    Parameters
    ----------
    Z : tensor (n, latent_dim)
        Latents of ``X`` (the encoder is frozen, so they are computed once).
    X : tensor (n, seq_len, n_features)
    y : tensor (n,)
        float targets (regression, standardised) or int64 class codes (classification).
    source_weights : tensor (n,) or None
        Sampling weights of the windows to perturb; None means uniform.
    task : {"regression", "classification"}
    residual : bool, default=False
        Perturbed window = source + decode(z + delta) - decode(z) instead of
        decode(z + delta) (see :func:`perturb_windows`).
    keep : bool tensor (n_features,) or None
        Channels the perturbed windows copy from their sources: the perturbation can only
        make them hard through the other channels.
    snapshots : int, default=1
        Number of copies of the module kept along the training, at evenly spaced
        iterations, the last one after the final step.

    Returns
    -------
    history : dict of lists
        ``iteration``, ``loss_real``, ``loss_perturbed`` (empty for ``mode="random"``).
    states : list of LatentPerturbation
        ``snapshots`` copies of the module in eval mode, in training order (copies of the
        untrained module when there is nothing to train).
    """
    perturbation.train()
    # The encoder is frozen, so the running variance starts at (and would only wander
    # around) the variance over all latents: take it in one go, not over data-order chunks.
    perturbation.update_statistics(Z)
    history = LossHistory(history_every)
    if perturbation.mode == "random" or n_iter == 0:
        perturbation.eval()
        return history.to_dict(), [copy.deepcopy(perturbation) for _ in range(snapshots)]
    # Iteration after which each copy is taken (several copies share one when n_iter is small).
    marks = [max(n_iter * (j + 1) // snapshots - 1, 0) for j in range(snapshots)]
    states = []
    for p in autoencoder.parameters():
        p.requires_grad_(False)
    autoencoder.eval()
    predictor.train()
    criterion = F.mse_loss if task == "regression" else F.cross_entropy
    opt_pred = make_adam(predictor.parameters(), predictor_lr)
    opt_pert = make_adam(perturbation.parameters(), lr)
    n_src = max(int(batch_size) // 4, 1)
    idx = batch_indices(X.shape[0], batch_size, n_iter, generator, device)
    if source_weights is None:
        src = batch_indices(X.shape[0], n_src, n_iter, generator, device)
    else:
        src = torch.multinomial(source_weights.to(generator.device), n_iter * n_src,
                                replacement=True, generator=generator)
        src = src.view(n_iter, n_src).to(device)
    reverse = perturbation.mode == "adversarial"
    if residual:
        # What the decoder cannot reproduce of each window, kept on top of the decoded change.
        detail = X - decode(autoencoder, Z)
    bar = ProgressBar(n_iter, "perturbation", verbose)
    losses = {}
    try:
        for i in range(n_iter):
            zs = Z[src[i]]
            # The latents are fixed, so the running variance is complete already:
            # the delta is taken without updating it again.
            delta = perturbation.delta(zs, generator=generator)
            x_pert = autoencoder.decode(zs + (_ReverseGrad.apply(delta) if reverse else delta))
            if residual:
                x_pert = x_pert + detail[src[i]]
            if keep is not None:
                x_pert = torch.where(keep, X[src[i]], x_pert)
            n_real = idx.shape[1]
            out = predictor(torch.cat([X[idx[i]], x_pert]))
            if task == "regression":
                out = out.squeeze(1)
            loss_real = criterion(out[:n_real], y[idx[i]])
            loss_pert = criterion(out[n_real:], y[src[i]])
            loss = (n_real * loss_real + n_src * loss_pert) / (n_real + n_src)
            opt_pred.zero_grad(set_to_none=True)
            opt_pert.zero_grad(set_to_none=True)
            loss.backward()
            opt_pred.step()
            opt_pert.step()
            losses = {"loss_real": loss_real.detach(), "loss_perturbed": loss_pert.detach()}
            history.record(i, **losses)
            bar.update(i, losses)
            states.extend(copy.deepcopy(perturbation).eval() for _ in range(marks.count(i)))
    finally:
        for p in autoencoder.parameters():
            p.requires_grad_(True)
    bar.close(losses)
    perturbation.eval()
    predictor.eval()
    for state in states:
        for p in state.parameters():
            p.grad = None
    return history.to_dict(), states


@torch.no_grad()
def decode(autoencoder, Z, chunk_size=4096):
    """Windows decoded from latents ``Z`` in memory-bounded chunks (eval mode)."""
    autoencoder.eval()
    return torch.cat([autoencoder.decode(c) for c in torch.split(Z, chunk_size)])


@torch.no_grad()
def perturb_windows(perturbation, autoencoder, X, *, generator, residual=False,
                    symmetric=False, chunk_size=4096):
    """Encode, perturb (fresh noise per window) and decode ``X`` in chunks (eval mode).

    With ``residual=True`` the result is ``X + decode(z + delta) - decode(z)``: the latent
    perturbation's effect added to the window itself, which keeps the detail (e.g. sharp
    peaks) that the autoencoder's reconstruction smooths away. With ``symmetric=True`` each
    window takes ``u * delta`` instead of ``delta``, ``u`` uniform in [-1, 1] (drawn after
    the chunk's noise): a step of random length and sign along its own perturbation.
    """
    perturbation.eval()
    autoencoder.eval()
    out = []
    for c in torch.split(X, chunk_size):
        z = autoencoder.encode(c)
        if symmetric:
            delta = perturbation.delta(z, generator=generator)
            u = torch.rand(c.shape[0], 1, generator=generator, device=generator.device)
            z_new = z + delta * (2 * u.to(z.device) - 1)
        else:
            z_new = perturbation(z, generator=generator)
        x_new = autoencoder.decode(z_new)
        out.append(x_new + c - autoencoder.decode(z) if residual else x_new)
    return torch.cat(out)


class BatchPerturber:
    """Per-batch hook that perturbs windows in a frozen autoencoder's latent space on the fly.

    The paper's protocol (Section 3.3): while a downstream model trains, every batch's
    targeted windows are encoded, perturbed and decoded, and the perturbation module is
    updated jointly with the model, so the augmentation follows the model as it learns. Pass
    the object as ``augment`` to :func:`~sktsgen.training._supervised.train_supervised`
    inside a ``with`` block (which freezes the autoencoder's weights, and restores them).

    The model's backward pass leaves the perturbation's gradient (negated for
    ``mode="adversarial"``, so that the step ascends the model's loss) in the module; it is
    applied at the start of the next call, before that batch is perturbed, so the hook needs
    no forward pass of its own.

    Parameters
    ----------
    perturbation : LatentPerturbation
        With its running latent variance already set.
    autoencoder : ConvAutoencoder
        Trained; frozen while the hook is in use.
    targeted : bool tensor (n_rows,) or None
        Rows of the training set whose windows are perturbed whenever they are in a batch
        (e.g. the rare windows); None perturbs every window. Perturbed windows replace their
        sources in the batch and keep their targets.
    lr : float
        Adam learning rate of the perturbation module.
    generator : torch.Generator
        Draws the perturbation's noise.
    to_autoencoder : tuple (scale, offset) of tensors (n_features,), default=None
        Affine map from the model's window scaling to the autoencoder's,
        ``x_ae = x * scale + offset``; None when both scale windows alike.
    residual : bool, default=True
        New window = ``x + decode(z + delta) - decode(z)`` (see :func:`perturb_windows`).
    keep : bool tensor (n_features,) or None
        Channels copied unchanged from the source window.
    probability : float, default=1.0
        Chance that a targeted window in a batch is perturbed, drawn afresh every batch; the
        others go through unchanged (the paper perturbed 80% of the rare windows).

    Attributes
    ----------
    n_perturbed : tensor
        Windows perturbed so far (on the device; no host sync during training).
    """

    def __init__(self, perturbation, autoencoder, *, targeted, lr, generator,
                 to_autoencoder=None, residual=True, keep=None, probability=1.0):
        self.perturbation, self.autoencoder = perturbation, autoencoder
        self.targeted, self.generator = targeted, generator
        self.to_autoencoder, self.residual, self.keep = to_autoencoder, residual, keep
        self.probability = probability
        trained = perturbation.mode != "random"
        self.optimizer = make_adam(perturbation.parameters(), lr) if trained else None
        self.reverse = perturbation.mode == "adversarial"
        self.n_perturbed = torch.zeros((), dtype=torch.long)
        self._pending = False
        self._frozen = []

    def __enter__(self):
        self._frozen = [p for p in self.autoencoder.parameters() if p.requires_grad]
        for p in self._frozen:
            p.requires_grad_(False)
        self.autoencoder.eval()
        self.perturbation.train()
        self.n_perturbed = self.n_perturbed.to(self.perturbation.running_var.device)
        return self

    def __exit__(self, *exc):
        self._step()  # the last batch's gradient
        for p in self._frozen:
            p.requires_grad_(True)
        self._frozen = []
        self.perturbation.eval()
        return False

    def _step(self):
        if self._pending and self.optimizer is not None:
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        self._pending = False

    def _perturb(self, x):
        """Perturbed versions of windows ``x`` (model scaling), differentiable in the module."""
        scale, offset = self.to_autoencoder or (None, None)
        x_ae = x if scale is None else x * scale + offset
        with torch.no_grad():
            z = self.autoencoder.encode(x_ae)
            base = self.autoencoder.decode(z) if self.residual else None
        delta = self.perturbation.delta(z, generator=self.generator)
        decoded = self.autoencoder.decode(z + (_ReverseGrad.apply(delta) if self.reverse
                                               else delta))
        if self.residual:
            change = decoded - base
            x_new = x + (change if scale is None else change / scale)
        else:
            x_new = decoded if scale is None else (decoded - offset) / scale
        return x_new if self.keep is None else torch.where(self.keep, x, x_new)

    def __call__(self, xb, yb, idx):
        self._step()
        mask = None if self.targeted is None else self.targeted[idx]
        if self.probability < 1:
            drawn = torch.rand(xb.shape[0], generator=self.generator,
                               device=self.generator.device) < self.probability
            drawn = drawn.to(xb.device)
            mask = drawn if mask is None else mask & drawn
        if mask is None:
            x_new = self._perturb(xb)
            self.n_perturbed += xb.shape[0]
        else:
            # Decode the targeted rows only (the rare ones are few) and put them back in
            # place; the boolean selection costs one host sync per batch on a GPU.
            x_new = xb.index_put((mask,), self._perturb(xb[mask]))
            self.n_perturbed += mask.sum()
        self._pending = True
        return x_new, yb
