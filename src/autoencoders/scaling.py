"""The input-scaling policy: how raw arrays become the model's float32 input, and back.

``"auto"`` divides uint8 input by 255 (pixel intensities to [0, 1], as the reference notebook
does) and uses every other dtype as it is. ``"minmax"`` maps each feature to [0, 1] with the
training data's per-feature minimum and range, stored with the model; values of new data
beyond the training range are clipped to [0, 1]. ``"none"`` changes
nothing. The policy is saved in ``config.json`` and the min-max statistics in
``model.safetensors``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_scaling", "scale", "unscale", "model_input"]


def fit_scaling(kind: str, X: np.ndarray) -> dict[str, np.ndarray]:
    """Learn the statistics a policy needs from training data.

    Parameters
    ----------
    kind : {"auto", "minmax", "none"}
    X : ndarray, shape (n, *feature_shape)
        Raw training data.

    Returns
    -------
    dict
        ``{}`` for "auto" and "none"; for "minmax", ``{"offset": min, "scale": 1/range}``,
        float32 arrays of shape feature_shape (a constant feature gets scale 1).
    """
    if kind != "minmax":
        return {}
    lo = X.min(axis=0).astype(np.float64)
    span = X.max(axis=0).astype(np.float64) - lo
    scale_ = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 1.0)
    return {"offset": lo.astype(np.float32), "scale": scale_.astype(np.float32)}


def scale(X: np.ndarray, kind: str, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Raw (n, *feature_shape) array → C-contiguous float32 model input, same shape."""
    if kind == "minmax":
        # New data beyond the training range is clipped to it, so that it stays valid for
        # the BCE loss and a sigmoid output.
        out = np.ascontiguousarray((X - stats["offset"]) * stats["scale"], dtype=np.float32)
        return np.clip(out, 0.0, 1.0, out=out)
    if kind == "auto" and X.dtype == np.uint8:
        out = np.ascontiguousarray(X, dtype=np.float32)
        out *= np.float32(1.0 / 255.0)
        return out
    with np.errstate(over="ignore"):  # overflow becomes inf, which the caller reports
        return np.ascontiguousarray(X, dtype=np.float32)


def model_input(X: np.ndarray, kind: str, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Raw array → what the training loop and inference take: like :func:`scale`, except that
    uint8 under ``"auto"`` stays uint8 (contiguous).

    The loop divides uint8 batches by 255 as it slices them
    (``training.as_float_input``), so a data set is held at one byte per pixel instead of
    four: 47 MB rather than 188 MB for MNIST's training images.
    """
    if kind == "auto" and X.dtype == np.uint8:
        return np.ascontiguousarray(X)
    return scale(X, kind, stats)


def unscale(R: np.ndarray, kind: str, stats: dict[str, np.ndarray]) -> np.ndarray:
    """Model-space reconstructions → the input's units (only "minmax" changes anything).

    Under "auto", reconstructions of uint8 images stay intensities in [0, 1] (float32), the
    convention for image models; they are not rounded back to 0–255.
    """
    if kind == "minmax":
        return (R / stats["scale"] + stats["offset"]).astype(np.float32)
    return R
