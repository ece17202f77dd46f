"""Transformers for windows: scaling that round-trips."""

from ._scaling import WindowMinMaxScaler

__all__ = ["WindowMinMaxScaler"]
