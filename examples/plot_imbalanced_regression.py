"""
==============================================================
Imbalanced regression: latent adversarial sampler vs copies
==============================================================

A forecasting task whose interesting targets are rare: the next hours' mean of a consumption
series with occasional peaks. Rare windows (top 5% of training targets) are over-sampled four
times inside an :class:`imblearn.pipeline.Pipeline`, either by duplication
(:class:`~sktsgen.over_sampling.RandomWindowOverSampler`) or by the
:class:`~sktsgen.over_sampling.LatentAdversarialSampler`, and a
:class:`~sktsgen.models.GRURegressor` is trained on the result. The sampler only runs while the
pipeline fits; ``predict`` sees the test windows untouched.

The errors are macro-averaged over rare and frequent targets
(:func:`~sktsgen.metrics.macro_root_mean_squared_error`), so the rare ones count as much as the
frequent ones. One seed on a small synthetic set proves nothing about which sampler is better:
the :doc:`benchmarks </benchmarks>` compare them over ten seeds on real data.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline

from sktsgen.metrics import macro_root_mean_squared_error
from sktsgen.models import GRURegressor
from sktsgen.over_sampling import LatentAdversarialSampler, RandomWindowOverSampler
from sktsgen.utils import make_windowed_target

QUICK = os.environ.get("SKTSGEN_EXAMPLES_QUICK", "") not in ("", "0")

# %%
# A long series with rare peaks, cut into a windowed task
# -------------------------------------------------------
rng = np.random.default_rng(0)
n_steps = 1500 if QUICK else 3000
t = np.arange(n_steps)
temperature = 20 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, n_steps)
occupancy = (np.sin(2 * np.pi * t / 168) > 0.6).astype(float)
peaks = np.convolve(rng.random(n_steps) < 0.01, np.ones(6), mode="same")
load = 50 + 2 * temperature + 30 * occupancy + 150 * peaks + rng.normal(0, 5, n_steps)
frame = pd.DataFrame({"load": load, "temperature": temperature, "occupancy": occupancy})

X, y = make_windowed_target(frame, input_length=24, horizon=3, target="load")
split = int(0.75 * len(X))
X_train, y_train, X_test, y_test = X[:split], y[:split], X[split:], y[split:]
threshold = float(np.quantile(y_train, 0.95))
n_rare = int((y_train > threshold).sum())
print(f"{len(X_train)} training windows, {n_rare} rare (target > {threshold:.0f})")

# %%
# Three pipelines: no over-sampling, copies, latent adversarial windows
# ---------------------------------------------------------------------
max_iter = 2 if QUICK else 10
x4 = {"rare": 4 * n_rare}
models = {
    "no over-sampling": GRURegressor(max_iter=max_iter, random_state=0),
    "duplication x4": Pipeline([
        ("sampler", RandomWindowOverSampler(sampling_strategy=x4, minority_threshold=threshold,
                                            random_state=0)),
        ("model", GRURegressor(max_iter=max_iter, random_state=0)),
    ]),
    "latent adversarial x4": Pipeline([
        ("sampler", LatentAdversarialSampler(sampling_strategy=x4, minority_threshold=threshold,
                                             n_iter=20 if QUICK else "auto",
                                             predictor_n_iter=20 if QUICK else "auto",
                                             random_state=0)),
        ("model", GRURegressor(max_iter=max_iter, random_state=0)),
    ]),
}
errors = {}
for name, model in models.items():
    y_pred = model.fit(X_train, y_train).predict(X_test)
    errors[name] = macro_root_mean_squared_error(y_test, y_pred, minority_threshold=threshold,
                                                 average=None)
    print(f"{name:>22}: rare {errors[name]['rare']:.1f}, "
          f"frequent {errors[name]['frequent']:.1f}")

# %%
# Rare and frequent errors side by side
# -------------------------------------
names = list(errors)
pos = np.arange(len(names))
fig, ax = plt.subplots(figsize=(8, 4))
ax.bar(pos - 0.2, [errors[n]["rare"] for n in names], width=0.4, label="rare targets")
ax.bar(pos + 0.2, [errors[n]["frequent"] for n in names], width=0.4, label="frequent targets")
ax.set_xticks(pos, names)
ax.set_xlabel("training data")
ax.set_ylabel("RMSE (load units)")
ax.set_title("GRURegressor on the test period: error on rare and frequent targets")
ax.legend()
plt.show()

# %%
# What a latent adversarial window looks like
# -------------------------------------------
# The sampler keeps the channel that carries the target (``keep_features="auto"`` finds
# ``load``) and perturbs the others through its autoencoder's latent space.
sampler = models["latent adversarial x4"].named_steps["sampler"]
print("channels kept exact:", list(frame.columns[sampler.keep_mask_]))
X_res, y_res = sampler.fit_resample(X_train, y_train)
new = len(X_train)  # the first new window; its source is sample_indices_[new]
src = sampler.sample_indices_[new]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
for j, ax in enumerate(axes):
    ax.plot(X_train[src, :, j], color="tab:red", label="source window")
    ax.plot(X_res[new, :, j], color="tab:blue", ls="--", label="new window")
    ax.set_title(frame.columns[j])
    ax.set_xlabel("step (hours)")
    ax.set_ylabel("value")
    ax.legend(fontsize="small")
fig.suptitle("A rare window and one latent adversarial window made from it")
fig.tight_layout()
plt.show()
