"""sktsgen: learned time-series generation and augmentation for scikit-learn.

The two estimators users reach for first are re-exported here; everything else lives in the
sub-packages (``sktsgen.generation``, ``sktsgen.over_sampling``, ``sktsgen.models``,
``sktsgen.metrics``, ``sktsgen.datasets``, ``sktsgen.preprocessing``, ``sktsgen.utils``,
``sktsgen.plotting``).
"""

from .generation import AvatarGenerator
from .over_sampling import LatentAdversarialSampler

__version__ = "0.1.0.dev0"

__all__ = ["AvatarGenerator", "LatentAdversarialSampler", "__version__"]
