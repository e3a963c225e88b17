"""What may come in: arrays, DataFrames, tensors, lists, memory maps and sources as
:class:`Rows`, with the name and row numbers that errors use; and the checks of shape,
labels and codes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
from numpy.typing import ArrayLike

from ..datasets._common import check_labels_present, check_unique_names
from ..datasets.npy import NpySource
from ..datasets.source import Source
from .scan import scan

__all__ = ["Rows", "InputTypeError", "as_rows", "named", "as_array", "column_names",
           "check_codes", "check_labels"]


class _Numbered(Protocol):
    # Rows.numbers when not an int: an int64 array, or datasets.source.Without.
    def __getitem__(self, i: int, /) -> Any: ...


class InputTypeError(TypeError, ValueError):
    """Input of a type that holds no real numbers (strings, objects, complex numbers).

    Both a ``ValueError`` (this project's contract for every bad input) and a ``TypeError``
    (scikit-learn's convention for the wrong type of data)."""


@dataclass(frozen=True)
class Rows:
    """Input rows with what errors should call them.

    Attributes
    ----------
    data : ndarray of shape (n, ...) or Source
        Numeric (integer or floating) values, at least 2-D.
    name : str
        How messages name the data ("X", "validation_data", a file's path).
    numbers : int, or ndarray of int64 of shape (n,), or ``datasets.source.Without``
        Each row's number in the whole the data came from (a file), for messages; an int is
        the number of the first row of consecutive ones.
    feature_names : tuple of str or None
        The features' names (a DataFrame's columns, a table's header), for
        ``feature_names_in_`` and scikit-learn's checks of them; None for unnamed ones.
        Every door builds its rows here, so that repeated names are refused in one place.

    Raises
    ------
    ValueError
        For repeated ``feature_names`` (``"X: repeated column names a; name each column
        once"``): columns are told apart by name (fit's column order is checked on every
        later call), and two of one name could be swapped unnoticed.
    """

    data: np.ndarray | Source
    name: str = "X"
    numbers: object = 0
    feature_names: tuple[str, ...] | None = None
    #: Set by ``InputSpec.check``: the values already lie in the model's range, so that
    #: nothing needs clipping.
    in_range: bool = True

    def __post_init__(self) -> None:
        if self.feature_names is not None:
            check_unique_names(self.feature_names, self.name)

    def __len__(self) -> int:
        return len(self.data)

    def number(self, i: int) -> int:
        """The number in the whole of row ``i``."""
        numbers = cast("int | _Numbered", self.numbers)
        return int(numbers + i if isinstance(numbers, int) else numbers[i])


def named(X: Any, name: str, numbers: object = 0,
          feature_names: Iterable[str] | None = None) -> Rows:
    """``X`` with the name messages give it, its rows' numbers in a larger whole (a file's
    rows) and its features' names (by default its own: :func:`column_names`), for
    :func:`as_rows`: ``named(chunk, "data.csv", numbers=start, feature_names=header)``."""
    names = column_names(X) if feature_names is None else tuple(feature_names)
    return Rows(X.data if isinstance(X, Rows) else X, name, numbers, names)


def as_rows(X: Any, what: str = "X") -> Rows:
    """Turn any accepted input into :class:`Rows`, without reading a source's values.

    Accepted: numpy arrays (any integer or floating dtype; bool becomes float32),
    memory-mapped ``.npy`` arrays (``np.load(path, mmap_mode="r")``, streamed from their
    file), pandas/polars DataFrames, torch tensors, nested lists, :class:`Source` objects
    (``autoencoders.datasets.open``) and :class:`Rows` (kept as they are).

    Raises
    ------
    ValueError
        For sparse matrices, non-numeric values (strings, objects), complex numbers,
        arrays of fewer than 2 dimensions, empty ones or ones with 0 features, and
        repeated column names (of a DataFrame).
    """
    if isinstance(X, Rows):
        return X
    if isinstance(X, np.memmap) and NpySource.can_wrap(X):
        X = NpySource.from_memmap(X)
    if isinstance(X, Source):
        if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
            raise InputTypeError(f"{what} has dtype {X.dtype}; it must hold real numbers")
        if len(X) == 0:
            raise ValueError(f"{what} is empty (0 samples); pass at least one sample")
        return Rows(X, what, feature_names=X.feature_names)
    arr = as_array(X, what)
    _check_shape(arr, what)
    return Rows(arr, what, feature_names=column_names(X))


def as_array(X: Any, what: str = "X") -> np.ndarray:
    """Turn array-likes (lists, pandas/polars DataFrames, torch tensors) into a numpy array.

    Returns
    -------
    ndarray
        Same values; dtype kept for numeric input (uint8 stays uint8 so it can be scaled
        by 1/255); bool becomes float32; torch's bfloat16 float32; pandas' missing values
        (NA) NaN, which the value pass then reports with their row.

    Raises
    ------
    InputTypeError
        (a ValueError and a TypeError) for non-numeric values (strings, objects, naming a
        DataFrame's non-numeric columns) and complex numbers.
    ValueError
        For sparse matrices and ragged rows.
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise ValueError(f"{what} is a sparse matrix; autoencoders need dense input: "
                         f"pass {what}.toarray()")
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # a torch tensor
        import torch

        X = X.detach().cpu()
        # numpy has no bfloat16 (nor the float8 types): go through float32.
        if X.is_floating_point() and X.dtype not in (torch.float16, torch.float32,
                                                     torch.float64):
            X = X.float()
        X = X.numpy()
    elif hasattr(X, "to_numpy") and hasattr(X, "columns"):  # pandas / polars
        X = _frame_to_numpy(X, what)
    elif hasattr(X, "to_numpy"):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} could not be read as an array: {exc}; rows must all have "
                         "the same length") from None
    if np.iscomplexobj(arr):
        raise InputTypeError(f"Complex data not supported: {what} has dtype {arr.dtype}; "
                             "pass real numbers (e.g. the magnitude, np.abs)")
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    elif arr.dtype == object:  # e.g. mixed Python numbers: numeric if every cell converts
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError) as exc:
            # numpy's own words ("float() argument must be a string or a real number, not
            # 'dict'") are what scikit-learn's checks look for.
            raise InputTypeError(f"{what} holds non-numeric values (strings or objects): "
                                 f"{exc}; convert them to numbers first") from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputTypeError(f"{what} has dtype {arr.dtype}; it must hold real numbers "
                             "(convert strings or categories to numbers first)")
    return arr


def column_names(X: Any) -> tuple[str, ...] | None:
    """The features' names: those of :class:`Rows` or a :class:`Source` (a table's header),
    or a DataFrame's columns when they are all strings (scikit-learn's rule for
    ``feature_names_in_``); else None."""
    if isinstance(X, Rows | Source):
        return X.feature_names
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return tuple(columns)


def _frame_to_numpy(frame: Any, what: str) -> np.ndarray:
    """A DataFrame's values; non-numeric columns are named, missing values become NaN."""
    dtypes = getattr(frame, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # pandas
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        bad = [str(name) for name, dtype in dtypes.items()
               if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))]
        if bad:
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise InputTypeError(
                f"{what} has non-numeric columns {', '.join(map(repr, bad[:5]))}{more}; "
                "convert them to numbers or drop them (row ids or labels: in Python drop "
                "them; on the command line name them with --id-column or --label-column)")
    arr: np.ndarray = frame.to_numpy()
    if arr.dtype == object:  # pandas' nullable types: NA becomes NaN, reported with its row
        arr = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    return arr


