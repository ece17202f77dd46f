"""AvatarGenerator on windows of unequal lengths (JapaneseVowels): own lengths against padding.

JapaneseVowels (UCR/UEA archive, 12 channels, 9 speakers, 7 to 29 steps) from
``../shared/data/ucr``. Two ways to fit a class-conditional ``AvatarGenerator`` on the
training file:

- ``lengths``: the series as they are (a list of arrays), so the losses ignore the padding and
  ``sample(n, y=...)`` draws each new window's length from the lengths of its class;
- ``pad_last``: every series padded to 29 steps by repeating its last step
  (``load_ts(pad="last")``), the usual way to get one array, so the generator has to learn
  the flat tails and samples are all 29 steps long.

Each way is judged in its own representation (the real windows read the same way as the ones
the generator saw): "train on synthetic, test on real" (TSTR), a logistic regression on
per-window features (each channel's mean, standard deviation, first and last value over the
window's own steps, and its length) trained on as many generated windows per class as the
training file has and tested on the test file (balanced accuracy; the same model trained on
the real training windows is the reference); and a feature-based discriminative score,
``|accuracy - 0.5|`` of a gradient-boosting classifier telling generated from real training
windows (5-fold cross-validation, ``--n-repeats`` draws). Results go to
``benchmarks/results/avatar_lengths.jsonl``; ``--write`` writes the section of
docs/benchmarks.md.

    python benchmarks/bench_avatar_lengths.py --n-iter 1000 --seeds 0 1 2 --write
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
from sktsgen.generation import AvatarGenerator
from sktsgen.utils import unpad_windows

UCR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucr"
RESULTS = Path(__file__).resolve().parent / "results" / "avatar_lengths.jsonl"
METHODS = {
    "lengths": "own lengths (list of arrays), length channel learned",
    "lengths_masked": ("own lengths, length channel learned, padding left out of the "
                       "reconstruction loss (an earlier design, for comparison)"),
    "lengths_drawn": ("own lengths, each sample's length drawn from its class's lengths "
                      "independently of its content (an earlier design, for comparison)"),
    "pad_last": "padded to 29 steps by repeating the last step",
}


def features(windows):
    """Per-window features over the window's own steps: means, stds, first and last values
    of each channel, and the length."""
    return np.array([np.r_[w.mean(0), w.std(0), w[0], w[-1], len(w)] for w in windows])


def load(method):
    """Training and test windows as the method reads them (lists of 2-D arrays) and labels."""
    parts = [load_ts(UCR / f"JapaneseVowels_{part}.ts", pad=None) for part in ("TRAIN", "TEST")]
    if method != "pad_last":
        return parts
    longest = max(len(w) for X, _ in parts for w in X)
    return [([np.vstack([w, np.repeat(w[-1:], longest - len(w), axis=0)]) for w in X], y)
            for X, y in parts]


def tstr(train_windows, y_train, test_windows, y_test):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(features(train_windows), y_train)
    return float(balanced_accuracy_score(y_test, model.predict(features(test_windows))))


def feature_discriminative(real, synth, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    F = np.vstack([features(real), features(synth)])
    t = np.r_[np.zeros(len(real)), np.ones(len(synth))]
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    acc = cross_val_score(HistGradientBoostingClassifier(random_state=seed), F, t, cv=cv)
    return float(abs(acc.mean() - 0.5))


def length_agreement(real, y_real, synth, y_synth):
    """How well the generated windows' lengths go with their content: per class, the Spearman
    correlation of the length with every other feature, for the real and for the generated
    windows; the Pearson correlation of the two sets of correlations (1: the same structure)."""
    from scipy.stats import spearmanr

    def correlations(windows, labels):
        F = features(windows)
        out = []
        for label in np.unique(labels):
            rows = labels == label
            out.append([spearmanr(F[rows, -1], F[rows, j])[0] for j in range(F.shape[1] - 1)])
        return np.nan_to_num(np.array(out))

    a, b = correlations(real, y_real), correlations(synth, y_synth)
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def run(method, seed, args):
    (X_train, y_train), (X_test, y_test) = load(method)
    gen = AvatarGenerator(n_iter=args.n_iter, random_state=seed)
    start = time.perf_counter()
    gen.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    scores_tstr, scores_disc, lengths, agreement = [], [], [], []
    for r in range(args.n_repeats):
        synth = gen.sample(len(y_train), random_state=1000 * seed + r, y=y_train)
        synth = unpad_windows(synth)
        lengths.append(np.mean([len(w) for w in synth]))
        scores_tstr.append(tstr(synth, y_train, X_test, y_test))
        scores_disc.append(feature_discriminative(X_train, synth, seed=r))
        if method != "pad_last":  # the padded windows all have one length
            agreement.append(length_agreement(X_train, y_train, synth, y_train))
    return {"method": method, "seed": seed, "n_iter": args.n_iter, "fit_seconds": fit_s,
            "tstr": scores_tstr, "discriminative": scores_disc, "length_agreement": agreement,
            "mean_length": float(np.mean(lengths)),
            "real_mean_length": float(np.mean([len(w) for w in X_train])),
            "trtr": tstr(X_train, y_train, X_test, y_test)}


def report(rows, args):
    lines = [
        "## AvatarGenerator on windows of unequal lengths (JapaneseVowels)",
        "",
        f"Command: `{command_line()}`",
        "",
        "JapaneseVowels (270 training and 370 test series, 12 channels, 9 classes, 7 to 29 "
        "steps). A class-conditional `AvatarGenerator(n_iter="
        f"{args.n_iter})` fitted on the training series, either on their own lengths or "
        "padded to 29 steps by repeating the last step, each judged in its own "
        "representation. TSTR: balanced accuracy on the test series of a logistic "
        "regression on per-window features (channel means, standard deviations, first and "
        "last values, length) trained on generated windows (270, the classes of the "
        "training file); TRTR is the same model trained on the real training series. "
        "Feature discriminative score: |accuracy - 0.5| of a gradient-boosting classifier "
        "telling generated from real training series (5-fold), lower is better. "
        "Length-content agreement: per class, the Spearman correlation of a window's length "
        "with each of its other features, for the real and for the generated windows; the "
        "correlation of the two sets (1 is the real structure). Mean ± std "
        f"over the fit seeds of each seed's mean over {args.n_repeats} sample draws. "
        + machine_line(),
        "",
        ("| fitted on | TSTR | TRTR | feature discriminative | length-content agreement "
         "| mean length (real) | fit time |"),
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method, label in METHODS.items():
        rs = [r for r in rows if r["method"] == method]
        if not rs:
            continue
        t = np.array([np.mean(r["tstr"]) for r in rs])
        d = np.array([np.mean(r["discriminative"]) for r in rs])
        a = np.array([np.mean(r["length_agreement"]) for r in rs
                      if r.get("length_agreement")])
        agree = f"{a.mean():.2f} ± {a.std():.2f}" if len(a) == len(rs) else "-"
        lines.append(
            f"| {label} | {t.mean():.3f} ± {t.std():.3f} | {rs[0]['trtr']:.3f} | "
            f"{d.mean():.3f} ± {d.std():.3f} | {agree} | "
            f"{np.mean([r['mean_length'] for r in rs]):.1f}"
            f" ({rs[0]['real_mean_length']:.1f}) | "
            f"{np.mean([r['fit_seconds'] for r in rs]):.0f} s ({len(rs)} seeds) |")
    if args.findings:
        lines += ["", Path(args.findings).read_text().strip()]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-iter", type=int, default=1000, help="AvatarGenerator n_iter")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fit seeds")
    ap.add_argument("--methods", nargs="+", default=["lengths", "pad_last"],
                    choices=["lengths", "pad_last"],
                    help="(lengths_drawn and lengths_masked rows come from results measured "
                         "with earlier versions and are only tabulated)")
    ap.add_argument("--n-repeats", type=int, default=3, help="sample draws per fit")
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    ap.add_argument("--cached-only", action="store_true",
                    help="tabulate results/avatar_lengths.jsonl only, fit nothing")
    ap.add_argument("--findings", default=None,
                    help="markdown file of findings (bullets) printed under the table")
    args = ap.parse_args()
    if not UCR.is_dir():
        print(f"skipped: {UCR} not found", file=sys.stderr)
        return
    torch.set_num_threads(1)
    done = []
    if RESULTS.exists():
        done = [json.loads(line) for line in RESULTS.read_text().splitlines() if line]
    done = [r for r in done if r["n_iter"] == args.n_iter and r["seed"] in args.seeds
            and r["method"] in [*args.methods, "lengths_drawn", "lengths_masked"]
            and len(r["tstr"]) == args.n_repeats]
    for seed in args.seeds:
        for method in args.methods:
            if args.cached_only or any(r["seed"] == seed and r["method"] == method
                                       for r in done):
                continue
            row = run(method, seed, args)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with RESULTS.open("a") as f:
                f.write(json.dumps(row) + "\n")
            done.append(row)
            print(f"seed {seed} {method}: TSTR {np.mean(row['tstr']):.3f} (TRTR "
                  f"{row['trtr']:.3f}), discriminative {np.mean(row['discriminative']):.3f}, "
                  f"length {row['mean_length']:.1f}, fit {row['fit_seconds']:.0f} s",
                  flush=True)
    if args.write and done:
        write_section("avatar_lengths", report(done, args))


if __name__ == "__main__":
    main()
