"""Experiment logs: what TensorBoard's own event reader finds in a run's logs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from autoencoders import AutoEncoder
from autoencoders.loggers import TensorBoardLogger, logger_from_spec

pytest.importorskip("tensorboard")


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_tensorboard_gets_scalars_reconstructions_and_the_projector(tiny_images, tmp_path):
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


def test_without_tensorboard_the_logger_says_what_to_install(blobs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0)
    with pytest.raises(ImportError, match=r"pip install 'autoencoders\[tensorboard\]'"):
        ae.fit(blobs[0], callbacks=[TensorBoardLogger(tmp_path / "tb")])
    with pytest.raises(ValueError, match="unknown log 'mlflow'"):
        logger_from_spec("mlflow", tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt is a file, not a folder"):
        logger_from_spec(f"tensorboard:{tmp_path / 'notes.txt'}", tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_fit_log_tensorboard_writes_into_the_run(tmp_path):
    from tests.cli.helpers import run

    out = tmp_path / "run"
    run("fit", "--dataset", "digits", "--out", out, "--epochs", "2", "--hidden-dims", "16",
        "--latent-dim", "3", "--maps", "none", "--no-report", "-q", "--log", "tensorboard",
        check_code=0)
    events = _events(out / "tensorboard")
    assert len(events.Scalars("loss/train")) == 2
    assert (out / "tensorboard" / "projector_config.pbtxt").is_file()
    bad = run("fit", "--dataset", "digits", "--out", tmp_path / "b", "--log", "mlflow")
    assert bad.returncode == 2 and "MLflow is not supported yet" in bad.stderr
