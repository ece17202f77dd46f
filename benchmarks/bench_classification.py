"""Imbalanced classification on GunPoint and JapaneseVowels: the over-samplers against duplication.

Protocol, per data set and per seed ``s``: pool the official TRAIN and TEST files of the UCR/UEA
archive (JapaneseVowels, whose series have 7 to 29 steps, padded to 29 by repeating each series'
last step); split them into stratified halves (``train_test_split(test_size=0.5, stratify=y,
random_state=s)``); in the training half keep every window of the largest class (ties: the
first label in sorted order) and a random 10% of every other class (at least 3 windows, rounded
up; ``np.random.RandomState(s)``); balance it with each method (``sampling_strategy="auto"``,
``random_state=s``); train two models on the result and score balanced accuracy and macro F1 on
the untouched test half:

- ``GRUClassifier(max_iter=..., batch_size=32, learning_rate=3e-3, random_state=s)``, the
  default 2 x 15 GRU; 300 epochs on GunPoint (150 steps), 100 on JapaneseVowels (29 steps),
  see ``GRU_PARAMS``;
- ``make_pipeline(WindowFlattener(), StandardScaler(), LogisticRegression(max_iter=1000))``.

Run ``python benchmarks/bench_classification.py`` (10 seeds, all methods, writes the
"classification" section of docs/benchmarks.md). ``--results FILE`` keeps one JSON line per
finished (dataset, method, seed, model) and skips them when re-run, so a long run can resume;
a line is reused only when its sampler's and its model's parameters agree with those of the
current run (``--sampler-params``, ``--quick`` and changed defaults start afresh; a parameter
added since is ignored). ``--no-run`` only tabulates that file. ``--quick`` is a smoke run (1
seed, tiny iteration counts) and does not write the docs.

``--model-seed-offsets 0 100 200`` trains the GRU three times on each seed's balanced windows
(``random_state = seed + offset``; the sampler is fitted once). On GunPoint the GRU stays at
chance on some seeds whatever the windows, so one GRU per seed makes the paired differences
noisy. A method's Δ is the mean over seeds of its per-seed mean difference to duplication, over
the offsets both were run with. The logistic regression is deterministic: offset 0 only.

The script runs on one torch thread and one BLAS thread: the figures (the sampler seconds in
particular) are single-thread times.
"""

import argparse
import importlib
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sktsgen.generation import AvatarGenerator

DATASETS = ("GunPoint", "JapaneseVowels")
KEEP_PERCENT, MIN_KEPT = 10, 3  # windows kept of every class but the largest
# GunPoint's 150-step windows: at the default learning rate (1e-3) the GRU stays at chance for
# 200 epochs; at 3e-3 it leaves chance after about 100 to 170 epochs on a balanced training half.
GRU_PARAMS = {
    "GunPoint": {"max_iter": 300, "batch_size": 32, "learning_rate": 3e-3},
    "JapaneseVowels": {"max_iter": 100, "batch_size": 32, "learning_rate": 3e-3},
}
LOGREG_MAX_ITER = 1000
MODELS = ("gru", "logreg")
MODEL_TITLES = {"gru": "GRU", "logreg": "LogReg"}


@dataclass(frozen=True)
class Method:
    """An over-sampling method: a class of ``sktsgen.over_sampling`` and its parameters.

    ``cls=None`` is no over-sampling. ``module`` is where the class is looked up when the
    package does not export it (yet). ``tunable`` methods take the ``--sampler-params``
    overrides. Every sampler also gets ``sampling_strategy="auto"`` and ``random_state=seed``.
    """

    cls: str = None
    params: dict = field(default_factory=dict)
    tunable: bool = False
    module: str = "sktsgen.over_sampling"

    def load(self):
        """The sampler class, imported now (so that a missing one only skips its method)."""
        if self.cls is None:
            return None
        for where in dict.fromkeys(["sktsgen.over_sampling", self.module]):
            try:
                return getattr(importlib.import_module(where), self.cls)
            except (ImportError, AttributeError):
                continue
        raise ImportError(f"{self.cls} is neither in sktsgen.over_sampling nor in {self.module}")

    def build(self, seed, overrides):
        cls = self.load()
        if cls is None:
            return None
        params = {**self.params, **(overrides if self.tunable else {})}
        return cls(sampling_strategy="auto", random_state=seed, **params)


