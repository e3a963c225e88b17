"""The bug-case log (../shared/bug-cases.md): faults reported against tools like ours, each a
kind, reproduced against our API and tested by its id. Sizes are cut where the case allows,
to keep the suite fast; the behaviour checked is the case's."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from autoencoders import AutoEncoder
from autoencoders.cli import main

DATA = os.environ.get("AUTOENCODERS_DATA_DIR")


def lowrank(n=1000, d=50, k=2, seed=0):
    """Values in (0, 1) that a 2-D autoencoder can reconstruct well (the log's fixture)."""
    rng = np.random.default_rng(seed)
    return (0.5 + 0.5 * np.tanh(rng.normal(size=(n, k)) @ rng.normal(size=(k, d)))
            ).astype(np.float32)


@pytest.fixture
def X():
    return lowrank()


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def quiet(**kw):
    return {"verbose": 0, "device": "cpu", **kw}


def test_C01_unscaled_0_255_integers_are_divided_by_255_and_the_log_says_so(tmp_path, caplog,
                                                                            capsys):
    X_u8 = (lowrank(2000, 784) * 255).astype(np.uint8)
    with caplog.at_level("INFO", logger="autoencoders"):
        ae = AutoEncoder(latent_dim=2, loss="bce", epochs=3, random_state=0, **quiet()).fit(X_u8)
    assert "uint8 pixels divided by 255" in caplog.text
    R = ae.reconstruct(X_u8)  # intensities in [0, 1] (documented for uint8 images)
    mse = float(((R * 255 - X_u8) ** 2).mean())
    assert mse < float(((X_u8 - X_u8.mean(axis=0)) ** 2).mean())
    np.save(tmp_path / "raw.npy", X_u8)
    assert cli("fit", "--input", tmp_path / "raw.npy", "--latent-dim", "2", "--epochs", "3",
               "--out", tmp_path / "run_raw", "--maps", "none", "-q") == 0
    assert "input:    uint8 pixels divided by 255" in capsys.readouterr().out


def test_C02_detector_counts_with_bce_are_scaled_and_a_diverging_run_raises():
    rng = np.random.default_rng(0)
    X_img = rng.normal(loc=800.0, scale=300.0, size=(256, 1, 32, 32)).astype(np.float32)
    vae = AutoEncoder(architecture="conv", variational=True, latent_dim=2, loss="bce",
                      epochs=2, random_state=0, **quiet()).fit(X_img)
    assert np.isfinite(vae.history_["train_loss"]).all()
    assert np.isfinite(vae.transform(X_img)).all()
    with pytest.raises(RuntimeError, match="NaN|non-finite"):
        AutoEncoder(latent_dim=2, epochs=1, learning_rate=1e6, **quiet()).fit(lowrank(300))


def test_C04_nan_is_refused_before_training_and_by_every_method(X):
    Xn = X.copy()
    Xn[5, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*sample 5, feature 3"):
        AutoEncoder(latent_dim=2, epochs=2, **quiet()).fit(Xn)
    ae = AutoEncoder(latent_dim=2, epochs=1, **quiet()).fit(X)
    for method in (ae.transform, ae.reconstruct, ae.score_samples, ae.score):
        with pytest.raises(ValueError, match="NaN"):
            method(Xn)
    Z = ae.transform(X[:3])
    Z[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ae.inverse_transform(Z)


def test_C06_constant_columns_under_min_max_scaling_stay_finite():
    rng = np.random.default_rng(0)
    Xc = rng.normal(size=(400, 10)).astype(np.float32)
    Xc[:, 2], Xc[:, 7] = 0.0, 1.0
    for scaling, loss in (("minmax", "mse"), ("auto", "bce")):
        ae = AutoEncoder(latent_dim=2, input_scaling=scaling, loss=loss, epochs=2,
                         random_state=0, **quiet())
        Z = ae.fit_transform(Xc)
        assert np.isfinite(Z).all() and np.isfinite(ae.history_["train_loss"]).all()
        np.testing.assert_allclose(ae.inverse_transform(Z)[:, [2, 7]],
                                   np.broadcast_to([0.0, 1.0], (400, 2)), atol=1e-3)


def test_C08_float64_input_is_cast_and_codes_are_float32(X, tmp_path):
    X64 = X.astype(np.float64)
    ae = AutoEncoder(latent_dim=3, epochs=1, random_state=0, **quiet())
    Z = ae.fit_transform(X64)
    assert Z.shape == (len(X), 3) and Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_allclose(ae.transform(X64), ae.transform(X64.astype(np.float32)),
                               atol=1e-5)
    np.save(tmp_path / "x64.npy", X64)
    assert cli("fit", "--input", tmp_path / "x64.npy", "--latent-dim", "3", "--epochs", "1",
               "--out", tmp_path / "run64", "--maps", "none", "-q") == 0
    assert cli("embed", tmp_path / "run64", "--input", tmp_path / "x64.npy", "--out",
               tmp_path / "Z64.npy", "-q") == 0
    assert np.load(tmp_path / "Z64.npy").shape == (len(X), 3)


def test_C10_a_dataframe_gives_the_arrays_codes_keeps_names_and_refuses_mismatches():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(lowrank(300, 6), columns=[f"feature_{i}" for i in range(6)])
    df["count"] = rng.integers(0, 5, size=300)
    params = dict(latent_dim=2, loss="mse", epochs=1, random_state=0, **quiet())
    ae = AutoEncoder(**params)
    Z_df = ae.fit_transform(df)
    np.testing.assert_allclose(
        Z_df, AutoEncoder(**params).fit_transform(df.to_numpy(dtype="float32")), atol=1e-5)
    assert list(ae.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match="feature names should match"):
        ae.transform(df[df.columns[::-1]])
    with pytest.raises(ValueError, match="name"):
        AutoEncoder(**params).fit(df.assign(name="x"))


def test_C12_a_single_sample_as_1d_is_refused_and_one_row_matches_the_batch():
    ae = AutoEncoder(latent_dim=2, epochs=1, random_state=0, **quiet()).fit(lowrank(200, 64))
    x = lowrank(1, 64, seed=1)[0]
    with pytest.raises(ValueError, match="reshape"):
        ae.transform(x)
    z1 = ae.transform(x[None, :])
    assert z1.shape == (1, 2)
    batch = np.vstack([x, lowrank(5, 64, seed=2)])
    np.testing.assert_allclose(z1, ae.transform(batch)[:1], atol=1e-5)


def test_C13_another_size_or_width_is_named_before_the_forward_pass():
    rng = np.random.default_rng(0)
    conv = AutoEncoder(architecture="conv", latent_dim=10, epochs=1, **quiet()).fit(
        rng.random((64, 1, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="28") as info:
        conv.transform(rng.random((8, 1, 79, 79), dtype=np.float32))
    assert "79" in str(info.value) and "mat1" not in str(info.value)
    dense = AutoEncoder(latent_dim=2, epochs=1, **quiet()).fit(
        rng.random((100, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="5") as info:
        dense.transform(rng.random((10, 4), dtype=np.float32))
    assert "4" in str(info.value) and "mat1" not in str(info.value)
    with pytest.raises(ValueError, match="2"):
        dense.inverse_transform(rng.random((10, 3), dtype=np.float32))


@pytest.mark.parametrize("shape", [(16, 3, 45, 69), (16, 1, 28, 28), (16, 1, 30, 30)])
def test_C14_odd_image_sides_come_back_in_the_inputs_shape(shape):
    X_odd = np.random.default_rng(0).random(shape, dtype=np.float32)
    ae = AutoEncoder(architecture="conv", latent_dim=8, epochs=1, random_state=0,
                     **quiet()).fit(X_odd)
    assert ae.inverse_transform(ae.transform(X_odd)).shape == ae.reconstruct(X_odd).shape \
        == X_odd.shape


def test_C16_a_folder_of_grey_and_colour_images_is_read_whole_and_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB").save(
            d / f"rgb_{i}.png")
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8), "L").save(
            d / f"gray_{i}.png")
    assert cli("fit", "--input", d, "--architecture", "conv", "--latent-dim", "2", "--epochs",
               "1", "--out", tmp_path / "run_imgs", "--maps", "none") == 0
    assert cli("embed", tmp_path / "run_imgs", "--input", d, "--out", tmp_path / "Z.npy") == 0
    assert np.load(tmp_path / "Z.npy").shape == (25, 2)
    out = capsys.readouterr()
    assert "20 of 25 images" in out.err and "grey" in out.err
    assert "stack expects" not in out.out + out.err


def test_C18_empty_input_is_refused_before_a_model_is_built(tmp_path, capsys):
    (tmp_path / "empty_imgs").mkdir()
    (tmp_path / "empty_imgs" / "readme.txt").write_text("notes")
    (tmp_path / "header_only.csv").write_text("a,b,c\n")
    for data, run in ((tmp_path / "empty_imgs", "run_e1"), (tmp_path / "header_only.csv",
                                                           "run_e2")):
        args = ["--architecture", "conv"] if run == "run_e1" else []
        assert cli("fit", "--input", data, *args, "--out", tmp_path / run) != 0
        assert not (tmp_path / run / "model.safetensors").exists()
    err = capsys.readouterr().err
    assert "no .png/.jpg/.jpeg images" in err and "no data rows" in err
    with pytest.raises(ValueError, match="0 sample|empty"):
        AutoEncoder(epochs=1, **quiet()).fit(np.empty((0, 10), dtype=np.float32))


def test_C19_a_model_saved_for_cuda_loads_and_runs_on_a_cpu_only_machine(X, tmp_path):
    from safetensors.torch import load_file

    ae = AutoEncoder(latent_dim=2, epochs=1, random_state=0, **quiet()).fit(X)
    Z = ae.transform(X)
    ae.set_params(device="cuda")
    ae.save(tmp_path / "run_cfg")
    load_file(tmp_path / "run_cfg" / "model.safetensors")
    if not torch.cuda.is_available():
        np.testing.assert_allclose(AutoEncoder.load(tmp_path / "run_cfg").transform(X), Z,
                                   atol=1e-6)
        np.save(tmp_path / "X.npy", X)
        assert cli("embed", tmp_path / "run_cfg", "--input", tmp_path / "X.npy", "--out",
                   tmp_path / "Z_cpu.npy", "-q") == 0
        np.testing.assert_allclose(np.load(tmp_path / "Z_cpu.npy"), Z, atol=1e-6)


@pytest.mark.parametrize("kind", ["dense", "variational", "conv"])
def test_C21_fitted_estimators_survive_pickle_and_a_cached_pipeline(kind, tmp_path):
    X = lowrank(400, 784 if kind == "conv" else 50)
    if kind == "conv":
        X = X.reshape(-1, 1, 28, 28)
    params = dict(latent_dim=2, epochs=1, random_state=0, variational=kind == "variational",
                  architecture="conv" if kind == "conv" else "dense", **quiet())
    ae = AutoEncoder(**params).fit(X)
    Z = ae.transform(X)
    joblib.dump(ae, tmp_path / "ae.joblib")
    for copy in (joblib.load(tmp_path / "ae.joblib"), pickle.loads(pickle.dumps(ae))):
        np.testing.assert_allclose(copy.transform(X), Z, atol=1e-6)
    flat = X.reshape(len(X), -1)
    y = (flat[:, 0] > np.median(flat[:, 0])).astype(int)
    pipe = make_pipeline(MinMaxScaler(), AutoEncoder(latent_dim=2, epochs=1, random_state=0,
                                                     **quiet()),
                         LogisticRegression(), memory=tempfile.mkdtemp(dir=tmp_path))
    pipe.fit(flat, y)
    pipe.fit(flat, y)  # the second fit reuses the cache
    assert pipe.predict(flat).shape == (len(flat),)


@pytest.mark.parametrize("kw", [{}, {"corruption": "gaussian:0.3"}, {"variational": True},
                                {"sparsity": 1e-3}], ids=["plain", "denoising", "vae", "sparse"])
def test_C23_the_same_seed_gives_the_same_codes_and_losses(kw):
    X_img = lowrank(512, 784).reshape(-1, 1, 28, 28)

    def run(architecture):
        ae = AutoEncoder(architecture=architecture, latent_dim=2, epochs=2, random_state=123,
                         **quiet(), **kw)
        return ae.fit_transform(X_img), ae.history_["train_loss"]

    for architecture in ("conv", "dense"):
        (Z1, h1), (Z2, h2) = run(architecture), run(architecture)
        assert np.array_equal(Z1, Z2) and h1 == h2


@pytest.mark.slow
@pytest.mark.skipif(not DATA, reason="needs AUTOENCODERS_DATA_DIR")
def test_C23_the_same_seed_gives_the_same_run_from_the_cli(tmp_path):
    for run in ("run_a", "run_b"):
        assert cli("fit", "--dataset", "mnist", "--seed", "7", "--epochs", "1",
                   "--train-size", "5000", "--test-size", "1000", "--out", tmp_path / run,
                   "--maps", "none", "-q") == 0
        assert cli("embed", tmp_path / run, "--dataset", "mnist", "--split", "test", "--out",
                   tmp_path / f"{run}.npy", "-q") == 0
    assert np.array_equal(np.load(tmp_path / "run_a.npy"), np.load(tmp_path / "run_b.npy"))


def test_C24_a_vae_transform_is_its_posterior_mean_and_draws_are_explicit(X):
    vae = AutoEncoder(variational=True, latent_dim=2, epochs=1, random_state=0,
                      **quiet()).fit(X)
    Z1, Z2 = vae.transform(X), vae.transform(X)
    assert np.array_equal(Z1, Z2)
    a = vae.transform(X[:20], sample=True, random_state=1)
    b = vae.transform(X[:20], sample=True, random_state=2)
    assert not np.allclose(a, b)
    draws = np.mean([vae.transform(X[:20], sample=True, random_state=s)
                     for s in range(2000)], axis=0)
    assert np.abs(draws - Z1[:20]).max() < 0.1
    with pytest.raises(ValueError, match="variational"):
        AutoEncoder(latent_dim=2, epochs=1, **quiet()).fit(X).transform(X, sample=True)


def test_C26_early_stopping_restores_the_best_epoch_however_training_ended(tmp_path):
    X_tr, X_val = lowrank(800, 50), lowrank(200, 50, seed=1)
    # A high constant learning rate: the validation loss goes up and down.
    # (A ReLU code: a linear one diverges outright at this rate.)
    ae = AutoEncoder(latent_dim=2, epochs=8, learning_rate=0.3, schedule="constant",
                     code_activation="relu", random_state=0, early_stopping=True,
                     n_iter_no_change=100, **quiet())
    ae.fit(X_tr, validation_data=X_val)
    val = ae.history_["val_loss"]
    assert int(np.argmin(val)) != len(val) - 1  # the minimum is not at the last epoch
    assert -ae.score(X_val) == pytest.approx(min(val), abs=1e-5)
    assert ae.best_epoch_ == ae.history_["epoch"][int(np.argmin(val))]
    # Saved and loaded, the model still says which epoch's weights it holds.
    assert AutoEncoder.load(ae.save(tmp_path / "run")).best_epoch_ == ae.best_epoch_


def test_C27_transform_runs_batch_by_batch_and_memory_maps_are_read_in_slices(tmp_path):
    import resource

    from autoencoders.training.apply import EVAL_BATCH

    big = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32,
                                    shape=(200_000, 784))
    big[:] = 0.5
    big.flush()
    ae = AutoEncoder(latent_dim=2, epochs=1, batch_size=4096, **quiet()).fit(big[:5000])
    largest = []
    hook = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda module, args: largest.append(args[0].shape[0]) if args else None)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        Z = ae.transform(np.load(tmp_path / "big.npy", mmap_mode="r"))
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    finally:
        hook.remove()
    assert Z.shape == (200_000, 2) and max(largest) <= EVAL_BATCH
    assert grown < 0.5 * big.nbytes  # 627 MB on disk, never read whole


@pytest.mark.parametrize("piped", [True, False], ids=["pipeline", "fit_transform"])
def test_C28_labels_passed_to_fit_are_ignored(X, piped):
    y = np.random.default_rng(0).integers(0, 3, size=len(X))
    if piped:
        pipe = Pipeline([("ae", AutoEncoder(latent_dim=2, epochs=1, random_state=0, **quiet())),
                         ("knn", KNeighborsClassifier())])
        assert 0 <= pipe.fit(X, y).score(X, y) <= 1
    else:
        Za = AutoEncoder(latent_dim=2, epochs=1, random_state=0, **quiet()).fit_transform(X, y)
        Zb = AutoEncoder(latent_dim=2, epochs=1, random_state=0, **quiet()).fit_transform(X)
        assert np.array_equal(Za, Zb)


def test_C28_a_label_column_on_the_command_line_is_never_a_feature(X, tmp_path):
    y = np.random.default_rng(0).integers(0, 3, size=len(X))
    pd.DataFrame(X[:, :8], columns=[f"x{i}" for i in range(8)]).assign(label=y).to_csv(
        tmp_path / "labelled.csv", index=False)
    assert cli("fit", "--input", tmp_path / "labelled.csv", "--label-column", "label",
               "--latent-dim", "2", "--epochs", "1", "--out", tmp_path / "run_lab", "-q") == 0
    assert AutoEncoder.load(tmp_path / "run_lab").n_features_in_ == 8
    figures = list((tmp_path / "run_lab" / "figures").glob("*.png"))
    assert figures and all(p.stat().st_size > 0 for p in figures)


def test_C29_csv_headers_and_text_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pd.DataFrame({"sample_id": [f"s{i:04d}" for i in range(200)], "x1": rng.random(200),
                  "x2": rng.random(200), "x3": rng.random(200)}).to_csv(
        tmp_path / "data.csv", index=False)
    np.savetxt(tmp_path / "noheader.csv", rng.random((200, 3)), delimiter=",")
    common = ["--latent-dim", "2", "--epochs", "1", "--maps", "none", "-q"]
    assert cli("fit", "--input", tmp_path / "noheader.csv", *common, "--out",
               tmp_path / "run_csv2") == 0
    assert AutoEncoder.load(tmp_path / "run_csv2").n_features_in_ == 3
    assert cli("fit", "--input", tmp_path / "data.csv", *common, "--out",
               tmp_path / "run_csv") != 0
    err = capsys.readouterr().err
    assert "sample_id" in err and "--id-column" in err and "could not convert" not in err
    assert cli("fit", "--input", tmp_path / "data.csv", "--id-column", "sample_id", *common,
               "--out", tmp_path / "run_csv3") == 0
    assert AutoEncoder.load(tmp_path / "run_csv3").n_features_in_ == 3


NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
from autoencoders.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not DATA, reason="needs AUTOENCODERS_DATA_DIR")
def test_C30_mnist_offline_works_from_the_data_dir_and_fails_clearly_without(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    args = [sys.executable, "-c", NO_NETWORK, "fit", "--dataset", "mnist", "--epochs", "1",
            "--train-size", "500", "--test-size", "100", "--maps", "none", "-q"]
    r = subprocess.run(args + ["--out", str(tmp_path / "run_m2")], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    env.pop("AUTOENCODERS_DATA_DIR")
    r = subprocess.run(args + ["--out", str(tmp_path / "run_m1")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "AUTOENCODERS_DATA_DIR" in r.stderr
    assert "Traceback" not in r.stderr


def test_C31_one_and_three_dimensional_codes_keep_their_shapes_and_figures(tmp_path, X):
    ae1 = AutoEncoder(latent_dim=1, epochs=1, random_state=0, **quiet()).fit(X)
    Z = ae1.transform(X)
    assert Z.shape == (len(X), 1) and ae1.transform(X[:1]).shape == (1, 1)
    assert ae1.inverse_transform(Z).shape == X.shape
    with pytest.raises(ValueError, match="reshape"):
        ae1.inverse_transform(Z[:, 0])
    for dim in ("1", "3"):
        run = tmp_path / f"run_l{dim}"
        assert cli("fit", "--dataset", "digits", "--latent-dim", dim, "--epochs", "1",
                   "--out", run, "-q") == 0
        figures = list((run / "figures").glob("*.png"))
        assert len(figures) >= 3 and all(p.stat().st_size > 0 for p in figures)
        assert json.loads((run / "metrics.json").read_text())["epochs"] == 1
