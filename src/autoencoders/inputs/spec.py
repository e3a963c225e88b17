"""The frozen description of what a fitted model takes (:class:`InputSpec`): the feature
shape, the column names, the scaling policy and its statistics; and how raw rows become
the model's input."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast, overload

import numpy as np
from numpy.typing import DTypeLike, NDArray

if TYPE_CHECKING:
    import torch

from ..datasets.source import Source
from .rows import Rows, as_rows
from .scan import (
    UNIT_TOLERANCE,
    check_fits_float32,
    check_training_range,
    check_unit_interval,
    scan,
)

__all__ = ["InputSpec", "SCALINGS", "pixels_to_unit", "check_feature_names"]

SCALINGS = ("auto", "minmax", "none")
_log = logging.getLogger("autoencoders")


@dataclass(frozen=True, eq=False)
class InputSpec:
    """What a fitted model takes, and how raw input becomes its input.

    Attributes
    ----------
    feature_shape : tuple of int
        Shape of one sample, e.g. (28, 28) or (784,). Flat rows of as many values are
        accepted and reshaped to it; other shapes of as many values are not (a (4, 14, 14)
        image is not a (1, 28, 28) one), except for axes of size 1.
    scaling : {"auto", "minmax", "none"}
        The scaling policy (``autoencoders.inputs``).
    offset, scale : ndarray of float32, shape feature_shape, or None
        Min-max statistics: the training minimum and 1 / range (1 for a constant feature).
        Present for "minmax", and for "auto" when a model that takes [0, 1] was fitted on
        values outside it; None otherwise.
    feature_names : tuple of str or None
        Column names, when the training data was a DataFrame with string column names.
    unit : bool
        The model takes values in [0, 1] (the BCE loss): new values within ``CLIP_BAND`` of
        it are clipped to it, values further out refused.
    constant : ndarray of bool, shape feature_shape, or None
        With min-max statistics: the features constant in training (range 0). None for
        models saved before 2026-12-04, which did not record it; they take every feature
        of scale 1 (a range of 0 or of exactly 1) for constant.

    Raises
    ------
    ValueError
        For an unknown scaling policy, "minmax" without statistics, or statistics of
        another shape than ``feature_shape``.
    """

    feature_shape: tuple[int, ...]
    scaling: str = "auto"
    offset: np.ndarray | None = field(default=None, repr=False)
    scale: np.ndarray | None = field(default=None, repr=False)
    feature_names: tuple[str, ...] | None = None
    unit: bool = False
    constant: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"input_scaling must be one of {SCALINGS}, got {self.scaling!r}")
        if self.scaling == "minmax" and (self.offset is None or self.scale is None):
            raise ValueError("min-max scaling needs its statistics (offset and scale)")
        if self.constant is not None:  # saved as float32 0/1, as every weight
            object.__setattr__(self, "constant", np.asarray(self.constant, dtype=bool))
        for name, stat in self.stats.items():
            if tuple(np.shape(stat)) != tuple(self.feature_shape):
                raise ValueError(f"the min-max statistic {name!r} has shape "
                                 f"{tuple(np.shape(stat))}, not the feature shape "
                                 f"{tuple(self.feature_shape)}")

    @property
    def n_features(self) -> int:
        """Values per sample, the product of ``feature_shape``."""
        return math.prod(self.feature_shape)

    @property
    def stats(self) -> dict[str, np.ndarray]:
        """``{"offset": ..., "scale": ..., "constant": ...}`` for min-max scaling (no
        "constant" for models saved before it was recorded), else ``{}``."""
        # With an offset, __post_init__ (which reads this) refuses a scale of another shape
        # than feature_shape, None included.
        if self.offset is None:
            return {}
        stats = {"offset": self.offset, "scale": cast(np.ndarray, self.scale)}
        return stats if self.constant is None else {**stats, "constant": self.constant}

    @property
    def ranged(self) -> np.ndarray | None:
        """bool, shape feature_shape: the features with a training range, in which a new
        value's distance beyond it is measured (min-max scaling); None without min-max
        statistics."""
        if self.offset is None:
            return None
        if self.constant is None:  # saved before 2026-12-04: scale 1 may be either
            return np.asarray(cast(np.ndarray, self.scale) != 1.0)
        return ~self.constant

    def divides_by_255(self, dtype: DTypeLike) -> bool:
        """uint8 divided by 255: under "auto", unless the model was fitted with min-max
        statistics (whose units every dtype then takes)."""
        return self.offset is None and _is_pixels(dtype, self.scaling)

    def describe(self, dtype: DTypeLike | None = None) -> str:
        """One line on how input of ``dtype`` becomes the model's input, for logs, the CLI
        and displays; without a dtype, for every dtype the model takes."""
        if dtype is not None and self.divides_by_255(dtype):
            return "uint8 pixels divided by 255 to [0, 1]"
        if self.offset is not None:
            return "each feature mapped to [0, 1] by the training minimum and range (min-max)"
        as_they_are = "values used as they are" + (", clipped to [0, 1]" if self.unit else "")
        if dtype is None and self.divides_by_255(np.uint8):
            return f"uint8 pixels divided by 255 to [0, 1], other {as_they_are}"
        return as_they_are

    @classmethod
    def fit(cls, X: Any, scaling: str = "auto", *, unit: bool = False,
            what: str = "X") -> tuple[InputSpec, Rows, bool]:
        """Learn the spec from training data, checking it in the same pass.

        Under "auto", uint8 is divided by 255; other data for a model that takes [0, 1]
        (``unit``) is used as it is when it lies in [0, 1] and mapped to it by min-max
        otherwise; what was chosen is logged (logger "autoencoders", INFO).

        Parameters
        ----------
        X : anything :func:`as_rows` takes, shape (n, *feature_shape)
        scaling : {"auto", "minmax", "none"}
        unit : bool
            The model takes scaled input in [0, 1] (the BCE loss).
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
            beyond float32, and values outside [0, 1] with ``scaling="none"`` and ``unit``.
        """
        if scaling not in SCALINGS:
            raise ValueError(f"input_scaling must be one of {SCALINGS}, got {scaling!r}")
        rows = as_rows(X, what)
        data = rows.data
        shape, names = tuple(int(d) for d in data.shape[1:]), rows.feature_names
        if _is_pixels(data.dtype, scaling):  # uint8 / 255 is finite and in [0, 1]
            spec = cls(shape, scaling, feature_names=names, unit=unit)
            _log.info("%s: %s", rows.name, spec.describe(data.dtype))
            return spec, rows, True
        found = scan(rows)
        near_unit = found.within(-UNIT_TOLERANCE, 1.0 + UNIT_TOLERANCE)
        if scaling == "minmax" or (scaling == "auto" and unit and not near_unit):
            lo = found.lo.reshape(shape)
            span = found.hi.reshape(shape) - lo
            inverse = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 1.0)
            spec = cls(shape, scaling, lo.astype(np.float32), inverse.astype(np.float32),
                       names, unit, constant=span == 0)
            assert spec.offset is not None and spec.scale is not None  # just given
            if not (np.isfinite(spec.offset).all() and np.isfinite(spec.scale).all()):
                raise ValueError(f"{rows.name} overflows float32 after scaling; rescale it "
                                 "first")
            _log.info("%s: %s values in [%g, %g]: %s", rows.name, data.dtype, found.low,
                      found.high, spec.describe(data.dtype))
            # Rounding leaves the scaled maximum at 1.0000001 (bug case C21): clipped.
            return spec, replace(rows, in_range=False), True
        check_fits_float32(found, rows.name)
        if unit:
            check_unit_interval(found, rows.name, fitting=True)
        if (scaling == "auto" and np.issubdtype(data.dtype, np.integer)
                and found.within(0, 255) and found.high > 1):
            warnings.warn(f"{rows.name} holds {data.dtype} values in [{found.low:g}, "
                          f"{found.high:g}], used as they are, while uint8 pixels would be "
                          "divided by 255; for images pass X.astype(np.uint8), else "
                          "input_scaling='minmax' or 'none' to say so", UserWarning,
                          stacklevel=4)
        spec = cls(shape, scaling, feature_names=names, unit=unit)
        _log.info("%s: %s values in [%g, %g]: %s", rows.name, data.dtype, found.low,
                  found.high, spec.describe(data.dtype))
        return spec, replace(rows, in_range=found.in_unit or not unit), found.in_unit

    def check(self, X: Any, *, fitting: bool = False, what: str = "X") -> Rows:
        """Check new data against the spec in one pass; return its rows in the feature shape.

        Parameters
        ----------
        X : anything :func:`as_rows` takes, shape (n, *feature_shape) or (n, n_features)
        fitting : bool
            Whether the data is part of a fit (validation data): the fix suggested for a
            range error is then a training option.
        what : str
            How messages name ``X``.

        Raises
        ------
        ValueError
            As :meth:`fit`; for another number of features or image shape than the spec's,
            DataFrame or table columns other than those of fit (or in another order), and
            values beyond ``CLIP_BAND`` of [0, 1] for a model that takes [0, 1], and beyond
            ``CLIP_BAND`` training ranges of a feature for a min-max scaled model.
        """
        rows = as_rows(X, what)
        self.check_names(rows.feature_names, rows.name)
        data = rows.data
        if data.shape[1:] != self.feature_shape:
            data = self._reshaped(data, rows.name)
            rows = replace(rows, data=data)
        if self.divides_by_255(data.dtype):
            return rows
        found = scan(rows)
        if self.offset is not None:  # min-max scaled values are clipped to [0, 1]
            assert self.scale is not None  # __post_init__: both or neither
            check_training_range(found, self.offset, self.scale,
                                 cast(np.ndarray, self.ranged), rows.name)
            return replace(rows, in_range=False)  # new data may lie beyond the range
        check_fits_float32(found, rows.name)
        if self.unit:
            check_unit_interval(found, rows.name, fitting)
        return replace(rows, in_range=found.in_unit or not self.unit)

    def _reshaped(self, data: np.ndarray | Source, name: str) -> np.ndarray | Source:
        """``data`` seen with the feature shape: flat rows, or the shape up to axes of 1."""
        shape = tuple(data.shape[1:])
        if math.prod(shape) != self.n_features:
            raise ValueError(_features_message(name, data.shape, self.feature_shape))
        squeezed = tuple(d for d in shape if d != 1)
        if len(shape) > 1 and len(self.feature_shape) > 1 and squeezed != tuple(
                d for d in self.feature_shape if d != 1):
            raise ValueError(f"{name} holds samples of shape {shape}, but the model was "
                             f"fitted on shape {tuple(self.feature_shape)}: as many values, "
                             "another layout; pass samples of the training shape (or flat "
                             f"rows of {self.n_features} values)")
        if isinstance(data, Source):
            return data.reshaped(self.feature_shape)
        return data.reshape(len(data), *self.feature_shape)

    def check_names(self, names: tuple[str, ...] | None, what: str) -> None:
        """:func:`check_feature_names` of the column ``names`` of data that messages call
        ``what`` against fit's."""
        check_feature_names(self.feature_names, names, what, "AutoEncoder", stacklevel=7)

    def model_input(self, rows: Rows, clip: bool | None = None) -> np.ndarray | Source:
        """Checked rows (:meth:`check`, :meth:`fit`) → what training and inference take:
        C-contiguous float32 scaled values, or uint8 pixels under "auto" (divided by 255
        batch by batch, :func:`pixels_to_unit`); a source maps its rows as they are read.
        Values are clipped to [0, 1] unless the rows are in range, or ``clip`` says."""
        data = rows.data
        clip = not rows.in_range if clip is None else clip
        if isinstance(data, Source):
            dtype = np.uint8 if self.divides_by_255(data.dtype) else np.float32
            return data.map(lambda a: self._model_input(a, clip), dtype)
        return self._model_input(data, clip)

    def prepare(self, X: Any, *, fitting: bool = False,
                what: str = "X") -> np.ndarray | Source:
        """:meth:`check`, then :meth:`model_input`."""
        return self.model_input(self.check(X, fitting=fitting, what=what))

    def _model_input(self, X: np.ndarray, clip: bool = False) -> np.ndarray:
        if self.divides_by_255(X.dtype):
            return np.ascontiguousarray(X)
        return self.scaled(X, clip)

    def scaled(self, X: np.ndarray, clip: bool = False) -> np.ndarray:
        """Raw (n, *feature_shape) array → C-contiguous float32 in the model's units;
        ``clip`` to [0, 1] (a copy: the caller's array is never changed)."""
        if self.offset is not None:
            # New data beyond the training range (check marks it out of range) is clipped
            # to it, so that it stays valid for the BCE loss and a sigmoid output.
            out = np.ascontiguousarray((X - self.offset) * self.scale, dtype=np.float32)
            return np.clip(out, 0.0, 1.0, out=out) if clip else out
        if self.divides_by_255(X.dtype):
            return pixels_to_unit(X)
        with np.errstate(over="ignore"):  # checked before: values fit float32
            out = np.ascontiguousarray(X, dtype=np.float32)
        return np.clip(out, 0.0, 1.0) if clip else out

    def unscale(self, R: np.ndarray) -> np.ndarray:
        """Model-space values (reconstructions) → the input's units; only min-max changes
        anything. Under "auto", reconstructions of uint8 images stay intensities in [0, 1]
        (float32), the convention for image models."""
        if self.offset is not None:
            return cast(NDArray[np.float32], (R / self.scale + self.offset).astype(np.float32))
        return R


