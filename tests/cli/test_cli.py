"""The command line, run as users run it: exit codes, stderr, files written (in this process
but where a real one matters: tests/cli/helpers.py)."""

import json
import shutil

import numpy as np
import pytest

from autoencoders.workflow import run_test_data
from tests.cli.helpers import COMMANDS, run, run_process


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_the_common_options(command):
    proc = run(command, "--help", check_code=0)
    assert "usage: autoencoders" in proc.stdout
    assert f"examples:\n  autoencoders {command}" in proc.stdout
    for option in ("-V, --version", "-q, --quiet", "-v, --verbose", "--debug"):
        assert option in proc.stdout, option
    assert run(command, "-V", check_code=0).stdout.startswith("autoencoders ")


def test_fit_writes_the_whole_run_folder(digits_run):
    out, proc = digits_run
    for name in ("model.safetensors", "config.json", "history.csv", "metrics.json",
                 "figures/loss.png", "figures/reconstructions.png", "figures/latent_maps.png",
                 "codes/train.npy", "codes/test.npy", "codes/test_labels.npy"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_bce", "test_mse", "test_sse_per_image", "train_seconds", "epochs"):
        assert key in metrics
    assert metrics["epochs"] == 3 and metrics["n_test"] == 297
    config = json.loads((out / "config.json").read_text())
    assert config["extra"]["data"]["dataset"] == "digits" and config["extra"]["seed"] == 0
    assert np.load(out / "codes" / "test.npy").shape == (297, 4)
    assert "test BCE" in proc.stdout and "figures" in proc.stdout


def test_embed_and_reconstruct_write_files(digits_run, tmp_path):
    out, _ = digits_run
    run("embed", out, "--dataset", "digits", "--split", "test", "--out", tmp_path / "z.npy",
        check_code=0)
    Z = np.load(tmp_path / "z.npy")
    assert Z.shape == (297, 4) and Z.dtype == np.float32
    np.testing.assert_allclose(Z, np.load(out / "codes" / "test.npy"), rtol=1e-5, atol=1e-6)
    run("reconstruct", out, "--dataset", "digits", "--out", tmp_path / "r.npy", check_code=0)
    assert np.load(tmp_path / "r.npy").shape == (297, 8, 8)
    run("embed", out, "--dataset", "digits", "--out", tmp_path / "z.csv", check_code=0)
    # Named as Python names them (get_feature_names_out).
    assert (tmp_path / "z.csv").read_text().splitlines()[0] == ",".join(
        f"autoencoder{i}" for i in range(4))
    # Without --dataset or --input, the data the run was fitted on (digits' test split).
    run("embed", out, "--out", tmp_path / "own.npy", check_code=0)
    np.testing.assert_array_equal(np.load(tmp_path / "own.npy"), Z)


def test_fit_and_embed_user_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(120, 10)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    run("fit", "--input", tmp_path / "x.npy", "--out", out, "--epochs", "2", "--maps", "none",
        "--hidden-dims", "8", "--latent-dim", "2", "-q", check_code=0)
    assert json.loads((out / "metrics.json").read_text())["n_test"] == 12
    np.savetxt(tmp_path / "x.csv", X[:5], delimiter=",")
    run("embed", out, "--input", tmp_path / "x.csv", "--out", tmp_path / "z.parquet",
        check_code=0)
    assert (tmp_path / "z.parquet").stat().st_size > 0
    # Without --input, the run's own input, whole, found from another working folder.
    (tmp_path / "elsewhere").mkdir()
    run("embed", out, "--out", tmp_path / "own.npy", check_code=0, cwd=tmp_path / "elsewhere")
    assert np.load(tmp_path / "own.npy").shape == (120, 2)
    proc = run("embed", out, "--split", "train", "--out", tmp_path / "s.npy", check_code=2)
    assert f"was fitted on {tmp_path / 'x.npy'}, which is read whole" in proc.stderr
    proc = run("embed", tmp_path / "elsewhere", "--out", tmp_path / "s.npy", check_code=2)
    assert "records no data it was fitted on" in proc.stderr
    (tmp_path / "x.npy").rename(tmp_path / "moved.npy")
    proc = run("embed", out, "--out", tmp_path / "s.npy", check_code=2)
    assert f"was fitted on {tmp_path / 'x.npy'}, which is gone; give --input" in proc.stderr


def test_evaluate_scores_the_runs_own_test_rows(tmp_path):
    X = np.random.default_rng(0).uniform(0, 1, size=(200, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    run("fit", "--input", tmp_path / "x.npy", "--out", out, "--epochs", "1", "--maps", "none",
        "--hidden-dims", "8", "--latent-dim", "2", "--test-fraction", "0.3", "--seed", "3",
        "--no-report", "-q", check_code=0)
    for data in (("--input", tmp_path / "x.npy"), (), ("checkpoints deleted",)):
        if data == ("checkpoints deleted",):  # the split from config.json, not the command
            before = run_test_data(out).X_test
            shutil.rmtree(out / "checkpoints")
            np.testing.assert_array_equal(run_test_data(out).X_test, before)
            data = ()
        run("evaluate", out, *data, "--baselines", "none", "-q", check_code=0)
        settings = json.loads((out / "evaluation.json").read_text())["settings"]
        assert (settings["n_train"], settings["n_test"]) == (140, 60)
        assert settings["data"]["test_fraction"] == 0.3
    # Rows of features: the reconstruction columns are per feature and sample, not pixel.
    table = (out / "evaluation.md").read_text()
    assert "MSE/feature" in table and "SSE/sample" in table and "pixel" not in table
    run("report", out, check_code=0)
    assert "MSE/feature" in (out / "report.html").read_text()
    # The run's rows under another path (a copy): still the run's split, not a split of
    # its own (which would score rows the model trained on).
    shutil.copy(tmp_path / "x.npy", tmp_path / "copy.npy")
    run("evaluate", out, "--input", tmp_path / "copy.npy", "--baselines", "none", "-q",
        check_code=0)
    settings = json.loads((out / "evaluation.json").read_text())["settings"]
    assert (settings["n_train"], settings["n_test"], settings["data"]["seed"]) == (140, 60, 3)
    proc = run("evaluate", out, "--input", tmp_path / "x.npy", "--test-fraction", "0.1",
               check_code=2)
    assert "would score rows the model trained on" in proc.stderr


def test_evaluate_scores_the_rows_of_the_data_set_that_the_run_had(tmp_path):
    out = tmp_path / "run"
    run("fit", "--dataset", "digits", "--train-size", "300", "--test-size", "100", "--out", out,
        "--epochs", "1", "--maps", "none", "--hidden-dims", "8", "--latent-dim", "2",
        "--no-report", "-q", check_code=0)
    for data in (("--dataset", "digits"), (), ("checkpoints deleted",)):
        if data == ("checkpoints deleted",):  # the sizes from config.json, not the command
            shutil.rmtree(out / "checkpoints")
            data = ()
        run("evaluate", out, *data, "--baselines", "none", "-q", check_code=0)
        settings = json.loads((out / "evaluation.json").read_text())["settings"]
        assert (settings["n_train"], settings["n_test"]) == (300, 100), data


def test_summary_of_notebook_preset_and_of_a_run(digits_run):
    proc = run("summary", "--preset", "notebook", check_code=0)
    assert "Total params: 842,009" in proc.stdout
    assert "(None, 28, 28)" in proc.stdout
    assert "encoder.9  Linear + ReLU  (None, 25)" in proc.stdout  # the notebook's ReLU code
    proc = run("summary", "--preset", "fast", check_code=0)
    assert "encoder.9  Linear         (None, 25)" in proc.stdout  # the linear code of ours
    proc = run("summary", digits_run[0], check_code=0)
    assert "(None, 4)" in proc.stdout


@pytest.mark.parametrize("args,code,message", [
    (("fit", "--dataset", "digits"), 2, "fit needs --out RUN_DIR"),
    (("fit", "--dataset", "digits", "--input", "x.npy", "--out", "o"), 2, "not allowed with"),
    (("fit", "--dataset", "digits", "--out", "o", "--epochs", "0"), 2, "positive integer"),
    (("fit", "--dataset", "digits", "--out", "o", "--maps", "isomap"), 2, "unknown map 'isomap'"),
    (("summary",), 2, "either RUN_DIR or --preset"),
    (("frobnicate",), 2, "invalid choice"),
    (("embed", "no-such-run", "--dataset", "digits", "--out", "z.npy"), 1,
     "no such model folder"),
    (("fit", "--input", "missing.npy", "--out", "o", "-q"), 1, "missing.npy: no such file"),
])
def test_user_errors_are_one_line_without_traceback(tmp_path, args, code, message):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("autoencoders: error:") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_unwritable_output_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = run("fit", "--dataset", "digits", "--out", blocker / "run", "-q")
    assert proc.returncode == 1
    assert "cannot write the run folder" in proc.stderr and "epoch" not in proc.stderr


def test_fit_refuses_to_overwrite_a_trained_model(digits_run):
    out, _ = digits_run
    proc = run("fit", "--dataset", "digits", "--out", out, "--epochs", "1")
    assert proc.returncode == 2 and "--force" in proc.stderr


def test_fit_force_replaces_the_run_whole_once_the_new_one_trained(tmp_path):
    X = np.random.default_rng(0).uniform(size=(60, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    fit = ("fit", "--input", tmp_path / "x.npy", "--out", out, "--no-map", "--no-report", "-q")
    run(*fit, "--epochs", "1", "--maps", "pca", check_code=0)
    run(*fit, "--epochs", "2", "--maps", "none", "--force", check_code=0)
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    # Nothing of the old run is left: not its figure, nor the folder it was set aside in.
    assert not (out / "figures" / "latent_maps.png").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]
    # A run that a killed --force left hidden goes once a new run has trained there.
    stale = out / f".tmp-replaced-{2**22 + 12345}"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"old")
    # Every command on the folder names it first, while it can still be kept; a new run
    # that fails before training leaves it, as the rest of the folder.
    # -q silences warnings, but not this one: the last fit runs with it and deletes the run.
    for command in (("summary", out), ("report", out),
                    fit[:2] + ("missing.npy",) + fit[3:] + ("--force",),
                    fit + ("--epochs", "1", "--force")):
        proc = run(*command)
        assert f"{stale} holds the run that a killed `fit --force`" in proc.stderr
        assert proc.returncode == (1 if "missing.npy" in command else 0)
        assert stale.exists() == ("--epochs" not in command)
        assert (out / "model.safetensors").exists()
    assert "hidden" not in run("summary", out, check_code=0).stderr


def test_nan_in_input_names_the_row_of_the_file_and_leaves_no_folder(tmp_path):
    X = np.random.default_rng(0).uniform(size=(40, 4)).astype(np.float32)
    X[3, 1] = np.nan
    np.save(tmp_path / "nan.npy", X)
    proc = run("fit", "--input", tmp_path / "nan.npy", "--out", tmp_path / "o", "-q")
    assert proc.returncode == 1 and "first in sample 3" in proc.stderr
    assert not (tmp_path / "o").exists()
    # A table's literal "nan" (not an empty cell, which the reader names by line): the
    # header's name of the column too.
    (tmp_path / "nan.csv").write_text("a,b,c,d\n" + "".join(
        f"{r[0]},{'nan' if i == 3 else r[1]},{r[2]},{r[3]}\n" for i, r in enumerate(X)))
    proc = run("fit", "--input", tmp_path / "nan.csv", "--out", tmp_path / "o", "-q")
    assert proc.returncode == 1
    assert "first in sample 3, feature 1 ('b')" in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()


def test_abbreviated_options_are_not_guessed(tmp_path):
    proc = run("fit", "--input", "x.npy", "--data", "digits", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "unrecognized arguments: --data digits" in proc.stderr


def test_bad_data_is_exit_1_and_debug_shows_the_traceback(tmp_path):
    np.save(tmp_path / "bad.npy", np.full((10, 4), 3.0, dtype=np.float32))
    args = ("fit", "--input", tmp_path / "bad.npy", "--out", tmp_path / "o", "-q",
            "--maps", "none", "--input-scaling", "none")
    proc = run(*args)
    assert proc.returncode == 1 and "minmax" in proc.stderr
    # The console command prints the traceback that --debug lets through.
    assert "Traceback" in run_process("--debug", *args).stderr


def test_evaluate_writes_the_side_by_side_comparison(digits_run):
    out, _ = digits_run
    # The default: with umap-learn installed (dev), UMAP is among the baselines.
    proc = run("evaluate", out, "--dataset", "digits", "--subsample", "300", "-q",
               check_code=0)
    ev = json.loads((out / "evaluation.json").read_text())
    assert set(ev["methods"]) == {
        "raw", "autoencoder", "pca", "pca_2d", "tsne_2d", "umap_2d", "autoencoder_2d_pca",
        "autoencoder_2d_tsne", "autoencoder_2d_umap"}
    ae = ev["methods"]["autoencoder"]
    for key in ("trustworthiness", "continuity", "knn_recall", "knn_accuracy",
                "linear_probe_accuracy", "fit_seconds", "transform_seconds", "mse",
                "sse_per_image"):
        assert key in ae, key
    assert 0.2 < ae["knn_accuracy"] <= 1 and 0.5 < ae["trustworthiness"] <= 1  # 3 epochs
    assert "mse" in ev["methods"]["pca"] and "mse" not in ev["methods"]["tsne_2d"]
    assert ev["settings"]["n_train"] == 300 and ev["settings"]["n_test"] == 297
    table = (out / "evaluation.md").read_text()
    assert table.count("\n| ") == 11  # header, rule, 9 rows
    assert "MSE/pixel" in table and "SSE/image" in table  # 8 × 8 images
    # 297 test points: an accuracy moves in steps of 1/297, ±0.035 is within chance.
    assert ("scored on 297 test points: an accuracy moves in steps of 0.003, and differences "
            "below ±0.035 (two standard errors at 0.9) are within chance") in table
    assert (out / "figures" / "evaluation_maps.png").stat().st_size > 10_000
    assert "autoencoder_2d_umap" in proc.stdout
    run("evaluate", out, "--dataset", "digits", "--subsample", "300", "--baselines", "pca",
        "--no-code-maps", "-q", check_code=0)
    ev = json.loads((out / "evaluation.json").read_text())
    assert set(ev["methods"]) == {"raw", "autoencoder", "pca", "pca_2d"}


def test_cluster_of_a_subset_run_clusters_the_runs_rows(tmp_path):
    # A new-user trial: cluster read all of a data set's splits where the run had
    # --train-size/--test-size (60,000 points and 7 minutes for a 10,000-image run).
    out = tmp_path / "subset"
    run("fit", "--dataset", "digits", "--out", out, "--train-size", "300", "--test-size",
        "100", "--epochs", "1", "--maps", "none", "--no-map", "--no-report", "-q",
        check_code=0)
    for split, n in ((None, 100), ("train", 300), ("all", 400)):
        run("cluster", out, "--method", "kmeans", *(("--split", split) if split else ()),
            "-q", check_code=0)
        assert json.loads((out / "cluster.json").read_text())["n_points"] == n, split


def test_cluster_writes_labels_and_scores(digits_run, tmp_path):
    out, _ = digits_run
    proc = run("cluster", out, "--dataset", "digits", "--split", "all", "--n-clusters", "10",
               "--method", "kmeans", "--out", tmp_path / "labels.csv", check_code=0)
    result = json.loads((out / "cluster.json").read_text())
    assert result["n_points"] == 1797 and result["method"] == "kmeans"
    assert 0.3 < result["accuracy"] <= 1 and 0 < result["nmi"] <= 1 and "ari" in result
    assert np.loadtxt(tmp_path / "labels.csv", delimiter=",", skiprows=1).shape == (1797,)
    assert "accuracy" in proc.stdout
    # Without --n-clusters, as many as the labels name (digits: 10).
    default = run("cluster", out, "--dataset", "digits", "--split", "test", "--seed", "3",
                  check_code=0)
    result = json.loads((out / "cluster.json").read_text())
    assert result["n_clusters"] == 10 and "in 10 clusters" in default.stdout
    # "auto": our embedding of the inputs beside the codes (they fit in memory).
    assert (result["method"], result["n_init"], result["random_state"]) == ("ne-gmm", 10, 3)
    assert result["accuracy"] > 0.3 and result["n_points"] == 297 and result["inputs"]
    assert result["cluster_seconds"] > 0 and "(ne-gmm)" in default.stdout
    assert result["self_labelling"] is False
    run("cluster", out, "--dataset", "digits", "--split", "test", "--n-clusters", "10",
        "--self-labelling", check_code=0)
    result = json.loads((out / "cluster.json").read_text())
    assert result["self_labelling"] is True and result["method"] == "ne-gmm"
    assert result["n_points"] == 297 and result["accuracy"] > 0.3
    # To standard output, the labels alone (the summary goes to stderr).
    piped = run("cluster", out, "--dataset", "digits", "--split", "test", "--n-clusters",
                "10", "--method", "kmeans", "--out", "-", check_code=0)
    assert piped.stdout.splitlines()[0] == "cluster" and len(piped.stdout.splitlines()) == 298
    assert "(kmeans)" in piped.stderr
    # A wrong output is refused before the clustering, as a usage error.
    (tmp_path / "folder.csv").mkdir()
    for bad_out, why in (("x.txt", "must end in .npy, .csv or .parquet"),
                         (str(tmp_path / "folder.csv"), "is a folder")):
        proc = run("cluster", out, "--dataset", "digits", "--n-clusters", "10", "--out",
                   bad_out)
        assert proc.returncode == 2 and why in proc.stderr
    bad = run("cluster", out, "--dataset", "digits", "--n-clusters", "10", "--method", "dbscan")
    assert bad.returncode == 2 and "unknown method 'dbscan'" in bad.stderr
