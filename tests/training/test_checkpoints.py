"""Checkpoints: written atomically, pruned, resumed bit for bit, refused when they do not fit."""

import os
import signal

import numpy as np
import pytest
import torch

from autoencoders import AutoEncoder
from autoencoders.callbacks import Callback
from autoencoders.training import TrainingInterrupted
from autoencoders.training.checkpoints import Checkpointer, CheckpointError, read_checkpoint

EVERY_STEP = 1e-9  # minutes: a checkpoint after every step


def _ae(folder, **kw):
    params = dict(hidden_dims=(16,), latent_dim=3, epochs=4, batch_size=32, random_state=0,
                  verbose=0, device="cpu", checkpoint_dir=folder)
    return AutoEncoder(**{**params, **kw})


class _Crash(Callback):
    """Raise at a chosen (epoch, batch), as a killed process would stop there."""

    def __init__(self, epoch, batch):
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, batch, loss):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("simulated crash")


class _Signal(_Crash):
    def on_batch_end(self, batch, loss):
        if (self.epoch, batch) == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def _weights(ae):
    return {k: v.clone() for k, v in ae.model_.state_dict().items()}


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("kw", [
    {"early_stopping": False},
    {"early_stopping": True, "n_iter_no_change": 2, "tol": 0.5},
    # Random noise and variational samples come from torch's generator: the checkpoint's
    # RNG state must give the resumed run the same draws.
    {"variational": True, "corruption": "gaussian:0.2", "kl_warmup": 0.5, "sparsity": 0.01},
    # Two optimisers in one: their moments and momentum buffers go through one state dict.
    {"optimizer": "muon", "hidden_dims": (16, 8)},
], ids=["plain", "early-stopping", "variational-denoising-sparse", "muon"])
def test_resume_after_a_crash_mid_epoch_gives_the_uninterrupted_weights(tmp_path, blobs, kw):
    X = blobs[0]
    reference = _ae(None, **kw).fit(X)
    crashed = _ae(tmp_path, checkpoint_every=EVERY_STEP, **kw)
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashed.fit(X, callbacks=[_Crash(epoch=2, batch=3)])
    resumed = _ae(tmp_path, checkpoint_every=EVERY_STEP, **kw).fit(X, resume=True)
    _assert_identical(_weights(reference), _weights(resumed))
    for key in ("epoch", "train_loss", "val_loss", "learning_rate"):
        assert resumed.history_[key] == reference.history_[key]


def test_sigterm_finishes_the_step_writes_a_checkpoint_and_resume_matches(tmp_path, blobs):
    X = blobs[0]
    reference = _ae(None).fit(X)
    with pytest.raises(TrainingInterrupted) as info:
        _ae(tmp_path).fit(X, callbacks=[_Signal(epoch=3, batch=4)])
    assert info.value.signum == signal.SIGTERM
    assert info.value.checkpoint.exists()
    _, meta = read_checkpoint(info.value.checkpoint)
    assert (meta["position"]["epoch"], meta["position"]["batch"]) == (3, 5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers put back
    resumed = _ae(tmp_path).fit(X, resume=True)
    _assert_identical(_weights(reference), _weights(resumed))


def test_only_the_newest_checkpoints_are_kept(tmp_path, blobs):
    _ae(tmp_path, checkpoint_every=EVERY_STEP, keep_checkpoints=2).fit(blobs[0])
    names = sorted(p.name for p in tmp_path.iterdir())
    n_batches = int(np.ceil(300 / 32))
    assert names == ["owner.json", f"step-{4 * n_batches - 1:010d}.safetensors",
                     f"step-{4 * n_batches:010d}.safetensors"]


def test_a_corrupt_newest_checkpoint_is_skipped_for_the_one_before(tmp_path, blobs):
    X = blobs[0]
    reference = _ae(None).fit(X)
    with pytest.raises(RuntimeError):
        _ae(tmp_path, checkpoint_every=EVERY_STEP).fit(X, callbacks=[_Crash(3, 2)])
    newest = Checkpointer(tmp_path).paths()[-1]
    newest.write_bytes(newest.read_bytes()[:1000])  # cut short, as by a failing disk
    leftover = tmp_path / f".{newest.name}.x1y2z3.safetensors"  # a save killed midway
    leftover.write_bytes(b"partial")
    with pytest.warns(UserWarning, match=f"{newest.name}.*truncated or corrupt"):
        resumed = _ae(tmp_path).fit(X, resume=True)
    _assert_identical(_weights(reference), _weights(resumed))
    assert not leftover.exists()


def test_resume_refuses_other_data_or_another_recipe(tmp_path, blobs):
    X = blobs[0]
    with pytest.raises(RuntimeError):
        _ae(tmp_path).fit(X, callbacks=[_Crash(2, 1)])
    with pytest.raises(CheckpointError, match="other training or validation data"):
        _ae(tmp_path).fit(X[::-1], resume=True)
    # The message names each setting that differs, as the checkpoint has it and as now.
    with pytest.raises(CheckpointError, match=r"another recipe \(epochs: \d+ in the "
                                              r"checkpoint, 6 now\)"):
        _ae(tmp_path, epochs=6).fit(X, resume=True)
    with pytest.raises(CheckpointError, match=r"another architecture \(latent_dim: \d+ in "
                                              r"the checkpoint, 4 now\)"):
        _ae(tmp_path, latent_dim=4).fit(X, resume=True)


def test_resume_without_checkpoints_names_the_folder(tmp_path, blobs):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}: no checkpoint to resume from"):
        _ae(tmp_path).fit(blobs[0], resume=True)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        _ae(None).fit(blobs[0], resume=True)


