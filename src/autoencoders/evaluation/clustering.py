"""Clustering latent codes: a neighbour embedding (ours, or UMAP's as in N2D) to a few
dimensions, then a Gaussian mixture fitted from several starts; or k-means."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..inputs import as_array
from .reducers import make_reducer, umap_available

__all__ = ["cluster_codes", "resolve_cluster_method", "CLUSTER_METHODS"]

CLUSTER_METHODS = ("auto", "umap-gmm", "ne-gmm", "kmeans")


def resolve_cluster_method(method: str) -> str:
    """"auto" → "umap-gmm" when umap-learn is installed, else "ne-gmm"; others unchanged.

    Measured on all 70,000 MNIST images (``benchmarks/results/quality.md``, part 2,
    2026-12-01 and 2026-12-02, five seeds of one autoencoder): UMAP + GMM of the codes
    0.967 ± 0.001 accuracy, lowest 0.966; our embedding of the pixels on the graph they
    share with the codes reached 0.974 on seeds 0, 1 and 4 but 0.880 on seeds 2 and 3
    (two digits merged), so it is the default of a plain install, not the first choice.
    """
    if method == "auto":
        return "umap-gmm" if umap_available() else "ne-gmm"
    return method


def cluster_codes(Z: Any, n_clusters: int, method: str = "auto", *, inputs: Any = None,
                  n_init: int = 10, n_neighbors: int | None = None,
                  random_state: int = 0) -> NDArray[np.int64]:
    """Assign each code to one of ``n_clusters`` clusters.

    Parameters
    ----------
    Z : array-like, shape (n, d)
        Latent codes (or any real features), finite.
    n_clusters : int
        Between 1 and n.
    method : {"auto", "umap-gmm", "ne-gmm", "kmeans"}, default "auto"
        "auto" is "umap-gmm" when umap-learn is installed, else "ne-gmm"
        (:func:`resolve_cluster_method`, with the measurements behind it). "umap-gmm" is
        N2D (McConville, Santos-Rodriguez, Piechocki & Craddock 2020, "N2D: (not too) deep
        clustering via clustering the local manifold of an autoencoded
        embedding", ICPR): UMAP of the codes to ``n_clusters`` dimensions (20 neighbours,
        min_dist 0; needs umap-learn), then a Gaussian mixture with full covariances.
        "ne-gmm" replaces UMAP by our neighbour embedding
        (:class:`~autoencoders.neighbours.NeighbourMap`, 15 neighbours) to ``n_clusters``
        dimensions; given the ``inputs``, its network sees them and its graph keeps the
        neighbours that the inputs and the codes share. "kmeans" is k-means on the codes.
    inputs : array-like, shape (n, n_features), optional
        What the codes were computed from (images in [0, 1], standardised tables), for
        "ne-gmm" (and "auto" resolved to it) only. On all 70,000 MNIST images (2026-12-02,
        seed 0, one autoencoder's codes): accuracy 0.9744, NMI 0.9317 with the pixels,
        against 0.9653 / 0.9136 of the codes alone (exaggeration 4) and UMAP + GMM's
        0.9670 / 0.9169 of the same codes; over five seeds less steady than UMAP + GMM
        (:func:`resolve_cluster_method`).
    n_init : int, default 10
        Starts of the Gaussian mixture (or k-means); the one of the highest likelihood
        (lowest inertia) is kept. One start merges two MNIST digits in some seeds
        (``benchmarks/results/quality.md``).
    n_neighbors : int, optional
        The embedding's neighbourhood size: by default 15 for "ne-gmm" and 20 for
        "umap-gmm", fewer for small data (at most a quarter of the rows per cluster, at
        least 2), so that neighbourhoods stay inside clusters.
    random_state : int, default 0

    Returns
    -------
    ndarray of int64, shape (n,)
        Cluster labels 0 … n_clusters − 1.

    Raises
    ------
    ValueError
        For an unknown method, fewer points than clusters, too few points for the
        neighbour graph (n ≤ n_neighbors), codes or inputs that are not finite, or
        inputs of another number of rows.
    ImportError
        For "umap-gmm" without umap-learn.
    """
    from sklearn.mixture import GaussianMixture

    Z = as_array(Z, "the codes").astype(np.float32, copy=False)
    Z = Z.reshape(len(Z), -1)
    if method not in CLUSTER_METHODS:
        raise ValueError(f"unknown clustering method {method!r}; choose one of "
                         f"{', '.join(CLUSTER_METHODS)}")
    method = resolve_cluster_method(method)
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int | np.integer):
        raise ValueError(f"n_clusters must be a whole number, got {n_clusters!r}")
    if not 1 <= n_clusters <= len(Z):
        raise ValueError(f"n_clusters={n_clusters} (--n-clusters) needs between 1 and the "
                         f"{len(Z)} points: ask for fewer clusters")
    if n_neighbors is not None and (isinstance(n_neighbors, bool) or n_neighbors < 1):
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    if not np.isfinite(Z).all():
        raise ValueError("the codes hold NaN or infinite values: the model diverged or the "
                         "input holds them; check the input (autoencoders fit refuses NaN)")
    if n_init < 1:
        raise ValueError(f"n_init must be at least 1, got {n_init}")
    if inputs is not None:
        X = as_array(inputs, "the inputs").astype(np.float32, copy=False)
        X = X.reshape(len(X), -1)
        if len(X) != len(Z):
            raise ValueError(f"{len(X)} input rows for {len(Z)} codes: pass the rows the "
                             "codes were computed from")
        if not np.isfinite(X).all():
            raise ValueError("the inputs hold NaN or infinite values: drop or impute those "
                             "rows (autoencoders fit refuses NaN)")
    if method == "kmeans":
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
        labels: NDArray[np.int64] = km.fit_predict(Z).astype(np.int64)
        return labels
    # Small data: 15 neighbours reach into the other clusters (3 clusters, with inputs:
    # ARI 0.12 of 40 rows, 0.97 of 100; with this cap 1.0 from 31 to 300 rows, 2026-12-02).
    k = n_neighbors if n_neighbors is not None else min(15 if method == "ne-gmm" else 20,
                                                        max(2, len(Z) // (4 * n_clusters)))
    if len(Z) <= k:
        raise ValueError(f"{len(Z)} points are too few for a neighbour graph of {k} "
                         f"neighbours: cluster at least {k + 1} points, or use k-means "
                         "(method='kmeans', --method kmeans)")
    if method == "ne-gmm":
        from ..neighbours import NeighbourMap
        from ..neighbours.graph import NoSharedNeighbours

        # 150 steps at least (the map's 500 are for the last bit of trustworthiness): on
        # scikit-learn's digits the same accuracy (0.896, 0.895 for seeds 0, 1) in a third
        # of the time (7 s against 20 s). Above ~3,800 rows (76,800 edges) the epochs decide.
        if inputs is None:
            # Exaggeration 4 (UMAP-like attraction) on codes alone: 0.9653 accuracy
            # against 0.8655 at the map's 1.5 (MNIST, 70,000 codes, seed 0, 2026-12-02).
            manifold = NeighbourMap(n_components=n_clusters, n_neighbors=k, min_steps=150,
                                    exaggeration=4.0,
                                    random_state=random_state).fit_transform(Z)
        else:
            # The shared graph is sparser where the views disagree; at the map's 0.005
            # Adam diverged on it (accuracy 0.70), at 0.002 it did not (0.9744). At the
            # map's exaggeration 1.5 two seeds of five fragmented (0.880, no divergence);
            # at 4 seed 2 reached 0.9715 (MNIST, 70,000 images, 2026-12-02).
            try:
                manifold = NeighbourMap(n_components=n_clusters, n_neighbors=k,
                                        min_steps=150, learning_rate=0.002,
                                        exaggeration=4.0, random_state=random_state
                                        ).fit_transform(X, agree_with=Z)
            except NoSharedNeighbours:
                raise ValueError("the inputs and their codes share no neighbours (the "
                                 "codes do not follow the inputs: an untrained or collapsed "
                                 "model?); cluster the codes alone (inputs=None, or "
                                 "--method umap-gmm / kmeans)") from None
    else:
        manifold = make_reducer("umap", n_clusters, random_state, n_neighbors=k,
                                min_dist=0.0).fit_transform(Z)
    # In float64 and unit scale: the mixture's covariance floor (reg_covar) is absolute,
    # and tight clusters of an embedding in float32 made its Cholesky factorisation fail.
    manifold = np.asarray(manifold, dtype=np.float64)
    manifold = (manifold - manifold.mean(0)) / max(float(manifold.std()), 1e-12)
    gmm = GaussianMixture(n_components=n_clusters, covariance_type="full", n_init=n_init,
                          random_state=random_state)
    labels = gmm.fit(manifold).predict(manifold).astype(np.int64)
    return labels
