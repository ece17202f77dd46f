"""A single GRU layer with a hand-written backward, shared by AVATAR and the metrics.

On a CPU the cost of tiny GRUs is per-operation overhead; computing the gates' gradients in one
fused pass cuts the operations autograd records for ``nn.GRU`` (about 1.5x faster forward +
backward, numerically equal to ``nn.GRU``). Inputs are time-major ``(seq_len, batch, features)``.

The candidate gate is computed as ``tanh(a) = 2 sigmoid(2 a) - 1``: torch's CPU ``tanh`` is
scalar code (about 2.5 ns per element here against 0.45 ns for the vectorised ``sigmoid``), and
the factor 2 is folded into the candidate rows of the weights once per call.

Inference of whole stacks (eval mode, no gradients, CPU: AVATAR's sampling and ``transform``,
``GRUHead``/``GRUStepHead`` predictions) has its own recurrence, :func:`half_state_recurrence`
driven by :func:`half_state_stack`: feature-major, six operations per step, biases and the
surrounding affine maps folded into the weights, the batch padded so that a window's outputs
do not depend on its batch. At 2,048 windows and hidden size 24 a layer-step costs about
100 ns per window against 160 ns for the batch-major loop without gradients; training keeps
the batch-major loop, whose saved gates its backward reads.
"""

import torch
from torch import nn

# Steps whose input projections half_state_recurrence computes at once, so that they are
# read back from cache; 2 measured 3-8% faster than 3 or 4 on a 2,048-window chunk at 24
# units, and within 3% of them at 56.
_INFERENCE_BLOCK = 2
# Column alignment of half_state_recurrence's batch (see with_ones_row).
_BATCH_ALIGN = 32
# Bytes of a recurrence step's float32 tensors (input projections of a block of steps,
# pre-activations, candidate, states) for one pass: larger batches are cut into passes of this
# size, so that a step's tensors stay in a core's L2 cache. Measured on cores with 2 MiB of
# L2: at hidden size 24 one pass of 2,048 windows (2.2 MB) ran as fast as two of 1,024 on one
# thread and 20-25% faster with sample's n_jobs=2, where every operation hands the GIL over
# at its start and end, so fewer and longer ones scale better; at hidden size 56, passes of
# 704 windows ran 6-10% faster than passes of 1,024.
_INFERENCE_BYTES = 9 << 18  # 2.25 MiB


