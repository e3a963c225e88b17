"""Clustering latent codes: a neighbour embedding (ours, or UMAP's as in N2D) to a few
dimensions, then a Gaussian mixture fitted from several starts; or k-means."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..config import is_whole_number
from ..inputs import as_array
from .reducers import make_reducer, umap_available
from .self_labelling import self_label

__all__ = ["cluster_codes", "image_shape", "can_self_label", "merge_clusters", "modularity",
           "resolve_cluster_method", "CLUSTER_METHODS"]

CLUSTER_METHODS = ("auto", "umap-gmm", "ne-gmm", "kmeans")
#: The hidden activation of "ne-gmm"'s embedding: ReLU, as measured over five seeds in
#: ``benchmarks/results/quality.md`` (part 2), not the 2-D map's GELU (2026-12-03). GELU
#: on seed 0's codes with the pixels: accuracy 0.9764 against 0.9754, NMI 0.9359 against
#: 0.9337 (with exaggeration 2: 0.9746), a gain within the spread of seeds (sd 0.0007).
NE_ACTIVATION = "relu"


def resolve_cluster_method(method: str, with_inputs: bool = False) -> str:
    """"auto" → "ne-gmm" with the inputs or without umap-learn, else "umap-gmm"; other
    methods unchanged.

    Measured on all 70,000 MNIST images (``benchmarks/results/quality.md``, part 2,
    2026-12-02, five seeds of one autoencoder): our embedding of the pixels on the graph
    they share with the codes, accuracy 0.972 ± 0.003 (lowest 0.967), NMI 0.928 ± 0.004,
    above UMAP + GMM of the codes alone on four seeds of five (0.967 ± 0.001, lowest 0.966,
    NMI 0.917); our embedding of the codes alone 0.9656 against UMAP's 0.9669 (seed 0).

    Parameters
    ----------
    method : {"auto", "umap-gmm", "ne-gmm", "kmeans"}
    with_inputs : bool, default False
        Whether the inputs can be embedded beside the codes.
    """
    if method == "auto":
        return "ne-gmm" if with_inputs or not umap_available() else "umap-gmm"
    return method


def image_shape(inputs: Any) -> tuple[int, ...] | None:
    """The shape of one image, ``(H, W)`` or ``(C, H, W)``, of ``inputs`` of shape
    (n, H, W) or (n, C, H, W); None for tables (n, n_features) or no inputs."""
    shape = getattr(inputs, "shape", None)
    return tuple(int(s) for s in shape[1:]) if shape is not None and len(shape) in (3, 4) else None


def can_self_label(method: str, inputs: Any) -> bool:
    """Whether ``cluster_codes(..., method, inputs=inputs, self_labelling=True)`` relabels
    its clusters: for "ne-gmm" (resolved, not "auto") given images, arrays of shape
    (n, H, W) or (n, C, H, W); not for tables (n, n_features), other methods or no inputs,
    whose clusters it keeps (with a UserWarning)."""
    return method == "ne-gmm" and image_shape(inputs) is not None


def cluster_codes(Z: Any, n_clusters: int, method: str = "auto", *, inputs: Any = None,
                  n_init: int = 10, n_neighbors: int | None = None,
                  self_labelling: bool = False, random_state: int = 0) -> NDArray[np.int64]:
    """Assign each code to one of ``n_clusters`` clusters.

    Parameters
    ----------
    Z : array-like, shape (n, d)
        Latent codes (or any real features), finite.
    n_clusters : int
        Between 1 and n.
    method : {"auto", "umap-gmm", "ne-gmm", "kmeans"}, default "auto"
        "auto" is "ne-gmm" given the ``inputs`` or without umap-learn, else "umap-gmm"
        (:func:`resolve_cluster_method`, with the measurements behind it). "umap-gmm" is
        N2D (McConville, Santos-Rodriguez, Piechocki & Craddock 2020, "N2D: (not too) deep
        clustering via clustering the local manifold of an autoencoded
        embedding", ICPR): UMAP of the codes to ``n_clusters`` dimensions (20 neighbours,
        min_dist 0; needs umap-learn), then a Gaussian mixture with full covariances.
        "ne-gmm" replaces UMAP by our neighbour embedding
        (:class:`~autoencoders.neighbours.NeighbourMap`, 15 neighbours, exaggeration 4) to
        ``n_clusters`` dimensions; given the ``inputs``, its network sees them and its
        graph keeps the neighbours that the inputs and the codes share. The clusters: a
        mixture of ``n_clusters``, or one of ⌈1.5 × ``n_clusters``⌉ merged along the
        embedding's graph (:func:`merge_clusters`), whichever is the more modular
        partition of that graph (:func:`modularity`): on MNIST the first sometimes spent
        a component on scattered points and merged two digits. "kmeans" is k-means on
        the codes.
    inputs : array-like, shape (n, n_features), optional
        What the codes were computed from (images in [0, 1], standardised tables), for
        "ne-gmm" (and "auto" resolved to it) only. On all 70,000 MNIST images (2026-12-02,
        seed 0, one autoencoder's codes): accuracy 0.9747, NMI 0.9327 with the pixels,
        against 0.9656 / 0.9144 of the codes alone and UMAP + GMM's 0.9669 / 0.9169 of the
        same codes; five seeds in :func:`resolve_cluster_method`.
    n_init : int, default 10
        Starts of the Gaussian mixture (or k-means); the one of the highest likelihood
        (lowest inertia) is kept. One start merges two MNIST digits in some seeds
        (``benchmarks/results/quality.md``).
    n_neighbors : int, optional
        The embedding's neighbourhood size: by default 15 for "ne-gmm" and 20 for
        "umap-gmm", fewer for small data (at most a quarter of the rows per cluster, at
        least 2), so that neighbourhoods stay inside clusters.
    self_labelling : bool, default False
        For "ne-gmm" given images as ``inputs`` ((n, H, W) or (n, C, H, W)): relabel the
        mixture's clusters with a classifier trained on them, each image shifted by a
        pixel or two (:func:`~autoencoders.evaluation.self_labelling.self_label`; about
        2 minutes for 70,000 MNIST images here). On all 70,000 MNIST images (seed 0,
        2026-12-03): accuracy 0.9780 → 0.9818, NMI 0.9394 → 0.9488; on another
        autoencoder's clusters 0.9754 → 0.9809; five seeds (``benchmarks/results/
        quality.md``, part 2): 0.9769 ± 0.0007 → 0.9810 ± 0.0005, NMI 0.9372 → 0.9471,
        every seed higher. Not the default: on scikit-learn's 8×8 digits (1,797 images;
        PCA-10 as the codes, seeds 0–2) it did not help: 0.885, 0.886, 0.886 → 0.882,
        0.888, 0.883 (0.50 with the 140 steps of 20 passes, before the floor of 1,000
        steps and the label smoothing). Tables are never
        relabelled: without shifts the classifier learns the clusters' mistakes with them.
    random_state : int, default 0

    Returns
    -------
    ndarray of int64, shape (n,)
        Cluster labels 0 … n_clusters − 1.

    Raises
    ------
    ValueError
        For an unknown method, ``n_clusters``, ``n_init`` or ``n_neighbors`` that is not a
        whole number (2.5, True), fewer points than clusters, too few points for the
        neighbour graph (n ≤ n_neighbors), codes or inputs that are not finite, or
        inputs of another number of rows.
    ImportError
        For "umap-gmm" without umap-learn.

    Warns
    -----
    UserWarning
        For ``self_labelling`` with another method than "ne-gmm" or inputs that are not
        images.
    """
    Z = as_array(Z, "the codes").astype(np.float32, copy=False)
    Z = Z.reshape(len(Z), -1)
    if method not in CLUSTER_METHODS:
        raise ValueError(f"unknown clustering method {method!r}; choose one of "
                         f"{', '.join(CLUSTER_METHODS)}")
    method = resolve_cluster_method(method, inputs is not None)
    if not is_whole_number(n_clusters):
        raise ValueError(f"n_clusters must be a whole number, got {n_clusters!r}")
    if not 1 <= n_clusters <= len(Z):
        raise ValueError(f"n_clusters={n_clusters} (--n-clusters) needs between 1 and the "
                         f"{len(Z)} points: ask for fewer clusters")
    if n_neighbors is not None and (not is_whole_number(n_neighbors) or n_neighbors < 1):
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    if not np.isfinite(Z).all():
        raise ValueError("the codes hold NaN or infinite values: the model diverged or the "
                         "input holds them; check the input (autoencoders fit refuses NaN)")
    if not is_whole_number(n_init) or n_init < 1:
        raise ValueError(f"n_init must be at least 1, a whole number; got {n_init!r}")
    relabel = False
    if inputs is not None:
        X = as_array(inputs, "the inputs").astype(np.float32, copy=False)
        relabel, shape = self_labelling and can_self_label(method, X), X.shape[1:]
        X = X.reshape(len(X), -1)
        if len(X) != len(Z):
            raise ValueError(f"{len(X)} input rows for {len(Z)} codes: pass the rows the "
                             "codes were computed from")
        if not np.isfinite(X).all():
            raise ValueError("the inputs hold NaN or infinite values: drop or impute those "
                             "rows (autoencoders fit refuses NaN)")
    if self_labelling and not relabel:
        warnings.warn("self-labelling was not done: it needs the 'ne-gmm' method and images "
                      "as inputs, (n, H, W) or (n, C, H, W); the clusters are kept without it",
                      UserWarning, stacklevel=2)
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
        # of the time (7 s against 20 s). Above ~3,800 rows (76,800 edges) the epochs decide:
        # 4 for the codes alone, as measured here; with the inputs 8: 0.9764 against 4's
        # 0.9754 (MNIST, seed 0, 2026-12-03; 201 s against 144 s).
        # Exaggeration 4 (UMAP-like attraction): on codes alone 0.9653 accuracy against
        # 0.8655 at the map's then 1.5 (MNIST, 70,000 codes, seed 0, 2026-12-02); with the
        # inputs and the merge below, seed 2 gave 0.9696 against 0.9698.
        # 512 negatives and no input noise: quality.md's five seeds (part 2) were measured
        # so, before the 2-D map took 1,024 and noise (2026-12-03).
        common: dict[str, Any] = dict(
            n_components=n_clusters, n_neighbors=k, min_steps=150,
            epochs=4.0 if inputs is None else 8.0, negatives=512,
            exaggeration=4.0, activation=NE_ACTIVATION, input_noise=0.0,
            random_state=random_state)
        if inputs is None:
            mapper = NeighbourMap(**common)
            manifold = mapper.fit_transform(Z)
        else:
            # The shared graph is sparser where the views disagree; at the map's 0.005
            # Adam diverged on it (accuracy 0.70), at 0.002 it did not (0.9744).
            mapper = NeighbourMap(**common, learning_rate=0.002)
            try:
                manifold = mapper.fit_transform(X, agree_with=Z)
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
    if method == "umap-gmm":  # N2D as published
        return _mixture(manifold, n_clusters, n_init, random_state)
    # Our embedding: a mixture of n_clusters, or one of half as many again merged along
    # the embedding's graph, whichever partition of the graph is more modular. On all
    # 70,000 MNIST images the first spent a component on a few hundred scattered points
    # and merged two digits in 2 runs of 5 (3 with 8, 4 with 9: accuracy 0.8803, 0.8825;
    # modularity 0.855, 0.853), the second did not (0.9736, 0.9696; 0.871, 0.867); on
    # scikit-learn's digits the merge joined two digits instead (0.812 against 0.892;
    # modularity 0.841 against 0.850). Modularity picked the more accurate one in 8 of 9
    # such runs, the ninth 0.0005 behind (2026-12-02).
    heads, tails = mapper.graph_
    exact = _mixture(manifold, n_clusters, n_init, random_state)
    more = min(len(Z), -(-3 * n_clusters // 2))
    merged = merge_clusters(_mixture(manifold, more, n_init, random_state), heads, tails,
                            n_clusters)
    labels = max((exact, merged), key=lambda labels: modularity(labels, heads, tails))
    if not relabel:
        return labels
    relabelled = self_label(X, labels, shape, random_state=random_state)
    _, renumbered = np.unique(relabelled, return_inverse=True)  # no cluster left empty
    return renumbered.reshape(-1).astype(np.int64)


def _mixture(points: NDArray[np.float64], n_components: int, n_init: int,
             random_state: int) -> NDArray[np.int64]:
    """Labels of the most likely of ``n_init`` fits of a full-covariance Gaussian mixture."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(n_components=n_components, covariance_type="full", n_init=n_init,
                          random_state=random_state)
    labels: NDArray[np.int64] = gmm.fit(points).predict(points).astype(np.int64)
    return labels


