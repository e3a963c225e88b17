"""Experiment logs: what TensorBoard's own event reader and MLflow's client find in a run's
logs."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from autoencoders import AutoEncoder
from autoencoders.callbacks import Callback
from autoencoders.loggers import MLflowLogger, TensorBoardLogger, logger_from_spec


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_tensorboard_gets_scalars_reconstructions_and_the_projector(tiny_images, tmp_path):
    pytest.importorskip("tensorboard")
    labels = np.arange(len(tiny_images)) % 3
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=3, verbose=0, random_state=0)
    ae.fit(tiny_images[:48], validation_data=tiny_images[48:],
           callbacks=[TensorBoardLogger(tmp_path / "tb", samples=tiny_images, labels=labels)])
    events = _events(tmp_path / "tb")
    tags = events.Tags()
    assert {"loss/train", "loss/validation", "learning_rate",
            "seconds_per_epoch"} <= set(tags["scalars"])
    train = [e.value for e in events.Scalars("loss/train")]
    np.testing.assert_allclose(train, ae.history_["train_loss"], rtol=1e-6)
    assert [e.step for e in events.Scalars("loss/validation")] == [1, 2, 3]
    assert tags["images"] == ["reconstructions"]
    image = events.Images("reconstructions")[0]
    assert (image.height, image.width) == (2 * 8, 16 * 8)  # 16 samples over their outputs
    # The projector: the codes, one label per row and a sprite of thumbnails.
    config = (tmp_path / "tb" / "projector_config.pbtxt").read_text()
    assert "sprite.png" in config and "metadata.tsv" in config
    folder = next((tmp_path / "tb").glob("*/codes"))
    codes = np.loadtxt(folder / "tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(codes, ae.transform(tiny_images), rtol=1e-4, atol=1e-5)
    assert (folder / "metadata.tsv").read_text().split() == [str(v) for v in labels]


class _FullDisk(Callback):
    """From the end of epoch 1 on, the TensorBoard logger's writer fails as on a full disk."""

    def __init__(self, logger):
        self.logger = logger

    def on_epoch_end(self, log):
        def fail(*args, **kwargs):
            raise OSError(28, "No space left on device")

        if log["epoch"] == 1:
            self.logger._writer.add_scalar = fail


def test_an_event_file_that_fails_mid_run_costs_a_warning_not_the_model(blobs, tmp_path):
    pytest.importorskip("tensorboard")
    logger = TensorBoardLogger(tmp_path / "tb", samples=blobs[0][:20])
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, verbose=0, random_state=0)
    with pytest.warns(UserWarning, match="TensorBoard logging stopped, training goes on"):
        ae.fit(blobs[0], callbacks=[logger, _FullDisk(logger)])
    assert len(ae.history_["train_loss"]) == 3
    # What was written before the failure stays readable.
    assert [e.step for e in _events(tmp_path / "tb").Scalars("loss/train")] == [1]


