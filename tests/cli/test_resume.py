"""Kill a real ``autoencoders fit`` process and resume it: the weights must not notice."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from autoencoders import Run

from .test_cli import run

N_TRAIN, BATCH = 12000, 32
N_BATCHES = -(-N_TRAIN // BATCH)
FIT = ("fit", "--dataset", "mnist", "--train-size", N_TRAIN, "--test-size", 500,
       "--hidden-dims", "128,64", "--latent-dim", "8", "--epochs", 4, "--batch-size", BATCH,
       "--maps", "none", "-q")


def _start(out, *extra):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "autoencoders", *map(str, FIT),
                             "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_checkpoint(proc, folder, mid_epoch_after: int, timeout=120):
    """Wait until a checkpoint taken mid-epoch after step ``mid_epoch_after`` exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = [int(p.name[5:15]) for p in folder.glob("step-*.safetensors")] \
            if folder.is_dir() else []
        if any(s > mid_epoch_after and s % N_BATCHES for s in steps):
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was interrupted: {proc.stderr.read()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no mid-epoch checkpoint appeared")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mnist):
    out = tmp_path_factory.mktemp("runs") / "uninterrupted"
    run(*FIT, "--out", out, check_code=0)
    return load_file(out / "model.safetensors")


def _assert_same_weights(out, reference):
    resumed = load_file(out / "model.safetensors")
    assert resumed.keys() == reference.keys()
    for k in reference:
        assert (resumed[k] == reference[k]).all(), k


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path, reference):
    out = tmp_path / "run"
    proc = _start(out, "--checkpoint-every", "0.0005")  # every 30 ms
    _wait_for_checkpoint(proc, out / "checkpoints", mid_epoch_after=N_BATCHES)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (out / "model.safetensors").exists()
    # As a killed `fit --force` leaves the run it replaced: named, then gone once trained.
    hidden = out / f".tmp-replaced-{2**22 + 12345}"
    hidden.mkdir()

    done = run("fit", "--resume", out, check_code=0)
    assert "test BCE" in done.stdout
    assert f"{hidden} holds the run that a killed `fit --force`" in done.stderr
    assert not hidden.exists()
    _assert_same_weights(out, reference)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_checkpoint_and_say_how_to_resume(tmp_path, reference, signum):
    out = tmp_path / "run"
    proc = _start(out, "--checkpoint-every", "0.0005")
    _wait_for_checkpoint(proc, out / "checkpoints", mid_epoch_after=0)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, stderr
    assert f"continue with: autoencoders fit --resume {out}" in stderr
    assert stderr.count("\n") == 1, stderr  # one line, no traceback

    again = run(*FIT, "--out", out)
    assert again.returncode == 2
    assert f"holds an interrupted run; continue it with 'autoencoders fit --resume {out}'" \
        in again.stderr
    # Every verb that reads the run's model says the same, not "not a complete model folder".
    for verb in (("report", out), ("summary", out), ("evaluate", out),
                 ("cluster", out, "--n-clusters", 3),
                 ("embed", out, "--out", tmp_path / "codes.npy")):
        proc = run(*verb)
        assert proc.returncode == 1, (verb, proc.stderr)
        assert (f"{out} holds a run that has not finished: its model is written when "
                "training ends; unless a fit is writing it now, finish it with "
                f"'autoencoders fit --resume {out}'") in proc.stderr, verb
    with pytest.raises(FileNotFoundError, match="holds a run that has not finished"):
        Run(out)
    # While a fit writes it (its lock names a live process: this one), they say so instead.
    (out / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                           "started": "now"}))
    proc = run("summary", out)
    assert proc.returncode == 1
    assert f"{out} is being written by process {os.getpid()} (started now)" in proc.stderr
    with pytest.raises(ValueError, match="is being written by process"):
        Run(out)
    (out / ".lock").unlink()
    run("fit", "--resume", out, "-q", check_code=0)
    _assert_same_weights(out, reference)


def test_resume_rejects_other_options_and_folders_without_a_run(tmp_path):
    proc = run("fit", "--resume", tmp_path, "--epochs", "3")
    assert proc.returncode == 2 and "drop --epochs" in proc.stderr
    proc = run("fit", "--resume", tmp_path)
    assert proc.returncode == 1
    assert "command.json: missing" in proc.stderr and "Traceback" not in proc.stderr


def test_resume_replays_every_kind_of_saved_option(tmp_path):
    """A run started with a switch whose Python name differs from its flag (``--map``,
    ``neighbour_map``), a size ``HxW`` and a list resumes with them all."""
    from autoencoders.cli.options_file import RESUME_OPTIONS, resume_args
    from autoencoders.cli.parser import build_parser
    from autoencoders.workflow import save_command

    parser = build_parser()
    started = parser.parse_args(["fit", "--input", "x.npy", "--out", str(tmp_path), "--map",
                                 "--image-size", "20x24", "--hidden-dims", "32,16",
                                 "--no-report", "--seed", "3"])
    save_command(tmp_path, {k: v for k, v in vars(started).items()
                            if k not in RESUME_OPTIONS}, "")
    resumed = resume_args(parser.parse_args(["fit", "--resume", str(tmp_path)]))
    for key in ("neighbour_map", "image_size", "hidden_dims", "no_report", "seed", "input"):
        assert getattr(resumed, key) == getattr(started, key), key
