"""Writing arrays to ``.npy``, ``.csv`` or ``.parquet``, chunk by chunk and atomically."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import numpy as np
from numpy.typing import NDArray

from .._io import atomic_path, names_a_folder
from ._common import require_pyarrow

__all__ = ["write_array", "ArrayWriter", "STDOUT", "check_array_path", "CSV_FLOAT"]

#: How a CSV writes a float32 value: 7 significant digits, within float32's rounding.
CSV_FLOAT = "%.7g"

#: The output path that means standard output (CSV).
STDOUT = "-"


def check_array_path(path: str | os.PathLike[str]) -> str:
    """The format of an array output path, checked before any work is done on it.

    Returns
    -------
    str
        ".npy", ".csv" or ".parquet" (".csv" for ``-``, standard output).

    Raises
    ------
    ValueError
        For another suffix, or a path that is a folder or ends in '/' (even after a file's
        name: "kept.csv/" wrote over kept.csv, a hostile trial).
    """
    if str(path) == STDOUT:
        return ".csv"
    if names_a_folder(path):
        raise ValueError(f"{path}: a name ending in '/' is a folder's; name a file")
    suffix = Path(path).suffix.lower()
    if suffix not in (".npy", ".csv", ".parquet"):
        raise ValueError(f"{path}: output must end in .npy, .csv or .parquet, or be - "
                         "(standard output, CSV)")
    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder; name a file in it")
    return suffix


def write_array(path: str | os.PathLike[str], array: NDArray[Any],
                columns: list[str] | None = None, *, ids: NDArray[Any] | None = None,
                id_name: str = "id") -> tuple[int, ...]:
    """Write an array to ``.npy``, ``.csv`` or ``.parquet`` by the path's suffix, atomically.

    Parameters
    ----------
    path : str or Path
        Destination; its suffix picks the format. The folder is created when missing.
        ``"-"`` writes CSV to standard output.
    array : ndarray, shape (n, ...)
        Written as is to ``.npy``; flattened to (n, features) for ``.csv`` and ``.parquet``.
    columns : list of str, optional
        Column names for ``.csv`` and ``.parquet``; ``f0, f1, ...`` by default.
    ids : array of shape (n,), optional
        Row ids, written as the first column ``id_name`` of a ``.csv`` or ``.parquet`` (a
        ``.npy`` cannot hold them beside numbers: see :class:`ArrayWriter`).

    Returns
    -------
    tuple of int
        The shape as stored: ``array.shape`` for ``.npy``, (n, features) otherwise.

    Raises
    ------
    ValueError
        For another suffix, or as many column names as columns.
    ImportError
        For ``.parquet`` without pyarrow.
    OSError
        When the destination cannot be written; an existing file there is left intact.
    """
    with ArrayWriter(path, len(array), columns, id_name=id_name) as writer:
        writer.write(array, ids)
    assert writer.shape is not None  # set by the first write
    return writer.shape


class ArrayWriter:
    """Write an array chunk by chunk to ``.npy``, ``.csv`` or ``.parquet``, atomically: the
    file appears, complete, when the ``with`` block ends without an error, and an existing
    file there is left intact otherwise. Memory stays that of one chunk.

    Parameters
    ----------
    path : str or Path
        Destination; its suffix picks the format; "-" is standard output (CSV, not atomic).
    n_rows : int
        Rows that will be written in all (the ``.npy`` header holds the shape).
    columns : list of str, optional
        Column names for ``.csv`` and ``.parquet``; ``f0, f1, ...`` by default.
    id_name : str, default "id"
        Name of the id column, when :meth:`write` gets ids.

    Attributes
    ----------
    shape : tuple of int
        The shape as stored: (n_rows, *row shape) for ``.npy``, (n_rows, features) for the
        tables; known after the first chunk.
    ids_dropped : bool
        Whether ids were given for a ``.npy`` file, which cannot hold them.

    Raises
    ------
    ValueError
        For another suffix, chunks of different row shapes, as many column names as
        columns, or more or fewer rows than ``n_rows`` by the end.
    """

    def __init__(self, path: str | os.PathLike[str], n_rows: int,
                 columns: list[str] | None = None, *, id_name: str = "id") -> None:
        self.path = Path(path)
        # "-" is standard output, as CSV: for pipes ('autoencoders embed ... --out - | ...').
        self.stdout = str(path) == STDOUT
        self.suffix = check_array_path(path)
        self.n_rows, self.columns, self.id_name = n_rows, columns, id_name
        self.shape: tuple[int, ...] | None = None
        self.ids_dropped, self._written = False, 0
        self._file: _Unclosed | BinaryIO | None = None
        self._parquet: Any = None

    def __enter__(self) -> Self:
        if self.stdout:
            if sys.stdout is None:  # started with stdout closed (>&-)
                raise OSError("standard output is closed: nothing can be written to it "
                              "(--out -); name a file with --out instead")
            self._atomic: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
            self._file = _Unclosed(sys.stdout.buffer)
            return self
        self._atomic = atomic_path(self.path)
        self._tmp: Path = self._atomic.__enter__()
        if self.suffix != ".parquet":
            self._file = open(self._tmp, "wb")  # noqa: SIM115 (closed in __exit__)
        return self

    def write(self, chunk: NDArray[Any], ids: NDArray[Any] | None = None) -> None:
        """Append rows: ``chunk`` of shape (k, ...) and, optionally, their ids (k,)."""
        chunk = np.asarray(chunk)
        flat = chunk.reshape(len(chunk), -1)
        if self.shape is None:
            self._start(chunk, flat, ids is not None)
        elif chunk.shape[1:] != self._row_shape:
            raise ValueError(f"{self.path}: a chunk of rows {chunk.shape[1:]} after rows "
                             f"{self._row_shape}")
        if self._written + len(chunk) > self.n_rows:
            raise ValueError(f"{self.path}: more than the {self.n_rows} rows announced")
        self._written += len(chunk)
        if self.suffix == ".npy":
            self.ids_dropped |= ids is not None
            assert self._file is not None  # opened by __enter__
            self._file.write(np.ascontiguousarray(chunk, dtype=self._dtype).tobytes())
        elif self.suffix == ".csv":
            text = io.StringIO()
            np.savetxt(text, flat, delimiter=",", fmt=CSV_FLOAT)
            lines = text.getvalue().splitlines()
            if ids is not None:
                lines = [f"{_csv_cell(i)},{line}" for i, line in zip(ids, lines, strict=True)]
            assert self._file is not None  # opened by __enter__
            self._file.write(("\n".join(lines) + "\n").encode() if lines else b"")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            assert self.columns is not None  # set by _start
            data = {name: flat[:, i] for i, name in enumerate(self.columns)}
            if ids is not None:
                data = {self.id_name: np.asarray(ids), **data}
            table = pa.table(data)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            # Row groups of 4,096 rows, which streaming readers decode whole.
            self._parquet.write_table(table, row_group_size=4096)

    def _start(self, chunk: NDArray[Any], flat: NDArray[Any], with_ids: bool) -> None:
        self._row_shape, self._dtype = chunk.shape[1:], chunk.dtype
        self.columns = (list(self.columns) if self.columns is not None
                        else [f"f{i}" for i in range(flat.shape[1])])
        if len(self.columns) != flat.shape[1]:
            raise ValueError(f"{len(self.columns)} column names for {flat.shape[1]} columns")
        names = ([self.id_name] if with_ids else []) + self.columns
        if len(set(names)) != len(names):  # a Parquet table keeps one column of each name
            raise ValueError(f"{self.path}: repeated column names {names}; name each column "
                             "once")
        if self.suffix == ".npy":
            self.shape = (self.n_rows, *chunk.shape[1:])
            assert self._file is not None  # opened by __enter__
            np.lib.format.write_array_header_2_0(self._file, {
                "descr": np.lib.format.dtype_to_descr(chunk.dtype), "fortran_order": False,
                "shape": self.shape})
            return
        self.shape = (self.n_rows, flat.shape[1])
        if self.suffix == ".csv":
            assert self._file is not None  # opened by __enter__
            self._file.write((",".join(map(_csv_cell, names)) + "\n").encode())
        else:
            require_pyarrow()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        try:
            if self._file is not None:
                self._file.close()
            if self._parquet is not None:
                self._parquet.close()
            if exc is None and self._written != self.n_rows:
                exc = ValueError(f"{self.path}: {self._written} rows written of the "
                                 f"{self.n_rows} announced")
                raise exc
        except BaseException as error:
            self._atomic.__exit__(type(error), error, error.__traceback__)
            raise
        return self._atomic.__exit__(kind, exc, tb)


class _Unclosed:
    """Standard output for a writer: written and flushed, never closed."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def close(self) -> None:
        self.stream.flush()


def _csv_cell(value: object) -> str:
    """A value as one CSV cell, quoted when it holds a comma, a quote or a line break."""
    text = str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
