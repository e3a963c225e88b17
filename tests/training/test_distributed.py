"""Data-parallel training under torchrun: two CPU processes (gloo on loopback) on real MNIST
in a Parquet file give the one-process result, and both ranks end with the same weights."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from safetensors.numpy import load_file

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

#: One epoch of SGD over 2,000 images in batches of 64 (32 per process): the weights of one
#: process and of two differ only by the order in which the ranks' gradients are summed,
#: measured at 3.6e-8 here; Adam, which divides by the root of tiny second moments, turns
#: such differences into up to one learning rate per step for weights with near-zero
#: gradients, so the comparison uses SGD.
WEIGHT_TOLERANCE = 1e-5


def _torchrun(*args, cwd):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture(scope="module")
def mnist_parquet(mnist, tmp_path_factory):
    X = mnist["train"][0][:2000].reshape(2000, 784)
    folder = tmp_path_factory.mktemp("ddp")
    pixels = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 784)
    pq.write_table(pa.table({"id": np.arange(2000) + 10_000, "pixels": pixels}),
                   folder / "mnist.parquet", row_group_size=256)
    return folder / "mnist.parquet"


def test_torchrun_fit_matches_one_process(mnist_parquet, tmp_path):
    common = ["fit", "--input", mnist_parquet, "--epochs", "1", "--batch-size", "64",
              "--optimizer", "sgd", "--seed", "0", "--maps", "none", "-q"]
    one = subprocess.run([sys.executable, "-m", "autoencoders", *map(str, common), "--out",
                          tmp_path / "one"], capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    two = _torchrun("-m", "autoencoders", *common, "--out", tmp_path / "two", cwd=tmp_path)
    assert two.returncode == 0, two.stderr + two.stdout
    assert two.stdout.count("test BCE") == 1  # rank 0 alone reports and writes

    a, b = (load_file(tmp_path / run / "model.safetensors") for run in ("one", "two"))
    assert a.keys() == b.keys()
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < WEIGHT_TOLERANCE
    ma, mb = (json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("one", "two"))
    assert mb["test_bce"] == pytest.approx(ma["test_bce"], rel=1e-6)
    assert json.loads((tmp_path / "two" / "config.json").read_text())["extra"]["processes"] == 2
    assert len(list((tmp_path / "two" / "checkpoints").glob("step-*.safetensors"))) == 1
    assert (tmp_path / "two" / "history.csv").read_text().count("\n") == 2  # header + 1 epoch


SCRIPT = """
import sys
import numpy as np
import torch.distributed as dist
from autoencoders import AutoEncoder
from autoencoders.datasets import open as open_data

dist.init_process_group("gloo")
ae = AutoEncoder(hidden_dims=(128, 32), latent_dim=8, epochs=1, batch_size=100,
                 early_stopping=True, random_state=0, verbose=0)
ae.fit(open_data(sys.argv[1]))
rank = dist.get_rank()
np.savez(f"rank{rank}.npz", **{k: v.numpy() for k, v in ae.model_.state_dict().items()})
if rank == 0:
    ae.save("model")
dist.destroy_process_group()
"""


def test_python_api_under_torchrun_gives_identical_ranks(mnist_parquet, tmp_path):
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT))
    proc = _torchrun("train.py", mnist_parquet, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r0, r1 = (np.load(tmp_path / f"rank{r}.npz") for r in (0, 1))
    assert all(np.array_equal(r0[k], r1[k]) for k in r0.files)
    from autoencoders import AutoEncoder

    ae = AutoEncoder.load(tmp_path / "model")
    assert ae.transform(np.zeros((2, 784), np.uint8)).shape == (2, 8)


RESUMABLE = ["fit", "--dataset", "mnist", "--train-size", "2000", "--test-size", "300",
             "--hidden-dims", "64", "--latent-dim", "8", "--epochs", "2", "--batch-size", "32",
             "--maps", "none", "-q"]


def test_torchrun_stopped_by_sigterm_resumes_to_the_same_weights(mnist, tmp_path):
    """torchrun forwards SIGTERM to both ranks; they agree on a step, rank 0 checkpoints,
    and ``fit --resume`` under torchrun ends with the weights of the run never stopped."""
    import signal
    import time

    reference = _torchrun("-m", "autoencoders", *RESUMABLE, "--out", tmp_path / "whole",
                          cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc-per-node", "2", "-m", "autoencoders", *RESUMABLE,
                             "--out", str(tmp_path / "run"), "--checkpoint-every", "0.0005"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    folder = tmp_path / "run" / "checkpoints"
    deadline = time.monotonic() + 120
    while not list(folder.glob("step-*.safetensors")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert "training stopped by SIGTERM" in err and "fit --resume" in err, err
    assert not (tmp_path / "run" / "model.safetensors").exists()

    resumed = _torchrun("-m", "autoencoders", "fit", "--resume", tmp_path / "run", "-q",
                        cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    a, b = (load_file(tmp_path / run / "model.safetensors") for run in ("whole", "run"))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # The interrupted epoch's training loss covers both ranks' rows, as in the whole run.
    whole, resumed = (np.genfromtxt(tmp_path / run / "history.csv", delimiter=",",
                                    names=True) for run in ("whole", "run"))
    np.testing.assert_allclose(resumed["train_loss"], whole["train_loss"], rtol=1e-6)
