"""Data sets read on demand, with bounded memory: the streaming sources.

A *source* is a table of ``n`` rows, each of one ``feature_shape``, that hands out the rows
asked for (:meth:`Source.take`) without holding the data set in memory. The training loop
asks for one shuffle buffer's rows at a time (``autoencoders.batching``); ``embed`` and
``reconstruct`` read contiguous chunks (:func:`iter_chunks`). Every source gives the same
rows as the in-memory array of the same data, so training on it gives the same batches.

=========================  ===========================================================
source                     how rows are read
=========================  ===========================================================
``.npy`` file              memory-mapped (``np.load(mmap_mode="r")``) for each request
                           and unmapped after it, so mapped pages do not pile up
folder or glob of .npy     shards in name order, each memory-mapped as above
``.parquet`` file(s)       by row group with pyarrow (``autoencoders.datasets.parquet``)
folder of PNG/JPEG         each image decoded when its row is asked for
``.npz``, ``.csv``         read whole into memory (neither format can be read in part)
=========================  ===========================================================
"""

from __future__ import annotations

import glob as _glob
import hashlib
import math
import os
from pathlib import Path

import numpy as np

__all__ = ["Source", "ArraySource", "NpySource", "NpyShardsSource", "ImageFolderSource",
           "open_source", "iter_chunks"]

