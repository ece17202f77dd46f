"""Memory and fixed costs of ``AvatarGenerator.fit`` on many windows.

Creates ``--n-windows`` random float32 windows (uniform on [0, 1), ``--seq-len`` x
``--n-features``, default 1,000,000 x 24 x 28 = 2.69 GB), then fits
``AvatarGenerator(n_iter=--n-iter, verbose=1, random_state=0)`` on them in this (fresh)
process. Resident memory (RSS) is read from ``/proc/self/status`` by a thread every 50 ms;
``ru_maxrss`` (the process's high-water mark) is read before the input exists, once it exists
and after ``fit``. Reported: the peak RSS during ``fit`` above the RSS with the input (the
input itself excluded), as GB and as a multiple of the input's size; the wall time of ``fit``;
and the time and peak RSS of each step, timed by wrapping the functions ``fit`` calls (only the
outermost one counts when they nest): validation, scaling, the tensor, the training stages
(``train_avatar``: the part that grows with ``n_iter``), the batch-norm recomputation and the
code density. The fixed part is the wall time of ``fit`` less ``train_avatar``. Each run adds
a line to ``--results`` (JSON); ``--write`` writes the "scale" section of docs/benchmarks.md
from the latest line of each ``--label`` and window count there.

    python benchmarks/bench_scale.py --label after --write
    python benchmarks/bench_scale.py --label before --source /path/to/older/checkout
    python benchmarks/bench_scale.py --no-run --write  # the section from --results only

``--source`` measures the ``sktsgen`` package of another checkout (e.g. an older commit
extracted with ``git archive``) with this script.
"""

import argparse
import json
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.jsonl"
GB = 1e9

# (module, owner, attribute, step): the functions whose calls are timed.
STEPS = [
    ("sktsgen.generation._avatar", None, "validate_windows", "validation"),
    ("sktsgen.preprocessing._scaling", "WindowMinMaxScaler", "fit", "scaler fit"),
    ("sktsgen.preprocessing._scaling", "WindowMinMaxScaler", "transform", "scaling"),
    ("sktsgen.generation._avatar", "AvatarGenerator", "_scaled_training_windows", "scaling"),
    ("sktsgen.generation._avatar", "AvatarGenerator", "_channel_means", "fill values"),
    ("sktsgen.generation._avatar", None, "fill_missing", "fill missing"),
    ("sktsgen.generation._avatar", None, "to_tensor", "tensor"),
    ("sktsgen.generation._avatar", None, "train_avatar", "training"),
    ("sktsgen.generation._avatar", None, "recompute_batch_norm", "batch norm"),
    ("sktsgen.generation._avatar", "AvatarGenerator", "_fit_code_density", "code density"),
]


def rss():
    """Current resident memory in bytes (VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def max_rss():
    """``ru_maxrss`` in bytes (kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RSSPoller(threading.Thread):
    """Reads the resident set every ``interval`` seconds and keeps every reading."""

    def __init__(self, interval=0.05):
        super().__init__(daemon=True)
        self.interval, self.stop, self.samples = interval, threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.perf_counter(), rss()))
            self.stop.wait(self.interval)

    def peak(self, start, end):
        inside = [r for t, r in self.samples if start <= t <= end]
        return max(inside) if inside else 0


class StepTimer:
    """Wraps the functions of ``STEPS``; the outermost call of a step is timed."""

    def __init__(self):
        self.calls, self.depth = [], 0

    def wrap(self, fn, step):
        timer = self

        def wrapper(*args, **kwargs):
            if timer.depth:
                return fn(*args, **kwargs)
            timer.depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timer.depth -= 1
                timer.calls.append((step, start, time.perf_counter()))

        return wrapper

    def install(self):
        import importlib

        for module_name, owner, attr, step in STEPS:
            module = importlib.import_module(module_name)
            target = module if owner is None else getattr(module, owner)
            if hasattr(target, attr):
                setattr(target, attr, self.wrap(getattr(target, attr), step))


