"""Clustering of codes, reducers and 2-D maps, on small synthetic data."""

import sys
import warnings

import numpy as np
import pytest

from autoencoders.evaluation.clustering import cluster_codes, merge_clusters
from autoencoders.evaluation.maps import map_2d
from autoencoders.evaluation.metrics import cluster_accuracy, knn_accuracy
from autoencoders.evaluation.reducers import make_reducer


def test_kmeans_and_umap_gmm_recover_well_separated_clusters(blobs):
    X, y = blobs
    assert cluster_accuracy(y, cluster_codes(X, 3, "kmeans")) == 1.0
    labels = cluster_codes(X, 3, "umap-gmm", n_neighbors=15)
    assert labels.dtype == np.int64 and set(labels) <= {0, 1, 2}
    assert cluster_accuracy(y, labels) == 1.0


def test_clustering_rejects_unknown_methods_and_too_many_clusters(blobs):
    with pytest.raises(ValueError, match="unknown clustering method 'dbscan'"):
        cluster_codes(blobs[0], 3, "dbscan")
    with pytest.raises(ValueError, match=r"n_clusters=400 \(--n-clusters\) needs between 1 "
                                         "and the 300 points"):
        cluster_codes(blobs[0], 400, "kmeans")


def test_reducers_fit_then_place_new_points(blobs):
    X, y = blobs
    for method in ("pca", "tsne", "umap"):
        reducer = make_reducer(method, 2, random_state=0)
        Z_train = reducer.fit_transform(X[:200])
        Z_new = reducer.transform(X[200:])
        assert Z_train.shape == (200, 2) and Z_new.shape == (100, 2)
        assert knn_accuracy(Z_train, y[:200], Z_new, y[200:]) > 0.95, method
    with pytest.raises(ValueError, match="unknown method 'isomap'"):
        make_reducer("isomap")


def test_missing_umap_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match=r"pip install 'umap-learn>=0.5' \(the umap extra\)"):
        make_reducer("umap")


@pytest.mark.parametrize("method", ["auto", "ne-gmm"])
def test_clustering_of_real_digits_is_above_its_floor(method):
    # Pixels of scikit-learn's 1,797 digits: ne-gmm 0.895, 0.895, 0.889 accuracy with seeds
    # 0-2 (2-core CPU, 2026-12-01); k-means of the same pixels 0.79.
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    labels = cluster_codes(X / 16, 10, method, random_state=0)
    assert labels.dtype == np.int64 and labels.shape == (1797,)
    assert cluster_accuracy(y, labels) > 0.85


def test_clustering_codes_with_their_inputs_is_above_its_floor():
    # PCA-10 of scikit-learn's digits as the codes, the pixels as the inputs: 0.883, 0.884,
    # 0.800 accuracy with seeds 0-2 (2-core CPU, 2026-12-02); the codes alone 0.826,
    # 0.877, 0.827.
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    X, y = load_digits(return_X_y=True)
    codes = PCA(10, random_state=0).fit_transform(X / 16)
    labels = cluster_codes(codes, 10, "ne-gmm", inputs=X / 16, random_state=0)
    assert cluster_accuracy(y, labels) > 0.85


def test_clustering_refuses_inputs_that_do_not_match_the_codes(blobs):
    X = blobs[0]
    with pytest.raises(ValueError, match="299 input rows for 300 codes"):
        cluster_codes(X, 3, "ne-gmm", inputs=X[:299])
    bad = X.copy()
    bad[7, 0] = np.inf
    with pytest.raises(ValueError, match="the inputs hold NaN or infinite values"):
        cluster_codes(X, 3, "ne-gmm", inputs=bad)


def test_auto_clustering_is_ours_with_the_inputs_or_without_umap_learn(monkeypatch):
    from autoencoders.evaluation.clustering import resolve_cluster_method

    pytest.importorskip("umap")
    assert resolve_cluster_method("auto") == "umap-gmm"
    assert resolve_cluster_method("auto", with_inputs=True) == "ne-gmm"
    assert resolve_cluster_method("kmeans", with_inputs=True) == "kmeans"
    monkeypatch.setitem(sys.modules, "umap", None)  # a plain install
    assert resolve_cluster_method("auto") == "ne-gmm"


@pytest.mark.parametrize("method", ["ne-gmm", "umap-gmm", "kmeans"])
def test_clustering_refuses_bad_codes_with_the_reason(blobs, method):
    X = blobs[0].copy()
    X[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        cluster_codes(X, 3, method)
    with pytest.raises(ValueError, match="n_init must be at least 1"):
        cluster_codes(blobs[0], 3, method, n_init=0)
    # A fraction or a bool where a whole number is due is refused, not rounded or counted.
    for bad in ({"n_init": 2.5}, {"n_clusters": 3.0}, {"n_neighbors": 7.5},
                {"n_neighbors": True}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))} must be"):
            cluster_codes(blobs[0], **{"n_clusters": 3, "method": method, **bad})
    if method != "kmeans":
        with pytest.raises(ValueError, match="too few for a neighbour graph of 15"):
            cluster_codes(blobs[0][:12], 3, method, n_neighbors=15)


def test_map_2d_of_one_dimensional_codes_lies_on_a_line():
    out = map_2d(np.arange(5, dtype=np.float32)[:, None], "pca")
    assert out.shape == (5, 2) and (out[:, 1] == 0).all()


