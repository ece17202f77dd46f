"""Fit, sample, t-SNE picture and the README demo on an idle machine and with one core busy.

Every case runs in a fresh Python process with no thread setting of its own (no
``OMP_NUM_THREADS``, no ``torch.set_num_threads``): what a user gets by default. "Busy" starts
a second process spinning ``while True: pass`` for the duration of the case, the load of a
laptop or CI runner doing something else. ``--before REV`` runs the same cases on a checkout
of an earlier commit too (the package as it was before its thread limits), so that the table
shows before and after.

Cases:

- ``fit``: ``AvatarGenerator(n_iter=100, random_state=0).fit`` on ``make_sines(5000,
  seq_len=24, n_features=5)``: three short training stages, then the batch-norm statistics and
  the code density (PCA and a 30-component Gaussian mixture on 5,000 codes);
- ``sample``: five successive ``sample(5000)`` calls on that generator, median and slowest;
- ``t-SNE``: ``plot_embedding(..., method="tsne")`` of 1,000 real and 1,000 generated windows;
- ``demo``: ``python examples/avatar_demo.py`` (the README's first command after its
  installs), wall time.

Run ``python benchmarks/bench_threads.py --before REV`` (writes the "threads" section of
docs/benchmarks.md; ``--no-write`` only prints; ``--save FILE`` keeps the measurements, and
``--results FILE --findings F`` rewrites the section from them with new findings).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIT_SAMPLE = """
import json, time
import numpy as np
from sktsgen import AvatarGenerator
from sktsgen.datasets import make_sines
X = make_sines(5000, seq_len=24, n_features=5, random_state=0)
t = time.perf_counter()
gen = AvatarGenerator(n_iter=100, random_state=0).fit(X)
fit = time.perf_counter() - t
calls = []
for seed in range(5):
    t = time.perf_counter()
    gen.sample(5000, random_state=seed)
    calls.append(time.perf_counter() - t)
t = time.perf_counter()
import matplotlib
matplotlib.use("Agg")
from sktsgen.plotting import plot_embedding
t = time.perf_counter()
plot_embedding(X[:1000], gen.sample(1000, random_state=9), method="tsne", random_state=0)
tsne = time.perf_counter() - t
print(json.dumps({"fit": fit, "sample": sorted(calls), "tsne": tsne}))
"""

BUSY = "while True: pass"


def _env(tree):
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_NUM_THREADS") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tree)
    env["MPLBACKEND"] = "Agg"
    return env


def _run(args, tree, busy):
    spinner = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        start = time.perf_counter()
        proc = subprocess.run(args, cwd=tree, env=_env(tree), capture_output=True, text=True,
                              check=False, timeout=3600)
        wall = time.perf_counter() - start
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if proc.returncode:
        raise RuntimeError(f"{args} failed in {tree}:\n{proc.stderr[-3000:]}")
    return proc.stdout, wall


def measure(tree, busy, demo=True):
    out, _ = _run([sys.executable, "-c", FIT_SAMPLE], tree, busy)
    row = json.loads(out.strip().splitlines()[-1])
    if demo:
        with tempfile.TemporaryDirectory() as tmp:
            _, row["demo"] = _run([sys.executable, "examples/avatar_demo.py", "--out", tmp],
                                  tree, busy)
    return row


def checkout(rev, where):
    subprocess.run(["git", "clone", "-q", str(ROOT), str(where)], check=True)
    subprocess.run(["git", "checkout", "-q", rev], cwd=where, check=True)
    return where


def table(results):
    head = ["code", "machine", "fit (s)", "sample(5000), median / slowest of 5 (s)",
            "t-SNE picture (s)", "README demo (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (label, busy), r in results.items():
        s = r["sample"]
        lines.append("| " + " | ".join([
            label, "one core busy" if busy else "idle", f"{r['fit']:.1f}",
            f"{statistics.median(s):.2f} / {max(s):.2f}", f"{r['tsne']:.1f}",
            f"{r['demo']:.0f}" if "demo" in r else "–"]) + " |")
    return "\n".join(lines)


def measure_all(args):
    """``{(code label, busy): measurements}`` of this version and, with ``--before``, of the
    earlier commit, each idle and with one core busy."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = [(f"this version ({head})", checkout("HEAD", Path(tmp) / "after"))]
        if args.before:
            trees.append((f"before ({args.before})", checkout(args.before, Path(tmp) / "before")))
        for label, tree in trees:
            for busy in (False, True):
                results[(label, busy)] = measure(tree, busy, demo=not args.no_demo)
                print(label, "busy" if busy else "idle", json.dumps(results[(label, busy)]),
                      file=sys.stderr, flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=None, help="an earlier commit to compare with")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--findings", default=None,
                        help="a Markdown file of findings printed under the table")
    parser.add_argument("--save", default=None,
                        help="a JSON file to store the measurements in")
    parser.add_argument("--results", default=None,
                        help="write the section from a --save file instead of measuring")
    args = parser.parse_args(argv)
    from benchmarks._report import command_line, machine_line, write_section

    if args.results:
        saved = json.loads(Path(args.results).read_text())
        results = {(r["code"], r["busy"]): r["times"] for r in saved["rows"]}
        command, machine = saved["command"], saved["machine"]
    else:
        results = measure_all(args)
        command, machine = command_line(), machine_line()
        if args.save:
            rows = [{"code": label, "busy": busy, "times": r}
                    for (label, busy), r in results.items()]
            Path(args.save).write_text(json.dumps(
                {"command": command, "machine": machine, "rows": rows}, indent=1))
    md = ["## Thread discipline: idle machine and one core busy", "",
          f"Command: `{command}`", "", machine, "",
          ("Each case in a fresh process with no thread setting of its own; one core busy: a "
           "second process spinning `while True: pass` meanwhile. Fit: "
           "`AvatarGenerator(n_iter=100)` on 5,000 sine windows of 24 x 5, code density "
           "included. t-SNE: `plot_embedding(method=\"tsne\")` of 2,000 windows. Demo: "
           "`python examples/avatar_demo.py`."), "", table(results)]
    if args.findings:
        md += ["", Path(args.findings).read_text().strip()]
    md = "\n".join(md)
    print(md)
    if not args.no_write:
        write_section("threads", md)


if __name__ == "__main__":
    main()
