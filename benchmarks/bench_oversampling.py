"""Table 3 of Kim, Choi & Choo (ACML 2021) on the Energy data, and the sampler's speed.

Protocol: predict the mean ``Appliances`` of the next 6 steps from the last 32 steps of all
Energy columns but the two random-noise ones (``rv1``, ``rv2``). The first 80% of the time
steps train, the last 20% test; no window straddles the split (training windows end, target
included, before it; test windows start after it). Rare windows are those whose target is
above the 95th percentile of the training targets. Every method over-samples the rare
training windows x4 (each rare window appears four times: itself and three new windows),
expressed as the float ``sampling_strategy = (4 * n_rare + 0.5) / n_frequent`` (the base
asks for ``int(r * n_frequent)`` rare windows after resampling). The downstream model is a
2-layer GRU with 15 units (``GRURegressor``). Errors are macro-averaged over rare and frequent
test windows. Also times ``LatentAdversarialSampler().fit_resample`` with its defaults on
20,000 windows of 32 steps x 6 features.

``--dataset stocks`` runs the same protocol on the Stocks data (a second regression task, kept
out of every choice of default): a seventh column ``RelVolume``, each day's volume over its mean
of the last 32 days (the raw volume falls over the years, so that its test part has no spike
above the training's 95th percentile), is the target; predict its mean over the next 6 days from
the last 32 days of all seven columns; rare = top 5% of training targets, volume surges. Its
table is the "oversampling-stocks" section.

Run ``python benchmarks/bench_oversampling.py`` (10 seeds, writes the "oversampling" section
of docs/benchmarks.md); ``--quick`` is a smoke run; ``--results FILE`` keeps every finished
(method, seed) in a JSON-lines file and skips them when re-run, so a long run can resume
(``--no-run`` only tabulates that file).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import command_line, machine_line, write_section
from sktsgen import over_sampling
from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics._imbalanced_regression import (
    macro_mean_absolute_error,
    macro_root_mean_squared_error,
)
from sktsgen.models import GRURegressor
from sktsgen.over_sampling._latent_adversarial import LatentAdversarialSampler
from sktsgen.utils import make_windowed_target
from sktsgen.utils._testing import shared_data_dir

INPUT_LENGTH, HORIZON, RARE_QUANTILE, TRAIN_FRACTION, FACTOR = 32, 6, 0.95, 0.8, 4
# The target's column is moved first (Appliances already is), so it is channel 0 of the windows.
TARGET_CHANNEL = 0
RELATIVE_VOLUME_DAYS = 32


def _relative_volume(df):
    """Stocks with ``RelVolume``: each day's volume over its mean of the last 32 days."""
    trailing = df["Volume"].rolling(RELATIVE_VOLUME_DAYS, min_periods=1).mean()
    return df.assign(RelVolume=df["Volume"] / trailing)


