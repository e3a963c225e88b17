"""The dense (fully connected) autoencoder of the reference notebook."""

from __future__ import annotations

import torch
from torch import nn

from ..config import ArchitectureConfig

__all__ = ["DenseAutoEncoder", "build_model", "make_activation"]


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for one of ``config.ACTIVATIONS``."""
    return {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "elu": nn.ELU,
        "gelu": nn.GELU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "linear": nn.Identity,
    }[name]()


def _dense_stack(widths, activation: str, last_activation: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        is_last = i == len(widths) - 2
        act = last_activation if is_last else activation
        if act != "linear":
            layers.append(make_activation(act))
    return layers


class DenseAutoEncoder(nn.Module):
    """Encoder ``n_features → hidden_dims → latent_dim`` and the mirrored decoder.

    The decoder returns *logits*: the output activation (sigmoid for data in [0, 1]) is
    applied by :meth:`reconstruct`, so that the BCE loss can be computed from logits, which
    is exact where ``sigmoid`` then ``log`` would underflow.

    Weights are initialised as Keras does (Glorot-uniform weights, zero biases): the
    reference notebook's results depend on it, and on MNIST it trains faster than PyTorch's
    default (Kaiming-uniform with a=√5).

    Parameters
    ----------
    config : ArchitectureConfig

    References
    ----------
    Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural
    networks", AISTATS.
    """

    def __init__(self, config: ArchitectureConfig):
        super().__init__()
        self.config = config
        widths = (config.n_features, *config.hidden_dims, config.latent_dim)
        # (n, *input_shape) -> (n, n_features) -> ... -> (n, latent_dim)
        self.encoder = nn.Sequential(
            nn.Flatten(start_dim=1),
            *_dense_stack(widths, config.activation, config.code_activation),
        )
        # (n, latent_dim) -> ... -> (n, n_features) -> (n, *input_shape)
        self.decoder = nn.Sequential(
            *_dense_stack(widths[::-1], config.activation, "linear"),
            nn.Unflatten(1, tuple(config.input_shape)),
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases, as Keras' ``Dense`` defaults."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    @torch.no_grad()
    def init_output_bias(self, mean: torch.Tensor) -> None:
        """Set the output layer's bias so that a zero code reconstructs ``mean``.

        Parameters
        ----------
        mean : Tensor of float32, shape input_shape
            Per-feature mean of the (scaled) training data. For a sigmoid output the bias
            becomes its logit, with the mean clipped to [1e-4, 1 - 1e-4] so that
            always-black pixels get a finite bias (-9.2).
        """
        last = next(m for m in reversed(self.decoder) if isinstance(m, nn.Linear))
        mean = mean.reshape(-1).to(last.bias)
        if self.config.output_activation == "sigmoid":
            p = mean.clamp(1e-4, 1 - 1e-4)
            mean = torch.log(p) - torch.log1p(-p)
        last.bias.copy_(mean)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(n, *input_shape) float32 → latent codes (n, latent_dim) float32."""
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(n, latent_dim) → decoder output before the output activation, (n, *input_shape)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(n, latent_dim) → reconstructions (n, *input_shape), output activation applied."""
        return self.output_activation(self.decoder(z))

    def output_activation(self, logits: torch.Tensor) -> torch.Tensor:
        """Map decoder logits to reconstructions: sigmoid, or identity for linear output."""
        if self.config.output_activation == "sigmoid":
            return torch.sigmoid(logits)
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, *input_shape) → decoder logits (n, *input_shape); see :meth:`reconstruct`."""
        return self.decoder(self.encoder(x))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """(n, *input_shape) → reconstructions (n, *input_shape), output activation applied."""
        return self.output_activation(self.forward(x))


def build_model(config: ArchitectureConfig) -> nn.Module:
    """Build the autoencoder module described by ``config``."""
    return DenseAutoEncoder(config)