def _is_pixels(dtype: DTypeLike, scaling: str) -> bool:
    return scaling == "auto" and np.dtype(dtype) == np.uint8


@overload
def pixels_to_unit(x: NDArray[Any]) -> NDArray[Any]: ...
@overload
def pixels_to_unit(x: torch.Tensor) -> torch.Tensor: ...
def pixels_to_unit(x: NDArray[Any] | torch.Tensor) -> NDArray[Any] | torch.Tensor:
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


def _features_message(what: str, shape: tuple[int, ...], feature_shape: tuple[int, ...]) -> str:
    # The first clause is scikit-learn's wording, which its estimator checks look for.
    return (f"{what} has {math.prod(shape[1:])} features, but AutoEncoder is expecting "
            f"{math.prod(feature_shape)} features as input (it was fitted on shape "
            f"(n, {', '.join(map(str, feature_shape))}), got {tuple(shape)}); pass data "
            "shaped like the training data"
            + ("; resize images to the training size (--image-size HxW, or "
               "read_input(..., image_size=(h, w)))" if len(feature_shape) == 2 else ""))


def check_feature_names(fitted: tuple[str, ...] | None, names: tuple[str, ...] | None,
                        what: str, estimator: str, stacklevel: int = 3) -> None:
    """scikit-learn's rules for ``feature_names_in_``: data whose column ``names`` (of a
    DataFrame or a table's header) differ from those of fit (``fitted``), or come in another
    order, is refused; named features for a model fitted on unnamed ones, or the reverse,
    warn (UserWarning).

    Parameters
    ----------
    fitted, names : tuple of str or None
        The columns of fit's data and of the new data (``what``), None when unnamed.
    what, estimator : str
        How messages name the data and the fitted estimator.
    stacklevel : int
        Of the warnings, so that they point at the caller's line.

    Raises
    ------
    ValueError
        For names other than fit's, or fit's in another order (the message gives it).
    """
    if names is None and fitted is not None:
        warnings.warn(f"{what} does not have valid feature names, but {estimator} was "
                      "fitted with feature names", UserWarning, stacklevel=stacklevel)
    elif names is not None and fitted is None:
        warnings.warn(f"{what} has feature names, but {estimator} was fitted without "
                      "feature names", UserWarning, stacklevel=stacklevel)
    elif names is not None and fitted is not None and names != fitted:
        unseen = [n for n in names if n not in fitted]
        missing = [n for n in fitted if n not in names]
        order = ", ".join(fitted[:10]) + (", ..." if len(fitted) > 10 else "")
        detail = (f"{what} has the same columns in another order; put them in fit's "
                  f"order: {order}; in Python X[model.feature_names_in_] does, for a file "
                  "write its columns in this order"
                  if not unseen and not missing else
                  "; ".join(part for part in (
                      f"unseen at fit time: {_some(unseen)}" if unseen else "",
                      f"missing: {_some(missing)}" if missing else "")
                      if part))
        fix = ("" if not unseen and not missing else "; pass the columns of fit (in "
               "Python: X[model.feature_names_in_]; on the command line a table's id and "
               "label columns are named by --id-column and --label-column)")
        raise ValueError("The feature names should match those that were passed during "
                         f"fit ({detail}){fix}")


def _some(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` names, and how many more: 'a', 'b', … (4 more)."""
    more = f", … ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(map(repr, names[:shown])) + more
