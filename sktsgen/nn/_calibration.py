"""Maps that give generated windows the data's mean and covariance, then each value's
distribution.

A generator can get every window's shape roughly right and still miss the second moments of
the whole window: how much each channel varies inside a window, how channels move together,
how a step relates to the steps before it. :class:`CovarianceCalibration` corrects exactly
those, as an affine function of the flattened window; among all affine maps that do so it is
the one that moves the generated windows least on average (the optimal transport map between
two Gaussians with the two sets' means and covariances). :class:`QuantileCalibration` then
maps each value on its own to the data's distribution at its position (quantile mapping).
"""

import numpy as np
import torch
from torch import nn


def _sym_power(C, power):
    """``C ** power`` of a symmetric positive semi-definite matrix, via its eigenvectors."""
    values, vectors = np.linalg.eigh(C)
    values = np.clip(values, 0.0, None)
    if power < 0:  # only called on shrunk (positive definite) matrices
        values = np.maximum(values, np.finfo(np.float64).tiny)
    return (vectors * values ** power) @ vectors.T


def _moments(rows, chunk=2048):
    """Mean and covariance of ``rows`` (n, d) in float64, a chunk of rows at a time, so that
    no float64 copy of ``rows`` is made."""
    rows = np.asarray(rows)
    mean = rows.mean(axis=0, dtype=np.float64)
    scatter = np.zeros((rows.shape[1], rows.shape[1]))
    for start in range(0, len(rows), chunk):
        block = rows[start:start + chunk].astype(np.float64) - mean
        scatter += block.T @ block
    return mean, scatter / max(len(rows) - 1, 1)


def covariance_map(reference, generated, shrinkage=1e-2):
    """Mean and matrix of the least-displacement affine map from ``generated`` to
    ``reference`` (both of shape ``(n, d)``, any float dtype).

    Returns ``(mean_generated, matrix, mean_reference)``: a row ``g`` maps to
    ``(g - mean_generated) @ matrix + mean_reference``. Moments are computed in float64
    whatever the input dtype. With ``S_g`` and ``S_r`` the two covariances, the matrix is
    ``S_g^-1/2 (S_g^1/2 S_r S_g^1/2)^1/2 S_g^-1/2``. ``S_g`` is first shrunk towards
    ``shrinkage`` times its mean variance on the diagonal, so that directions in which the
    generated rows barely vary are not blown up to the data's spread (the map then matches
    ``S_r`` closely, not exactly). ``S_r`` may be singular.
    """
    mean_r, S_r = _moments(reference)
    mean_g, S_g = _moments(generated)
    variance = np.trace(S_g) / len(S_g)
    if variance <= 0:  # constant generated rows: only the mean can be moved
        return mean_g, np.eye(len(S_g)), mean_r
    S_g = S_g + shrinkage * variance * np.eye(len(S_g))
    root, inverse_root = _sym_power(S_g, 0.5), _sym_power(S_g, -0.5)
    matrix = inverse_root @ _sym_power(root @ S_r @ root, 0.5) @ inverse_root
    return mean_g, matrix, mean_r


def _float32(a):
    """``a`` as a float32 tensor; any strides (NumPy allows negative ones, torch does not)."""
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)


def _check_values(x, n_values, name):
    """Raise a ValueError unless windows ``x`` (batch, ...) hold ``n_values`` values each."""
    if x.dim() < 2 or x[0].numel() != n_values:
        raise ValueError(f"{name} maps windows of {n_values} values (seq_len * n_features); "
                         f"got input of shape {tuple(x.shape)}.")


