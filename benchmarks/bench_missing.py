"""AvatarGenerator on Energy with missing values: allow_nan=True against imputation first.

Energy windows as in ``bench_avatar_quality.py`` (TimeGAN protocol, sequence length 24, every
column min-max scaled). Entries are removed from the underlying series, so that overlapping
windows share their gaps, either at random (each entry with probability ``rate``) or in blocks
(runs of ``--block`` steps per channel, started at random so that about ``rate`` of the entries
are covered); the windows are then cut as the protocol does and ``--n-windows`` of them drawn at
random. For each pattern and rate the same generator is fitted three ways:
``AvatarGenerator(allow_nan=True)`` on the windows with their NaN, and ``allow_nan=False`` after
``SimpleImputer`` (each channel's mean) or after linear interpolation along time (per window and
channel, ends filled with the nearest observed value). The discriminative score compares
samples with the *complete* windows (``--n-repeats`` metric runs); the fit on the complete
windows is the reference. Each cell is cached as JSON in ``--cache``; ``--write`` writes the
"missing" section of docs/benchmarks.md from every cached cell of the command's settings.

    python benchmarks/bench_missing.py --n-iter 300 --n-windows 3000 --seeds 0 --write
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.generation import AvatarGenerator

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEQ_LEN = 24
METHODS = {
    "complete": "complete windows (reference)",
    "allow_nan": "`AvatarGenerator(allow_nan=True)` on the windows with NaN",
    "mean": "`SimpleImputer` (channel mean), then `AvatarGenerator()`",
    "interp": "linear interpolation along time, then `AvatarGenerator()`",
}


def load_series():
    """Energy in the protocol's scale as one series (rows as the windows order them) and the
    index of every window's first row."""
    from sktsgen.datasets import fetch_energy

    home = str(SHARED) if SHARED.is_dir() else None
    X = fetch_energy(data_home=home, download_if_missing=home is None, shuffle=False)
    series = np.concatenate([X[:, 0, :], X[-1, 1:, :]])
    windows = np.lib.stride_tricks.sliding_window_view(series, SEQ_LEN, axis=0)
    if not np.array_equal(windows.transpose(0, 2, 1), X):
        raise RuntimeError("Energy windows are not the stride-1 windows of one series.")
    return series


def missing_mask(shape, pattern, rate, block, rng):
    """Boolean mask of the series' missing entries."""
    if pattern == "random":
        return rng.random(shape) < rate
    # Blocks of `block` steps per channel; starts drawn so that about `rate` is covered.
    start_p = 1.0 - (1.0 - rate) ** (1.0 / block)
    starts = rng.random(shape) < start_p
    covered = np.zeros(shape, dtype=bool)
    for k in range(block):
        covered[k:] |= starts[:shape[0] - k]
    return covered


def mean_impute(X):
    from sklearn.impute import SimpleImputer

    flat = X.reshape(-1, X.shape[2])
    return SimpleImputer(strategy="mean").fit_transform(flat).reshape(X.shape)


def interp_impute(X):
    """Linear interpolation along time per window and channel; ends take the nearest
    observed value; a channel missing over a whole window takes the channel's mean."""
    out = X.copy()
    steps = np.arange(X.shape[1])
    means = np.nanmean(X, axis=(0, 1))
    for i in range(X.shape[0]):
        for j in range(X.shape[2]):
            x = X[i, :, j]
            obs = ~np.isnan(x)
            if obs.all():
                continue
            out[i, :, j] = np.interp(steps, steps[obs], x[obs]) if obs.any() else means[j]
    return out


def cell_path(args, seed, pattern, rate, method):
    tag = "complete" if method == "complete" else f"{pattern}-{rate:g}-{method}"
    return (Path(args.cache)
            / f"{tag}-it{args.n_iter}-n{args.n_windows}-b{args.block}-m{args.metric_n_iter}"
              f"x{args.n_repeats}-s{seed}.json")


def run_cell(args, seed, pattern, rate, method, X_complete, miss):
    from sktsgen.metrics import discriminative_score, repeat_metric

    path = cell_path(args, seed, pattern, rate, method)
    if path.exists():
        return json.loads(path.read_text())
    X = X_complete if method == "complete" else np.where(miss, np.nan, X_complete)
    start = time.perf_counter()
    if method == "mean":
        X = mean_impute(X)
    elif method == "interp":
        X = interp_impute(X)
    impute_s = time.perf_counter() - start
    gen = AvatarGenerator(n_iter=args.n_iter, allow_nan=method == "allow_nan",
                          random_state=seed)
    start = time.perf_counter()
    gen.fit(X)
    fit_s = time.perf_counter() - start
    samples = gen.sample(len(X_complete), random_state=seed)
    b = repeat_metric(discriminative_score, X_complete, samples, n_repeats=args.n_repeats,
                      random_state=seed, n_iter=args.metric_n_iter)
    cell = {"seed": seed, "pattern": pattern, "rate": rate, "method": method,
            "missing": float(miss.mean()) if miss is not None else 0.0,
            "fit_seconds": fit_s, "impute_seconds": impute_s,
            "scores": [float(v) for v in b.scores]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cell))
    return cell


