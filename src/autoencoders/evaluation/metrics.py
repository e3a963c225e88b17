"""Metrics of a representation on arrays, returned as plain floats: reconstruction,
neighbourhood preservation, downstream accuracy and clustering agreement."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from ..config import is_whole_number

__all__ = ["reconstruction_metrics", "trustworthiness", "continuity", "knn_recall",
           "InputNeighbourhoods",
           "knn_accuracy", "linear_probe_accuracy", "cluster_accuracy", "clustering_scores"]

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
    X, R = X.reshape(len(X), -1), R.reshape(len(R), -1)
    # In blocks of rows, in float64: whole-array float64 temporaries took 420 MB for the
    # 10,000 MNIST test images (evaluate's peak memory, measured 2026-12-01).
    bce_sum = sse = 0.0
    for start in range(0, len(X), 1024):
        x = X[start:start + 1024].astype(np.float64)
        r = R[start:start + 1024].astype(np.float64)
        rc = np.clip(r, _EPS, 1 - _EPS)
        bce_sum -= float((x * np.log(rc) + (1 - x) * np.log1p(-rc)).sum())
        sse += float(((x - r) ** 2).sum())
    mse = sse / X.size
    return {
        "bce": bce_sum / X.size,
        "mse": mse,
        "sse_per_image": sse / len(X),
        "psnr": float(10 * np.log10(1.0 / mse)) if mse > 0 else float("inf"),
    }


# ------------------------------------------------------------------ neighbourhoods
def near_zero_fraction(Z: Any, tol: float = 0.01) -> float:
    """Fraction of a code's entries that are near zero: ``|z| ≤ tol · max |Z|``.

    The measure of a sparse code (the share of inactive units per sample, averaged);
    relative to the largest magnitude so that it does not depend on the code's scale.

    Parameters
    ----------
    Z : array-like, shape (n, latent_dim)
        Latent codes.
    tol : float, default 0.01

    Returns
    -------
    float in [0, 1]; 1.0 for an all-zero code.
    """
    Z = np.abs(np.asarray(Z, dtype=np.float64))
    top = Z.max() if Z.size else 0.0
    return float((Z <= tol * top).mean()) if top > 0 else 1.0


def subsample_indices(n: int, max_points: int | None, random_state: int) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` points (all of them for None),
    drawn without replacement with seed ``random_state``."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, max_points, replace=False))


def trustworthiness(X: Any, Z: Any, k: int = 10, *, max_points: int | None = 5000,
                    random_state: int = 0) -> float:
    """How far the k nearest neighbours in ``Z`` are true neighbours in ``X``.

    1 when every point's k nearest neighbours in the embedding are among its k nearest in
    the input; lower when the embedding brings in points that were far apart ("false
    neighbours"), each penalised by how far down the input ranking it was (Venna & Kaski
    2001; equal to scikit-learn's ``sklearn.manifold.trustworthiness`` up to ties in
    distance, Euclidean). To score several embeddings of one input, use
    :class:`InputNeighbourhoods`, which computes the input side once.

    Parameters
    ----------
    X : array, shape (n, ...)
        The input space (flattened per sample).
    Z : array, shape (n, d)
        The embedding of the same points in the same order.
    k : int, default 10
    max_points : int or None, default 5000
        The computation is O(n²) in time and memory; above this many points a random
        subset (seeded by ``random_state``) is scored. None scores all points.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        When X and Z have different numbers of points, or k ≥ n / 2.
    """
    _check_same_points(len(X), len(Z))
    return InputNeighbourhoods(X, k, max_points=max_points,
                               random_state=random_state).trustworthiness(Z)


def continuity(X: Any, Z: Any, k: int = 10, *, max_points: int | None = 5000,
               random_state: int = 0) -> float:
    """How far the k nearest neighbours in ``X`` stay neighbours in ``Z``.

    The mirror of :func:`trustworthiness` (Venna & Kaski 2001): it penalises true
    neighbours that the embedding tears apart ("missing neighbours"), and equals
    trustworthiness with the two spaces swapped. Parameters, returns and errors as there.
    """
    _check_same_points(len(X), len(Z))
    return InputNeighbourhoods(X, k, max_points=max_points,
                               random_state=random_state).continuity(Z)


def knn_recall(X: Any, Z: Any, k: int = 10, *, max_points: int | None = 10000,
               random_state: int = 0) -> float:
    """Mean fraction of each point's k nearest neighbours in ``X`` that are also among its k
    nearest in ``Z`` (Euclidean, the point itself excluded): the neighbourhood hit rate of
    e.g. Espadoto et al. (2021), "Toward a quantitative survey of dimension reduction
    techniques", IEEE TVCG 27(3).

    Parameters as :func:`trustworthiness` (subsampled above ``max_points``; a k-d/ball tree
    search, so larger subsets are affordable than there).

    Returns
    -------
    float in [0, 1]
    """
    _check_same_points(len(X), len(Z))
    return InputNeighbourhoods(X, k, recall_points=max_points,
                               random_state=random_state).knn_recall(Z)


class InputNeighbourhoods:
    """The input side of trustworthiness, continuity and k-NN recall, computed once so
    that many embeddings of the same points are scored without redoing it.

    ``autoencoders evaluate`` scores up to ten embeddings of the same test points;
    recomputing the input's distances and neighbours for each took 35 s of a 57 s
    PCA-only evaluation under cProfile here (10,000 MNIST test images, 2-core Xeon,
    2026-12-01); computed once, that evaluation took 29 s instead of 54 s. This keeps the
    input's k nearest neighbours among ``max_points`` points and among ``recall_points``
    (int64, n × k); the input's distances, which rank a false neighbour, are computed again
    in blocks of rows for each embedding rather than kept (``max_points``² × 4 bytes: 100
    MB for 5,000).

    Parameters
    ----------
    X : array, shape (n, ...)
        The input space (flattened per sample).
    k : int, default 10
        Neighbours of every metric.
    max_points : int or None, default 5000
        Trustworthiness and continuity are scored on a random subset of this many points
        (seeded by ``random_state``; None: all). They are O(n²) in time and memory.
    recall_points : int or None, default 10000
        k-NN recall is scored on a random subset of this many points (a tree search, so a
        larger subset is affordable).
    random_state : int, default 0

    Raises
    ------
    ValueError
        When k ≥ n / 2 of either subset.
    """

    def __init__(self, X: Any, k: int = 10, *, max_points: int | None = 5000,
                 recall_points: int | None = 10000, random_state: int = 0) -> None:
        self._X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
        self.n, self.k = len(self._X), k
        self._rank_idx = subsample_indices(self.n, max_points, random_state)
        self._recall_idx = subsample_indices(self.n, recall_points, random_state)
        _check_k(k, len(self._rank_idx))
        _check_k(k, len(self._recall_idx))

    # Each side is computed on first use: a caller of one metric pays for that one only.
    # The input's distances, which rank a false neighbour, are computed again per block of
    # rows for each embedding, not kept: the whole m × m matrix (100 MB for 5,000 points)
    # held through `autoencoders evaluate` pushed its peak memory past 1 GiB beside UMAP
    # (2026-12-02).
    @cached_property
    def _rank_X(self) -> np.ndarray:
        # The points that trustworthiness and continuity are scored on, (m, features).
        points: np.ndarray = self._X[self._rank_idx]
        return points

    @cached_property
    def _near(self) -> np.ndarray:
        # The k nearest input neighbours of every point of the subset, (m, k) int64; each
        # block's k columns copied, as a slice would keep its whole block alive.
        return np.concatenate([
            np.argpartition(_distance_rows(self._rank_X, rows), self.k, axis=1)[:, :self.k]
            .copy() for rows in _row_blocks(len(self._rank_X))])

    @cached_property
    def _recall_near(self) -> np.ndarray:
        from sklearn.neighbors import NearestNeighbors

        near: np.ndarray = (NearestNeighbors(n_neighbors=self.k).fit(self._X[self._recall_idx])
                            .kneighbors(return_distance=False))
        return near

    def trustworthiness(self, Z: Any) -> float:
        """How far the k nearest neighbours in ``Z`` (shape (n, d), the embedding of the
        same points in the same order) are true neighbours in the input: 1 when all are;
        each false neighbour penalised by how far down the input's ranking it sits (Venna &
        Kaski 2001; equal to scikit-learn's ``sklearn.manifold.trustworthiness`` up to ties
        in distance). Returns a float in [0, 1]; raises ValueError for another n."""
        from sklearn.neighbors import NearestNeighbors

        Z = self._points(Z)[self._rank_idx]
        near_z = NearestNeighbors(n_neighbors=self.k).fit(Z).kneighbors(return_distance=False)
        return self._score(self._rank_X, near_z)

    def continuity(self, Z: Any) -> float:
        """How far the input's k nearest neighbours stay neighbours in ``Z``: the mirror of
        :meth:`trustworthiness` (Venna & Kaski 2001), penalising torn-apart neighbours by
        their rank in ``Z``. Returns a float in [0, 1]; raises ValueError for another n."""
        return self._score(self._points(Z)[self._rank_idx], self._near)

    def knn_recall(self, Z: Any) -> float:
        """Mean fraction of each point's k nearest input neighbours that are also among its
        k nearest in ``Z`` (Euclidean, the point itself excluded): the neighbourhood hit
        rate of Espadoto et al. (2021), IEEE TVCG 27(3). Returns a float in [0, 1];
        raises ValueError for another n."""
        from sklearn.neighbors import NearestNeighbors

        Z = self._points(Z)[self._recall_idx]
        near_z = NearestNeighbors(n_neighbors=self.k).fit(Z).kneighbors(return_distance=False)
        hits = (self._recall_near[:, :, None] == near_z[:, None, :]).any(axis=2).sum()
        return float(hits / near_z.size)

    def _points(self, Z: Any) -> np.ndarray:
        _check_same_points(self.n, len(Z))
        return np.asarray(Z, dtype=np.float32).reshape(len(Z), -1)

    def _score(self, points: np.ndarray, near: np.ndarray) -> float:
        # Each neighbour's 1-based rank among the other points in the space of ``points``
        # (m, d): how many lie strictly closer, plus one. Distances per block of rows,
        # compared in blocks of 256 to keep the (block, k, m) comparison small.
        n, k = len(near), self.k
        penalty = 0
        for rows in _row_blocks(n):
            d = _distance_rows(points, rows)
            at = np.take_along_axis(d, near[rows], axis=1)
            for i in range(0, len(rows), 256):
                ranks = (d[i:i + 256, None, :] < at[i:i + 256, :, None]).sum(axis=2) + 1
                penalty += int(np.maximum(ranks - k, 0).sum())
        return float(1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))


def _row_blocks(n: int, size: int = 512) -> list[np.ndarray]:
    """Row indices 0 … n − 1 in blocks of ``size``. scikit-learn took 2.2 s for 5,000 ×
    5,000 MNIST distances in blocks of 256 rows and 0.6 s in blocks of 1,024, whose buffers
    added 40 MB to the peak of `autoencoders evaluate` (one run each, 2026-12-02)."""
    return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]


def _distance_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Euclidean distances from ``X[rows]`` to every row of ``X`` (n, d), float32 (len(rows),
    n), each point's distance to itself set to infinity (last in its row, as in
    ``sklearn.manifold.trustworthiness``). scikit-learn's ``pairwise_distances``
    accumulates float32 input in float64."""
    from sklearn.metrics import pairwise_distances

    d: np.ndarray = pairwise_distances(X[rows], X).astype(np.float32)
    d[np.arange(len(rows)), rows] = np.inf
    return d


