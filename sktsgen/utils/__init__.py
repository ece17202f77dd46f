"""Validation, windowing and torch helpers."""

from ._lengths import pad_windows, unpad_windows, window_lengths
from ._validation import check_n_samples, check_target, check_windows, validate_windows
from ._windows import make_windowed_target, sliding_windows, sliding_windows_frame

__all__ = [
    "check_n_samples",
    "check_target",
    "check_windows",
    "make_windowed_target",
    "pad_windows",
    "sliding_windows",
    "sliding_windows_frame",
    "unpad_windows",
    "validate_windows",
    "window_lengths",
]
