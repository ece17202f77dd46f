"""Generators of new time-series windows (scikit-learn estimators with ``fit``/``sample``)."""

from ._avatar import AvatarGenerator

__all__ = ["AvatarGenerator"]
