"""The conditional AvatarGenerator's own quality: windows of a class, or for a target value.

Classification (GunPoint, JapaneseVowels), per seed ``s``: the imbalanced training half of
``bench_classification.py`` (stratified halves, 10% of every class but the largest kept) fits
``AvatarGenerator(n_iter=300, batch_size=32, random_state=s).fit(X, y)``. For every class
``c``, as many windows as the test half holds of ``c`` are generated with ``sample(n, y=c)``
and compared with the test half's windows of ``c``: the discriminative score (post-hoc GRU,
``n_iter=1000``, mean of 3 runs; both sets min-max scaled with the training half's ranges).
The reference row makes the same number of windows by duplicating the training half's windows
of ``c`` (real windows, but only the few the training half holds). "Class kept" is the
accuracy, on the requested labels, of a logistic regression trained on the whole test half
(``WindowFlattener``, ``StandardScaler``, ``LogisticRegression``): how often a generated (or
duplicated) window looks like its class to a classifier of real windows.

Energy (the task of ``bench_oversampling.py``: 32 steps of 26 channels, target the mean
Appliances of the next 6 steps, rare above the training targets' 95th percentile), per seed:
``AvatarGenerator(n_iter=..., random_state=s).fit(X_train, y_train)``; for the rare test
windows, windows are generated for their targets (clipped to the training range) and compared
with them (discriminative score as above); duplication draws rare training windows. "Target
error" is the RMSE between the requested targets and those a ridge regression trained on the
real training windows predicts for the new windows, beside its RMSE on the real rare test
windows.

Run ``python benchmarks/bench_conditional.py`` (3 seeds; writes the "conditional" section
of docs/benchmarks.md). ``--results FILE`` keeps one JSON line per finished (data set, seed)
and skips them when re-run. One torch thread and one BLAS thread.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLASS_SETS = ("GunPoint", "JapaneseVowels")
DATASETS = (*CLASS_SETS, "Energy")
GEN_PARAMS = {"GunPoint": {"n_iter": 300, "batch_size": 32},
              "JapaneseVowels": {"n_iter": 300, "batch_size": 32},
              "Energy": {"n_iter": 500}}
METRIC_ITER, METRIC_RUNS = 1000, 3


def _disc(real, synth, seed):
    from sktsgen.metrics import discriminative_score

    scores = [discriminative_score(real, synth, n_iter=METRIC_ITER, random_state=seed + r)
              for r in range(METRIC_RUNS)]
    return float(np.mean(scores))


def _flat_logreg():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktsgen.preprocessing import WindowFlattener

    return make_pipeline(WindowFlattener(), StandardScaler(), LogisticRegression(max_iter=1000))


def run_classification(name, seed, folder):
    from bench_classification import imbalanced_split, load_dataset

    from sktsgen.generation import AvatarGenerator
    from sktsgen.preprocessing import WindowMinMaxScaler

    X_tr, y_tr, X_te, y_te = imbalanced_split(*load_dataset(folder, name), seed)
    t0 = time.perf_counter()
    gen = AvatarGenerator(**GEN_PARAMS[name], random_state=seed).fit(X_tr, y_tr)
    fit_s = time.perf_counter() - t0
    scaler = WindowMinMaxScaler().fit(X_tr)
    clf = _flat_logreg().fit(X_te, y_te)
    rs = np.random.RandomState(seed)
    rows = []
    for c in np.unique(y_tr):
        real = X_te[y_te == c]
        own = X_tr[y_tr == c]
        made = {"generated": gen.sample(len(real), y=c, random_state=seed),
                "duplication": own[rs.randint(len(own), size=len(real))]}
        for method, synth in made.items():
            rows.append({
                "dataset": name, "seed": seed, "class": str(c), "method": method,
                "n_train": len(own), "n_test": len(real),
                "discriminative": _disc(np.clip(scaler.transform(real), 0, 1),
                                        np.clip(scaler.transform(synth), 0, 1), seed),
                "class_kept": float(np.mean(clf.predict(synth) == c)),
                "fit_s": fit_s, "params": GEN_PARAMS[name],
            })
    rows.append(_downstream(name, seed, gen, X_tr, y_tr, X_te, y_te))
    return rows


def _downstream(name, seed, gen, X_tr, y_tr, X_te, y_te):
    """Balanced accuracy of a logistic regression on the training half balanced three ways,
    with the same source windows: duplicated, generated for their labels, or passed through
    the generator's autoencoder (``inverse_transform(transform(x))``). The last separates
    the autoencoder's fidelity from the conditional density's."""
    from sklearn.metrics import balanced_accuracy_score

    from sktsgen.over_sampling import RandomWindowOverSampler

    dup = RandomWindowOverSampler(random_state=seed)
    _, y_dup = dup.fit_resample(X_tr, y_tr)
    src = dup.sample_indices_[len(X_tr):]
    new = {"duplication": X_tr[src],
           "generated": gen.sample(len(src), y=y_tr[src], random_state=seed + 1),
           "reconstructed": gen.inverse_transform(gen.transform(X_tr[src]))}
    row = {"dataset": name, "seed": seed, "class": "all", "method": "downstream",
           "params": GEN_PARAMS[name]}
    for method, X_new in new.items():
        model = _flat_logreg().fit(np.concatenate([X_tr, X_new]), y_dup)
        row[f"logreg_{method}"] = float(balanced_accuracy_score(y_te, model.predict(X_te)))
    return row


def run_energy(seed, path):
    from bench_oversampling import load_task
    from sklearn.linear_model import RidgeCV

    from sktsgen.generation import AvatarGenerator
    from sktsgen.preprocessing import WindowFlattener, WindowMinMaxScaler

    X_tr, y_tr, X_te, y_te, threshold = load_task(path)
    bins = GEN_PARAMS["Energy"].get("target_bins")
    t0 = time.perf_counter()
    gen = AvatarGenerator(**GEN_PARAMS["Energy"], random_state=seed).fit(X_tr, y_tr)
    fit_s = time.perf_counter() - t0
    scaler = WindowMinMaxScaler().fit(X_tr)
    flat = WindowFlattener()
    ridge = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(flat.fit_transform(X_tr), y_tr)
    rare_te = y_te > threshold
    real, wanted = X_te[rare_te], np.clip(y_te[rare_te], *gen.target_range_)
    rare_tr = np.flatnonzero(y_tr > threshold)
    pick = rare_tr[np.random.RandomState(seed).randint(len(rare_tr), size=len(real))]
    made = {"generated": (gen.sample(len(real), y=wanted, random_state=seed), wanted),
            "duplication": (X_tr[pick], y_tr[pick])}
    real_rmse = float(np.sqrt(np.mean((ridge.predict(flat.transform(real)) - y_te[rare_te])
                                      ** 2)))
    rows = []
    for method, (synth, targets) in made.items():
        pred = ridge.predict(flat.transform(synth))
        rows.append({
            "dataset": "Energy", "seed": seed, "method": method,
            "class": (f"rare, {bins} target bins" if bins else "rare, joint mixture"),
            "n_train": len(rare_tr), "n_test": len(real),
            "discriminative": _disc(np.clip(scaler.transform(real), 0, 1),
                                    np.clip(scaler.transform(synth), 0, 1), seed),
            "target_rmse": float(np.sqrt(np.mean((pred - targets) ** 2))),
            "real_target_rmse": real_rmse, "fit_s": fit_s, "params": GEN_PARAMS["Energy"],
        })
    return rows


def _paired(values, reference):
    diff = 100 * (np.asarray(values) - np.asarray(reference))
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return f"{diff.mean():+.1f} ± {se:.1f}"


def _ms(values, digits=3):
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {std:.{digits}f}"


def report(rows, findings=""):
    import pandas as pd

    from benchmarks._report import command_line, machine_line

    df = pd.DataFrame(rows)
    md = ["## Conditional generation: windows of a class, or for a target", "",
          f"Command: `{command_line()}`", "",
          f"{machine_line()} One torch thread, one BLAS thread.", "",
          ("The generator is fitted to the imbalanced training half of the classification "
           "benchmark (GunPoint, JapaneseVowels: `AvatarGenerator(n_iter=300, batch_size=32)`) "
           "or to the Energy training windows with their targets "
           f"(`AvatarGenerator(n_iter={GEN_PARAMS['Energy']['n_iter']})`, with 20 target bins "
           "or the joint mixture), then asked for as "
           "many windows of each class (Energy: for the targets of the rare test windows) as "
           "the test half holds. Discriminative score (lower is better; "
           f"post-hoc GRU, {METRIC_ITER} iterations, mean of {METRIC_RUNS} runs) against the "
           "test windows of that class; duplication re-draws the training windows of that "
           "class. Class kept: accuracy of a logistic regression trained on the test half on "
           "the requested labels. Target RMSE: between the requested targets and those a "
           "ridge regression trained on the real training windows predicts for the new "
           "windows (real: on the rare test windows themselves). Mean ± std over seeds.")]
    down = df[df.method == "downstream"] if "method" in df else df.iloc[:0]
    df = df[df.method != "downstream"]
    for name in [d for d in DATASETS if d in set(df.dataset)]:
        sub = df[df.dataset == name]
        energy = name == "Energy"
        head = ["class", "train windows", "test windows", "seeds",
                "generated: discriminative", "duplication: discriminative"]
        head += (["generated: target RMSE", "duplication: target RMSE", "real: target RMSE"]
                 if energy else ["generated: class kept", "duplication: class kept"])
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for c, grp in sub.groupby("class", sort=False):
            g, d = grp[grp.method == "generated"], grp[grp.method == "duplication"]
            cells = [c, f"{g.n_train.mean():.0f}", f"{g.n_test.mean():.0f}",
                     str(g.seed.nunique()), _ms(g.discriminative), _ms(d.discriminative)]
            if energy:
                cells += [_ms(g.target_rmse, 1), _ms(d.target_rmse, 1),
                          _ms(g.real_target_rmse, 1)]
            else:
                cells += [_ms(g.class_kept, 2), _ms(d.class_kept, 2)]
            lines.append("| " + " | ".join(cells) + " |")
        fit = sub.drop_duplicates("seed").fit_s.mean()
        md += ["", f"### {name} (generator fit {fit:.0f} s)", "", "\n".join(lines)]
        d = down[down.dataset == name]
        if not d.empty:
            dup = d["logreg_duplication"]
            cells = [f"{k}: {100 * d[f'logreg_{k}'].mean():.1f}"
                     + ("" if k == "duplication" else
                        f" (Δ {_paired(d[f'logreg_{k}'], dup)})")
                     for k in ("duplication", "generated", "reconstructed")]
            md += ["", ("Logistic regression on the training half balanced with the same "
                        "source windows, balanced accuracy in % (Δ: paired difference to "
                        "duplication ± s.e.): " + "; ".join(cells) + ".")]
    if findings:
        md += ["", findings]
    return "\n".join(md)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--results", default=None, help="JSON-lines file to resume from")
    parser.add_argument("--gen-params", default="{}",
                        help="JSON overrides of the generator's parameters, all data sets")
    parser.add_argument("--findings", default=None,
                        help="a Markdown file of findings printed under the tables")
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    from benchmarks._report import write_section
    from sktsgen.utils._testing import shared_data_dir

    torch.set_num_threads(1)
    threadpool_limits(1)
    for params in GEN_PARAMS.values():
        params.update(json.loads(args.gen_params))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    shared = shared_data_dir()
    if shared is None:
        sys.exit("This benchmark reads ../shared/data beside the checkout; it is absent.")
    rows = []
    if args.results and Path(args.results).exists():
        rows = [json.loads(line) for line in Path(args.results).read_text().splitlines()
                if line.strip()]
    # Rows of every generator configuration are kept (Energy's variants share a table); a
    # (data set, seed) is skipped when the current configuration has finished it.
    done = {(r["dataset"], r["seed"]) for r in rows
            if r["params"] == GEN_PARAMS[r["dataset"]]
            and (r["dataset"] == "Energy" or r["method"] == "downstream")}
    for seed in [] if args.no_run else range(args.seeds):
        for name in args.datasets:
            if (name, seed) in done:
                continue
            new = (run_energy(seed, shared / "energy_data.csv") if name == "Energy"
                   else run_classification(name, seed, shared / "ucr"))
            rows += new
            if args.results:
                with open(args.results, "a") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in new)
            print(f"{name} seed {seed} done", file=sys.stderr, flush=True)
    md = report(rows, Path(args.findings).read_text().strip() if args.findings else "")
    print(md)
    if not args.no_write:
        write_section("conditional", md)


if __name__ == "__main__":
    main()
