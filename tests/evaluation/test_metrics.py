"""Metrics against hand-computed values and scikit-learn on small inputs."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import trustworthiness as sk_trustworthiness
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autoencoders.evaluation.metrics import (
    InputNeighbourhoods,
    cluster_accuracy,
    clustering_scores,
    continuity,
    knn_accuracy,
    knn_recall,
    linear_probe_accuracy,
    reconstruction_metrics,
    trustworthiness,
)

# Four points a, b, c, d on a line, and two embeddings. By hand, with k = 1 and the
# normaliser 2 / (n k (2n − 3k − 1)) = 1/8:
# - Z_SWAP swaps b and c. Its nearest neighbours a→c, b→c, c→a, d→b all sit at rank 2 in
#   the input (penalty 1 each): trustworthiness 1 − 4/8. The input's a→b, b→a, c→b, d→c
#   sit at rank 2 in Z_SWAP: continuity 1 − 4/8. No neighbour is kept: recall 0.
# - Z_FAR moves c and d. Its a→b, b→a keep rank 1; c→d has rank 3 in the input (penalty 2),
#   d→b rank 2 (1): trustworthiness 1 − 3/8. The input's c→b has rank 2 in Z_FAR (1), d→c
#   rank 3 (2): continuity 1 − 3/8. Two of four neighbours are kept: recall 0.5.
X_LINE = np.array([[0.0], [1.0], [3.0], [7.0]])
Z_SWAP = np.array([[0.0], [3.0], [1.0], [7.0]])
Z_FAR = np.array([[0.0], [1.0], [7.0], [3.0]])


def test_trustworthiness_continuity_and_recall_by_hand():
    assert trustworthiness(X_LINE, Z_SWAP, k=1) == pytest.approx(0.5)
    assert continuity(X_LINE, Z_SWAP, k=1) == pytest.approx(0.5)
    assert knn_recall(X_LINE, Z_SWAP, k=1) == 0.0
    assert trustworthiness(X_LINE, Z_FAR, k=1) == pytest.approx(0.625)
    assert continuity(X_LINE, Z_FAR, k=1) == pytest.approx(0.625)
    assert knn_recall(X_LINE, Z_FAR, k=1) == 0.5
    assert trustworthiness(X_LINE, X_LINE * 3 + 1, k=1) == 1.0
    assert knn_recall(X_LINE, -X_LINE, k=1) == 1.0


def test_trustworthiness_matches_scikit_learn_and_subsamples():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    Z = X[:, :2] + rng.normal(scale=0.5, size=(200, 2))
    assert trustworthiness(X, Z, k=7) == pytest.approx(sk_trustworthiness(X, Z, n_neighbors=7),
                                                      rel=1e-6)
    assert continuity(X, Z, k=7) == pytest.approx(sk_trustworthiness(Z, X, n_neighbors=7),
                                                  rel=1e-6)
    sub = trustworthiness(X, Z, k=7, max_points=100, random_state=1)
    idx = np.sort(np.random.default_rng(1).choice(200, 100, replace=False))
    assert sub == pytest.approx(sk_trustworthiness(X[idx], Z[idx], n_neighbors=7), rel=1e-6)


def test_trustworthiness_and_continuity_match_scikit_learn_across_row_blocks():
    # 1,100 points: distances come in blocks of 512 rows and ranks in blocks of 256, so
    # the last blocks are partial.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1100, 12)).astype(np.float32)
    Z = X[:, :2] + rng.normal(scale=0.5, size=(1100, 2)).astype(np.float32)
    assert trustworthiness(X, Z, k=5) == pytest.approx(sk_trustworthiness(X, Z, n_neighbors=5),
                                                      rel=1e-6)
    assert continuity(X, Z, k=5) == pytest.approx(sk_trustworthiness(Z, X, n_neighbors=5),
                                                  rel=1e-6)


def test_neighbourhood_metrics_reject_mismatched_points_and_large_k():
    with pytest.raises(ValueError, match="X has 4 points but Z has 3"):
        trustworthiness(X_LINE, Z_SWAP[:3])
    with pytest.raises(ValueError, match="k=2 neighbours needs 1 ≤ k < n/2"):
        knn_recall(X_LINE, Z_SWAP, k=2)


def test_knn_and_linear_probe_accuracy_match_scikit_learn():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(120, 5))
    y = (Z[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)
    expect = KNeighborsClassifier(5).fit(Z[:80], y[:80]).score(Z[80:], y[80:])
    assert knn_accuracy(Z[:80], y[:80], Z[80:], y[80:]) == pytest.approx(expect)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    expect = probe.fit(Z[:80], y[:80]).score(Z[80:], y[80:])
    assert linear_probe_accuracy(Z[:80], y[:80], Z[80:], y[80:]) == pytest.approx(expect)


def test_knn_accuracy_by_hand():
    Z_train = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    y_train = np.array(["a", "a", "a", "b", "b", "b"])
    Z_test = np.array([[0.5], [11.5], [6.5]])
    # 6.5's three nearest are 10 (3.5 away), then 2 and 11 (4.5 each): "b" wins 2 to 1.
    assert knn_accuracy(Z_train, y_train, Z_test, np.array(["a", "b", "b"]), k=3) == 1.0
    assert knn_accuracy(Z_train, y_train, Z_test, np.array(["a", "b", "a"]), k=3) == \
        pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="y_test has 2 entries but there are 3 samples"):
        knn_accuracy(Z_train, y_train, Z_test, np.array(["a", "b"]))


def test_cluster_accuracy_by_hand_and_scores_match_scikit_learn():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([1, 1, 0, 0, 2, 0])  # best matching 1→0, 0→1, 2→2: 5 of 6 right
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert cluster_accuracy(y_true, np.array([7, 7, 3, 3, 5, 5])) == 1.0
    assert cluster_accuracy(y_true, np.zeros(6)) == pytest.approx(2 / 6)  # one cluster
    scores = clustering_scores(y_true, y_pred)
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(y_true, y_pred))
    assert scores["ari"] == pytest.approx(adjusted_rand_score(y_true, y_pred))
    with pytest.raises(ValueError, match="must be 1-D of the same length"):
        cluster_accuracy(y_true, y_pred[:5])


def test_reconstruction_metrics_by_hand():
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    R = np.array([[0.5, 1.0], [1.0, 0.5]])
    m = reconstruction_metrics(X, R)
    assert m["mse"] == pytest.approx(0.125)  # (0.25 + 0.25) / 4
    assert m["sse_per_image"] == pytest.approx(0.25)
    assert m["psnr"] == pytest.approx(10 * np.log10(8))
    assert m["bce"] == pytest.approx(2 * np.log(2) / 4, rel=1e-5)


def test_input_neighbourhoods_score_many_embeddings_as_the_functions_do():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 20))
    Z1 = X[:, :2] + rng.normal(scale=0.3, size=(300, 2))
    Z2 = rng.normal(size=(300, 3))
    near = InputNeighbourhoods(X, k=5, max_points=200, recall_points=250, random_state=2)
    for Z in (Z1, Z2):
        assert near.trustworthiness(Z) == trustworthiness(X, Z, 5, max_points=200,
                                                          random_state=2)
        assert near.continuity(Z) == continuity(X, Z, 5, max_points=200, random_state=2)
        assert near.knn_recall(Z) == knn_recall(X, Z, 5, max_points=250, random_state=2)
    assert near.trustworthiness(Z1) > near.trustworthiness(Z2)
    with pytest.raises(ValueError, match="X has 300 points but Z has 299"):
        near.continuity(Z1[:-1])
