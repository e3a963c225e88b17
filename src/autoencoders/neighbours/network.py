"""The map's configuration and its network: PCA of the input (fixed, learnt at fit), then a
multilayer perceptron to ``n_components`` coordinates."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from ..config import ACTIVATIONS, PRECISIONS, check_scalar_types, is_whole_number
from ..models.base import dense_stack

__all__ = ["MapConfig", "MapNetwork", "BEFORE_FIELDS"]

#: What maps saved before these fields existed used: ReLU layers, no input noise. A saved
#: map's configuration (and a saved estimator's unfitted ``NeighbourMap``) without one of
#: them reads as this.
BEFORE_FIELDS: dict[str, Any] = {"activation": "relu", "input_noise": 0.0}


@dataclass(frozen=True)
class MapConfig:
    """How a parametric neighbour embedding is built and trained.

    Attributes
    ----------
    n_components : int
        Output coordinates (2 for a map; more for clustering).
    n_neighbors : int
        k of the k-nearest-neighbour graph (of the PCA inputs).
    n_pca : int
        The network sees the input's first ``n_pca`` principal components (fewer when the
        data has fewer features or samples), divided by the first one's standard deviation.
    hidden : tuple of int
        Widths of the network's hidden layers.
    activation : str
        Activation after each hidden layer, one of ``config.ACTIVATIONS``. Maps saved
        before the field existed read as "relu", which they used.
    epochs : float
        Passes over the graph's edges.
    min_steps : int
        Training steps at least, whatever the number of edges (small data).
    batch_size : int
        Edges per step.
    negatives : int
        Each edge's head is contrasted with the tails of its group of this many edges.
    learning_rate : float
        Adam's peak learning rate (warmed up over ``warmup`` of the steps, then cosine decay
        to 5 % of it).
    warmup : float
        Fraction of the steps of the warm-up.
    exaggeration : float
        The weight of attraction in the loss (t-SNE's exaggeration), at least 1.
    input_noise : float
        Standard deviation of Gaussian noise added to every PCA input while training, in
        the inputs' units (the first principal component's standard deviation); 0 adds
        none. Maps saved before the field existed read as 0, which they used.
    out_scale : float
        The network's output is multiplied by this: the initial map spans about this many
        units, the scale at which the Cauchy kernel separates clusters.
    clip_grad : float or None
        Clip the gradient's norm to this.
    pca_init_steps : int
        Steps of regression of the output onto the first PCA coordinates before training,
        so that the map starts from the PCA picture (t-SNE's PCA initialisation).
    precision : {"float32", "bfloat16"}
        The network's forward pass while training (bf16 autocast; the loss in float32).
        Placing points is always float32.

    Raises
    ------
    ValueError
        For non-positive sizes, rates or lengths.
    """

    n_components: int = 2
    n_neighbors: int = 15
    n_pca: int = 50
    hidden: tuple[int, ...] = (128, 128, 128, 128, 128, 128)
    activation: str = "gelu"
    epochs: float = 8.0
    min_steps: int = 500
    batch_size: int = 2048
    negatives: int = 1024
    learning_rate: float = 0.005
    warmup: float = 0.02
    exaggeration: float = 1.0
    input_noise: float = 0.1
    out_scale: float = 10.0
    clip_grad: float | None = 1.0
    pca_init_steps: int = 200
    precision: str = "float32"

    def __post_init__(self) -> None:
        check_scalar_types(self)
        for name in ("n_components", "n_neighbors", "n_pca", "min_steps", "batch_size",
                     "negatives"):
            value = getattr(self, name)
            if not is_whole_number(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive widths, got {self.hidden!r}")
        for name in ("epochs", "learning_rate", "out_scale"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        # Below 1 the loss has no minimum: scaling every coordinate by s changes
        # ρ·log(1 + d_aa) + log Σ_b q_ab by about (ρ − 1)·log s², falling without end as
        # the map grows (measured 2026-12-03, full MNIST at 0.8: loss −3.9 nats per edge,
        # trustworthiness 0.83).
        if not (self.exaggeration >= 1 and math.isfinite(self.exaggeration)):
            raise ValueError(f"exaggeration must be at least 1 (t-SNE's attraction; below "
                             f"it the points drift apart without end), got "
                             f"{self.exaggeration!r}")
        if not (self.input_noise >= 0 and math.isfinite(self.input_noise)):
            raise ValueError(f"input_noise must be a number ≥ 0, got {self.input_noise!r}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must be a fraction in [0, 1), got {self.warmup!r}")
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise ValueError(f"clip_grad must be positive or None, got {self.clip_grad!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got "
                             f"{self.precision!r}")
        if self.pca_init_steps < 0:
            raise ValueError(f"pca_init_steps must be ≥ 0, got {self.pca_init_steps!r}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Any) -> MapConfig:
        """:meth:`to_dict` read back.

        Raises
        ------
        ValueError
            For unknown fields or invalid values.
        """
        if not isinstance(data, dict):
            raise ValueError(f"MapConfig: expected a JSON object, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"MapConfig: unknown fields {sorted(unknown)}")
        try:
            kwargs: dict[str, Any] = {**BEFORE_FIELDS,
                                      **{k: tuple(v) if isinstance(v, list) else v
                                         for k, v in data.items()}}
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"MapConfig: {exc}") from None


class MapNetwork(nn.Module):
    """Inputs (n, n_features) → map coordinates (n, n_components).

    The PCA projection (``mean``, ``projection``) is a pair of buffers learnt from the
    training data before the network trains, and saved with it, so that the module alone
    places new points (and exports whole).

    Parameters
    ----------
    n_features : int
    n_inputs : int
        The number of principal components the network sees.
    config : MapConfig
    """

    mean: torch.Tensor
    projection: torch.Tensor

    def __init__(self, n_features: int, n_inputs: int, config: MapConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("projection", torch.zeros(n_features, n_inputs))
        self.net = nn.Sequential(*dense_stack(
            [n_inputs, *config.hidden, config.n_components], config.activation, "linear"))

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """(n, n_features) → the PCA inputs (n, n_inputs)."""
        return (x - self.mean) @ self.projection

    def head(self, z: torch.Tensor) -> torch.Tensor:
        """PCA inputs (n, n_inputs) → coordinates (n, n_components)."""
        y: torch.Tensor = self.net(z)
        return y * self.config.out_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, n_features) float32 → coordinates (n, n_components) float32."""
        return self.head(self.inputs(x))