class CovarianceCalibration(nn.Module):
    """Applies an affine map to whole windows ``(batch, seq_len, n_features)`` and clips the
    result to ``[lower, upper]`` per channel.

    Parameters
    ----------
    mean_generated, mean_reference : array of shape (seq_len * n_features,)
    matrix : array of shape (seq_len * n_features, seq_len * n_features)
        As returned by :func:`covariance_map` on flattened windows.
    lower, upper : array of shape (n_features,)
        Range of each channel in the data.
    """

    def __init__(self, mean_generated, matrix, mean_reference, lower, upper):
        super().__init__()
        matrix = _float32(matrix)
        d = len(matrix)
        if matrix.shape != (d, d) or any(
                np.shape(a) != (d,) for a in (mean_generated, mean_reference)):
            raise ValueError(
                "matrix must be square, of the size of mean_generated and mean_reference; "
                f"got shapes {tuple(matrix.shape)}, {np.shape(mean_generated)} and "
                f"{np.shape(mean_reference)}.")
        if np.shape(lower) != np.shape(upper) or len(np.shape(lower)) != 1 \
                or d % max(len(lower), 1):
            raise ValueError("lower and upper must be 1-D, one value per channel, the "
                             f"channels dividing {d} values; got shapes {np.shape(lower)} "
                             f"and {np.shape(upper)}.")
        self.register_buffer("mean_generated", _float32(mean_generated))
        self.register_buffer("matrix", matrix)
        self.register_buffer("mean_reference", _float32(mean_reference))
        self.register_buffer("lower", _float32(lower))
        self.register_buffer("upper", _float32(upper))

    @classmethod
    def from_windows(cls, reference, generated, shrinkage=1e-2):
        """Fitted to two window sets of shape ``(n, seq_len, n_features)``; the clipping
        range is the reference's."""
        reference = np.asarray(reference)
        flat = lambda w: w.reshape(len(w), -1)
        mean_g, matrix, mean_r = covariance_map(flat(reference), flat(np.asarray(generated)),
                                                shrinkage)
        return cls(mean_g, matrix, mean_r, reference.min(axis=(0, 1)),
                   reference.max(axis=(0, 1)))

    def forward(self, x):
        _check_values(x, len(self.matrix), "CovarianceCalibration")
        flat = x.reshape(len(x), -1).to(self.matrix.dtype)
        out = torch.addmm(self.mean_reference, flat - self.mean_generated, self.matrix)
        out = out.reshape(x.shape)
        return torch.minimum(torch.maximum(out, self.lower), self.upper).to(x.dtype)


# QuantileCalibration's lookup: a row of knots takes it when some bucket count below puts
# at most _BUCKET_STEPS of its knots in any bucket (the count that serves the most rows is
# kept, the fewest buckets on a tie); the other rows, whose knots crowd into a small part
# of their range, take torch.searchsorted.
_BUCKET_COUNTS = (256, 1024, 4096)
_BUCKET_STEPS = 3


def bucket_lookup(knots, n_buckets):
    """Tables for finding, per row of ``knots`` (rows non-decreasing), how many knots are
    below a value (``torch.searchsorted(knots, x)``) from the value's bucket among
    ``n_buckets`` equal ones between the row's first and last knot.

    Returns ``(lower, inverse_width, start, distinct, count, steps)``: a value ``x`` of row
    ``j`` falls in bucket ``b = floor((x - lower[j]) * inverse_width[j])`` (clipped to the
    buckets); the count of the row's distinct knots below ``x`` is ``start[j, b]`` plus at
    most ``steps[j]`` more, found by comparing ``x`` with ``distinct[j]`` (padded with
    ``inf``) from there; ``count[j]`` turns that into the count of all knots below ``x``,
    runs of equal knots included. The tables are exact: every bucket's range is widened by
    1% of its width on each side, far beyond the rounding of ``b`` in float32.
    """
    knots = np.asarray(knots, dtype=np.float64)
    lower, upper = knots[:, 0], knots[:, -1]
    width = np.where(upper > lower, (upper - lower) / n_buckets, 1.0)
    rows = [np.unique(row) for row in knots]
    n_distinct = max(len(row) for row in rows)
    distinct = np.full((len(knots), n_distinct + 1), np.inf)
    count = np.zeros((len(knots), n_distinct + 1), dtype=np.int64)
    start = np.zeros((len(knots), n_buckets), dtype=np.int64)
    steps = np.zeros(len(knots), dtype=np.int64)
    margin = 1e-2
    for j, row in enumerate(rows):
        distinct[j, :len(row)] = row
        count[j, 1:len(row) + 1] = np.searchsorted(knots[j], row, side="right")
        edges = lower[j] + width[j] * np.arange(n_buckets + 1)
        first = np.searchsorted(row, edges[:-1] - margin * width[j], side="left")
        last = np.searchsorted(row, edges[1:] + margin * width[j], side="right")
        first[0], last[-1] = 0, len(row)  # values below or above every knot
        start[j] = first
        steps[j] = (last - first).max()
    return (_float32(lower[:, None]), _float32(1.0 / width[:, None]), torch.as_tensor(start),
            _float32(distinct), torch.as_tensor(count), steps)