def cells(args):
    """Every (seed, pattern, rate, method) of the command, the reference first."""
    for seed in args.seeds:
        yield seed, None, 0.0, "complete"
        for rate in args.rates:
            for pattern in args.patterns:
                for method in ("allow_nan", "mean", "interp"):
                    yield seed, pattern, rate, method


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-iter", type=int, default=300, help="AvatarGenerator n_iter")
    ap.add_argument("--n-windows", type=int, default=3000, help="windows drawn from Energy")
    ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.3])
    ap.add_argument("--patterns", nargs="+", default=["random", "blocks"],
                    choices=["random", "blocks"])
    ap.add_argument("--block", type=int, default=6, help="steps per missing block")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="fit seeds (also draw the windows and the gaps)")
    ap.add_argument("--n-repeats", type=int, default=3, help="metric runs per fit")
    ap.add_argument("--metric-n-iter", type=int, default=1000,
                    help="iterations of the discriminative score's classifier")
    ap.add_argument("--cache", default="/tmp/bench_missing_cache")
    ap.add_argument("--cached-only", action="store_true",
                    help="tabulate the cached cells only, fit nothing")
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    ap.add_argument("--findings", default=None,
                    help="markdown file of findings (bullets) printed under the table")
    args = ap.parse_args()
    torch.set_num_threads(1)

    series = load_series()
    n_windows = len(series) - SEQ_LEN + 1
    results = []
    for seed, pattern, rate, method in cells(args):
        if args.cached_only and not cell_path(args, seed, pattern, rate, method).exists():
            continue
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n_windows, args.n_windows, replace=False))
        windows = np.lib.stride_tricks.sliding_window_view(series, SEQ_LEN, axis=0)
        X_complete = np.ascontiguousarray(windows[rows].transpose(0, 2, 1))
        miss = None
        if method != "complete":
            # The same gaps for the three methods of one (seed, pattern, rate).
            gap_rng = np.random.default_rng([seed, round(rate * 100),
                                             ["random", "blocks"].index(pattern)])
            series_miss = missing_mask(series.shape, pattern, rate, args.block, gap_rng)
            miss = np.lib.stride_tricks.sliding_window_view(series_miss, SEQ_LEN, axis=0)
            miss = np.ascontiguousarray(miss[rows].transpose(0, 2, 1))
        cell = run_cell(args, seed, pattern, rate, method, X_complete, miss)
        s = np.array(cell["scores"])
        print(f"seed {seed} {pattern} {rate:g} {method}: missing {cell['missing']:.3f}, "
              f"fit {cell['fit_seconds']:.0f} s, discriminative {s.mean():.3f} ± "
              f"{s.std():.3f}", flush=True)
        results.append(cell)
    if args.write and results:
        write_section("missing", report(results, args))


def report(results, args):
    n_cells = 1 + 3 * len(args.rates) * len(args.patterns)
    seeds = sorted(seed for seed in {c["seed"] for c in results}
                   if sum(c["seed"] == seed for c in results) == n_cells)
    left_out = sorted({c["seed"] for c in results} - set(seeds))
    # Only fit seeds with every cell, so that each row averages the same fits.
    results = [c for c in results if c["seed"] in seeds]
    lines = [
        "## AvatarGenerator with missing values (Energy)",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Energy windows of 24 steps (TimeGAN protocol), {args.n_windows} drawn at random; "
        f"entries removed from the series at random or in blocks of {args.block} steps per "
        "channel, so overlapping windows share their gaps. `AvatarGenerator(n_iter="
        f"{args.n_iter})`, otherwise the defaults, fitted with fit seed(s) "
        f"{', '.join(map(str, seeds))}. Discriminative score (lower is better) of "
        f"{args.n_windows} samples against the *complete* windows: {args.n_repeats} metric "
        f"runs of {args.metric_n_iter} classifier iterations per fit, mean ± std over all "
        "runs of all fits. Fit time on one torch thread. A reduced configuration (the "
        "defaults train 2000 iterations per stage on all 19,711 windows): compare the rows "
        "with each other, not with the quality table. " + machine_line()
        + (f" Fit seed(s) {', '.join(map(str, left_out))} left out: not every cell was run."
           if left_out else ""),
        "",
        "| missing | pattern | method | discriminative | fit time |",
        "| --- | --- | --- | --- | --- |",
    ]
    groups = {}
    for c in results:
        key = (c["rate"], c["pattern"], c["method"])
        groups.setdefault(key, []).append(c)
    order = sorted(groups, key=lambda k: (k[0], k[1] or "", list(METHODS).index(k[2])))
    for rate, pattern, method in order:
        cs = groups[(rate, pattern, method)]
        s = np.concatenate([c["scores"] for c in cs])
        fit = np.mean([c["fit_seconds"] for c in cs])
        share = (f"{rate:.0%} ({100 * np.mean([c['missing'] for c in cs]):.1f}% of the "
                 "windows' entries)" if method != "complete" else "none")
        lines.append(f"| {share} | {pattern or '-'} | {METHODS[method]} | "
                     f"{s.mean():.3f} ± {s.std():.3f} | {fit:.0f} s |")
    if args.findings:
        lines += ["", Path(args.findings).read_text().strip()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
