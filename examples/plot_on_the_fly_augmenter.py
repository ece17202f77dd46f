"""
==========================================================
On-the-fly augmentation: ``GRURegressor(augmenter=...)``
==========================================================

In the latent adversarial paper (Kim, Choi & Choo, 2021) the perturbation is trained together
with the downstream model: every batch's rare windows are replaced by perturbed versions that
are hard for the model *as it is now*. A sampler cannot do that (it returns fixed windows before
the model exists), so the downstream models take the sampler as ``augmenter=``. Nothing is added
to the data: the model first duplicates the rare windows (the paper's "oversample x4") and the
augmenter perturbs them batch by batch.

This example compares the training curves and test errors of a model trained on copies and on
copies perturbed on the fly. On Energy this is the one use of the latent sampler measured to beat
duplication (see :doc:`the design notes </design/latent_adversarial_sampler>`); on a small
synthetic set one seed shows how to use it, not which is better.
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

rng = np.random.default_rng(1)
n_steps = 1200 if QUICK else 2500
t = np.arange(n_steps)
driver = np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.2, n_steps)
peaks = np.convolve(rng.random(n_steps) < 0.015, np.ones(4), mode="same")
target = 10 + 3 * driver + 25 * peaks + rng.normal(0, 1, n_steps)
frame = pd.DataFrame({"target": target, "driver": driver})
X, y = make_windowed_target(frame, input_length=24, horizon=2, target="target")
split = int(0.75 * len(X))
X_train, y_train, X_test, y_test = X[:split], y[:split], X[split:], y[split:]
threshold = float(np.quantile(y_train, 0.95))
n_rare = int((y_train > threshold).sum())

# %%
# Copies, and copies perturbed against the model in every batch
# -------------------------------------------------------------
max_iter = 2 if QUICK else 15
augmenter = LatentAdversarialSampler(minority_threshold=threshold, keep_features=[0],
                                     n_iter=20 if QUICK else "auto", random_state=0)
pipes = {}
for name, aug in [("duplication x4", None), ("duplication x4, perturbed on the fly", augmenter)]:
    pipes[name] = Pipeline([
        ("dup", RandomWindowOverSampler(sampling_strategy={"rare": 4 * n_rare},
                                        minority_threshold=threshold, random_state=0)),
        ("model", GRURegressor(max_iter=max_iter, batch_size=128, random_state=0,
                               augmenter=aug)),
    ]).fit(X_train, y_train)

# %%
# Training curves and test errors
# -------------------------------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for name, pipe in pipes.items():
    model = pipe.named_steps["model"]
    loss = np.asarray(model.history_["train"])
    ax1.plot(np.arange(1, len(loss) + 1), loss, marker="o", label=name)
    err = macro_root_mean_squared_error(y_test, pipe.predict(X_test),
                                        minority_threshold=threshold, average=None)
    print(f"{name}: test RMSE rare {err['rare']:.2f}, frequent {err['frequent']:.2f}")
    ax2.scatter(err["frequent"], err["rare"], s=80, label=name)
ax1.set_title("training loss per epoch (standardised target)")
ax1.set_xlabel("epoch")
ax1.set_ylabel("mean squared error")
ax1.legend()
ax2.set_title("test errors (lower left is better)")
ax2.set_xlabel("RMSE on frequent targets")
ax2.set_ylabel("RMSE on rare targets")
ax2.legend()
fig.tight_layout()
plt.show()

# %%
# The fitted augmenter lives on the model as ``augmenter_``; it trained its autoencoder on the
# model's training windows and needs no predictor of its own.
model = pipes["duplication x4, perturbed on the fly"].named_steps["model"]
print(type(model.augmenter_).__name__, "predictor:", model.augmenter_.predictor_module_)