# Method name -> how to build its sampler. Add variants here (a new name with other params).
METHODS = {
    "none": Method(),
    "duplication": Method("RandomWindowOverSampler"),
    "smote": Method("WindowSMOTE", module="sktsgen.over_sampling._smote"),
    "jitter": Method("JitterOverSampler"),
    "time warping": Method("TimeWarpingOverSampler"),
    "random latent": Method("LatentAdversarialSampler", {"perturbation": "random"}, tunable=True),
    "latent adversarial": Method("LatentAdversarialSampler", tunable=True),
    # The decoder's changes as they are, not shaped like the data's spectrum.
    "latent adversarial, raw changes": Method("LatentAdversarialSampler",
                                              {"match_spectrum": False}, tunable=True),
    # The paper's step: every new window of a source takes its full perturbation.
    "latent adversarial, full steps": Method("LatentAdversarialSampler",
                                             {"symmetric": False, "match_spectrum": False},
                                             tunable=True),
    # A conditional AVATAR fitted to every training window, asked for windows of each class.
    # 300 iterations per stage on batches of 32: about 100 s on GunPoint's 150 steps.
    "generative (AVATAR)": Method("GenerativeWindowOverSampler",
                                  {"generator": AvatarGenerator(n_iter=300, batch_size=32)}),
}
REFERENCE = "duplication"
QUICK_LATENT = {"n_iter": 20, "predictor_n_iter": 20}


def _jsonable(params):
    """Parameters as they read back from a JSON line (tuples become lists, objects strings)."""
    return json.loads(json.dumps(params, default=repr, sort_keys=True))


def _same_params(stored, current):
    """Whether a results line was run with the current parameters: every parameter both name
    agrees. One added since, with a default that leaves outputs unchanged (the rule for new
    parameters here), does not void the line; a changed default does."""
    return all(stored[k] == current[k] for k in stored.keys() & current.keys())


