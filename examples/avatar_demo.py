"""Fit AVATAR on a benchmark, score its samples and save a picture and a CSV of them.

Uses Stocks when a cached copy is available (``--data-home``, the ``SKTSGEN_DATA`` folder or
``~/sktsgen_data``), otherwise Sines; fits with a progress bar, prints the discriminative
and predictive scores (TimeGAN protocol, lower is better) and writes ``embedding.png``
(PCA and t-SNE of real and synthetic windows) and ``samples.csv`` to ``--out``.

    python examples/avatar_demo.py --out avatar_demo
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sktsgen.datasets import fetch_stocks, make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import discriminative_score, predictive_score


def load(data, data_home):
    """Stocks if cached (or asked for), else Sines; both in the protocol's scale."""
    if data in ("auto", "stocks"):
        try:
            return "Stocks", fetch_stocks(data_home=data_home, download_if_missing=False)
        except OSError:
            if data == "stocks":
                raise
    return "Sines", make_sines(10000, seq_len=24, n_features=5, random_state=0)


def windows_frame(X):
    """Long table: one row per window and step, one column per channel."""
    n, t, d = X.shape
    frame = pd.DataFrame(X.reshape(n * t, d), columns=[f"feature_{j}" for j in range(d)])
    frame.insert(0, "step", np.tile(np.arange(t), n))
    frame.insert(0, "window", np.repeat(np.arange(n), t))
    return frame


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="avatar_demo", help="output folder")
    ap.add_argument("--data", choices=["auto", "sines", "stocks"], default="auto")
    ap.add_argument("--data-home", default=None, help="folder holding stock_data.csv")
    ap.add_argument("--n-iter", type=int, default=300,
                    help="iterations per stage (300: about a minute on a laptop CPU; the "
                         "estimator's default is 2000)")
    ap.add_argument("--n-samples", type=int, default=1000, help="windows written to the CSV")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 5 iterations per stage and 50-iteration metrics")
    args = ap.parse_args()
    metric = {"n_iter": 50} if args.quick else {}
    if args.quick:
        args.n_iter = 5
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    name, X = load(args.data, args.data_home)
    print(f"{name}: {X.shape[0]} windows of {X.shape[1]} steps x {X.shape[2]} channels")
    gen = AvatarGenerator(n_iter=args.n_iter, verbose=1, random_state=args.seed)
    start = time.perf_counter()
    gen.fit(X)
    print(f"fitted in {time.perf_counter() - start:.0f} s")

    synth = gen.sample(len(X), random_state=args.seed)
    disc = discriminative_score(X, synth, random_state=args.seed, **metric)
    pred = predictive_score(X, synth, random_state=args.seed, **metric)
    real_pred = predictive_score(X, X, random_state=args.seed, **metric)
    print(f"discriminative score: {disc:.3f}  (0 = indistinguishable from real)")
    print(f"predictive score:     {pred:.3f}  (real data itself: {real_pred:.3f})")
    print("One metric run each; benchmarks/bench_avatar_quality.py reports 10 runs.")

    try:
        from sktsgen.plotting import plot_embedding

        fig = plot_embedding(X, synth, random_state=args.seed)
        fig.savefig(out / "embedding.png", dpi=120, bbox_inches="tight")
        print(f"wrote {out / 'embedding.png'}")
    except ImportError as exc:  # matplotlib is an optional extra
        print(f"no picture: {exc}")
    windows_frame(gen.sample(args.n_samples, random_state=args.seed)).to_csv(
        out / "samples.csv", index=False)
    print(f"wrote {out / 'samples.csv'} ({args.n_samples} windows)")


if __name__ == "__main__":
    main()