def _check_same_points(n_x: int, n_z: int) -> None:
    if n_x != n_z:
        raise ValueError(f"X has {n_x} points but Z has {n_z}; pass the embedding of "
                         "the same points in the same order")


def _check_k(k: int, n: int) -> None:
    if not is_whole_number(k):
        raise ValueError(f"k must be a whole number of neighbours, got {k!r}")
    if not 1 <= k < n / 2:
        raise ValueError(f"k={k} neighbours needs 1 ≤ k < n/2 points; got n={n}: pass a "
                         "smaller k (evaluate's --k), or more points (a run's test split is "
                         "drawn when it is fitted: fit again with a larger --test-fraction; "
                         "evaluate's --subsample only caps it)")


# ------------------------------------------------------------------ downstream use
def knn_accuracy(Z_train: Any, y_train: Any, Z_test: Any, y_test: Any,
                 k: int = 5) -> float:
    """Accuracy on the test split of a k-nearest-neighbour classifier (Euclidean, uniform
    votes; scikit-learn ``KNeighborsClassifier``) fitted on the training split's codes.

    Parameters
    ----------
    Z_train : array, shape (n, d)
    y_train : array, shape (n,)
    Z_test : array, shape (m, d)
    y_test : array, shape (m,)
    k : int, default 5

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        When the labels do not have one entry per point.
    """
    from sklearn.neighbors import KNeighborsClassifier

    Z_train, y_train, Z_test, y_test = _split_pairs(Z_train, y_train, Z_test, y_test)
    model = KNeighborsClassifier(n_neighbors=min(k, len(Z_train))).fit(Z_train, y_train)
    return float(model.score(Z_test, y_test))


