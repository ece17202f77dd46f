"""
==========================================================
Tuning a generator with GridSearchCV
==========================================================

A generator is a scikit-learn estimator, so :class:`~sklearn.model_selection.GridSearchCV`
tunes it like any other. Without a ``scoring`` argument it uses the generator's own ``score``:
``1 - 2 * discriminative score`` of samples against the held-out fold, so higher is better and
1 means a classifier cannot tell samples from real windows. A second metric, the predictive
score, is added through :func:`~sktsgen.metrics.make_generation_scorer`.

The grid and the training are tiny so that the example runs in under a minute; the metrics are
noisy at this size (see :ref:`the metrics guide <metrics-noise>`), so confirm a winner with more
folds and :func:`~sktsgen.metrics.repeat_metric` before trusting it.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator
from sktsgen.metrics import make_generation_scorer

QUICK = os.environ.get("SKTSGEN_EXAMPLES_QUICK", "") not in ("", "0")

X = make_sines(300 if QUICK else 600, seq_len=16, n_features=3, random_state=0)

gen = AvatarGenerator(n_iter=3 if QUICK else 60, score_n_iter=30 if QUICK else 300,
                      code_mixture_components=5, random_state=0)
param_grid = {"hidden_size": [6, 12], "reconstruction_weight": [1.0, 100.0]}


def generator_score(estimator, X_test, y=None):
    """The generator's own ``score`` (what GridSearchCV uses without ``scoring``)."""
    return estimator.score(X_test)


scoring = {
    "score": generator_score,
    "predictive": make_generation_scorer("predictive", n_iter=30 if QUICK else 300,
                                         random_state=0),
}
search = GridSearchCV(gen, param_grid, cv=2, scoring=scoring, refit="score").fit(X)
print("best parameters:", search.best_params_)
print(f"best score (1 - 2 * discriminative): {search.best_score_:.3f}")

# %%
# Every candidate, both metrics
# -----------------------------
# The predictive scorer is negated (higher is better for every ``scoring`` entry), so it is
# flipped back here to read as an error.
results = pd.DataFrame(search.cv_results_)
labels = [f"hidden {p['hidden_size']}, weight {p['reconstruction_weight']:g}"
          for p in results["params"]]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
pos = np.arange(len(labels))
ax1.bar(pos, results["mean_test_score"], yerr=results["std_test_score"], color="tab:blue",
        label="mean over folds (bar: std)")
ax1.set_title("generator score (higher is better)")
ax1.set_ylabel("1 - 2 x discriminative score")
ax2.bar(pos, -results["mean_test_predictive"], yerr=results["std_test_predictive"],
        color="tab:orange", label="mean over folds (bar: std)")
ax2.set_title("predictive score (lower is better)")
ax2.set_ylabel("mean absolute error, next step")
for ax in (ax1, ax2):
    ax.set_xticks(pos, labels, rotation=20, ha="right")
    ax.set_xlabel("candidate")
    ax.legend(loc="lower right")
fig.suptitle("GridSearchCV over AvatarGenerator parameters (2 folds)")
fig.tight_layout()
plt.show()