def test_without_tensorboard_the_logger_says_what_to_install(blobs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0)
    with pytest.raises(ImportError,
                       match=r"pip install 'tensorboard>=2.14' \(the tensorboard extra\)"):
        ae.fit(blobs[0], callbacks=[TensorBoardLogger(tmp_path / "tb")])
    with pytest.raises(ValueError, match="unknown log 'wandb'"):
        logger_from_spec("wandb", tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt is a file, not a folder"):
        logger_from_spec(f"tensorboard:{tmp_path / 'notes.txt'}", tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_fit_log_tensorboard_writes_into_the_run(tmp_path):
    pytest.importorskip("tensorboard")
    from tests.cli.helpers import run

    out = tmp_path / "run"
    run("fit", "--dataset", "digits", "--out", out, "--epochs", "2", "--hidden-dims", "16",
        "--latent-dim", "3", "--maps", "none", "--no-report", "-q", "--log", "tensorboard",
        check_code=0)
    events = _events(out / "tensorboard")
    assert len(events.Scalars("loss/train")) == 2
    assert (out / "tensorboard" / "projector_config.pbtxt").is_file()
    bad = run("fit", "--dataset", "digits", "--out", tmp_path / "b", "--log", "wandb")
    assert bad.returncode == 2 and "expected tensorboard[:DIR],mlflow[:URI]" in bad.stderr


def _mlflow(store):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    return MlflowClient(store.as_uri())


class _Fails(Callback):
    def __init__(self, error):
        self.error = error

    def on_epoch_end(self, log):
        raise self.error


def test_mlflow_gets_params_metrics_per_epoch_the_folder_and_the_status(blobs, tmp_path,
                                                                         monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # for this test's own reader
    client = _mlflow(tmp_path / "mlruns")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    logger = MLflowLogger(tmp_path / "mlruns", run_name="blobs")
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, verbose=0, random_state=0)
    ae.fit(blobs[0][:200], validation_data=blobs[0][200:], callbacks=[logger])
    ae.save(tmp_path / "model")
    logger.log_folder(tmp_path / "model")
    # The logger allowed MLflow's file store during its own calls only.
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "blobs"
    assert run.data.params["latent_dim"] == "2" and run.data.params["hidden_dims"] == "(8,)"
    # "auto" and None are logged as the recipe resolved them.
    assert run.data.params["optimizer"] == ae.recipe_.optimizer != "auto"
    assert run.data.params["batch_size"] == str(ae.recipe_.batch_size)
    history = client.get_metric_history(logger.run_id, "train_loss")
    assert [m.step for m in history] == [1, 2, 3]
    np.testing.assert_allclose([m.value for m in history], ae.history_["train_loss"],
                               rtol=1e-6)
    assert {"val_loss", "learning_rate", "seconds_per_epoch"} <= set(run.data.metrics)
    assert {"config.json", "model.safetensors"} <= {
        a.path for a in client.list_artifacts(logger.run_id)}
    # Training that raises ends the run as FAILED, and the error still reaches the caller.
    failing = MLflowLogger(tmp_path / "mlruns")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    with pytest.raises(RuntimeError, match="a full disk"):
        AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0).fit(
            blobs[0], callbacks=[failing, _Fails(RuntimeError("a full disk"))])
    # Ctrl-C (or SIGTERM, after a checkpoint) is not a failure: KILLED.
    stopped = MLflowLogger(tmp_path / "mlruns")
    with pytest.raises(KeyboardInterrupt):
        AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0).fit(
            blobs[0], callbacks=[stopped, _Fails(KeyboardInterrupt())])
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    assert client.get_run(failing.run_id).info.status == "FAILED"
    assert client.get_run(stopped.run_id).info.status == "KILLED"


def test_an_mlflow_run_that_logs_the_folder_ends_after_it(blobs, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0, random_state=0)
    done, broken = (MLflowLogger(tmp_path / "mlruns", end_after_folder=True) for _ in "ab")
    ae.fit(blobs[0], callbacks=[done, broken]).save(tmp_path / "model")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = _mlflow(tmp_path / "mlruns")
    assert client.get_run(done.run_id).info.status == "RUNNING"  # artifacts still to come
    done.on_run_saved(tmp_path / "model")
    assert client.get_run(done.run_id).info.status == "FINISHED"
    assert "model.safetensors" in {a.path for a in client.list_artifacts(done.run_id)}
    broken.on_train_error(OSError(28, "No space left on device"))  # writing the folder
    assert client.get_run(broken.run_id).info.status == "FAILED"


def test_fit_log_mlflow_and_tensorboard_log_the_run_folder_without_checkpoints(tmp_path,
                                                                               monkeypatch):
    from tests.cli.helpers import run

    pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    out, store = tmp_path / "run", tmp_path / "store"
    proc = run("fit", "--dataset", "digits", "--out", out, "--epochs", "2", "--hidden-dims",
               "16", "--latent-dim", "3", "--maps", "none", "--no-report", "-q", "--log",
               f"tensorboard,mlflow:{store}", check_code=0)
    assert (out / "tensorboard" / "projector_config.pbtxt").is_file()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = _mlflow(store)
    (found,) = client.search_runs([client.get_experiment_by_name("autoencoders")
                                   .experiment_id])
    assert found.info.run_name == "run" and found.info.status == "FINISHED"
    assert found.data.metrics["test_bce"] == pytest.approx(
        json.loads((out / "metrics.json").read_text())["test_bce"])
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"metrics.json", "history.csv", "figures", "codes"} <= artifacts
    assert "checkpoints" not in artifacts and ".lock" not in artifacts
    assert f"mlflow:   run {found.info.run_id} in file://" in proc.stdout
    # One series per name: the epochs' seconds, not metrics.json's mean beside them.
    seconds = client.get_metric_history(found.info.run_id, "seconds_per_epoch")
    assert [m.step for m in seconds] == [1, 2]


