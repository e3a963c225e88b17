"""Parametric neighbour embeddings: 2-D maps (or more dimensions) of data, trained with a
contrastive neighbour-embedding objective on a k-nearest-neighbour graph, that place new
points with one forward pass (``NeighbourMap``)."""

from .estimator import MAP_FILE, NeighbourMap
from .fit import fit_map
from .network import MapConfig, MapNetwork

__all__ = ["NeighbourMap", "MapConfig", "MapNetwork", "fit_map", "MAP_FILE"]
