"""Training a run: fit, save, measure and draw into the run folder."""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._io import atomic_path, atomic_write
from ..callbacks import Callback, CSVLogger
from ..datasets import label_names
from ..datasets.source import Source
from ..datasets.writers import CSV_FLOAT
from ..evaluation import map_2d, near_zero_fraction, reconstruction_metrics
from ..inference import map_columns, write_outputs
from ..persistence import HISTORY_FILE
from ..plotting import (
    as_images,
    plot_code_values,
    plot_history,
    plot_image_grid,
    plot_image_rows,
    plot_maps,
    plot_reconstructions,
)
from ..training import CHECKPOINT_DIR, Checkpointer, TrainingInterrupted
from .data import RunData, own_rows
from .folder import MAP_TABLE, METRICS_FILE

if TYPE_CHECKING:
    from ..estimator import AutoEncoder

__all__ = ["train_run", "variant_metrics", "corrupted_copy", "REFERENCE_TEST_BCE",
           "RunIncomplete", "UNDER_TRAINED_STEPS"]

#: Fewer optimiser steps than this and a run is reported as probably under-trained: 600
#: images trained 40 Adam steps stopped at BCE 0.41 with grey blobs for reconstructions.
#: Muon's share of its default length (``params.AUTO_STEPS``) is Adam's: 250 of 940 steps
#: as 1,000 of 3,750 (the demo's 944 Muon steps reach test BCE 0.085).
UNDER_TRAINED_STEPS = {"adam": 1000, "sgd": 1000, "muon": 250}


class RunIncomplete(RuntimeError):
    """Training finished (and was checkpointed) but writing the rest of the run failed: the
    message says why and how ``fit --resume`` writes the rest without training again."""

#: The reference Keras notebook's validation BCE on the 10,000 MNIST test images after its
#: 50 epochs of SGD (learning rate 1.5, batch 32).
REFERENCE_TEST_BCE = 0.0956


