"""2-D maps of latent codes for pictures: PCA (scikit-learn) and t-SNE (openTSNE)."""

from __future__ import annotations

import numpy as np

__all__ = ["map_2d", "MAP_METHODS"]

MAP_METHODS = ("pca", "tsne")


def map_2d(codes: np.ndarray, method: str = "pca", random_state: int = 0,
           n_jobs: int = -1) -> np.ndarray:
    """Project codes to two dimensions.

    Parameters
    ----------
    codes : ndarray, shape (n, d)
        Latent codes (or any features).
    method : {"pca", "tsne"}
        "pca": the first two principal components (scikit-learn ``PCA``). "tsne": openTSNE's
        FFT-accelerated t-SNE with its defaults (perplexity 30, PCA initialisation;
        Poličar, Stražar & Zupan 2024, J. Stat. Softw. 109(3)).
    random_state : int
        Seed of the t-SNE optimisation.
    n_jobs : int
        Threads for t-SNE (-1: all cores this process may use).

    Returns
    -------
    ndarray of float32, shape (n, 2)

    Raises
    ------
    ValueError
        For an unknown method, or fewer than 2 points (PCA) or 4 points (t-SNE).
    """
    codes = np.asarray(codes, dtype=np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        if len(codes) < 2:
            raise ValueError("a PCA map needs at least 2 points")
        out = PCA(n_components=min(2, codes.shape[1]), random_state=random_state)\
            .fit_transform(codes)
        if out.shape[1] < 2:  # 1-D codes: put them on a line
            out = np.column_stack([out, np.zeros(len(out))])
        return out.astype(np.float32)
    if method == "tsne":
        from openTSNE import TSNE

        if len(codes) < 4:
            raise ValueError("a t-SNE map needs at least 4 points")
        perplexity = min(30.0, (len(codes) - 1) / 3.0)
        emb = TSNE(perplexity=perplexity, n_jobs=n_jobs, random_state=random_state,
                   verbose=False).fit(codes.astype(np.float64))
        return np.asarray(emb, dtype=np.float32)
    raise ValueError(f"unknown map method {method!r}; choose one of {', '.join(MAP_METHODS)}")
