"""The streaming source: a table of rows read on demand, and its views.

A *source* is a table of ``n`` rows, each of one ``feature_shape``, that hands out the rows
asked for (:meth:`Source.take`) without holding the data set in memory. The training loop
asks for one shuffle buffer's rows at a time (``autoencoders.training.batching``); ``embed``
and ``reconstruct`` read contiguous chunks (:func:`iter_chunks`). Every source gives the same
rows as the in-memory array of the same data, so training on it gives the same batches.
The sources of each file format are in the format's module (``npy``, ``parquet``,
``images``); :func:`autoencoders.datasets.open` picks one by the path.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from .._io import check_fits_in_memory

__all__ = ["Source", "ArraySource", "Without", "iter_chunks", "feature_names_of",
           "CHUNK_ROWS"]

#: Rows a chunked reader takes at once when nothing else is asked: 4,096 rows of 784
#: bytes are 3.2 MB.
CHUNK_ROWS = 4096

#: A function of rows, (k, *feature_shape) to (k, ...), as :meth:`Source.map` takes.
_RowsFn = Callable[[NDArray[Any]], NDArray[Any]]


class Source:
    """Rows read on demand. Subclasses set ``n_rows``, ``feature_shape``, ``dtype`` and
    implement :meth:`_take` (and :meth:`_ids` when they have ids).

    Attributes
    ----------
    n_rows : int
        Number of rows (samples); also ``len(source)``.
    feature_shape : tuple of int
        Shape of one row, e.g. (784,) or (28, 28).
    dtype : numpy.dtype
        The stored dtype (uint8 pixels stay uint8; the estimator scales them).
    feature_names : tuple of str or None
        The names of a table's feature columns (a CSV header, Parquet columns), which the
        estimator records as ``feature_names_in_``; None for unnamed features.
    """

    n_rows: int
    feature_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    feature_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return self.n_rows

    @property
    def shape(self) -> tuple[int, ...]:
        """(n_rows, *feature_shape), as an array's ``shape``."""
        return (self.n_rows, *self.feature_shape)

    @property
    def nbytes(self) -> int:
        """Bytes the rows would take in memory as ``dtype``."""
        return self.n_rows * math.prod(self.feature_shape) * np.dtype(self.dtype).itemsize

    def take(self, rows: ArrayLike) -> np.ndarray:
        """The rows at ``rows``.

        Parameters
        ----------
        rows : array of int, shape (k,)
            Row numbers in [0, n_rows), ascending (reads are fastest in file order).

        Returns
        -------
        ndarray of ``dtype``, shape (k, *feature_shape)

        Raises
        ------
        IndexError
            For row numbers outside [0, n_rows).
        ValueError
            When the file cannot be read (truncated, corrupt, changed since it was opened).
        """
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n_rows):
            raise IndexError(f"rows outside [0, {self.n_rows}) asked of {self}")
        return self._take(rows).reshape(len(rows), *self.feature_shape)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start`` to ``stop`` (exclusive): ``take(range(start, stop))``."""
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        return self.take(np.arange(start, stop, dtype=np.int64))

    def ids(self, rows: ArrayLike) -> np.ndarray | None:
        """The id of each row in ``rows`` (the id column, or file names), or None."""
        return None

    def notes(self) -> list[str]:
        """What reading changed that the user should know (colour images made grey)."""
        return []

    def labels(self) -> np.ndarray | None:
        """Every row's label, shape (n_rows,), when the file holds them (an ``.npz`` with
        ``y``), else None."""
        return None

    def to_numpy(self) -> np.ndarray:
        """All rows in memory, shape (n_rows, *feature_shape).

        Raises
        ------
        MemoryError
            Before reading, when they would not fit in the available memory.
        """
        check_fits_in_memory(self.nbytes, f"{self!r} in memory",
                             "stream it instead (autoencoders.datasets.open and fit, or "
                             "--stream)")
        return self.read()

    def fingerprint(self) -> str:
        """A hex digest that changes when the data may have: files' paths, sizes and
        modification times (not their bytes, which would take a pass over the data)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(repr((type(self).__name__, self.shape, str(self.dtype))).encode())
        for part in self._identity():
            h.update(repr(part).encode())
        return h.hexdigest()

    def subset(self, rows: ArrayLike) -> Source:
        """A source of only the rows ``rows`` (ascending), in that order."""
        return _RowsView(self, np.asarray(rows, dtype=np.int64))

    def without(self, rows: ArrayLike) -> Source:
        """A source of every row except ``rows`` (ascending), in file order."""
        return _ExcludingView(self, np.unique(np.asarray(rows, dtype=np.int64)))

    def reshaped(self, feature_shape: Iterable[int]) -> Source:
        """The same rows seen with another feature shape of as many values, e.g. flat
        784-value rows as (28, 28) images for a convolutional model.

        Raises
        ------
        ValueError
            When the shapes hold different numbers of values.
        """
        feature_shape = tuple(int(d) for d in feature_shape)
        if math.prod(feature_shape) != math.prod(self.feature_shape):
            raise ValueError(f"rows of {math.prod(self.feature_shape)} values cannot be seen "
                             f"as shape {feature_shape}")
        return _Mapped(self, _unchanged, self.dtype, feature_shape)

    def map(self, fn: _RowsFn, dtype: DTypeLike) -> Source:
        """The same rows passed through ``fn`` as they are read: ``fn`` takes and returns
        arrays of shape (k, *feature_shape), returning ``dtype``."""
        return _Mapped(self, fn, dtype)

    def _take(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _identity(self) -> list[Any]:
        return [id(self)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_rows} rows of {self.feature_shape} {self.dtype})"


