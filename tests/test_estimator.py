import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from autoencoders import AutoEncoder, preset
from autoencoders.params import architecture_from_params


def small(**kw):
    # A linear code: a 2-unit ReLU bottleneck in so small a network often loses a unit.
    params = dict(hidden_dims=(16,), latent_dim=2, code_activation="linear", epochs=30,
                  batch_size=32,
                  learning_rate=1e-2, random_state=0, verbose=0, device="cpu")
    params.update(kw)
    return AutoEncoder(**params)


def test_init_stores_parameters_untouched():
    ae = AutoEncoder(hidden_dims=[3], latent_dim=-1, optimizer="nope")
    assert ae.hidden_dims == [3] and ae.latent_dim == -1 and ae.optimizer == "nope"
    defaults = AutoEncoder().get_params()
    assert defaults["hidden_dims"] is None and defaults["latent_dim"] == 25
    # None: the notebook's widths for the dense model, none after the convolutions
    dense = architecture_from_params(AutoEncoder().get_params(), (28, 28), in_unit=True)
    conv = architecture_from_params(AutoEncoder(architecture="conv").get_params(), (28, 28),
                                    in_unit=True)
    assert dense.hidden_dims == (400, 200, 100, 50) and conv.hidden_dims == ()
    # A linear code by default (no dead units); the notebook's ReLU code in its preset.
    assert (dense.code_activation, conv.code_activation) == ("linear", "linear")
    assert (defaults["activation"], defaults["loss"], defaults["optimizer"]) == \
        ("relu", "bce", "auto")
    assert defaults["batch_size"] is None and defaults["learning_rate"] is None


def test_invalid_parameters_fail_at_fit(blobs):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        AutoEncoder(optimizer="nope").fit(blobs[0])
    with pytest.raises(ValueError, match="input_scaling must be one of"):
        AutoEncoder(input_scaling="zscore").fit(blobs[0])
    with pytest.raises(ValueError, match="hidden_dims must be a sequence"):
        AutoEncoder(hidden_dims=16).fit(blobs[0])
    with pytest.raises(ValueError, match="latent_dim must hold integers"):
        AutoEncoder(latent_dim=2.5).fit(blobs[0])


def test_fit_transform_shapes_dtypes_and_fitted_attributes(blobs):
    X, _ = blobs
    ae = small()
    Z = ae.fit_transform(X)
    assert Z.shape == (300, 2) and Z.dtype == np.float32
    assert ae.n_features_in_ == 20 and ae.feature_shape_ == (20,)
    R = ae.inverse_transform(Z)
    assert R.shape == (300, 20) and R.dtype == np.float32
    np.testing.assert_allclose(ae.reconstruct(X), R, atol=1e-6)
    assert list(ae.get_feature_names_out()) == ["autoencoder0", "autoencoder1"]
    assert set(ae.history_) == {"epoch", "train_loss", "val_loss", "learning_rate", "seconds"}
    assert len(ae.history_["epoch"]) == 30 and ae.train_seconds_ > 0


def test_images_keep_their_shape_and_uint8_is_scaled(tiny_images):
    ae = small(epochs=2).fit(tiny_images)
    assert ae.feature_shape_ == (8, 8) and ae.n_features_in_ == 64
    assert ae.reconstruct(tiny_images[:3]).shape == (3, 8, 8)
    # the flat form is accepted at transform time too
    flat = tiny_images.reshape(64, 64)
    np.testing.assert_allclose(ae.transform(flat), ae.transform(tiny_images))
    np.testing.assert_allclose(ae.scale_input(tiny_images[:2]), tiny_images[:2] / 255.0,
                               rtol=1e-6)


def test_learns_clusters_codes_separate_them(blobs):
    X, y = blobs
    ae = small().fit(X)
    # BCE against grey targets cannot go below the targets' own entropy: measure the excess.
    entropy = float(-(X * np.log(X + 1e-12) + (1 - X) * np.log(1 - X + 1e-12)).mean())
    first, last = ae.history_["train_loss"][0] - entropy, ae.history_["train_loss"][-1] - entropy
    assert last < 0.2 * first
    Z = ae.transform(X)
    clf = LogisticRegression(max_iter=1000).fit(Z, y)
    assert clf.score(Z, y) > 0.95


