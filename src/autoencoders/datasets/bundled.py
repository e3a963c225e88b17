"""Data sets that are always there, with no file or download: scikit-learn's digits."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["load_digits"]

#: Images in the fixed training split of the digits (the rest, 297, are the test split).
DIGITS_TRAIN = 1500


def load_digits(split: str | None = None) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load scikit-learn's bundled 8×8 handwritten digits (1,797 images, UCI ML repository).

    Parameters
    ----------
    split : {"train", "test"}, optional
        As ``load_mnist`` takes one: "train" is the first 1,500 images and "test" the
        remaining 297 (a fixed split, as runs on "digits" use: they have no official one);
        all 1,797 by default.

    Returns
    -------
    X : ndarray of uint8, shape (1797, 8, 8), (1500, 8, 8) or (297, 8, 8)
        Pixel intensities rescaled from the original 0–16 to 0–255, so that the same input
        scaling (uint8 divided by 255) applies as for MNIST.
    y : ndarray of uint8, shape (n,)
        Labels 0–9.

    Raises
    ------
    ValueError
        For a split other than "train", "test" or None.

    References
    ----------
    Alpaydin & Kaynak (1998), "Optical Recognition of Handwritten Digits", UCI ML repository;
    shipped as ``sklearn.datasets.load_digits``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None (all), got {split!r}")
    bunch = _sk_load_digits()
    X = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    cut = {None: slice(None), "train": slice(0, DIGITS_TRAIN), "test": slice(DIGITS_TRAIN, None)}
    return X[cut[split]], bunch.target.astype(np.uint8)[cut[split]]

