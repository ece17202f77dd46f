"""A single GRU layer with a hand-written backward, shared by AVATAR and the metrics.

On a CPU the cost of tiny GRUs is per-operation overhead; computing the gates' gradients in one
fused pass cuts the operations autograd records for ``nn.GRU`` (about 1.5x faster forward +
backward, numerically equal to ``nn.GRU``). Inputs are time-major ``(seq_len, batch, features)``.

The candidate gate is computed as ``tanh(a) = 2 sigmoid(2 a) - 1``: torch's CPU ``tanh`` is
scalar code (about 2.5 ns per element here against 0.45 ns for the vectorised ``sigmoid``), and
the factor 2 is folded into the candidate rows of the weights once per call.

Inference of whole stacks (eval mode, no gradients, CPU: AVATAR's sampling and ``transform``,
``GRUHead``/``GRUStepHead`` predictions) has its own recurrence, :func:`half_state_recurrence`
driven by :func:`half_state_stack`: feature-major, five operations per step, biases and the
surrounding affine maps folded into the weights, the batch padded so that a window's outputs
do not depend on its batch. At 2,048 windows a layer-step costs about 150 ns per window
against 165-220 ns for the batch-major loop, which stays the faster one at training's
128-window batches.
"""

import torch
from torch import nn

# Steps whose input projections half_state_recurrence computes at once: for a 2,048-window
# chunk 2.4 MB that the recurrence reads from L2/L3 instead of memory; 4 measured faster
# than 2 or 8 (and than all 24 at once).
_INFERENCE_BLOCK = 4
# Column alignment of half_state_recurrence's batch (see with_ones_row).
_BATCH_ALIGN = 32


def _doubled_candidate(w, b, hid):
    """Copies of a weight matrix and bias with the candidate gate's rows times two."""
    scale = w.new_ones(3 * hid, 1)
    scale[2 * hid:] = 2.0
    return w * scale, b * scale[:, 0]


def _forward_steps(x, w_ih, w_hh, b_ih, b_hh, keep):
    """The recurrence over a time-major sequence, gate order (r, z, n) as ``torch.nn.GRU``.

    Returns ``hs`` (seq_len + 1, batch, hid), whose first row is the zero initial state, and,
    when ``keep``, the per-step pre-activations ``gh`` (the candidate part doubled), gates
    ``rz`` and candidates ``n`` that the backward needs; otherwise per-step scratch buffers
    are reused, which keeps a long forward-only pass in cache.
    """
    t_len, batch, _ = x.shape
    hid = w_hh.shape[1]
    w_ih2, b_ih2 = _doubled_candidate(w_ih, b_ih, hid)
    w_hh2, b_hh2 = _doubled_candidate(w_hh, b_hh, hid)
    gi = torch.addmm(b_ih2, x.reshape(-1, x.shape[2]), w_ih2.t()).view(t_len, batch, 3 * hid)
    hs = x.new_zeros(t_len + 1, batch, hid)
    # Every per-step view is made up front by unbind (one call each), not sliced per step.
    if keep:
        gh = x.new_empty(t_len, batch, 3 * hid)
        rz = x.new_empty(t_len, batch, 2 * hid)
        n = x.new_empty(t_len, batch, hid)
        buffers = (gh, rz, n)
    else:
        gh = rz = n = None
        # One step's buffers, reused at every step: a long forward-only pass stays in cache.
        buffers = (x.new_empty(1, batch, 3 * hid), x.new_empty(1, batch, 2 * hid),
                   x.new_empty(1, batch, hid))
    views = [b.unbind(0) if keep else b.expand(t_len, -1, -1).unbind(0) for b in buffers]
    views += [b[..., sl].unbind(0) if keep else b[..., sl].expand(t_len, -1, -1).unbind(0)
              for b, sl in ((buffers[0], slice(0, 2 * hid)),
                            (buffers[0], slice(2 * hid, None)),
                            (buffers[1], slice(0, hid)), (buffers[1], slice(hid, None)))]
    minus_one = x.new_full((), -1.0)
    h = hs[0]
    w_hh2_t = w_hh2.t()
    steps = zip(gi[..., : 2 * hid].unbind(0), gi[..., 2 * hid:].unbind(0), hs[1:].unbind(0),
                *views)
    for gi_rz, gi_n, y_t, gh_t, rz_t, n_t, gh_rz, gh_n, r_t, z_t in steps:
        torch.addmm(b_hh2, h, w_hh2_t, out=gh_t)
        torch.add(gi_rz, gh_rz, out=rz_t).sigmoid_()
        # sigmoid(2 a) with 2 a = 2 gi_n + r * 2 gh_n, then tanh(a) = 2 sigmoid(2 a) - 1.
        torch.addcmul(gi_n, r_t, gh_n, out=n_t).sigmoid_()
        torch.add(minus_one, n_t, alpha=2.0, out=n_t)
        h = torch.lerp(n_t, h, z_t, out=y_t)
    return hs, gh, rz, n


