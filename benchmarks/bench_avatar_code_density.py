"""Size of AVATAR's fitted code density: mixture components, on the same trained networks.

For each data set and fit seed, takes the fit cached by ``bench_avatar_batchnorm.py`` (fitting
it when missing: ``AvatarGenerator(random_state=seed)`` with default networks), finishes it as
``fit`` does (batch-norm statistics recomputed, code density refitted), and then, for every
``--components`` value, refits only the code density with that many Gaussian components and
scores the samples with the same sample and metric seeds; with ``--diffusion`` the density
is a code diffusion (``latent_sampling="diffusion"``, default size, trained in
``--diffusion-precision`` on the loss ``--diffusion-loss-weighting``) instead of a mixture,
on ``--device``, for ``--diffusion-n-iter`` iterations; each of ``--diffusion-steps`` (DDIM
steps per draw) is scored on one fitted diffusion, which is cached beside the fit. Also
reports how close samples sit to the training data: the median distance from a sample to its
nearest training window, divided by the median distance from a training window to its
nearest other training window (about 1: no closer than real windows are to each other; well
below 1: copies).

    python benchmarks/bench_avatar_code_density.py --datasets sines --seeds 0 1 2 3 4 5 --write
"""

import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_avatar_batchnorm import finish_as_fit_does, fitted, parse, parser
from bench_avatar_quality import load

from benchmarks._report import command_line, machine_line, write_section
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import discriminative_score, repeat_metric
from sktsgen.utils._torch import seed_from_random_state

N_PROBE = 2000  # windows whose nearest-neighbour distances are measured
DEFAULTS = AvatarGenerator().get_params()


def nn_ratio(X, samples, seed):
    flat = X.reshape(len(X), -1)
    nn = NearestNeighbors(n_neighbors=2).fit(flat)
    probe = np.random.RandomState(seed).choice(len(X), min(N_PROBE, len(X)), replace=False)
    real = np.median(nn.kneighbors(flat[probe])[0][:, 1])
    fake = np.median(nn.kneighbors(samples.reshape(len(samples), -1)[probe],
                                   n_neighbors=1)[0][:, 0])
    return float(fake / real)


def density_tag(name, seed, components, args):
    """File stem of a fitted density; settings at their defaults leave the name as before."""
    kind = "diffusion" if args.diffusion else f"mix{components}"
    if args.diffusion and args.diffusion_precision != "float32":
        kind += f"-{args.diffusion_precision}"
    if args.diffusion and args.diffusion_loss_weighting != "noise":
        kind += f"-{args.diffusion_loss_weighting}"
    if args.diffusion and args.diffusion_n_iter != DEFAULTS["diffusion_n_iter"]:
        kind += f"-it{args.diffusion_n_iter}"
    return f"{name}-{seed}-pca{args.pca}-{kind}"


def result_path(name, seed, components, steps, args):
    steps = DEFAULTS["diffusion_steps"] if steps is None else steps
    kind = density_tag(name, seed, components, args)
    if args.diffusion and steps != DEFAULTS["diffusion_steps"]:
        kind += f"-steps{steps}"
    return Path(args.cache) / f"{kind}-r{args.n_repeats}.json"


def cells(args):
    """``(components, DDIM steps)`` of every column: steps vary only for a diffusion."""
    steps = args.diffusion_steps if args.diffusion else [None]
    return [(c, s) for c in args.components for s in steps]


def fitted_density(gen, X, name, seed, c, args):
    """Fit the code density (a diffusion is cached as a pickle, so that other DDIM step
    counts reuse it) and return it with its fit time in seconds."""
    path = Path(args.cache) / f"{density_tag(name, seed, c, args)}.pkl"
    if args.diffusion and path.exists():
        saved = pickle.loads(path.read_bytes())
        return saved["module"].to(gen.device_), saved["fit_s"]
    start = time.perf_counter()
    module = gen._fit_code_density(gen.scaler_.transform(X),
                                   seed_from_random_state(gen.random_state))
    fit_s = time.perf_counter() - start
    if args.diffusion:
        path.write_bytes(pickle.dumps({"module": module.cpu(), "fit_s": fit_s}))
        module.to(gen.device_)
    return module, fit_s


