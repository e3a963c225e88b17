"""2-D pictures of latent codes by PCA, t-SNE or UMAP (the model's own map is
``autoencoders.neighbours``)."""

from __future__ import annotations

import numpy as np

from .reducers import make_reducer

__all__ = ["map_2d", "MAP_METHODS"]

MAP_METHODS = ("pca", "tsne", "umap")


def map_2d(codes: np.ndarray, method: str = "pca", random_state: int = 0) -> np.ndarray:
    """Project codes to two dimensions.

    Parameters
    ----------
    codes : ndarray, shape (n, d)
        Latent codes (or any features).
    method : {"pca", "tsne", "umap"}
        See :func:`autoencoders.evaluation.reducers.make_reducer`.
    random_state : int
        Seed of the t-SNE or UMAP optimisation.

    Returns
    -------
    ndarray of float32, shape (n, 2)

    Raises
    ------
    ValueError
        For an unknown method, or fewer than 2 points (PCA) or 4 points (t-SNE).
    ImportError
        For "umap" without umap-learn.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if method == "pca":
        if len(codes) < 2:
            raise ValueError("a PCA map needs at least 2 points")
        if codes.shape[1] < 2:  # 1-D codes: put them on a line
            return np.column_stack([codes[:, 0] - codes[:, 0].mean(),
                                    np.zeros(len(codes))]).astype(np.float32)
    if np.ptp(codes, axis=0).max(initial=0.0) == 0:  # constant codes (dead units): a dot
        return np.zeros((len(codes), 2), np.float32)
    out = make_reducer(method, 2, random_state).fit_transform(codes)
    return np.asarray(out, dtype=np.float32)

