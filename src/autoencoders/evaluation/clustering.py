"""Clustering latent codes: UMAP then a Gaussian mixture (N2D), or k-means."""

from __future__ import annotations

import numpy as np

from .reducers import make_reducer

__all__ = ["cluster_codes", "CLUSTER_METHODS"]

CLUSTER_METHODS = ("umap-gmm", "kmeans")


def cluster_codes(Z: np.ndarray, n_clusters: int, method: str = "umap-gmm", *,
                  n_neighbors: int = 20, random_state: int = 0) -> np.ndarray:
    """Assign each code to one of ``n_clusters`` clusters.

    Parameters
    ----------
    Z : ndarray, shape (n, d)
        Latent codes.
    n_clusters : int
    method : {"umap-gmm", "kmeans"}, default "umap-gmm"
        "umap-gmm" is N2D (McConville, Santos-Rodriguez, Piechocki & Craddock 2020, "N2D:
        (not too) deep clustering via clustering the local manifold of an autoencoded
        embedding", ICPR): UMAP of the codes to ``n_clusters`` dimensions (``n_neighbors``
        neighbours, min_dist 0), then a Gaussian mixture with full covariances. Needs
        umap-learn. "kmeans" is k-means on the codes (10 initialisations, scikit-learn).
    n_neighbors : int, default 20
        UMAP's neighbourhood size (N2D uses 20 for MNIST).
    random_state : int, default 0

    Returns
    -------
    ndarray of int64, shape (n,)
        Cluster labels 0 … n_clusters − 1.

    Raises
    ------
    ValueError
        For an unknown method, or fewer points than clusters.
    ImportError
        For "umap-gmm" without umap-learn.
    """
    Z = np.asarray(Z, dtype=np.float32).reshape(len(Z), -1)
    if not 1 <= n_clusters <= len(Z):
        raise ValueError(f"n_clusters={n_clusters} needs between 1 and the {len(Z)} points")
    if method == "kmeans":
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)
        return km.fit_predict(Z).astype(np.int64)
    if method == "umap-gmm":
        from sklearn.mixture import GaussianMixture

        manifold = make_reducer("umap", n_clusters, random_state,
                                n_neighbors=min(n_neighbors, len(Z) - 1),
                                min_dist=0.0).fit_transform(Z)
        gmm = GaussianMixture(n_components=n_clusters, covariance_type="full",
                              random_state=random_state)
        return gmm.fit(manifold).predict(manifold).astype(np.int64)
    raise ValueError(f"unknown clustering method {method!r}; choose one of "
                     f"{', '.join(CLUSTER_METHODS)}")
