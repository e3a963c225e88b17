"""Data sets that are always there, with no file or download: scikit-learn's digits."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["load_digits"]


def load_digits() -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load scikit-learn's bundled 8×8 handwritten digits (1,797 images, UCI ML repository).

    Returns
    -------
    X : ndarray of uint8, shape (1797, 8, 8)
        Pixel intensities rescaled from the original 0–16 to 0–255, so that the same input
        scaling (uint8 divided by 255) applies as for MNIST.
    y : ndarray of uint8, shape (1797,)
        Labels 0–9.

    References
    ----------
    Alpaydin & Kaynak (1998), "Optical Recognition of Handwritten Digits", UCI ML repository;
    shipped as ``sklearn.datasets.load_digits``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return X, bunch.target.astype(np.uint8)