def feature_names_of(names: Iterable[object] | None) -> tuple[str, ...] | None:
    """Column ``names`` as features' names, or None when there are none or some repeat (a
    DataFrame or a Parquet file keeps one column of each name, so they name nothing)."""
    if names is None:
        return None
    unique = tuple(str(n) for n in names)
    return unique if unique and len(set(unique)) == len(unique) else None


def iter_chunks(source: Source, rows: int = CHUNK_ROWS
                ) -> Iterator[tuple[int, int, NDArray[Any]]]:
    """Yield ``(start, stop, array)`` for consecutive chunks of at most ``rows`` rows."""
    for start in range(0, source.n_rows, rows):
        stop = min(source.n_rows, start + rows)
        yield start, stop, source.read(start, stop)


class ArraySource(Source):
    """An in-memory array seen as a source (tests, ``.npz`` and ``.csv`` files).

    Parameters
    ----------
    array : ndarray, shape (n, *feature_shape)
    ids : array of shape (n,), optional
    labels : array of shape (n,), optional
    feature_names : sequence of str, optional
        One name per feature of a flat table (n, F).

    Raises
    ------
    ValueError
        For an array of fewer than 2 dimensions.
    """

    def __init__(self, array: np.ndarray, ids: ArrayLike | None = None,
                 labels: ArrayLike | None = None,
                 feature_names: Iterable[object] | None = None) -> None:
        self.array = np.asarray(array)
        if self.array.ndim < 2:
            raise ValueError(f"expected an array of shape (n, ...), got {self.array.shape}")
        self.feature_names = feature_names_of(feature_names)
        self.n_rows, self.feature_shape = len(self.array), tuple(self.array.shape[1:])
        self.dtype = self.array.dtype
        self._row_ids = None if ids is None else np.asarray(ids)
        self._labels = None if labels is None else np.asarray(labels)

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        return cast(NDArray[Any], self.array[rows])

    def to_numpy(self) -> np.ndarray:
        return self.array

    def ids(self, rows: ArrayLike) -> NDArray[Any] | None:
        return None if self._row_ids is None else self._row_ids[np.asarray(rows)]

    def labels(self) -> NDArray[Any] | None:
        return self._labels

    def _identity(self) -> list[Any]:
        # numpy's stubs give ndarray __buffer__ only for Python 3.12+ (the config targets 3.11).
        data = memoryview(np.ascontiguousarray(self.array)).cast("B")  # type: ignore[arg-type]
        return [hashlib.blake2b(data, digest_size=16).hexdigest()]


class _View(Source):
    """Some rows of a base source, in ascending order; subclasses map row numbers."""

    def __init__(self, base: Source) -> None:
        self.base, self.feature_shape, self.dtype = base, base.feature_shape, base.dtype
        self.feature_names = base.feature_names

    def _to_base(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        return self.base.take(self._to_base(rows))

    def ids(self, rows: ArrayLike) -> NDArray[Any] | None:
        return self.base.ids(self._to_base(np.asarray(rows, dtype=np.int64)))


class _RowsView(_View):
    def __init__(self, base: Source, rows: NDArray[np.int64]) -> None:
        super().__init__(base)
        if len(rows) and (np.any(np.diff(rows) <= 0) or rows[0] < 0 or rows[-1] >= len(base)):
            raise ValueError("subset rows must be ascending row numbers of the source")
        self.rows, self.n_rows = rows, len(rows)

    def _to_base(self, rows: NDArray[Any]) -> NDArray[np.int64]:
        return cast(NDArray[np.int64], self.rows[rows])

    def _identity(self) -> list[Any]:
        return [self.base.fingerprint(), hashlib.blake2b(self.rows.tobytes()).hexdigest()]


class Without:
    """The row numbers of a whole with some rows left out: ``Without(excluded)[j]`` is the
    number in the whole of row ``j`` of the rest (``j`` an int or an array of them),
    without an array of one entry per row.

    Parameters
    ----------
    excluded : array of int, ascending
    """

    def __init__(self, excluded: ArrayLike) -> None:
        excluded = np.asarray(excluded, dtype=np.int64)
        # Row j of the rest is row j + k of the whole, k = how many excluded rows come
        # before it.
        self._shifted = excluded - np.arange(len(excluded))

    def __getitem__(self, rows: Any) -> Any:
        return rows + np.searchsorted(self._shifted, rows, side="right")


class _ExcludingView(_View):
    def __init__(self, base: Source, excluded: NDArray[np.int64]) -> None:
        super().__init__(base)
        if len(excluded) and (excluded[0] < 0 or excluded[-1] >= len(base)):
            raise ValueError("excluded rows must be row numbers of the source")
        self.excluded, self.n_rows = excluded, len(base) - len(excluded)
        self._rest = Without(excluded)

    def _to_base(self, rows: NDArray[Any]) -> NDArray[Any]:
        return cast(NDArray[Any], self._rest[rows])

    def _identity(self) -> list[Any]:
        return [self.base.fingerprint(), hashlib.blake2b(self.excluded.tobytes()).hexdigest()]


def _unchanged(array: NDArray[Any]) -> NDArray[Any]:
    return array


class _Mapped(_View):
    """The base's rows through ``fn``, optionally seen with another feature shape."""

    def __init__(self, base: Source, fn: _RowsFn, dtype: DTypeLike,
                 feature_shape: Iterable[int] | None = None) -> None:
        super().__init__(base)
        self.fn, self.dtype, self.n_rows = fn, np.dtype(dtype), base.n_rows
        if feature_shape is not None and tuple(feature_shape) != base.feature_shape:
            self.feature_shape, self.feature_names = tuple(feature_shape), None

    def _to_base(self, rows: NDArray[Any]) -> NDArray[Any]:
        return rows

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        return self.fn(self.base.take(rows))

    def _identity(self) -> list[Any]:
        return [self.base.fingerprint()]


