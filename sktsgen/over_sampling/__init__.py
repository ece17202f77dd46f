"""Over-samplers of windows for imbalanced classification and regression (imblearn API)."""

from ._augmenters import JitterOverSampler, MagnitudeWarpingOverSampler, TranslationOverSampler
from ._base import BaseWindowOverSampler, RandomWindowOverSampler
from ._generative import GenerativeWindowOverSampler
from ._latent_adversarial import LatentAdversarialSampler
from ._smote import WindowSMOTE
from ._warping import TimeWarpingOverSampler, WindowWarpingOverSampler

__all__ = [
    "BaseWindowOverSampler",
    "GenerativeWindowOverSampler",
    "JitterOverSampler",
    "LatentAdversarialSampler",
    "MagnitudeWarpingOverSampler",
    "RandomWindowOverSampler",
    "TimeWarpingOverSampler",
    "TranslationOverSampler",
    "WindowSMOTE",
    "WindowWarpingOverSampler",
]