def modularity(labels: Any, heads: Any, tails: Any) -> float:
    """Newman's modularity of a partition of a graph: the fraction of edges inside the
    clusters minus its expectation with the same degrees at random (Newman 2006,
    "Modularity and community structure in networks", PNAS 103(23)).

    Parameters
    ----------
    labels : array of int, shape (n,)
        Cluster labels (any integers).
    heads, tails : arrays of int, shape (m,)
        The edges between rows of ``labels``, every pair in both directions (as
        ``NeighbourMap.graph_``).

    Returns
    -------
    float
        In [−0.5, 1); higher is a partition with fewer edges between its clusters; 0 for
        a graph without edges.

    Raises
    ------
    ValueError
        For edges that name no row.
    """
    labels, heads, tails = _partition_graph(labels, heads, tails)
    head_labels = labels[heads]
    if len(head_labels) == 0:
        return 0.0
    inside = head_labels == labels[tails]
    count = int(labels.max()) + 1
    within = np.bincount(head_labels[inside], minlength=count) / len(head_labels)
    degree = np.bincount(head_labels, minlength=count) / len(head_labels)
    return float((within - degree * degree).sum())


def merge_clusters(labels: Any, heads: Any, tails: Any, n_clusters: int) -> NDArray[np.int64]:
    """Merge clusters along a graph's edges until ``n_clusters`` remain.

    Each step joins the two clusters with the most edges between them relative to chance:
    observed edges over the product of their degrees ÷ all edges (PAGA's connectivity of
    partitions; Wolf et al. 2019, "PAGA: graph abstraction reconciles clustering with
    trajectory inference through a topology preserving map of single cells", Genome
    Biology 20:59). Pieces of one cluster share many edges; neighbouring clusters few.

    Parameters
    ----------
    labels : array of int, shape (n,)
        Cluster labels (any integers; with ``n_clusters`` or fewer distinct ones they are
        only renumbered).
    heads, tails : arrays of int, shape (m,)
        The graph's edges between rows of ``labels`` (both directions, or one: only the
        counts' ratios matter).
    n_clusters : int
        How many clusters to keep, at least 1.

    Returns
    -------
    ndarray of int64, shape (n,)
        Labels 0 … n_clusters − 1 (fewer if there were fewer), numbered in the order of
        the clusters' smallest old label.

    Raises
    ------
    ValueError
        For ``n_clusters`` below 1, or edges that name no row.
    """
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be at least 1, got {n_clusters}")
    labels, heads, tails = _partition_graph(labels, heads, tails)
    count = int(labels.max()) + 1 if len(labels) else 0
    edges = np.zeros((count, count))
    np.add.at(edges, (labels[heads], labels[tails]), 1.0)
    edges = edges + edges.T  # either direction counts once per pair and direction
    owner = np.arange(count)  # which kept cluster each old one went to
    alive = np.ones(count, dtype=bool)
    for _ in range(count - min(n_clusters, count)):
        degree = edges.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nan_to_num(edges * degree.sum() / np.outer(degree, degree))
        ratio[~alive] = -1.0
        ratio[:, ~alive] = -1.0
        np.fill_diagonal(ratio, -1.0)
        a, b = sorted(np.unravel_index(int(np.argmax(ratio)), ratio.shape))
        edges[a] += edges[b]
        edges[:, a] += edges[:, b]
        edges[b], edges[:, b] = 0.0, 0.0
        alive[b] = False
        owner[owner == b] = a
    new = np.cumsum(alive) - 1  # kept clusters renumbered 0 … n_clusters − 1
    merged: NDArray[np.int64] = new[owner][labels].astype(np.int64)
    return merged


def _partition_graph(labels: Any, heads: Any, tails: Any
                     ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Labels renumbered 0 … c − 1 (in the order of the old ones) and the edges as int64
    arrays, checked to join rows of ``labels``; ValueError otherwise."""
    _, renumbered = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
    heads, tails = np.asarray(heads, dtype=np.int64), np.asarray(tails, dtype=np.int64)
    n = len(renumbered)
    if len(heads) and (min(heads.min(), tails.min()) < 0
                       or max(heads.max(), tails.max()) >= n):
        raise ValueError(f"edges must join rows 0 … {n - 1}")
    return renumbered.reshape(-1).astype(np.int64), heads, tails
