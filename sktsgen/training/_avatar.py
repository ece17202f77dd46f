"""AVATAR's three training stages over an :class:`sktsgen.nn.AvatarNet` and one data tensor.

Stage 1 trains the autoencoder on reconstruction; stage 2 trains decoder and supervisor on the
supervised loss; stage 3 ("joint") takes, per iteration, two autoencoder steps on the sum of
the four losses and one discriminator step while the discriminator's loss exceeds a threshold.
Losses stay on the device; the host reads them only for the progress bar and the returned curves.
"""

import copy
import math

import torch

from ._common import LossHistory, ProgressBar, batch_indices, make_adam

STAGES = ("autoencoder", "supervisor", "joint")


def gated_step(optimizer, loss, threshold):
    """Step ``optimizer`` only while ``loss > threshold``.

    A fused Adam skips a step whose ``found_inf`` flag is 1 (parameters and moments stay as
    they were), so the test runs on the device without a host synchronisation; other
    optimizers read the loss.
    """
    if optimizer.defaults.get("fused"):
        optimizer.found_inf = (loss.detach() <= threshold).float()
        optimizer.step()
    elif float(loss) > threshold:
        optimizer.step()


def cosine_factor(i, n_iter, final=0.1):
    """Learning-rate factor at iteration ``i`` of ``n_iter``: 1 down to ``final`` (half cosine)."""
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * i / max(n_iter - 1, 1)))


def _step(optimizer, loss):
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def train_avatar(net, X, *, n_iter, batch_size, learning_rate, generator, d_threshold=0.15,
                 d_learning_rate=None, lr_schedule="constant", calibrate_prior=False, stages=STAGES, verbose=0, evaluate=None,
                 eval_every=None, patience=None, history_every=1, mask=None):
    """Run AVATAR's training stages and return their loss curves.

    Parameters
    ----------
    net : AvatarNet
        In training mode; modified in place.
    X : Tensor of shape (n_samples, seq_len, n_features)
        Training windows scaled to [0, 1], on the networks' device.
    n_iter : int
        Iterations per stage.
    batch_size : int
    learning_rate : float
        Adam's learning rate for every optimizer.
    generator : torch.Generator
        Private generator on X's device for batches and prior draws.
    d_threshold : float, default=0.15
        The discriminator steps only while its loss is above this value.
    d_learning_rate : float, default=None
        The discriminator's learning rate (``learning_rate`` when None).
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` anneals both joint-stage learning rates to a tenth along a half cosine.
    calibrate_prior : bool, default=False
        After stage 1, set the prior's per-unit correlation along time to that of the
        encoder's codes of (up to) 2048 training windows (``Prior.calibrate``).
    stages : sequence of {"autoencoder", "supervisor", "joint"}, default=all three
        Stages to run, in this order; ``("joint",)`` continues the joint stage of networks
        trained before (with fresh optimizers).
    verbose : int, default=0
        Progress bar per stage when positive.
    evaluate : callable, default=None
        Early stopping in stage 3: ``evaluate()`` returns a score (lower is better) every
        ``eval_every`` joint iterations; training stops after ``patience`` evaluations without
        improvement and the best weights are restored.
    eval_every, patience : int, default=None
    history_every : int, default=1
        Record losses every this many iterations.
    mask : Tensor of shape (n_samples, seq_len, n_features), default=None
        1 (True) at observed entries of ``X``, 0 (False) at missing ones (filled in ``X``),
        boolean or in X's dtype, on X's device: the reconstruction losses of stages 1 and 3
        average over the observed entries only. None: every entry is observed.

    Returns
    -------
    history : dict
        ``{"autoencoder": ..., "supervisor": ..., "joint": ..., "validation": ...}``, each a
        dict of lists with an ``"iteration"`` key, for the stages run (the supervisor stage is
        absent without a supervisor or for windows of length 1, validation without
        ``evaluate``).
    """
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"stages must be among {STAGES}, got {sorted(unknown)}.")
    batch = min(int(batch_size), X.shape[0])
    common = {"n_iter": n_iter, "batch": batch, "lr": learning_rate, "generator": generator,
                  "verbose": verbose, "every": history_every}
    history = {}
    if "autoencoder" in stages:
        history["autoencoder"] = _autoencoder_stage(net, X, mask=mask, **common)
        if calibrate_prior:
            _calibrate_prior(net, X, generator)
    if "supervisor" in stages and net.supervisor is not None and X.shape[1] > 1:
        # Windows of length 1 have no next step to predict.
        history["supervisor"] = _supervisor_stage(net, X, **common)
    if "joint" in stages:
        history.update(_joint_stage(net, X, d_threshold=d_threshold,
                                    d_lr=d_learning_rate or learning_rate,
                                    lr_schedule=lr_schedule, evaluate=evaluate,
                                    eval_every=eval_every, patience=patience, mask=mask,
                                    **common))
    return history


