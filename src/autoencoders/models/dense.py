"""The dense (fully connected) autoencoder of the reference notebook."""

from __future__ import annotations

from torch import nn

from ..config import ArchitectureConfig
from .base import AutoEncoderModule, dense_stack

__all__ = ["DenseAutoEncoder"]


class DenseAutoEncoder(AutoEncoderModule):
    """Encoder ``n_features → hidden_dims → latent_dim`` and the mirrored decoder.

    Parameters
    ----------
    config : ArchitectureConfig
        With ``kind="dense"``.

    References
    ----------
    The reference Keras notebook: Dense 400 → 200 → 100 → 50 → 25 (ReLU) and back to 784
    (sigmoid), 842,009 parameters for 28×28 input.
    """

    def __init__(self, config: ArchitectureConfig):
        super().__init__()
        self.config = config
        widths = (config.n_features, *config.hidden_dims)
        # (n, *input_shape) -> (n, n_features) -> ... -> (n, latent_dim [×2 if variational])
        self.encoder = nn.Sequential(
            nn.Flatten(start_dim=1),
            *dense_stack((*widths, self.code_width()), config.activation,
                         config.code_activation),
        )
        # (n, latent_dim) -> ... -> (n, n_features) -> (n, *input_shape)
        self.decoder = nn.Sequential(
            *dense_stack((config.latent_dim, *widths[::-1]), config.activation, "linear"),
            nn.Unflatten(1, tuple(config.input_shape)),
        )
        self.reset_parameters()
