"""Data sets: MNIST and Fashion-MNIST (local or downloaded), scikit-learn's digits, the
user's files (one module per format, one dispatcher in ``files``), and writing outputs."""

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .bundled import load_digits
from .files import open_source, read_input, read_input_with_ids, table_columns
from .idx import IDXError
from .mnist import (
    FASHION_MNIST,
    CorruptFileError,
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
)
from .source import ArraySource, Source, iter_chunks
from .writers import ArrayWriter, check_array_path, write_array

#: ``autoencoders.datasets.open("data/*.parquet")``: a data set read on demand, for ``fit``
#: and ``transform`` of data larger than memory (see :func:`~.files.open_source`).
open = open_source  # noqa: A001 (the name users ask for; the builtin is not used here)

__all__ = [
    "load_mnist",
    "load_fashion_mnist",
    "load_digits",
    "load_dataset",
    "read_input",
    "read_input_with_ids",
    "write_array",
    "check_array_path",
    "ArrayWriter",
    "open",
    "open_source",
    "Source",
    "ArraySource",
    "iter_chunks",
    "CorruptFileError",
    "DatasetNotFoundError",
    "IDXError",
    "DATASETS",
    "table_columns",
    "class_names",
    "label_names",
]

DATASETS = ("mnist", "fashion-mnist", "digits")


def class_names(name: str | None) -> tuple[str, ...] | None:
    """The names of a named data set's labels 0, 1, ... (Fashion-MNIST's "T-shirt/top",
    ...), or None when the labels are their own names (MNIST, digits) or for no data set."""
    return FASHION_MNIST.class_names if name == "fashion-mnist" else None


def label_names(labels: Iterable[Any], names: tuple[str, ...] | None) -> list[str]:
    """Labels as text for legends and the report: ``names[label]`` for integer labels
    within ``names``, else the label itself."""
    return [names[int(v)] if names is not None and _is_index(v, len(names)) else str(v)
            for v in labels]


def _is_index(value: Any, n: int) -> bool:
    try:
        return float(value).is_integer() and 0 <= int(value) < n
    except (TypeError, ValueError):
        return False


def load_dataset(name: str, split: str = "train",
                 **kwargs: Any) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load a named data set's split.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "digits"}
    split : {"train", "test"}
        For "digits", which has no official split, "train" is the first 1,500 images and
        "test" the remaining 297 (a fixed split, so that runs are comparable).
    **kwargs
        Passed to the MNIST loaders (``mirrors``, ``timeout``, ``progress``).

    Returns
    -------
    X : ndarray of uint8, shape (n, h, w)
    y : ndarray of uint8, shape (n,)

    Raises
    ------
    ValueError
        For an unknown name or split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name == "mnist":
        return load_mnist(split, **kwargs)
    if name == "fashion-mnist":
        return load_fashion_mnist(split, **kwargs)
    if name == "digits":
        return load_digits(split)
    raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
