"""Measuring a representation: reconstruction quality and 2-D maps of the codes."""

from .maps import MAP_METHODS, map_2d
from .metrics import reconstruction_metrics

__all__ = ["reconstruction_metrics", "map_2d", "MAP_METHODS"]