def test_same_seed_same_codes_different_seed_different_codes(blobs):
    X, _ = blobs
    a = small(epochs=3).fit(X).transform(X)
    b = small(epochs=3).fit(X).transform(X)
    c = small(epochs=3, random_state=1).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_score_samples_flags_outliers(blobs):
    X, _ = blobs
    ae = small(loss="mse").fit(X)
    outliers = np.random.default_rng(3).uniform(0, 1, size=(20, 20)).astype(np.float32)
    normal_scores, outlier_scores = ae.score_samples(X), ae.score_samples(outliers)
    assert normal_scores.shape == (300,)
    assert np.median(outlier_scores) > 2 * np.median(normal_scores)
    assert ae.score(X) == pytest.approx(-normal_scores.mean(), rel=1e-6)


def test_score_samples_is_the_loss_above_its_least_not_the_rows_own_entropy(blobs):
    # The BCE of a row whose values lie inside (0, 1) has a floor set by those values:
    # ranked by it, a table's rows came out by how near 0.5 they lie (new-user trial).
    X, _ = blobs
    ae = small(epochs=3).fit(X)  # BCE on data in [0, 1]
    x, r = X.astype(np.float64), ae.reconstruct(X).astype(np.float64)
    kl = (x * np.log(x / r) + (1 - x) * np.log((1 - x) / (1 - r))).mean(1)
    scores = ae.score_samples(X)
    np.testing.assert_allclose(scores, kl, rtol=2e-3, atol=1e-6)
    assert scores.min() >= 0.0
    bce = -(x * np.log(r) + (1 - x) * np.log(1 - r)).mean(1)
    assert not np.allclose(scores, bce, rtol=0.1)  # the floor is not small here
    mse = small(epochs=3, loss="mse").fit(X)
    np.testing.assert_allclose(mse.score_samples(X),
                               ((mse.reconstruct(X) - X) ** 2).mean(1), rtol=1e-4)


def test_score_samples_adds_what_clipping_to_the_training_range_removed(blobs):
    # A min-max model clips new data to the training range; a row far beyond it must
    # not score as its clipped copy (it would rank as normal in an anomaly search).
    X = blobs[0] * 10 + 5
    ae = small(loss="mse", input_scaling="minmax", epochs=3).fit(X)
    lo, span = X.min(0), X.max(0) - X.min(0)
    far = X[:3].copy()
    far[0, 4] = lo[4] + 3 * span[4]  # 2 training ranges beyond the maximum
    far[1, 7] = lo[7] - 0.5 * span[7]  # half a range below the minimum
    clipped = np.clip(far, lo, lo + span)
    scores, base = ae.score_samples(far), ae.score_samples(clipped)
    np.testing.assert_allclose(scores - base, [2.0 ** 2 / 20, 0.5 ** 2 / 20, 0.0], rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_array_equal(ae.transform(far), ae.transform(clipped))  # codes: clipped
    assert scores[0] > ae.score_samples(X).max()
    # A feature constant in training has no range to measure in: only its clipped value
    # counts (1 and 3 units above it both reach the model as 1).
    X[:, 9] = 7.0
    ae = small(loss="mse", input_scaling="minmax", epochs=1).fit(X)
    lit = np.repeat(X[:1], 2, axis=0)
    lit[:, 9] = [8.0, 10.0]
    a, b = ae.score_samples(lit)
    assert a == b > ae.score_samples(X[:1])[0]


def test_a_feature_of_range_one_is_measured_and_refused_like_the_others(blobs):
    # A 0/1 column has scale 1 as a constant one does; it is not constant: 3 is two
    # training ranges beyond it (counted in the score), 21 twenty (refused as other units).
    X = blobs[0] * 10 + 5
    X[:, 3] = np.arange(len(X)) % 2
    ae = small(loss="mse", input_scaling="minmax", epochs=1).fit(X)
    row = np.repeat(X[:1], 2, axis=0)
    row[1, 3] = 3.0
    a, b = ae.score_samples(row)
    assert b - a == pytest.approx((3.0 - 1.0) ** 2 / 20 + ae.score_samples(
        np.where(np.arange(20) == 3, 1.0, row[:1]))[0] - a, rel=1e-5)
    row[1, 3] = 21.0
    with pytest.raises(ValueError, match="20 training ranges beyond those of fit"):
        ae.score_samples(row)


def test_validation_data_and_early_stopping(blobs):
    X, _ = blobs
    ae = small(epochs=5).fit(X[:200], validation_data=X[200:])
    assert all(v is not None for v in ae.history_["val_loss"])
    es = small(epochs=300, early_stopping=True, n_iter_no_change=2, tol=1e-2).fit(X)
    assert len(es.history_["epoch"]) < 300
    assert small(epochs=2).fit(X).history_["val_loss"] == [None, None]


@pytest.mark.parametrize("bad,match", [
    (np.zeros((0, 20), np.float32), "empty"),
    (np.zeros(20, np.float32), "Reshape your data: X.reshape\\(1, -1\\)"),
    (np.full((3, 20), np.nan, np.float32), "NaN or infinite"),
    (np.full((3, 20), np.inf, np.float32), "NaN or infinite"),
    (np.array([["a"] * 20] * 3), "real numbers"),
])
def test_bad_input_at_fit_is_explained(bad, match):
    with pytest.raises(ValueError, match=match):
        small(epochs=1).fit(bad)


def test_values_outside_unit_with_bce_are_min_max_scaled_by_default_and_refused_with_none(
        caplog):
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(60, 20)).astype(np.float32)
    with caplog.at_level("INFO", logger="autoencoders"):
        ae = small(epochs=1).fit(X)
    assert "min-max" in caplog.text
    assert ae.input_spec_.offset is not None
    np.testing.assert_allclose(ae.scale_input(X).min(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(ae.scale_input(X).max(axis=0), 1, atol=1e-6)
    with pytest.raises(ValueError, match="needs \\[0, 1\\].*minmax"):
        small(epochs=1, input_scaling="none").fit(X)


def test_transform_rejects_wrong_feature_count_and_unfitted_use(blobs):
    X, _ = blobs
    with pytest.raises(NotFittedError):
        small().transform(X)
    ae = small(epochs=1).fit(X)
    with pytest.raises(ValueError, match="X has 19 features, but AutoEncoder is expecting 20"):
        ae.transform(X[:, :19])
    with pytest.raises(ValueError, match="expected \\(n_samples, 2\\)"):
        ae.inverse_transform(np.zeros((3, 5)))


def test_accepts_float64_noncontiguous_dataframes_and_tensors(blobs):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    ae = small(epochs=1).fit(X)
    expected = ae.transform(X[:10])
    wide = np.asfortranarray(np.repeat(X[:10].astype(np.float64), 2, axis=1))[:, ::2]
    np.testing.assert_allclose(ae.transform(wide), expected, rtol=1e-5)
    np.testing.assert_allclose(ae.transform(torch.from_numpy(X[:10])), expected)
    np.testing.assert_allclose(ae.transform(pd.DataFrame(X[:10])), expected)


def test_minmax_scaling_handles_unbounded_data_and_inverts():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 6)) * [1, 10, 100, 1, 1, 1] + 50).astype(np.float32)
    with pytest.raises(ValueError, match="minmax"):
        small(epochs=1, input_scaling="none").fit(X)
    ae = small(epochs=40, input_scaling="minmax").fit(X)
    R = ae.reconstruct(X)
    assert np.abs(R - X).mean(axis=0)[2] < np.abs(X[:, 2] - X[:, 2].mean()).mean()
    assert R[:, 2].std() > 10  # back in the input's units
    # new data a little beyond the training range is clipped into it, not refused; data
    # many ranges beyond is taken for other units
    assert ae.transform(X + 2 * (X.max(0) - X.min(0))).shape == (200, 2)
    with pytest.raises(ValueError, match="training ranges beyond those of fit"):
        ae.transform(X * 3)


