"""Nothing of the user's lost, nothing silently wrong: the kinds of fault a hostile trial
found, each tested through the entry points it reaches (the messages themselves are
catalogued in tests/test_bad_input.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.base import clone

from autoencoders import AutoEncoder
from autoencoders.callbacks import Callback
from autoencoders.cli import main
from autoencoders.training import CheckpointError
from tests.cli.helpers import files_under

SMALL = dict(hidden_dims=(8,), latent_dim=2, epochs=2, batch_size=16, random_state=0,
             verbose=0, device="cpu")


@pytest.fixture
def X():
    return np.random.default_rng(0).uniform(size=(120, 6)).astype(np.float32)


def _cli(*argv) -> int:
    return main([str(a) for a in argv])


# ------------------------------------------------------------------ checkpoints of others
def test_loaded_and_cloned_estimators_never_delete_another_runs_checkpoints(X, tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    ae = AutoEncoder(**SMALL, checkpoint_dir="ckpt").fit(X)  # relative: resolved at fit
    folder = ae.save(tmp_path / "model")
    written = sorted((tmp_path / "ckpt").iterdir())
    assert any(p.name.startswith("step-") for p in written)

    loaded = AutoEncoder.load(folder)
    assert loaded.checkpoint_dir is None  # a model folder binds no later fit to a folder
    monkeypatch.chdir(tmp_path / "model")
    loaded.fit(X)  # trains without checkpoints, anywhere
    assert sorted((tmp_path / "ckpt").iterdir()) == written

    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="holds the checkpoints of another run"):
        clone(ae).fit(X)
    assert sorted((tmp_path / "ckpt").iterdir()) == written
    ae.fit(X)  # its own: starts afresh
    clone(ae).fit(X, resume=True)  # naming it by resuming is allowed


def test_legacy_model_folders_with_a_checkpoint_dir_load_without_it(X, tmp_path):
    folder = AutoEncoder(**SMALL).fit(X).save(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["params"]["checkpoint_dir"] = "runs/old/checkpoints"
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    weights = folder / "model.safetensors"
    with safe_open(str(weights), "pt") as f:
        header = dict(f.metadata())
    header["config"] = json.dumps(config)
    save_file(load_file(weights), weights, metadata=header)
    assert AutoEncoder.load(folder).checkpoint_dir is None


# ------------------------------------------------------------------ writes cut short
WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from autoencoders.datasets import ArrayWriter
    with ArrayWriter(sys.argv[1], 4) as w:
        w.write(np.zeros((1, 3), np.float32))
        print("started", flush=True)
        time.sleep(60)
""")