def _rows(mask, rows, dtype):
    """The mask of the windows ``rows`` in ``dtype`` (a boolean mask is kept as such, a
    quarter of the memory of a float one), or None."""
    return None if mask is None else mask[rows].to(dtype)


def _autoencoder_stage(net, X, *, n_iter, batch, lr, generator, verbose, every, mask=None):
    """Stage 1: encoder and decoder on reconstruction (of the observed entries)."""
    idx = batch_indices(X.shape[0], batch, n_iter, generator, X.device)
    opt = make_adam(list(net.encoder.parameters()) + list(net.decoder.parameters()), lr)
    hist, bar = LossHistory(every), ProgressBar(n_iter, "autoencoder", verbose)
    for i in range(n_iter):
        loss = net.reconstruction_loss(X[idx[i]], _rows(mask, idx[i], X.dtype))
        _step(opt, loss)
        hist.record(i, reconstruction=loss)
        bar.update(i, {"reconstruction": loss.detach()})
    return hist.to_dict()


def _calibrate_prior(net, X, generator):
    """Give the prior the temporal correlation of the stage-1 codes (eval-mode encoder)."""
    rows = torch.randperm(X.shape[0], generator=generator, device=generator.device)[:2048]
    net.eval()
    with torch.no_grad():
        net.prior.calibrate(net.encoder(X[rows.to(X.device)]))
    net.train()


def _supervisor_stage(net, X, *, n_iter, batch, lr, generator, verbose, every):
    """Stage 2: decoder and supervisor on the supervised loss (encoder frozen)."""
    idx = batch_indices(X.shape[0], batch, n_iter, generator, X.device)
    opt = make_adam(list(net.decoder.parameters()) + list(net.supervisor.parameters()), lr)
    hist, bar = LossHistory(every), ProgressBar(n_iter, "supervisor", verbose)
    for i in range(n_iter):
        loss = net.supervised_stage_loss(X[idx[i]])
        _step(opt, loss)
        hist.record(i, supervised=loss)
        bar.update(i, {"supervised": loss.detach()})
    return hist.to_dict()


def _joint_stage(net, X, *, n_iter, batch, lr, generator, verbose, every, d_threshold, d_lr,
                 lr_schedule, evaluate, eval_every, patience, mask=None):
    """Stage 3: two autoencoder steps per discriminator step, optional early stopping."""
    seq_len = X.shape[1]
    idx = batch_indices(X.shape[0], batch, 3 * n_iter, generator, X.device).view(n_iter, 3, batch)
    ae_opt = make_adam(net.autoencoder_parameters(), lr)
    d_opt = make_adam(net.discriminator.parameters(), d_lr)
    hist, bar = LossHistory(every), ProgressBar(n_iter, "joint", verbose)
    val = {"iteration": [], "score": []}
    best, best_state, bad = float("inf"), None, 0
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}.")
    for i in range(n_iter):
        if lr_schedule == "cosine":
            factor = cosine_factor(i, n_iter)
            ae_opt.param_groups[0]["lr"] = lr * factor
            d_opt.param_groups[0]["lr"] = d_lr * factor
        # The discriminator only passes gradients to the encoder here: no parameter grads.
        net.discriminator.requires_grad_(False)
        for k in range(2):
            z = net.prior.sample(batch, seq_len, generator=generator)
            rows = idx[i, k]
            total, parts = net.joint_losses(X[rows], z, _rows(mask, rows, X.dtype))
            _step(ae_opt, total)
        net.discriminator.requires_grad_(True)
        z = net.prior.sample(batch, seq_len, generator=generator)
        d_loss = net.discriminator_loss(X[idx[i, 2]], z)
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        gated_step(d_opt, d_loss, d_threshold)
        losses = dict(parts, discriminator=d_loss.detach())
        hist.record(i, **losses)
        bar.update(i, losses)
        if evaluate is not None and ((i + 1) % eval_every == 0 or i + 1 == n_iter):
            score = float(evaluate())
            val["iteration"].append(i + 1)
            val["score"].append(score)
            if score < best:
                best, bad = score, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                bad += 1
                if bad >= patience:
                    bar.close(losses)
                    break
    out = {"joint": hist.to_dict()}
    if evaluate is not None:
        val["best_iteration"] = val["iteration"][val["score"].index(best)]
        val["best_score"] = best
        out["validation"] = val
        net.load_state_dict(best_state)
    return out
