"""Input corruptions of denoising autoencoders, applied to training batches only.

Reference: Vincent, Larochelle, Lajoie, Bengio & Manzagol (2010), "Stacked denoising
autoencoders", JMLR 11, section 4.1 (additive Gaussian, masking and salt-and-pepper noise).
"""

from __future__ import annotations

import torch

from .config import CORRUPTIONS, parse_corruption

__all__ = ["corrupt", "CORRUPTIONS"]


def corrupt(x: torch.Tensor, corruption: str | tuple[str, float] | None, *, clip: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Return a corrupted copy of ``x``; ``x`` itself is not changed.

    Parameters
    ----------
    x : Tensor of float32, shape (n, *feature_shape)
        Scaled input.
    corruption : str or (str, float) or None
        As :func:`autoencoders.config.parse_corruption`: "gaussian:σ" adds N(0, σ²) noise
        to every feature; "masking:p" sets each feature to 0 with probability p;
        "salt-pepper:p" sets each feature with probability p to 0 or 1, each half the time.
        None or "none" returns ``x``.
    clip : bool, default True
        Clip Gaussian-noised values to [0, 1], so that noisy images stay images (for data
        in [0, 1]; pass False for unbounded data).
    generator : torch.Generator, optional
        On ``x``'s device; by default torch's global generator (which training checkpoints
        record, so a resumed run draws the same noise).

    Returns
    -------
    Tensor of float32, same shape and device as ``x``.

    Raises
    ------
    ValueError
        For an invalid ``corruption``.
    """
    parsed = parse_corruption(corruption)
    if parsed is None:
        return x
    kind, level = parsed

    def uniform() -> torch.Tensor:
        return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)

    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        out = x + level * noise
        return out.clamp_(0.0, 1.0) if clip else out
    hit = uniform() < level
    if kind == "masking":
        return x.masked_fill(hit, 0.0)
    salt = uniform() < 0.5
    return torch.where(hit, salt.to(x.dtype), x)
