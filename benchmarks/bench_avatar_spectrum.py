"""AVATAR on Energy: do the generated windows hold the data's power at each frequency?

For each fit seed, the default ``AvatarGenerator(random_state=seed)`` is fitted to the Energy
windows (TimeGAN protocol, one torch thread) and asked for as many windows as the data hold. Its
windows are compared with the data per channel and frequency (mean power spectrum of the
windows, each window's mean removed), then filtered along time by the gain
``sqrt(P_data / P_generated)`` (the window means untouched, the result clipped to the data's
range per channel): a post-hoc calibration fitted on the training windows alone. Both sets get
the discriminative score (``repeat_metric``, ``--n-repeats`` runs, seed = fit seed).

Run ``python benchmarks/bench_avatar_spectrum.py --seeds 0 1 2``; samples are cached in
``--cache`` (a fit takes 12-20 minutes on one thread), scores in
``benchmarks/results/avatar_spectrum.json``. ``--write`` puts the table in docs/benchmarks.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "avatar_spectrum.json"


def matched(X, samples):
    """``samples`` filtered so that each channel's power spectrum is the data's."""
    from sktsgen.over_sampling._spectrum import apply_gain, power_spectrum

    p_data, p_gen = power_spectrum(X), power_spectrum(samples)
    gain = np.sqrt(np.divide(p_data, p_gen, out=np.ones_like(p_data), where=p_gen > 0))
    gain[0] = 1.0
    mean = samples.mean(axis=1, keepdims=True)
    out = mean + apply_gain(samples - mean, gain)
    return np.clip(out, X.min(axis=(0, 1)), X.max(axis=(0, 1))), gain, p_gen / p_data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-repeats", type=int, default=10)
    ap.add_argument("--cache", default="/tmp/avatar_spectrum_cache")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--note", default="", help="a remark printed under the table")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from bench_avatar_quality import load

    from sktsgen.generation import AvatarGenerator
    from sktsgen.metrics import discriminative_score, repeat_metric

    X = load("energy")
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for seed in args.seeds:
        key = f"{seed}-{args.n_repeats}"
        if key in saved:
            continue
        path = Path(args.cache) / f"energy_s{seed}.npz"
        if path.exists():
            samples, fit_s = np.load(path)["samples"], None
        else:
            start = time.perf_counter()
            gen = AvatarGenerator(random_state=seed).fit(X)
            samples = gen.sample(len(X), random_state=seed)
            fit_s = time.perf_counter() - start
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, samples=samples)
        calibrated, gain, ratio = matched(X, samples)
        row = {"seed": seed, "fit_s": fit_s,
               "power_ratio_by_frequency": np.median(ratio, axis=1).round(3).tolist(),
               "gain_range": [float(gain.min()), float(gain.max())]}
        for name, windows in (("raw", samples), ("matched", calibrated)):
            b = repeat_metric(discriminative_score, X, windows, n_repeats=args.n_repeats,
                              random_state=seed)
            row[name] = {"mean": float(b.mean), "std": float(b.std),
                         "median": float(b.median), "scores": [float(s) for s in b.scores]}
            print(seed, name, f"{b.mean:.3f} ± {b.std:.3f} (median {b.median:.3f})", flush=True)
        saved[key] = row
        RESULTS.write_text(json.dumps(saved, indent=1))

    rows = [saved[f"{s}-{args.n_repeats}"] for s in args.seeds]
    header = ("| fit seed | generated, disc. | spectrum-matched, disc. | generated power / data's "
              "(median over channels), lowest to highest frequency |")
    lines = [header, "| --- | --- | --- | --- |"]
    for r in rows:
        cells = [f"{r[k]['mean']:.3f} ± {r[k]['std']:.3f} (median {r[k]['median']:.3f})"
                 for k in ("raw", "matched")]
        ratio = r["power_ratio_by_frequency"]
        lines.append(f"| {r['seed']} | {cells[0]} | {cells[1]} | {min(ratio):.2f} to "
                     f"{max(ratio):.2f} |")
    summary = []
    for k, title in (("raw", "generated"), ("matched", "spectrum-matched")):
        means = np.array([r[k]["mean"] for r in rows])
        std = means.std(ddof=1) if len(means) > 1 else 0.0
        median = np.median([v for r in rows for v in r[k]["scores"]])
        summary.append(f"{title} {means.mean():.3f} ± {std:.3f} (median of all runs "
                       f"{median:.3f})")
    lines += ["", f"Over the {len(rows)} fit seeds: " + "; ".join(summary) + ". Discriminative "
              f"score, {args.n_repeats} runs per fit seed (lower is better)."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        from benchmarks._report import command_line, machine_line, write_section

        write_section("avatar-spectrum", "\n".join([
            "## AVATAR on Energy: generated power per frequency", "",
            f"Command: `{command_line()}`", "", machine_line(), "", text,
            *(["", args.note] if args.note else [])]))


if __name__ == "__main__":
    main()
