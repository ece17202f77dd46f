"""Speed of AvatarGenerator, as ratios to a bare GRU measured in the same process.

"1 ref" = one forward+backward of a bare ``nn.GRU(6, 24, 3)`` on a 128 x 24 x 6 batch. One
AVATAR iteration = one iteration of each of the three stages (autoencoder, supervisor, joint
with its two autoencoder steps and discriminator step), on Stocks-sized data. Ref and AVATAR
are timed in alternation and the fastest rounds are compared, so that a load change on a shared
machine affects both. Also measures sampling throughput (with 1 and all torch threads, and with
``n_jobs`` threads of one torch thread each) and, with ``--fit-stocks``, a default
fit on Stocks. Writes the "avatar-speed" section of docs/benchmarks.md with ``--write``
(``--device cuda``: the "avatar-speed-gpu" section, everything on the GPU).

    python benchmarks/bench_avatar_speed.py --fit-stocks --write
    python benchmarks/bench_avatar_speed.py --device cuda --fit-stocks --write
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.generation import AvatarGenerator
from sktsgen.nn._avatar import AvatarNet, Prior
from sktsgen.training._avatar import train_avatar
from sktsgen.utils._torch import make_generator


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ref_timer(device):
    torch.manual_seed(0)
    gru = nn.GRU(6, 24, 3, batch_first=True).to(device)
    x = torch.rand(128, 24, 6, device=device)

    def run(reps):
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            y, _ = gru(x)
            y.sum().backward()
        _sync(device)
        return (time.perf_counter() - start) / reps

    return run


def avatar_timer(n_features, hidden, num_layers, correlation, device, n_rows=3661):
    torch.manual_seed(0)
    X = torch.rand(n_rows, 24, n_features, device=device)

    def fit(n_iter):
        # A correlated prior costs its AR(1) recursion; its value does not change the cost.
        prior = Prior("gaussian", hidden, correlation=correlation)
        net = AvatarNet(n_features, hidden, num_layers, prior).to(device)
        _sync(device)
        start = time.perf_counter()
        train_avatar(net, X, n_iter=n_iter, batch_size=128, learning_rate=1e-3,
                     generator=make_generator(0, device))
        _sync(device)
        return time.perf_counter() - start

    def run(reps):
        # Difference of two run lengths: set-up (optimizers, batch indices) cancels out.
        return (fit(reps + 2) - fit(2)) / reps

    return run


def ratio(avatar, ref, rounds):
    refs, avs = [], []
    for _ in range(rounds):
        refs.append(ref(10))
        avs.append(avatar(10))
    # Minimum over rounds: the run least disturbed by other processes.
    r, a = min(refs), min(avs)
    return r, a, a / r


def sampling_rates(n_samples, thread_counts, device, rounds):
    """Windows per second of ``sample`` (default estimator, so codes come from the fitted
    density): with each torch thread count, and with ``n_jobs`` threads of one torch thread
    each. Settings alternate over ``rounds``; the fastest round of each is kept."""
    from sktsgen.datasets import make_sines

    gen = AvatarGenerator(n_iter=5, device=str(device), random_state=0)
    gen.fit(make_sines(2000, 24, 6, random_state=0))
    settings = [(f"{t} torch thread(s)", t, None) for t in thread_counts]
    settings += [(f"n_jobs={t} ({t} threads of one torch thread each)", t, t)
                 for t in thread_counts if t > 1 and device.type == "cpu"]
    best = {label: 0.0 for label, _, _ in settings}
    old = torch.get_num_threads()
    for _ in range(rounds):
        for label, threads, n_jobs in settings:
            torch.set_num_threads(threads)
            gen.set_params(n_jobs=n_jobs)
            gen.sample(1000)
            start = time.perf_counter()
            gen.sample(n_samples, random_state=0)
            best[label] = max(best[label], n_samples / (time.perf_counter() - start))
    torch.set_num_threads(old)
    return best


def stocks_fit(device):
    from bench_avatar_quality import load

    X = load("stocks")
    start = time.perf_counter()
    AvatarGenerator(device=str(device), random_state=0).fit(X)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1],
                    help="torch thread counts of the ratio rows (ref and AVATAR alike); the "
                         "first one also runs the Stocks fit")
    ap.add_argument("--n-sample", type=int, default=200_000)
    ap.add_argument("--fit-stocks", action="store_true", help="time a default fit on Stocks")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)
    ref = ref_timer(device)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        ref(3)
        for label, (d, h, layers, corr) in {
            "default on Stocks (hidden 24, 3 layers, correlated prior)": (6, 24, 3, 0.8),
            "authors' setting on Stocks (hidden 6, 4 layers, i.i.d. prior)": (6, 6, 4, 0.0),
        }.items():
            label = f"{label}, {threads} torch thread(s)"
            r, a, q = ratio(avatar_timer(d, h, layers, corr, device), ref, args.rounds)
            print(f"{label}: ref {r * 1e3:.1f} ms, AVATAR iteration {a * 1e3:.1f} ms = "
                  f"{q:.2f} ref", flush=True)
            rows.append((label, r, a, q))
    torch.set_num_threads(args.threads[0])
    thread_counts = [1] if device.type == "cuda" else sorted({1, os.cpu_count() or 1})
    rates = sampling_rates(args.n_sample, thread_counts, device, args.rounds)
    for label, rate in rates.items():
        print(f"sampling, {label}: {rate:,.0f} windows/s", flush=True)
    fit_s = stocks_fit(device) if args.fit_stocks else None
    if fit_s is not None:
        print(f"default fit on Stocks: {fit_s:.0f} s", flush=True)
    if args.write:
        gpu = device.type == "cuda"
        title = f"## AvatarGenerator speed on {torch.cuda.get_device_name(device)}" if gpu \
            else "## AvatarGenerator speed"
        where = "Ref, training and sampling all on the GPU (ref: cuDNN's GRU)." if gpu else ""
        lines = [title, "", f"Command: `{command_line()}`", "",
                 machine_line() + f" {where} Fastest of {args.rounds} alternating rounds; "
                 f"ref and AVATAR with the same torch thread count, given per row; the Stocks "
                 f"fit with {args.threads[0]}.", "",
                 "| measurement | ref (ms) | AVATAR (ms) | "
                 + ("ratio (the 8-ref target is for CPUs) |" if gpu else "ratio (target <= 8 ref) |"),
                 "| --- | --- | --- | --- |"]
        lines += [f"| one iteration of all three stages, {label} | {r * 1e3:.1f} | "
                  f"{a * 1e3:.1f} | {q:.2f} |" for label, r, a, q in rows]
        lines += [""] + [f"- Sampling with {label}: {rate:,.0f} windows of 24 x 6 per second "
                         "(target >= 100,000)." for label, rate in rates.items()]
        if fit_s is not None:
            lines.append(f"- Default fit on Stocks (3,661 windows, 2000 iterations per stage): "
                         f"{fit_s / 60:.1f} min (target <= 10 min).")
        write_section("avatar-speed-gpu" if gpu else "avatar-speed", "\n".join(lines))


if __name__ == "__main__":
    main()
