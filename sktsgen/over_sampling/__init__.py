"""Over-samplers of windows for imbalanced classification and regression (imblearn API)."""

from ._base import BaseWindowOverSampler, RandomWindowOverSampler

__all__ = ["BaseWindowOverSampler", "RandomWindowOverSampler"]
