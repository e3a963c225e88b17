"""MNIST and Fashion-MNIST: find the IDX files locally or download them, verify, parse.

Where the files are looked for, in order:

1. ``$AUTOENCODERS_DATA_DIR/<name>/`` (``<name>`` is ``mnist`` or ``fashion-mnist``);
2. the user cache, ``platformdirs.user_cache_dir("autoencoders")/<name>/``;
3. the public mirrors, downloaded into the cache.

Each file may be gzipped or not. Its decompressed contents are checked against the published
MD5 before use, wherever it came from; a file that fails is never used.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from .._io import atomic_path
from .idx import IDXError, read_idx

__all__ = [
    "DatasetNotFoundError",
    "CorruptFileError",
    "MNIST",
    "FASHION_MNIST",
    "load_mnist",
    "load_fashion_mnist",
    "load_idx_dataset",
    "data_dirs",
]

DATA_DIR_ENV = "AUTOENCODERS_DATA_DIR"


class DatasetNotFoundError(FileNotFoundError):
    """No local copy of a data set and no mirror could provide it."""


class CorruptFileError(ValueError):
    """A data file is truncated, corrupt or not the file it should be."""


@dataclass(frozen=True)
class IDXDataset:
    """Where an IDX data set comes from and what its files must contain.

    Attributes
    ----------
    name : str
        Folder name under the data directories (``"mnist"``).
    files : dict of str to str
        ``{"train-images-idx3-ubyte": md5_of_decompressed_contents, ...}``.
    mirrors : tuple of str
        Base URLs tried in order; each must serve ``<file>.gz``.
    class_names : tuple of str or None
        The name of each label 0, 1, ... for figures and the report; None where the label
        is its own name (MNIST's digits).
    """

    name: str
    files: dict[str, str]
    mirrors: tuple[str, ...]
    class_names: tuple[str, ...] | None = None


MNIST = IDXDataset(
    name="mnist",
    # MD5 of the decompressed files, as published with the original data (LeCun et al.) and
    # listed by torchvision; see ../shared/data/mnist/SOURCE.md.
    files={
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

FASHION_MNIST = IDXDataset(
    name="fashion-mnist",
    # Xiao, Rasul & Vollgraf (2017), arXiv:1708.07747; MD5 of the decompressed official files.
    files={
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    # The labels' names, in label order (Xiao et al. 2017, Table 1).
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"),
)

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def data_dirs(name: str) -> list[Path]:
    """Folders searched for data set ``name``, in order: the env variable's, then the cache.

    Returns
    -------
    list of Path
        ``[$AUTOENCODERS_DATA_DIR/name, user_cache_dir/name]``, the first left out when the
        variable is unset or empty.
    """
    import platformdirs

    dirs = []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(Path(platformdirs.user_cache_dir("autoencoders")) / name)
    return dirs


def _find_local(stem: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
    return None


#: The most an MNIST-like file may hold: its training images are 47,040,016 bytes
#: decompressed (9.9 MB gzipped). A header or a mirror claiming more is refused before
#: anything is allocated or downloaded (a 9 MB file expanded to 2.5 GB before its checksum
#: was checked).
MAX_FILE_BYTES = 1 << 26


def _read_verified_idx(stream: BufferedReader, name: str, md5: str) -> np.ndarray:
    """Parse an IDX stream and check the MD5 of its decompressed contents before use."""
    array, digest = read_idx(stream, name, max_bytes=MAX_FILE_BYTES)
    if digest != md5:
        raise CorruptFileError(
            f"{name}: the decompressed contents have MD5 {digest}, expected {md5}; "
            "the file is truncated, corrupt or a different file"
        )
    return array


def _download(url: str, file: BinaryIO, timeout: float, progress: bool) -> None:
    """Stream ``url`` into the open binary ``file``, at most ``MAX_FILE_BYTES``."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        if total is not None and total > MAX_FILE_BYTES:
            raise CorruptFileError(f"{url}: the mirror announces {total:,} bytes, more than "
                                   "such a file holds; not downloaded")
        received = 0
        with tqdm(
            total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
            disable=not progress, leave=False,
        ) as bar:
            while chunk := response.read(1 << 16):
                received += len(chunk)
                if received > MAX_FILE_BYTES:
                    raise CorruptFileError(f"{url}: more than {MAX_FILE_BYTES:,} bytes; not "
                                           "such a file, download stopped")
                file.write(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise CorruptFileError(f"{url}: received {received} of {total} bytes")


def _fetch(stem: str, md5: str, dataset: IDXDataset, mirrors: Sequence[str], timeout: float,
           progress: bool) -> np.ndarray:
    """Download ``stem`` from the first mirror that serves a verified copy, streamed into
    the cache (it appears there only once verified), or into a temporary folder when the
    cache cannot be written (a download next time, nothing more)."""
    cache = data_dirs(dataset.name)[-1] / f"{stem}.gz"
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + f"/{stem}.gz"
        try:
            return _download_verified(url, cache, md5, timeout, progress)
        except (urllib.error.URLError, OSError, CorruptFileError, IDXError) as exc:
            failures.append(f"{url}: {exc}")
    searched = ", ".join(str(d) for d in data_dirs(dataset.name))
    raise DatasetNotFoundError(
        f"could not find or download {stem}: no local copy in {searched}, and every mirror "
        f"failed ({'; '.join(failures) or 'no mirrors configured'}). Put the four IDX files "
        f"(gzipped or not) in {data_dirs(dataset.name)[0]}, or set {DATA_DIR_ENV} to a folder "
        f"holding {dataset.name}/"
    )


def _download_verified(url: str, cache: Path, md5: str, timeout: float,
                       progress: bool) -> np.ndarray:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(cache.parent, os.W_OK)
    except OSError:
        writable = False
    with atomic_path(cache) if writable else _scratch(cache.name) as path:
        with open(path, "wb") as f:
            _download(url, f, timeout, progress)
        with open(path, "rb") as f:
            return _read_verified_idx(f, url, md5)  # only then is the file committed


@contextlib.contextmanager
def _scratch(name: str) -> Iterator[Path]:
    """A path in a temporary folder that is removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder) / name


def _read_verified(stem: str, dataset: IDXDataset, mirrors: Sequence[str], timeout: float,
                   progress: bool) -> np.ndarray:
    md5 = dataset.files[stem]
    path = _find_local(stem, data_dirs(dataset.name))
    if path is None:
        return _fetch(stem, md5, dataset, mirrors, timeout, progress)
    try:
        with open(path, "rb") as f:
            return _read_verified_idx(f, str(path), md5)
    except (CorruptFileError, IDXError) as exc:
        raise CorruptFileError(f"{exc}. Delete {path} and run again to download a fresh copy, "
                               "or replace it with the original file") from None


def load_idx_dataset(dataset: IDXDataset, split: str = "train", *,
                     mirrors: Iterable[str] | None = None, timeout: float = 30.0,
                     progress: bool = True) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load one split of an IDX data set (MNIST, Fashion-MNIST), downloading it if needed.

    Parameters
    ----------
    dataset : IDXDataset
        ``MNIST`` or ``FASHION_MNIST``.
    split : {"train", "test"}
        60,000 training or 10,000 test images.
    mirrors : sequence of str, optional
        Base URLs to download from, in order; ``dataset.mirrors`` by default.
    timeout : float
        Seconds to wait for each connection.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    X : ndarray of uint8, shape (n, 28, 28)
        Pixel intensities 0–255.
    y : ndarray of uint8, shape (n,)
        Labels 0–9.

    Raises
    ------
    ValueError
        For a split other than "train" or "test".
    CorruptFileError
        When a local file is truncated, corrupt or has the wrong contents (the message names it).
    DatasetNotFoundError
        When there is no local copy and no mirror served a verified one.
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = _SPLIT_PREFIX[split]
    mirrors = dataset.mirrors if mirrors is None else tuple(mirrors)
    X = _read_verified(f"{prefix}-images-idx3-ubyte", dataset, mirrors, timeout, progress)
    y = _read_verified(f"{prefix}-labels-idx1-ubyte", dataset, mirrors, timeout, progress)
    if len(X) != len(y):
        raise CorruptFileError(f"{dataset.name} {split}: {len(X)} images but {len(y)} labels")
    return X, y


def load_mnist(split: str = "train",
               **kwargs: Any) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load MNIST (LeCun, Cortes & Burges): handwritten digits, 28×28 grayscale.

    Parameters
    ----------
    split : {"train", "test"}
        The 60,000 training images or the 10,000 test images.
    **kwargs
        ``mirrors``, ``timeout`` (seconds) and ``progress``, as in :func:`load_idx_dataset`.

    Returns
    -------
    X : ndarray of uint8, shape (n, 28, 28)
    y : ndarray of uint8, shape (n,)

    Raises
    ------
    ValueError, CorruptFileError, DatasetNotFoundError
        See :func:`load_idx_dataset`.
    """
    return load_idx_dataset(MNIST, split, **kwargs)


def load_fashion_mnist(split: str = "train",
                       **kwargs: Any) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Load Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): clothing images, 28×28 grayscale.

    Same shapes, dtypes, arguments and errors as :func:`load_mnist`.
    """
    return load_idx_dataset(FASHION_MNIST, split, **kwargs)
