"""The frozen description of what a fitted model takes (:class:`InputSpec`): the feature
shape, the column names, the scaling policy and its statistics; and how raw rows become
the model's input."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..datasets.source import Source
from .rows import Rows, as_rows
from .scan import check_fits_float32, check_unit_interval, scan

__all__ = ["InputSpec", "SCALINGS", "pixels_to_unit"]

SCALINGS = ("auto", "minmax", "none")


@dataclass(frozen=True, eq=False)
class InputSpec:
    """What a fitted model takes, and how raw input becomes its input.

    Attributes
    ----------
    feature_shape : tuple of int
        Shape of one sample, e.g. (28, 28) or (784,); flat rows of as many values are
        accepted and reshaped to it.
    scaling : {"auto", "minmax", "none"}
        The scaling policy (module docstring).
    offset, scale : ndarray of float32, shape feature_shape, or None
        Min-max statistics: the training minimum and 1 / range (1 for a constant feature);
        None for the other policies.
    feature_names : tuple of str or None
        Column names, when the training data was a DataFrame with string column names.

    Raises
    ------
    ValueError
        For an unknown scaling policy, or "minmax" without statistics.
    """

    feature_shape: tuple
    scaling: str = "auto"
    offset: np.ndarray | None = field(default=None, repr=False)
    scale: np.ndarray | None = field(default=None, repr=False)
    feature_names: tuple | None = None

    def __post_init__(self):
        if self.scaling not in SCALINGS:
            raise ValueError(f"input_scaling must be one of {SCALINGS}, got {self.scaling!r}")
        if self.scaling == "minmax" and (self.offset is None or self.scale is None):
            raise ValueError("min-max scaling needs its statistics (offset and scale)")

    @property
    def n_features(self) -> int:
        """Values per sample, the product of ``feature_shape``."""
        return math.prod(self.feature_shape)

    @property
    def stats(self) -> dict[str, np.ndarray]:
        """``{"offset": ..., "scale": ...}`` for min-max scaling, else ``{}``."""
        return {} if self.offset is None else {"offset": self.offset, "scale": self.scale}

    @classmethod
    def fit(cls, X, scaling: str = "auto", *, require_unit: bool = False,
            what: str = "X") -> tuple[InputSpec, Rows, bool]:
        """Learn the spec from training data, checking it in the same pass.

        Parameters
        ----------
        X : anything :func:`as_rows` takes, shape (n, *feature_shape)
        scaling : {"auto", "minmax", "none"}
        require_unit : bool
            The model needs scaled input in [0, 1] (the BCE loss).
        what : str
            How messages name ``X``.

        Returns
        -------
        spec : InputSpec
        rows : Rows
            The checked rows, not yet scaled (:meth:`model_input`).
        in_unit : bool
            Whether the scaled training data lies in [0, 1] (a sigmoid output, else linear).

        Raises
        ------
        ValueError
            As :func:`as_rows`; for NaN or infinite values (naming the first row), values
            beyond float32, and values outside [0, 1] after scaling when
            ``require_unit``.
        """
        if scaling not in SCALINGS:
            raise ValueError(f"input_scaling must be one of {SCALINGS}, got {scaling!r}")
        rows = as_rows(X, what)
        data = rows.data
        feature_shape = tuple(int(d) for d in data.shape[1:])
        columns = getattr(X, "columns", None)
        names = (tuple(columns) if columns is not None
                 and all(isinstance(c, str) for c in columns) else None)
        if _is_pixels(data.dtype, scaling):  # uint8 / 255 is finite and in [0, 1]
            return cls(feature_shape, scaling, feature_names=names), rows, True
        found = scan(rows)
        if scaling == "minmax":
            lo = found.lo.reshape(feature_shape)
            span = found.hi.reshape(feature_shape) - lo
            scale = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 1.0)
            spec = cls(feature_shape, scaling, lo.astype(np.float32), scale.astype(np.float32),
                       names)
            if not (np.isfinite(spec.offset).all() and np.isfinite(spec.scale).all()):
                raise ValueError(f"{rows.name} overflows float32 after scaling; rescale it "
                                 "first")
            return spec, rows, True
        check_fits_float32(found, rows.name)
        if require_unit:
            check_unit_interval(found, rows.name, fitting=True)
        return cls(feature_shape, scaling, feature_names=names), rows, found.in_unit

    def check(self, X, *, require_unit: bool = False, fitting: bool = False,
              what: str = "X") -> Rows:
        """Check new data against the spec in one pass; return its rows in the feature shape.

        Parameters
        ----------
        X : anything :func:`as_rows` takes, shape (n, *feature_shape) or (n, n_features)
        require_unit : bool
            The model needs scaled input in [0, 1] (the BCE loss).
        fitting : bool
            Whether the data is part of a fit (validation data): the fix suggested for a
            range error is then a training option.
        what : str
            How messages name ``X``.

        Raises
        ------
        ValueError
            As :meth:`fit`, and for another number of features than the spec's.
        """
        rows = as_rows(X, what)
        data = rows.data
        if data.shape[1:] != self.feature_shape:
            n = math.prod(data.shape[1:])
            if n != self.n_features:
                raise ValueError(_features_message(rows.name, data.shape, self.feature_shape))
            data = (data.reshaped(self.feature_shape) if isinstance(data, Source)
                    else data.reshape(len(data), *self.feature_shape))
            rows = Rows(data, rows.name, rows.numbers)
        if not _is_pixels(data.dtype, self.scaling):
            found = scan(rows)
            if self.scaling != "minmax":  # min-max scaled values are clipped to [0, 1]
                check_fits_float32(found, rows.name)
                if require_unit:
                    check_unit_interval(found, rows.name, fitting)
        return rows

    def model_input(self, rows: Rows) -> np.ndarray | Source:
        """Checked rows (:meth:`check`, :meth:`fit`) → what training and inference take:
        C-contiguous float32 scaled values, or uint8 pixels under "auto" (divided by 255
        batch by batch, :func:`pixels_to_unit`); a source maps its rows as they are read."""
        data = rows.data
        if isinstance(data, Source):
            dtype = np.uint8 if _is_pixels(data.dtype, self.scaling) else np.float32
            return data.map(self._model_input, dtype)
        return self._model_input(data)

    def prepare(self, X, *, require_unit: bool = False, fitting: bool = False,
                what: str = "X") -> np.ndarray | Source:
        """:meth:`check`, then :meth:`model_input`."""
        return self.model_input(self.check(X, require_unit=require_unit, fitting=fitting,
                                           what=what))

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        if _is_pixels(X.dtype, self.scaling):
            return np.ascontiguousarray(X)
        return self.scaled(X)

    def scaled(self, X: np.ndarray) -> np.ndarray:
        """Raw (n, *feature_shape) array → C-contiguous float32 in the model's units."""
        if self.scaling == "minmax":
            # New data beyond the training range is clipped to it, so that it stays valid
            # for the BCE loss and a sigmoid output.
            out = np.ascontiguousarray((X - self.offset) * self.scale, dtype=np.float32)
            return np.clip(out, 0.0, 1.0, out=out)
        if _is_pixels(X.dtype, self.scaling):
            return pixels_to_unit(X)
        with np.errstate(over="ignore"):  # checked before: values fit float32
            return np.ascontiguousarray(X, dtype=np.float32)

    def unscale(self, R: np.ndarray) -> np.ndarray:
        """Model-space values (reconstructions) → the input's units; only "minmax" changes
        anything. Under "auto", reconstructions of uint8 images stay intensities in [0, 1]
        (float32), the convention for image models."""
        if self.scaling == "minmax":
            return (R / self.scale + self.offset).astype(np.float32)
        return R


