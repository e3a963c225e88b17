"""Data sets: MNIST and Fashion-MNIST (local or downloaded), scikit-learn's digits, the
user's files (one module per format, one dispatcher in ``files``), and writing outputs."""

from .bundled import load_digits
from .files import open_source, read_input, read_input_with_ids, table_columns
from .idx import IDXError
from .mnist import (
    CorruptFileError,
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
)
from .source import ArraySource, Source, iter_chunks
from .writers import ArrayWriter, write_array

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
]

DATASETS = ("mnist", "fashion-mnist", "digits")


def load_dataset(name: str, split: str = "train", **kwargs):
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
        X, y = load_digits()
        cut = slice(0, 1500) if split == "train" else slice(1500, None)
        return X[cut], y[cut]
    raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