def test_a_fresh_fit_replaces_old_checkpoints_and_a_finished_run_resumes_to_itself(
        tmp_path, blobs):
    X = blobs[0]
    ae = _ae(tmp_path).fit(X)
    ae.fit(X[:100])  # the same estimator again: its own later-numbered checkpoints go
    assert [p.name for p in Checkpointer(tmp_path).paths()][-1] == "step-0000000016.safetensors"
    done = ae.fit(X)
    again = _ae(tmp_path).fit(X, resume=True)
    _assert_identical(_weights(done), _weights(again))
    assert again.history_["train_loss"] == done.history_["train_loss"]


@pytest.mark.parametrize("keep", [0, True, 2.5, "2"])
def test_checkpointer_rejects_a_keep_that_is_not_a_positive_whole_number(tmp_path, keep):
    with pytest.raises(ValueError, match=r"keep \(AutoEncoder's keep_checkpoints\) must be"):
        Checkpointer(tmp_path, keep=keep)


@pytest.mark.parametrize("minutes", [0, -1.0, float("inf"), True, "5"])
def test_checkpointer_rejects_an_interval_that_is_not_a_positive_number(tmp_path, minutes):
    with pytest.raises(ValueError, match="every_minutes .* must be a positive number"):
        Checkpointer(tmp_path, every_minutes=minutes)


def test_unknown_checkpoint_version_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "step-0000000001.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format_version": "99", "meta": "{}"})
    with pytest.raises(CheckpointError, match="format_version '99' is not supported"):
        read_checkpoint(path)


def test_a_checkpoint_from_before_a_config_field_existed_still_matches(tmp_path):
    import json

    from autoencoders.config import ArchitectureConfig, TrainingConfig
    from autoencoders.training.checkpoints import CheckpointError, check_facts

    arch = ArchitectureConfig(input_shape=(4,), hidden_dims=(3,), latent_dim=2).to_dict()
    facts = json.loads(json.dumps({"architecture": arch, "recipe": TrainingConfig().to_dict(),
                                   "data": "abc"}))
    before = {k: v for k, v in facts["recipe"].items() if k != "precision"}  # 2026-12-01
    check_facts({**facts, "recipe": before}, facts, tmp_path)  # float32 then, as now
    with pytest.raises(CheckpointError, match="precision: 'bfloat16' in the checkpoint, "
                                              "'float32' now"):
        check_facts({**facts, "recipe": {**before, "precision": "bfloat16"}}, facts, tmp_path)
    with pytest.raises(CheckpointError, match="another recipe"):
        check_facts({**facts, "recipe": {**before, "optimizer": "muon"}}, facts, tmp_path)


def test_only_a_resume_that_trains_on_takes_over_the_runs_checkpoints(tmp_path, blobs):
    # A hostile trial: a refused resume kept the run's owner token, and a fresh fit then
    # deleted the interrupted run's checkpoints. One that trains on keeps it, even when
    # interrupted again, so that it may start over in its own folder.
    X = blobs[0]
    with pytest.raises(TrainingInterrupted):
        _ae(tmp_path).fit(X, callbacks=[_Signal(epoch=1, batch=2)])
    steps = Checkpointer(tmp_path).paths()
    other = _ae(tmp_path, latent_dim=2)
    with pytest.raises(CheckpointError):
        other.fit(X, resume=True)  # another architecture: refused
    with pytest.raises(CheckpointError, match="holds the checkpoints of another run"):
        other.fit(X)
    assert Checkpointer(tmp_path).paths() == steps
    same = _ae(tmp_path)
    with pytest.raises(TrainingInterrupted):
        same.fit(X, resume=True, callbacks=[_Signal(epoch=3, batch=2)])
    same.fit(X)  # its own run now: started over
    assert same.history_["epoch"] == [1, 2, 3, 4]


def test_checkpoints_without_a_readable_owner_are_not_cleared(tmp_path, blobs):
    X = blobs[0]
    _ae(tmp_path, epochs=2).fit(X)
    for damage in ("", '{"owner": 5'):  # removed, or cut short
        (tmp_path / "owner.json").write_text(damage)
        with pytest.raises(CheckpointError, match="holds the checkpoints of another run"):
            _ae(tmp_path, latent_dim=2).fit(X)
    (tmp_path / "owner.json").unlink()
    with pytest.raises(CheckpointError, match="holds the checkpoints of another run"):
        _ae(tmp_path, latent_dim=2).fit(X)
    # A model's file (a run folder's root): never a checkpoint folder.
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "Model.SAFETENSORS").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="Model.SAFETENSORS, which is not a checkpoint"):
        _ae(tmp_path / "model").fit(X)