def _is_pixels(dtype, scaling: str) -> bool:
    return scaling == "auto" and np.dtype(dtype) == np.uint8


def pixels_to_unit(x):
    """uint8 pixels → float32 intensities in [0, 1] (÷ 255), for numpy arrays and torch
    tensors (a batch on its device); float32 passes unchanged. The one place that divides
    by 255."""
    if isinstance(x, np.ndarray):
        if x.dtype != np.uint8:
            return x
        out = np.ascontiguousarray(x, dtype=np.float32)
        out *= np.float32(1.0 / 255.0)
        return out
    import torch

    if x.dtype == torch.uint8:
        return x.float().mul_(1.0 / 255.0)
    return x


def _features_message(what: str, shape: tuple, feature_shape: tuple) -> str:
    # The first clause is scikit-learn's wording, which its estimator checks look for.
    return (f"{what} has {math.prod(shape[1:])} features, but AutoEncoder is expecting "
            f"{math.prod(feature_shape)} features as input (it was fitted on shape "
            f"(n, {', '.join(map(str, feature_shape))}), got {tuple(shape)}); pass data "
            "shaped like the training data"
            + ("; resize images to the training size (--image-size HxW, or "
               "read_input(..., image_size=(h, w)))" if len(feature_shape) == 2 else ""))