def test_a_write_killed_midway_leaves_the_old_file_and_its_debris_is_swept(tmp_path):
    from autoencoders.datasets import write_array

    out = tmp_path / "codes.npy"
    np.save(out, np.ones((2, 2)))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    debris = [p for p in tmp_path.iterdir() if p.name.startswith(".codes.npy.tmp-")]
    assert len(debris) == 1
    np.testing.assert_array_equal(np.load(out), np.ones((2, 2)))  # the old file, whole
    write_array(out, np.zeros((3, 2), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.npy"]


def test_files_we_write_have_the_permissions_of_a_plain_open(X, tmp_path):
    old = os.umask(0o022)
    try:
        folder = AutoEncoder(**SMALL, checkpoint_dir=tmp_path / "ck").fit(X).save(tmp_path / "m")
    finally:
        os.umask(old)
    for path in [folder / "model.safetensors", folder / "config.json",
                 *(tmp_path / "ck").glob("step-*")]:
        assert (path.stat().st_mode & 0o777) == 0o644, path


@pytest.fixture
def small_disk(tmp_path):
    """A 600 KB tmpfs, or a skip where this machine cannot mount one (CI runs as root and
    can)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_cleanly_through_save_embed_and_fit(small_disk, tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(400, 784)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    ae = AutoEncoder(hidden_dims=(64,), latent_dim=8, epochs=1, verbose=0, random_state=0)
    ae.fit(X)
    ae.save(tmp_path / "model")
    # A model of 850 KB does not fit: an OSError naming the file, nothing left behind.
    with pytest.raises(OSError, match="model.safetensors: No space left on device"):
        AutoEncoder(hidden_dims=(256,), latent_dim=8, epochs=1, verbose=0).fit(X).save(
            small_disk / "m")
    assert not any(small_disk.rglob("*.tmp-*"))
    # Reconstructions (1.25 MB) do not fit either: exit 1, one line, no file.
    code = _cli("reconstruct", tmp_path / "model", "--input", tmp_path / "x.npy", "--out",
                small_disk / "r.npy", "-q")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "No space left on device" in err[0]
    assert not (small_disk / "r.npy").exists() and not any(small_disk.rglob("*.tmp-*"))


def test_a_read_only_folder_is_refused_before_any_work(small_disk, tmp_path, capsys, X):
    np.save(tmp_path / "x.npy", X)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code = _cli("fit", "--input", tmp_path / "x.npy", "--out", small_disk / "run", "-q")
    assert code == 1 and "cannot write" in capsys.readouterr().err


# ------------------------------------------------------------------ failed and incomplete runs
def test_a_run_whose_writing_fails_after_training_is_finished_by_resume(X, tmp_path,
                                                                        monkeypatch, capsys):
    import autoencoders.workflow.train as train_module

    np.save(tmp_path / "x.npy", X)
    run = tmp_path / "run"
    figure = train_module.plot_history

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train_module, "plot_history", full_disk)
    code = _cli("fit", "--input", tmp_path / "x.npy", "--out", run, "-q", "--epochs", "2",
                "--maps", "none")
    err = capsys.readouterr().err
    assert code == 1 and "training finished and its last checkpoint is kept" in err
    assert f"autoencoders fit --resume {run}" in err
    monkeypatch.setattr(train_module, "plot_history", figure)
    assert _cli("fit", "--resume", run, "-q") == 0
    assert (run / "figures" / "loss.png").is_file()
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 3  # the two epochs, not trained again


@pytest.mark.parametrize("failure", [KeyboardInterrupt, ValueError])
def test_a_map_that_fails_after_training_keeps_the_trained_run(X, tmp_path, monkeypatch,
                                                               capsys, failure):
    """Ctrl-C or an error while the map trains (after the autoencoder) keeps the run's
    checkpoint, says how to resume, and the resume trains no epoch again."""
    from autoencoders.neighbours import NeighbourMap

    np.save(tmp_path / "x.npy", X)
    run, fit = tmp_path / "run", NeighbourMap.fit

    def broken(self, *args, **kwargs):
        raise failure("the map stopped")

    monkeypatch.setattr(NeighbourMap, "fit", broken)
    code = _cli("fit", "--input", tmp_path / "x.npy", "--out", run, "-q", "--epochs", "2",
                "--maps", "none", "--map", "--no-report")
    err = capsys.readouterr().err
    assert code == (130 if failure is KeyboardInterrupt else 1)
    assert f"fit --resume {run}" in err and any((run / "checkpoints").glob("step-*"))
    monkeypatch.setattr(NeighbourMap, "fit", fit)
    assert _cli("fit", "--resume", run, "-q") == 0
    assert (run / "map.csv").is_file() and len((run / "history.csv").read_text().splitlines()) == 3
    # map.csv and embed --map write every row's coordinates alike (they differed in digits).
    assert _cli("embed", run, "--map", "--input", tmp_path / "x.npy", "--out",
                tmp_path / "m.csv", "-q") == 0
    table = [line.split(",") for line in (run / "map.csv").read_text().splitlines()[1:]]
    embedded = [line.split(",") for line in (tmp_path / "m.csv").read_text().splitlines()[1:]]
    assert [row[2:4] for row in table] == [row[-2:] for row in embedded]


def test_ctrl_c_while_the_folder_is_written_keeps_the_trained_run(X, tmp_path, monkeypatch,
                                                                   capsys):
    import autoencoders.workflow.train as train_module

    np.save(tmp_path / "x.npy", X)
    run, figure = tmp_path / "run", train_module.plot_history

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "plot_history", ctrl_c)
    code = _cli("fit", "--input", tmp_path / "x.npy", "--out", run, "-q", "--epochs", "2",
                "--maps", "none", "--no-report")
    assert code == 130 and f"fit --resume {run}" in capsys.readouterr().err
    monkeypatch.setattr(train_module, "plot_history", figure)
    assert _cli("fit", "--resume", run, "-q") == 0 and (run / "figures" / "loss.png").is_file()


def test_a_refit_that_fails_leaves_the_earlier_fit(X):
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=1, verbose=0).fit(X)
    codes = ae.transform(X)
    with pytest.raises(ValueError, match="needs more training rows than its n_neighbors=15"):
        ae.set_params(neighbour_map=True).fit(X[:10, :3])  # refused before training
    with pytest.raises(KeyboardInterrupt):
        ae.set_params(neighbour_map=False).fit(X[:, :3], callbacks=[_Interrupt()])
    assert ae.n_features_in_ == X.shape[1] and np.array_equal(ae.transform(X), codes)


class _Interrupt(Callback):
    def on_epoch_end(self, log):
        raise KeyboardInterrupt


def test_metrics_json_is_always_valid_json(X, tmp_path):
    np.save(tmp_path / "x.npy", X)
    assert _cli("fit", "--input", tmp_path / "x.npy", "--out", tmp_path / "run", "-q",
                "--epochs", "1", "--maps", "none") == 0
    text = (tmp_path / "run" / "metrics.json").read_text()
    metrics = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert metrics["under_trained"] is True and metrics["steps"] < 1000
    assert metrics["input"] == "values used as they are, clipped to [0, 1]"


def test_fit_early_stopping_picks_its_epoch_on_training_rows_not_the_test_rows(tmp_path,
                                                                                capsys):
    # A new-user trial: fit --early-stopping validated on the test split, so the kept
    # epoch's validation loss was the reported test loss (an optimistic test number), and
    # the summary then called the stopped run under-trained.
    X = np.random.default_rng(0).uniform(size=(400, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    assert _cli("fit", "--input", tmp_path / "x.npy", "--out", tmp_path / "run", "--epochs",
                "300", "--early-stopping", "--hidden-dims", "8", "--latent-dim", "2",
                "--maps", "none", "--no-map", "--no-report") == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    val = [float(line.split(",")[2]) for line in history[1:]]
    assert metrics["stopped_early"] and metrics["epochs"] == len(val) < 300
    assert min(abs(v - metrics["test_bce"]) for v in val) > 1e-6
    assert metrics["under_trained"] is False
    out = capsys.readouterr().out
    assert f"early stopping ended training after epoch {len(val)} of 300" in out
    assert "under-trained" not in out


def test_a_default_length_muon_run_is_not_reported_as_under_trained(tmp_path):
    # 10,800 training rows: Muon at batch 512, 43 epochs of 22 steps (its default length,
    # 946 steps), fewer than Adam's 1,000-step threshold.
    X = np.random.default_rng(0).random((12_000, 12), dtype=np.float32)
    np.save(tmp_path / "x.npy", X)
    assert _cli("fit", "--input", tmp_path / "x.npy", "--out", tmp_path / "run", "-q",
                "--hidden-dims", "8", "--latent-dim", "2", "--maps", "none") == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["recipe"]["optimizer"] == "muon" and metrics["steps"] == 946
    assert metrics["under_trained"] is False
    # --resume continues this recipe even if a later version's defaults differ; the
    # options file stays a recipe for other data ("auto").
    command = json.loads((tmp_path / "run" / "checkpoints" / "command.json").read_text())
    assert (command["optimizer"], command["batch_size"], command["lr"], command["epochs"],
            command["precision"]) == ("muon", 512, 8e-3, 43, "float32")
    assert "optimizer" not in (tmp_path / "run" / "options.toml").read_text()


# ------------------------------------------------------------------ the defaults' shapes
def test_the_default_length_of_training_follows_the_data():
    from autoencoders.params import auto_epochs

    assert auto_epochs(60_000, 128) == 8  # MNIST: the tuned recipe, unchanged
    assert auto_epochs(600, 128) == 500 and auto_epochs(1_500, 128) == 313
    assert auto_epochs(1_000_000, 128) == 8
    rng = np.random.default_rng(0)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, verbose=0, batch_size=64).fit(
        rng.uniform(size=(3000, 6)).astype(np.float32))
    assert ae.recipe_.epochs == len(ae.history_["epoch"]) == 80  # ceil(3750 / 47)


def test_pictures_of_min_max_scaled_data_are_drawn_in_the_models_units():
    from sklearn.datasets import load_digits

    X = load_digits().data[:300]  # 0–16
    ae = AutoEncoder(**{**SMALL, "epochs": 3}, input_scaling="minmax").fit(X)
    row = ae.interpolate(X[0], X[1], 5, scaled=True)
    assert row.min() >= 0 and row.max() <= 1  # not saturated white blocks
    assert ae.interpolate(X[0], X[1], 5).max() > 1  # the input's units otherwise


def test_mse_runs_lead_with_mse_and_tables_say_per_sample(X, tmp_path, capsys):
    np.save(tmp_path / "x.npy", X * 10)
    assert _cli("fit", "--input", tmp_path / "x.npy", "--out", tmp_path / "run", "--loss",
                "mse", "--input-scaling", "none", "-q", "--epochs", "1", "--maps",
                "none") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("test MSE") and "SSE/sample" in first and "BCE" not in first


def test_a_code_wider_than_the_data_warns_and_evaluate_still_works(tmp_path, capsys):
    X = np.random.default_rng(0).uniform(size=(400, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    # The command line shows the warning as one line on stderr (-q would silence it).
    assert _cli("fit", "--input", tmp_path / "x.npy", "--out", tmp_path / "run",
                "--epochs", "1", "--maps", "none", "--no-report") == 0
    assert ("autoencoders: warning: latent_dim=25 is not smaller than the 6 features"
            in capsys.readouterr().err)
    assert _cli("evaluate", tmp_path / "run", "--input", tmp_path / "x.npy", "--baselines",
                "pca", "-q") == 0


# ------------------------------------------------------------------ under load
def test_importing_autoencoders_first_makes_openmp_threads_wait_passively():
    def policy(imports: str, **extra: str) -> str:
        code = (f"import os, {imports}; print(os.environ.get('OMP_WAIT_POLICY'), "
                "os.environ.get('GOMP_SPINCOUNT'))")
        env = {k: v for k, v in os.environ.items()
               if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        return subprocess.run([sys.executable, "-c", code], env={**env, **extra},
                              capture_output=True, text=True, check=True).stdout.strip()

    assert policy("autoencoders, torch") == "PASSIVE 10000"
    # too late to change: runtime.check_wait_policy warns under load
    assert policy("torch, autoencoders") == "None None"
    # the user's own choices stand
    assert policy("autoencoders", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE None"
    assert policy("autoencoders", GOMP_SPINCOUNT="0") == "PASSIVE 0"


def test_a_busy_machine_with_spinning_threads_gets_a_warning(monkeypatch):
    import autoencoders.runtime as runtime

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(runtime, "_warned_wait_policy", False)
    monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 50.0, 50.0))
    with pytest.warns(RuntimeWarning, match="OMP_WAIT_POLICY=PASSIVE"):
        runtime.check_wait_policy()


def test_the_lock_of_a_finished_fit_is_gone_and_a_killed_ones_is_taken_over(X, tmp_path):
    np.save(tmp_path / "x.npy", X)
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "autoencoders", "fit", "--input",
                             str(tmp_path / "x.npy"), "--out", str(run), "-q", "--epochs",
                             "400", "--maps", "none"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (run / ".lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (run / ".lock").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / ".lock").exists()  # the killed process could not remove it
    assert _cli("fit", "--input", tmp_path / "x.npy", "--out", run, "-q", "--epochs", "1",
                "--maps", "none", "--force") == 0
    assert not (run / ".lock").exists()


def test_sigterm_before_training_gives_back_the_run_force_set_aside(X, tmp_path,
                                                                      monkeypatch):
    import autoencoders.workflow as workflow

    np.save(tmp_path / "x.npy", X)
    run = tmp_path / "run"
    fit = ("fit", "--input", tmp_path / "x.npy", "--out", run, "-q", "--maps", "none",
           "--no-map", "--no-report")
    assert _cli(*fit, "--epochs", "1") == 0
    before, read = files_under(run), workflow.run_data

    def terminated_while_reading(request):
        os.kill(os.getpid(), signal.SIGTERM)  # killed at once, it left the run hidden
        return read(request)

    monkeypatch.setattr(workflow, "run_data", terminated_while_reading)
    assert _cli(*fit, "--epochs", "2", "--force") == 143
    assert files_under(run) == before and not list(run.glob(".tmp-*"))
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored after the fit
    # Every verb: SIGTERM while embed writes leaves no half-written temporary file.
    from autoencoders.datasets.writers import ArrayWriter

    write = ArrayWriter.write

    def terminated_while_writing(self, *args, **kwargs):
        write(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(ArrayWriter, "write", terminated_while_writing)
    assert _cli("embed", run, "--out", tmp_path / "codes.csv", "-q") == 143
    assert not list(tmp_path.glob("*codes*")) and not list(tmp_path.glob(".*tmp*"))


def test_two_processes_never_hold_a_runs_lock_at_once(tmp_path):
    # Reading a lock's content, then replacing it, let both of two processes started at
    # once take it in 12 of 30 trials (22 with a killed process's lock in the way).
    import multiprocessing

    from autoencoders.workflow import run_lock

    def take(barrier, results, folder):
        barrier.wait()
        try:
            with run_lock(folder):
                results.put("held")
                time.sleep(0.6)  # long after the other's attempt, even on a loaded machine
        except ValueError:
            results.put("refused")

    fork = multiprocessing.get_context("fork")
    for trial in range(6):
        folder = tmp_path / f"r{trial}"
        if trial % 2:  # a killed fit's lock in the way
            folder.mkdir()
            (folder / ".lock").write_text(json.dumps({"pid": 2**22 + 12345}))
        barrier, results = fork.Barrier(2), fork.Queue()
        workers = [fork.Process(target=take, args=(barrier, results, folder))
                   for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted([results.get(), results.get()]) == ["held", "refused"], trial


def test_a_lock_whose_process_id_was_given_to_another_process_is_taken_over(tmp_path):
    import socket

    from autoencoders._io import process_identity
    from autoencoders.workflow.lock import refuse_unfinished, run_lock

    me = process_identity(os.getpid())
    if me is None:
        pytest.skip("no /proc here: a lock names its process by id alone")
    folder = tmp_path / "run"
    folder.mkdir()
    lock = {"pid": os.getpid(), "host": socket.gethostname(), "started": "then"}
    # This process's own id and identity: held, as by a fit that runs now.
    (folder / ".lock").write_text(json.dumps({**lock, "process": me}))
    with pytest.raises(ValueError, match=f"is being written by process {os.getpid()}"):
        refuse_unfinished(folder)
    with pytest.raises(ValueError, match="is being written"), run_lock(folder):
        pass
    # An identity that is no string says nothing: the live id holds the folder.
    (folder / ".lock").write_text(json.dumps({**lock, "process": 5}))
    with pytest.raises(ValueError, match="is being written"):
        refuse_unfinished(folder)
    # Ids no process can have, from a damaged lock: taken over, without a traceback.
    for pid in (-1, 0, 10**20):
        (folder / ".lock").write_text(json.dumps({**lock, "pid": pid}))
        refuse_unfinished(folder)
    # A lock that is a link is not followed: the file it names is left as it was.
    (folder / ".lock").unlink()
    (tmp_path / "precious.txt").write_text("mine")
    (folder / ".lock").symlink_to(tmp_path / "precious.txt")
    with pytest.raises(OSError), run_lock(folder):
        pass
    assert (tmp_path / "precious.txt").read_text() == "mine"
    (folder / ".lock").unlink()
    # The same id, but a process started at another time (the id reused since): stale.
    (folder / ".lock").write_text(json.dumps({**lock, "process": me + "0"}))
    refuse_unfinished(folder)  # no model, no checkpoints: nothing to refuse
    with run_lock(folder):
        assert json.loads((folder / ".lock").read_text())["process"] == me
    assert not (folder / ".lock").exists()


def test_a_lock_taken_but_not_yet_written_names_no_process(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    from autoencoders.workflow.lock import run_lock

    folder = tmp_path / "run"
    folder.mkdir()
    # What a second fit sees when the first has its flock but has not written the lock's
    # content yet (or an earlier, killed owner's is still there): no "process ?".
    for content in ("", json.dumps({"pid": 2**22 + 12345, "started": "long ago"})):
        (folder / ".lock").write_text(content)
        fd = os.open(folder / ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: refused
            with pytest.raises(ValueError, match=r"run is being written by another "
                               r"process; wait for it to finish or choose another --out$"), \
                    run_lock(folder):
                pass
        finally:
            os.close(fd)
        assert (folder / ".lock").read_text() == content


def test_only_folders_we_made_count_as_hidden_replaced_runs(tmp_path):
    from autoencoders.workflow.folder import discard_replaced, hidden_replaced_runs

    dead = 2**22 + 12345
    (tmp_path / f".tmp-replaced-{dead}-a").mkdir()
    (tmp_path / f".tmp-replaced-{dead}-a" / "model.safetensors").write_bytes(b"old")
    (tmp_path / f".tmp-replaced-{dead}-file").write_text("a user's file, not ours")
    (tmp_path / "target").mkdir()
    (tmp_path / f".tmp-replaced-{dead}-link").symlink_to(tmp_path / "target")
    assert hidden_replaced_runs(tmp_path) == [tmp_path / f".tmp-replaced-{dead}-a"]
    discard_replaced(tmp_path, None)
    assert hidden_replaced_runs(tmp_path) == []  # nothing left to warn about for ever
    assert (tmp_path / f".tmp-replaced-{dead}-file").read_text() == "a user's file, not ours"
    assert (tmp_path / f".tmp-replaced-{dead}-link").is_symlink()
    assert (tmp_path / "target").is_dir()


def test_cli_verbs_run_on_the_device_that_exists(X, tmp_path):
    ae = AutoEncoder(**SMALL).fit(X)
    Z = ae.transform(X)
    ae.set_params(device="cuda")
    folder = ae.save(tmp_path / "gpu-model")
    if not __import__("torch").cuda.is_available():
        np.testing.assert_allclose(AutoEncoder.load(folder).transform(X), Z, atol=1e-6)
        np.save(tmp_path / "x.npy", X)
        assert _cli("embed", folder, "--input", tmp_path / "x.npy", "--out",
                    tmp_path / "z.npy", "-q") == 0
        np.testing.assert_allclose(np.load(tmp_path / "z.npy"), Z, atol=1e-6)
        with pytest.raises(ValueError, match="no CUDA GPU"):
            AutoEncoder.load(folder, device="cuda")


def test_label_columns_are_never_features_and_colour_the_figures(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.uniform(size=(300, 8)), columns=[f"x{i}" for i in range(8)])
    df["label"] = rng.choice(["cat", "dog", "eel"], size=300)
    df.to_csv(tmp_path / "labelled.csv", index=False)
    assert _cli("fit", "--input", tmp_path / "labelled.csv", "--label-column", "label",
                "--latent-dim", "2", "--epochs", "1", "--out", tmp_path / "run", "-q") == 0
    assert AutoEncoder.load(tmp_path / "run").n_features_in_ == 8
    labels = np.load(tmp_path / "run" / "codes" / "test_labels.npy", allow_pickle=True)
    assert set(labels) <= {"cat", "dog", "eel"}
    assert (tmp_path / "run" / "figures" / "latent_maps.png").stat().st_size > 1000
    df.to_parquet(tmp_path / "labelled.parquet")
    assert _cli("cluster", tmp_path / "run", "--input", tmp_path / "labelled.parquet",
                "--label-column", "label", "--n-clusters", "3", "--method", "kmeans") == 0
    assert "accuracy" in json.loads((tmp_path / "run" / "cluster.json").read_text())