def measure(args):
    sys.path.insert(0, str(Path(args.source).resolve()))
    import torch

    import sktsgen
    from sktsgen.generation import AvatarGenerator

    timer = StepTimer()
    timer.install()
    rss_start, maxrss_start = rss(), max_rss()
    rng = np.random.default_rng(0)
    X = rng.random((args.n_windows, args.seq_len, args.n_features), dtype=np.float32)
    for start in range(0, len(X), 10_000):  # missing entries, without a mask of X's size
        part = X[start:start + 10_000]
        part[rng.random(part.shape, dtype=np.float32) < args.nan_fraction] = np.nan
    rss_input, maxrss_input = rss(), max_rss()
    gen = AvatarGenerator(n_iter=args.n_iter, verbose=1, random_state=0,
                          **json.loads(args.params))
    poller = RSSPoller()
    poller.start()
    start = time.perf_counter()
    gen.fit(X)
    end = time.perf_counter()
    time.sleep(0.1)
    poller.stop.set()
    poller.join()
    maxrss_end = max_rss()
    assert np.isfinite(gen.sample(10, random_state=0)).all()
    steps = {}
    for step, a, b in timer.calls:
        s = steps.setdefault(step, {"seconds": 0.0, "peak_rss_above_input_gb": 0.0})
        s["seconds"] += b - a
        s["peak_rss_above_input_gb"] = max(s["peak_rss_above_input_gb"],
                                           (poller.peak(a, b) - rss_input) / GB)
    fit_s = end - start
    peak_poll = poller.peak(start, end)
    # ru_maxrss is a lifetime peak: it says something about fit only if fit raised it.
    peak_fit = max(peak_poll, maxrss_end) if maxrss_end > maxrss_input else peak_poll
    return {
        "label": args.label,
        "sktsgen": str(Path(sktsgen.__file__).parent),
        "n_windows": args.n_windows, "seq_len": args.seq_len, "n_features": args.n_features,
        "n_iter": args.n_iter, "params": json.loads(args.params),
        "nan_fraction": args.nan_fraction,
        "input_gb": X.nbytes / GB,
        "rss_start_gb": rss_start / GB, "rss_input_gb": rss_input / GB,
        "maxrss_start_gb": maxrss_start / GB, "maxrss_input_gb": maxrss_input / GB,
        "maxrss_end_gb": maxrss_end / GB,
        "peak_rss_polled_gb": peak_poll / GB,
        "peak_above_input_gb": (peak_fit - rss_input) / GB,
        "peak_above_input_x": (peak_fit - rss_input) / X.nbytes,
        "fit_s": fit_s,
        "training_s": steps.get("training", {}).get("seconds", 0.0),
        "fixed_s": fit_s - steps.get("training", {}).get("seconds", 0.0),
        "steps": steps,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "machine": platform.machine(),
        "load": os.getloadavg()[0],
        "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def report(rows, args):
    sys.path.insert(0, str(ROOT))
    from benchmarks._report import machine_line

    latest = {}
    for row in rows:
        params = row.get("params") or {}
        if params:  # e.g. early_stopping=True, in the code column
            row["label"] += ", " + ", ".join(f"`{k}={v!r}`" for k, v in params.items())
        if row.get("nan_fraction"):
            row["label"] += f", {100 * row['nan_fraction']:g}% NaN"
        latest[(row["label"], row["n_windows"])] = row
    rows = sorted(latest.values(), key=lambda r: (bool(r.get("params")), r["n_windows"],
                                                  not r["label"].startswith("before")))
    order = ["validation", "scaler fit", "scaling", "fill values", "tensor", "batch norm",
             "code density"]
    head = ("| code | windows | input | peak RSS above input | fit | training stages | "
            "fixed part | " + " | ".join(order) + " | load |")
    lines = [head, "| " + " | ".join(["---"] * (8 + len(order))) + " |"]
    for r in rows:
        cells = [r["label"], f"{r['n_windows']:,}", f"{r['input_gb']:.2f} GB",
                 f"{r['peak_above_input_gb']:.2f} GB ({r['peak_above_input_x']:.2f}x)",
                 f"{r['fit_s']:.1f} s", f"{r['training_s']:.1f} s", f"{r['fixed_s']:.1f} s"]
        for step in order:
            s = r["steps"].get(step)
            cells.append("-" if s is None else f"{s['seconds']:.1f} s")
        cells.append(f"{r['load']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    first = rows[0]
    sizes = sorted({r["n_windows"] for r in rows})
    command = ("Command: `python benchmarks/bench_scale.py --n-windows N --label after "
               "--findings benchmarks/findings/scale.md --write` for N in "
               f"{', '.join(f'{n:,}' for n in sizes)}; the rows of the older code add "
               "`--label before --source DIR`, DIR holding its `sktsgen` (e.g. from "
               "`git archive`). Each run adds a line to `benchmarks/results/scale.jsonl`.")
    intro = (
        f"Random float32 windows of {first['seq_len']} x {first['n_features']}, "
        f"`AvatarGenerator(n_iter={first['n_iter']}, verbose=1, random_state=0).fit(X)` in a "
        "fresh process. Peak RSS above input: the highest resident memory during `fit` (read "
        "every 50 ms, and `ru_maxrss` when `fit` raised it) less the resident memory once the "
        "input exists, and in parentheses as a multiple of the input's size. Training stages: "
        "`train_avatar` (what grows with `n_iter`); fixed part: the rest of `fit`. The step "
        "columns time the outermost call of the functions `fit` runs; validation, scaling and "
        "the tensor are where copies of the input can be made. Load: the 1-min load "
        "average at the end of the run (2 cores; above 2, another process was busy).")
    md = [
        "## AvatarGenerator fit on many windows: memory and fixed costs", "",
        command, "", machine_line(), "", intro, "",
        *lines,
    ]
    if args.findings:
        md += ["", Path(args.findings).read_text().strip()]
    return "\n".join(md)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-windows", type=int, default=1_000_000)
    parser.add_argument("--seq-len", type=int, default=24)
    parser.add_argument("--n-features", type=int, default=28)
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--nan-fraction", type=float, default=0.0,
                        help="fraction of the entries set to NaN (needs allow_nan in --params)")
    parser.add_argument("--params", default="{}",
                        help="more AvatarGenerator parameters, as JSON")
    parser.add_argument("--label", default="this version",
                        help="name of the code measured, in the table")
    parser.add_argument("--source", default=str(ROOT),
                        help="folder holding the sktsgen package to measure")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--findings", default=None,
                        help="a Markdown file of findings printed under the table")
    parser.add_argument("--no-run", action="store_true",
                        help="only write the report from --results")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    results = Path(args.results)
    if not args.no_run:
        row = measure(args)
        print(json.dumps(row, indent=1))
        results.parent.mkdir(parents=True, exist_ok=True)
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    md = report(rows, args)
    print(md)
    if args.write:
        sys.path.insert(0, str(ROOT))
        from benchmarks._report import write_section

        write_section("scale", md)


if __name__ == "__main__":
    main()