def _save_npy(path: Path, array: NDArray[Any]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def train_run(estimator: AutoEncoder, data: RunData, out_dir: str | Path, *,
              maps: Sequence[str] = ("pca", "tsne"), extra: dict[str, Any] | None = None,
              log: Callable[[str], object] = print, resume: bool = False,
              report: bool = True, loggers: Sequence[Callback] = ()) -> dict[str, Any]:
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
    report : bool, default True
        Also write ``report.html``, the run's HTML report (``autoencoders.report``).
    loggers : sequence of Callback
        Experiment logs (``autoencoders.loggers``), called during training and once the
        folder is written (``Callback.on_run_saved``), or with ``on_train_error`` when
        writing it fails.

    Returns
    -------
    dict
        The metrics written to ``metrics.json`` (valid JSON: a non-finite number is null):
        ``loss`` (the training loss's name), ``test_bce`` (None for unbounded data),
        ``test_mse``, ``test_sse_per_image``, ``test_psnr`` (reconstruction metrics per
        pixel, per sample and in dB; see ``evaluation.reconstruction_metrics``),
        ``train_seconds`` (training epochs only), ``seconds_per_epoch``, ``epochs``,
        ``steps`` (optimiser steps), ``under_trained`` (fewer than the
        optimiser's ``UNDER_TRAINED_STEPS`` steps, or the loss still fell 5 % in the last epoch,
        and early stopping did not end it), ``stopped_early`` (it did),
        ``n_train``, ``n_test``, ``device``, ``input`` (how input became the model's),
        ``test_code_near_zero`` (fraction of the test codes' entries near 0, see
        ``evaluation.near_zero_fraction``), ``dead_code_units`` (:func:`dead_units`), and
        for images in [0, 1] those of :func:`variant_metrics`.

    Raises
    ------
    ValueError, OSError
        From validation of the data, or training (``TrainingDivergedError``, a
        RuntimeError).
    RunIncomplete
        When training finished but its map or writing the folder failed (a full disk at
        the figures): its checkpoint is kept and the message says how to finish.
    TrainingInterrupted
        SIGINT or SIGTERM while training (see ``AutoEncoder.fit``), or SIGINT (Ctrl-C)
        after it, while the map trained or the folder was written: the newest checkpoint
        is kept for ``fit --resume``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if estimator.checkpoint_dir is None:
        estimator.set_params(checkpoint_dir=out / CHECKPOINT_DIR)
    trained = _TrainingEnd()
    try:
        estimator.fit(data.train_rows(),
                      validation_data=data.validation_rows(estimator.early_stopping),
                      callbacks=[CSVLogger(out / HISTORY_FILE), trained, *loggers],
                      resume=resume)
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt as exc:  # Ctrl-C while the map trained: the model is kept
        if not trained.ended:
            raise
        raise _interrupted(estimator) from exc
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        if not trained.ended:
            raise
        raise _incomplete(exc, out, loggers) from exc
    if hasattr(estimator, "neighbour_map_"):  # the map can take longer than the model
        seconds = estimator.neighbour_map_.fit_info_.get("seconds", {}).get("total", 0.0)
        log(f"2-D map (neighbour embedding) trained in {seconds:.1f} s")
    try:
        with own_rows(estimator, data.feature_names, data.name):
            metrics = _write_run(estimator, data, out, maps, extra, log)
        if report:
            from .report import write_run_report

            start = time.perf_counter()
            write_run_report(out, estimator=estimator, data=data)
            log(f"report: {time.perf_counter() - start:.1f} s")
        for logger in loggers:
            logger.on_run_saved(out)
        return metrics
    except KeyboardInterrupt as exc:  # Ctrl-C while the folder was written: the same
        raise _interrupted(estimator) from exc
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        raise _incomplete(exc, out, loggers) from exc


def _interrupted(estimator: AutoEncoder) -> TrainingInterrupted:
    """SIGINT after training: its newest checkpoint, from which ``fit --resume`` writes the
    rest without training again."""
    newest = Checkpointer(estimator.checkpoint_dir).paths()[-1]  # type: ignore[arg-type]
    return TrainingInterrupted(signal.SIGINT, newest)


class _TrainingEnd(Callback):
    """Notes that the autoencoder's training ended, its last checkpoint written: what fails
    after it (the map, the folder) must not cost the training."""

    ended = False

    def on_train_end(self, history: list[dict[str, Any]]) -> None:
        self.ended = True


def _incomplete(exc: BaseException, out: Path, loggers: Sequence[Callback]) -> RunIncomplete:
    for logger in loggers:  # an MLflow run waiting for the folder ends FAILED
        logger.on_train_error(exc)
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return RunIncomplete(
        f"{first}; training finished and its last checkpoint is kept: once the cause is "
        f"fixed, 'autoencoders fit --resume {out}' writes the rest without training again")


def _write_run(estimator: AutoEncoder, data: RunData, out: Path, maps: Sequence[str],
               extra: dict[str, Any] | None, log: Callable[[str], object]) -> dict[str, Any]:
    """Everything of a run but the training: model, metrics, codes, figures."""
    estimator.save(out, extra={"data": data.description, **(extra or {})})

    Xs = estimator.scale_input(data.X_test)
    Rs = estimator.reconstruct(data.X_test, scaled=True)
    rec = reconstruction_metrics(Xs, Rs)
    bounded = estimator.architecture_.output_activation == "sigmoid"
    epochs = len(estimator.history_["epoch"])
    steps = epochs * math.ceil(len(data.X_train) / estimator.recipe_.batch_size)
    losses = estimator.history_["train_loss"]
    last_drop = (losses[-2] - losses[-1]) / losses[-2] if len(losses) > 1 and losses[-2] else 0
    stopped_early = estimator.recipe_.early_stopping and epochs < estimator.recipe_.epochs
    metrics = {
        "loss": estimator.recipe_.loss,
        "test_bce": rec["bce"] if bounded else None,
        "test_mse": rec["mse"],
        "test_sse_per_image": rec["sse_per_image"],
        "test_psnr": rec["psnr"],
        "train_seconds": estimator.train_seconds_,
        "seconds_per_epoch": estimator.train_seconds_ / max(epochs, 1),
        "epochs": epochs,
        "steps": steps,
        "last_epoch_loss_drop": last_drop,
        # Few steps, or a loss still falling by 5 % an epoch at the end (under a cosine
        # schedule, whose last epochs barely move, that is a model far from done); not
        # when early stopping ended it: the held-out loss had stopped falling.
        "under_trained": bool(not stopped_early and (
            steps < UNDER_TRAINED_STEPS[estimator.recipe_.optimizer] or last_drop > 0.05)),
        "stopped_early": bool(stopped_early),
        "n_train": len(data.X_train),
        "n_test": len(data.X_test),
        "device": estimator.device_,
        "precision": estimator.recipe_.precision,  # what precision="auto" chose, too
        "input": estimator.input_spec_.describe(np.asarray(data.X_test[:1]).dtype),
    }
    codes_test = estimator.transform(data.X_test)
    metrics["test_code_near_zero"] = near_zero_fraction(codes_test)
    metrics["dead_code_units"] = dead_units(codes_test)
    figures = out / "figures"
    if bounded and as_images(Xs[:1]) is not None:
        metrics.update(variant_metrics(estimator, data.X_test, figures))
    atomic_write(out / METRICS_FILE, json.dumps(_finite(metrics), indent=2,
                                                 allow_nan=False) + "\n")

    # Chunk by chunk: the training data may be streamed and larger than memory.
    write_outputs(estimator, data.X_train, out / "codes" / "train.npy")
    _save_npy(out / "codes" / "test.npy", codes_test)
    for split, y in (("train", data.y_train), ("test", data.y_test)):
        if y is not None:
            _save_npy(out / "codes" / f"{split}_labels.npy", np.asarray(y))

    plot_history(estimator.history_, figures / "loss.png",
                 reference=REFERENCE_TEST_BCE if data.description.get("dataset") == "mnist"
                 and estimator.recipe_.loss == "bce" else None,
                 reference_label="notebook's final BCE",
                 per="pixel" if as_images(Xs[:1]) is not None else "feature")
    n_show = min(10, len(Xs))
    plot_reconstructions(
        Xs[:n_show], Rs[:n_show], figures / "reconstructions.png",
        labels=None if data.y_test is None else label_names(data.y_test[:n_show],
                                                             data.class_names))
    panels = {}
    if hasattr(estimator, "neighbour_map_"):
        panels["the model's map (neighbour embedding)"] = _write_map(estimator, data, out)
    if maps and codes_test.shape[1] == 1 and not panels:
        plot_code_values(codes_test, data.y_test, figures / "latent_maps.png",
                         names=data.class_names)
    elif maps or panels:
        for method in maps if codes_test.shape[1] > 1 else ():
            start = time.perf_counter()
            name = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[method]
            panels[f"{name} of the codes"] = map_2d(codes_test, method)
            log(f"{name} map of {len(codes_test)} test codes: "
                f"{time.perf_counter() - start:.1f} s")
        plot_maps(panels, data.y_test, figures / "latent_maps.png",
                  title="2-D maps of the test set",
                  axis_labels={"PCA of the codes": ("PC 1", "PC 2")},
                  names=data.class_names)
    return metrics


def _write_map(estimator: AutoEncoder, data: RunData, out: Path) -> np.ndarray:
    """The map's coordinates of every row: ``codes/train_map.npy`` and
    ``codes/test_map.npy`` (float32 (n, 2)), and, for data in memory, ``map.csv``: every
    row the user gave, in the file's order, with its id, split and label. Returns the test
    coordinates."""
    write_outputs(estimator, data.train_rows(), out / "codes" / "train_map.npy",
                  output="map")
    test = estimator.map(data.test_rows())
    _save_npy(out / "codes" / "test_map.npy", test)
    if not isinstance(data.X_train, Source):
        train = np.load(out / "codes" / "train_map.npy")
        atomic_write(out / MAP_TABLE, map_table(data, train, test))
    return test


def map_table(data: RunData, train: np.ndarray, test: np.ndarray) -> str:
    """CSV text of the map coordinates of every row, in the input's order: columns ``row``
    (its number in the input), ``id`` (when it has ids), ``split``, ``x``, ``y`` (more
    coordinates for maps of more dimensions) and ``label`` (when there are labels)."""
    parts: list[tuple[Any, ...]] = [(data.train_numbers, train, data.y_train, "train"),
                                    (data.test_numbers, test, data.y_test, "test")]
    if isinstance(data.train_numbers, int) and isinstance(data.test_numbers, int):
        # A data set's own splits: the test rows follow the training rows.
        parts[1] = (len(train), test, data.y_test, "test")
    rows = []
    for numbers, xy, labels, split in parts:
        for i in range(len(xy)):
            number = numbers + i if isinstance(numbers, int) else int(numbers[i])
            label = "" if labels is None else _cell(labels[i])
            rows.append((number, split, xy[i], label))
    rows.sort(key=lambda r: r[0])
    ids = data.ids
    names = map_columns(train.shape[1])
    header = ["row"] + (["id"] if ids is not None else []) + ["split"] + names + (
        ["label"] if data.y_test is not None else [])
    lines = [",".join(header)]
    for number, split, xy, label in rows:
        cells = [str(number)] + ([_cell(ids[number])] if ids is not None else []) + [split]
        # As embed --map writes them (map.csv had 6 digits: the two differed, a new user)
        cells += [CSV_FLOAT % v for v in xy] + ([label] if data.y_test is not None else [])
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    """A CSV cell: quoted when it holds a comma, a quote or a line break."""
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def dead_units(codes: np.ndarray) -> int:
    """Code units that do not vary over ``codes`` (n, latent_dim): a dead ReLU is 0 for
    every sample; any constant unit carries no information."""
    spread = codes.max(axis=0) - codes.min(axis=0)
    return int((spread <= 1e-6 * max(float(spread.max(initial=0.0)), 1e-12)).sum())


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None: metrics.json stays JSON
    (``NaN`` and ``Infinity`` are not)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def corrupted_copy(estimator: AutoEncoder, X: Any, corruption: str | tuple[str, float],
                   seed: int = 0) -> np.ndarray:
    """``X`` corrupted as a denoising autoencoder's training batches are, in ``X``'s units
    (so that ``estimator.reconstruct`` takes it).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted; its scaling maps ``X`` to the model's units, where the noise is added
        (clipped to [0, 1] for a sigmoid output), and back.
    X : array, shape (n, *feature_shape)
    corruption : str or (str, float)
        As :func:`autoencoders.corruption.corrupt`, e.g. "gaussian:0.3".
    seed : int, default 0
        Seeds the noise.

    Returns
    -------
    ndarray of float32, shape (n, *feature_shape)

    Raises
    ------
    ValueError
        For an invalid ``corruption`` or input the estimator refuses.
    """
    import torch

    from ..corruption import corrupt

    Xs = torch.from_numpy(np.ascontiguousarray(estimator.scale_input(X), dtype=np.float32))
    bounded = estimator.architecture_.output_activation == "sigmoid"
    noisy = corrupt(Xs, corruption, clip=bounded,
                    generator=torch.Generator().manual_seed(seed)).numpy()
    return estimator.input_spec_.unscale(noisy)


def variant_metrics(estimator: AutoEncoder, X_test: NDArray[Any],
                    figures: Path) -> dict[str, float]:
    """Metrics and pictures of each kind of model, on image data in [0, 1].

    Every model: ``figures/interpolation.png`` (decoded points between the first two test
    images' codes). Denoising (a corruption in the recipe): the test images corrupted the
    same way (seed 0), ``test_psnr_noisy`` and ``test_psnr_denoised`` (dB against the
    clean images) and ``figures/denoising.png`` (noisy / denoised / clean rows).
    Variational: ``test_elbo`` (mean ELBO per image in nats, one posterior sample each)
    and ``figures/samples.png`` (64 draws from the prior, seed 0).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted, with a sigmoid output (data in [0, 1]).
    X_test : array, shape (m, *feature_shape)
        Image test data as the estimator takes it.
    figures : Path
        The run's figures folder.

    Returns
    -------
    dict of str to float
        The metrics named above that apply.
    """
    out: dict[str, float] = {}
    n = min(10, len(X_test))
    if len(X_test) >= 2:
        row = estimator.interpolate(X_test[0], X_test[1], 10, scaled=True)  # picture units
        plot_image_rows({"interpolation": row},
                        figures / "interpolation.png",
                        title="Decoded points between two test images' codes")
    corruption = estimator.recipe_.corruption
    if corruption != "none":
        clean = estimator.scale_input(X_test)
        noisy = corrupted_copy(estimator, X_test, corruption)
        denoised = estimator.reconstruct(noisy, scaled=True)
        noisy_s = estimator.scale_input(noisy)
        out["test_psnr_noisy"] = reconstruction_metrics(clean, noisy_s)["psnr"]
        out["test_psnr_denoised"] = reconstruction_metrics(clean, denoised)["psnr"]
        plot_image_rows({"noisy": noisy_s[:n], "denoised": denoised[:n], "clean": clean[:n]},
                        figures / "denoising.png",
                        title=f"Test images with {corruption} noise: "
                              f"{out['test_psnr_noisy']:.1f} dB noisy, "
                              f"{out['test_psnr_denoised']:.1f} dB denoised")
    if estimator.architecture_.variational:
        if estimator.recipe_.loss == "bce":
            out["test_elbo"] = float(np.mean(estimator.elbo(X_test)))
        plot_image_grid(estimator.sample(64, random_state=0, scaled=True),
                        figures / "samples.png",
                        title="Samples from the prior N(0, I), decoded")
    return out