# Data set -> (CSV under ../shared/data, target column, columns dropped, derived columns).
DATASETS = {
    "energy": ("energy_data.csv", "Appliances", ["rv1", "rv2"], None),
    "stocks": ("stock_data.csv", "RelVolume", [], _relative_volume),
}
KEPT = {"keep_features": [TARGET_CHANNEL]}
CLASSIC = {  # method name -> (class name in sktsgen.over_sampling, its parameters)
    "duplication": ("RandomWindowOverSampler", {}),
    "jitter": ("JitterOverSampler", {}),
    "translation": ("TranslationOverSampler", {}),
    "window warping": ("WindowWarpingOverSampler", {}),
    "magnitude warping": ("MagnitudeWarpingOverSampler", {}),
    "time warping": ("TimeWarpingOverSampler", {}),
    "smote": ("WindowSMOTE", {}),
    # Large noise on every channel but the target's own history.
    "jitter 0.5, target kept": ("JitterOverSampler", {"sigma": 0.5, **KEPT}),
    # A conditional AVATAR fitted to every training window with its target, asked for windows
    # for the rare sources' targets.
    # Its windows come from 20 equal-count bins of the target (the top one ~ the rare ones).
    "generative (AVATAR)": ("GenerativeWindowOverSampler",
                            {"generator": AvatarGenerator(n_iter=500, target_bins=20)}),
    # The same, drawing codes from a joint mixture of codes and target given the target.
    "generative (AVATAR), joint target mixture": (
        "GenerativeWindowOverSampler",
        {"generator": AvatarGenerator(n_iter=500, target_bins=None)}),
}
# Explicit values for every parameter whose default changed, so rows keep their meaning.
# The paper's step, no noise, the decoder's changes as they are (earlier defaults).
FULL_STEPS = {"symmetric": False, "jitter": 0.0, "match_spectrum": False}
NOT_KEPT = {"keep_features": None, **FULL_STEPS}
LATENT = {
    "latent adversarial": {},  # the sampler's defaults
    # The defaults with the decoder's changes as they are, not shaped like the data's spectrum.
    "latent adversarial, raw changes": {"match_spectrum": False},
    # The earlier defaults: the target kept, the paper's full step, no noise. Its rows in
    # results/energy.jsonl were measured when the sources were drawn after the networks' fit
    # (other sources than duplication's for the same seed).
    "latent adversarial, full steps": FULL_STEPS,
    "random latent": {"perturbation": "random", **NOT_KEPT},
    "latent adversarial, no channel kept": NOT_KEPT,
    # The target's own history copied from the source (see docs/over_sampling.md).
    "latent adversarial, target kept": {**KEPT, **FULL_STEPS},
    "latent adversarial, target kept, jitter 0.5": {**KEPT, **FULL_STEPS, "jitter": 0.5},
}
# The paper's own protocol: duplication x4 (or no over-sampling, the paper's other rows), then
# the rare windows perturbed in every batch while the downstream GRU trains
# (GRURegressor(augmenter=LatentAdversarialSampler(...))).
# Name -> (the over-sampling method run first, or None; the augmenter's parameters).
ON_THE_FLY = {
    "latent adversarial, on the fly": ("duplication", {"keep_features": None}),
    "latent adversarial, on the fly, target kept": ("duplication", KEPT),
    "latent adversarial, on the fly, target kept, no x4": (None, KEPT),
    "latent adversarial, target kept, then on the fly": ("latent adversarial, target kept", KEPT),
    # The paper's Table 2 under its own protocol: the objective changed, all else as above.
    "random latent, on the fly, target kept": ("duplication", {**KEPT, "perturbation": "random"}),
    "anti-adversarial, on the fly, target kept": (
        "duplication", {**KEPT, "perturbation": "anti-adversarial"}),
}


def load_task(path, target="Appliances", drop=("rv1", "rv2"), derive=None):
    """Training and test windows of the task (Energy by default), and the rare threshold."""
    df = pd.read_csv(path).drop(columns=list(drop))
    if derive is not None:
        df = derive(df)
    df = df[[target, *(c for c in df.columns if c != target)]]
    X, y = make_windowed_target(df, input_length=INPUT_LENGTH, horizon=HORIZON, target=target)
    split = int(TRAIN_FRACTION * len(df))
    n_train = split - INPUT_LENGTH - HORIZON + 1  # window i uses rows i .. i + 37
    X_train, y_train = X[:n_train], y[:n_train]
    X_test, y_test = X[split:], y[split:]  # window i >= split reads only test rows
    threshold = float(np.quantile(y_train, RARE_QUANTILE))
    return X_train, y_train, X_test, y_test, threshold


def make_sampler(name, ratio, threshold, seed, overrides):
    """The sampler of a method, or None for "no oversampling"."""
    common = {"sampling_strategy": ratio, "minority_threshold": threshold, "random_state": seed}
    if name in CLASSIC:
        cls, params = CLASSIC[name]
        return getattr(over_sampling, cls)(**common, **params)
    if name in ON_THE_FLY:
        first = ON_THE_FLY[name][0]
        return None if first is None else make_sampler(first, ratio, threshold, seed, overrides)
    if name in LATENT:
        return LatentAdversarialSampler(**common, **LATENT[name], **overrides)
    return None


