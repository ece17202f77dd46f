"""
==========================================================
Imbalanced classification with window samplers
==========================================================

Two classes of noisy waveforms, the second one rare (5% of the training windows). Each sampler
balances the training set inside an :class:`imblearn.pipeline.Pipeline` in front of a classic
scikit-learn classifier (:class:`~sktsgen.preprocessing.WindowFlattener` turns windows into
rows); the test windows are never resampled. Balanced accuracy weighs both classes equally.

Which sampler wins on one small synthetic set is chance: the :doc:`benchmarks </benchmarks>`
compare them over ten seeds on GunPoint and JapaneseVowels, where none beat duplication beyond
noise.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from sktsgen.over_sampling import (
    JitterOverSampler,
    RandomWindowOverSampler,
    TimeWarpingOverSampler,
    WindowSMOTE,
)
from sktsgen.preprocessing import WindowFlattener

QUICK = os.environ.get("SKTSGEN_EXAMPLES_QUICK", "") not in ("", "0")
N_SEEDS = 2 if QUICK else 10


def make_waveforms(n_common, n_rare, rng):
    """Class 0: a bump early in the window; class 1: the bump a little later. Two channels."""
    steps = np.arange(40)
    centre = np.r_[rng.normal(15, 3, n_common), rng.normal(19, 3, n_rare)]
    bump = np.exp(-0.5 * ((steps[None, :] - centre[:, None]) / 4) ** 2)
    X = np.stack([bump, np.cumsum(bump, axis=1) / 10], axis=-1)
    X += rng.normal(0, 0.25, X.shape)
    y = np.r_[np.zeros(n_common, int), np.ones(n_rare, int)]
    return X, y


samplers = {
    "none": None,
    "duplication": RandomWindowOverSampler(random_state=0),
    "jitter": JitterOverSampler(sigma=0.1, random_state=0),
    "time warping": TimeWarpingOverSampler(random_state=0),
    "SMOTE": WindowSMOTE(random_state=0),
}
scores = {name: [] for name in samplers}
for seed in range(N_SEEDS):
    rng = np.random.default_rng(seed)
    X_train, y_train = make_waveforms(190, 10, rng)
    X_test, y_test = make_waveforms(200, 200, rng)
    for name, sampler in samplers.items():
        steps = [("sampler", sampler)] if sampler is not None else []
        pipe = Pipeline(steps + [("flatten", WindowFlattener()), ("scale", StandardScaler()),
                                 ("clf", LogisticRegression(max_iter=1000))])
        pipe.fit(X_train, y_train)
        scores[name].append(balanced_accuracy_score(y_test, pipe.predict(X_test)))

for name, s in scores.items():
    print(f"{name:>13}: balanced accuracy {np.mean(s):.3f} +- {np.std(s):.3f}")

# %%
# Balanced accuracy over seeds
# ----------------------------
fig, ax = plt.subplots(figsize=(8, 4))
names = list(scores)
ax.boxplot([scores[n] for n in names], showmeans=True)
ax.plot([], [], "^", color="tab:green", label="mean over seeds")
ax.set_xticks(np.arange(1, len(names) + 1), names)
ax.set_xlabel("over-sampler in front of the logistic regression")
ax.set_ylabel("balanced accuracy on the test set")
ax.set_title(f"Two classes, 5% rare: {N_SEEDS} training sets")
ax.legend(loc="lower right")
plt.show()

# %%
# What each sampler adds
# ----------------------
# One rare training window and a new window each sampler made from it.
rng = np.random.default_rng(0)
X_train, y_train = make_waveforms(190, 10, rng)
fig, ax = plt.subplots(figsize=(8, 4))
for name in ["jitter", "time warping", "SMOTE"]:
    sampler = samplers[name]
    X_res, _ = sampler.fit_resample(X_train, y_train)
    new = len(X_train)
    if name == "jitter":
        src = sampler.sample_indices_[new]
        ax.plot(X_train[src, :, 0], color="black", lw=2, label="source (rare class)")
    ax.plot(X_res[new, :, 0], ls="--", label=f"new window, {name}")
ax.set_xlabel("step")
ax.set_ylabel("channel 0")
ax.set_title("New minority windows (first new window of each sampler)")
ax.legend()
plt.show()
