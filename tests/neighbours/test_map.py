"""The parametric neighbour embedding: its parts against plain formulas, determinism,
persistence, bad input, and a quality floor on real MNIST."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from autoencoders.evaluation import knn_accuracy, trustworthiness
from autoencoders.neighbours import MapConfig, NeighbourMap
from autoencoders.neighbours.graph import knn_indices, symmetric_edges
from autoencoders.neighbours.loss import infonce_cauchy

FAST = dict(hidden=(32, 32), epochs=0.5, batch_size=256, negatives=128, random_state=0)


def test_the_knn_graph_is_exact_and_symmetric():
    X = torch.from_numpy(np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32))
    nbr = knn_indices(X, 7, chunk=64)
    expected = NearestNeighbors(n_neighbors=8).fit(X.numpy()).kneighbors(
        return_distance=False)[:, :7]
    assert (np.sort(nbr.numpy(), 1) == np.sort(expected, 1)).mean() > 0.999
    heads, tails = symmetric_edges(nbr)
    pairs = set(zip(heads.tolist(), tails.tolist(), strict=True))
    assert all((j, i) in pairs for i, j in pairs) and all(i != j for i, j in pairs)
    with pytest.raises(ValueError, match="n_neighbors=300"):
        knn_indices(X, 300)


def test_the_hand_written_gradient_is_autograds():
    rng = torch.Generator().manual_seed(0)
    yh = torch.randn(64, 2, generator=rng, dtype=torch.float64, requires_grad=True)
    yt = torch.randn(64, 2, generator=rng, dtype=torch.float64, requires_grad=True)
    loss = infonce_cauchy(yh, yt, exaggeration=1.5, group=16)
    gh, gt = torch.autograd.grad(loss, (yh, yt))
    a, b = yh.reshape(4, 16, 2), yt.reshape(4, 16, 2)
    logq = -torch.log1p(torch.cdist(a, b).pow(2))
    plain = (-1.5 * logq.diagonal(dim1=1, dim2=2) + torch.logsumexp(logq, -1)).mean()
    assert loss.item() == pytest.approx(plain.item(), rel=1e-10)
    eh, et = torch.autograd.grad(plain, (yh, yt))
    torch.testing.assert_close(gh, eh)
    torch.testing.assert_close(gt, et)


def test_the_loss_stays_finite_for_a_map_far_from_the_origin():
    # 1 + d is written as 1 + |h|² + |t|² − 2 h·t: at 1e5 units float32 rounds it below 0
    # for near pairs (a diverging map gets there), where 1 / (1 + d) would turn negative.
    rng = torch.Generator().manual_seed(0)
    y = torch.randn(512, 2, generator=rng) + 1e5
    yh, yt = y[:256].requires_grad_(), (y[256:] + 0.01).requires_grad_()
    loss = infonce_cauchy(yh, yt, group=128)
    gh, gt = torch.autograd.grad(loss, (yh, yt))
    assert torch.isfinite(loss) and loss.item() > 0
    assert torch.isfinite(gh).all() and torch.isfinite(gt).all()


def test_the_same_seed_gives_the_same_map_and_save_load_keeps_it(tmp_path):
    X = np.random.default_rng(0).uniform(size=(400, 20)).astype(np.float32)
    a = NeighbourMap(**FAST).fit(X)
    b = NeighbourMap(**FAST).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert not np.array_equal(a.embedding_, NeighbourMap(**{**FAST, "random_state": 1})
                              .fit(X).embedding_)
    loaded = NeighbourMap.load(a.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.transform(X), a.transform(X))
    assert loaded.get_params() == a.get_params()
    assert list(a.get_feature_names_out()) == ["neighbourmap0", "neighbourmap1"]


def test_a_damaged_map_record_is_refused_without_allocating_what_it_names(tmp_path):
    X = np.random.default_rng(0).uniform(size=(200, 6)).astype(np.float32)
    tensors, facts = NeighbourMap(**FAST).fit(X).state()
    for change in ({"params": None}, {"feature_names": 5}, {"feature_names": [1, 2]},
                   {"n_features": 10**12}, {"n_features": 10**30},
                   {"config": {**facts["config"], "hidden": [60000, 60000]}}):
        # 10**12 features or two layers of 60,000 would take terabytes or 14 GB if built
        # before the shapes are compared: built on the meta device, they are not.
        with pytest.raises(ValueError, match="the map's (configuration is damaged|tensors)"):
            NeighbourMap.from_state(tensors, {**facts, **change})
    (tmp_path / "a-file").write_text("mine")
    with pytest.raises(NotADirectoryError, match="it is a file; name a folder"):
        NeighbourMap(**FAST).fit(X).save(tmp_path / "a-file")
    assert (tmp_path / "a-file").read_text() == "mine"


def test_a_map_saved_before_activation_and_noise_were_fields_loads_as_it_was_trained(tmp_path):
    X = np.random.default_rng(0).uniform(size=(200, 6)).astype(np.float32)
    relu = NeighbourMap(**FAST, activation="relu", input_noise=0.0).fit(X)
    tensors, facts = relu.state()
    for name in ("activation", "input_noise"):  # as written before
        del facts["config"][name], facts["params"][name]
    old = NeighbourMap.from_state(tensors, facts)
    assert old.activation == old.config_.activation == "relu"
    assert old.input_noise == old.config_.input_noise == 0.0
    np.testing.assert_array_equal(old.transform(X), relu.transform(X))
    # The noise is drawn from the seed: the same map again, another without it.
    noisy = NeighbourMap(**FAST, activation="relu").fit(X)
    assert noisy.config_.input_noise == 0.1
    np.testing.assert_array_equal(noisy.embedding_,
                                  NeighbourMap(**FAST, activation="relu").fit(X).embedding_)
    assert not np.array_equal(noisy.embedding_, relu.embedding_)
    gelu = NeighbourMap(**FAST).fit(X)  # the default since 2026-12-03
    assert any(isinstance(m, torch.nn.GELU) for m in gelu.network_.modules())
    assert not np.array_equal(gelu.embedding_, relu.embedding_)


def test_auto_precision_trains_in_bf16_only_where_the_cpu_has_it(monkeypatch):
    from autoencoders.neighbours import estimator

    X = np.random.default_rng(0).uniform(size=(300, 20)).astype(np.float32)
    for native, expected in ((False, "float32"), (True, "bfloat16")):
        monkeypatch.setattr(estimator, "native_bf16", lambda device, n=native: n)
        assert NeighbourMap(**FAST).fit(X).config_.precision == expected
    # Either precision learns the same map to bf16's ~3 digits: the same neighbours.
    maps = {p: NeighbourMap(**FAST, precision=p).fit(X).embedding_
            for p in ("float32", "bfloat16")}
    assert np.isfinite(maps["bfloat16"]).all() and maps["bfloat16"].dtype == np.float32
    near = [NearestNeighbors(n_neighbors=6).fit(m).kneighbors(return_distance=False)
            for m in maps.values()]
    assert np.mean([len(set(a) & set(b)) / 6 for a, b in zip(*near, strict=True)]) > 0.5
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16'"):
        MapConfig(precision="float16")


def test_a_map_whose_loss_climbs_back_is_reported_as_diverged():
    from autoencoders.neighbours.fit import warn_if_diverged

    # The loss every 250 steps of seed 1 on full MNIST at learning rate 0.01.
    climbed = [3.36, 4.38, 7.87, 9.12, 9.23, 9.42, 9.56, 9.09, 9.41, 9.47]
    with pytest.warns(RuntimeWarning, match=r"rose from 3.36 to 9.47 .* lower learning_rate"):
        warn_if_diverged([v for v in climbed for _ in range(250)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_diverged([3.4, 3.2, 3.1, 3.05, 3.0, 3.02, 2.99, 3.0, 3.01, 3.0])


@pytest.mark.parametrize("after", [9.0, float("nan")])
def test_a_diverging_training_goes_back_to_its_best_weights_at_half_the_rate(monkeypatch,
                                                                             after):
    from autoencoders.neighbours import fit as fit_module

    # A loss that falls for 100 steps, then jumps and stays up whatever the weights.
    steps = iter(range(10**6))

    def climbing(heads, tails, exaggeration, group):
        step = next(steps)
        return (heads.sum() + tails.sum()) * 0 + (3.0 - step / 100 if step < 100 else after)

    monkeypatch.setattr(fit_module, "infonce_cauchy", climbing)
    lines: list[str] = []
    X = torch.from_numpy(np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32))
    config = MapConfig(hidden=(8,), batch_size=64, negatives=32, min_steps=500)
    # It goes back 3 times, then gives up and says so.
    if after == after:
        with pytest.warns(RuntimeWarning, match="diverged"):
            _, info, _ = fit_module.fit_map(X, config, log=lines.append)
        assert info["rollbacks"] == 3
    else:
        with pytest.raises(RuntimeError, match="not finite"):
            fit_module.fit_map(X, config, log=lines.append)
    assert sum("back to the best weights" in line for line in lines) == 3


def test_the_shared_graph_keeps_the_pairs_both_views_list():
    first = torch.tensor([[1, 2], [0, 2], [0, 3], [2, 0]])
    second = torch.tensor([[2, 3], [0, 3], [1, 3], [2, 1]])
    heads, tails = symmetric_edges(first, agree=second, chunk=3)
    assert sorted(zip(heads.tolist(), tails.tolist(), strict=True)) == [
        (0, 1), (0, 2), (1, 0), (2, 0), (2, 3), (3, 2)]
    with pytest.raises(ValueError, match="second view has 3 rows, the first 4"):
        symmetric_edges(first, agree=second[:3])


def test_wide_data_takes_its_principal_axes_from_a_randomised_svd(monkeypatch):
    from autoencoders.neighbours import fit as fit_module

    rng = np.random.default_rng(0)
    X = torch.from_numpy((rng.normal(size=(400, 6)) @ rng.normal(size=(6, 300))
                          + rng.normal(size=(400, 300)) * 0.01).astype(np.float32))
    mean, exact = fit_module._pca(X, 5)
    monkeypatch.setattr(fit_module, "EXACT_PCA_FEATURES", 100)
    mean_svd, sketched = fit_module._pca(X, 5)
    torch.testing.assert_close(mean_svd, mean)
    torch.testing.assert_close(sketched, exact, atol=1e-4, rtol=1e-3)


def test_principal_axes_of_values_near_float32s_limit_are_those_of_the_same_data_scaled():
    # A hostile trial: fit(X * 1e37) failed in eigh (a float32 mean of 1e37s overflowed).
    from autoencoders.neighbours import fit as fit_module

    X = torch.from_numpy(np.random.default_rng(0).uniform(size=(60, 5)).astype(np.float32))
    mean, axes = fit_module._pca(X, 3)
    big_mean, big_axes = fit_module._pca(X * 1e37, 3)
    torch.testing.assert_close(big_mean, mean * 1e37, rtol=1e-5, atol=0)
    torch.testing.assert_close(big_axes * 1e37, axes, rtol=1e-3, atol=1e-4)


def test_a_map_on_a_shared_graph_checks_the_second_view():
    X = np.random.default_rng(0).uniform(size=(60, 4)).astype(np.float32)
    fitted = NeighbourMap(**{**FAST, "n_neighbors": 5}).fit(X, agree_with=X[:, :2])
    assert fitted.embedding_.shape == (60, 2) and fitted.fit_info_["edges"] > 0
    with pytest.raises(ValueError, match="agree_with has 59 rows and X 60"):
        NeighbourMap(**FAST).fit(X, agree_with=X[:59])
    codes = X[:, :2].copy()
    codes[3, 1] = np.inf
    with pytest.raises(ValueError, match="agree_with.*(NaN|infinite)"):
        NeighbourMap(**FAST).fit(X, agree_with=codes)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((2, 5), np.float32), "at least 3 samples"),
    (np.full((30, 5), np.nan, np.float32), "NaN"),
    (np.zeros((0, 5), np.float32), "empty"),
    (np.array([["a", "b"]] * 30), "real numbers"),
    (np.full((30, 5), 1e39), "overflows float32"),
    (np.full((30, 5), 1e-40), "below float32's smallest normal number"),
])
def test_bad_input_to_the_map_is_explained(bad, match):
    with pytest.raises(ValueError, match=match):
        NeighbourMap(**FAST).fit(bad)


def test_too_many_neighbours_and_wrong_widths_are_explained():
    X = np.random.default_rng(0).uniform(size=(10, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="n_neighbors=15 must be smaller than the 10"):
        NeighbourMap(**FAST).fit(X)
    fitted = NeighbourMap(**{**FAST, "n_neighbors": 3}).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but NeighbourMap is expecting 4"):
        fitted.transform(X[:, :3])
    with pytest.raises(ValueError, match="n_neighbors must be a positive integer"):
        MapConfig(n_neighbors=0)


@pytest.mark.parametrize("params, match", [
    ({"n_neighbors": 2.7}, "n_neighbors must be a positive integer, got 2.7"),
    ({"n_neighbors": "5"}, "n_neighbors must be a positive integer, got '5'"),
    ({"epochs": True}, r"epochs must be a number, got True \(bool\)"),
    ({"learning_rate": "0.01"}, r"learning_rate must be a number, got '0.01' \(str\)"),
    ({"hidden": (8, 2.5)}, "hidden must hold integers"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"exaggeration": 0.8}, "exaggeration must be at least 1"),
    ({"input_noise": -0.1}, "input_noise must be a number ≥ 0, got -0.1"),
    ({"input_noise": float("nan")}, "input_noise must be a number ≥ 0, got nan")])
def test_a_parameter_of_the_wrong_type_or_range_is_refused_not_rounded_or_parsed(params,
                                                                                 match):
    # int(2.7) would quietly use 2 neighbours, float(True) one epoch; below exaggeration 1
    # the loss has no minimum (the map drifts apart: trustworthiness 0.83 on MNIST).
    X = np.random.default_rng(0).uniform(size=(40, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=match):
        NeighbourMap(**{**FAST, **params}).fit(X)


def test_numpy_scalars_from_a_parameter_grid_are_taken_as_python_numbers():
    X = np.random.default_rng(0).uniform(size=(40, 4)).astype(np.float32)
    fitted = NeighbourMap(**{**FAST, "n_neighbors": np.int64(3),
                             "learning_rate": np.float32(0.005)}).fit(X)
    assert fitted.config_.n_neighbors == 3 and type(fitted.config_.n_neighbors) is int
    assert type(fitted.config_.learning_rate) is float


def test_a_refit_with_bad_input_keeps_the_fitted_map():
    X = np.random.default_rng(0).uniform(size=(40, 4)).astype(np.float32)
    fitted = NeighbourMap(**{**FAST, "n_neighbors": 3}).fit(X)
    before = fitted.transform(X)
    wide = np.random.default_rng(1).uniform(size=(3, 6)).astype(np.float32)
    # NaN; as many rows as neighbours (refused by the training, after the input's checks)
    for bad in (np.full((40, 6), np.nan, np.float32), wide):
        with pytest.raises(ValueError):
            fitted.fit(bad)
    assert fitted.n_features_in_ == 4
    np.testing.assert_array_equal(fitted.transform(X), before)


@pytest.mark.slow
def test_a_map_of_5000_mnist_images_beats_pca_by_a_margin(mnist):
    X, y = mnist["train"]
    Xt, yt = mnist["test"]
    X, y = X[:5000].reshape(5000, -1) / 255.0, y[:5000]
    Xt, yt = Xt[:2000].reshape(2000, -1) / 255.0, yt[:2000]
    mapper = NeighbourMap(random_state=0, epochs=2).fit(X)
    test = mapper.transform(Xt)
    from sklearn.decomposition import PCA

    pca = PCA(2).fit(X)
    trust = trustworthiness(Xt, test, 10)
    knn = knn_accuracy(mapper.embedding_, y, test, yt)
    trust_pca = trustworthiness(Xt, pca.transform(Xt), 10)
    knn_pca = knn_accuracy(pca.transform(X), y, pca.transform(Xt), yt)
    assert trust > trust_pca + 0.1 and knn > knn_pca + 0.3, (trust, knn, trust_pca, knn_pca)


def test_a_map_fitted_on_named_columns_refuses_them_reordered_and_keeps_them_saved(tmp_path):
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).uniform(size=(60, 4))
    frame = pd.DataFrame(X, columns=list("abcd"))
    mapper = NeighbourMap(**FAST).fit(frame)
    assert list(mapper.feature_names_in_) == list("abcd")
    with pytest.raises(ValueError, match="same columns in another order"):
        mapper.transform(frame[list("dcba")])
    loaded = NeighbourMap.load(mapper.save(tmp_path / "map"))
    with pytest.raises(ValueError, match="same columns in another order"):
        loaded.transform(frame[list("dcba")])
    with pytest.warns(UserWarning, match="fitted with feature names"):
        np.testing.assert_array_equal(loaded.transform(X), mapper.transform(frame))
    assert not hasattr(NeighbourMap(**FAST).fit(X), "feature_names_in_")
