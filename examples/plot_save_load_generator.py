"""
==========================================================
Saving and loading a fitted generator
==========================================================

Fitted estimators pickle, like any scikit-learn estimator; :mod:`joblib` is the usual tool. A
loaded generator samples exactly what the original samples for the same ``random_state`` (on a
CPU, bit for bit), and a generator fitted on a GPU loads on a machine without one.
"""

import os
import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np

from sktsgen.datasets import make_sines
from sktsgen.generation import AvatarGenerator

QUICK = os.environ.get("SKTSGEN_EXAMPLES_QUICK", "") not in ("", "0")

X = make_sines(500 if QUICK else 2000, seq_len=24, n_features=2, random_state=0)
gen = AvatarGenerator(n_iter=5 if QUICK else 200, random_state=0).fit(X)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "avatar.joblib"
    joblib.dump(gen, path)
    print(f"saved {path.name}: {path.stat().st_size / 1e6:.2f} MB")
    loaded = joblib.load(path)

before = gen.sample(8, random_state=42)
after = loaded.sample(8, random_state=42)
print("identical samples:", np.array_equal(before, after))
print("loaded parameters equal:", loaded.get_params() == gen.get_params())

# %%
# The same windows from the original and the loaded generator
# -----------------------------------------------------------
fig, ax = plt.subplots(figsize=(8, 4))
for k in range(3):
    ax.plot(before[k, :, 0], color=f"C{k}", lw=3, alpha=0.4,
            label=f"window {k}, original generator")
    ax.plot(after[k, :, 0], color=f"C{k}", ls="--", label=f"window {k}, loaded generator")
ax.set_xlabel("step")
ax.set_ylabel("channel 0")
ax.set_title("sample(8, random_state=42) before saving and after loading")
ax.legend(fontsize="small", ncol=2)
plt.show()
