"""Size of AVATAR's fitted code density: mixture components, on the same trained networks.

For each data set and fit seed, takes the fit cached by ``bench_avatar_batchnorm.py`` (fitting
it when missing: ``AvatarGenerator(random_state=seed)`` with default networks), finishes it as
``fit`` does (batch-norm statistics recomputed, code density refitted), and then, for every
``--components`` value, refits only the code density with that many Gaussian components and
scores the samples with the same sample and metric seeds; with ``--diffusion`` the density
is a code diffusion (``latent_sampling="diffusion"``, default size, trained in
``--diffusion-precision`` on the loss ``--diffusion-loss-weighting``) instead of a mixture,
on ``--device``. Also reports how close samples sit to the training data: the median
distance from a sample to its nearest training window, divided by the median distance from
a training window to its nearest other training window (about 1: no closer than real
windows are to each other; well below 1: copies).

    python benchmarks/bench_avatar_code_density.py --datasets sines --seeds 0 1 2 3 4 5 --write
"""

import json
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
from sktsgen.metrics import discriminative_score, repeat_metric
from sktsgen.utils._torch import seed_from_random_state

N_PROBE = 2000  # windows whose nearest-neighbour distances are measured


def nn_ratio(X, samples, seed):
    flat = X.reshape(len(X), -1)
    nn = NearestNeighbors(n_neighbors=2).fit(flat)
    probe = np.random.RandomState(seed).choice(len(X), min(N_PROBE, len(X)), replace=False)
    real = np.median(nn.kneighbors(flat[probe])[0][:, 1])
    fake = np.median(nn.kneighbors(samples.reshape(len(samples), -1)[probe],
                                   n_neighbors=1)[0][:, 0])
    return float(fake / real)


def result_path(name, seed, components, args):
    kind = "diffusion" if args.diffusion else f"mix{components}"
    if args.diffusion and args.diffusion_precision != "float32":
        kind += f"-{args.diffusion_precision}"
    if args.diffusion and args.diffusion_loss_weighting != "noise":
        kind += f"-{args.diffusion_loss_weighting}"
    return Path(args.cache) / f"{name}-{seed}-pca{args.pca}-{kind}-r{args.n_repeats}.json"


def evaluate(name, seed, args):
    todo = [c for c in args.components if not result_path(name, seed, c, args).exists()]
    if todo and not args.cached_only:
        X = load(name)
        gen = finish_as_fit_does(fitted(name, seed, X, Path(args.cache)), X)
        if args.device != "cpu":
            gen.set_params(device=args.device)
            gen.device_ = torch.device(args.device)
            gen.module_.to(gen.device_)
        for c in todo:
            gen.set_params(code_pca_components=args.pca, code_mixture_components=c,
                           latent_sampling="diffusion" if args.diffusion else "fitted",
                           diffusion_precision=args.diffusion_precision,
                           diffusion_loss_weighting=args.diffusion_loss_weighting)
            start = time.perf_counter()
            gen.code_density_module_ = gen._fit_code_density(
                gen.scaler_.transform(X), seed_from_random_state(gen.random_state))
            fit_s, start = time.perf_counter() - start, time.perf_counter()
            samples = gen.sample(len(X), random_state=seed)
            sample_s = time.perf_counter() - start
            b = repeat_metric(discriminative_score, X, samples, n_repeats=args.n_repeats,
                              random_state=seed, device=args.device)
            out = {"disc": [float(v) for v in b.scores], "nn_ratio": nn_ratio(X, samples, 0),
                   "density_fit_s": fit_s, "windows_per_s": len(X) / sample_s}
            result_path(name, seed, c, args).write_text(json.dumps(out))
            density = "a code diffusion" if args.diffusion else f"{c} components"
            print(f"{name} seed {seed}, {args.pca} PCs, {density}: disc {b.mean:.3f} ± "
                  f"{b.std:.3f}, nearest-neighbour ratio {out['nn_ratio']:.2f}, density fit "
                  f"{fit_s:.0f} s, sampling {out['windows_per_s']:.0f} windows/s", flush=True)
    return {c: json.loads(result_path(name, seed, c, args).read_text())
            for c in args.components if result_path(name, seed, c, args).exists()}


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
    args = parse(ap)
    pairs = [(name, seed) for name in args.datasets for seed in args.seeds]
    rows = [(name, seed, evaluate(name, seed, args)) for name, seed in pairs]
    rows = [row for row in rows if row[2]]
    if not args.write:
        return
    head = " | ".join(f"{c} components" for c in args.components)
    lines = ["## AvatarGenerator: size of the fitted code density", "",
             f"Command: `{command_line()}`", "",
             machine_line() + f" {args.pca} principal components of the codes; "
             f"{args.n_repeats} discriminative runs per cell, the same sample and metric seeds "
             "in every column; mean ± std (lower is better), and in brackets the "
             "nearest-neighbour ratio (median distance from a sample to its nearest training "
             "window over the same for real windows; below 1 means closer to copies).", "",
             f"| data | fit seed | {head} |", "| --- | --- |" + " --- |" * len(args.components)]
    for name, seed, out in rows:
        cells = [f"{np.mean(out[c]['disc']):.3f} ± {np.std(out[c]['disc']):.3f} "
                 f"({out[c]['nn_ratio']:.2f})" if c in out else "-" for c in args.components]
        lines.append(f"| {name} | {seed} | " + " | ".join(cells) + " |")
    if args.note:
        lines += ["", args.note]
    write_section("avatar-code-density", "\n".join(lines))


if __name__ == "__main__":
    main()
