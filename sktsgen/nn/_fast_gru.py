"""A single GRU layer with a hand-written backward, shared by AVATAR and the metrics.

On a CPU the cost of tiny GRUs is per-operation overhead; computing the gates' gradients in one
fused pass cuts the operations autograd records for ``nn.GRU`` (about 1.5x faster forward +
backward, numerically equal to ``nn.GRU``). Inputs are time-major ``(seq_len, batch, features)``.

The candidate gate is computed as ``tanh(a) = 2 sigmoid(2 a) - 1``: torch's CPU ``tanh`` is
scalar code (about 2.5 ns per element here against 0.45 ns for the vectorised ``sigmoid``), and
the factor 2 is folded into the candidate rows of the weights once per call.
"""

import torch
from torch import nn


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
