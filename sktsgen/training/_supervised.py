"""Mini-batch supervised training of a window model, with optional early stopping.

Used by ``GRURegressor``/``GRUClassifier`` and by samplers that train a predictor jointly with
an augmenter: the optional ``augment(xb, yb, idx) -> (xb, yb)`` hook is called on every batch
before the forward pass, so the caller can perturb, replace or extend the batch (and update
its own modules against the current model) without a loop of its own. Windows of unequal
lengths travel with their ``lengths``, which each batch hands to the module.
"""

import copy

import torch
from torch.nn import functional as F

from ._common import LossHistory, ProgressBar, epoch_batches, make_adam

LOSSES = {
    # (outputs (batch, 1), targets (batch,)) and (logits (batch, C), labels (batch,))
    "squared_error": lambda out, y: F.mse_loss(out[:, 0], y),
    "cross_entropy": F.cross_entropy,
}


def _call(module, xb, lengths):
    """``module(xb)``, with ``lengths=`` only for windows of unequal lengths."""
    return module(xb) if lengths is None else module(xb, lengths=lengths)


def _mean_loss(module, X, y, loss_fn, batch_size, lengths=None):
    """Mean loss over a whole set, in eval mode and without gradients."""
    module.eval()
    total = torch.zeros((), device=X.device)
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            lb = None if lengths is None else lengths[start:start + batch_size]
            total += loss_fn(_call(module, xb, lb), yb) * xb.shape[0]
    module.train()
    return total / X.shape[0]


def train_supervised(module, X, y, *, loss, n_epochs, batch_size, generator, optimizer=None,
                     learning_rate=1e-3, validation=None, n_iter_no_change=10, tol=1e-4,
                     augment=None, lengths=None, verbose=0, desc="train"):
    """Train ``module`` to map windows ``X`` to targets ``y`` for ``n_epochs`` shuffled epochs.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(batch, seq_len, n_features)`` to ``(batch, n_outputs)``; with ``lengths``,
        called as ``module(xb, lengths=lb)`` (e.g. :class:`~sktsgen.nn.GRUHead`).
    X : torch.Tensor of shape (n_samples, seq_len, n_features)
        On the module's device; finite, also on the padding of shorter windows.
    y : torch.Tensor of shape (n_samples,)
        Float targets for ``loss="squared_error"``, int64 labels for ``"cross_entropy"``.
    loss : {"squared_error", "cross_entropy"}
    n_epochs : int
        Maximum number of passes over the data.
    batch_size : int
    generator : torch.Generator
        Private generator that shuffles the epochs (a seed reproduces every batch).
    optimizer : torch.optim.Optimizer, default=None
        Reused when given (warm start); else a fused Adam with ``learning_rate``.
    learning_rate : float, default=1e-3
    validation : tuple (X_val, y_val) or (X_val, y_val, lengths_val), default=None
        Tensors; the third one, the windows' lengths, goes with ``lengths``. When given,
        the loss on it is computed after every epoch; training stops once it has not
        improved by ``tol`` for ``n_iter_no_change`` epochs and the best weights are
        restored.
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    augment : callable, default=None
        ``augment(xb, yb, idx) -> (xb, yb)`` applied to every training batch before the
        forward pass: the tensors the module sees (scaled windows, transformed targets) and
        the batch's row indices into ``X`` (so that a hook can treat some rows apart). The
        returned batch may be larger or smaller, except with ``lengths``: the hook leaves
        the batch's windows and their lengths in place. Gradients of the model's loss flow
        into whatever ``augment`` returns, but only ``module``'s optimizer steps here; a
        caller training an adversary updates it inside the hook.
    lengths : torch.Tensor of shape (n_samples,), default=None
        Steps of each window of ``X`` before its padding (int64, on ``X``'s device); None
        for complete windows. Each batch gets its rows' lengths.
    verbose : int, default=0
        Progress bar on stderr when > 0.
    desc : str, default="train"
        Label of the progress bar.

    Returns
    -------
    history : dict
        ``{"iteration": epochs, "train": mean training loss per epoch, "val": validation loss
        per epoch (only with validation), "best_epoch": int or None}``.
    optimizer : torch.optim.Optimizer
        To continue training later.

    Examples
    --------
    >>> import torch
    >>> from sktsgen.nn import GRUHead
    >>> from sktsgen.training._supervised import train_supervised
    >>> from sktsgen.utils._torch import make_generator
    >>> X = torch.rand(64, 8, 2, generator=make_generator(0))
    >>> y = X.mean(dim=(1, 2))
    >>> model = GRUHead(2, hidden_size=8)
    >>> history, _ = train_supervised(model, X, y, loss="squared_error", n_epochs=3,
    ...                               batch_size=16, generator=make_generator(0))
    >>> len(history["train"])
    3
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}.")
    loss_fn = LOSSES[loss]
    if optimizer is None:
        optimizer = make_adam(module.parameters(), learning_rate, device=X.device)
    history = LossHistory()
    progress = ProgressBar(n_epochs, desc, verbose=verbose)
    best, best_state, best_epoch, stale = float("inf"), None, None, 0
    if validation is not None and len(validation) == 2:
        validation = (*validation, None)
    module.train()
    for epoch in range(int(n_epochs)):
        total = torch.zeros((), device=X.device)
        batches = epoch_batches(X.shape[0], batch_size, generator, X.device)
        for idx in batches:
            xb, yb = X[idx], y[idx]
            lb = None if lengths is None else lengths[idx]
            if augment is not None:
                xb, yb = augment(xb, yb, idx)
                if lb is not None and xb.shape[0] != lb.shape[0]:
                    raise RuntimeError(
                        f"The augment hook returned {xb.shape[0]} windows for a batch of "
                        f"{lb.shape[0]}; with lengths, it must keep the batch's rows.")
            batch_loss = loss_fn(_call(module, xb, lb), yb)
            optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.detach()
        losses = {"train": total / len(batches)}
        if validation is not None:
            X_val, y_val, lengths_val = validation
            losses["val"] = _mean_loss(module, X_val, y_val, loss_fn, batch_size, lengths_val)
        history.record(epoch, **losses)
        progress.update(epoch, losses)
        if validation is None:
            continue
        val = float(losses["val"])  # one host sync per epoch, for early stopping
        if val < best - tol:
            best, best_epoch, stale = val, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
            if stale >= n_iter_no_change:
                break
    progress.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    out = history.to_dict()
    out["best_epoch"] = best_epoch
    return out, optimizer
