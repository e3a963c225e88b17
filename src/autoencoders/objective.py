"""What training minimises and what a variational model scores: the objective of a batch
and the evidence lower bound, built on one pass through the code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .config import TrainingConfig
from .corruption import corrupt
from .losses import kl_divergence, l1_sparsity, per_sample_loss, reconstruction_loss
from .runtime import native_bf16

if TYPE_CHECKING:
    from .models.base import AutoEncoderModule

__all__ = ["batch_objective", "elbo", "Objective"]


def _through_code(model: AutoEncoderModule, x_in: torch.Tensor,
                  generator: torch.Generator | None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Encode ``x_in``; draw the code of a variational model by reparameterisation; decode.

    Returns (decoder logits (b, *feature_shape), code mean (b, latent_dim), log-variance
    (b, latent_dim) or None)."""
    mean, log_var = model.encode_stats(x_in)
    code = mean if log_var is None else model.sample_code(mean, log_var, generator)
    return model.decode_logits(code), mean, log_var


def batch_objective(model: AutoEncoderModule, xb: torch.Tensor, recipe: TrainingConfig,
                    kl_weight: float = 1.0, generator: torch.Generator | None = None
                    ) -> torch.Tensor:
    """The training objective of one batch, a scalar in per-pixel units.

    The reconstruction loss (per pixel) of the clean batch ``xb`` from the model's code of
    its corrupted copy (denoising; ``recipe.corruption``), with, for a variational model,
    a code drawn by the reparameterisation trick and ``kl_weight · beta`` times the KL
    divergence per sample divided by the number of features — so that with weight 1 the
    objective is the negative ELBO per pixel for the BCE loss (Kingma & Welling 2014) —
    and ``recipe.sparsity`` times the code's mean absolute value.

    Parameters
    ----------
    model : AutoEncoderModule
    xb : Tensor of float32, shape (b, *feature_shape)
        A scaled training batch.
    recipe : TrainingConfig
    kl_weight : float, default 1
        The KL warm-up factor in [0, 1] at this step.
    generator : torch.Generator, optional
        Source of the corruption noise and the variational draws, on ``xb``'s device; by
        default torch's global generator.
    """
    out_act = model.config.output_activation
    x_in = xb if recipe.corruption == "none" else corrupt(
        xb, recipe.corruption, clip=out_act == "sigmoid", generator=generator)
    # bf16 autocast: measured on this project's CPU (benchmarks/gpu.py --device cpu, AMX),
    # a conv step 1.66× faster with the same test BCE, a dense step 1.17× slower; the loss
    # and the KL term are computed from float32 copies.
    with torch.autocast(xb.device.type, dtype=torch.bfloat16,
                        enabled=recipe.precision == "bfloat16"):
        logits, mean, log_var = _through_code(model, x_in, generator)
    logits, mean = logits.float(), mean.float()
    log_var = None if log_var is None else log_var.float()
    loss = reconstruction_loss(logits, xb, recipe.loss, out_act)
    if log_var is not None and recipe.beta > 0:
        kl = kl_divergence(mean, log_var).mean() / model.config.n_features
        loss = loss + (recipe.beta * kl_weight) * kl
    if recipe.sparsity > 0:
        loss = loss + recipe.sparsity * l1_sparsity(mean)
    return loss


def elbo(model: AutoEncoderModule, xb: torch.Tensor,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """The evidence lower bound of each sample of a variational model, in nats.

    ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I)), with the Bernoulli likelihood of
    the BCE loss summed over the features and one code drawn from q per sample (an unbiased
    estimate; Kingma & Welling 2014, "Auto-encoding variational Bayes", ICLR, eq. 10).

    Parameters
    ----------
    model : AutoEncoderModule
        Variational, with a sigmoid output.
    xb : Tensor of float32, shape (b, *feature_shape), in [0, 1]
    generator : torch.Generator, optional
        Draws the codes, on ``xb``'s device.

    Returns
    -------
    Tensor of float32, shape (b,)
    """
    logits, mean, log_var = _through_code(model, xb, generator)
    assert log_var is not None  # a variational model (the caller checks)
    bce = per_sample_loss(logits, xb, "bce") * model.config.n_features
    return -(bce + kl_divergence(mean, log_var))


class Objective(nn.Module):
    """:func:`batch_objective` as a module, so that DistributedDataParallel can wrap it:
    DDP averages the gradients of what its wrapped module's ``forward`` computes."""

    def __init__(self, model: AutoEncoderModule, recipe: TrainingConfig) -> None:
        super().__init__()
        self.model, self.recipe = model, recipe
        device = next(model.parameters()).device
        if recipe.precision == "bfloat16" and device.type == "cuda" and not native_bf16(device):
            raise ValueError(f"{torch.cuda.get_device_name(device)} has no bfloat16 support; "
                             "train with precision='float32' (--precision float32)")

    def forward(self, xb: torch.Tensor, kl_weight: float,
                generator: torch.Generator | None) -> torch.Tensor:
        return batch_objective(self.model, xb, self.recipe, kl_weight, generator)
