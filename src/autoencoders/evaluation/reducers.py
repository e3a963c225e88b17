"""Dimensionality reducers with one interface: fit on a training split, transform new points.

PCA (scikit-learn), t-SNE (openTSNE, which embeds new points into a fitted map) and UMAP
(umap-learn, an optional extra). Used for the baselines of ``autoencoders evaluate`` and the
2-D maps of codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["make_reducer", "REDUCERS", "default_baselines", "umap_available",
           "require_umap"]

REDUCERS = ("pca", "tsne", "umap")


def umap_available() -> bool:
    """Whether umap-learn is installed (without importing it: that takes seconds).

    umap-learn stays an extra, not a dependency: with numba and llvmlite it adds 217 MB to
    an install (llvmlite 173 MB) and ``import umap`` took 6.8-9.5 s here (2-core Xeon,
    2026-12-01), and numba supports a new Python months after its release. So a plain
    install runs every default without it, and uses it when it is there.
    """
    import importlib.util

    try:
        return importlib.util.find_spec("umap") is not None
    except (ImportError, ValueError):
        return False


def default_baselines() -> tuple[str, ...]:
    """What ``evaluate`` compares with unless told: PCA and t-SNE (openTSNE, a dependency),
    and UMAP when umap-learn is installed."""
    return REDUCERS if umap_available() else ("pca", "tsne")


def require_umap() -> Any:
    """Import umap-learn, or raise an ImportError that says how to install it."""
    try:
        import umap
    except ImportError:
        raise ImportError("UMAP needs umap-learn: pip install 'umap-learn>=0.5' (the umap "
                          "extra)") from None
    return umap


class _TSNE:
    """openTSNE's FFT-accelerated t-SNE (perplexity 30, PCA initialisation; Poličar, Stražar
    & Zupan 2024, J. Stat. Softw. 109(3)); new points are placed by optimising them against
    the fixed training map (openTSNE's ``TSNEEmbedding.transform``)."""

    def __init__(self, n_components: int, random_state: int, n_jobs: int = -1) -> None:
        self.n_components, self.random_state, self.n_jobs = n_components, random_state, n_jobs

    def fit_transform(self, X: Any) -> NDArray[Any]:
        from openTSNE import TSNE

        if len(X) < 4:
            raise ValueError("a t-SNE map needs at least 4 points")
        perplexity = min(30.0, (len(X) - 1) / 3.0)
        self.embedding = TSNE(n_components=self.n_components, perplexity=perplexity,
                              n_jobs=self.n_jobs, random_state=self.random_state,
                              verbose=False).fit(np.asarray(X, dtype=np.float64))
        return np.asarray(self.embedding)

    def transform(self, X: Any) -> NDArray[Any]:
        return np.asarray(self.embedding.transform(np.asarray(X, dtype=np.float64)))


def make_reducer(method: str, n_components: int = 2, random_state: int = 0,
                 **kwargs: Any) -> Any:
    """A reducer with ``fit_transform(X)`` and ``transform(X_new)``; arrays (n, features)
    in, float (n, n_components) out. "pca" is scikit-learn's ``PCA`` itself (with
    ``inverse_transform``), "umap" umap-learn's ``UMAP`` itself.

    Parameters
    ----------
    method : {"pca", "tsne", "umap"}
    n_components : int
        Output dimensions.
    random_state : int
    **kwargs
        Passed to ``umap.UMAP`` (e.g. ``n_neighbors``, ``min_dist``).

    Raises
    ------
    ValueError
        For an unknown method.
    ImportError
        For "umap" without umap-learn installed.
    """
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=n_components, random_state=random_state)
    if method == "tsne":
        return _TSNE(n_components, random_state)
    if method == "umap":
        # umap-learn's UMAP (McInnes, Healy & Melville 2018). A seed makes it
        # single-threaded; saying so up front spares its warning.
        return require_umap().UMAP(n_components=n_components, random_state=random_state,
                                   n_jobs=1, **kwargs)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(REDUCERS)}")