def inference_batch(batch, hidden_size):
    """Windows per pass of :func:`half_state_recurrence` for ``batch`` windows through layers
    of ``hidden_size``: the batch cut into equal passes (multiples of ``_BATCH_ALIGN``) whose
    step tensors fit in ``_INFERENCE_BYTES``."""
    per_window = 4 * (_INFERENCE_BLOCK * 3 * hidden_size + 5 * hidden_size + 2)
    largest = max(_BATCH_ALIGN, _INFERENCE_BYTES // per_window // _BATCH_ALIGN * _BATCH_ALIGN)
    passes = -(-batch // largest)
    per_pass = -(-batch // passes)
    return -(-per_pass // _BATCH_ALIGN) * _BATCH_ALIGN


def _doubled_candidate(w, b, hid):
    """Copies of a weight matrix and bias with the candidate gate's rows times two."""
    scale = w.new_ones(3 * hid, 1)
    scale[2 * hid:] = 2.0
    return w * scale, b * scale[:, 0]


def _forward_steps(x, w_ih, w_hh, b_ih, b_hh, keep):
    """The recurrence over a time-major sequence, gate order (r, z, n) as ``torch.nn.GRU``.

    The state is kept in half coordinates ``u = (h + 1) / 2`` (as in
    :func:`half_state_recurrence`), so that a step is five operations with no broadcast
    copy: the recurrent product accumulated in place into the step's pre-activations (both
    biases folded into the input projection), one sigmoid over all three gates, the
    candidate ``gi_n + r gh_n`` as a ``lerp`` between ``gi_n`` and ``gi_n + gh_n`` and its
    sigmoid (``tanh(a) = 2 sigmoid(2 a) - 1``, the factor 2 folded into the weights), and
    the state update ``u_new = s + z (u - s)`` as one ``lerp``.

    Returns ``us`` (seq_len + 1, batch, hid), the states in half coordinates whose first row
    is the zero initial state (``u = 0.5``), and, when ``keep``, what the backward needs:
    ``sig`` (seq_len, batch, 3 * hid), whose first two blocks are the gates r and z, the
    candidates' sigmoids ``cand`` (``n = 2 cand - 1``) and ``gh_n2 = 2 (W_hn h + b_hn)``;
    otherwise one step's scratch buffers are reused, which keeps a long forward-only pass
    in cache, and the three are None.
    """
    t_len, batch, _ = x.shape
    hid = w_hh.shape[1]
    w_ih2, b_ih2 = _doubled_candidate(w_ih, b_ih, hid)
    w_hh2, b_hh2 = _doubled_candidate(w_hh, b_hh, hid)
    # On u: W h + b = 2 W u + (b - W 1).
    w_rec_t = (2 * w_hh2).t().contiguous()
    b_rec = b_hh2 - w_hh2.sum(1)
    pre = torch.addmm(b_ih2 + b_rec, x.reshape(-1, x.shape[2]), w_ih2.t())
    pre = pre.view(t_len, batch, 3 * hid)
    gi_n = pre[..., 2 * hid:] - b_rec[2 * hid:]
    us = x.new_empty(t_len + 1, batch, hid)
    us[0] = 0.5
    if keep:
        sig, cand = x.new_empty(t_len, batch, 3 * hid), x.new_empty(t_len, batch, hid)
        views = (sig.unbind(0), sig[..., :hid].unbind(0), sig[..., hid: 2 * hid].unbind(0),
                 cand.unbind(0))
    else:
        sig, cand = x.new_empty(batch, 3 * hid), x.new_empty(batch, hid)
        views = ([sig] * t_len, [sig[:, :hid]] * t_len, [sig[:, hid: 2 * hid]] * t_len,
                 [cand] * t_len)
    # Every per-step view is made up front by unbind (one call each), not sliced per step.
    steps = zip(pre.unbind(0), pre[..., 2 * hid:].unbind(0), gi_n.unbind(0),
                us[:-1].unbind(0), us[1:].unbind(0), *views)
    for p, p_n, gin, u, u_next, s, r, z, c in steps:
        p.addmm_(u, w_rec_t)
        torch.sigmoid(p, out=s)
        torch.lerp(gin, p_n, r, out=c).sigmoid_()
        torch.lerp(c, u, z, out=u_next)
    if not keep:
        return us, None, None, None
    # p_n now holds gi_n + gh_n, both doubled: gh_n2 = 2 (W_hn h + b_hn).
    return us, sig, cand, torch.sub(pre[..., 2 * hid:], gi_n)


def _full_states(us):
    """``h = 2 u - 1`` of the steps (not the initial state) of :func:`_forward_steps`."""
    return torch.add(us.new_full((), -1.0), us[1:], alpha=2.0)


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
    step is six operations on contiguous memory and no copies: the recurrent products
    (``gh_n`` into a buffer, the r and z rows accumulated in place into the input
    projections), the r and z sigmoid, the candidate ``gi_n + r gh_n`` as one ``addcmul``,
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
    w_rz, w_n = w_rec[: 2 * hid], w_rec[2 * hid:]
    s = xa.new_empty(hid, batch)
    # Every per-step view is made up front by unbind (one call each), not sliced per step:
    # slicing from Python cost about as much as the state update.
    gate_views = list(zip(gi[:, : 2 * hid].unbind(0), gi[:, :hid].unbind(0),
                          gi[:, hid: 2 * hid].unbind(0), gi[:, 2 * hid:].unbind(0)))
    steps = list(zip(states[:-1].unbind(0), states[:-1, :hid].unbind(0),
                     states[1:, :hid].unbind(0)))
    for start in range(0, t_len, block):
        stop = min(start + block, t_len)
        torch.matmul(w_in, xa[start:stop], out=gi[: stop - start])
        for (rz, r, z, gi_n), (u, u_h, u_next) in zip(gate_views, steps[start:stop]):
            # The r and z rows accumulate in place; gh_n goes to its own buffer, since the
            # candidate needs gi_n and gh_n apart (an addmm into another tensor would first
            # copy its whole input there).
            torch.mm(w_n, u, out=s)
            rz.addmm_(w_rz, u)
            rz.sigmoid_()
            # sigmoid(2 a) of a = gi_n + r gh_n, as in _forward_steps.
            torch.addcmul(gi_n, r, s, out=s).sigmoid_()
            torch.lerp(s, u_h, z, out=u_next)
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


def half_state_weights(layers, affines=None):
    """The weights of a GRU stack for :func:`half_state_stack`: ``(w_in, w_rec)`` per layer
    (see :func:`augmented_gru_weights`), computed once for all the passes of a batch.

    Parameters
    ----------
    layers : list of tuple
        ``(w_ih, w_hh, b_ih, b_hh)`` per layer, bottom first.
    affines : list of (scale, shift) or None, default=None
        Per layer, a map ``x * scale + shift`` of its input (a batch norm in eval mode).
    """
    weights = []
    for i, layer in enumerate(layers):
        scale, shift = affines[i] if affines is not None else (1.0, None)
        if i > 0:  # the layer below hands over u: h = 2 u - 1
            shift = -scale * layer[0].new_ones(layer[0].shape[1]) + (
                0.0 if shift is None else shift)
            scale = 2.0 * scale
        weights.append(augmented_gru_weights(*layer, scale, shift))
    return weights


def half_state_stack(x, weights):
    """Inference of a GRU stack: the top layer's states, feature-major, in half coordinates.

    Parameters
    ----------
    x : Tensor of shape (batch, seq_len, n_in)
        Batch-first windows.
    weights : list of tuple
        From :func:`half_state_weights`.

    Returns
    -------
    states : Tensor of shape (seq_len, hid + 1, padded)
        ``u = (h + 1) / 2`` of the top layer at every step, ones in the last row, the batch
        padded (see :func:`with_ones_row`): read a linear layer on ``h`` with
        :func:`half_state_linear`.
    """
    xa = with_ones_row(x.transpose(0, 1))
    for w_in, w_rec in weights:
        xa = half_state_recurrence(xa, w_in, w_rec)[1:]
    return xa


def half_state_linear_weight(linear):
    """``(out_features, hid + 1)``: ``linear`` acting on ``h = 2 u - 1`` of states from
    :func:`half_state_stack`, its bias as the weight of their ones row."""
    w = linear.weight
    return torch.cat([2 * w, (linear.bias - w.sum(1))[:, None]], 1)


def half_state_linear(linear, states):
    """``linear`` applied to ``h = 2 u - 1`` for states from :func:`half_state_stack`:
    ``(..., hid + 1, padded)`` -> ``(..., out_features, padded)``."""
    return torch.matmul(half_state_linear_weight(linear), states)


def half_state_step_outputs(weight, states, batch, activation=None):
    """Batch-first ``(batch, seq_len, out_features)``: a linear layer on every step of the
    states of :func:`half_state_stack` (``weight`` from :func:`half_state_linear_weight`),
    then ``activation`` (a callable or None). The activation runs before the padding
    columns are cut off, so its kernel never ends a row in scalar code (see
    :func:`with_ones_row`)."""
    y = torch.matmul(weight, states)
    if activation is not None:
        y = activation(y)
    return y[..., :batch].permute(2, 0, 1)


def _backward_steps(dy, x, w_ih, w_hh, us, sig, cand, gh_n2, need_x=True, need_w=True):
    """Gradients of one layer given the output gradient ``dy`` and what
    :func:`_forward_steps` kept: ``(dx, dw_ih, dw_hh, db_ih, db_hh)``, None for those not
    needed (a frozen network, such as the discriminator when it only passes gradients on, or
    an input without gradient).

    Every factor that does not depend on the incoming gradient is computed for all steps at
    once; the recurrence is then three operations per step. With ``s = cand``,
    ``1 - n^2 = 4 s (1 - s)`` and ``h_prev - n = 2 (u_prev - s)``.
    """
    t_len, batch, hid = cand.shape
    u_prev = us[:-1]
    rz = sig[..., : 2 * hid]
    r, z = sig[..., :hid], sig[..., hid: 2 * hid]
    drz = torch.addcmul(rz, rz, rz, value=-1)  # r (1 - r), z (1 - z)
    ds = torch.addcmul(cand, cand, cand, value=-1)
    a = torch.addcmul(ds, ds, z, value=-1).mul_(4)  # (1 - z)(1 - n^2)
    # d(gh)/d(h_t) per gate (r, z, n): dgh = g * coef, linear in the incoming gradient g.
    # Each block is written once (strided writes cost more than contiguous ones).
    zero = x.new_zeros(())
    coef = x.new_empty(t_len, batch, 3, hid)
    torch.addcmul(zero, a * gh_n2, drz[..., :hid], value=0.5, out=coef[:, :, 0])
    torch.addcmul(zero, u_prev - cand, drz[..., hid:], value=2.0, out=coef[:, :, 1])
    torch.mul(a, r, out=coef[:, :, 2])
    dgh = torch.empty_like(coef)
    g_all = torch.empty_like(cand)  # g_all[t] holds dL/dh_t
    g = g_all[-1].copy_(dy[-1])
    # Per-step views made up front (see _forward_steps).
    c_steps, dgh_steps = coef.unbind(0), dgh.unbind(0)
    dgh_flat = dgh.view(t_len, batch, 3 * hid).unbind(0)
    g_steps, g_cols = g_all.unbind(0), g_all[:, :, None, :].unbind(0)
    dy_steps, z_steps = dy.unbind(0), z.unbind(0)
    for t in range(t_len - 1, -1, -1):
        torch.mul(c_steps[t], g_cols[t], out=dgh_steps[t])
        if t:
            g = torch.addcmul(dy_steps[t - 1], g_steps[t], z_steps[t], out=g_steps[t - 1])
            g.addmm_(dgh_flat[t], w_hh)
    dgh = dgh.view(t_len * batch, 3 * hid)
    # dgi equals dgh for r and z; for n it is g * a (dgh_n has the extra factor r).
    dgi_rz, dgi_n = dgh[:, : 2 * hid], torch.mul(g_all, a).view(t_len * batch, hid)
    dx = None
    if need_x:
        dx = torch.addmm(dgi_n @ w_ih[2 * hid:], dgi_rz, w_ih[: 2 * hid]).view_as(x)
    if not need_w:
        return dx, None, None, None, None
    db_hh = dgh.sum(0)
    # h_prev = 2 u_prev - 1, so dgh^T h_prev = 2 dgh^T u_prev - (column sums of dgh).
    dw_hh = (u_prev.reshape(-1, hid).t() @ dgh).t().mul_(2.0).sub_(db_hh[:, None])
    x_t = x.reshape(t_len * batch, -1).t()
    dw_ih = torch.cat([(x_t @ dgi_rz).t(), (x_t @ dgi_n).t()])
    return dx, dw_ih, dw_hh, torch.cat([db_hh[: 2 * hid], dgi_n.sum(0)]), db_hh


class _GRULayerFn(torch.autograd.Function):
    """One GRU layer over a time-major sequence with a hand-written backward.

    On a CPU a small GRU's cost is the number of tensor operations, not arithmetic. The
    forward takes 5 cheap operations per step and saves the gates; the backward precomputes
    every factor that does not depend on the incoming gradient over all steps at once, so the
    recurrence costs 3 operations per step, and the weight gradients are one matmul each.
    Same gate order and equations as ``torch.nn.GRU`` (r, z, n).
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh):
        us, sig, cand, gh_n2 = _forward_steps(x, w_ih, w_hh, b_ih, b_hh, keep=True)
        ctx.save_for_backward(x, w_ih, w_hh, us, sig, cand, gh_n2)
        return _full_states(us)

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
            return _full_states(_forward_steps(x.contiguous(), *weights, keep=False)[0])
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