def _check_shape(arr: np.ndarray, what: str) -> None:
    if arr.ndim < 2:
        raise ValueError(f"{what} must be 2-D or more, (n_samples, n_features) or "
                         f"(n_samples, height, width); got shape {arr.shape}. Reshape your "
                         f"data: {what}.reshape(1, -1) for a single sample")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples); pass at least one sample")
    if 0 in arr.shape[1:]:
        raise ValueError(f"{what} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                         "required; each sample needs at least one feature")


def check_codes(Z: Any, width: int, what: str = "Z") -> np.ndarray:
    """Latent codes for a decoder: ``Z`` as C-contiguous float32 of shape (n, ``width``).

    Raises
    ------
    ValueError
        As :func:`as_rows`, for NaN or infinite values, and for another shape.
    """
    rows = as_rows(Z, what)
    scan(rows)
    Z = rows.data
    if Z.ndim != 2 or Z.shape[1] != width:
        raise ValueError(f"{what} has shape {Z.shape}; expected (n_samples, {width}) latent "
                         "codes from transform")
    return np.ascontiguousarray(Z, dtype=np.float32)



def check_labels(labels: ArrayLike | None, n_samples: int,
                 what: str = "labels") -> np.ndarray | None:
    """One label per sample: ``labels`` as a 1-D array of length ``n_samples``, or None;
    every door that takes labels (run data, clustering, scores, plots) checks them here.

    Raises
    ------
    ValueError
        When ``labels`` is not 1-D, its length differs from ``n_samples``, or a label is
        missing (None, NaN or an empty string: ``datasets._common.check_labels_present``).
    """
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one label per sample); got shape {arr.shape}")
    if len(arr) != n_samples:
        raise ValueError(f"{what} has {len(arr)} entries but there are {n_samples} samples; "
                         "pass one label per sample, in the same order")
    return check_labels_present(arr, what)
