"""The user's own files: the one place that picks a reader by a path's suffix.

==========================  ============================================================
path                        read as
==========================  ============================================================
``.npy``                    the stored array, any shape (n, ...), dtype as stored;
                            memory-mapped for each read (``npy.NpySource``)
``.npz``                    the array named ``X`` (or ``x``, ``data``, ``images``, or the
                            only one); labels from ``y`` (or ``labels``, ``targets``)
``.csv``                    float32 (n, n_columns); a non-numeric first row is a header
``.parquet``                (n, n_values) of the stored dtype from one list column of
                            numbers per row, or (n, n_columns) from numeric columns, by row
                            group (pyarrow)
folder of PNG/JPEG          uint8 (n, height, width), grayscale, files in name order;
                            16-bit images scaled to 8 bits, alpha dropped, other files
                            (no .png/.jpg/.jpeg suffix) skipped
folder or glob of .npy or   their rows one after the other, in name order
.parquet files
==========================  ============================================================

A column of row ids in a ``.csv`` (with a header) or ``.parquet`` file (``id``, or the one
named by ``id_column``) is never read as a feature. ``.npz`` and ``.csv`` are read whole
(neither format can be read in part); everything else can be streamed.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._common import ARRAY_SUFFIXES, IMAGE_SUFFIXES, STREAMED_SUFFIXES, require_pyarrow
from .csvfile import csv_header, read_csv
from .images import ImageFolderSource
from .npy import NpyShardsSource, NpySource, read_npz
from .parquet import ParquetSource
from .source import Source

__all__ = ["open_source", "read_input", "read_input_with_ids", "table_columns"]


def open_source(path: str | os.PathLike[str], *, id_column: str | None = "auto",
                label_column: str | None = None, image_size: tuple[int, int] | None = None,
                feature_shape: Iterable[int] | None = None) -> Source:
    """Open a data set for reading on demand: ``autoencoders.datasets.open("data/*.parquet")``.

    Parameters
    ----------
    path : str or Path
        A ``.npy``, ``.npz``, ``.csv`` or ``.parquet`` file; a folder of ``.npy`` shards, of
        ``.parquet`` files or of PNG/JPEG images; or a glob pattern of ``.npy`` or
        ``.parquet`` files (matched files in name order). ``.npz`` and ``.csv`` files are
        read into memory.
    id_column : str or None, default "auto"
        For tables (Parquet, CSV): the column holding row ids, never used as a feature;
        "auto" takes a column named ``id`` when there is one, None takes none.
    label_column : str, optional
        For tables: a column of labels (``Source.labels``), never used as a feature.
    image_size : (height, width), optional
        For an image folder: resize every image to this size.
    feature_shape : tuple of int, optional
        See the rows with this shape, e.g. (28, 28) for flat 784-value rows.

    Returns
    -------
    Source

    Raises
    ------
    FileNotFoundError
        When nothing is at ``path`` (or the pattern matches nothing).
    ValueError
        For an unsupported suffix, a folder of mixed file types, or an unreadable file.
    ImportError
        For Parquet files without pyarrow.
    """
    text = str(path)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = [Path(p) for p in sorted(_glob.glob(text))]
        if not files:
            raise FileNotFoundError(f"{text}: no files match this pattern")
        source = _from_files(files, text, id_column, label_column)
    else:
        p = Path(text)
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder")
        if p.is_dir():
            source = _from_folder(p, id_column, label_column, image_size)
        else:
            source = _from_files([p], text, id_column, label_column)
    return source if feature_shape is None else source.reshaped(feature_shape)


def table_columns(path: str | os.PathLike[str]) -> list[str] | None:
    """The column names of a table input without reading its rows: a ``.csv`` file's header,
    or the schema of a ``.parquet`` file (the first of a folder or glob of them); None for
    other inputs, a CSV without a header, or nothing at ``path``.

    Raises
    ------
    ValueError
        For a ``.parquet`` file that is not one (naming it).
    """
    text = str(path)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = [Path(p) for p in sorted(_glob.glob(text))]
    elif Path(text).is_dir():
        files = sorted(p for p in Path(text).glob("*.parquet") if not p.name.startswith("."))
    else:
        files = [Path(text)]
    first = files[0] if files and files[0].is_file() else None
    if first is None:
        return None
    if first.suffix.lower() == ".csv":
        return csv_header(first)
    if first.suffix.lower() == ".parquet":
        try:
            return list(require_pyarrow().read_schema(first).names)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise ValueError(f"{first}: not a readable Parquet file ({exc})") from None
    return None


def read_input(path: str | os.PathLike[str], *, image_size: tuple[int, int] | None = None,
               id_column: str | None = "auto", label_column: str | None = None
               ) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """Read a data file or an image folder into memory.

    Parameters
    ----------
    path : str or Path
        A ``.npy``, ``.npz``, ``.csv`` or ``.parquet`` file, or a folder of PNG/JPEG images
        (see the module docstring for each one's shape and dtype).
    image_size : (height, width), optional
        For an image folder: resize every image to this size (bilinear). Without it, all
        images must have the same size.
    id_column : str or None, default "auto"
        For ``.csv`` and ``.parquet``: a column of row ids, never read as a feature;
        "auto" takes a column named ``id`` when there is one. See
        :func:`read_input_with_ids` for the ids themselves.
    label_column : str, optional
        For ``.csv`` and ``.parquet``: a column of labels (class names or numbers), never
        read as a feature; returned as ``y``.

    Returns
    -------
    X : ndarray, shape (n, ...)
    y : ndarray of shape (n,) or None
        Labels, from an ``.npz`` that holds them or the table's ``label_column``; otherwise
        None.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        For an unsupported suffix, non-numeric or ragged CSV cells, an ``.npz`` without a
        recognisable data array, a ragged or object (pickled) array, a truncated or corrupt
        file, an image folder without images, with an unreadable image file, or with images
        of different sizes (and no ``image_size``); a named ``id_column`` or
        ``label_column`` that is missing, or labels with empty cells.
    ImportError
        For ``.parquet`` without pyarrow installed.
    """
    X, y, _ = read_input_with_ids(path, image_size=image_size, id_column=id_column,
                                  label_column=label_column)
    return X, y


def read_input_with_ids(path: str | os.PathLike[str], *,
                        image_size: tuple[int, int] | None = None,
                        id_column: str | None = "auto", label_column: str | None = None
                        ) -> tuple[NDArray[Any], NDArray[Any] | None, NDArray[Any] | None]:
    """:func:`read_input`, and the rows' ids: ``(X, y, ids)``.

    ``ids`` is an array of shape (n,) from the id column of a ``.csv`` or ``.parquet`` file,
    the file names of an image folder, or None; ``y`` the labels of an ``.npz`` or of the
    table's ``label_column``. Errors as :func:`read_input`.
    """
    source = open_source(path, id_column=id_column, label_column=label_column,
                         image_size=image_size)
    return source.to_numpy(), source.labels(), source.ids(np.arange(len(source)))


def _from_files(files: list[Path], what: str, id_column: str | None,
                label_column: str | None = None) -> Source:
    suffixes = {f.suffix.lower() for f in files}
    if label_column is not None and not suffixes <= {".csv", ".parquet"}:
        raise ValueError(f"{what}: a label column needs a table (.csv or .parquet); an .npz "
                         "holds its labels as 'y', other files none")
    if id_column not in (None, "auto") and not suffixes <= {".csv", ".parquet"}:
        raise ValueError(f"{what}: an id column ({id_column!r}) needs a table (.csv or "
                         ".parquet); arrays have none (leave --id-column out)")
    if suffixes == {".npy"}:
        return NpySource(files[0]) if len(files) == 1 else NpyShardsSource(files)
    if suffixes == {".parquet"}:
        return ParquetSource(files, id_column, label_column)
    if len(files) == 1 and suffixes == {".npz"}:
        return read_npz(files[0])
    if len(files) == 1 and suffixes == {".csv"}:
        return read_csv(files[0], id_column, label_column)
    if suffixes <= {".npz", ".csv"}:
        raise ValueError(f"{what}: several {'/'.join(sorted(suffixes))} files; they are read "
                         "whole, one at a time: pass one, or convert them to .npy shards or "
                         ".parquet files to read them together")
    if len(suffixes) > 1:
        raise ValueError(f"{what}: matches files of several types ({', '.join(sorted(suffixes))});"
                         " stream one type: .npy shards or .parquet files")
    raise ValueError(f"{what}: unsupported input type {next(iter(suffixes)) or '(no suffix)'}; "
                     f"use one of {', '.join(ARRAY_SUFFIXES)} or a folder of "
                     f"{'/'.join(IMAGE_SUFFIXES)} images")


def _from_folder(folder: Path, id_column: str | None, label_column: str | None,
                 image_size: tuple[int, int] | None) -> Source:
    entries = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    kinds = {p.suffix.lower() for p in entries}
    if kinds & set(IMAGE_SUFFIXES) or not kinds & set(STREAMED_SUFFIXES):
        if label_column is not None:
            raise ValueError(f"{folder}: a folder of images has no label column; a label "
                             "column needs a table (.csv or .parquet)")
        return ImageFolderSource(folder, image_size)
    data = [p for p in entries if p.suffix.lower() in STREAMED_SUFFIXES]
    return _from_files(data, os.fspath(folder), id_column, label_column)
