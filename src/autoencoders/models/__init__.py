"""PyTorch modules only: each is built from a config and holds no training or I/O code."""

from ..config import ArchitectureConfig
from .base import AutoEncoderModule
from .conv import ConvAutoEncoder
from .dense import DenseAutoEncoder
from .summary import layer_table

__all__ = ["AutoEncoderModule", "ConvAutoEncoder", "DenseAutoEncoder", "build_model",
           "layer_table"]


def build_model(config: ArchitectureConfig) -> AutoEncoderModule:
    """Build the autoencoder module that ``config`` describes (``config.kind``)."""
    return {"dense": DenseAutoEncoder, "conv": ConvAutoEncoder}[config.kind](config)