#: Rows a chunked reader takes at once when nothing else is asked: 4,096 rows of 784
#: bytes are 3.2 MB.
CHUNK_ROWS = 4096


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
    """

    n_rows: int
    feature_shape: tuple
    dtype: np.dtype

    def __len__(self) -> int:
        return self.n_rows

    @property
    def shape(self) -> tuple:
        """(n_rows, *feature_shape), as an array's ``shape``."""
        return (self.n_rows, *self.feature_shape)

    @property
    def nbytes(self) -> int:
        """Bytes the rows would take in memory as ``dtype``."""
        return self.n_rows * math.prod(self.feature_shape) * np.dtype(self.dtype).itemsize

    def take(self, rows) -> np.ndarray:
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

    def ids(self, rows) -> np.ndarray | None:
        """The id of each row in ``rows`` (the id column, or file names), or None."""
        return None

    def to_numpy(self) -> np.ndarray:
        """All rows in memory, shape (n_rows, *feature_shape)."""
        return self.read()

    def fingerprint(self) -> str:
        """A hex digest that changes when the data may have: files' paths, sizes and
        modification times (not their bytes, which would take a pass over the data)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(repr((type(self).__name__, self.shape, str(self.dtype))).encode())
        for part in self._identity():
            h.update(repr(part).encode())
        return h.hexdigest()

    def subset(self, rows) -> Source:
        """A source of only the rows ``rows`` (ascending), in that order."""
        return _RowsView(self, np.asarray(rows, dtype=np.int64))

    def without(self, rows) -> Source:
        """A source of every row except ``rows`` (ascending), in file order."""
        return _ExcludingView(self, np.unique(np.asarray(rows, dtype=np.int64)))

    def reshaped(self, feature_shape) -> Source:
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

    def map(self, fn, dtype) -> Source:
        """The same rows passed through ``fn`` as they are read: ``fn`` takes and returns
        arrays of shape (k, *feature_shape), returning ``dtype``."""
        return _Mapped(self, fn, dtype)

    def _take(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _identity(self) -> list:
        return [id(self)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n_rows} rows of {self.feature_shape} {self.dtype})"


def iter_chunks(source: Source, rows: int = CHUNK_ROWS):
    """Yield ``(start, stop, array)`` for consecutive chunks of at most ``rows`` rows."""
    for start in range(0, source.n_rows, rows):
        stop = min(source.n_rows, start + rows)
        yield start, stop, source.read(start, stop)


def _file_identity(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


class ArraySource(Source):
    """An in-memory array seen as a source (tests, ``.npz`` and ``.csv`` files).

    Parameters
    ----------
    array : ndarray, shape (n, *feature_shape)
    ids : array of shape (n,), optional
    """

    def __init__(self, array: np.ndarray, ids=None):
        self.array = np.asarray(array)
        if self.array.ndim < 2:
            raise ValueError(f"expected an array of shape (n, ...), got {self.array.shape}")
        self.n_rows, self.feature_shape = len(self.array), tuple(self.array.shape[1:])
        self.dtype = self.array.dtype
        self._row_ids = None if ids is None else np.asarray(ids)

    def _take(self, rows):
        return self.array[rows]

    def ids(self, rows):
        return None if self._row_ids is None else self._row_ids[np.asarray(rows)]

    def _identity(self):
        data = memoryview(np.ascontiguousarray(self.array)).cast("B")
        return [hashlib.blake2b(data, digest_size=16).hexdigest()]


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

    def __init__(self, path):
        from .files import _numpy_errors

        with _numpy_errors(Path(path)):
            mm = np.load(path, mmap_mode="r", allow_pickle=False)
        if mm.ndim < 2:
            raise ValueError(f"{path}: holds an array of shape {mm.shape}; expected "
                             "(n_samples, ...) with one row per sample")
        self._describe(mm)
        mm._mmap.close()

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
        self.path = Path(mm.filename)
        self.n_rows, self.feature_shape, self.dtype = mm.shape[0], tuple(mm.shape[1:]), mm.dtype
        self._offset = mm.offset
        self._fortran = bool(mm.flags.f_contiguous and not mm.flags.c_contiguous)

    def _map(self) -> np.memmap:
        return np.memmap(self.path, dtype=self.dtype, mode="r", offset=self._offset,
                         shape=self.shape, order="F" if self._fortran else "C")

    def _take(self, rows):
        mm = self._map()
        try:
            if len(rows) and rows[-1] - rows[0] == len(rows) - 1:  # a contiguous run
                return np.array(mm[rows[0]:rows[-1] + 1])
            return mm[rows]
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: could not be read ({exc}); it changed or was "
                             "truncated since it was opened") from None
        finally:
            mm._mmap.close()  # unmap now: mapped pages would count as resident memory

    def _identity(self):
        return [_file_identity(self.path)]


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

    def __init__(self, paths):
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

    def _take(self, rows):
        out = np.empty((len(rows), *self.feature_shape), dtype=self.dtype)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for i in np.unique(which):
            mask = which == i
            out[mask] = self.shards[i].take(rows[mask] - self.offsets[i])
        return out

    def _identity(self):
        return [_file_identity(s.path) for s in self.shards]


class ImageFolderSource(Source):
    """A folder of PNG/JPEG images decoded when their rows are asked for (grayscale uint8,
    files in name order, as :func:`autoencoders.datasets.read_input` reads them). The ids
    are the file names.

    Parameters
    ----------
    folder : str or Path
    image_size : (height, width), optional
        Resize every image to this size; without it, every image must have the first one's.

    Raises
    ------
    ValueError
        For a folder without images; when a row is read, for an unreadable image or one of
        another size.
    """

    def __init__(self, folder, image_size=None):
        from .files import IMAGE_SUFFIXES

        self.folder = Path(folder)
        self.files = sorted(p for p in self.folder.iterdir()
                            if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise ValueError(f"{self.folder}: no {'/'.join(IMAGE_SUFFIXES)} images in this "
                             "folder")
        self.image_size = image_size
        self.n_rows, self.dtype = len(self.files), np.dtype(np.uint8)
        self.feature_shape = self._load(0).shape

    def _load(self, i: int) -> np.ndarray:
        from .files import _read_image

        image = _read_image(self.files[i], self.image_size)
        if hasattr(self, "feature_shape") and image.shape != self.feature_shape:
            raise ValueError(f"{self.files[i]}: size {image.shape} differs from "
                             f"{self.feature_shape} of {self.files[0].name}; pass --image-size "
                             "HxW (image_size=(h, w)) to resize all images to one size")
        return image

    def _take(self, rows):
        out = np.empty((len(rows), *self.feature_shape), dtype=np.uint8)
        for j, i in enumerate(rows):
            out[j] = self._load(int(i))
        return out

    def ids(self, rows):
        return np.array([self.files[int(i)].name for i in rows], dtype=object)

    def _identity(self):
        return [_file_identity(p) for p in self.files] + [self.image_size]


class _View(Source):
    """Some rows of a base source, in ascending order; subclasses map row numbers."""

    def __init__(self, base: Source):
        self.base, self.feature_shape, self.dtype = base, base.feature_shape, base.dtype

    def _to_base(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _take(self, rows):
        return self.base.take(self._to_base(rows))

    def ids(self, rows):
        return self.base.ids(self._to_base(np.asarray(rows, dtype=np.int64)))


class _RowsView(_View):
    def __init__(self, base, rows):
        super().__init__(base)
        if len(rows) and (np.any(np.diff(rows) <= 0) or rows[0] < 0 or rows[-1] >= len(base)):
            raise ValueError("subset rows must be ascending row numbers of the source")
        self.rows, self.n_rows = rows, len(rows)

    def _to_base(self, rows):
        return self.rows[rows]

    def _identity(self):
        return [self.base.fingerprint(), hashlib.blake2b(self.rows.tobytes()).hexdigest()]


class _ExcludingView(_View):
    def __init__(self, base, excluded):
        super().__init__(base)
        if len(excluded) and (excluded[0] < 0 or excluded[-1] >= len(base)):
            raise ValueError("excluded rows must be row numbers of the source")
        self.excluded, self.n_rows = excluded, len(base) - len(excluded)
        # Row j of the view is base row j + k, k = how many excluded rows come before it.
        self._shifted = excluded - np.arange(len(excluded))

    def _to_base(self, rows):
        return rows + np.searchsorted(self._shifted, rows, side="right")

    def _identity(self):
        return [self.base.fingerprint(), hashlib.blake2b(self.excluded.tobytes()).hexdigest()]


def _unchanged(array):
    return array


class _Mapped(_View):
    """The base's rows through ``fn``, optionally seen with another feature shape."""

    def __init__(self, base, fn, dtype, feature_shape=None):
        super().__init__(base)
        self.fn, self.dtype, self.n_rows = fn, np.dtype(dtype), base.n_rows
        self.feature_shape = base.feature_shape if feature_shape is None else feature_shape

    def _to_base(self, rows):
        return rows

    def _take(self, rows):
        return self.fn(self.base.take(rows))

    def _identity(self):
        return [self.base.fingerprint()]


