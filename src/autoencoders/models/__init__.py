"""PyTorch modules only: each is built from a config and holds no training or I/O code."""

from .dense import DenseAutoEncoder, build_model
from .summary import layer_table

__all__ = ["DenseAutoEncoder", "build_model", "layer_table"]
