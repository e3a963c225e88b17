"""The autoencoder's code against raw pixels, PCA, t-SNE and UMAP, on the same data and split.

Every method is fitted on the same training points and scored on the same test points:
the autoencoder (already trained; its training seconds are its fit time), raw input, PCA
with as many components as the code, PCA, t-SNE and UMAP to 2-D, and the model's own 2-D
map when it has one, else (or when asked) 2-D maps of the code by PCA, t-SNE and UMAP.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

from ..inputs import check_labels
from .metrics import (
    InputNeighbourhoods,
    knn_accuracy,
    linear_probe_accuracy,
    reconstruction_metrics,
    subsample_indices,
)
from .reducers import REDUCERS, default_baselines, make_reducer

if TYPE_CHECKING:
    from ..estimator import AutoEncoder

__all__ = ["compare_representations", "Comparison", "METHOD_LABELS", "comparison_rows"]

#: What each method name in ``evaluation.json`` stands for.
METHOD_LABELS = {
    "autoencoder": "autoencoder code",
    "raw": "raw input",
    "pca": "PCA (as many components as the code)",
    "pca_2d": "PCA to 2-D",
    "tsne_2d": "t-SNE to 2-D",
    "umap_2d": "UMAP to 2-D",
    "autoencoder_2d_pca": "PCA of the code",
    "autoencoder_2d_tsne": "t-SNE of the code",
    "autoencoder_2d_umap": "UMAP of the code",
    "autoencoder_map": "the model's 2-D map (parametric neighbour embedding)",
}


#: The metrics of a comparison's tables, with their column titles.
TABLE_COLUMNS = (("trustworthiness", "trust."), ("continuity", "contin."),
                 ("knn_recall", "kNN recall"), ("knn_accuracy", "kNN acc."),
                 ("linear_probe_accuracy", "linear probe"), ("mse", "MSE/pixel"),
                 ("sse_per_image", "SSE/image"), ("fit_seconds", "fit s"),
                 ("transform_seconds", "transform s"))


#: The reconstruction columns' titles for tables (rows of features, not images).
TABLE_TITLES = {"MSE/pixel": "MSE/feature", "SSE/image": "SSE/sample"}


def comparison_rows(methods: Mapping[str, Mapping[str, float]], images: bool = True,
                    ) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``methods`` (``Comparison.methods``, or evaluation.json's) as a table: the titles
    of the columns any method has (per pixel and image, or with ``images=False`` per
    feature and sample), and (name, formatted cells; "—" where n/a) per method."""
    columns = [(k, h if images else TABLE_TITLES.get(h, h)) for k, h in TABLE_COLUMNS
               if any(k in row for row in methods.values())]
    rows = [(name, ["—" if k not in row else f"{row[k]:.2f}" if k.endswith("seconds")
                    else f"{row[k]:.4f}" for k, _ in columns]) for name, row in methods.items()]
    return [h for _, h in columns], rows


