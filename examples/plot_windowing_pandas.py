"""
==========================================================
Windowing a long pandas series
==========================================================

Estimators in sktsgen take windows ``(n_samples, seq_len, n_features)``. Long recordings come as
a :class:`pandas.DataFrame` with one row per time step; this example cuts one into windows with
:func:`~sktsgen.utils.sliding_windows` (for generators) and into a supervised task with
:func:`~sktsgen.utils.make_windowed_target` (inputs: 48 hours of every column; target: the mean
of one column over the next 6 hours).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sktsgen.utils import make_windowed_target, sliding_windows, sliding_windows_frame

rng = np.random.default_rng(0)
index = pd.date_range("2024-01-01", periods=24 * 21, freq="h")
hours = np.arange(len(index))
df = pd.DataFrame({
    "temperature": 5 + 4 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 0.5, len(index)),
    "demand": 100 + 30 * np.sin(2 * np.pi * (hours - 18) / 24) + rng.normal(0, 5, len(index)),
}, index=index)

# %%
# Windows for a generator
# -----------------------
W = sliding_windows(df, window_length=24, stride=12)   # every 12 hours, 24 hours long
W_frame, columns = sliding_windows_frame(df, window_length=24, stride=12)
print("windows:", W.shape, "channels:", list(columns))

# %%
# A supervised task: the next 6 hours' mean demand
# ------------------------------------------------
X, y = make_windowed_target(df, input_length=48, horizon=6, target="demand")
print("inputs:", X.shape, "targets:", y.shape)

# %%
# Which rows make the first windows and targets
# ---------------------------------------------
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
ax1.plot(df.index, df["demand"], color="grey", label="demand (hourly)")
for k, color in zip(range(3), ["tab:blue", "tab:orange", "tab:green"]):
    start = df.index[12 * k]
    ax1.axvspan(start, start + pd.Timedelta(hours=23), color=color, alpha=0.2,
                label=f"window {k} (24 h, stride 12 h)")
ax1.set_ylabel("demand")
ax1.set_title("sliding_windows: overlapping 24-hour windows")
ax1.legend(loc="upper right", fontsize="small")

ax2.plot(df.index, df["demand"], color="grey", label="demand (hourly)")
ax2.axvspan(df.index[0], df.index[47], color="tab:blue", alpha=0.2, label="input: 48 h")
ax2.axvspan(df.index[48], df.index[53], color="tab:red", alpha=0.3,
            label="target: mean of the next 6 h")
ax2.axhline(y[0], xmin=0, xmax=1, color="tab:red", ls="--", label=f"y[0] = {y[0]:.1f}")
ax2.set_xlabel("time")
ax2.set_ylabel("demand")
ax2.set_title("make_windowed_target: input window and target of the first sample")
ax2.legend(loc="upper right", fontsize="small")
ax2.set_xlim(df.index[0], df.index[24 * 4])
fig.autofmt_xdate()
fig.tight_layout()
plt.show()

# %%
# The targets follow the series
# -----------------------------
fig, ax = plt.subplots(figsize=(11, 3.5))
target_times = df.index[48:48 + len(y)]
ax.plot(df.index, df["demand"], color="grey", alpha=0.6, label="demand (hourly)")
ax.plot(target_times, y, color="tab:red", label="target: next 6 h mean, at its first hour")
ax.set_xlabel("time")
ax.set_ylabel("demand")
ax.set_title(f"{len(y)} targets of make_windowed_target(input_length=48, horizon=6)")
ax.legend(loc="upper right")
plt.show()