def errors(y_true, y_pred, threshold):
    """RMSE and MAE on the frequent ("major") and rare ("minor") windows, and their mean."""
    out = {}
    for metric, fn in (("RMSE", macro_root_mean_squared_error),
                       ("MAE", macro_mean_absolute_error)):
        groups = fn(y_true, y_pred, minority_threshold=threshold, average=None)
        out[f"{metric}-major"], out[f"{metric}-minor"] = groups["frequent"], groups["rare"]
        out[f"{metric}-macro"] = fn(y_true, y_pred, minority_threshold=threshold)
    return out


def run_one(name, seed, task, args, overrides):
    """Resample once with sampler seed ``seed``, then fit one downstream model per offset in
    ``args.model_seed_offsets`` (model ``random_state = seed + offset``); one result each."""
    X_train, y_train, X_test, y_test, threshold = task
    rare = y_train > threshold
    ratio = (FACTOR * rare.sum() + 0.5) / (~rare).sum()
    sampler = make_sampler(name, ratio, threshold, seed, overrides)
    t0 = time.perf_counter()
    X_fit, y_fit = (X_train, y_train) if sampler is None else sampler.fit_resample(
        X_train, y_train)
    t_sampler = time.perf_counter() - t0
    if sampler is not None:
        assert (y_fit > threshold).sum() == FACTOR * rare.sum()
    results = []
    for offset in args.model_seed_offsets:
        t1 = time.perf_counter()
        augmenter = None
        if name in ON_THE_FLY:
            augmenter = LatentAdversarialSampler(minority_threshold=threshold, random_state=seed,
                                                 **ON_THE_FLY[name][1], **overrides)
        model = GRURegressor(max_iter=args.epochs, batch_size=args.batch_size,
                             random_state=seed + offset, augmenter=augmenter)
        model.fit(X_fit, y_fit)
        res = errors(y_test, model.predict(X_test), threshold)
        res.update(method=name, seed=seed, model_seed=seed + offset, sampler_s=t_sampler,
                   model_s=time.perf_counter() - t1)
        results.append(res)
    return results


def time_default_fit(n=20000, seq_len=32, n_features=6, seed=0, device="cpu"):
    """Seconds of ``LatentAdversarialSampler().fit_resample`` on ``n`` Sines windows, the rare
    top 5% (target: the mean of channel 0 over the last 6 steps) over-sampled x4."""
    X = make_sines(n, seq_len, n_features, random_state=seed)
    y = X[:, -6:, 0].mean(axis=1)
    threshold = float(np.quantile(y, RARE_QUANTILE))
    rare = y > threshold
    ratio = (FACTOR * rare.sum() + 0.5) / (~rare).sum()
    sampler = LatentAdversarialSampler(sampling_strategy=ratio, minority_threshold=threshold,
                                       device=device, random_state=seed)
    t0 = time.perf_counter()
    X_res, _ = sampler.fit_resample(X, y)
    return time.perf_counter() - t0, X_res.shape, sampler.n_iter_


def paired_gain(df, name, metric="RMSE-macro"):
    """Gain of ``name`` over duplication on the (seed, model_seed) pairs both have.

    Per sampler seed, the mean over its downstream models of duplication's error minus the
    method's; returns the mean over seeds, its standard error, the number of seeds and the
    number of seeds where the method is better."""
    key = ["seed", "model_seed"]
    dup = df[df.method == "duplication"].set_index(key)[metric]
    own = df[df.method == name].set_index(key)[metric]
    common = own.index.intersection(dup.index)
    if len(common) == 0:
        return None
    per_seed = (dup[common] - own[common]).groupby(level="seed").mean()
    n = len(per_seed)
    se = per_seed.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
    return per_seed.mean(), se, n, int((per_seed > 0).sum())


