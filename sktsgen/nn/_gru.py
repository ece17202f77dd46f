"""Small GRU networks on channel-last windows: a window-level head and a per-step head."""

import torch
from torch import nn

from ._fast_gru import (
    gru_layers,
    half_state_linear,
    half_state_linear_weight,
    half_state_stack,
    half_state_step_outputs,
    half_state_weights,
    inference_on_cpu,
)


class GRUHead(nn.Module):
    """GRU stack whose last hidden state goes through a linear layer: one vector per window.

    Used as the post-hoc classifier of the discriminative score (1 layer, 1 logit) and as
    the downstream model of ``GRURegressor``/``GRUClassifier`` (the paper's 2 x 15 units).

    Parameters
    ----------
    n_features : int
    hidden_size : int
    num_layers : int, default=1
    n_outputs : int, default=1
    dropout : float, default=0.0
        Dropout between GRU layers (only when ``num_layers > 1``).
    """

    def __init__(self, n_features, hidden_size, num_layers=1, n_outputs=1, dropout=0.0):
        super().__init__()
        self.gru = nn.GRU(n_features, hidden_size, num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.out = nn.Linear(hidden_size, n_outputs)

    def forward(self, x, lengths=None):
        """``x``: (batch, seq_len, n_features) -> (batch, n_outputs).

        ``lengths`` (int tensor or array of shape (batch,), values in [1, seq_len], or None
        for complete windows): window ``i`` is read on its first ``lengths[i]`` steps only,
        and its output is the linear layer on the hidden state at its own last step. The
        steps after it must be finite (their values play no part). Since the GRU runs
        forward in time, the output equals that of ``x[i:i + 1, :lengths[i]]``: exactly so
        at inference on a CPU, to rounding when training (packed sequences).
        """
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
            if lengths.shape != (x.shape[0],) or not bool(
                    ((lengths >= 1) & (lengths <= x.shape[1])).all()):
                raise ValueError(f"lengths must hold one int in [1, {x.shape[1]}] per window "
                                 f"({x.shape[0]}), got {lengths.tolist()}.")
            if bool((lengths == x.shape[1]).all()):
                lengths = None  # complete windows take the unpacked path, bit for bit
        if inference_on_cpu(self):  # about twice as fast as nn.GRU's kernel; see _fast_gru
            states = half_state_stack(x, half_state_weights(gru_layers(self.gru)))
            n = x.shape[0]
            last = states[-1]
            if lengths is not None:
                # Each window's state at its own last step: that of the window cropped to its
                # steps, bit for bit (a step's arithmetic has the same shapes either way).
                last = last.clone()
                last[:, :n] = states[lengths - 1, :, torch.arange(n)].t()
            return half_state_linear(self.out, last)[:, :n].t()
        if lengths is None:
            _, h = self.gru(x)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, h = self.gru(packed)  # h in the batch's own order, at each window's last step
        return self.out(h[-1])


class GRUStepHead(nn.Module):
    """GRU stack with a linear layer at every step: (batch, seq, in) -> (batch, seq, out).

    ``activation="sigmoid"`` gives the predictive score's post-hoc predictor.

    Parameters
    ----------
    n_features : int
    hidden_size : int
    n_outputs : int, default=1
    num_layers : int, default=1
    activation : {None, "sigmoid"}, default=None
        Applied to every step's output.
    """

    def __init__(self, n_features, hidden_size, n_outputs=1, num_layers=1, activation=None):
        super().__init__()
        self.gru = nn.GRU(n_features, hidden_size, num_layers, batch_first=True)
        self.out = nn.Linear(hidden_size, n_outputs)
        self.activation = activation

    def forward(self, x):
        """``x``: (batch, seq_len, n_features) -> (batch, seq_len, n_outputs)."""
        activation = torch.sigmoid if self.activation == "sigmoid" else None
        if inference_on_cpu(self):  # as in GRUHead
            states = half_state_stack(x, half_state_weights(gru_layers(self.gru)))
            return half_state_step_outputs(half_state_linear_weight(self.out), states,
                                           x.shape[0], activation)
        y = self.out(self.gru(x)[0])
        return activation(y) if activation is not None else y
