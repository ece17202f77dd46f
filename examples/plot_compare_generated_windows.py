"""
==========================================================
How close are generated windows to the real ones?
==========================================================

Fit an :class:`~sktsgen.generation.AvatarGenerator` on the Stocks benchmark (daily Google
prices, 6 channels) and compare its samples with the real windows in three pictures: a PCA and
t-SNE embedding, the traces of every channel, and the autocorrelation of every channel. Stocks
is read from the cache folder when a copy exists (nothing is downloaded); otherwise the example
uses the synthetic Sines windows.

The fit here is short (a few hundred iterations per stage instead of the default 2000) so that
the example runs in under a minute; the estimator's defaults do better.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sktsgen.datasets import fetch_stocks, make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import autocorrelation_distance, discriminative_score
from sktsgen.plotting import plot_embedding

QUICK = os.environ.get("SKTSGEN_EXAMPLES_QUICK", "") not in ("", "0")
N_ITER = 5 if QUICK else 200  # iterations per training stage


def load_stocks():
    """Stocks windows from a cached copy (the cache folder, or ``shared/data`` beside a
    checkout of the repository), or None when there is none."""
    homes = [None]
    if "__file__" in globals():
        shared = Path(__file__).resolve().parents[2] / "shared" / "data"
        if shared.is_dir():
            homes.insert(0, shared)
    for home in homes:
        try:
            return fetch_stocks(data_home=home, download_if_missing=False)
        except OSError:
            continue
    return None


X = load_stocks()
if X is not None:
    name, channels = "Stocks", ["Open", "High", "Low", "Close", "Adj. close", "Volume"]
else:
    X = make_sines(3000, seq_len=24, n_features=5, random_state=0)
    name, channels = "Sines", [f"sine {j}" for j in range(5)]
if QUICK:
    X = X[:600]
print(f"{name}: {X.shape[0]} windows of {X.shape[1]} steps x {X.shape[2]} channels")

# %%
# Fit the generator and draw as many windows as there are real ones
# -------------------------------------------------------------------
gen = AvatarGenerator(n_iter=N_ITER, random_state=0).fit(X)
X_synth = gen.sample(len(X), random_state=1)

disc = discriminative_score(X, X_synth, n_iter=50 if QUICK else 1000, random_state=0)
acf = autocorrelation_distance(X, X_synth)
print(f"discriminative score {disc:.3f} (0: indistinguishable), "
      f"autocorrelation distance {acf:.3f} (0: same dynamics)")

# %%
# The whole distribution: PCA and t-SNE
# -------------------------------------
# Every window is averaged over its channels; PCA is fitted on the real windows, t-SNE on both
# sets. Synthetic points (blue) should cover the real ones (red) everywhere.
fig = plot_embedding(X, X_synth, n_samples=300 if QUICK else 1000, random_state=0)
fig.suptitle(f"{name}: real and synthetic windows, embedded")
plt.show()

# %%
# Channel by channel: a few windows of each set
# ---------------------------------------------
rng = np.random.default_rng(0)
real_idx = rng.choice(len(X), size=5, replace=False)
synth_idx = rng.choice(len(X_synth), size=5, replace=False)
steps = np.arange(X.shape[1])
n_cols = 3
n_rows = int(np.ceil(X.shape[2] / n_cols))
fig, axes = plt.subplots(n_rows, n_cols, figsize=(12, 3.2 * n_rows), sharex=True)
for j, ax in enumerate(axes.flat):
    if j >= X.shape[2]:
        ax.remove()
        continue
    for k, (i_real, i_synth) in enumerate(zip(real_idx, synth_idx)):
        ax.plot(steps, X[i_real, :, j], color="tab:red", alpha=0.6,
                label="real" if k == 0 else None)
        ax.plot(steps, X_synth[i_synth, :, j], color="tab:blue", alpha=0.6, ls="--",
                label="synthetic" if k == 0 else None)
    ax.set_title(channels[j])
    ax.set_xlabel("step")
    ax.set_ylabel("value (protocol scale)")
    ax.legend(loc="best", fontsize="small")
fig.suptitle(f"{name}: five real and five synthetic windows per channel")
fig.tight_layout()
plt.show()


# %%
# Dynamics: the mean autocorrelation of every channel
# ---------------------------------------------------
# ``autocorrelation_distance`` above is the mean absolute gap between these curves.
def mean_autocorrelation(W, max_lag):
    """Mean over windows of each channel's sample autocorrelation at lags 1..max_lag."""
    centred = W - W.mean(axis=1, keepdims=True)
    denom = (centred**2).sum(axis=1)
    denom[denom == 0] = np.inf
    return np.stack([(centred[:, :-k] * centred[:, k:]).sum(axis=1) / denom
                     for k in range(1, max_lag + 1)]).mean(axis=1)


max_lag = X.shape[1] - 1
lags = np.arange(1, max_lag + 1)
acf_real, acf_synth = mean_autocorrelation(X, max_lag), mean_autocorrelation(X_synth, max_lag)
fig, ax = plt.subplots(figsize=(8, 4.5))
for j in range(X.shape[2]):
    color = f"C{j}"
    ax.plot(lags, acf_real[:, j], color=color, label=f"{channels[j]}, real")
    ax.plot(lags, acf_synth[:, j], color=color, ls="--", label=f"{channels[j]}, synthetic")
ax.set_title(f"{name}: mean autocorrelation per channel (solid real, dashed synthetic)")
ax.set_xlabel("lag (steps)")
ax.set_ylabel("autocorrelation")
ax.legend(ncol=2, fontsize="small")
plt.show()
