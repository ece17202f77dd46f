"""Reference levels and cost of the quality metrics on the TimeGAN benchmarks.

For each data set (protocol windows of ../shared/data, or of the fetch cache), runs
``--n-repeats`` times with different seeds (mean ± std and median, as the papers report):

- discriminative score of real against real: two disjoint halves of the shuffled windows
  (a new split every run). This is the level of a perfect generator. A resampled copy of
  the data would put identical windows in both sets and in both train and test parts,
  which no generator's samples do, so halves are the honest floor. The windows overlap
  (stride 1), so each half holds near-copies of windows of the other: this floor is lower
  than what independent draws of the process would give;
- discriminative score of real against uniform noise on ``[0, 1]`` (the protocol's scale):
  the classifier must find it, about 0.5;
- predictive score of the real windows against themselves: the published real-data level
  (Stocks 0.036, Energy 0.250). Train and test sets are the same windows here;
- the predictive score's no-information level: the mean absolute deviation of the predicted
  channel (the last one, steps 1 ..) about its median, which a predictor that ignores its
  inputs scores at best (computed, not trained);
- predictive score across time: trained on the windows of the earlier half of the series,
  tested on those of the later half, no time step shared (Sines: two halves of independent
  windows). On Energy the predicted channel is random noise (``rv2``, equal to the input
  channel ``rv1``), so the real-data level above comes from the test windows overlapping the
  training windows; across time no predictor beats the no-information level.

Every run uses the metric's defaults (2,000 and 5,000 iterations); its wall time is the
cost of a default score. A speed check also times a few hundred training iterations of the
classifier three ways in alternation: a plain ``nn.GRU`` loop on the process's threads, the
same on one thread, and the metric's own loop. ``--write`` writes the "metrics" section of
docs/benchmarks.md.

    python benchmarks/bench_metrics.py --n-repeats 10 --write
    python benchmarks/bench_metrics.py --quick          # 3 runs, Stocks only
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import Bunch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.datasets import fetch_energy, fetch_stocks, make_sines
from sktsgen.metrics import discriminative_score, predictive_score, repeat_metric
from sktsgen.nn import GRUHead
from sktsgen.training._common import make_adam
from sktsgen.training._posthoc import train_window_classifier
from sktsgen.utils._testing import shared_data_dir

PUBLISHED_PRED = {"sines": 0.094, "stocks": 0.036, "energy": 0.250}  # TimeGAN paper, real data


def load(name, shuffle=True):
    """Protocol windows of a data set (``shuffle=False``: in time order), or None (with a
    message) when its file is absent."""
    if name == "sines":
        return make_sines(10000, 24, 5, random_state=0)
    fetch = {"stocks": fetch_stocks, "energy": fetch_energy}[name]
    try:
        return fetch(data_home=shared_data_dir(), download_if_missing=False, shuffle=shuffle)
    except OSError as exc:
        print(f"skipping {name}: {exc}", file=sys.stderr)
        return None


def time_halves(X_ordered):
    """``(earlier, later)`` windows of a series' windows in time order (stride 1), the
    ``seq_len`` windows between them dropped so that no time step is in both."""
    half, seq_len = len(X_ordered) // 2, X_ordered.shape[1]
    return X_ordered[:half], X_ordered[half + seq_len:]


def no_information_level(X):
    """Mean absolute deviation of the predictive score's target (the last channel at steps
    1 ..) about its median: the best score of a predictor that ignores its inputs."""
    target = np.asarray(X)[:, 1:, -1]
    return float(np.abs(target - np.median(target)).mean())


def disc_between_halves(X_real, X_synth, *, random_state, **params):
    """Discriminative score of two disjoint random halves of ``X_real`` (X_synth unused)."""
    rng = np.random.RandomState(random_state)
    perm, half = rng.permutation(len(X_real)), len(X_real) // 2
    return discriminative_score(X_real[perm[:half]], X_real[perm[half:2 * half]],
                                random_state=rng.randint(2**31 - 1), **params)


class Timed:
    """Wrap a metric to record the wall time of every call."""

    def __init__(self, func):
        self.func, self.seconds = func, []

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        value = self.func(*args, **kwargs)
        self.seconds.append(time.perf_counter() - start)
        return value


def measure(name, X, X_ordered, n_repeats):
    noise = np.random.RandomState(0).uniform(size=X.shape)
    # Sines windows are independent draws: any two halves share nothing.
    earlier, later = time_halves(X_ordered) if name != "sines" else (X[:len(X) // 2],
                                                                     X[len(X) // 2:])
    jobs = [
        ("disc real vs real (halves)", disc_between_halves, X, X, "about 0 (floor)"),
        ("disc real vs uniform noise", discriminative_score, X, noise, "about 0.5"),
        ("pred real vs real", predictive_score, X, X,
         f"{PUBLISHED_PRED[name]:.3f} (TimeGAN paper)"),
        ("pred real vs real across time (earlier half -> later half)", predictive_score,
         later, earlier, f"no-information level {no_information_level(later):.4f}"),
    ]
    level = no_information_level(X)
    rows = [(name, "pred no-information level (target's deviation about its median)",
             Bunch(mean=level, std=0.0, median=level, scores=np.array([level])),
             "computed, not trained", 0.0)]
    print(f"{name:7s} predictive no-information level {level:.4f}", flush=True)
    for label, func, X_real, X_synth, expected in jobs:
        timed = Timed(func)
        res = repeat_metric(timed, X_real, X_synth, n_repeats=n_repeats, random_state=0)
        rows.append((name, label, res, expected, float(np.mean(timed.seconds))))
        print(f"{name:7s} {label:28s} {res.mean:.4f} ± {res.std:.4f} median {res.median:.4f} "
              f"[{res.scores.min():.3f}, {res.scores.max():.3f}] "
              f"{np.mean(timed.seconds):.1f} s/run", flush=True)
    return rows


def naive_loop(module, X, n_real, n_iter, batch_size, generator):
    """The straightforward loop: batch-first gather and nn.GRU's autograd path."""
    optimizer = make_adam(module.parameters(), lr=1e-3)
    labels = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)])
    real = torch.randint(0, n_real, (n_iter, batch_size), generator=generator)
    synth = torch.randint(n_real, len(X), (n_iter, batch_size), generator=generator)
    for rows in torch.cat([real, synth], dim=1):
        loss = F.binary_cross_entropy_with_logits(module(X[rows]).squeeze(-1), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def speed_check(X, n_iter=300, rounds=3):
    """Seconds per classifier iteration of the naive loop (process threads, 1 thread) and ours."""
    n_real = int(0.8 * len(X))
    data = torch.as_tensor(np.concatenate([X[:n_real], X[:n_real]]), dtype=torch.float32)
    data_tm = data.transpose(0, 1).contiguous()
    threads = torch.get_num_threads()
    best = {"naive": np.inf, "naive, 1 thread": np.inf, "sktsgen loop (1 thread)": np.inf}
    for _ in range(rounds):
        for key in list(best):
            module = GRUHead(X.shape[2], max(X.shape[2] // 2, 1))
            gen = torch.Generator().manual_seed(0)
            torch.set_num_threads(threads if key == "naive" else 1)
            start = time.perf_counter()
            if key.startswith("naive"):
                naive_loop(module, data, n_real, n_iter, 128, gen)
            else:
                train_window_classifier(module, data_tm, n_real, n_iter=n_iter, batch_size=128,
                                        optimizer=make_adam(module.parameters(), lr=1e-3),
                                        generator=gen)
            best[key] = min(best[key], (time.perf_counter() - start) / n_iter)
            torch.set_num_threads(threads)
    return best, threads


def to_markdown(rows, speed, n_repeats, load_start):
    lines = [
        "## Quality metrics: reference levels and cost",
        "",
        f"`{command_line()}`",
        "",
        machine_line() + f" 1-min load average at the start {load_start:.1f}.",
        "",
        (f"{n_repeats} runs per line with different seeds (`repeat_metric`, no outlier "
         "dropping); protocol windows (per-column min-max, shuffled), metric defaults "
         "(2,000 / 5,000 iterations). Disc real vs real uses two disjoint random halves "
         "of the windows, a new split per run. Pred real vs real trains and tests on the "
         "same windows, as published; across time, it trains on the windows of the earlier "
         "half of the series and tests on the later half's, no time step shared (Sines: two "
         "halves of independent windows). The no-information level is the mean absolute "
         "deviation of the predicted channel about its median: the best score of a "
         "predictor that ignores its inputs. Time = mean wall time of one default score."),
        "",
        "| data | measurement | mean ± std | median | min – max | expected | s per run |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, label, res, expected, seconds in rows:
        lines.append(
            f"| {name} | {label} | {res.mean:.4f} ± {res.std:.4f} | {res.median:.4f} | "
            f"{res.scores.min():.4f} – {res.scores.max():.4f} | {expected} | {seconds:.1f} |"
        )
    if speed is not None:
        best, threads = speed
        caption = ("Classifier training, ms per iteration (fastest of 3 alternating rounds "
                   f"of 300 iterations on Stocks; process threads = {threads}):")
        lines += ["", caption, "", "| loop | ms / iteration |", "| --- | --- |"]
        lines += [f"| {key} | {1e3 * value:.2f} |" for key, value in best.items()]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=None,
                        choices=["sines", "stocks", "energy"],
                        help="default: stocks energy (stocks with --quick)")
    parser.add_argument("--n-repeats", type=int, default=None, help="default 10 (3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 runs, Stocks only")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the process")
    parser.add_argument("--no-speed", action="store_true", help="skip the loop speed check")
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args(argv)
    datasets = args.datasets or (["stocks"] if args.quick else ["stocks", "energy"])
    n_repeats = args.n_repeats or (3 if args.quick else 10)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]

    rows, speed = [], None
    for name in datasets:
        X = load(name)
        if X is None:
            continue
        if name == "stocks" and not args.no_speed:
            speed = speed_check(X)
            print({k: f"{1e3 * v:.2f} ms" for k, v in speed[0].items()}, flush=True)
        rows += measure(name, X, load(name, shuffle=False), n_repeats)
    if not rows:
        print("no data set available: nothing measured", file=sys.stderr)
        return 1
    markdown = to_markdown(rows, speed, n_repeats, load_start)
    print(markdown)
    if args.write:
        write_section("metrics", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
