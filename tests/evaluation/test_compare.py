"""The side-by-side comparison on small data: every method scored on the same points."""

import numpy as np
import pytest

from autoencoders import AutoEncoder
from autoencoders.evaluation.compare import compare_representations
from autoencoders.neighbours import NeighbourMap


def test_compare_scores_every_method_on_the_same_points(blobs):
    X, y = blobs
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=3, code_activation="linear", epochs=30,
                     batch_size=32, learning_rate=1e-2, random_state=0, verbose=0,
                     device="cpu").fit(X[:200])
    logged = []
    result = compare_representations(ae, X[:200], X[200:], y[:200], y[200:],
                                     baselines=("pca",), subsample=150, k=5,
                                     log=logged.append)
    assert list(result.methods) == ["raw", "autoencoder", "pca", "pca_2d",
                                    "autoencoder_2d_pca"]
    assert result.settings["n_train"] == 150 and result.settings["n_test"] == 100
    assert set(result.maps) == {"pca_2d", "autoencoder_2d_pca"}
    assert result.maps["pca_2d"].shape == (100, 2) and len(result.y_test) == 100
    code = result.methods["autoencoder"]
    assert code["knn_accuracy"] == 1.0 and code["trustworthiness"] > 0.8
    assert code["fit_seconds"] == ae.train_seconds_
    # PCA with 3 components reconstructs; its error is computed in the same units.
    assert 0 < result.methods["pca"]["mse"] < 0.05
    assert "trustworthiness" not in result.methods["raw"]
    assert len(logged) == 5


def test_compare_without_labels_has_no_accuracies(blobs):
    X, _ = blobs
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, random_state=0, verbose=0,
                     device="cpu").fit(X)
    result = compare_representations(ae, X[:200], X[200:], baselines=())
    assert "knn_accuracy" not in result.methods["autoencoder"]
    assert result.y_test is None and np.isfinite(result.methods["autoencoder"]["mse"])


def test_maps_of_the_code_by_default_only_for_a_model_without_its_own(blobs):
    X, y = blobs
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=3, epochs=2, random_state=0, verbose=0,
                     device="cpu").fit(X[:200])

    def code_maps(**kwargs):
        result = compare_representations(ae, X[:200], X[200:], y[:200], y[200:],
                                         baselines=("pca",), **kwargs)
        return [name for name in result.methods if name.startswith("autoencoder_")]

    assert code_maps() == ["autoencoder_2d_pca"]
    assert code_maps(code_maps=False) == []
    small_map = NeighbourMap(hidden=(16,), n_pca=5, epochs=1, min_steps=20, batch_size=256,
                             negatives=32)
    ae.set_params(neighbour_map=small_map).fit(X[:200])
    assert code_maps() == ["autoencoder_map"]
    assert code_maps(code_maps=True) == ["autoencoder_map", "autoencoder_2d_pca"]


def test_labels_of_one_class_are_refused_before_any_baseline(blobs, monkeypatch):
    import autoencoders.evaluation.compare as compare

    X, _ = blobs
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, random_state=0, verbose=0,
                     device="cpu").fit(X)
    monkeypatch.setattr(compare, "make_reducer", lambda *a, **k: pytest.fail("fitted first"))
    with pytest.raises(ValueError, match=r"the training labels hold one class \(7\)"):
        compare_representations(ae, X[:200], X[200:], np.full(200, 7), np.full(len(X) - 200, 7),
                                baselines=("pca",))


def test_missing_labels_are_refused_before_any_baseline(blobs, monkeypatch):
    import autoencoders.evaluation.compare as compare

    X, y = blobs
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, random_state=0, verbose=0,
                     device="cpu").fit(X)
    monkeypatch.setattr(compare, "make_reducer", lambda *a, **k: pytest.fail("fitted first"))
    holes = y[:200].astype(float)
    holes[5] = np.nan
    with pytest.raises(ValueError, match=r"y_train: 1 sample\(s\) have no label \(the first: "
                                         r"sample 5\); fill them in, or drop those rows"):
        compare_representations(ae, X[:200], X[200:], holes, y[200:], baselines=("pca",))
