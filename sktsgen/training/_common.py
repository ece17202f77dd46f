"""Pieces every training loop shares: batch indices, optimizers, progress reporting.

Training loops take modules and tensors and return loss curves; they know nothing of
scikit-learn. Losses stay on the device during the loop and are synchronised with the host
only when a progress line is printed or a curve is returned.
"""

import contextlib
import sys
import time

import torch


def batch_indices(n_rows, batch_size, n_iter, generator, device):
    """All mini-batch row indices of a run at once, shape ``(n_iter, min(batch_size, n_rows))``.

    Drawn with replacement per batch, like TimeGAN's protocol (a random subset each
    iteration), from one private generator so a seed reproduces every batch.
    """
    size = min(int(batch_size), int(n_rows))
    idx = torch.randint(0, n_rows, (int(n_iter), size), generator=generator,
                        device=generator.device)
    return idx.to(device)


def epoch_batches(n_rows, batch_size, generator, device):
    """Row indices of one shuffled epoch, split into batches (last may be smaller)."""
    perm = torch.randperm(n_rows, generator=generator, device=generator.device).to(device)
    return torch.split(perm, int(batch_size))


def recompute_batch_norm(net, X, batch_size, generator, forward=None, max_windows=None):
    """Replace the batch-norm running statistics in ``net`` by averages over one pass of X.

    During training each batch-norm layer keeps a moving average (momentum 0.1) of batch
    statistics computed under earlier weights, and it is noisy: at the end of a Sines fit of
    AVATAR it doubled the eval-mode reconstruction error on some seeds. Here every layer
    averages, with equal weight, the statistics of the batches of one pass over ``X`` in a
    random order (``batch_size`` windows; a last, smaller batch is dropped), all computed with
    the final weights, in training mode and without gradient ("precise batch norm").
    Parameters do not change; ``net`` ends in eval mode.

    Parameters
    ----------
    net : nn.Module
        Holds the batch-norm layers.
    X : Tensor
        Training inputs on the networks' device.
    batch_size : int
    generator : torch.Generator
        Draws the order of the pass.
    forward : callable, default=None
        What one batch goes through (``net`` itself when None).
    max_windows : int, default=None
        Use only the first ``max_windows`` windows of the random order: the statistics of a
        random subset, for a pass of bounded cost over very many windows (precise batch
        norm needs a few hundred batches, not all of them). With ``len(X) <= max_windows``
        (or None) every window is used, with the same batches as without it.
    """
    forward = net if forward is None else forward
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    batch = min(int(batch_size), X.shape[0])
    order = torch.randperm(X.shape[0], generator=generator, device=generator.device)
    if max_windows is not None:
        order = order[:max(int(max_windows), batch)]
    order = order.to(X.device)
    net.train()
    try:
        with torch.no_grad():
            for start in range(0, len(order) - batch + 1, batch):
                forward(X[order[start:start + batch]])
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        net.eval()
    return net


def make_adam(params, lr, betas=(0.9, 0.999), device="cpu"):
    """Adam, fused where this torch build supports it (about 2.5x faster per step on CPU)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


class LossHistory:
    """Loss curves of one training stage kept as device tensors until read.

    ``record(i, **losses)`` stores detached scalars every ``every`` iterations; ``to_dict()``
    moves them to the host in one transfer.
    """

    def __init__(self, every=1):
        self.every = max(int(every), 1)
        self._iters = []
        self._values = {}

    def record(self, i, **losses):
        if i % self.every:
            return
        self._iters.append(i)
        for name, value in losses.items():
            self._values.setdefault(name, []).append(value.detach())

    def to_dict(self):
        out = {"iteration": list(self._iters)}
        for name, values in self._values.items():
            out[name] = torch.stack(values).float().cpu().tolist() if values else []
        return out


class ProgressBar:
    """A text progress bar with the current losses, written to stderr when ``verbose > 0``.

    Refreshes at most every ``min_interval`` seconds so that reading losses (a host sync)
    costs nothing measurable.
    """

    def __init__(self, total, desc, verbose=0, width=24, min_interval=0.5, stream=None):
        self.total = max(int(total), 1)
        self.desc = desc
        self.verbose = verbose
        self.width = width
        self.min_interval = min_interval
        self.stream = stream if stream is not None else sys.stderr
        self._start = time.perf_counter()
        self._last = -float("inf")

    def update(self, i, losses=None, force=False):
        """Show progress after iteration ``i`` (0-based); ``losses`` is a dict of tensors."""
        if not self.verbose:
            return
        now = time.perf_counter()
        done = i + 1
        if not force and done < self.total and now - self._last < self.min_interval:
            return
        self._last = now
        frac = done / self.total
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        text = ""
        if losses:
            text = " ".join(f"{k}={float(v):.4f}" for k, v in losses.items())
        elapsed = now - self._start
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        self.stream.write(
            f"\r{self.desc:<14} [{bar}] {done}/{self.total} {elapsed:5.0f}s<{eta:4.0f}s {text}"
        )
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()

    def close(self, losses=None):
        self.update(self.total - 1, losses, force=True)


@contextlib.contextmanager
def report_step(verbose, desc, what, stream=None):
    """Say what a step without iterations does when it starts and how long it took, on one
    line of stderr when ``verbose > 0``, so that no step of a fit runs in silence."""
    if not verbose:
        yield
        return
    stream = stream if stream is not None else sys.stderr
    stream.write(f"{desc:<14} {what} ...")
    stream.flush()
    start = time.perf_counter()
    yield
    stream.write(f" {time.perf_counter() - start:.1f} s\n")
    stream.flush()