def test_without_mlflow_the_logger_says_what_to_install(blobs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow.entities", None)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0)
    with pytest.raises(ImportError,
                       match=r"pip install 'mlflow-skinny>=2.10' \(the mlflow extra\)"):
        ae.fit(blobs[0], callbacks=[MLflowLogger(tmp_path / "mlruns")])


class _BreaksTheStore(Callback):
    """Replaces the MLflow store's folder with a file after epoch 1 (a disk or a server
    that fails mid-run)."""

    def __init__(self, store):
        self.store = store

    def on_epoch_end(self, log):
        if log["epoch"] == 1:
            import shutil

            shutil.rmtree(self.store)
            self.store.write_text("not a store")


def test_a_store_that_fails_mid_run_costs_a_warning_not_the_model(blobs, tmp_path):
    pytest.importorskip("mlflow")
    store = tmp_path / "mlruns"
    logger = MLflowLogger(store)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, verbose=0, random_state=0)
    with pytest.warns(UserWarning, match="MLflow logging stopped, training goes on"):
        ae.fit(blobs[0], callbacks=[_BreaksTheStore(store), logger])
    assert len(ae.history_["train_loss"]) == 3 and logger.run_id is None


def test_a_store_inside_the_run_folder_is_refused_and_service_uris_pass(tmp_path):
    with pytest.raises(ValueError, match="is inside the run folder"):
        logger_from_spec(f"mlflow:{tmp_path / 'run' / 'mlruns'}", tmp_path / "run")
    with pytest.raises(ValueError, match="is inside the run folder"):
        logger_from_spec(f"mlflow:{tmp_path / 'run'}", tmp_path / "run")
    assert MLflowLogger("databricks").store_uri() == "databricks"
    # A folder of the user's own files is not made a store.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    pytest.importorskip("mlflow")
    logger = MLflowLogger(tmp_path / "mine")
    with pytest.raises(RuntimeError, match="a folder of other files, not an MLflow store"):
        logger.on_train_begin(1, 1)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    assert MLflowLogger("http://127.0.0.1:5000").store_path() is None
    assert MLflowLogger(tmp_path / "m").store_path() == (tmp_path / "m").resolve()


def test_a_tracking_server_that_does_not_answer_fails_before_training(blobs, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0)
    with pytest.raises(RuntimeError, match=r"MLflow store http://127\.0\.0\.1:9: .*refused"):
        ae.fit(blobs[0], callbacks=[MLflowLogger("http://127.0.0.1:9")])
    assert not hasattr(ae, "model_")
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # put back


def test_a_resumed_fit_continues_its_recorded_mlflow_run(blobs, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = logger_from_spec(f"mlflow:{tmp_path / 'store'}", run_dir)
    with pytest.raises(KeyboardInterrupt):
        AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, verbose=0).fit(
            blobs[0], callbacks=[first, _Fails(KeyboardInterrupt())])
    recorded = json.loads((run_dir / "mlflow_run.json").read_text())
    assert recorded["run_id"] == first.run_id
    again = logger_from_spec(f"mlflow:{tmp_path / 'store'}", run_dir)  # as fit --resume
    AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0).fit(
        blobs[0], callbacks=[again])
    again.on_run_saved(run_dir)  # as fit does once the folder is written
    assert again.run_id == first.run_id
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = _mlflow(tmp_path / "store")
    assert client.get_run(first.run_id).info.status == "FINISHED"
    assert len(client.search_runs([client.get_experiment_by_name("autoencoders")
                                   .experiment_id])) == 1
    # A record of a run that this store does not hold: a new run, not an error.
    (run_dir / "mlflow_run.json").write_text('{"run_id": "0123"}')
    other = logger_from_spec(f"mlflow:{tmp_path / 'other'}", run_dir)
    AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0).fit(
        blobs[0], callbacks=[other])
    assert other.run_id not in (None, "0123")


def test_log_folder_refuses_a_folder_that_holds_the_store(blobs, tmp_path):
    pytest.importorskip("mlflow")
    logger = MLflowLogger(tmp_path / "model" / "mlruns")
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0).fit(
        blobs[0], callbacks=[logger])
    ae.save(tmp_path / "model")
    with pytest.raises(RuntimeError, match="is inside .*model, whose files would be logged"):
        logger.log_folder(tmp_path / "model")