def open_source(path, *, id_column: str | None = "auto", image_size=None,
                feature_shape=None) -> Source:
    """Open a data set for streaming: ``autoencoders.datasets.open("data/*.parquet")``.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` or ``.parquet`` file; a folder of ``.npy`` shards, of ``.parquet`` files
        or of PNG/JPEG images; or a glob pattern of ``.npy`` or ``.parquet`` files (matched
        files in name order). ``.npz`` and ``.csv`` files are read into memory.
    id_column : str or None, default "auto"
        For tables (Parquet, CSV): the column holding row ids, never used as a feature;
        "auto" takes a column named ``id`` when there is one, None takes none.
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
    """
    text = str(path)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        files = [Path(p) for p in sorted(_glob.glob(text))]
        if not files:
            raise FileNotFoundError(f"{text}: no files match this pattern")
        source = _from_files(files, text, id_column)
    else:
        p = Path(text)
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder")
        if p.is_dir():
            source = _from_folder(p, id_column, image_size)
        else:
            source = _from_files([p], text, id_column)
    return source if feature_shape is None else source.reshaped(feature_shape)


def _from_files(files: list[Path], what: str, id_column) -> Source:
    from .files import ARRAY_SUFFIXES, IMAGE_SUFFIXES, read_input_with_ids

    suffixes = {f.suffix.lower() for f in files}
    if suffixes == {".npy"}:
        return NpySource(files[0]) if len(files) == 1 else NpyShardsSource(files)
    if suffixes == {".parquet"}:
        from .parquet import ParquetSource

        return ParquetSource(files, id_column)
    if len(files) == 1 and suffixes <= {".npz", ".csv"}:
        X, _, ids = read_input_with_ids(files[0], id_column=id_column)
        return ArraySource(X, ids)
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


def _from_folder(folder: Path, id_column, image_size) -> Source:
    from .files import IMAGE_SUFFIXES

    entries = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    kinds = {p.suffix.lower() for p in entries}
    if kinds & set(IMAGE_SUFFIXES) or not kinds:
        return ImageFolderSource(folder, image_size)
    if not kinds & {".npy", ".parquet"}:
        raise ValueError(f"{folder}: holds {', '.join(sorted(k or '(no suffix)' for k in kinds))}"
                         " files; a folder to read holds PNG/JPEG images, .npy shards or "
                         ".parquet files")
    data = [p for p in entries if p.suffix.lower() in (".npy", ".parquet")]
    return _from_files(data, os.fspath(folder), id_column)
