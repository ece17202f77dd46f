"""Quality of AvatarGenerator on the TimeGAN benchmarks (protocol of ../shared/REFERENCE.md).

Fits each configuration on each data set (sequence length 24), samples as many windows as the
data set has, and runs the discriminative and predictive scores ``--n-repeats`` times with
different seeds (mean ± std and median). Samples are cached in ``--cache`` so that metrics can
be recomputed without refitting. Writes the "avatar-quality" section of docs/benchmarks.md
with ``--write``.

    python benchmarks/bench_avatar_quality.py --datasets sines stocks --n-repeats 10 --write
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
from sktsgen.generation import AvatarGenerator

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# Scores and fit information of every fit (small JSON files, kept with the repository so that
# the table can be rebuilt; the samples themselves stay in --cache).
RESULTS = Path(__file__).resolve().parent / "results" / "avatar_quality"

# name -> (parameters, description). "paper" is the authors' setting (their code's uniform
# prior; hidden size = n_features, 4 layers, 8000 iterations per stage, i.i.d. prior,
# unweighted losses, codes drawn from the prior).
FAITHFUL = {"latent_sampling": "prior", "calibration": None, "prior_correlation": 0.0,
            "reconstruction_weight": 1.0}
CONFIGS = {
    "default": ({}, "AvatarGenerator() defaults"),
    "mixture-10": ({"code_mixture_components": 10},
                   "defaults, but a code density of 10 mixture components (the default before 30)"),
    "running-bn": ({"recompute_batch_norm": False, "code_mixture_components": 10},
                   ("10 mixture components, and eval mode keeps the batch-norm moving averages "
                    "of training (the default before recompute_batch_norm)")),
    "prior-sampling": ({"latent_sampling": "prior"},
                       "defaults, but samples decode prior draws (the paper's sampling)"),
    "rw10": ({"reconstruction_weight": 10.0},
             "defaults with reconstruction weight 10 instead of 100"),
    "iid-prior": ({"prior_correlation": 0.0},
                  "defaults with the paper's i.i.d. prior in training"),
    "previous-default": ({"latent_sampling": "prior", "reconstruction_weight": 10.0},
                         "the default before fitted sampling: prior draws, weight 10"),
    "faithful": (dict(FAITHFUL),
                 ("the paper's method at our network size: prior draws, i.i.d. prior, "
                  "unweighted losses")),
    "cosine": ({"lr_schedule": "cosine"},
               "defaults with the joint stage's learning rates annealed to a tenth"),
    "4000-it": ({"n_iter": 4000}, "defaults with 4000 iterations per stage"),
    "covariance": ({"calibration": "covariance"},
                   ("defaults with the covariance calibration alone, no quantile map (the same "
                    "networks and codes as `default`)")),
    "uncalibrated": ({"calibration": None},
                     ("defaults without calibration of the samples (the default before it; the "
                      "same networks and codes as `default`)")),
    "hidden-28": ({"hidden_size": 28, "calibration": None},
                  ("uncalibrated, with a code of 28 units, the earlier default width on Energy "
                   "(max(n_features, 24)); the default is now max(2 * n_features, 24), 56")),
    "diffusion-bf16": ({"latent_sampling": "diffusion", "diffusion_precision": "bfloat16",
                        "calibration": None},
                       ("uncalibrated, with the code diffusion in place of the mixture, trained "
                        "in bfloat16")),
    "diffusion-calibrated": ({"latent_sampling": "diffusion", "diffusion_precision": "bfloat16"},
                             ("defaults (calibrated) with the code diffusion in place of the "
                              "mixture, trained in bfloat16")),
    "early-stop": ({"n_iter": 4000, "early_stopping": True},
                   ("up to 4000 iterations per stage, joint stage stopped early on the held-out "
                    "discriminative score (10% of the windows), best weights kept")),
    "no-supervisor": ({"use_supervisor": False}, "defaults without supervisor (ablation)"),
    "no-distribution": ({"use_distribution_loss": False},
                        "defaults without distribution loss (ablation)"),
    "paper": ({"hidden_size": "n_features", "num_layers": 4, "n_iter": 8000, "prior": "uniform",
               **FAITHFUL},
              ("authors' configuration: hidden = n_features, 4 layers, 8000 it., uniform "
               "prior, prior draws, unweighted losses")),
    "paper-gaussian": ({"hidden_size": "n_features", "num_layers": 4, "n_iter": 8000,
                        **FAITHFUL},
                       "paper text: as 'paper' with the Gaussian prior"),
}

PUBLISHED = {  # discriminative, predictive (mean±std) at sequence length 24
    "TimeGAN (NeurIPS 2019)": {"sines": (".011±.008", ".093±.019"),
                               "stocks": (".102±.021", ".038±.001"),
                               "energy": (".236±.012", ".273±.004")},
    "Diffusion-TS (ICLR 2024)": {"sines": (".006±.007", ".093±.000"),
                                 "stocks": (".067±.015", ".036±.000"),
                                 "energy": (".122±.003", ".250±.000")},
    "AVATAR reference code, its tutorial": {"sines": (".064±.034", ".095±.000"),
                                            "stocks": (".130±.005", ".043±.000"),
                                            "energy": ("-", "-")},
    "real data": {"sines": ("-", ".094"), "stocks": ("-", ".036"), "energy": ("-", ".250")},
}


def load(name):
    """Windows in the protocol's scale: Sines as generated, Stocks/Energy column min-max."""
    from sktsgen.datasets import fetch_energy, fetch_stocks, make_sines

    if name == "sines":
        return make_sines(10000, seq_len=24, n_features=5, random_state=0)
    fetch = {"stocks": fetch_stocks, "energy": fetch_energy}[name]
    home = str(SHARED) if SHARED.is_dir() else None
    return fetch(data_home=home, download_if_missing=home is None)


