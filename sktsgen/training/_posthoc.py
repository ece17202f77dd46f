"""Training loops of the post-hoc networks behind the discriminative and predictive scores.

Both networks are one-layer GRUs from :mod:`sktsgen.nn` (``GRUHead``, ``GRUStepHead``). For
training, their GRU runs through the hand-written-backward layer of ``sktsgen.nn._avatar``
on time-major batches: same parameters and equations as ``nn.GRU``, results equal to
rounding, about half the per-step operations (the cost of a tiny GRU on a CPU).
"""

import torch
from torch.nn import functional as F

from ..nn._fast_gru import time_major_outputs
from ._common import LossHistory, batch_indices

# Iterations whose batch indices are drawn at once: bounded memory for long runs. Changing
# it changes which batches a seed gives, so it is fixed.
_INDEX_CHUNK = 1024


def gru_outputs(gru, x):
    """Outputs ``(seq_len, batch, hidden)`` of a one-layer ``nn.GRU`` for a time-major batch.

    ``x`` is ``(seq_len, batch, n_in)`` whatever ``gru.batch_first`` says (the weights are
    used directly).
    """
    if gru.num_layers != 1 or gru.bidirectional:
        raise ValueError("gru_outputs needs a one-layer, one-directional nn.GRU.")
    return time_major_outputs(gru, x)


def _index_chunks(n_rows, batch_size, n_iter, generator, device):
    """Yield ``(first_iteration, indices)`` with all batch indices of up to 1024 iterations."""
    for start in range(0, n_iter, _INDEX_CHUNK):
        stop = min(start + _INDEX_CHUNK, n_iter)
        yield start, batch_indices(n_rows, batch_size, stop - start, generator, device)


def train_window_classifier(module, X, n_real, *, n_iter, batch_size, optimizer, generator):
    """Train a ``GRUHead`` (one logit) to tell real windows (label 1) from synthetic ones (0).

    Parameters
    ----------
    module : sktsgen.nn.GRUHead
        One GRU layer, one output.
    X : torch.Tensor of shape (seq_len, n_real + n_synth, n_features)
        Time-major training windows: the first ``n_real`` are real, the rest synthetic.
    n_real : int
    n_iter, batch_size : int
        Each iteration draws ``batch_size`` real and ``batch_size`` synthetic windows (with
        replacement, capped at the size of each part).
    optimizer : torch.optim.Optimizer
    generator : torch.Generator
        Private generator for the batches.

    Returns
    -------
    history : dict
        ``{"iteration": [...], "loss": [...]}``, binary cross-entropy about every 1% of the run.
    """
    n_synth = X.shape[1] - n_real
    size = min(int(batch_size), n_real, n_synth)
    labels = torch.cat([X.new_ones(size), X.new_zeros(size)])
    history = LossHistory(every=max(n_iter // 100, 1))
    module.train()
    real_chunks = _index_chunks(n_real, size, n_iter, generator, X.device)
    synth_chunks = _index_chunks(n_synth, size, n_iter, generator, X.device)
    for (start, real_idx), (_, synth_idx) in zip(real_chunks, synth_chunks):
        idx = torch.cat([real_idx, synth_idx + n_real], dim=1)
        for i, rows in enumerate(idx, start):
            logits = module.out(gru_outputs(module.gru, X.index_select(1, rows))[-1]).squeeze(-1)
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.record(i, loss=loss)
    return history.to_dict()


def train_step_predictor(module, inputs, targets, *, n_iter, batch_size, optimizer, generator):
    """Train a ``GRUStepHead`` to predict ``targets`` at every step with an L1 loss.

    Parameters
    ----------
    module : sktsgen.nn.GRUStepHead
        One GRU layer; its ``activation`` (e.g. ``"sigmoid"``) is applied.
    inputs : torch.Tensor of shape (seq_len, n_windows, n_inputs)
        Time-major.
    targets : torch.Tensor of shape (seq_len, n_windows, n_outputs)
    n_iter, batch_size : int
    optimizer : torch.optim.Optimizer
    generator : torch.Generator

    Returns
    -------
    history : dict
        ``{"iteration": [...], "loss": [...]}``, mean absolute error about every 1% of the run.
    """
    history = LossHistory(every=max(n_iter // 100, 1))
    module.train()
    for start, idx in _index_chunks(inputs.shape[1], batch_size, n_iter, generator,
                                    inputs.device):
        for i, rows in enumerate(idx, start):
            # index_select on the batch axis is several times faster than X[:, rows] here.
            pred = module.out(gru_outputs(module.gru, inputs.index_select(1, rows)))
            if module.activation == "sigmoid":
                pred = torch.sigmoid(pred)
            loss = F.l1_loss(pred, targets.index_select(1, rows))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.record(i, loss=loss)
    return history.to_dict()
