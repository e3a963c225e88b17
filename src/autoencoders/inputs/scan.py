"""The one pass over the values of input rows: per-feature minimum and maximum, chunk by
chunk, from which NaN and infinity (``np.min`` propagates NaN), overflow of float32 and the
[0, 1] range of the BCE loss are all decided."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..datasets.source import Source, iter_chunks

__all__ = ["Range", "scan", "check_fits_float32", "check_unit_interval",
           "check_training_range", "UNIT_TOLERANCE", "CLIP_BAND"]

#: Rows per chunk of the value pass: small enough that a chunk's minimum and maximum are
#: taken while it is in the cache.
SCAN_ROWS = 4096
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Values this far outside [0, 1] still count as in [0, 1] when a model is fitted: float32
#: arithmetic leaves MinMaxScaler's maximum at 1.0000001 (bug case C21).
UNIT_TOLERANCE = 1e-6
#: New data for a model that takes [0, 1] (or a min-max scaled one: this many training
#: ranges of each feature) is clipped to [0, 1] when it lies within this far of it: held-out
#: folds of a MinMaxScaler reach beyond the training range (up to 2.25 in a 3-fold split of
#: scikit-learn's digits). Further out, it is taken for data in other units (0–255 pixels or
#: 0–16 digits as floats) and refused.
CLIP_BAND = 10.0


@dataclass(frozen=True)
class Range:
    """Per-feature minimum and maximum (float64, flat) of rows that hold no NaN or inf."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def low(self) -> float:
        return float(self.lo.min())

    @property
    def high(self) -> float:
        return float(self.hi.max())

    def within(self, low: float, high: float) -> bool:
        """Whether every value lies in [low, high]."""
        return bool(self.low >= low and self.high <= high)

    @property
    def in_unit(self) -> bool:
        return self.within(0.0, 1.0)


class _Rows(Protocol):
    """What :func:`scan` reads of ``inputs.Rows`` (named here: rows.py imports this one)."""

    @property
    def data(self) -> NDArray[Any] | Source: ...

    @property
    def name(self) -> str: ...

    @property
    def feature_names(self) -> tuple[str, ...] | None: ...

    def number(self, i: int) -> int: ...


def scan(rows: _Rows) -> Range:
    """One pass over the values of ``rows`` (:class:`~autoencoders.inputs.Rows`):
    per-feature minimum and maximum, chunk by chunk.

    Raises
    ------
    ValueError
        At the first chunk holding NaN or infinite values, naming its first such row.
    """
    lo: NDArray[np.float64] | None = None
    hi: NDArray[np.float64] | None = None
    data = rows.data
    chunks = (iter_chunks(data, SCAN_ROWS) if isinstance(data, Source) else
              ((s, s + SCAN_ROWS, data[s:s + SCAN_ROWS]) for s in range(0, len(data),
                                                                          SCAN_ROWS)))
    for start, _, chunk in chunks:
        flat = chunk.reshape(len(chunk), -1)
        c_lo, c_hi = flat.min(axis=0), flat.max(axis=0)
        if np.issubdtype(flat.dtype, np.floating) and not (
                np.isfinite(c_lo).all() and np.isfinite(c_hi).all()):
            row, feature = (int(i) for i in np.argwhere(~np.isfinite(flat))[0])
            names = rows.feature_names
            column = f" ({names[feature]!r})" if names and len(names) == flat.shape[1] else ""
            raise ValueError(f"{rows.name} contains NaN or infinite values (first in sample "
                             f"{rows.number(start + row)}, feature {feature}{column}); remove "
                             "or impute them first")
        c_lo, c_hi = c_lo.astype(np.float64), c_hi.astype(np.float64)
        lo = c_lo if lo is None else np.minimum(lo, c_lo)
        hi = c_hi if hi is None else np.maximum(hi, c_hi)
    assert lo is not None and hi is not None  # rows are never empty (as_rows refuses them)
    return Range(lo, hi)


def check_fits_float32(found: Range, what: str) -> None:
    """Refuse data whose scaled values (``found``, per-feature minima and maxima of any
    float dtype) lie beyond float32's range (±3.4e38), which the model computes in.

    Raises
    ------
    ValueError
        Naming ``what`` (e.g. a file's path) when a value overflows float32.
    """
    if max(-found.lo.min(), found.hi.max()) > _FLOAT32_MAX:
        raise ValueError(f"{what} overflows float32 after scaling; rescale it first")


def check_unit_interval(found: Range, what: str, fitting: bool) -> None:
    """For a model that takes [0, 1] (the BCE loss): training data must lie in [0, 1] (up
    to ``UNIT_TOLERANCE``), new data within ``CLIP_BAND`` of it. The range is shown as the
    float32 values the model would see."""
    band = UNIT_TOLERANCE if fitting else CLIP_BAND
    if found.within(-band, 1.0 + band):
        return
    lo, hi = float(np.float32(found.low)), float(np.float32(found.high))
    fix = ("use input_scaling='auto' or 'minmax' (--input-scaling) to map each feature to "
           "[0, 1], or loss='mse'") if fitting else (
           "the model was trained on input in [0, 1]: scale this data as the training "
           "data was (e.g. uint8 pixels, or values divided by the same maximum; 0-255 "
           "pixels in a CSV are read as floats: divide them by 255)")
    raise ValueError(f"{what} has values in [{lo:g}, {hi:g}] but the 'bce' loss needs "
                     f"[0, 1]; {fix}")


def check_training_range(found: Range, offset: np.ndarray, scale: np.ndarray,
                         ranged: np.ndarray, what: str) -> None:
    """For a model that maps each feature to [0, 1] by its training minimum and range
    (min-max): new data within ``CLIP_BAND`` training ranges of them is clipped to [0, 1];
    further out it is taken for data in other units (0–16 digits as 0–255 pixels, a table
    in grams for one in kilograms) and refused, as :func:`check_unit_interval` refuses it for
    a model of [0, 1] input.

    Features constant in training are not checked: a held-out row may well differ there (a
    rare pixel of scikit-learn's digits), and there is no range to measure the distance in.

    Parameters
    ----------
    found : Range
        Per-feature minima and maxima of the new data (raw units).
    offset, scale : ndarray of float32, any shape of ``found``'s size
        The model's per-feature minimum and 1 / range.
    ranged : ndarray of bool, any shape of ``found``'s size
        The features with a training range (``InputSpec.ranged``): the others are
        constant in training.
    what : str
        How messages name the data.

    Raises
    ------
    ValueError
        Naming the feature furthest out, its values and its training range.
    """
    offset, scale = offset.reshape(-1).astype(np.float64), scale.reshape(-1).astype(np.float64)
    beyond = np.maximum((offset - found.lo) * scale, (found.hi - offset) * scale - 1.0)
    beyond[~ranged.reshape(-1)] = 0.0
    j = int(beyond.argmax())
    if beyond[j] <= CLIP_BAND:
        return
    top = offset[j] + 1.0 / scale[j]
    raise ValueError(f"{what} has values {beyond[j]:.3g} training ranges beyond those of fit "
                     f"(feature {j}: [{found.lo[j]:g}, {found.hi[j]:g}], trained on "
                     f"[{offset[j]:g}, {top:g}]); the model maps each feature to [0, 1] by its "
                     f"training minimum and range and clips new data within {CLIP_BAND:g} "
                     "ranges of it, so this looks like data in other units: pass it in the "
                     "units of the training data")
