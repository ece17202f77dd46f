"""Speed of AvatarGenerator, as ratios to a bare GRU measured in the same process.

"1 ref" = one forward+backward of a bare ``nn.GRU(6, 24, 3)`` on a 128 x 24 x 6 batch. One
AVATAR iteration = one iteration of each of the three stages (autoencoder, supervisor, joint
with its two autoencoder steps and discriminator step), on Stocks-sized data. Ref and AVATAR
are timed in alternation and the fastest rounds are compared, so that a load change on a shared
machine affects both. Also measures sampling throughput (with 1 and all torch threads, and with
``n_jobs`` threads of one torch thread each), on a CPU as a ratio to the decode path's
arithmetic bound (:func:`decode_bound`), and, with ``--fit-stocks``, a default fit on Stocks.
Writes the "avatar-speed" section of docs/benchmarks.md with ``--write`` (``--device cuda``:
the "avatar-speed-gpu" section, everything on the GPU).

    python benchmarks/bench_avatar_speed.py --fit-stocks --write
    python benchmarks/bench_avatar_speed.py --device cuda --fit-stocks --write
"""

import argparse
import functools
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
from sktsgen.nn._fast_gru import _BATCH_ALIGN, gru_layers
from sktsgen.training._avatar import train_avatar
from sktsgen.utils._torch import make_generator, torch_threads

_CPU = torch.device("cpu")


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


def sampling_generator(device):
    """The generator whose sampling is timed (default estimator, 24 x 6 sines)."""
    from sktsgen.datasets import make_sines

    gen = AvatarGenerator(n_iter=5, device=str(device), random_state=0)
    return gen.fit(make_sines(2000, 24, 6, random_state=0))


def sampling_rates(gen, n_samples, thread_counts, rounds):
    """``{label: (cores, windows per second)}`` of ``gen.sample`` (codes drawn from the fitted
    density, scaled back): with each torch thread count, and with ``n_jobs`` threads of one
    torch thread each. Settings alternate over ``rounds``; the fastest round of each is kept."""
    settings = [(f"{t} torch thread(s)", t, None) for t in thread_counts]
    settings += [(f"n_jobs={t} ({t} threads of one torch thread each)", t, t)
                 for t in thread_counts if t > 1 and gen.device_.type == "cpu"]
    best = {label: (threads, 0.0) for label, threads, _ in settings}
    old = torch.get_num_threads()
    for _ in range(rounds):
        for label, threads, n_jobs in settings:
            torch.set_num_threads(threads)
            gen.set_params(n_jobs=n_jobs)
            gen.sample(1000)
            start = time.perf_counter()
            gen.sample(n_samples, random_state=0)
            rate = n_samples / (time.perf_counter() - start)
            best[label] = (threads, max(best[label][1], rate))
    torch.set_num_threads(old)
    return best


