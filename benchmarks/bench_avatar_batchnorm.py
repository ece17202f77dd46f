"""Effect of recomputing AVATAR's batch-norm statistics after training, on the same fits.

For each data set and fit seed, fits ``AvatarGenerator(recompute_batch_norm=False)`` (cached
as a pickle in ``--cache``), then compares, with the same metric seeds, the samples of
- "moving averages": the batch-norm statistics kept during training (the behaviour before
  ``recompute_batch_norm`` existed), and
- "recomputed": the same networks after ``recompute_batch_norm`` over the training windows
  and a refitted code density (of the fit's own size), which is exactly what ``fit`` does by
  default (``test_fit_recomputes_batch_norm_after_training`` in
  ``sktsgen/generation/tests/test_avatar.py``).
Also reports the eval-mode reconstruction MSE (scaled data, decoder + supervisor). Writes the
"avatar-batchnorm" section of docs/benchmarks.md with ``--write``.

    python benchmarks/bench_avatar_batchnorm.py --datasets sines --seeds 0 1 2 3 --write

``--cached-only`` tabulates only the pairs already measured (when data sets were run on
different seeds).
"""

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_avatar_quality import load

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import discriminative_score, repeat_metric
from sktsgen.training._common import recompute_batch_norm
from sktsgen.utils._torch import make_generator, seed_from_random_state, to_tensor

VARIANTS = ("moving averages", "recomputed")


def tag(name, seed, n_iter):
    """Cache-file stem; fits with the default n_iter keep the short name."""
    return f"{name}-{seed}" if n_iter is None else f"{name}-{seed}-it{n_iter}"


def fitted(name, seed, X, cache, n_iter=None):
    path = cache / f"{tag(name, seed, n_iter)}.pkl"
    if path.exists():
        gen = pickle.loads(path.read_bytes())
        # Pickles of older versions lack newer parameters: give them their defaults.
        for key, value in AvatarGenerator().get_params().items():
            gen.__dict__.setdefault(key, value)
        return gen.set_params(recompute_batch_norm=False)
    gen = AvatarGenerator(random_state=seed, recompute_batch_norm=False)
    if n_iter is not None:
        gen.set_params(n_iter=n_iter)
    gen.fit(X)
    path.write_bytes(pickle.dumps(gen))
    return gen


def finish_as_fit_does(gen, X):
    """Recompute the batch-norm statistics and refit the code density, as ``fit`` ends."""
    fit_seed = seed_from_random_state(gen.random_state)
    Xs = gen.scaler_.transform(X)
    recompute_batch_norm(gen.module_, to_tensor(Xs, gen.device_), gen.batch_size,
                         make_generator(fit_seed, gen.device_), forward=gen.module_.reconstruct)
    gen.code_density_module_ = gen._fit_code_density(Xs, fit_seed)
    return gen


def recon_mse(gen, X):
    data = to_tensor(gen.scaler_.transform(X), gen.device_)
    with torch.no_grad():
        return float(((gen.module_.reconstruct(data) - data) ** 2).mean())


def result_path(name, seed, args):
    return Path(args.cache) / f"{tag(name, seed, args.n_iter)}-r{args.n_repeats}.json"


def evaluate(name, seed, args):
    path = result_path(name, seed, args)
    if path.exists():
        return json.loads(path.read_text())
    X = load(name)
    gen = fitted(name, seed, X, Path(args.cache), args.n_iter)
    out = {}
    for variant in VARIANTS:
        if variant == "recomputed":
            finish_as_fit_does(gen, X)
        samples = gen.sample(len(X), random_state=seed)
        b = repeat_metric(discriminative_score, X, samples, n_repeats=args.n_repeats,
                          random_state=seed)
        out[variant] = {"disc": [float(v) for v in b.scores], "recon_mse": recon_mse(gen, X)}
        print(f"{tag(name, seed, args.n_iter)} {variant}: disc {b.mean:.3f} ± {b.std:.3f}, "
              f"reconstruction MSE {out[variant]['recon_mse']:.5f}", flush=True)
    path.write_text(json.dumps(out))
    return out


def parser(doc):
    """Options shared with bench_avatar_code_density.py, which reuses these cached fits."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["sines"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--n-repeats", type=int, default=5)
    ap.add_argument("--cache", default="/tmp/avatar_bn_cache")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cached-only", action="store_true",
                    help="tabulate only what is already measured")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--note", default="")
    return ap


def parse(ap):
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    return args


def main():
    ap = parser(__doc__)
    ap.add_argument("--n-iter", type=int, default=None,
                    help="iterations per stage (default: the estimator's)")
    args = parse(ap)
    if args.write and args.n_iter is not None:
        ap.error("--write tabulates fits with the default n_iter only")
    pairs = [(name, seed) for name in args.datasets for seed in args.seeds]
    if args.cached_only:
        pairs = [(name, seed) for name, seed in pairs if result_path(name, seed, args).exists()]
    rows = [(name, seed, evaluate(name, seed, args)) for name, seed in pairs]
    if not args.write:
        return
    lines = ["## AvatarGenerator: batch-norm statistics recomputed after training", "",
             f"Command: `{command_line()}`", "",
             machine_line() + f" {args.n_repeats} discriminative runs per cell, the same metric "
             "seeds for both columns; mean ± std (lower is better). Reconstruction MSE: "
             "eval-mode decoder + supervisor on the scaled training windows.", "",
             ("| data | fit seed | disc, moving averages | disc, recomputed | "
              "reconstruction MSE, moving averages | recomputed |"),
             "| --- | --- | --- | --- | --- | --- |"]
    for name, seed, out in rows:
        cells = [f"{np.mean(out[v]['disc']):.3f} ± {np.std(out[v]['disc']):.3f}"
                 for v in VARIANTS]
        mse = [f"{out[v]['recon_mse']:.5f}" for v in VARIANTS]
        lines.append(f"| {name} | {seed} | {cells[0]} | {cells[1]} | {mse[0]} | {mse[1]} |")
    if args.note:
        lines += ["", args.note]
    write_section("avatar-batchnorm", "\n".join(lines))


if __name__ == "__main__":
    main()
