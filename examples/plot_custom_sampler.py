"""
==========================================================
Writing your own sampler on the base class
==========================================================

Every sampler in :mod:`sktsgen.over_sampling` derives from
:class:`~sktsgen.over_sampling.BaseWindowOverSampler`, which decides *which* windows are
augmented and *how many* new windows each class (or the rare targets) gets, for classification
and regression alike. A new sampler only says how one new window is made from its source.

Here: a "mix-up with the class mean" sampler. Each new window is ``(1 - alpha) * source + alpha *
mean of its class``, with ``alpha`` drawn per window. It learns the class means in
``_fit_augmenter`` (from all windows) and makes the windows in ``_augment``.
"""

from numbers import Real
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from sktsgen.over_sampling import BaseWindowOverSampler
from sktsgen.preprocessing import WindowFlattener


class MeanMixOverSampler(BaseWindowOverSampler):
    """Over-sample by mixing each source window with the mean window of its class.

    Parameters
    ----------
    max_alpha : float, default=0.3
        Largest weight of the class mean; each new window draws its own in [0, max_alpha].
    sampling_strategy, minority_threshold, random_state
        As in :class:`~sktsgen.over_sampling.BaseWindowOverSampler`.
    """

    # Validated by ``fit_resample`` (scikit-learn's parameter validation).
    _parameter_constraints: ClassVar[dict] = {
        **BaseWindowOverSampler._parameter_constraints,
        "max_alpha": [Real],
    }

    def __init__(self, *, max_alpha=0.3, sampling_strategy="auto", minority_threshold=None,
                 random_state=None):
        super().__init__(sampling_strategy=sampling_strategy,
                         minority_threshold=minority_threshold, random_state=random_state)
        self.max_alpha = max_alpha

    def _fit_augmenter(self, X, y, rare_mask, random_state):
        # In regression ``rare_mask`` marks the rare windows; here, classification only.
        self.class_means_ = {label: X[y == label].mean(axis=0) for label in np.unique(y)}

    def _augment(self, X_source, y_source, random_state):
        means = np.stack([self.class_means_[label] for label in y_source])
        alpha = random_state.uniform(0, self.max_alpha, size=(len(X_source), 1, 1))
        return (1 - alpha) * X_source + alpha * means


# %%
# It behaves like every sampler: parameters, clone, fit_resample, pipelines
# -------------------------------------------------------------------------
rng = np.random.default_rng(0)
steps = np.arange(30)
X_common = np.sin(steps / 4)[None, :, None] + rng.normal(0, 0.3, (95, 30, 1))
X_rare = np.cos(steps / 4)[None, :, None] + rng.normal(0, 0.3, (5, 30, 1))
X = np.concatenate([X_common, X_rare])
y = np.r_[np.zeros(95, int), np.ones(5, int)]

sampler = clone(MeanMixOverSampler(max_alpha=0.5, random_state=0))
X_res, y_res = sampler.fit_resample(X, y)
print("before:", np.bincount(y), "after:", np.bincount(y_res))
print("new windows per class:", {int(k): int(v) for k, v in sampler.sampling_strategy_.items()})

pipe = Pipeline([("sampler", sampler), ("flatten", WindowFlattener()),
                 ("clf", LogisticRegression(max_iter=1000))]).fit(X, y)
print("training accuracy of the pipeline:", pipe.score(X, y))

# %%
# The new windows lie between their source and the class mean
# -----------------------------------------------------------
fig, ax = plt.subplots(figsize=(8, 4))
new = np.arange(len(X), len(X_res))
for k, i in enumerate(new[:5]):
    ax.plot(steps, X_res[i, :, 0], color="tab:blue", alpha=0.6,
            label="new windows" if k == 0 else None)
for k, i in enumerate(np.unique(sampler.sample_indices_[new])[:5]):
    ax.plot(steps, X[i, :, 0], color="tab:red", alpha=0.6,
            label="rare source windows" if k == 0 else None)
ax.plot(steps, sampler.class_means_[1][:, 0], color="black", lw=2, label="rare class mean")
ax.set_xlabel("step")
ax.set_ylabel("value")
ax.set_title("MeanMixOverSampler: new rare windows pulled towards their class mean")
ax.legend()
plt.show()