def with_ones_row(x):
    """Time-major ``(seq_len, batch, n)`` -> feature-major ``(seq_len, n + 1, padded)``
    whose last row is ones: the input layout of :func:`half_state_recurrence`.

    The batch is padded with zero columns to a multiple of 32. A window's numbers then do
    not depend on the batch it came in: on a partial block of columns the BLAS kernels
    accumulate in another order, and elementwise kernels finish a length that is not a
    multiple of their vector width with scalar code (one ulp apart in either case).
    """
    t_len, batch, n = x.shape
    xa = x.new_zeros(t_len, n + 1, -(-batch // _BATCH_ALIGN) * _BATCH_ALIGN)
    xa[:, :n, :batch] = x.permute(0, 2, 1)
    xa[:, n] = 1.0
    return xa


def augmented_gru_weights(w_ih, w_hh, b_ih, b_hh, scale=1.0, shift=None):
    """The weights of ``torch.nn.GRU`` rearranged for :func:`half_state_recurrence`.

    Returns ``w_in`` (3 * hid, n_in + 1) and ``w_rec`` (3 * hid, hid + 1): each bias is the
    weight of the constant-one row of the input or state; the candidate rows are doubled
    (``tanh(a) = 2 sigmoid(2 a) - 1``); ``w_rec`` acts on the state in half coordinates,
    ``W h + b = 2 W u + (b - W 1)``; and ``w_in`` acts on an input given as
    ``x * scale + shift`` (a batch norm in eval mode, or the half coordinates of the layer
    below), so none of these costs an operation per step.
    """
    hid = w_hh.shape[1]
    if shift is not None:
        b_ih = torch.addmv(b_ih, w_ih, shift)  # W (x * scale + shift) + b
    w_ih2, b_ih2 = _doubled_candidate(w_ih * scale, b_ih, hid)
    w_hh2, b_hh2 = _doubled_candidate(2 * w_hh, b_hh - w_hh.sum(1), hid)
    return torch.cat([w_ih2, b_ih2[:, None]], 1), torch.cat([w_hh2, b_hh2[:, None]], 1)


def half_state_recurrence(xa, w_in, w_rec):
    """Forward-only recurrence of one GRU layer, feature-major, in half coordinates.

    States ``h`` lie in (-1, 1); in ``u = (h + 1) / 2`` the update is one ``lerp`` of the
    candidate's sigmoid ``s`` (``n = 2 s - 1``): ``u_new = s + z (u - s)``, and the consumer
    folds ``h = 2 u - 1`` into its own weights. Feature-major ``(features, batch)`` slices
    make every gate a contiguous block of rows, and the ones rows carry the biases, so a
    step is five operations on contiguous memory: one ``addmm`` (the r and z pre-activations
    and gi_n + gh_n), the r and z sigmoid, the candidate ``gi_n + r gh_n`` as one ``lerp``,
    its sigmoid, and the state ``lerp``. Input projections are computed for a few steps at
    a time, so that they stay in a core's L2 cache for the recurrence.

    Parameters
    ----------
    xa : Tensor of shape (seq_len, n_in + 1, batch)
        Inputs, feature-major, last row ones, batch padded (see :func:`with_ones_row`).
    w_in, w_rec : Tensor
        From :func:`augmented_gru_weights`.

    Returns
    -------
    states : Tensor of shape (seq_len + 1, hid + 1, batch)
        ``states[0]`` is the initial state (``h = 0``), the last row ones: ``states[1:]`` is
        the next layer's ``xa``.
    """
    t_len, _, batch = xa.shape
    hid = w_rec.shape[1] - 1
    states = xa.new_empty(t_len + 1, hid + 1, batch)
    states[:, hid] = 1.0
    states[0, :hid] = 0.5
    block = min(_INFERENCE_BLOCK, t_len)
    gi = xa.new_empty(block, 3 * hid, batch)
    pre = xa.new_empty(3 * hid, batch)
    rz, r, z, pre_n = pre[: 2 * hid], pre[:hid], pre[hid: 2 * hid], pre[2 * hid:]
    s = xa.new_empty(hid, batch)
    for start in range(0, t_len, block):
        stop = min(start + block, t_len)
        g = torch.matmul(w_in, xa[start:stop], out=gi[: stop - start])
        for t, g_t in enumerate(g.unbind(0), start):
            u = states[t]
            torch.addmm(g_t, w_rec, u, out=pre)
            rz.sigmoid_()
            # gi_n + r * gh_n = lerp(gi_n, gi_n + gh_n, r); sigmoid(2 a) as in _forward_steps.
            torch.lerp(g_t[2 * hid:], pre_n, r, out=s).sigmoid_()
            torch.lerp(s, u[:hid], z, out=states[t + 1, :hid])
    return states


def inference_on_cpu(module):
    """Whether ``module`` runs inference on a CPU: eval mode, no gradients. Its GRU stacks
    then go through :func:`half_state_stack` (batch norms with fixed statistics, no dropout)."""
    weight = next(module.parameters())
    return not module.training and not torch.is_grad_enabled() and weight.device.type == "cpu"


def gru_layers(gru):
    """``(w_ih, w_hh, b_ih, b_hh)`` of every layer of a one-directional ``torch.nn.GRU``."""
    return [tuple(getattr(gru, f"{name}_l{k}")
                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            for k in range(gru.num_layers)]


def half_state_stack(x, layers, affines=None):
    """Inference of a GRU stack: the top layer's states, feature-major, in half coordinates.

    Parameters
    ----------
    x : Tensor of shape (batch, seq_len, n_in)
        Batch-first windows.
    layers : list of tuple
        ``(w_ih, w_hh, b_ih, b_hh)`` per layer, bottom first.
    affines : list of (scale, shift) or None, default=None
        Per layer, a map ``x * scale + shift`` of its input (a batch norm in eval mode).

    Returns
    -------
    states : Tensor of shape (seq_len, hid + 1, padded)
        ``u = (h + 1) / 2`` of the top layer at every step, ones in the last row, the batch
        padded (see :func:`with_ones_row`): read a linear layer on ``h`` with
        :func:`half_state_linear`.
    """
    xa = with_ones_row(x.transpose(0, 1))
    for i, weights in enumerate(layers):
        scale, shift = affines[i] if affines is not None else (1.0, None)
        if i > 0:  # the layer below hands over u: h = 2 u - 1
            n_in = weights[0].shape[1]
            shift = -scale * xa.new_ones(n_in) + (0.0 if shift is None else shift)
            scale = 2.0 * scale
        xa = half_state_recurrence(xa, *augmented_gru_weights(*weights, scale, shift))[1:]
    return xa


def half_state_linear(linear, states):
    """``linear`` applied to ``h = 2 u - 1`` for states from :func:`half_state_stack`:
    ``(..., hid + 1, padded)`` -> ``(..., out_features, padded)``, the bias as the weight of
    the ones row."""
    w = linear.weight
    return torch.matmul(torch.cat([2 * w, (linear.bias - w.sum(1))[:, None]], 1), states)


def half_state_step_outputs(linear, states, batch, activation=None):
    """Batch-first ``(batch, seq_len, out_features)``: ``linear`` on every step of the states
    of :func:`half_state_stack`, then ``activation`` (a callable or None). The activation
    runs before the padding columns are cut off, so its kernel never ends a row in scalar
    code (see :func:`with_ones_row`)."""
    y = half_state_linear(linear, states)
    if activation is not None:
        y = activation(y)
    return y[..., :batch].permute(2, 0, 1)


def _backward_steps(dy, x, w_ih, w_hh, gh, rz, n, hs, need_x=True, need_w=True):
    """Gradients of one layer given the output gradient ``dy`` and the saved forward state:
    ``(dx, dw_ih, dw_hh, db_ih, db_hh)``, None for those not needed (a frozen network, such as
    the discriminator when it only passes gradients on, or an input without gradient)."""
    t_len, batch, hid = n.shape
    h_prev = hs[:-1]
    r, z = rz[..., :hid], rz[..., hid:]
    a = (1 - z) * (1 - n * n)
    # d(gh)/d(h_t) per gate (r, z, n): dgh = g * c_gh, linear in the incoming gradient g.
    # gh's candidate part was computed doubled, hence the 0.5.
    c_gh = x.new_empty(t_len, batch, 3, hid)
    torch.mul(a * gh[..., 2 * hid:], torch.addcmul(r, r, r, value=-1).mul_(0.5),
              out=c_gh[:, :, 0])
    torch.mul(h_prev - n, torch.addcmul(z, z, z, value=-1), out=c_gh[:, :, 1])
    torch.mul(a, r, out=c_gh[:, :, 2])
    g_all = torch.empty_like(n)
    dgh = torch.empty_like(c_gh)
    dy = dy.contiguous()
    g = g_all[-1].copy_(dy[-1])
    # Per-step views made up front (see _forward_steps); g_all[t] holds dL/dh_t.
    c_steps, dgh_steps = c_gh.unbind(0), dgh.unbind(0)
    dgh_flat = dgh.view(t_len, batch, 3 * hid).unbind(0)
    g_steps, g_cols = g_all.unbind(0), g_all[:, :, None, :].unbind(0)
    dy_steps, z_steps = dy.unbind(0), z.unbind(0)
    for t in range(t_len - 1, -1, -1):
        torch.mul(c_steps[t], g_cols[t], out=dgh_steps[t])
        if t:
            g = torch.addcmul(dy_steps[t - 1], g_steps[t], z_steps[t], out=g_steps[t - 1])
            torch.addmm(g, dgh_flat[t], w_hh, out=g)
    # dgi equals dgh for r and z; for n it is g * a (dgh_n has the extra factor r).
    dgi = dgh.clone()
    torch.mul(g_all, a, out=dgi[:, :, 2])
    dgh = dgh.view(t_len * batch, 3 * hid)
    dgi = dgi.view(t_len * batch, 3 * hid)
    dx = (dgi @ w_ih).view_as(x) if need_x else None
    if not need_w:
        return dx, None, None, None, None
    return (dx, dgi.t() @ x.reshape(t_len * batch, -1), dgh.t() @ h_prev.reshape(-1, hid),
            dgi.sum(0), dgh.sum(0))


class _GRULayerFn(torch.autograd.Function):
    """One GRU layer over a time-major sequence with a hand-written backward.

    On a CPU a small GRU's cost is the number of tensor operations, not arithmetic. The
    forward takes 7 cheap operations per step and saves the gates; the backward precomputes
    every factor that does not depend on the incoming gradient over all steps at once, so the
    recurrence costs 3 operations per step, and the weight gradients are one matmul each.
    Same gate order and equations as ``torch.nn.GRU`` (r, z, n).
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh):
        hs, gh, rz, n = _forward_steps(x, w_ih, w_hh, b_ih, b_hh, keep=True)
        ctx.save_for_backward(x, w_ih, w_hh, gh, rz, n, hs)
        return hs[1:]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        need = ctx.needs_input_grad
        return _backward_steps(dy, *ctx.saved_tensors, need_x=need[0], need_w=any(need[1:]))


def time_major_outputs(gru, x):
    """Outputs ``(seq_len, batch, hidden)`` of a one-layer ``nn.GRU`` on time-major ``x``,
    whatever ``gru.batch_first`` says.

    On a GPU, cuDNN's fused GRU: per-step kernels launched from Python made a training
    iteration slower there than on a CPU. On a CPU, the hand-written recurrence.
    """
    if x.is_cuda:
        if gru.batch_first:
            return nn.GRU.forward(gru, x.transpose(0, 1))[0].transpose(0, 1)
        return nn.GRU.forward(gru, x)[0]
    weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    if not torch.is_grad_enabled() or not (x.requires_grad or gru.weight_hh_l0.requires_grad):
        # Forward only: nothing to save, per-step buffers reused.
        with torch.no_grad():
            return _forward_steps(x.contiguous(), *weights, keep=False)[0][1:]
    return _GRULayerFn.apply(x.contiguous(), *weights)


class GRULayer(nn.GRU):
    """Single-layer GRU on time-major input ``(seq_len, batch, input_size)`` with the fast
    hand-written backward of :class:`_GRULayerFn` on CPU (cuDNN on GPU); parameters and
    initialisation are those of ``nn.GRU(input_size, hidden_size)``, so results match it
    to rounding.

    Parameters
    ----------
    input_size : int
    hidden_size : int
    """

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)

    def forward(self, x):
        """``x``: (seq_len, batch, input_size) -> outputs (seq_len, batch, hidden_size)."""
        return time_major_outputs(self, x)
