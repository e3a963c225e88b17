"""What every autoencoder module shares: the code (plain or variational), decoding, the
output activation and Keras-style initialisation. Subclasses only build ``encoder`` and
``decoder``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from ..config import ArchitectureConfig

__all__ = ["AutoEncoderModule", "make_activation", "dense_stack"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for one of ``config.ACTIVATIONS``."""
    return _ACTIVATIONS[name]()


def dense_stack(widths: Sequence[int], activation: str, last_activation: str) -> list[nn.Module]:
    """Linear layers ``widths[0] → widths[1] → …``, ``activation`` after each but the last,
    which gets ``last_activation`` ("linear" adds no module)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        act = last_activation if i == len(widths) - 2 else activation
        if act != "linear":
            layers.append(make_activation(act))
    return layers


class AutoEncoderModule(nn.Module):
    """Base of the autoencoder modules: ``encoder`` maps (n, *input_shape) to the code
    (n, latent_dim), or for a variational model to the mean and log-variance side by side
    (n, 2·latent_dim); ``decoder`` maps codes to logits (n, *input_shape).

    The decoder returns *logits*: the output activation (sigmoid for data in [0, 1]) is
    applied by :meth:`decode` and :meth:`reconstruct`, so that the BCE loss is computed
    from logits, which is exact where ``sigmoid`` then ``log`` would underflow.

    ``forward`` is deterministic (a variational model decodes its mean): the training loop
    draws the variational sample itself, through :meth:`encode_stats` and
    :meth:`sample_code`.

    Weights are initialised as Keras does (Glorot-uniform weights, zero biases): the
    reference notebook's results depend on it (Glorot & Bengio 2010, AISTATS).
    """

    config: ArchitectureConfig
    encoder: nn.Module
    decoder: nn.Module

    def code_width(self) -> int:
        """Width of the encoder's output: the code, or mean and log-variance."""
        return self.config.latent_dim * (2 if self.config.variational else 1)

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases, as Keras' layers default to."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight)
                assert module.bias is not None  # built with biases
                nn.init.zeros_(module.bias)

    @torch.no_grad()
    def init_output_bias(self, mean: torch.Tensor) -> None:
        """Set the output layer's bias so that a zero code reconstructs about ``mean``.

        Parameters
        ----------
        mean : Tensor of float32, shape input_shape
            Per-feature mean of the (scaled) training data; a convolutional output layer
            has one bias per channel and gets the channel's mean. For a sigmoid output the
            bias becomes the logit, with the mean clipped to [1e-4, 1 - 1e-4] so that
            always-black pixels get a finite bias (-9.2).
        """
        last = next(m for m in reversed(list(self.decoder.modules()))
                    if isinstance(m, (nn.Linear, nn.ConvTranspose2d)))
        assert last.bias is not None  # built with biases
        if isinstance(last, nn.ConvTranspose2d):
            mean = mean.reshape(last.out_channels, -1).mean(dim=1)
        mean = mean.reshape(-1).to(last.bias)
        if self.config.output_activation == "sigmoid":
            p = mean.clamp(1e-4, 1 - 1e-4)
            mean = torch.log(p) - torch.log1p(-p)
        last.bias.copy_(mean)

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(n, *input_shape) → (code or mean (n, latent_dim), log-variance (n, latent_dim)
        for a variational model, else None)."""
        h = self.encoder(x)
        if not self.config.variational:
            return h, None
        mean, log_var = h.chunk(2, dim=1)  # (n, 2·latent) -> 2 × (n, latent)
        return mean, log_var

    @staticmethod
    def sample_code(mean: torch.Tensor, log_var: torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """The reparameterisation trick: ``mean + exp(log_var / 2) · ε``, ε ~ N(0, I)
        (Kingma & Welling 2014, "Auto-encoding variational Bayes", ICLR)."""
        eps = torch.randn(mean.shape, generator=generator, device=mean.device,
                          dtype=mean.dtype)
        return mean + torch.exp(0.5 * log_var) * eps

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(n, *input_shape) float32 → latent codes (n, latent_dim) float32 (the mean, for a
        variational model)."""
        return self.encode_stats(x)[0]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(n, latent_dim) → decoder output before the output activation, (n, *input_shape)."""
        return cast(torch.Tensor, self.decoder(z))

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
        return cast(torch.Tensor, self.decoder(self.encode(x)))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """(n, *input_shape) → reconstructions (n, *input_shape), output activation applied."""
        return self.output_activation(self.forward(x))