def load_dataset(folder, name):
    """Pooled TRAIN and TEST windows of a data set, padded to its longest series."""
    from sktsgen.datasets import load_ts

    paths = [folder / f"{name}_{split}.ts" for split in ("TRAIN", "TEST")]
    longest = max(int(load_ts(p, pad=None, return_lengths=True)[2].max()) for p in paths)
    parts = [load_ts(p, pad="last", pad_to=longest) for p in paths]
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def imbalanced_split(X, y, seed):
    """Stratified halves; the training half keeps all of its largest class and 10% of the rest."""
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
    classes, counts = np.unique(y_tr, return_counts=True)
    largest = classes[np.argmax(counts)]  # first in sorted order on ties
    rng = np.random.RandomState(seed)
    keep = [np.flatnonzero(y_tr == largest)]
    for c in classes:
        if c == largest:
            continue
        rows = np.flatnonzero(y_tr == c)
        n_keep = min(len(rows), max(MIN_KEPT, -(-len(rows) * KEEP_PERCENT // 100)))
        keep.append(rng.choice(rows, n_keep, replace=False))
    keep = np.sort(np.concatenate(keep))
    return X_tr[keep], y_tr[keep], X_te, y_te


def make_model(kind, dataset, seed, quick, offset=0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktsgen.models import GRUClassifier
    from sktsgen.preprocessing import WindowFlattener

    if kind == "gru":
        params = {**GRU_PARAMS[dataset], **({"max_iter": 2} if quick else {})}
        return GRUClassifier(random_state=seed + offset, **params)
    return make_pipeline(WindowFlattener(), StandardScaler(),
                         LogisticRegression(max_iter=20 if quick else LOGREG_MAX_ITER))


def model_params(kind, dataset, quick):
    """What identifies a model's configuration in the results file (the seed aside)."""
    model = make_model(kind, dataset, 0, quick)
    params = model.get_params(deep=kind == "gru")
    if kind == "logreg":
        params = {f"step{i}": (type(step).__name__, step.get_params())
                  for i, (_, step) in enumerate(model.steps)}
    params.pop("random_state", None)
    return _jsonable(params)


def sampler_params(name, overrides):
    sampler = METHODS[name].build(0, overrides)
    if sampler is None:
        return {}
    params = sampler.get_params()
    params.pop("random_state", None)
    return _jsonable({"class": type(sampler).__name__, **params})


def run_one(dataset, name, seed, data, todo, overrides, quick):
    """Fit the method's sampler once, then each ``(model, offset)`` in ``todo``; one result row
    per model."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    X_train, y_train, X_test, y_test = data
    sampler = METHODS[name].build(seed, overrides)
    t0 = time.perf_counter()
    X_fit, y_fit = (X_train, y_train) if sampler is None else sampler.fit_resample(
        X_train, y_train)
    sampler_s = time.perf_counter() - t0
    rows = []
    for kind, offset in todo:
        model = make_model(kind, dataset, seed, quick, offset)
        t1 = time.perf_counter()
        model.fit(X_fit, y_fit)
        pred = model.predict(X_test)
        rows.append({
            "dataset": dataset, "method": name, "seed": seed, "model": kind,
            "model_seed_offset": offset,
            "balanced_accuracy": float(balanced_accuracy_score(y_test, pred)),
            "macro_f1": float(f1_score(y_test, pred, average="macro")),
            "sampler_s": sampler_s, "model_s": time.perf_counter() - t1,
            "n_train": len(y_train), "n_resampled": len(y_fit), "n_test": len(y_test),
            "sampler_params": sampler_params(name, overrides),
            "model_params": model_params(kind, dataset, quick),
        })
    return rows


def _paired(sub, ref, metric):
    """Mean ± standard error over seeds of the per-seed mean differences ``sub - ref``, over
    the (seed, offset) pairs both hold."""
    key = ["seed", "model_seed_offset"]
    a, b = sub.set_index(key)[metric], ref.set_index(key)[metric]
    diff = 100 * (a - b.reindex(a.index)).dropna().groupby(level="seed").mean()
    if diff.empty:
        return "–"
    if len(diff) < 2:
        return f"{diff.mean():+.1f} (1 seed)"
    return f"{diff.mean():+.1f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.1f}"


def _mean_std(values):
    values = 100 * values
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.1f} ± {std:.1f}"


def _near_chance(mod, n_classes):
    """How many runs score within 10 points of chance (balanced accuracy 1 / n_classes)."""
    return f"{int((mod.balanced_accuracy < 1 / n_classes + 0.1).sum())} of {len(mod)}"


def table(rows, dataset, methods, n_classes):
    import pandas as pd

    df = pd.DataFrame(rows)
    df = df[df.dataset == dataset] if not df.empty else df
    header = ["method", "seeds x GRUs"]
    for kind in MODELS:
        t = MODEL_TITLES[kind]
        header += [f"{t} bal. acc.", f"{t} macro F1", f"{t} Δ bal. acc.", f"{t} Δ macro F1"]
    header += ["GRU near chance", "sampler s"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name in methods:
        sub = df[df.method == name] if not df.empty else df
        if sub.empty:
            continue
        gru = sub[sub.model == "gru"]
        per_seed = gru.groupby("seed").size()
        cells = [name, f"{sub.seed.nunique()} x {per_seed.max() if len(per_seed) else 0}"
                 + ("" if per_seed.nunique() <= 1 else f" (some {per_seed.min()})")]
        for kind in MODELS:
            mod = sub[sub.model == kind]
            ref = df[(df.method == REFERENCE) & (df.model == kind)]
            if mod.empty:
                cells += ["–"] * 4
                continue
            cells += [_mean_std(mod.balanced_accuracy), _mean_std(mod.macro_f1)]
            if name == REFERENCE:
                cells += ["(reference)"] * 2
            else:
                cells += [_paired(mod, ref, "balanced_accuracy"), _paired(mod, ref, "macro_f1")]
        cells.append(_near_chance(gru, n_classes) if len(gru) else "–")
        per_seed = sub.drop_duplicates("seed")["sampler_s"]
        s_mean = per_seed.mean()
        cells.append("–" if name == "none"
                     else f"{s_mean:.2g}" if s_mean < 10 else f"{s_mean:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows, datasets, methods, sizes, overrides, note):
    """``sizes``: per data set, windows before and after balancing (seed 0) and classes."""
    from benchmarks._report import command_line, machine_line

    n_seeds = len({r["seed"] for r in rows}) if rows else 0
    md = [
        "## Imbalanced classification on GunPoint and JapaneseVowels",
        "",
        f"Command: `{command_line()}`",
        "",
        f"{machine_line()}",
        "",
        ("Per seed, the official train and test files are pooled and split into stratified "
         "halves; the training half keeps every window of its largest class and "
         f"{KEEP_PERCENT}% of every other class (windows before → after balancing, seed 0: "
         + "; ".join(f"{d} {a} → {b}" for d, (a, b, _) in sizes.items())
         + "), is balanced by the method, and trains `GRUClassifier(batch_size=32, "
         "learning_rate=3e-3)` and a logistic regression after `WindowFlattener` and "
         f"`StandardScaler`. Scores on the test half in %, mean ± std over {n_seeds} seeds "
         "(and over the GRUs of a seed, `seeds x GRUs`: GRU `random_state` = seed + offset, "
         "on the same balanced windows); Δ: paired difference to duplication, averaged "
         "per seed over the GRUs both were run with, ± standard error over seeds; `GRU near "
         "chance`: GRU runs within 10 points of chance; `sampler s`: mean `fit_resample` time "
         "on one thread."),
    ]
    if any(METHODS[m].tunable for m in methods) and overrides:
        md += ["", f"Latent sampler overrides: `{json.dumps(overrides)}`."]
    for dataset in datasets:
        md += ["", f"### {dataset}", "", table(rows, dataset, methods, sizes[dataset][2])]
    if note:
        md += ["", note]
    return "\n".join(md)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--methods", nargs="*", default=None,
                        help="subset of: " + ", ".join(repr(m) for m in METHODS))
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS,
                        help="downstream models to train (default: all)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run seeds first-seed .. seeds-1 (split a run over processes, "
                             "each with its own --results file)")
    parser.add_argument("--model-seed-offsets", type=int, nargs="+", default=[0],
                        help="train the GRU once per offset on each seed's balanced windows "
                             "(random_state = seed + offset)")
    parser.add_argument("--sampler-params", default="{}",
                        help="JSON overrides for the latent samplers, e.g. '{\"scale\": 0.3}'")
    parser.add_argument("--results", default=None, help="JSON-lines file to resume from")
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, tiny iteration counts; does not write the docs")
    parser.add_argument("--no-run", action="store_true",
                        help="only tabulate what --results already holds")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument("--note", default="", help="a remark printed under the tables")
    parser.add_argument("--findings", default=None,
                        help="a Markdown file of findings printed under the tables")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    from sktsgen.utils._testing import shared_data_dir

    overrides = json.loads(args.sampler_params)
    if args.quick:
        args.seeds, args.no_write = args.first_seed + 1, True
        overrides = {**QUICK_LATENT, **overrides}
    methods = args.methods or list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {list(METHODS)}")
    for name in list(methods):
        try:
            METHODS[name].load()
        except ImportError as exc:
            print(f"skipping method {name!r}: {exc}", file=sys.stderr)
            methods.remove(name)

    shared = shared_data_dir()
    folder = None if shared is None else shared / "ucr"
    missing = [f"{d}_{s}.ts" for d in args.datasets for s in ("TRAIN", "TEST")
               if folder is None or not (folder / f"{d}_{s}.ts").exists()]
    if missing:
        sys.exit(f"This benchmark reads the UCR/UEA files {', '.join(missing)} from "
                 f"../shared/data/ucr beside the checkout "
                 f"({folder or 'no ../shared/data folder'}); they are absent.")
    data = {d: load_dataset(folder, d) for d in args.datasets}

    configs = {(d, m, k): (sampler_params(m, overrides), model_params(k, d, args.quick))
               for d in args.datasets for m in methods for k in MODELS}
    done = []
    if args.results and Path(args.results).exists():
        done = [json.loads(line) for line in Path(args.results).read_text().splitlines()
                if line.strip()]
    kept, stale = {}, 0
    for r in done:
        r.setdefault("model_seed_offset", 0)  # lines from before the option
        key = (r["dataset"], r["method"], r["model"])
        if key not in configs or r["seed"] >= args.seeds:
            continue
        if not (_same_params(r["sampler_params"], configs[key][0])
                and _same_params(r["model_params"], configs[key][1])):
            stale += 1
            continue
        # A later line of the same run replaces an earlier one.
        kept[(*key, r["seed"], r["model_seed_offset"])] = r
    rows = list(kept.values())
    if stale:
        print(f"{stale} lines of {args.results} were run with other sampler or model "
              "parameters: not used", file=sys.stderr)

    seeds = [] if args.no_run else range(args.first_seed, args.seeds)
    for seed in seeds:
        for dataset in args.datasets:
            split = imbalanced_split(*data[dataset], seed)
            for name in methods:
                todo = [(k, o) for k in args.models
                        for o in (args.model_seed_offsets if k == "gru" else [0])
                        if (dataset, name, k, seed, o) not in kept]
                if not todo:
                    continue
                with warnings.catch_warnings():
                    if args.quick:  # two epochs and 20 iterations do not converge
                        warnings.simplefilter("ignore")
                    new = run_one(dataset, name, seed, split, todo, overrides, args.quick)
                for res in new:
                    rows.append(res)
                    kept[(dataset, name, res["model"], seed, res["model_seed_offset"])] = res
                    print(json.dumps({k: v for k, v in res.items() if not k.endswith("params")}),
                          flush=True)
                    if args.results:
                        with open(args.results, "a") as fh:
                            fh.write(json.dumps(res) + "\n")

    sizes = {}
    for dataset in args.datasets:
        counts = np.unique(imbalanced_split(*data[dataset], 0)[1], return_counts=True)[1]
        # "auto": every class as large as the largest.
        sizes[dataset] = (counts.sum(), len(counts) * counts.max(), len(counts))
    note = args.note
    if args.findings:
        note = "\n".join(filter(None, [Path(args.findings).read_text().strip(), note]))
    text = report(rows, args.datasets, methods, sizes, overrides, note)
    print(text)
    if not args.no_write:
        from benchmarks._report import write_section

        write_section("classification", text)


if __name__ == "__main__":
    main()
