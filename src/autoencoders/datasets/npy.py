"""NumPy files: ``.npy`` memory-mapped row by row (one file or shards of one), ``.npz``
read whole (a zip archive cannot be mapped)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from .._io import check_fits_in_memory
from ._common import check_labels_present, file_identity, numpy_errors
from .source import ArraySource, Source

__all__ = ["NpySource", "NpyShardsSource", "read_npz"]

_X_KEYS = ("X", "x", "data", "images")
_Y_KEYS = ("y", "labels", "targets")


class NpySource(Source):
    """A ``.npy`` file, memory-mapped for each read and unmapped after it.

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    ValueError
        For a file that is not a numeric NumPy array of at least 2 dimensions (object
        arrays, which would need pickle, included).
    """

    def __init__(self, path: str | Path) -> None:
        with numpy_errors(Path(path)):
            mm = np.load(path, mmap_mode="r", allow_pickle=False)
        if not isinstance(mm, np.memmap):  # np.load reads by content, not by suffix
            mm.close()
            raise ValueError(f"{path}: an .npz archive (a zip of arrays), not a .npy file; "
                             "name it .npz, or save its data array with numpy.save")
        if mm.ndim < 2:
            raise ValueError(f"{path}: holds an array of shape {mm.shape}; expected "
                             "(n_samples, ...) with one row per sample")
        self._describe(mm)
        mm._mmap.close()  # type: ignore[attr-defined]

    @staticmethod
    def can_wrap(mm: np.memmap) -> bool:
        """Whether ``mm`` is a whole file's mapping (as ``np.load(mmap_mode="r")`` gives),
        not a view of part of one, so that it can be streamed from its file."""
        import mmap

        return bool(mm.filename) and isinstance(mm.base, mmap.mmap) and mm.ndim >= 2

    @classmethod
    def from_memmap(cls, mm: np.memmap) -> NpySource:
        """The file behind a memory-mapped array (see :meth:`can_wrap`)."""
        self = cls.__new__(cls)
        self._describe(mm)
        return self

    def _describe(self, mm: np.memmap) -> None:
        """Where the rows are in the file: what each read maps again."""
        assert mm.filename is not None  # a file's mapping (np.load, or checked by can_wrap)
        self.path = Path(mm.filename)
        self.n_rows, self.feature_shape = mm.shape[0], tuple(mm.shape[1:])
        # bool read as float32 0/1, as an in-memory bool array is taken (fit took a bool
        # .npy, and embed of the same file refused it: a hostile trial).
        self._stored = mm.dtype
        self.dtype = np.dtype(np.float32) if mm.dtype == bool else mm.dtype
        self._offset = mm.offset
        self._fortran = bool(mm.flags.f_contiguous and not mm.flags.c_contiguous)

    def _map(self) -> np.memmap:
        return np.memmap(self.path, dtype=self._stored, mode="r", offset=self._offset,
                         shape=self.shape, order="F" if self._fortran else "C")

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        mm = self._map()
        try:
            if len(rows) and rows[-1] - rows[0] == len(rows) - 1:  # a contiguous run
                return np.array(mm[rows[0]:rows[-1] + 1], dtype=self.dtype)
            return cast(NDArray[Any], mm[rows].astype(self.dtype, copy=False))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: could not be read ({exc}); it changed or was "
                             "truncated since it was opened") from None
        finally:
            # Unmap now: mapped pages would count as resident memory.
            mm._mmap.close()  # type: ignore[attr-defined]  # numpy's private mmap, not in stubs

    def _identity(self) -> list[Any]:
        return [file_identity(self.path)]


class NpyShardsSource(Source):
    """``.npy`` files of the same feature shape and dtype, one after the other.

    Parameters
    ----------
    paths : sequence of str or Path
        The shards, in the order their rows are numbered.

    Raises
    ------
    ValueError
        For no shards, or shards of different feature shapes or dtypes.
    """

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.shards = [NpySource(p) for p in paths]
        if not self.shards:
            raise ValueError("no .npy shards given")
        first = self.shards[0]
        for s in self.shards[1:]:
            if (s.feature_shape, s.dtype) != (first.feature_shape, first.dtype):
                raise ValueError(f"{s.path}: rows of shape {s.feature_shape} {s.dtype}, but "
                                 f"{first.path} has {first.feature_shape} {first.dtype}; all "
                                 "shards need the same row shape and dtype")
        self.feature_shape, self.dtype = first.feature_shape, first.dtype
        self.offsets = np.cumsum([0] + [s.n_rows for s in self.shards])
        self.n_rows = int(self.offsets[-1])

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        out = np.empty((len(rows), *self.feature_shape), dtype=self.dtype)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for i in np.unique(which):
            mask = which == i
            out[mask] = self.shards[i].take(rows[mask] - self.offsets[i])
        return out

    def _identity(self) -> list[Any]:
        return [file_identity(s.path) for s in self.shards]


def read_npz(path: str | Path) -> ArraySource:
    """An ``.npz`` archive's data array (named ``X``, ``x``, ``data``, ``images``, or the
    only one) with its labels (``y``, ``labels`` or ``targets``, when present).

    Raises
    ------
    ValueError
        For an unreadable archive, no recognisable data array, an object (pickled) array,
        or labels of another length than the data (of another shape than (n,): when read).
    MemoryError
        Before decompressing, when the arrays' declared shapes would not fit in memory (a
        186-byte archive can declare (10^11, 784)).
    """
    path = Path(path)
    with numpy_errors(path):
        archive = np.load(path, mmap_mode="r", allow_pickle=False)
    if isinstance(archive, np.ndarray):  # np.load reads by content, not by suffix
        raise ValueError(f"{path}: a .npy file (one array), not an .npz archive; name it .npy")
    with numpy_errors(path):
        declared = _declared_bytes(path)
    check_fits_in_memory(declared, f"{path}, decompressed,",
                         "convert it to .npy shards or .parquet files, which are streamed")
    with archive:
        keys = list(archive.keys())
        x_key = next((k for k in _X_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
        if x_key is None:
            raise ValueError(f"{path}: holds arrays {keys}; name the data array one of "
                             f"{', '.join(_X_KEYS)}")
        y_key = next((k for k in _Y_KEYS if k in keys), None)
        with numpy_errors(path):
            X = archive[x_key]
            y = archive[y_key] if y_key is not None else None
    if y is not None and y.ndim and len(y) != len(X):
        raise ValueError(f"{path}: '{x_key}' has {len(X)} rows but '{y_key}' has {len(y)}")
    return _Archive(X, labels=y, where=f"{path}", column=str(y_key))


class _Archive(ArraySource):
    """An ``.npz``'s arrays: its labels checked when asked for (``--label-column none``
    reads the data without them, missing ones included)."""

    def __init__(self, X: NDArray[Any], labels: NDArray[Any] | None, where: str,
                 column: str) -> None:
        super().__init__(X, labels=labels)
        self._where, self._column = where, column

    def labels(self) -> NDArray[Any] | None:
        labels = super().labels()
        if labels is not None and labels.ndim != 1:  # cluster counted them: a traceback
            raise ValueError(f"{self._where}: '{self._column}' has shape {labels.shape}, but "
                             "labels are one per sample, of shape (n,); save them so, or "
                             "read the data without them (--label-column none)")
        return None if labels is None else check_labels_present(labels, self._where,
                                                                 self._column)


def _declared_bytes(path: Path) -> int:
    """Bytes the arrays of an ``.npz`` declare in their headers (read without their data)."""
    import zipfile

    total = 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith(".npy"):
                continue
            with zf.open(name) as f:
                version = np.lib.format.read_magic(f)
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read is None:  # version 3 (UTF-8 names): np.load checks it
                    continue
                shape, _, dtype = read(f)
            total += math.prod(shape) * dtype.itemsize
    return total
