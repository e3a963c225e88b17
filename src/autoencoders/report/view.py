"""What a report shows of one run, gathered from its folder, its model and its test data
(``RunView``): plain values and arrays, so that rendering needs nothing else."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from ..models.summary import layer_table
from ..palette import class_colours
from ..persistence import CONFIG_FILE, HISTORY_FILE
from ..plotting import as_images
from ..runtime import environment

__all__ = ["RunView", "run_view", "MAX_POINTS"]

#: Points on a report's map at most: 10,000 test images with their thumbnails keep the page
#: under 10 MB and fluid; more are sampled (the page says so).
MAX_POINTS = 10_000
#: Columns shown on hover for data that is not images.
SHOWN_FEATURES = 6


@dataclass
class RunView:
    """One run as the report shows it.

    Attributes
    ----------
    name : str
        The run folder's name.
    facts : dict
        Data set, sizes, seed, recipe, architecture, parameters, package versions.
    layers : list of dict
        The model's layer table (``models.summary.layer_table``).
    history : dict of str to list
        ``epoch``, ``train_loss``, ``val_loss``, ``seconds`` per epoch.
    metrics, evaluation, cluster : dict
        ``metrics.json``, ``evaluation.json`` and ``cluster.json`` (empty when absent).
    coords : ndarray of float32, shape (m, 2)
        The test points on the map.
    coords_kind : str
        What ``coords`` are: the model's map, or the PCA of the code.
    labels : list of str or None
        Each test point's label.
    classes : list of str or None
        The labels' classes in the order of the legend, the same as the PNG figures'
        (``palette.class_colours``: sorted labels, a data set's named classes by index).
    class_colours : list of str or None
        Each class's colour (``#rrggbb``), the same as in the PNG figures.
    clusters : ndarray of int, shape (m,)
        k-means clusters of the test codes (k = the number of labels, else 10).
    scores : ndarray of float32, shape (m,)
        Reconstruction loss per test point (``score_samples``: higher is more unusual).
    ids : list of str or None
        The test points' ids (or numbers in the test split).
    images, reconstructions : ndarray (m, h, w) in [0, 1], or None
        Thumbnails, when the data are images.
    features : dict or None
        For other data: ``names`` (the first columns) and ``values`` (m, SHOWN_FEATURES).
    note : str or None
        Said above the map (points sampled).
    pictures : dict of str to (str, str)
        Title → (caption, data URI): reconstructions, worst reconstructed, interpolation,
        samples, denoising pairs.
    """

    name: str
    facts: dict[str, Any]
    layers: list[dict[str, Any]]
    history: dict[str, list[float | None]]
    metrics: dict[str, Any]
    evaluation: dict[str, Any]
    cluster: dict[str, Any]
    coords: np.ndarray
    coords_kind: str
    labels: list[str] | None
    clusters: np.ndarray
    scores: np.ndarray
    ids: list[str] | None
    images: np.ndarray | None
    reconstructions: np.ndarray | None
    features: dict[str, Any] | None
    note: str | None = None
    classes: list[str] | None = None
    class_colours: list[str] | None = None
    pictures: dict[str, tuple[str, str]] = field(default_factory=dict)


def _json(path: Path) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _history(path: Path) -> dict[str, list[float | None]]:
    history: dict[str, list[float | None]] = {"epoch": [], "train_loss": [], "val_loss": [],
                                              "seconds": []}
    try:
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for key in history:
                    history[key].append(float(row[key]) if row.get(key) else None)
    except (OSError, ValueError, KeyError):
        pass
    return history


def run_view(folder: str | Path, estimator: Any, X_test: NDArray[Any],
             y_test: NDArray[Any] | None = None, ids: NDArray[Any] | None = None, *,
             max_points: int = MAX_POINTS, seed: int = 0,
             names: tuple[str, ...] | None = None) -> RunView:
    """Gather what the report shows of the run in ``folder``.

    Parameters
    ----------
    folder : str or Path
        The run folder (config.json, history.csv, metrics.json, evaluation.json,
        cluster.json are read when there).
    estimator : AutoEncoder
        The run's fitted model.
    X_test : array, shape (m, *feature_shape)
        The run's test data as the estimator takes it.
    y_test : array of shape (m,), optional
        Labels (colours, legend, hover).
    ids : array of shape (m,), optional
        The test rows' ids.
    max_points : int, default MAX_POINTS
        Points on the map at most; more are sampled (seeded by ``seed``).
    names : tuple of str, optional
        The name of each integer label (``datasets.class_names``), shown instead of it.

    Returns
    -------
    RunView
    """
    from sklearn.cluster import KMeans

    folder = Path(folder)
    config = _json(folder / CONFIG_FILE)
    m = len(X_test)
    note, keep = None, np.arange(m)
    if m > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(m, max_points, replace=False))
        note = (f"{max_points:,} of the {m:,} test points, drawn at random (seed {seed}), "
                "keep the page fluid and under 10 MB")
        X_test = X_test[keep]
        ids = None if ids is None else np.asarray(ids)[keep]
    # The classes of all the test labels, as the PNG figures have them: those of the points
    # shown could miss a rare class and shift every later colour (a hostile trial).
    key = None if y_test is None else class_colours(y_test, names)
    scaled = estimator.scale_input(X_test)
    recon = estimator.reconstruct(X_test, scaled=True)
    codes = estimator.transform(X_test)
    if hasattr(estimator, "neighbour_map_"):
        coords, kind = estimator.map(X_test), "the model's 2-D map (parametric neighbour embedding)"
    else:
        from sklearn.decomposition import PCA

        coords = (PCA(2).fit_transform(codes) if codes.shape[1] > 1 and len(codes) > 2
                  else np.column_stack([codes[:, 0], np.zeros(len(codes))]))
        kind = "the PCA of the latent code (the run has no 2-D map: fit --map trains one)"
    labels = None if key is None else [key.names[i] for i in key.index[keep]]
    # The picture's own k-means of the codes (the page names it so), not `cluster`'s result,
    # whose labels the run folder does not keep.
    k = min(len(set(labels)) if labels else 10, len(codes))
    clusters = KMeans(k, n_init=4, random_state=seed).fit_predict(codes) if k > 1 else \
        np.zeros(len(codes), int)
    images = as_images(scaled)
    view = RunView(
        name=folder.name, facts=_facts(config, estimator, getattr(X_test, "dtype", None)),
        layers=layer_table(
            estimator.model_, estimator.feature_shape_), history=_history(folder / HISTORY_FILE),
        metrics=_json(folder / "metrics.json"), evaluation=_json(folder / "evaluation.json"),
        cluster=_json(folder / "cluster.json"), coords=np.asarray(coords, np.float32),
        coords_kind=kind, labels=labels, clusters=np.asarray(clusters),
        scores=estimator.score_samples(X_test).astype(np.float32),
        ids=None if ids is None else [str(v) for v in ids], images=images,
        reconstructions=None if images is None else as_images(recon),
        features=None if images is not None else _features(estimator, scaled), note=note,
        classes=None if key is None else key.names,
        class_colours=None if key is None else key.colours)
    if images is not None:
        # as_images of the reconstructions, of the images' shape, is never None.
        view.pictures = _pictures(estimator, X_test, images,
                                  cast(np.ndarray, as_images(recon)), view.scores)
    return view


def _facts(config: dict[str, Any], estimator: Any, dtype: Any) -> dict[str, Any]:
    extra = config.get("extra", {})
    return {"data": extra.get("data", {}), "seed": extra.get("seed"),
            "preset": extra.get("preset"), "architecture": estimator.architecture_.to_dict(),
            "recipe": estimator.recipe_.to_dict(),
            "parameters": sum(p.numel() for p in estimator.model_.parameters()),
            "input": estimator.input_spec_.describe(dtype),  # uint8 pixels: divided by 255
            "environment": config.get("environment") or environment()}


def _features(estimator: Any, scaled: np.ndarray) -> dict[str, Any]:
    names = getattr(estimator, "feature_names_in_", None)
    flat = scaled.reshape(len(scaled), -1)
    count = min(SHOWN_FEATURES, flat.shape[1])
    names = [str(n) for n in names[:count]] if names is not None else [
        f"feature {i}" for i in range(count)]
    return {"names": names, "values": np.round(flat[:, :count], 4).tolist()}


def _pictures(estimator: Any, X_test: NDArray[Any], images: np.ndarray, recon: np.ndarray,
              scores: np.ndarray) -> dict[str, tuple[str, str]]:
    from .sprites import image_grid

    # Every picture below has the images' shape: as_images never gives None for them.
    out: dict[str, tuple[str, str]] = {}
    n = min(12, len(images))
    out["Reconstructions"] = ("Test inputs (top) above their reconstructions (bottom).",
                              image_grid([images[:n], recon[:n]]))
    worst = np.argsort(-scores)[:n]
    out["The most unusual test points"] = (
        "The worst-reconstructed test inputs (highest score_samples), above their "
        "reconstructions: what the model finds unusual.",
        image_grid([images[worst], recon[worst]]))
    if len(X_test) >= 2:
        row = as_images(estimator.interpolate(X_test[0], X_test[1], 10, scaled=True))
        assert row is not None
        out["Interpolation"] = ("Decoded points between the codes of the first two test "
                                "inputs.", image_grid([row]))
    if estimator.architecture_.variational:
        samples = as_images(estimator.sample(32, random_state=0, scaled=True))
        assert samples is not None
        out["Samples"] = ("32 codes drawn from the prior N(0, I), decoded.",
                          image_grid([samples[:16], samples[16:]]))
    if estimator.recipe_.corruption != "none":
        import torch

        from ..corruption import corrupt

        clean = estimator.scale_input(X_test[:n])
        noisy = corrupt(torch.from_numpy(np.ascontiguousarray(clean, dtype=np.float32)),
                        estimator.recipe_.corruption,
                        generator=torch.Generator().manual_seed(0)).numpy()
        denoised = estimator.reconstruct(estimator.input_spec_.unscale(noisy), scaled=True)
        out["Denoising"] = (f"Test inputs with {estimator.recipe_.corruption} noise (top), "
                            "denoised (middle), clean (bottom).",
                            image_grid(cast(list[np.ndarray], [
                                as_images(noisy), as_images(denoised), as_images(clean)])))
    return out
