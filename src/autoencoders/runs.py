"""The run folder: train, save, measure, compare, cluster and draw, for the CLI and scripts.

A run folder holds::

    model.safetensors   weights (and min-max statistics), safetensors
    config.json         architecture, recipe, scaling, data set, seed, versions
    history.csv         per-epoch losses and seconds, rewritten after every epoch
    metrics.json        held-out reconstruction metrics and timings
    checkpoints/        step-*.safetensors: the newest training checkpoints (for resuming)
    evaluation.json     written by evaluate_run: every method's metrics (and evaluation.md,
                        figures/evaluation_maps.png)
    cluster.json        written by cluster_run: the clustering's scores
    codes/              train.npy, test.npy (float32 latent codes) and *_labels.npy
    figures/            loss.png, reconstructions.png, latent_maps.png, interpolation.png;
                        denoising.png (denoising models), samples.png (variational)
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
from .datasets.streaming import Source
from .inference import write_outputs
from .persistence import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, save_model
from .validation import check_labels

__all__ = ["RunData", "train_run", "variant_metrics", "corrupted_copy", "REFERENCE_TEST_BCE",
           "METRICS_FILE"]

METRICS_FILE = "metrics.json"

#: The reference Keras notebook's validation BCE on the 10,000 MNIST test images after its
#: 50 epochs of SGD (learning rate 1.5, batch 32).
REFERENCE_TEST_BCE = 0.0956


@dataclass
class RunData:
    """The arrays and the description of a run's data.

    Attributes
    ----------
    X_train : ndarray, shape (n, *feature_shape), or a streaming Source
    X_test : ndarray, shape (m, *feature_shape)
        Held out; metrics, figures and test codes use it.
    y_train, y_test : ndarray of shape (n,) / (m,), or None
        Labels, used only to colour the maps and saved beside the codes; one per sample,
        or ValueError.
    description : dict
        JSON facts for ``config.json`` (data set name or input path, sizes).
    """

    X_train: np.ndarray | Source
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
        ``n_train``, ``n_test``, ``device``, ``test_code_near_zero`` (fraction of the test
        codes' entries near 0, see ``evaluation.near_zero_fraction``), and for images in
        [0, 1] those of :func:`variant_metrics`.

    Raises
    ------
    ValueError, OSError
        From validation of the data or from writing the folder.
    """
    from .evaluation import map_2d, near_zero_fraction, reconstruction_metrics
    from .plotting import _as_images, plot_history, plot_maps, plot_reconstructions

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
    codes_test = estimator.transform(data.X_test)
    metrics["test_code_near_zero"] = near_zero_fraction(codes_test)
    figures = out / "figures"
    if bounded and _as_images(Xs[:1]) is not None:
        metrics.update(variant_metrics(estimator, data.X_test, figures))
    atomic_write(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")

    # Chunk by chunk: the training data may be streamed and larger than memory.
    write_outputs(estimator, data.X_train, out / "codes" / "train.npy")
    _save_npy(out / "codes" / "test.npy", codes_test)
    for split, y in (("train", data.y_train), ("test", data.y_test)):
        if y is not None:
            _save_npy(out / "codes" / f"{split}_labels.npy", np.asarray(y))

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
            name = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[method]
            panels[f"{name} of the codes"] = map_2d(codes_test, method)
            log(f"{name} map of {len(codes_test)} test codes: "
                f"{time.perf_counter() - start:.1f} s")
        plot_maps(panels, data.y_test, figures / "latent_maps.png",
                  axis_labels={"PCA of the codes": ("PC 1", "PC 2")})
    return metrics


def corrupted_copy(estimator, X, corruption, seed: int = 0) -> np.ndarray:
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

    from . import scaling
    from .corruption import corrupt

    Xs = torch.from_numpy(np.ascontiguousarray(estimator.scale_input(X), dtype=np.float32))
    bounded = estimator.architecture_.output_activation == "sigmoid"
    noisy = corrupt(Xs, corruption, clip=bounded,
                    generator=torch.Generator().manual_seed(seed)).numpy()
    return scaling.unscale(noisy, estimator.input_scaling, estimator.scaling_stats_)


def variant_metrics(estimator, X_test, figures) -> dict:
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
    from .evaluation import reconstruction_metrics
    from .plotting import plot_image_grid, plot_image_rows

    out: dict = {}
    n = min(10, len(X_test))
    if len(X_test) >= 2:
        plot_image_rows({"interpolation": estimator.interpolate(X_test[0], X_test[1], 10)},
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
        plot_image_grid(estimator.sample(64, random_state=0), figures / "samples.png",
                        title="Samples from the prior N(0, I), decoded")
    return out


def describe_outputs(out_dir) -> list[str]:
    """Lines naming what a run folder holds, for the CLI to print."""
    out = Path(out_dir)
    lines = [f"model:    {out / MODEL_FILE}  ({out / CONFIG_FILE})",
             f"metrics:  {out / METRICS_FILE}",
             f"features: {out / 'codes' / 'train.npy'}, {out / 'codes' / 'test.npy'}",
             f"figures:  {out / 'figures'}/ "
             f"({', '.join(p.name for p in sorted((out / 'figures').glob('*.png')))})"]
    return lines


# ------------------------------------------------------------------ evaluate and cluster
EVALUATION_FILES = ("evaluation.json", "evaluation.md", "figures/evaluation_maps.png")
CLUSTER_FILE = "cluster.json"

_COLUMNS = (("trustworthiness", "trust."), ("continuity", "contin."), ("knn_recall", "kNN recall"),
            ("knn_accuracy", "kNN acc."), ("linear_probe_accuracy", "linear probe"),
            ("mse", "MSE/pixel"), ("sse_per_image", "SSE/image"), ("fit_seconds", "fit s"),
            ("transform_seconds", "transform s"))


def evaluation_table(comparison) -> str:
    """The comparison as a Markdown table, one row per method ("—" where n/a)."""
    from .evaluation.compare import METHOD_LABELS

    cols = [(k, h) for k, h in _COLUMNS
            if any(k in row for row in comparison.methods.values())]
    lines = ["| method | " + " | ".join(h for _, h in cols) + " |",
             "| --- |" + " --- |" * len(cols)]
    for name, row in comparison.methods.items():
        cells = [("—" if k not in row else f"{row[k]:.2f}" if k.endswith("seconds")
                  else f"{row[k]:.4f}") for k, _ in cols]
        lines.append(f"| {name}: {METHOD_LABELS[name]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate_run(estimator, data: RunData, out_dir, *, baselines=("pca", "tsne", "umap"),
                 subsample: int | None = 10000, k: int = 10, random_state: int = 0,
                 log=print):
    """Compare the run's code with the baselines and write the results into ``out_dir``.

    Writes ``evaluation.json`` (``{"methods": {NAME: {METRIC: value}}, "settings": ...}``),
    ``evaluation.md`` (the table) and ``figures/evaluation_maps.png`` (every 2-D map of the
    test points, coloured by label, with its trustworthiness and k-NN accuracy in the title).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted (loaded from the run).
    data : RunData
        Training and test splits; labels enable the accuracies.
    out_dir : str or Path
        The run folder.
    baselines, subsample, k, random_state, log
        See :func:`autoencoders.evaluation.compare.compare_representations`.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError, ImportError, OSError
        From the comparison or from writing the files.
    """
    from .evaluation.compare import METHOD_LABELS, compare_representations
    from .plotting import plot_maps

    out = Path(out_dir)
    comparison = compare_representations(
        estimator, data.X_train, data.X_test, data.y_train, data.y_test, baselines=baselines,
        subsample=subsample, k=k, random_state=random_state, log=log)
    settings = {**comparison.settings, "data": data.description}
    atomic_write(out / "evaluation.json", json.dumps(
        {"methods": comparison.methods, "settings": settings}, indent=2) + "\n")
    s = comparison.settings
    atomic_write(out / "evaluation.md", (
        f"# Evaluation of {out.name}\n\nFitted on {s['n_train']} training points, scored on "
        f"{s['n_test']} test points ({json.dumps(data.description)}). Trustworthiness and "
        f"continuity (k = {s['k']}) on {s['neighbourhood_points']} of them; k-NN recall with "
        f"k = {s['k']}; k-NN accuracy with k = 5; the linear probe is logistic regression on "
        "standardised features. The autoencoder's fit time is its training time.\n\n"
        + evaluation_table(comparison) + "\n"))
    panels = {}
    for name, xy in comparison.maps.items():
        row = comparison.methods[name]
        extra = f"\ntrust. {row['trustworthiness']:.3f}" + (
            f", kNN acc. {row['knn_accuracy']:.3f}" if "knn_accuracy" in row else "")
        panels[METHOD_LABELS[name].split(" (")[0] + extra] = xy
    if panels:
        plot_maps(panels, comparison.y_test, out / "figures" / "evaluation_maps.png",
                  title="2-D maps of the test points")
    return comparison


def cluster_run(estimator, X, y, out_dir, *, n_clusters: int, method: str = "umap-gmm",
                random_state: int = 0, labels_out=None, description: dict | None = None,
                ids=None, id_name: str = "id") -> dict:
    """Cluster the codes of ``X``; write ``cluster.json`` into ``out_dir`` (and the labels).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted.
    X : array, shape (n, *feature_shape)
    y : array of shape (n,), optional
        True labels: the scores ``accuracy`` (Hungarian matching), ``nmi`` and ``ari``.
    out_dir : str or Path
        The run folder.
    n_clusters, method, random_state
        See :func:`autoencoders.evaluation.clustering.cluster_codes`.
    labels_out : str or Path, optional
        Where to write the cluster labels, int64 (n,): ``.npy``, ``.csv`` or ``.parquet``.
    description : dict, optional
        The data, for the record.
    ids : array of shape (n,), optional
        Row ids, written beside the labels to a ``.csv`` or ``.parquet`` ``labels_out``, in
        a column named ``id_name``.

    Returns
    -------
    dict
        What ``cluster.json`` holds: ``method``, ``n_clusters``, ``n_points``, ``seconds``
        (encoding and clustering), ``random_state``, ``data``, and the scores with labels.

    Raises
    ------
    ValueError, ImportError, OSError
        From the clustering, the labels or writing the files.
    """
    from .datasets import write_array
    from .evaluation.clustering import cluster_codes
    from .evaluation.metrics import clustering_scores

    y = check_labels(y, len(X), "y")
    start = time.perf_counter()
    labels = cluster_codes(estimator.transform(X), n_clusters, method,
                           random_state=random_state)
    result = {"method": method, "n_clusters": n_clusters, "n_points": len(labels),
              "seconds": time.perf_counter() - start, "random_state": random_state,
              "data": description or {}}
    if y is not None:
        result.update(clustering_scores(y, labels))
    if labels_out is not None:
        write_array(labels_out, labels, columns=["cluster"], ids=ids, id_name=id_name)
    atomic_write(Path(out_dir) / CLUSTER_FILE, json.dumps(result, indent=2) + "\n")
    return result
