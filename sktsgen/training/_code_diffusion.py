"""Training loop of a :class:`sktsgen.nn.CodeDiffusion` on one tensor of coordinates.

Adam under a one-cycle learning rate (short warm-up, then cosine annealing), and an
exponential moving average of the weights that replaces them at the end: diffusion models
sample markedly better from averaged weights. Batches are drawn on the device in blocks of
iterations, so the loop never waits for the host.
"""

import torch

from ._common import LossHistory, ProgressBar, batch_indices, make_adam

INDEX_BLOCK = 500  # iterations whose batch indices are drawn at once


def train_code_diffusion(module, coords, *, n_iter, batch_size, learning_rate, generator,
                         ema_decay=0.999, autocast_dtype=None, verbose=0, history_every=100):
    """Fit ``module`` to whitened coordinates ``coords`` and return its loss curve.

    Parameters
    ----------
    module : CodeDiffusion
        Modified in place; left in eval mode with the averaged weights.
    coords : Tensor of shape (n_samples, n_components)
        On the module's device.
    n_iter : int
    batch_size : int
        Rows per batch, drawn with replacement.
    learning_rate : float
        Peak learning rate of the one-cycle schedule.
    generator : torch.Generator
        On ``coords``' device; draws batches, noise levels and noise.
    ema_decay : float, default=0.999
    autocast_dtype : torch.dtype, default=None
        Run the loss under ``torch.autocast`` with this dtype (``torch.bfloat16``: the
        network's matrix products in bfloat16, weights, optimizer and average in float32).
    verbose : int, default=0
        Progress bar when positive.
    history_every : int, default=100
        Record the loss every this many iterations.

    Returns
    -------
    history : dict
        ``{"iteration": [...], "loss": [...]}``.
    """
    n_iter = int(n_iter)
    params = list(module.parameters())
    opt = make_adam(params, learning_rate)
    schedule = None
    if n_iter >= 4:  # a warm-up of 5%, at least 2 iterations; a very short run keeps one rate
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            opt, learning_rate, total_steps=n_iter, pct_start=max(0.05, 2.0 / n_iter))
    # Detached views share storage with the parameters, so they follow every optimizer step.
    current = [p.detach() for p in params]
    averaged = [p.clone() for p in current]
    hist, bar = LossHistory(history_every), ProgressBar(n_iter, "code diffusion", verbose)
    module.train()
    for start in range(0, n_iter, INDEX_BLOCK):
        idx = batch_indices(coords.shape[0], batch_size, min(INDEX_BLOCK, n_iter - start),
                            generator, coords.device)
        for j in range(len(idx)):
            with torch.autocast(coords.device.type, dtype=autocast_dtype,
                                enabled=autocast_dtype is not None):
                loss = module(coords[idx[j]], generator=generator)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            with torch.no_grad():
                torch._foreach_lerp_(averaged, current, 1.0 - ema_decay)
            hist.record(start + j, loss=loss)
            bar.update(start + j, {"loss": loss.detach()})
    for p, a in zip(current, averaged, strict=True):
        p.copy_(a)
    module.eval()
    return hist.to_dict()
