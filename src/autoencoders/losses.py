"""Reconstruction losses, computed from decoder logits, and the regularisers of variational
and sparse autoencoders.

Units: ``per_pixel`` losses are means over features (pixels) and samples, the number Keras
reports for ``binary_crossentropy`` and the reference notebook's 0.0956; ``per_sample`` losses
are means over each sample's features, shape (n,). The KL divergence is in nats per sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["reconstruction_loss", "per_sample_loss", "kl_divergence", "l1_sparsity"]


def _elementwise(logits: torch.Tensor, target: torch.Tensor, loss: str,
                 output_activation: str) -> torch.Tensor:
    if loss == "bce":
        # BCE from logits: log-sum-exp form, exact where sigmoid() then log() underflows.
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    recon = torch.sigmoid(logits) if output_activation == "sigmoid" else logits
    return (recon - target).square()


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, loss: str,
                        output_activation: str = "sigmoid") -> torch.Tensor:
    """Mean reconstruction loss per pixel (feature), a scalar.

    Parameters
    ----------
    logits : Tensor of float32, shape (n, *feature_shape)
        Decoder output before the output activation.
    target : Tensor of float32, same shape
        The clean input; in [0, 1] for ``loss="bce"``.
    loss : {"bce", "mse"}
        Binary cross-entropy (nats per pixel) or squared error per pixel.
    output_activation : {"sigmoid", "linear"}
        How logits become reconstructions, for the MSE.
    """
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return _elementwise(logits, target, loss, output_activation).mean()


def per_sample_loss(logits: torch.Tensor, target: torch.Tensor, loss: str,
                    output_activation: str = "sigmoid") -> torch.Tensor:
    """Reconstruction loss of each sample, averaged over its features: shape (n,), float32."""
    return _elementwise(logits, target, loss, output_activation).flatten(1).mean(dim=1)


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag(exp(log_var))) ‖ N(0, I)) of each sample, in nats: shape (n,).

    Parameters
    ----------
    mean, log_var : Tensor of float32, shape (n, latent_dim)

    References
    ----------
    Kingma & Welling (2014), "Auto-encoding variational Bayes", ICLR, appendix B:
    −½ Σ (1 + log σ² − μ² − σ²).
    """
    return -0.5 * (1.0 + log_var - mean.square() - log_var.exp()).sum(dim=1)


def l1_sparsity(code: torch.Tensor) -> torch.Tensor:
    """Mean absolute value of the entries of ``code`` (n, latent_dim), a scalar: the L1
    sparsity penalty per unit (Goodfellow, Bengio & Courville 2016, Deep Learning, section
    14.2.1)."""
    return code.abs().mean()
