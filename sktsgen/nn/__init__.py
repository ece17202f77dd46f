"""Pure torch modules (no scikit-learn in here). Windows are channel-last (batch, seq, feat)."""

from ._calibration import CovarianceCalibration, QuantileCalibration
from ._code_diffusion import CodeDiffusion
from ._code_mixture import ClassCodeMixture, CodeMixture, TargetCodeMixture
from ._fast_gru import GRULayer
from ._gru import GRUHead, GRUStepHead

__all__ = [
    "ClassCodeMixture",
    "CodeDiffusion",
    "CodeMixture",
    "CovarianceCalibration",
    "GRUHead",
    "GRULayer",
    "GRUStepHead",
    "QuantileCalibration",
    "TargetCodeMixture",
]
