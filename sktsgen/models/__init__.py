"""Downstream models on windows as scikit-learn estimators."""

from ._gru import GRUClassifier, GRURegressor

__all__ = ["GRUClassifier", "GRURegressor"]
