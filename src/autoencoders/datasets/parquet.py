"""Parquet files as a streaming source: read by row group with pyarrow."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._io import check_fits_in_memory
from ._common import (
    check_labels_present,
    check_unique_names,
    file_identity,
    name_list,
    require_pyarrow,
)
from .source import Source

__all__ = ["ParquetSource"]


class ParquetSource(Source):
    """Parquet files read by row group with pyarrow.

    The features are either one column of lists (list or fixed-size list of numbers, one
    row's values; all rows of the same length) or every numeric column; the columns named
    ``id_column`` and ``label_column`` are kept apart as the rows' ids and labels and never
    used as features.

    Parameters
    ----------
    paths : sequence of str or Path
        Files whose rows are numbered one after the other; they need the same columns.
    id_column : str or None, default "auto"
        The id column; "auto" takes a column named ``id`` when there is one; None: no ids.
    label_column : str or None
        A column of labels (class names or numbers).

    Raises
    ------
    ValueError
        For files of different columns, a missing ``id_column`` or ``label_column``, no
        feature column, a
        non-numeric column, or list rows of different lengths or with missing values.
    ImportError
        Without pyarrow.

    Notes
    -----
    A row group is decoded whole when any of its rows is asked for, so memory grows with
    the largest row group: write files with row groups of thousands of rows
    (``pyarrow.parquet.write_table(table, path, row_group_size=4096)``, as
    ``autoencoders embed --out x.parquet`` writes them), not millions.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]], id_column: str | None = "auto",
                 label_column: str | None = None) -> None:
        self._pq = require_pyarrow()
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ValueError("no .parquet files given")
        files = self._files = [self._file(p) for p in self.paths]
        schema = files[0].schema_arrow
        for p, f in zip(self.paths[1:], files[1:], strict=True):
            if f.schema_arrow.names != schema.names:
                raise ValueError(f"{p}: columns {name_list(f.schema_arrow.names)} differ from "
                                 f"{self.paths[0]}'s {name_list(schema.names)}; all files need "
                                 "the same columns")
            for field in schema:  # a float file read as uint8 would be truncated silently
                other = f.schema_arrow.field(field.name).type
                if other != field.type:
                    raise ValueError(f"{p}: column {field.name!r} holds {other}, but "
                                     f"{self.paths[0]} has {field.type}; all files need the "
                                     "same column types (cast them when writing)")
        names = schema.names
        check_unique_names(names, self.paths[0])  # pyarrow cannot pick one of them by name
        if id_column == "auto":
            id_column = "id" if "id" in names else None
        if id_column is not None and id_column not in names:
            raise ValueError(f"{self.paths[0]}: no column {id_column!r} for the ids (columns: "
                             f"{name_list(names)}); pass the right --id-column, or none")
        if label_column is not None and label_column not in names:
            raise ValueError(f"{self.paths[0]}: no column {label_column!r} for the labels "
                             f"(columns: {name_list(names)}); pass the right --label-column")
        self.id_column, self.label_column = id_column, label_column
        self.columns = [n for n in names if n not in (id_column, label_column)]
        if not self.columns:
            raise ValueError(f"{self.paths[0]}: no feature columns besides {id_column!r}")
        self._list = len(self.columns) == 1 and _is_list(schema.field(self.columns[0]).type)
        self.feature_names = None if self._list else tuple(self.columns)
        import pyarrow as pa

        for name in self.columns:
            kind = schema.field(name).type
            value = kind.value_type if _is_list(kind) else kind
            if not (pa.types.is_integer(value) or pa.types.is_floating(value)
                    or pa.types.is_boolean(value)):  # 0/1, as a bool array is taken
                raise ValueError(f"{self.paths[0]}: column {name!r} is not numeric ({kind}); "
                                 "features must be numbers (or one list column of numbers); "
                                 f"if it holds row ids or labels, pass --id-column {name} "
                                 f"or --label-column {name} (in Python: id_column={name!r} "
                                 f"or label_column={name!r}), or remove it")
            if _is_list(kind) and not self._list:
                raise ValueError(f"{self.paths[0]}: list column {name!r} beside other "
                                 "feature columns; keep one list column (and an id column)")
        # (file, row group) of every group, and the first row of each.
        self._groups = [(i, g) for i, f in enumerate(files)
                        for g in range(f.metadata.num_row_groups)]
        sizes = [files[i].metadata.row_group(g).num_rows for i, g in self._groups]
        self.offsets = np.cumsum([0] + sizes)
        self.n_rows = int(self.offsets[-1])
        if self.n_rows == 0:
            raise ValueError(f"{self.paths[0]}: no rows")
        first = self._decode(0)
        self.feature_shape, self.dtype = tuple(first.shape[1:]), first.dtype
        self._cache: tuple[int, np.ndarray] | None = (0, first)

    def _file(self, path: Path) -> Any:
        try:
            return self._pq.ParquetFile(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such file") from None
        except Exception as exc:  # pyarrow's ArrowInvalid and friends
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None

    def _read_group(self, k: int, columns: list[str]) -> Any:
        i, g = self._groups[k]
        if self._files is None:  # unpickled: files are opened again where the rows are read
            self._files = [self._file(p) for p in self.paths]
        check_fits_in_memory(self._files[i].metadata.row_group(g).total_byte_size,
                             f"{self.paths[i]}: row group {g}", "write the file with row "
                             "groups of thousands of rows (row_group_size=4096)")
        try:
            return self._files[i].read_row_group(g, columns=columns)
        except Exception as exc:
            raise ValueError(f"{self.paths[i]}: row group {g} could not be read ({exc}); the "
                             "file is truncated or corrupt") from None

    def _decode(self, k: int) -> np.ndarray:
        """Row group ``k``'s features: (rows, n_features)."""
        table = self._read_group(k, self.columns)
        where = f"{self.paths[self._groups[k][0]]}"
        if self._list:
            col = table.column(0).combine_chunks()
            if col.null_count:
                raise ValueError(f"{where}: missing rows in list column {self.columns[0]!r}")
            import pyarrow as pa

            if pa.types.is_fixed_size_list(col.type):
                width = col.type.list_size
            else:
                lengths = np.diff(col.offsets.to_numpy())
                width = int(lengths[0]) if len(lengths) else 0
                if (lengths != width).any():
                    raise ValueError(f"{where}: list column {self.columns[0]!r} has rows of "
                                     f"{width} and {int(lengths[lengths != width][0])} values;"
                                     " every row needs the same number")
            values = col.flatten()
            if values.null_count:
                raise ValueError(f"{where}: missing values in list column {self.columns[0]!r}")
            return _no_bool(values.to_numpy(zero_copy_only=False).reshape(len(col), width))
        for name, col in zip(self.columns, table.columns, strict=True):
            if col.null_count:
                raise ValueError(f"{where}: column {name!r} has {col.null_count} missing "
                                 "values; fill or drop them first")
        return _no_bool(np.stack([c.to_numpy() for c in table.columns], axis=1))

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        out = np.empty((len(rows), *self.feature_shape), dtype=self.dtype)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for k in np.unique(which):
            if self._cache is None or self._cache[0] != k:
                decoded = self._decode(int(k))
                if decoded.shape[1:] != self.feature_shape:
                    i, g = self._groups[k]
                    raise ValueError(f"{self.paths[i]}: row group {g} has rows of "
                                     f"{decoded.shape[1]} values, but the rows before have "
                                     f"{self.feature_shape[0]}; every row needs the same "
                                     "number")
                self._cache = (k, decoded)
            mask = which == k
            out[mask] = self._cache[1][rows[mask] - self.offsets[k]]
        return out

    def ids(self, rows: ArrayLike) -> NDArray[Any] | None:
        if self.id_column is None:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        parts = []
        for k in np.unique(which):
            col = self._read_group(int(k), [self.id_column]).column(0).to_numpy(
                zero_copy_only=False)
            parts.append(col[rows[which == k] - self.offsets[k]])
        return np.concatenate(parts) if parts else np.empty(0)

    def labels(self) -> NDArray[Any] | None:
        if self.label_column is None:
            return None
        return check_labels_present(np.concatenate([
            self._read_group(k, [self.label_column]).column(0).to_numpy(zero_copy_only=False)
            for k in range(len(self._groups))]), self.paths[0], self.label_column)

    def _identity(self) -> list[Any]:
        return [file_identity(p) for p in self.paths] + [self.id_column, self.label_column]

    def __getstate__(self) -> dict[str, Any]:
        # picklable for process pools (Dask, Ray): no open files
        state = self.__dict__.copy()
        state.pop("_pq", None)
        state.update(_files=None, _cache=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _pq=require_pyarrow())


def _is_list(kind: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind)
                or pa.types.is_fixed_size_list(kind))


def _no_bool(values: NDArray[Any]) -> NDArray[Any]:
    """Features of bool columns as float32 0/1, as an in-memory bool array is taken."""
    return values.astype(np.float32) if values.dtype == bool else values
