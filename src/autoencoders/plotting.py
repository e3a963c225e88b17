"""Static PNG figures with matplotlib: loss curves, reconstructions, 2-D maps of the codes.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot), so no GUI backend
or global state is touched, and saved atomically.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, overload

import numpy as np

from ._io import atomic_path
from .inputs import check_labels
from .palette import class_colours

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_history", "plot_reconstructions", "plot_maps", "plot_code_values",
           "plot_image_rows", "as_images", "plot_image_grid"]


@overload
def _save(fig: Figure, path: str | os.PathLike[str]) -> Path: ...


@overload
def _save(fig: Figure, path: None) -> Figure: ...


def _save(fig: Figure, path: str | os.PathLike[str] | None) -> Figure | Path:
    """Write ``fig`` to ``path`` atomically and return the path; without a path, return
    the figure (Jupyter shows it, tests measure it)."""
    if path is None:
        return fig
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path


def plot_history(history: Any, path: str | os.PathLike[str] | None = None,
                 reference: float | None = None,
                 reference_label: str = "reference", per: str = "feature") -> Figure | Path:
    """Training and validation loss per epoch.

    Parameters
    ----------
    history : dict or AutoEncoder
        ``AutoEncoder.history_`` (lists ``epoch``, ``train_loss``, ``val_loss``), or a
        fitted estimator, whose ``history_`` is drawn.
    path : str or Path, optional
        Where to write the PNG; without it the figure is returned (Jupyter shows it).
    reference : float, optional
        A horizontal line, e.g. the reference notebook's validation BCE 0.0956.
    reference_label : str
    per : {"feature", "pixel"}, default "feature"
        What the loss is averaged over, for the y-axis: "pixel" for images, "feature" for
        tables.

    Returns
    -------
    Path, or matplotlib.figure.Figure without ``path``
    """
    history = getattr(history, "history_", history)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(history["epoch"], history["train_loss"], marker="o", ms=3, label="training")
    val = [v for v in history["val_loss"] if v is not None]
    if val:
        epochs = [e for e, v in zip(history["epoch"], history["val_loss"], strict=True)
                  if v is not None]
        ax.plot(epochs, val, marker="o", ms=3, label="held out (validation)")
    if reference is not None:
        ax.axhline(reference, color="grey", ls="--", lw=1, label=f"{reference_label} {reference}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss per {per}")
    ax.set_title("Reconstruction loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def as_images(X: np.ndarray) -> np.ndarray | None:
    """(n, h, w) stays; (n, 1, h, w) becomes (n, h, w) and (n, 3, h, w) (n, h, w, 3); (n, f)
    with a square f (784) becomes (n, √f, √f); else None."""
    if X.ndim == 3:
        return X
    if X.ndim == 4 and X.shape[1] in (1, 3):
        return X[:, 0] if X.shape[1] == 1 else np.moveaxis(X, 1, -1).clip(0, 1)
    flat = X.reshape(len(X), -1)
    side = math.isqrt(flat.shape[1])
    if flat.shape[1] > 1 and side * side == flat.shape[1]:
        return flat.reshape(len(X), side, side)
    return None


def _image_panel(fig: Figure, where: tuple[int, int, int], img: np.ndarray) -> Axes:
    """A subplot at ``where`` (rows, columns, index) showing ``img`` (values in [0, 1],
    grey levels or RGB) without ticks; returns its axes."""
    ax = fig.add_subplot(*where)
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_reconstructions(X: np.ndarray, R: np.ndarray, path: str | os.PathLike[str] | None,
                         labels: Any = None) -> Figure | Path:
    """Originals beside their reconstructions.

    Images (n, h, w), or flat square images such as (n, 784), are drawn as a grid with each
    original above its reconstruction, titled by its label. Other data (tables) is drawn as
    one small line plot per sample, titled "label …": feature values of the original
    (solid) and the reconstruction (dashed).

    Parameters
    ----------
    X : ndarray, shape (n, h, w) or (n, features)
        Originals in the model's scaled units ([0, 1] for images); n is typically 10.
    R : ndarray, same shape
        Reconstructions.
    path : str or Path, or None
        Where to write the PNG; with None the figure is returned.
    labels : ndarray of shape (n,), optional
        Shown above each original.

    Returns
    -------
    Path, or matplotlib.figure.Figure when ``path`` is None

    Raises
    ------
    ValueError
        When ``labels`` does not have one entry per sample.
    """
    from matplotlib.figure import Figure

    A, B = as_images(np.asarray(X)), as_images(np.asarray(R))
    n = len(X)
    labels = check_labels(labels, n)
    cols = min(n, 10)
    rows = math.ceil(n / cols)
    if A is None:
        # Constrained layout keeps the figure's title above the panels' titles.
        fig = Figure(figsize=(cols * 1.6, rows * 1.6 + 0.4), layout="constrained")
        for i in range(n):
            ax = fig.add_subplot(rows, cols, i + 1)
            ax.plot(np.asarray(X[i]).ravel(), lw=1, label="original")
            ax.plot(np.asarray(R[i]).ravel(), lw=1, ls="--", label="reconstruction")
            ax.set_xticks([])
            ax.tick_params(labelsize=6)
            if labels is not None:
                ax.set_title(f"label {labels[i]}", fontsize=8)
        fig.suptitle("Test samples (solid) and their reconstructions (dashed), "
                     "feature by feature", fontsize=10)
        return _save(fig, path)
    B = cast("np.ndarray", B)  # R has X's shape, so images too
    fig = Figure(figsize=(cols * 1.0, rows * 2.1))
    for i in range(n):
        r, c = divmod(i, cols)
        for k, img in enumerate((A[i], B[i])):
            ax = _image_panel(fig, (2 * rows, cols, (2 * r + k) * cols + c + 1), img)
            if k == 0 and labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    fig.suptitle("Test images (top, titled by their label) and their reconstructions "
                 "(bottom)" if labels is not None else
                 "Test images (top) and their reconstructions (bottom)", fontsize=10,
                 y=1.0 + 0.12 / rows)
    return _save(fig, path)


def plot_maps(maps: dict[str, np.ndarray], labels: Any, path: str | os.PathLike[str] | None,
              title: str = "2-D maps of the test set's latent codes",
              axis_labels: dict[str, tuple[str, str]] | None = None,
              names: tuple[str, ...] | None = None) -> Figure | Path:
    """Scatter plots side by side (up to four per row), one per map, coloured by label.

    Classes are coloured and ordered as in the report (``palette.class_colours``); the
    legend sits outside the panels, right of them.

    Parameters
    ----------
    maps : dict of str to ndarray of shape (n, 2)
        Panel title → 2-D coordinates.
    labels : ndarray of shape (n,) or None
        Class of each point (a legend is drawn for up to 20 classes).
    path : str or Path, or None
        Where to write the PNG; with None the figure is returned.
    title : str
    axis_labels : dict of str to (str, str), optional
        Axis labels of the panels that have meaningful axes, e.g. ``("PC 1", "PC 2")``.
    names : tuple of str, optional
        The legend's name of each integer label (``datasets.class_names``).

    Returns
    -------
    Path, or matplotlib.figure.Figure when ``path`` is None

    Raises
    ------
    ValueError
        When ``labels`` does not have one entry per point.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    axis_labels = axis_labels or {}
    for xy in maps.values():
        labels = check_labels(labels, len(xy))
    cols = min(len(maps), 4)
    rows = math.ceil(len(maps) / cols)
    # Constrained layout: the title above the panels' titles, the legend beside the panels.
    fig = Figure(figsize=(5.2 * cols + 1.6, 5.0 * rows + 0.4), layout="constrained")
    classes = None if labels is None else class_colours(labels, names)
    size = float(np.clip(3000.0 / max(len(next(iter(maps.values()))), 1), 1.5, 12.0))
    for i, (name, xy) in enumerate(maps.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        if classes is None:
            ax.scatter(xy[:, 0], xy[:, 1], s=size, alpha=0.6, linewidths=0)
        else:
            ax.scatter(xy[:, 0], xy[:, 1], c=classes.point_colours(), s=size, alpha=0.7,
                       linewidths=0, rasterized=True)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        if name in axis_labels:
            ax.set_xlabel(axis_labels[name][0])
            ax.set_ylabel(axis_labels[name][1])
    if classes is not None and len(classes.values) <= 20:
        handles = [Line2D([], [], ls="", marker="o", ms=7, color=c, alpha=0.7)
                   for c in classes.colours]
        fig.legend(handles, classes.names, loc="outside right center", title="label")
    fig.suptitle(title)
    return _save(fig, path)


def plot_code_values(codes: np.ndarray, labels: Any, path: str | os.PathLike[str] | None,
                     title: str = "The test set's one-dimensional latent codes",
                     names: tuple[str, ...] | None = None) -> Figure | Path:
    """Histograms of one-dimensional codes, one per class: a 1-D code has no 2-D map.

    Classes are coloured and ordered as in the report and the maps
    (``palette.class_colours``).

    Parameters
    ----------
    codes : ndarray of shape (n, 1)
    labels : ndarray of shape (n,) or None
    path : str or Path, or None
        Where to write the PNG; with None the figure is returned.
    title : str
    names : tuple of str, optional
        The legend's name of each integer label (``datasets.class_names``).

    Returns
    -------
    Path, or matplotlib.figure.Figure when ``path`` is None

    Raises
    ------
    ValueError
        When ``labels`` does not have one entry per point.
    """
    from matplotlib.figure import Figure

    values = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)[:, 0]
    labels = check_labels(labels, len(values))
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    bins = np.histogram_bin_edges(values, bins=min(60, max(10, len(values) // 20)))
    if labels is None:
        ax.hist(values, bins=bins)  # type: ignore[arg-type]  # stubs: no arrays
    else:
        classes = class_colours(labels, names)
        for k, (name, colour) in enumerate(zip(classes.names, classes.colours, strict=True)):
            ax.hist(values[classes.index == k], bins=bins,  # type: ignore[arg-type]
                    histtype="step", color=colour, label=name)
        if len(classes.values) <= 20:
            ax.legend(title="label", fontsize=7)
    ax.set_xlabel("code value")
    ax.set_ylabel("test samples")
    ax.set_title(title)
    return _save(fig, path)


def _require_images(X: np.ndarray, what: str) -> np.ndarray:
    images = as_images(np.asarray(X))
    if images is None:
        raise ValueError(f"{what}: samples of shape {np.shape(X)[1:]} are not images; pictures "
                         "need (n, H, W), (n, 1 or 3, H, W) or square (n, H·H) data")
    return images


def plot_image_rows(rows: dict[str, np.ndarray], path: str | os.PathLike[str],
                    title: str = "") -> Path:
    """Rows of images with a label at the left of each, e.g. noisy / denoised / clean, or
    one row of a latent interpolation.

    Parameters
    ----------
    rows : dict of str to ndarray, each shape (n, H, W), (n, C, H, W) or (n, H·H)
        Row label → images with values in [0, 1]; every row has the same n.
    path : str or Path
    title : str

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        When the rows are not images or differ in length.
    """
    from matplotlib.figure import Figure

    images = {k: _require_images(v, k) for k, v in rows.items()}
    sizes = {len(v) for v in images.values()}
    if len(sizes) != 1:
        raise ValueError(f"every row needs the same number of images, got {sorted(sizes)}")
    n = sizes.pop()
    fig = Figure(figsize=(n * 0.9 + 1.0, len(images) * 1.0 + 0.3))
    for r, (label, imgs) in enumerate(images.items()):
        for c in range(n):
            ax = _image_panel(fig, (len(images), n, r * n + c + 1), imgs[c])
            if c == 0:  # horizontal, so that long labels of adjacent rows do not collide
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_image_grid(images: np.ndarray, path: str | os.PathLike[str], title: str = "",
                    columns: int = 8) -> Path:
    """Images in a grid of ``columns`` columns (e.g. samples of a variational autoencoder).

    Parameters
    ----------
    images : ndarray, shape (n, H, W), (n, C, H, W) or (n, H·H), values in [0, 1]
    path : str or Path
    title : str
    columns : int, default 8

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        When the samples are not images.
    """
    from matplotlib.figure import Figure

    imgs = _require_images(images, "images")
    cols = max(1, min(columns, len(imgs)))
    rows = math.ceil(len(imgs) / cols)
    fig = Figure(figsize=(cols * 0.8, rows * 0.8 + 0.3))
    for i, img in enumerate(imgs):
        _image_panel(fig, (rows, cols, i + 1), img).set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