class QuantileCalibration(nn.Module):
    """Maps each value of a window (each step and channel on its own) through a monotone,
    piecewise-linear function so that its distribution over windows is the data's.

    The function sends the generated windows' quantiles at ``n_knots`` equally spaced levels
    (``generated_quantiles``) to the data's at the same levels (``reference_quantiles``):
    the generated distribution function followed by the data's quantile function (quantile
    mapping). Values beyond the outer knots go to the data's smallest or largest quantile.
    A run of equal generated knots (a value the samples often take exactly, such as a clipped
    bound) maps to the first of the data's matching quantiles. Each value's piece is found
    by a lookup in equal buckets between the outer knots and at most three comparisons
    (:func:`bucket_lookup`); rows whose knots crowd into a small part of their range use
    ``torch.searchsorted``. Both give the same piece.

    Parameters
    ----------
    generated_quantiles, reference_quantiles : array of shape (seq_len * n_features, n_knots)
        Quantiles of the flattened windows' values, each row non-decreasing.
    """

    def __init__(self, generated_quantiles, reference_quantiles):
        super().__init__()
        generated = _float32(generated_quantiles)
        if generated.dim() != 2 or generated.shape[1] < 2 \
                or np.shape(reference_quantiles) != tuple(generated.shape):
            raise ValueError(
                "generated_quantiles and reference_quantiles must have the same shape "
                "(values, n_knots) with n_knots >= 2; got "
                f"{tuple(generated.shape)} and {np.shape(reference_quantiles)}.")
        if not torch.isfinite(generated).all() or (generated.diff(dim=1) < 0).any():
            raise ValueError("generated_quantiles must be finite and each row "
                             "non-decreasing.")
        # The knots, the data's quantiles at them, and the slope of each piece between two
        # knots (0 across a run of equal knots).
        self.register_buffer("knots", generated.contiguous())
        values = _float32(reference_quantiles)
        self.register_buffer("values", values.contiguous())
        width = generated[:, 1:] - generated[:, :-1]
        rise = values[:, 1:] - values[:, :-1]
        slope = torch.where(width > 0, rise / torch.where(width > 0, width, 1.0), 0.0)
        self.register_buffer("slopes", slope.contiguous())
        # Finding each value's piece: torch.searchsorted costs about 25-40 ns per value (a
        # branching binary search); a lookup in equal buckets and a few comparisons gives
        # the same index for a third of that. Derived from the knots, so not saved.
        best = None
        for n_buckets in _BUCKET_COUNTS:
            tables = bucket_lookup(generated, n_buckets)
            fast = tables[-1] <= _BUCKET_STEPS
            if best is None or fast.sum() > best[1].sum():
                self.n_buckets, best = n_buckets, (tables, fast)
            if fast.all():  # no larger count can serve more rows
                break
        tables, fast = best
        self.bucket_steps = int(tables[-1][fast].max()) if fast.any() else None
        for name, table in zip(("bucket_lower", "bucket_scale", "bucket_start",
                                "bucket_knots", "bucket_count"), tables[:-1]):
            self.register_buffer(name, table.contiguous(), persistent=False)
        slow = torch.as_tensor(np.flatnonzero(~fast))
        self.register_buffer("slow_rows", slow, persistent=False)
        self.register_buffer("slow_knots", generated[slow].contiguous(), persistent=False)

    @classmethod
    def from_windows(cls, reference, generated, n_knots=101):
        """Fitted to two window sets of shape ``(n, seq_len, n_features)``."""
        levels = np.linspace(0.0, 1.0, n_knots)
        quantiles = lambda w: np.quantile(np.asarray(w).reshape(len(w), -1), levels,
                                          axis=0).T
        return cls(quantiles(generated), quantiles(reference))

    def forward(self, x):
        _check_values(x, len(self.knots), "QuantileCalibration")
        flat = x.reshape(len(x), -1).to(self.knots.dtype).T.contiguous()  # (values, batch)
        # Index of the piece each value falls on: its left knot, within [0, n_knots - 2].
        left = (self._knots_below(flat) - 1).clamp_(0, self.knots.shape[1] - 2)
        start = self.knots.gather(1, left)
        out = self.values.gather(1, left) + self.slopes.gather(1, left) * (flat - start)
        out = torch.minimum(torch.maximum(out, self.values[:, :1]), self.values[:, -1:])
        return out.T.reshape(x.shape).to(x.dtype)

    def _knots_below(self, flat):
        """``torch.searchsorted(self.knots, flat)`` for ``flat`` of shape
        ``(values, batch)``, through the bucket tables (see :func:`bucket_lookup`)."""
        if self.bucket_steps is None:
            return torch.searchsorted(self.knots, flat)
        bucket = (flat - self.bucket_lower).mul_(self.bucket_scale)
        # NaN goes to bucket 0 (its count stays 0 and the map returns NaN, as searchsorted).
        bucket = bucket.nan_to_num_(0.0).floor_().clamp_(0, self.n_buckets - 1).long()
        index = self.bucket_start.gather(1, bucket)
        for _ in range(self.bucket_steps):
            index += flat > self.bucket_knots.gather(1, index)
        below = self.bucket_count.gather(1, index)
        if len(self.slow_rows):
            below[self.slow_rows] = torch.searchsorted(self.slow_knots, flat[self.slow_rows])
        return below
