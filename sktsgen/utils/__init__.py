"""Validation, windowing and torch helpers."""

from ._validation import check_n_samples, check_target, check_windows, validate_windows
from ._windows import make_windowed_target, sliding_windows, sliding_windows_frame

__all__ = [
    "check_n_samples",
    "check_target",
    "check_windows",
    "make_windowed_target",
    "sliding_windows",
    "sliding_windows_frame",
    "validate_windows",
]
