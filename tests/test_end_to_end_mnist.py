"""Real MNIST, end to end through the CLI: a 20,000-image subset, three epochs; the fit as
a console command of its own, the verbs after it in this process (tests/cli/helpers.py)."""

import json
import subprocess
import sys

import numpy as np
import torch

from autoencoders import AutoEncoder
from autoencoders.config import ArchitectureConfig
from autoencoders.models import build_model
from autoencoders.training import mean_loss
from tests.cli.helpers import run


def test_three_epochs_on_a_subset_then_embed_evaluate_and_cluster(mnist, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "autoencoders", "fit", "--dataset", "mnist", "--out", out,
           "--epochs", "3", "--train-size", "20000", "--maps", "pca", "-q"]
    subprocess.run(list(map(str, cmd)), check=True, timeout=600)
    metrics = json.loads((out / "metrics.json").read_text())

    X_test = torch.from_numpy(mnist["test"][0].astype(np.float32) / 255)
    torch.manual_seed(0)
    untrained = mean_loss(build_model(ArchitectureConfig()), X_test, "bce", torch.device("cpu"))
    assert untrained > 0.6  # ~log 2: sigmoid(≈0) everywhere
    assert metrics["test_bce"] < 0.5 * untrained
    # Predicting the mean training image everywhere scores 0.2625: the codes must carry
    # information about each image, not just the average digit.
    mean_image = mnist["train"][0].mean(axis=0) / 255
    Xt = X_test.numpy()
    Rm = np.clip(mean_image, 1e-7, 1 - 1e-7)
    mean_image_bce = float(-(Xt * np.log(Rm) + (1 - Xt) * np.log(1 - Rm)).mean())
    assert metrics["test_bce"] < mean_image_bce - 0.05
    assert metrics["n_test"] == 10000

    codes = out / "codes.npy"
    run("embed", out, "--dataset", "mnist", "--split", "test", "--out", codes, check_code=0)
    Z = np.load(codes)
    assert Z.shape == (10000, 25) and Z.dtype == np.float32

    ae = AutoEncoder.load(out)
    R = ae.reconstruct(mnist["test"][0][:5])
    assert R.shape == (5, 28, 28) and 0 <= R.min() and R.max() <= 1

    # The code against PCA on the same points, and k-means clusters of it, from the folder.
    run("evaluate", out, "--dataset", "mnist", "--subsample", "2000", "--baselines", "pca",
        "-q", check_code=0)
    ev = json.loads((out / "evaluation.json").read_text())["methods"]
    assert ev["autoencoder"]["knn_accuracy"] > 0.8  # 0.85 measured; PCA to 2-D gets 0.42
    assert ev["autoencoder"]["trustworthiness"] > 0.85
    assert ev["pca"]["linear_probe_accuracy"] > 0.7 and ev["raw"]["knn_accuracy"] > 0.85
    run("cluster", out, "--dataset", "mnist", "--n-clusters", "10", "--method", "kmeans",
        check_code=0)
    assert json.loads((out / "cluster.json").read_text())["accuracy"] > 0.4