def _fastest(fn, calls=100, repeats=10):
    """Seconds per call of ``fn``: the fastest of ``repeats`` loops of ``calls`` calls."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


@torch_threads(1, _CPU)
def decode_bound(gen):
    """Arithmetic bound of the decode path of a generator fitted on a CPU.

    The decode path is ``gen.module_.generate(z)`` in eval mode: the decoder's GRU stack and
    output layer, then the supervisor's (``half_state_stack``, ``half_state_step_outputs``).
    The bound is, per window, the time its operations take when each runs alone at its
    in-cache speed on one core, with no Python or framework overhead between them: each
    primitive is timed on its own with preallocated float32 tensors of its exact shape, the
    batch being one sampling chunk (``gen._chunk_size`` windows, padded to a multiple of
    32). Per GRU layer and step: the input projection (3 hid x (n_in + 1)) @ ((n_in + 1) x B),
    the recurrent products (hid x (hid + 1)) @ ((hid + 1) x B) and, accumulated in place,
    (2 hid x (hid + 1)) @ ((hid + 1) x B), ``sigmoid_`` on 2 hid x B, ``addcmul`` on hid x B,
    ``sigmoid_`` on hid x B, ``lerp`` on hid x B; per stack and step the output layer
    (out x (hid + 1)) @ ((hid + 1) x B) and its activation; per window, with the covariance
    calibration, its (values x (values + 1)) @ (values x B) product and two element-wise
    passes (timed as ``lerp``) for the clip. Layout copies (padding, transposes), the code
    draw, the calibration's quantile map (a search among its knots, with no arithmetic bound
    of its own) and the scaling back are left out, so a measured sampling rate, which
    includes them, is a conservative fraction of the bound. With k threads (or
    ``n_jobs=k``) the bound is k times the one-core bound.

    Returns ``(windows per second on one core, microseconds per window)``.
    """
    b = -(-gen._chunk_size // _BATCH_ALIGN) * _BATCH_ALIGN
    rand = functools.partial(torch.rand, dtype=torch.float32)

    @functools.cache
    def mm(m, k):  # (m x k) @ (k x b)
        w, x, y = rand(m, k), rand(k, b), rand(m, b)
        return _fastest(lambda: torch.mm(w, x, out=y))

    @functools.cache
    def addmm_(m, k):  # y += (m x k) @ (k x b)
        w, x, y = rand(m, k), rand(k, b), rand(m, b)
        return _fastest(lambda: y.addmm_(w, x))

    @functools.cache
    def sigmoid(rows):
        return _fastest(rand(rows, b).sigmoid_)

    @functools.cache
    def lerp(rows):
        a, c, w, y = (rand(rows, b) for _ in range(4))
        return _fastest(lambda: torch.lerp(a, c, w, out=y))

    @functools.cache
    def addcmul(rows):
        a, c, w, y = (rand(rows, b) for _ in range(4))
        return _fastest(lambda: torch.addcmul(a, c, w, out=y))

    step = 0.0  # seconds per chunk and step
    for stack in filter(None, (gen.module_.decoder, gen.module_.supervisor)):
        for w_ih, w_hh, _, _ in (w for gru in stack.grus for w in gru_layers(gru)):
            hid, n_in = w_hh.shape[1], w_ih.shape[1]
            step += (mm(3 * hid, n_in + 1) + mm(hid, hid + 1) + addmm_(2 * hid, hid + 1)
                     + sigmoid(2 * hid) + addcmul(hid) + sigmoid(hid) + lerp(hid))
        out, hid = stack.out.weight.shape
        step += mm(out, hid + 1) + (sigmoid(out) if stack.activation == "sigmoid" else 0.0)
    # The covariance calibration: one (values x values) product per window, and the clip.
    calibration = gen.calibration_module_
    if isinstance(calibration, torch.nn.Sequential):
        calibration = calibration[0]
    whole = 0.0  # seconds per chunk, once per window
    if calibration is not None:
        values = len(calibration.matrix)
        whole = mm(values, values + 1) + 2 * lerp(values)
    per_window = (step * gen.seq_len_ + whole) / b
    return 1.0 / per_window, per_window * 1e6


@torch_threads(1, _CPU)
def sampling_parts(gen):
    """``{part: milliseconds}`` of one sampling chunk (``gen._chunk_size`` windows) on one
    torch thread, each part timed on its own (fastest of repeated calls): the code draw,
    the networks (:func:`decode_bound`'s GRU stacks and output layers), the calibration's
    maps, and the conversion to NumPy with the scaling back."""
    draw = gen._code_draws(0, None)
    calibration = gen.calibration_module_
    maps = ([] if calibration is None else
            list(calibration) if isinstance(calibration, nn.Sequential) else [calibration])
    names = {"CovarianceCalibration": "affine map", "QuantileCalibration": "quantile map"}
    with torch.no_grad():
        z = draw(0, gen._chunk_size)
        x = gen.module_.generate(z)
        timings = {"code draw": lambda: draw(0, gen._chunk_size),
                   "networks": lambda: gen.module_.generate(z)}
        timings.update({f"calibration: {names.get(type(m).__name__, type(m).__name__)}":
                        (lambda m=m: m(x)) for m in maps})
        timings["to NumPy and the data's scale"] = lambda: gen.scaler_.inverse_transform(
            x.numpy().astype(gen._fit_dtype))
        parts = {label: 1e3 * _fastest(fn, calls=10, repeats=5) for label, fn in timings.items()}
    return parts


_BOUND = "decode path's bound"


@torch_threads(1, _CPU)
def calibration_costs(rounds, n_samples=40_000):
    """``{(seq_len, n_features): {setting: windows per second}}`` of ``sample`` on one torch
    thread with no calibration, the affine map alone and both maps (default generators
    fitted briefly on sines; the maps' cost does not depend on how well they were fitted),
    and the decode path's arithmetic bound (:func:`decode_bound`) of each generator.
    Settings alternate over ``rounds``; the fastest round of each is kept."""
    from sktsgen.datasets import make_sines

    costs = {}
    for shape, n_windows in (((24, 6), 2000), ((24, 28), 3000)):
        gen = AvatarGenerator(n_iter=5, random_state=0).fit(
            make_sines(n_windows, *shape, random_state=0))
        both = gen.calibration_module_
        settings = {"uncalibrated": None, "affine map": both[0], "both maps": both}
        best = dict.fromkeys(settings, 0.0)
        for _ in range(rounds):
            for label, module in settings.items():
                gen.calibration_module_ = module
                start = time.perf_counter()
                gen.sample(n_samples, random_state=0)
                best[label] = max(best[label], n_samples / (time.perf_counter() - start))
        gen.calibration_module_ = both
        best[_BOUND] = decode_bound(gen)[0]
        costs[shape] = best
        print(f"sampling {shape[0]} x {shape[1]}, 1 thread:",
              {label: f"{rate:,.0f}/s" for label, rate in best.items()}, flush=True)
    return costs


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
    ap.add_argument("--note", default="", help="free text added under the results")
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
    gen = sampling_generator(device)
    rates = sampling_rates(gen, args.n_sample, thread_counts, args.rounds)
    bound, us = decode_bound(gen) if device.type == "cpu" else (None, None)
    if bound is not None:
        print(f"decode path's arithmetic bound: {us:.1f} us per window, {bound:,.0f} windows/s "
              "per core", flush=True)
    for label, (cores, rate) in rates.items():
        share = f" = {rate / (bound * cores):.0%} of the bound" if bound else ""
        print(f"sampling, {label}: {rate:,.0f} windows/s{share}", flush=True)
    parts = sampling_parts(gen) if bound is not None else None
    if parts is not None:
        print({label: f"{ms:.1f} ms" for label, ms in parts.items()}, flush=True)
    costs = calibration_costs(args.rounds) if device.type == "cpu" else None
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
                 + ("ratio (the 8-ref target is for CPUs) |" if gpu
                    else "ratio (target <= 8 ref) |"),
                 "| --- | --- | --- | --- |"]
        lines += [f"| one iteration of all three stages, {label} | {r * 1e3:.1f} | "
                  f"{a * 1e3:.1f} | {q:.2f} |" for label, r, a, q in rows]
        lines.append("")
        if bound is not None:
            lines.append(
                "Sampling is compared with the arithmetic bound of its decode path (decoder and "
                "supervisor GRU stacks with their output layers, and the calibration's "
                "covariance map, in chunks of "
                f"{gen._chunk_size:,} windows): per window, the time its operations take when "
                "each runs alone at its in-cache speed on one core, with no Python or framework "
                f"overhead between them; here {us:.1f} µs, {bound:,.0f} windows/s per core, k "
                "times that on k cores. The measured rates also include the draw of the codes "
                "from the fitted density, the calibration's quantile map and the scaling back, "
                "so the ratios are conservative. "
                "Target: at least 80% of the bound.")
            lines.append("")
        for label, (cores, rate) in rates.items():
            share = (f", {rate / (bound * cores):.0%} of the decode path's arithmetic bound on "
                     f"{cores} core{'s' * (cores > 1)} ({bound * cores:,.0f}/s)" if bound else "")
            lines.append(f"- Sampling with {label}: {rate:,.0f} windows of 24 x 6 per "
                         f"second{share}.")
        if parts is not None:
            chunk_ms = gen._chunk_size / bound * 1e3
            decode_ms = parts["networks"] + parts.get("calibration: affine map", 0.0)
            caption = (f"One chunk of {gen._chunk_size:,} windows on one thread, each part "
                       "timed on its own (mean of 10 calls, fastest of 5 rounds); the decode "
                       f"path's bound is {chunk_ms:.1f} ms per chunk:")
            lines += ["", caption, "", "| part | ms per chunk |", "| --- | --- |"]
            lines += [f"| {label} | {ms:.1f} |" for label, ms in parts.items()]
            total = sum(parts.values())
            ratios = (f"- The decode path alone (networks and affine map, {decode_ms:.1f} "
                      f"ms) runs at {chunk_ms / decode_ms:.0%} of its bound; all parts "
                      f"together ({total:.1f} ms) at {chunk_ms / total:.0%}.")
            lines += ["", ratios]
        if costs is not None:
            settings = list(next(iter(costs.values())))
            caption = ("What the calibration costs: `sample(40000)` on one thread, windows per "
                       "second (fastest of the alternating rounds):")
            lines += ["", caption, "", "| values per window | " + " | ".join(settings) + " |",
                      "| --- |" + " --- |" * len(settings)]
            lines += [f"| {t} x {d} | " + " | ".join(f"{rate:,.0f}" for rate in best.values())
                      + " |" for (t, d), best in costs.items()]
            shares = ", ".join(f"{best['both maps'] / best[_BOUND]:.0%} at {t} x {d}"
                               for (t, d), best in costs.items())
            share_line = "- Sampling with both maps, as a share of the decode path's bound: "
            lines += ["", f"{share_line}{shares}."]
            lines.append("")
        if fit_s is not None:
            lines.append(f"- Default fit on Stocks (3,661 windows, 2000 iterations per stage): "
                         f"{fit_s / 60:.1f} min (target <= 10 min).")
        if args.note:
            lines += ["", args.note]
        write_section("avatar-speed-gpu" if gpu else "avatar-speed", "\n".join(lines))


if __name__ == "__main__":
    main()
