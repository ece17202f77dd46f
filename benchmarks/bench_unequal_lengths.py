"""GRUClassifier on JapaneseVowels: windows of their own lengths against padding by repetition.

JapaneseVowels (UCR/UEA archive, 12 channels, 9 classes) has series of 7 to 29 steps. Both
official files are read with :func:`sktsgen.datasets.load_ts`, padded to the longest series of
the two, in two ways:

- ``nan``: ``load_ts(pad="nan")``, NaN after each series' end; ``GRUClassifier`` reads each
  window on its own steps (packed sequences in training, the hidden state at each window's
  last step);
- ``last``: ``load_ts(pad="last")``, each series' last step repeated to 29 steps, read whole
  (the padding the package offered before models read unequal lengths).

For each seed ``GRUClassifier(random_state=seed)`` is fitted on the official TRAIN file and
scored with balanced accuracy on the official TEST file, in two configurations (``CONFIGS``):
its defaults (2 x 15 units, 50 epochs, batch 64, learning rate 1e-3), and the settings of
``bench_classification.py`` for this data set (100 epochs, batch 32, learning rate 3e-3). One
JSON line per (configuration, method, seed) goes to ``benchmarks/results/unequal_lengths.jsonl``
(reused when re-run with the same model parameters); ``--write`` writes the "unequal-lengths"
section of docs/benchmarks.md. One torch thread.

    python benchmarks/bench_unequal_lengths.py --seeds 0 1 2 3 4 5 6 7 8 9 --write \
        --findings benchmarks/findings/unequal_lengths.md
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
from sktsgen.datasets import load_ts
from sktsgen.models import GRUClassifier

UCR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucr"
RESULTS = Path(__file__).resolve().parent / "results" / "unequal_lengths.jsonl"
CONFIGS = {
    "defaults": {},
    "100 epochs, batch 32, lr 3e-3": {"max_iter": 100, "batch_size": 32, "learning_rate": 3e-3},
}
METHODS = {
    "nan": "own lengths: `load_ts(pad=\"nan\")`, packed GRU",
    "last": "padded by repeating the last step: `load_ts(pad=\"last\")`",
}


def load(data_dir, pad):
    """Train and test windows padded to the longer file's longest series, and labels."""
    paths = [Path(data_dir) / f"JapaneseVowels_{part}.ts" for part in ("TRAIN", "TEST")]
    longest = max(max(len(x) for x in load_ts(p, pad=None)[0]) for p in paths)
    (X_train, y_train), (X_test, y_test) = (load_ts(p, pad=pad, pad_to=longest)
                                            for p in paths)
    return X_train, y_train, X_test, y_test


def model_params(model):
    params = model.get_params()
    params.pop("random_state")
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
            for k, v in sorted(params.items())}


def run(config, method, seed, data_dir, done):
    from sklearn.metrics import balanced_accuracy_score

    model = GRUClassifier(**CONFIGS[config], random_state=seed)
    key = (method, seed, json.dumps(model_params(model), sort_keys=True))
    if key in done:
        return done[key]
    X_train, y_train, X_test, y_test = load(data_dir, method)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    row = {"dataset": "JapaneseVowels", "config": config, "method": method, "seed": seed,
           "balanced_accuracy": float(balanced_accuracy_score(y_test, pred)),
           "fit_s": fit_s, "predict_s": predict_s, "n_train": len(y_train),
           "n_test": len(y_test), "seq_len": int(X_train.shape[1]),
           "model_params": model_params(model)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def cached():
    done = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            row = json.loads(line)
            key = (row["method"], row["seed"], json.dumps(row["model_params"], sort_keys=True))
            done[key] = row
    return done


def report(rows, seeds):
    lines = [
        "## GRUClassifier on windows of unequal lengths (JapaneseVowels)",
        "",
        f"Command: `{command_line()}`",
        "",
        "JapaneseVowels (series of 7 to 29 steps, 12 channels, 9 classes): "
        "`GRUClassifier(random_state=seed)` (2 x 15 units) with its defaults (50 epochs, "
        "batch 64, learning rate 1e-3) and with the settings of the classification benchmark, "
        f"fitted on the official TRAIN file ({rows[0]['n_train']} series) and scored on the "
        f"official TEST file ({rows[0]['n_test']} series), both padded to "
        f"{rows[0]['seq_len']} steps. Balanced accuracy in %, mean ± std (ddof=1) over seeds "
        f"{', '.join(map(str, seeds))}; Δ: paired difference to padding by repetition ± "
        "standard error; fit time on one torch thread. " + machine_line(),
        "",
        "| GRUClassifier | windows | balanced accuracy | Δ | fit time |",
        "| --- | --- | --- | --- | --- |",
    ]
    for config in CONFIGS:
        lines += _rows(config, [r for r in rows if r["config"] == config], seeds)
    return "\n".join(lines)


def _rows(config, rows, seeds):
    lines = []
    by = {m: {r["seed"]: r for r in rows if r["method"] == m} for m in METHODS}
    ref = np.array([by["last"][s]["balanced_accuracy"] for s in seeds]) * 100
    for method, title in METHODS.items():
        acc = np.array([by[method][s]["balanced_accuracy"] for s in seeds]) * 100
        fit = np.mean([by[method][s]["fit_s"] for s in seeds])
        std = acc.std(ddof=1) if len(acc) > 1 else 0.0
        diff = acc - ref
        delta = ("-" if method == "last" else
                 f"{diff.mean():+.1f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.1f}"
                 if len(diff) > 1 else f"{diff.mean():+.1f}")
        lines.append(f"| {config} | {title} | {acc.mean():.1f} ± {std:.1f} | {delta} | "
                     f"{fit:.1f} s |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--data-dir", default=str(UCR),
                    help="folder of JapaneseVowels_TRAIN.ts and JapaneseVowels_TEST.ts")
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    ap.add_argument("--findings", default=None,
                    help="a Markdown file of findings printed under the table")
    args = ap.parse_args()
    if not (Path(args.data_dir) / "JapaneseVowels_TRAIN.ts").exists():
        print(f"JapaneseVowels not found in {args.data_dir}: nothing to measure.",
              file=sys.stderr)
        return
    torch.set_num_threads(1)
    done = cached()
    rows = []
    for config in CONFIGS:
        for seed in args.seeds:
            for method in METHODS:
                row = run(config, method, seed, args.data_dir, done)
                print(f"{config}, seed {seed}, {method}: balanced accuracy "
                      f"{row['balanced_accuracy']:.3f}, fit {row['fit_s']:.1f} s", flush=True)
                rows.append(row)
    if args.write:
        text = report(rows, args.seeds)
        if args.findings:
            text += "\n\n" + Path(args.findings).read_text().strip()
        write_section("unequal-lengths", text)


if __name__ == "__main__":
    main()