def test_mse_with_unbounded_data_uses_a_linear_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    ae = small(loss="mse", input_scaling="none", epochs=5).fit(X)
    assert ae.architecture_.output_activation == "linear"
    assert ae.reconstruct(X).min() < 0


def test_preset_notebook_and_unknown_preset():
    assert preset("notebook") == {"optimizer": "sgd", "learning_rate": 1.5,
                                  "schedule": "constant", "warmup": 0.0,
                                  "init_output_bias": False, "epochs": 50, "batch_size": 32,
                                  "precision": "float32", "code_activation": "relu"}
    with pytest.raises(ValueError, match="unknown preset 'quick'; choose one of default, "
                                         "notebook, fast"):
        preset("quick")


def test_works_in_a_pipeline_with_a_classifier(blobs):
    X, y = blobs
    pipe = make_pipeline(small(), LogisticRegression(max_iter=1000)).fit(X, y)
    assert pipe.score(X, y) > 0.9


def test_read_only_arrays_are_used_without_a_copy_or_a_warning():
    # pandas 3's to_numpy() and np.load(mmap_mode="r") give read-only arrays. torch warns
    # about them once per process, so a fresh one shows whether any call would.
    import subprocess
    import sys

    code = ("import numpy as np; from autoencoders import AutoEncoder; "
            "X = np.random.default_rng(0).uniform(size=(64, 5)).astype(np.float32); "
            "X.flags.writeable = False; "
            "ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0).fit(X); "
            "Z = ae.transform(X); Z.flags.writeable = False; ae.inverse_transform(Z)")
    proc = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