def params_for(config, X, n_iter):
    params = dict(CONFIGS[config][0])
    if params.get("hidden_size") == "n_features":
        params["hidden_size"] = X.shape[2]
    if n_iter is not None:
        params["n_iter"] = n_iter
    return params


def cache_path(name, config, args):
    return Path(args.cache) / f"{name}-{config}-{args.n_iter or 'full'}-{args.seed}.npz"


def fit_and_sample(name, config, X, args):
    path = cache_path(name, config, args)
    if path.exists() and not args.refit:
        data = np.load(path, allow_pickle=False)
        return data["samples"], json.loads(str(data["info"]))
    params = params_for(config, X, args.n_iter)
    gen = AvatarGenerator(random_state=args.seed, verbose=args.verbose, **params)
    start = time.perf_counter()
    gen.fit(X)
    fit_s = time.perf_counter() - start
    samples = gen.sample(len(X), random_state=args.seed)
    last = {stage: {k: float(np.mean(v[-100:])) for k, v in curve.items() if k != "iteration"}
            for stage, curve in gen.history_.items() if stage != "validation"}
    info = {"params": params, "fit_seconds": fit_s, "final_losses": last}
    if "validation" in gen.history_:
        info["validation"] = gen.history_["validation"]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, samples=samples, info=json.dumps(info))
    return samples, info


def scores(name, config, X, samples, args, info=None):
    """Discriminative and predictive scores over ``n_repeats`` seeds, cached beside samples."""
    from sklearn.utils import Bunch

    from sktsgen.metrics import discriminative_score, predictive_score, repeat_metric

    path = metrics_path(name, config, args)
    if path.exists() and not args.refit:
        saved = json.loads(path.read_text())
        return Bunch(**saved["disc"]), Bunch(**saved["pred"])
    out = []
    for metric in (discriminative_score, predictive_score):
        b = repeat_metric(metric, X, samples, n_repeats=args.n_repeats, random_state=args.seed)
        out.append({"mean": float(b.mean), "std": float(b.std), "median": float(b.median),
                    "scores": [float(v) for v in b.scores]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"disc": out[0], "pred": out[1], "info": info}))
    return Bunch(**out[0]), Bunch(**out[1])


def metrics_path(name, config, args):
    return (RESULTS / f"{name}-{config}-{args.n_iter or 'full'}-{args.seed}"
            f"-metrics{args.n_repeats}.json")


def saved_run(name, config, args):
    """Scores and fit information of a run already measured, or None."""
    path = metrics_path(name, config, args)
    if args.refit or not path.exists():
        return None
    from sklearn.utils import Bunch

    saved = json.loads(path.read_text())
    if "info" not in saved:
        return None
    return saved["info"], Bunch(**saved["disc"]), Bunch(**saved["pred"])


def kept_rows(measured):
    """AVATAR rows of the current avatar-quality table whose (data, configuration) is not in
    ``measured``, as they are."""
    import re

    from benchmarks._report import DOC

    text = DOC.read_text() if DOC.exists() else ""
    section = re.search(r"<!-- BEGIN avatar-quality -->(.*?)<!-- END avatar-quality -->",
                        text, re.DOTALL)
    rows = []
    for line in (section.group(1) if section else "").splitlines():
        m = re.match(r"\| (\w+) \| AVATAR `([\w-]+)`", line)
        if m and (m.group(1), m.group(2)) not in measured:
            rows.append(line)
    return rows


def fmt(b):
    return f"{b.mean:.3f} ± {b.std:.3f} (median {b.median:.3f})"


