"""Transformers for windows: scaling that round-trips, flattening for classic models."""

from ._flatten import WindowFlattener
from ._scaling import WindowMinMaxScaler

__all__ = ["WindowFlattener", "WindowMinMaxScaler"]
