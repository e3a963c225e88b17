"""Reconstruction metrics on arrays, returned as plain floats."""

from __future__ import annotations

import numpy as np

__all__ = ["reconstruction_metrics"]

_EPS = 1e-7  # Keras' backend epsilon: BCE clips predictions to [eps, 1 - eps] as Keras does


def reconstruction_metrics(X: np.ndarray, R: np.ndarray) -> dict[str, float]:
    """Compare inputs with their reconstructions, both with values in [0, 1].

    Parameters
    ----------
    X : ndarray of float, shape (n, ...)
        Inputs scaled to [0, 1] (uint8 pixels divided by 255).
    R : ndarray of float, same shape
        Reconstructions in [0, 1].

    Returns
    -------
    dict
        ``bce``: binary cross-entropy in nats, mean per pixel, with predictions clipped to
        [1e-7, 1 - 1e-7] as Keras' ``binary_crossentropy`` does (the reference notebook's
        0.0956 is this number); ``mse``: squared error, mean per pixel; ``sse_per_image``:
        summed squared error per image, mean over images (Hinton & Salakhutdinov 2006 report
        this for MNIST); ``psnr``: peak signal-to-noise ratio in dB with peak 1, from the
        mean per-pixel MSE.

    Raises
    ------
    ValueError
        When the shapes differ.
    """
    if X.shape != R.shape:
        raise ValueError(f"inputs {X.shape} and reconstructions {R.shape} differ in shape")
    X = X.reshape(len(X), -1).astype(np.float64)
    R = R.reshape(len(R), -1).astype(np.float64)
    Rc = np.clip(R, _EPS, 1 - _EPS)
    bce = -(X * np.log(Rc) + (1 - X) * np.log1p(-Rc)).mean()
    sq = (X - R) ** 2
    mse = sq.mean()
    return {
        "bce": float(bce),
        "mse": float(mse),
        "sse_per_image": float(sq.sum(axis=1).mean()),
        "psnr": float(10 * np.log10(1.0 / mse)) if mse > 0 else float("inf"),
    }
