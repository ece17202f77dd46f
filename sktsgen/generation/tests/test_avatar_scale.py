"""AvatarGenerator on many windows: one copy of the input, statistics from subsets.

The thresholds (``_batch_norm_max_windows``, ``_full_pass_max_windows``) are lowered here so
that the paths taken beyond them run on a few hundred windows.
"""

import tracemalloc

import numpy as np
import pytest
import torch

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.nn._avatar import AvatarNet, Prior
from sktsgen.preprocessing import _scaling
from sktsgen.training._common import recompute_batch_norm
from sktsgen.utils._torch import make_generator
from sktsgen.utils._validation import fill_missing

TINY = {"n_iter": 2, "hidden_size": 4, "num_layers": 1, "batch_size": 16,
        "metric_n_iter": 5, "code_mixture_components": 2, "random_state": 0}


def tiny(**kw):
    return AvatarGenerator(**{**TINY, **kw})


@pytest.fixture(scope="module")
def X():
    return (make_sines(300, seq_len=6, n_features=3, random_state=0) * 50.0 - 20.0)


def _norm_stats(net):
    return [(m.running_mean.clone(), m.running_var.clone()) for m in net.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def _batch_norm_net(x, max_windows):
    torch.manual_seed(0)
    net = AvatarNet(3, 8, 2, Prior("gaussian", 8))
    recompute_batch_norm(net, x, 32, make_generator(1), forward=net.reconstruct,
                         max_windows=max_windows)
    return _norm_stats(net)


def test_batch_norm_cap_at_or_above_the_windows_is_the_full_pass():
    x = torch.rand(200, 5, 3)
    full = _batch_norm_net(x, None)
    for cap in (200, 10_000):
        for (m, v), (m2, v2) in zip(full, _batch_norm_net(x, cap), strict=True):
            assert torch.equal(m, m2) and torch.equal(v, v2)


def test_batch_norm_from_a_subset_is_close_to_the_full_pass():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4000, 5, 3, generator=gen) * torch.tensor([1.0, 3.0, 0.5]) + 2.0
    full, subset = _batch_norm_net(x, None), _batch_norm_net(x, 800)  # 25 of 125 batches
    assert not torch.equal(full[0][0], subset[0][0])
    for (m, v), (m2, v2) in zip(full, subset, strict=True):
        # Means within a tenth of a standard deviation, variances within 10%.
        torch.testing.assert_close(m2, m, atol=0.1 * float(v.sqrt().max()), rtol=0)
        torch.testing.assert_close(v2, v, rtol=0.1, atol=1e-6)


def test_fit_recomputes_batch_norm_from_a_subset_beyond_the_cap(X, capsys):
    plain = tiny().fit(X)
    capped = tiny(verbose=1)
    capped._batch_norm_max_windows = 96
    capped.fit(X)
    assert "statistics over 96 windows drawn from 300" in capsys.readouterr().err
    for a, b in zip(plain.module_.parameters(), capped.module_.parameters(), strict=True):
        assert torch.equal(a, b)  # same training; only the statistics differ
    stats, capped_stats = _norm_stats(plain.module_), _norm_stats(capped.module_)
    assert not torch.equal(stats[0][0], capped_stats[0][0])
    # A cap at or above the windows changes nothing.
    same = tiny()
    same._batch_norm_max_windows = 300
    same.fit(X)
    np.testing.assert_array_equal(same.sample(50, random_state=1),
                                  plain.sample(50, random_state=1))


@pytest.mark.parametrize("kw", [{}, {"early_stopping": True}, {"allow_nan": True}])
def test_fit_reads_but_never_writes_the_input(X, kw):
    X = X.astype(np.float32)
    if kw.get("allow_nan"):
        X = X.copy()
        X[::7, 2, 1] = np.nan
    before = X.copy()
    X.setflags(write=False)  # a write would raise
    gen = tiny(validation_interval=1, **kw).fit(X)
    np.testing.assert_array_equal(X, before)
    assert np.isfinite(gen.sample(5, random_state=0)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_makes_one_float32_copy_of_the_input(monkeypatch, dtype, early_stopping):
    """The scaled training windows are one float32 array, made a chunk at a time; the
    training tensor shares its memory. NumPy's allocations are traced (torch's are not, but
    no tensor of the windows' size is made)."""
    X = np.random.default_rng(0).random((3000, 24, 28)).astype(dtype)
    copy_size = X.size * 4
    # Without calibration: its draws are bounded by a fixed count, not by the input's size.
    gen = tiny(latent_sampling="prior", early_stopping=early_stopping,
               validation_interval=10, calibration=None)
    gen.fit(X[:40])  # imports torch's lazy modules, which tracemalloc would count
    monkeypatch.setattr(_scaling, "_CHUNK_VALUES", 2**12)  # 32 KB float64 temporaries
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        gen.fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak -= start
    # Before: a float64 temporary of twice the size and a cast copy (4 copies in all). Early
    # stopping adds its metric on the held-out tenth: about 6 copies of that tenth.
    limit = 1.8 if early_stopping else 1.2
    assert peak < limit * copy_size, peak / copy_size


def test_scaled_training_windows_are_the_whole_array_path(X, monkeypatch):
    """Scaling and filling a few windows at a time give, bit for bit, the float32 cast of
    ``fill_missing(scaler_.transform(X))``; fill values averaged in chunks (beyond
    ``_full_pass_max_windows``) match ``np.nanmean`` to rounding."""
    X = X.copy()
    rng = np.random.default_rng(0)
    X[rng.random(X.shape) < 0.2] = np.nan
    X[5, :, 1] = np.nan  # a channel missing over a whole window
    gen = tiny(allow_nan=True, n_iter=1).fit(X)
    scaled = gen.scaler_.transform(X)
    means = np.nanmean(scaled, axis=(0, 1))
    np.testing.assert_array_equal(gen._channel_fill, means)
    monkeypatch.setattr(_scaling, "_CHUNK_VALUES", 5 * 6 * 3)
    gen._full_pass_max_windows = 64
    np.testing.assert_allclose(gen._channel_means(X), means, rtol=1e-12)
    filled, mask = fill_missing(scaled, gen._channel_fill)
    Xs, observed = gen._scaled_training_windows(X)
    assert Xs.dtype == np.float32 and observed.dtype == bool
    np.testing.assert_array_equal(Xs, filled.astype(np.float32))
    np.testing.assert_array_equal(observed, mask)
    rows = rng.permutation(len(X))[:100]
    Xs_rows, observed_rows = gen._scaled_training_windows(X, rows)
    np.testing.assert_array_equal(Xs_rows, Xs[rows])
    np.testing.assert_array_equal(observed_rows, mask[rows])
    complete = tiny(allow_nan=True, n_iter=1).fit(np.nan_to_num(X))
    assert complete._scaled_training_windows(np.nan_to_num(X))[1] is None