def evaluate(name, seed, args):
    todo = [cell for cell in cells(args) if not result_path(name, seed, *cell, args).exists()]
    if todo and not args.cached_only:
        X = load(name)
        gen = finish_as_fit_does(fitted(name, seed, X, Path(args.cache)), X)
        if args.device != "cpu":
            gen.set_params(device=args.device)
            gen.device_ = torch.device(args.device)
            gen.module_.to(gen.device_)
        for c, steps in todo:
            gen.set_params(code_pca_components=args.pca, code_mixture_components=c,
                           latent_sampling="diffusion" if args.diffusion else "fitted",
                           diffusion_precision=args.diffusion_precision,
                           diffusion_loss_weighting=args.diffusion_loss_weighting,
                           diffusion_n_iter=args.diffusion_n_iter)
            gen.code_density_module_, fit_s = fitted_density(gen, X, name, seed, c, args)
            if steps is not None:
                gen.code_density_module_.sampling_steps = steps
            start = time.perf_counter()
            samples = gen.sample(len(X), random_state=seed)
            sample_s = time.perf_counter() - start
            b = repeat_metric(discriminative_score, X, samples, n_repeats=args.n_repeats,
                              random_state=seed, device=args.device)
            out = {"disc": [float(v) for v in b.scores], "nn_ratio": nn_ratio(X, samples, 0),
                   "density_fit_s": fit_s, "windows_per_s": len(X) / sample_s}
            result_path(name, seed, c, steps, args).write_text(json.dumps(out))
            density = (f"a code diffusion ({args.diffusion_n_iter} iterations, {steps} steps)"
                       if args.diffusion else f"{c} components")
            print(f"{name} seed {seed}, {args.pca} PCs, {density}: disc {b.mean:.3f} ± "
                  f"{b.std:.3f}, nearest-neighbour ratio {out['nn_ratio']:.2f}, density fit "
                  f"{fit_s:.0f} s, sampling {out['windows_per_s']:.0f} windows/s", flush=True)
    return {cell: json.loads(result_path(name, seed, *cell, args).read_text())
            for cell in cells(args) if result_path(name, seed, *cell, args).exists()}


def main():
    ap = parser(__doc__)
    ap.add_argument("--components", nargs="+", type=int, default=[10, 30, 50])
    ap.add_argument("--pca", type=int, default=64, help="principal components of the codes")
    ap.add_argument("--diffusion", action="store_true",
                    help="a code diffusion instead of mixtures (use --pca 128 --components 0)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda: density, samples, metric")
    ap.add_argument("--diffusion-precision", default="float32", choices=["float32", "bfloat16"],
                    help="the code diffusion's training precision (with --diffusion)")
    ap.add_argument("--diffusion-loss-weighting", default="noise", choices=["noise", "velocity"],
                    help="the code diffusion's loss over noise levels (with --diffusion)")
    ap.add_argument("--diffusion-n-iter", type=int, default=DEFAULTS["diffusion_n_iter"],
                    help="the code diffusion's training iterations (with --diffusion)")
    ap.add_argument("--diffusion-steps", type=int, nargs="+",
                    default=[DEFAULTS["diffusion_steps"]],
                    help="DDIM steps per draw, each scored on one fitted diffusion")
    args = parse(ap)
    pairs = [(name, seed) for name in args.datasets for seed in args.seeds]
    rows = [(name, seed, evaluate(name, seed, args)) for name, seed in pairs]
    rows = [row for row in rows if row[2]]
    if not args.write:
        return
    head = " | ".join(f"{c} components" if s is None else f"diffusion, {s} steps"
                      for c, s in cells(args))
    lines = ["## AvatarGenerator: size of the fitted code density", "",
             f"Command: `{command_line()}`", "",
             machine_line() + f" {args.pca} principal components of the codes; "
             f"{args.n_repeats} discriminative runs per cell, the same sample and metric seeds "
             "in every column; mean ± std (lower is better), and in brackets the "
             "nearest-neighbour ratio (median distance from a sample to its nearest training "
             "window over the same for real windows; below 1 means closer to copies).", "",
             f"| data | fit seed | {head} |", "| --- | --- |" + " --- |" * len(cells(args))]
    for name, seed, out in rows:
        row = [f"{np.mean(out[k]['disc']):.3f} ± {np.std(out[k]['disc']):.3f} "
               f"({out[k]['nn_ratio']:.2f})" if k in out else "-" for k in cells(args)]
        lines.append(f"| {name} | {seed} | " + " | ".join(row) + " |")
    if args.note:
        lines += ["", args.note]
    write_section("avatar-code-density", "\n".join(lines))


if __name__ == "__main__":
    main()