def fmt_seeds(bunches):
    """One fit seed: mean ± std over its metric runs. Several: mean ± std over the fit seeds
    of each seed's mean, and the median of all their metric runs."""
    if len(bunches) == 1:
        return fmt(bunches[0])
    means = np.array([b.mean for b in bunches])
    median = np.median(np.concatenate([b.scores for b in bunches]))
    return (f"{means.mean():.3f} ± {means.std(ddof=1):.3f} over fit seeds "
            f"(median {median:.3f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["sines", "stocks"],
                    choices=["sines", "stocks", "energy"])
    ap.add_argument("--configs", nargs="+", default=["default", "prior-sampling",
                                                     "no-supervisor", "no-distribution",
                                                     "paper"],
                    choices=sorted(CONFIGS))
    ap.add_argument("--n-repeats", type=int, default=10, help="metric runs (seeds)")
    ap.add_argument("--n-iter", type=int, default=None,
                    help="override iterations per stage for every configuration")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fit-seeds", type=int, default=1,
                    help="training seeds per configuration: seed, seed + 1, ...; the table "
                         "gives the spread over them and lists multi-seed rows first")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/avatar_quality_cache")
    ap.add_argument("--refit", action="store_true")
    ap.add_argument("--fit-only", action="store_true", help="fit and cache samples only")
    ap.add_argument("--cached-only", action="store_true",
                    help="tabulate only the (data set, configuration) pairs already cached")
    ap.add_argument("--verbose", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    ap.add_argument("--note", default="", help="free text added under the table")
    ap.add_argument("--findings", default=None,
                    help="markdown file of findings (bullets) printed under the table")
    ap.add_argument("--keep-rows", action="store_true",
                    help="keep the AVATAR rows of the current table that this command does "
                         "not measure (after the measured ones)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for name in args.datasets:
        X = load(name)
        for config in args.configs:
            for seed in range(args.seed, args.seed + args.fit_seeds):
                run = argparse.Namespace(**{**vars(args), "seed": seed})
                saved = saved_run(name, config, run)
                if saved is not None:
                    rows.append((name, config, *saved))
                    continue
                if args.cached_only and not cache_path(name, config, run).exists():
                    continue
                samples, info = fit_and_sample(name, config, X, run)
                print(f"{name} {config} seed {seed}: fit {info['fit_seconds']:.0f}s, losses "
                      f"{json.dumps(info['final_losses'])}", flush=True)
                if args.fit_only:
                    continue
                disc, pred = scores(name, config, X, samples, run, info)
                print(f"  discriminative {fmt(disc)}  predictive {fmt(pred)}", flush=True)
                rows.append((name, config, info, disc, pred))
    if args.write and rows:
        write_section("avatar-quality", report(rows, args))


def report(rows, args):
    lines = [
        "## AvatarGenerator quality (TimeGAN protocol, sequence length 24)",
        "",
        f"Command: `{command_line()}`",
        "",
        f"{args.n_repeats} metric runs per cell, each with its own seed, on one set of samples "
        "(as many windows as the data set); mean ± std over all runs (no outlier removal) and "
        "the median. Lower is better. " + machine_line(),
        "",
        "| data | model | discriminative | predictive | fit time |",
        "| --- | --- | --- | --- | --- |",
    ]
    groups = {}
    for name, config, info, disc, pred in rows:
        groups.setdefault((name, config), []).append((info, disc, pred))
    # Rows with several training seeds first (the defaults), single-seed ablations after.
    order = sorted(groups, key=lambda key: len(groups[key]) < 2)
    for name, config in order:
        runs = groups[(name, config)]
        info = runs[0][0]
        it = info["params"].get("n_iter", AvatarGenerator().n_iter)
        fits = [r[0]["fit_seconds"] / 60 for r in runs]
        fit_min = (f"{fits[0]:.1f} min" if len(fits) == 1
                   else f"{min(fits):.1f} to {max(fits):.1f} min")
        seeds = f", {len(runs)} fit seeds" if len(runs) > 1 else ""
        lines.append(f"| {name} | AVATAR `{config}` ({it} it./stage{seeds}) | "
                     f"{fmt_seeds([r[1] for r in runs])} | {fmt_seeds([r[2] for r in runs])} | "
                     f"{fit_min} |")
    kept = kept_rows({(name, config) for name, config in order}) if args.keep_rows else []
    lines += kept
    for model, scores in PUBLISHED.items():
        for name in sorted({r[0] for r in rows}):
            d, p = scores[name]
            lines.append(f"| {name} | {model} (published) | {d} | {p} | - |")
    if args.note:
        lines += ["", args.note]
    if args.findings:
        lines += ["", Path(args.findings).read_text().strip()]
    lines += ["", "Configurations:", ""]
    kept_configs = {line.split("`")[1] for line in kept}
    for config in sorted({r[1] for r in rows} | kept_configs):
        lines.append(f"- `{config}`: {CONFIGS[config][1]}; parameters "
                     f"`{json.dumps(CONFIGS[config][0])}`")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
