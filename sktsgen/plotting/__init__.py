"""Pictures of real vs synthetic windows (needs the optional ``plot`` extra: matplotlib)."""

from ._embedding import plot_embedding

__all__ = ["plot_embedding"]