def table(rows, methods, unit="Wh", digits=2):
    """The results table; ``digits`` decimals for errors in ``unit``."""
    df = pd.DataFrame(rows)
    if "model_seed" not in df:
        df["model_seed"] = df["seed"]
    cols = ["RMSE-macro", "RMSE-major", "RMSE-minor", "MAE-macro", "MAE-major", "MAE-minor"]
    lines = ["| method (x4 unless none) | seeds x models | " + " | ".join(cols)
             + f" | RMSE-macro gain on duplication ({unit}, ± s.e.) |",
             "|" + " --- |" * (len(cols) + 3)]
    names = list(dict.fromkeys([*methods, *df.method]))
    for name in names:
        sub = df[df.method == name]
        if sub.empty:
            continue
        cells = [f"{sub[c].mean():.{digits}f} ± "
                 f"{sub[c].std(ddof=1) if len(sub) > 1 else 0:.{digits}f}" for c in cols]
        gain = paired_gain(df, name)
        if gain is None or name == "duplication":
            cell = ""
        else:
            mean, se, n, better = gain
            cell = f"{mean:+.{digits}f} ± {se:.{digits}f} ({better} of {n} seeds better)"
        shape = f"{sub.seed.nunique()} x {sub.groupby('seed').size().max()}"
        lines.append(f"| {name} | {shape} | " + " | ".join(cells) + f" | {cell} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="energy", choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run seeds first-seed .. seeds-1 (split a run over processes, "
                             "each with its own --results file)")
    parser.add_argument("--epochs", type=int, default=10, help="GRURegressor max_iter")
    parser.add_argument("--batch-size", type=int, default=128, help="GRURegressor batch")
    parser.add_argument("--model-seed-offsets", type=int, nargs="+", default=[0],
                        help="the downstream models of seed s get random_state s + offset, one "
                             "model per offset on the same resampled windows (the protocol: 0; "
                             "'0 100 200' gives three downstream models per sampler seed)")
    parser.add_argument("--methods", nargs="*", default=None,
                        help="subset of: none, " + ", ".join([*CLASSIC, *LATENT, *ON_THE_FLY]))
    parser.add_argument("--sampler-params", default="{}",
                        help="JSON overrides for the latent samplers, e.g. '{\"scale\": 0.3}'")
    parser.add_argument("--results", default=None, help="JSON-lines file to resume from")
    parser.add_argument("--tag", default="",
                        help="label appended to the methods' names in the results (e.g. for "
                             "--sampler-params variants); duplication and none keep theirs")
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, tiny samplers")
    parser.add_argument("--no-run", action="store_true",
                        help="only tabulate what --results already holds")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true",
                        help="only time the default fit_resample (no Energy data needed)")
    parser.add_argument("--device", default="cpu",
                        help="device of the timed sampler; with cuda and --timing-only, writes "
                             "the oversampling-speed-gpu section")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument("--note", default="", help="a remark printed under the table")
    args = parser.parse_args(argv)
    if args.timing_only:
        return report_timing(args)
    overrides = json.loads(args.sampler_params)
    if args.quick:
        args.seeds, args.epochs = 1, 2
        overrides = {"n_iter": 20, "predictor_n_iter": 20, **overrides}
    unknown = set(args.methods or ()) - {"none", *CLASSIC, *LATENT, *ON_THE_FLY}
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}")
    data = shared_data_dir()
    if data is None:
        sys.exit("../shared/data is needed for this benchmark.")
    csv, target, drop, derive = DATASETS[args.dataset]
    task = load_task(data / csv, target, drop, derive)
    methods = args.methods or ["none", *CLASSIC, *LATENT, *ON_THE_FLY]
    # Name each method's rows carry: with --tag, variants of a method keep separate rows.
    labels = {m: f"{m} [{args.tag}]" if args.tag and m != "duplication" and m != "none" else m
              for m in methods}
    done = []
    if args.results and Path(args.results).exists():
        done = [json.loads(line) for line in Path(args.results).read_text().splitlines()]
    offsets = set(args.model_seed_offsets)
    for r in done:
        r.setdefault("model_seed", r["seed"])
    rows = [r for r in done if r["method"] in labels and r["seed"] < args.seeds
            and r["model_seed"] - r["seed"] in offsets]
    for seed in range(args.first_seed, args.first_seed if args.no_run else args.seeds):
        for name in methods:
            label = labels[name]
            if all(any(r["method"] == label and r["seed"] == seed
                       and r["model_seed"] == seed + o for r in rows) for o in offsets):
                continue
            for res in run_one(name, seed, task, args, overrides):
                res["method"] = label
                rows.append(res)
                print(json.dumps(res), flush=True)
                if args.results:
                    with open(args.results, "a") as fh:
                        fh.write(json.dumps(res) + "\n")
    X_train, y_train, X_test, y_test, threshold = task
    stocks = args.dataset == "stocks"
    unit = "" if stocks else " Wh"
    md = [
        ("## Over-samplers on Stocks (imbalanced regression, volume surges)" if stocks
         else "## Over-samplers on Energy (imbalanced regression, Table 3 protocol)"),
        "",
        f"Command: `{command_line()}`. {machine_line()}",
        "",
        ("Target: the mean over the next 6 days of `RelVolume`, each day's volume over its mean "
         "of the last 32 days (a seventh column). " if stocks else "")
        + (f"{X_train.shape[0]} training and {X_test.shape[0]} test windows of {INPUT_LENGTH} "
        f"steps x {X_train.shape[2]} features; rare = target > {threshold:.1f}{unit} (95th "
        f"percentile of training targets): {(y_train > threshold).sum()} training and "
        f"{(y_test > threshold).sum()} test windows. Downstream `GRURegressor(max_iter="
        f"{args.epochs}, batch_size={args.batch_size})` (2 x 15 GRU). Mean ± std over seeds; "
        f"lower is better. Latent sampler overrides: `{json.dumps(overrides)}`."),
        "",
        table(rows, [labels[m] for m in methods], *(("ratio", 3) if stocks else ("Wh", 2))),
        "",
        ("`seeds x models`: sampler seeds (0, 1, ...; the protocol asks for 10) times downstream "
        "models per seed (`--model-seed-offsets`; the protocol has one, `random_state` = seed). "
        "Mean ± std over all of them. Last column: duplication's RMSE-macro minus the method's, "
        "averaged over each seed's downstream models, then mean ± standard error over the seeds "
        "(positive = better than duplication x4)."),
    ]
    if args.note:
        md += ["", args.note]
    if not args.skip_timing:
        md += ["", timing_sentence(args.device)]
    text = "\n".join(md)
    print(text)
    if not args.no_write:
        write_section("oversampling-stocks" if stocks else "oversampling", text)


def timing_sentence(device):
    """Time the default ``fit_resample`` on ``device``, on 20,000 and on 300 windows."""
    parts = []
    for n, seq_len, d in ((20000, 32, 6), (300, 24, 1)):
        seconds, shape, n_iter = time_default_fit(n, seq_len, d, device=device)
        parts.append(f"{n:,} windows of {seq_len} x {d} (output {shape}, {n_iter} iterations "
                     f"per stage): {seconds:.1f} s")
    return (f"`LatentAdversarialSampler(device={device!r}).fit_resample`, otherwise default "
            "parameters, on Sines windows with the rare top 5% over-sampled x4: "
            + "; ".join(parts) + ".")


def report_timing(args):
    gpu = args.device.startswith("cuda")
    where = torch.cuda.get_device_name(args.device) if gpu else "CPU"
    text = "\n".join([f"## LatentAdversarialSampler speed on {where}", "",
                      f"Command: `{command_line()}`", "", machine_line(), "",
                      timing_sentence(args.device), *(["", args.note] if args.note else [])])
    print(text)
    if not args.no_write:
        write_section(f"oversampling-speed-{'gpu' if gpu else 'cpu'}", text)


if __name__ == "__main__":
    main()