def linear_probe_accuracy(Z_train: Any, y_train: Any, Z_test: Any, y_test: Any, *,
                          max_iter: int = 1000) -> float:
    """Test accuracy of a linear probe: multinomial logistic regression (L2, C=1, lbfgs) on
    standardised codes of the training split, as in e.g. Alain & Bengio (2016),
    "Understanding intermediate layers using linear classifier probes".

    Parameters and errors as :func:`knn_accuracy`; ``max_iter`` bounds lbfgs iterations.

    Returns
    -------
    float in [0, 1]
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Z_train, y_train, Z_test, y_test = _split_pairs(Z_train, y_train, Z_test, y_test)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    with warnings.catch_warnings():  # raw pixels may not converge in max_iter: still a probe
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(Z_train, y_train)
    return float(probe.score(Z_test, y_test))


def _split_pairs(Z_train: Any, y_train: Any, Z_test: Any, y_test: Any,
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    from ..inputs import check_labels

    Z_train = np.asarray(Z_train, dtype=np.float32).reshape(len(Z_train), -1)
    Z_test = np.asarray(Z_test, dtype=np.float32).reshape(len(Z_test), -1)
    return (Z_train, check_labels(y_train, len(Z_train), "y_train"),
            Z_test, check_labels(y_test, len(Z_test), "y_test"))


# ------------------------------------------------------------------ clustering
def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Unsupervised clustering accuracy: the share of points whose cluster, matched one to
    one to a class by the Hungarian algorithm to maximise agreement, is their class
    (the ACC of Xie, Girshick & Farhadi 2016, DEC, and of N2D; scipy's
    ``linear_sum_assignment``). Clusters left without a class count as wrong.

    Parameters
    ----------
    y_true : array, shape (n,)
        Class labels.
    y_pred : array, shape (n,)
        Cluster labels (any integers or strings).

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        When the two have different lengths.
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics.cluster import contingency_matrix

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be 1-D of "
                         "the same length")
    counts = contingency_matrix(y_true, y_pred)  # (classes, clusters)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(y_true))


def clustering_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """``accuracy`` (:func:`cluster_accuracy`), ``nmi`` (normalised mutual information,
    arithmetic mean; Strehl & Ghosh 2002) and ``ari`` (adjusted Rand index; Hubert & Arabie
    1985), from scikit-learn. Errors as :func:`cluster_accuracy`."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"accuracy": cluster_accuracy(y_true, y_pred),
            "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
            "ari": float(adjusted_rand_score(y_true, y_pred))}