def test_cluster_run_clusters_the_codes_alone_when_the_inputs_do_not_fit(blobs, tmp_path,
                                                                          monkeypatch):
    from autoencoders import AutoEncoder
    from autoencoders.evaluation.reducers import umap_available
    from autoencoders.workflow import evaluate

    X, y = blobs
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0, random_state=0)
    ae.fit(X)
    result = evaluate.cluster_run(ae, X, y, tmp_path, n_clusters=3, method="ne-gmm")
    assert result["inputs"] is True and result["accuracy"] == 1.0
    default = evaluate.cluster_run(ae, X, y, tmp_path, n_clusters=3)
    assert default["method"] == "ne-gmm" and default["inputs"] is True
    monkeypatch.setattr(evaluate, "CLUSTER_INPUTS_BYTES", X.nbytes - 1)
    with warnings.catch_warnings():  # without umap-learn: ne-gmm of the codes alone
        warnings.simplefilter("ignore", UserWarning)
        too_big = evaluate.cluster_run(ae, X, y, tmp_path, n_clusters=3)
    assert too_big["method"] == ("umap-gmm" if umap_available() else "ne-gmm")
    with pytest.warns(UserWarning, match="over 0 GiB: ne-gmm clusters the codes alone"):
        forced = evaluate.cluster_run(ae, X, y, tmp_path, n_clusters=3, method="ne-gmm")
    assert forced["inputs"] is False


def _three_classes(n):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)[:n]
    X = (rng.normal(size=(3, 8)) * 5)[y] + rng.normal(size=(n, 8))
    return X.astype(np.float32), y


def test_clustering_a_small_table_keeps_neighbourhoods_inside_clusters():
    # 40 rows of 3 classes: with 15 (and 30 shared) neighbours the classes ran together
    # (ARI 0.12 with the inputs, 2026-12-02); the neighbourhood now shrinks with the data.
    X, y = _three_classes(40)
    assert cluster_accuracy(y, cluster_codes(X[:, :4] * 2, 3, "ne-gmm", inputs=X)) == 1.0
    assert cluster_accuracy(y, cluster_codes(X[:, :4] * 2, 3, "ne-gmm")) == 1.0


def test_clustering_is_unmoved_by_the_scale_of_inputs_and_codes():
    # Values of 1e20 made the covariance's eigh fail; 1e30 codes lost the shared graph.
    X, y = _three_classes(150)
    for inputs, codes in ((X * 1e20, X[:, :4]), (X * 1e-30, X[:, :4]), (X, X[:, :4] * 1e30)):
        labels = cluster_codes(codes.astype(np.float64), 3, "ne-gmm",
                               inputs=inputs.astype(np.float64))
        assert cluster_accuracy(y, labels) == 1.0


def test_inputs_and_codes_that_share_no_neighbours_are_explained():
    i = np.arange(121)
    rng = np.random.default_rng(0)
    X = np.eye(11)[i // 11] * 100 + rng.normal(size=(121, 11)) * 0.01
    Z = np.eye(11)[i % 11] * 100 + rng.normal(size=(121, 11)) * 0.01
    with pytest.raises(ValueError, match="share no neighbours .* cluster the codes alone"):
        cluster_codes(Z, 3, "ne-gmm", inputs=X, n_neighbors=5)


def test_cluster_run_warns_once_of_missing_column_names(blobs, tmp_path):
    """The inputs are checked twice (codes, and the embedding's view of the inputs); the
    user hears of their column names once."""
    import pandas as pd

    from autoencoders import AutoEncoder
    from autoencoders.workflow import evaluate

    X, y = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0, random_state=0)
    ae.fit(frame)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate.cluster_run(ae, X, y, tmp_path, n_clusters=3, method="ne-gmm")
    named = [w for w in caught if "feature names" in str(w.message)]
    assert result["inputs"] is True and len(named) == 1, [str(w.message) for w in caught]


def test_merge_clusters_joins_the_pieces_that_share_most_edges():
    # Rows 0-3 and 4-7 are two halves of one group (many edges across), rows 8-11 another
    # group with one edge to the first; chance alone would join the two larger labels.
    labels = np.array([5, 5, 5, 5, 7, 7, 7, 7, 2, 2, 2, 2])
    pairs = [(i, j) for i in range(8) for j in range(8) if i < j and (i < 4) != (j < 4)]
    pairs += [(8, 9), (9, 10), (10, 11), (8, 11), (0, 1), (4, 5), (3, 8)]
    heads, tails = np.array(pairs).T
    merged = merge_clusters(labels, heads, tails, 2)
    assert merged.tolist() == [1] * 8 + [0] * 4
    # Nothing to merge: only renumbered.
    assert merge_clusters(labels, heads, tails, 3).tolist() == [1] * 4 + [2] * 4 + [0] * 4
    with pytest.raises(ValueError, match="edges must join rows 0 … 11"):
        merge_clusters(labels, heads + 4, tails, 2)
    with pytest.raises(ValueError, match="at least 1"):
        merge_clusters(labels, heads, tails, 0)


def test_modularity_is_higher_for_the_partition_along_the_graph():
    from autoencoders.evaluation.clustering import modularity

    # Two triangles joined by one edge, every edge in both directions.
    pairs = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    heads, tails = np.array(pairs + [(j, i) for i, j in pairs]).T
    along = modularity(np.array([0, 0, 0, 1, 1, 1]), heads, tails)
    assert along == pytest.approx(6 / 7 - 0.5)  # Newman's Q: inside 6/7, degrees 1/2 each
    assert modularity(np.array([0, 1, 0, 1, 0, 1]), heads, tails) < along
    assert modularity(np.zeros(6, dtype=int), heads, tails) == pytest.approx(0.0)
    # Any integer labels, as merge_clusters takes them; edges must name rows.
    assert modularity(np.array([-3, -3, -3, 9, 9, 9]), heads, tails) == pytest.approx(along)
    with pytest.raises(ValueError, match="edges must join rows 0 … 5"):
        modularity(np.zeros(6, dtype=int), heads + 1, tails)
