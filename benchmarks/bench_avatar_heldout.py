"""AvatarGenerator judged on windows it never saw, with and without its calibration.

The calibration is fitted to the training windows (their mean and covariance, then each
value's distribution); this benchmark checks
that what it gains holds against held-out windows of the same series. Stocks and Energy are
cut into blocks of ``--block`` rows (Energy: one week of 10-minute readings); every
``--every``-th block is held out, and only windows lying wholly inside one block are kept, so
that no held-out step is ever seen in training. Sines: the held-out windows are a fresh draw.
The default ``AvatarGenerator(random_state=seed)`` is fitted on the training windows; the same
codes are decoded without calibration, with the covariance map alone and with both maps
(``calibration_module_`` swapped), and these sample sets, and the training windows themselves
(the floor a perfect generator would reach), get the discriminative and predictive scores
against the held-out windows.

    python benchmarks/bench_avatar_heldout.py --dataset energy --seeds 0 1 2 --write
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "avatar_heldout.json"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def split(name, block, every, seq_len=24):
    """Training and held-out windows in the protocol's scale."""
    from sktsgen.datasets import fetch_energy, fetch_stocks, make_sines

    if name == "sines":
        return (make_sines(10000, seq_len=seq_len, n_features=5, random_state=0),
                make_sines(2000, seq_len=seq_len, n_features=5, random_state=1))
    fetch = {"stocks": fetch_stocks, "energy": fetch_energy}[name]
    home = str(SHARED) if SHARED.is_dir() else None
    windows = fetch(data_home=home, download_if_missing=home is None, shuffle=False)
    start = np.arange(len(windows))
    first, last = start // block, (start + seq_len - 1) // block
    whole = first == last
    held = whole & (first % every == every - 1)
    train = whole & (first % every != every - 1)
    rng = np.random.RandomState(0)
    return windows[train][rng.permutation(train.sum())], windows[held]


def run_key(args, seed):
    split_ = "fresh" if args.dataset == "sines" else f"{args.block}x{args.every}"
    return f"{args.dataset}-{split_}-{seed}-{args.n_repeats}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", choices=["sines", "stocks", "energy"], default="energy")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-repeats", type=int, default=10)
    ap.add_argument("--pred-repeats", type=int, default=3)
    ap.add_argument("--block", type=int, default=1008)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--note", default="", help="a remark printed under the table")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from sktsgen.generation import AvatarGenerator
    from sktsgen.metrics import discriminative_score, predictive_score, repeat_metric

    X, held = split(args.dataset, args.block, args.every)
    print(f"{args.dataset}: {len(X)} training windows, {len(held)} held out", flush=True)
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    def scores(windows, seed):
        out = {}
        for metric, n in ((discriminative_score, args.n_repeats),
                          (predictive_score, args.pred_repeats)):
            b = repeat_metric(metric, held, windows, n_repeats=n, random_state=seed)
            out[metric.__name__] = {"mean": float(b.mean), "std": float(b.std),
                                    "median": float(b.median),
                                    "scores": [float(s) for s in b.scores]}
        return out

    for seed in args.seeds:
        key = run_key(args, seed)
        if key in saved:
            continue
        start = time.perf_counter()
        gen = AvatarGenerator(random_state=seed).fit(X)
        fit_s = time.perf_counter() - start
        calibrated = gen.sample(len(held), random_state=seed)
        module = gen.calibration_module_
        gen.calibration_module_ = module[0]  # the covariance map alone
        covariance = gen.sample(len(held), random_state=seed)
        gen.calibration_module_ = None
        plain = gen.sample(len(held), random_state=seed)
        gen.calibration_module_ = module
        row = {"seed": seed, "fit_s": fit_s, "n_train": len(X), "n_held": len(held)}
        sets = (("training windows", X[np.random.RandomState(seed).permutation(len(X))
                                       [:len(held)]]),
                ("uncalibrated", plain), ("covariance map", covariance),
                ("calibrated", calibrated))
        for name, windows in sets:
            row[name] = scores(windows, seed)
            d = row[name]["discriminative_score"]
            p = row[name]["predictive_score"]
            print(f"{seed} {name}: disc {d['mean']:.3f} ± {d['std']:.3f} (median "
                  f"{d['median']:.3f}), pred {p['mean']:.3f}", flush=True)
        saved[key] = row
        RESULTS.write_text(json.dumps(saved, indent=1))

    rows = [saved[run_key(args, s)] for s in args.seeds if run_key(args, s) in saved]
    names = ("training windows", "uncalibrated", "covariance map", "calibrated")
    lines = ["| fit seed | " + " | ".join(f"{n}: disc. / pred." for n in names) + " | fit |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [f"{r[n]['discriminative_score']['mean']:.3f} ± "
                 f"{r[n]['discriminative_score']['std']:.3f} / "
                 f"{r[n]['predictive_score']['mean']:.3f}" for n in names]
        lines.append(f"| {r['seed']} | " + " | ".join(cells) + f" | {r['fit_s'] / 60:.1f} min |")
    if len(rows) > 1:
        cells = []
        for n in names:
            means = np.array([r[n]["discriminative_score"]["mean"] for r in rows])
            cells.append(f"{means.mean():.3f} ± {means.std(ddof=1):.3f}")
        lines.append("| mean ± std over fits | " + " | ".join(cells) + " | |")
    r0 = rows[0]
    text = "\n".join([
        f"{args.dataset}: {r0['n_train']} training windows, {r0['n_held']} held out "
        + (f"(every {args.every}th block of {args.block} rows, whole windows only)."
           if args.dataset != "sines" else "(a fresh draw)."),
        (f"Against the held-out windows: discriminative score ({args.n_repeats} runs, mean "
         f"± std) / predictive score ({args.pred_repeats} runs, mean). Lower is better."), "",
        *lines])
    print(text)
    if args.write:
        from benchmarks._report import command_line, machine_line, write_section

        split_ = "" if args.dataset == "sines" else f", blocks of {args.block} rows"
        write_section(f"avatar-heldout-{args.dataset}-{args.block}", "\n".join([
            f"## AvatarGenerator on held-out {args.dataset.capitalize()} windows{split_}", "",
            f"Command: `{command_line()}`", "", machine_line(), "", text,
            *(["", args.note] if args.note else [])]))


if __name__ == "__main__":
    main()
