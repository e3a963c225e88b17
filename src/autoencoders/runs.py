"""The run folder: train, save, measure and draw in one place, for the CLI and for scripts.

A run folder holds::

    model.safetensors   weights (and min-max statistics), safetensors
    config.json         architecture, recipe, scaling, data set, seed, versions
    history.csv         per-epoch losses and seconds, rewritten after every epoch
    metrics.json        held-out reconstruction metrics and timings
    checkpoints/        step-*.safetensors: the newest training checkpoints (for resuming)
    codes/              train.npy, test.npy (float32 latent codes) and *_labels.npy
    figures/            loss.png, reconstructions.png, latent_maps.png
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._io import atomic_path, atomic_write
from .callbacks import CSVLogger
from .checkpoints import CHECKPOINT_DIR
from .persistence import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, save_model
from .validation import check_labels

__all__ = ["RunData", "train_run", "REFERENCE_TEST_BCE", "METRICS_FILE"]

METRICS_FILE = "metrics.json"

#: The reference Keras notebook's validation BCE on the 10,000 MNIST test images after its
#: 50 epochs of SGD (learning rate 1.5, batch 32).
REFERENCE_TEST_BCE = 0.0956


@dataclass
class RunData:
    """The arrays and the description of a run's data.

    Attributes
    ----------
    X_train : ndarray, shape (n, *feature_shape)
    X_test : ndarray, shape (m, *feature_shape)
        Held out; metrics, figures and test codes use it.
    y_train, y_test : ndarray of shape (n,) / (m,), or None
        Labels, used only to colour the maps and saved beside the codes; one per sample,
        or ValueError.
    description : dict
        JSON facts for ``config.json`` (data set name or input path, sizes).
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray | None
    y_test: np.ndarray | None
    description: dict

    def __post_init__(self):
        self.y_train = check_labels(self.y_train, len(self.X_train), "y_train")
        self.y_test = check_labels(self.y_test, len(self.X_test), "y_test")


def _save_npy(path: Path, array) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def train_run(estimator, data: RunData, out_dir, *, maps=("pca", "tsne"),
              extra: dict | None = None, log=print, resume: bool = False) -> dict:
    """Fit ``estimator`` on ``data`` and write the complete run folder ``out_dir``.

    Parameters
    ----------
    estimator : AutoEncoder
        Unfitted; fitted in place with the test split as validation data (for the loss
        curve; early stopping, if on, also watches it). Without a ``checkpoint_dir`` of its
        own, it checkpoints into ``out_dir/checkpoints``.
    data : RunData
    out_dir : str or Path
        Created if missing.
    maps : sequence of {"pca", "tsne"}
        2-D maps of the test codes drawn in ``figures/latent_maps.png``; empty for none.
    extra : dict, optional
        More facts for ``config.json`` (e.g. the seed).
    log : callable
        Receives progress messages (one line each).
    resume : bool, default False
        Continue the interrupted run from its newest checkpoint (see ``AutoEncoder.fit``).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``: ``test_bce`` (None for unbounded data),
        ``test_mse``, ``test_sse_per_image``, ``test_psnr`` (reconstruction metrics per
        pixel, per image and in dB; see ``evaluation.reconstruction_metrics``),
        ``train_seconds`` (training epochs only), ``seconds_per_epoch``, ``epochs``,
        ``n_train``, ``n_test``, ``device``.

    Raises
    ------
    ValueError, OSError
        From validation of the data or from writing the folder.
    """
    from .evaluation import map_2d, reconstruction_metrics
    from .plotting import plot_history, plot_maps, plot_reconstructions

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if estimator.checkpoint_dir is None:
        estimator.set_params(checkpoint_dir=out / CHECKPOINT_DIR)
    estimator.fit(data.X_train, validation_data=data.X_test,
                  callbacks=[CSVLogger(out / HISTORY_FILE)], resume=resume)
    save_model(estimator, out, extra={"data": data.description, **(extra or {})})

    Xs = estimator.scale_input(data.X_test)
    Rs = estimator.reconstruct(data.X_test, scaled=True)
    rec = reconstruction_metrics(Xs, Rs)
    bounded = estimator.architecture_.output_activation == "sigmoid"
    epochs = len(estimator.history_["epoch"])
    metrics = {
        "test_bce": rec["bce"] if bounded else None,
        "test_mse": rec["mse"],
        "test_sse_per_image": rec["sse_per_image"],
        "test_psnr": rec["psnr"],
        "train_seconds": estimator.train_seconds_,
        "seconds_per_epoch": estimator.train_seconds_ / max(epochs, 1),
        "epochs": epochs,
        "n_train": len(data.X_train),
        "n_test": len(data.X_test),
        "device": estimator.device_,
    }
    atomic_write(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")

    codes_test = estimator.transform(data.X_test)
    _save_npy(out / "codes" / "train.npy", estimator.transform(data.X_train))
    _save_npy(out / "codes" / "test.npy", codes_test)
    for split, y in (("train", data.y_train), ("test", data.y_test)):
        if y is not None:
            _save_npy(out / "codes" / f"{split}_labels.npy", np.asarray(y))

    figures = out / "figures"
    plot_history(estimator.history_, figures / "loss.png",
                 reference=REFERENCE_TEST_BCE if data.description.get("dataset") == "mnist"
                 and estimator.recipe_.loss == "bce" else None,
                 reference_label="notebook's final BCE")
    n_show = min(10, len(Xs))
    plot_reconstructions(
        Xs[:n_show], Rs[:n_show], figures / "reconstructions.png",
        labels=None if data.y_test is None else data.y_test[:n_show])
    if maps:
        panels = {}
        for method in maps:
            start = time.perf_counter()
            name = "PCA" if method == "pca" else "t-SNE"
            panels[f"{name} of the codes"] = map_2d(codes_test, method)
            log(f"{name} map of {len(codes_test)} test codes: "
                f"{time.perf_counter() - start:.1f} s")
        plot_maps(panels, data.y_test, figures / "latent_maps.png",
                  axis_labels={"PCA of the codes": ("PC 1", "PC 2")})
    return metrics


def describe_outputs(out_dir) -> list[str]:
    """Lines naming what a run folder holds, for the CLI to print."""
    out = Path(out_dir)
    lines = [f"model:    {out / MODEL_FILE}  ({out / CONFIG_FILE})",
             f"metrics:  {out / METRICS_FILE}",
             f"features: {out / 'codes' / 'train.npy'}, {out / 'codes' / 'test.npy'}",
             f"figures:  {out / 'figures'}/ "
             f"({', '.join(p.name for p in sorted((out / 'figures').glob('*.png')))})"]
    return lines