@dataclass
class Comparison:
    """The result of :func:`compare_representations`.

    Attributes
    ----------
    methods : dict of str to dict of str to float
        Per method (keys of ``METHOD_LABELS``): ``trustworthiness``, ``continuity``,
        ``knn_recall`` (against the test input, k neighbours), ``knn_accuracy``,
        ``linear_probe_accuracy`` (with labels), ``fit_seconds``, ``transform_seconds``
        (for the test points, after a warm-up call on 10 of them), and ``mse``,
        ``sse_per_image`` for methods that reconstruct.
    maps : dict of str to ndarray of float32, shape (n_test, 2)
        The 2-D maps of the test points, for pictures.
    y_test : ndarray of shape (n_test,) or None
        The labels of the scored test points, in the order of ``maps``.
    settings : dict
        Sizes, k, subsample sizes, seed and ``images`` (whether the input is images, which
        titles the reconstruction columns per pixel and image, else per feature and sample).
    """

    methods: dict[str, dict[str, float]] = field(default_factory=dict)
    maps: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    y_test: np.ndarray | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def compare_representations(estimator: AutoEncoder, X_train: Any, X_test: Any,
                            y_train: Any = None, y_test: Any = None, *,
                            baselines: Sequence[str] | None = None,
                            subsample: int | None = 5000, k: int = 10,
                            neighbourhood_points: int = 5000, code_maps: bool | None = None,
                            random_state: int = 0,
                            log: Callable[[str], object] | None = None) -> Comparison:
    """Fit every method on the same training points and score it on the same test points.

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted.
    X_train, X_test : array, shape (n, *feature_shape) / (m, *feature_shape)
        Raw data as the estimator takes it; the input space of the baselines and of the
        neighbourhood metrics is the estimator's scaled input (pixels in [0, 1]).
    y_train, y_test : array of shape (n,) / (m,), optional
        Labels, for ``knn_accuracy`` and ``linear_probe_accuracy``.
    baselines : sequence of {"pca", "tsne", "umap"}, optional
        Which baselines to run on the input (each also gives the matching 2-D map of the
        code with ``code_maps``). "umap" needs the umap extra. By default
        :func:`~autoencoders.evaluation.reducers.default_baselines`: PCA and t-SNE, and
        UMAP when umap-learn is installed.
    subsample : int or None, default 5000
        At most this many training points (to fit the baselines and the classifiers) and
        test points (to score), drawn at random; None uses all. Time grows with it: on the
        demo run (2-core Xeon, 2026-12-01) evaluate took 146 s with 5,000 and 250 s with
        10,000 (t-SNE 47 s and 118 s, UMAP 74 s and 93 s of it), and the 5-NN accuracy of
        raw pixels was 0.935 against 0.947.
    k : int, default 10
        Neighbours for trustworthiness, continuity and k-NN recall (k-NN accuracy uses 5).
    neighbourhood_points : int, default 5000
        Trustworthiness and continuity are O(n²): scored on at most this many test points.
    code_maps : bool, optional
        Also fit each baseline to the codes: the 2-D maps "PCA/t-SNE/UMAP of the code". By
        default only for a model without a 2-D map of its own, for which they are the only
        picture of the code; a model with one shows it instead. Each costs about what its
        baseline does (t-SNE of 10,000 MNIST codes: 86 s, 2-core Xeon, 2026-12-01).
    random_state : int, default 0
    log : callable, optional
        Receives one line per method as it finishes.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        For an unknown baseline, labels of the wrong length or with missing ones, or
        training labels of one class.
    ImportError
        For "umap" without umap-learn.
    """
    baselines = default_baselines() if baselines is None else baselines
    unknown = [b for b in baselines if b not in REDUCERS]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(REDUCERS)}")
    tr = subsample_indices(len(X_train), subsample, random_state)
    te = subsample_indices(len(X_test), subsample, random_state + 1)
    labelled = y_train is not None and y_test is not None
    if labelled:  # checked before any baseline is fitted, not by the scores after them
        y_train = cast(NDArray[Any], check_labels(y_train, len(X_train), "y_train"))[tr]
        y_test = cast(NDArray[Any], check_labels(y_test, len(X_test), "y_test"))[te]
        if len(np.unique(y_train)) < 2:
            raise ValueError(f"the training labels hold one class ({y_train[0]}): the "
                             "accuracies need at least 2; evaluate without labels "
                             "(y=None; --label-column none) or with labels of several classes")
    X_train, X_test = np.asarray(X_train)[tr], np.asarray(X_test)[te]
    Xs_train = estimator.scale_input(X_train).reshape(len(X_train), -1)
    Xs_test = estimator.scale_input(X_test).reshape(len(X_test), -1)
    neighbourhoods = InputNeighbourhoods(Xs_test, k, max_points=neighbourhood_points,
                                         random_state=random_state)
    result = Comparison(y_test=y_test if labelled else None, settings={
        "n_train": len(tr), "n_test": len(te), "k": k, "knn_accuracy_k": 5,
        "neighbourhood_points": min(neighbourhood_points, len(te)),
        "random_state": random_state, "baselines": list(baselines),
        "images": len(estimator.feature_shape_) >= 2})

    def record(name: str, Z_train: NDArray[Any], Z_test: NDArray[Any], fit_seconds: float,
               transform_seconds: float, recon: NDArray[Any] | None = None) -> None:
        row = {"fit_seconds": float(fit_seconds), "transform_seconds": float(transform_seconds)}
        if name != "raw":  # the input against itself: 1 by definition
            row["trustworthiness"] = neighbourhoods.trustworthiness(Z_test)
            row["continuity"] = neighbourhoods.continuity(Z_test)
            row["knn_recall"] = neighbourhoods.knn_recall(Z_test)
        if labelled:
            row["knn_accuracy"] = knn_accuracy(Z_train, y_train, Z_test, y_test)
            row["linear_probe_accuracy"] = linear_probe_accuracy(Z_train, y_train, Z_test,
                                                                 y_test)
        if recon is not None:
            rec = reconstruction_metrics(Xs_test, recon.reshape(Xs_test.shape))
            row["mse"], row["sse_per_image"] = rec["mse"], rec["sse_per_image"]
        result.methods[name] = row
        if Z_test.shape[1] == 2:
            result.maps[name] = np.asarray(Z_test, dtype=np.float32)
        if log:
            log(f"{name}: " + ", ".join(f"{k_} {v:.4g}" for k_, v in row.items()))

    def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        out = fn(*args)
        return out, time.perf_counter() - start

    def timed_transform(transform: Callable[[Any], Any], X: Any) -> tuple[Any, float]:
        # A warm-up call first, so that one-time costs (umap-learn compiles its transform
        # with numba on first use) do not count as the time to place new points.
        transform(X[:10])
        return timed(transform, X)

    record("raw", Xs_train, Xs_test, 0.0, 0.0)
    C_train = estimator.transform(X_train)
    C_test, encode_seconds = timed_transform(estimator.transform, X_test)
    record("autoencoder", C_train, C_test, estimator.train_seconds_, encode_seconds,
           recon=estimator.reconstruct(X_test, scaled=True))
    # PCA cannot have more components than features or points: a code wider than the data
    # is compared with PCA of all the features.
    own_map = hasattr(estimator, "neighbour_map_")
    if own_map:  # trained with the model
        M_train = estimator.map(X_train)
        M_test, map_seconds = timed_transform(estimator.map, X_test)
        record("autoencoder_map", M_train, M_test,
               estimator.neighbour_map_.fit_info_.get("seconds", {}).get("total", 0.0),
               map_seconds)
    dim = min(C_test.shape[1], Xs_train.shape[1], len(Xs_train))
    for method in baselines:
        specs = [(dim, "pca"), (2, "pca_2d")] if method == "pca" else [(2, f"{method}_2d")]
        for n_comp, name in specs:
            reducer = make_reducer(method, n_comp, random_state)
            Z_train, fit_s = timed(reducer.fit_transform, Xs_train)
            Z_test, tr_s = timed_transform(reducer.transform, Xs_test)
            recon = reducer.inverse_transform(Z_test) if name == "pca" else None
            record(name, Z_train, Z_test, fit_s, tr_s, recon)
        if code_maps is False or (code_maps is None and own_map):
            continue
        reducer = make_reducer(method, 2, random_state)
        M_train, fit_s = timed(reducer.fit_transform, C_train)
        M_test, tr_s = timed_transform(reducer.transform, C_test)
        record(f"autoencoder_2d_{method}", M_train, M_test, estimator.train_seconds_ + fit_s,
               encode_seconds + tr_s)
    return result
