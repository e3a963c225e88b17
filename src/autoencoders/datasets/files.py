"""The user's own data: arrays and tables in files, and folders of images; writing outputs.

Shapes read:

========================  ==========================================================
source                    ``X`` returned
========================  ==========================================================
``.npy``                  the stored array, any shape (n, ...), dtype as stored
``.npz``                  the array named ``X`` (or ``x``, ``data``, or the only one);
                          labels from ``y`` (or ``labels``) when present
``.csv``                  float32 (n, n_columns); a non-numeric first row is a header
``.parquet``              (n, n_values) of the stored dtype from one list column of numbers
                          per row, or (n, n_columns) from numeric columns (needs pyarrow)
folder of PNG/JPEG        uint8 (n, height, width), grayscale, files in name order;
                          16-bit images scaled to 8 bits, alpha dropped, other files
                          (no .png/.jpg/.jpeg suffix) skipped
========================  ==========================================================

A column of row ids in a ``.csv`` (with a header) or ``.parquet`` file (``id``, or the one
named by ``id_column``) is never read as a feature. Streaming sources, which read files
larger than memory in parts, are in :mod:`autoencoders.datasets.streaming`.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np

from .._io import atomic_path

__all__ = ["read_input", "read_input_with_ids", "write_array", "ArrayWriter", "IMAGE_SUFFIXES",
           "ARRAY_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz", ".csv", ".parquet")
_X_KEYS = ("X", "x", "data", "images")
_Y_KEYS = ("y", "labels", "targets")


def read_input(path, *, image_size: tuple[int, int] | None = None, id_column="auto"):
    """Read a data file or an image folder into memory.

    Parameters
    ----------
    path : str or Path
        A ``.npy``, ``.npz``, ``.csv`` or ``.parquet`` file, or a folder of PNG/JPEG images.
    image_size : (height, width), optional
        For an image folder: resize every image to this size (bilinear). Without it, all
        images must have the same size.
    id_column : str or None, default "auto"
        For ``.csv`` and ``.parquet``: a column of row ids, never read as a feature;
        "auto" takes a column named ``id`` when there is one. See
        :func:`read_input_with_ids` for the ids themselves.

    Returns
    -------
    X : ndarray, shape (n, ...)
        See the module docstring for each source's shape and dtype.
    y : ndarray of shape (n,) or None
        Labels, from an ``.npz`` that holds them; otherwise None.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        For an unsupported suffix, non-numeric or ragged CSV cells, an ``.npz`` without a
        recognisable data array, a ragged or object (pickled) array, a truncated or corrupt
        file, an image folder without images, with an unreadable image file, or with images
        of different sizes (and no ``image_size``); a named ``id_column`` that is missing.
    ImportError
        For ``.parquet`` without pyarrow installed.
    """
    X, y, _ = read_input_with_ids(path, image_size=image_size, id_column=id_column)
    return X, y


def read_input_with_ids(path, *, image_size=None, id_column="auto"):
    """:func:`read_input`, and the rows' ids: ``(X, y, ids)``.

    ``ids`` is an array of shape (n,) from the id column of a ``.csv`` or ``.parquet`` file,
    the file names of an image folder, or None.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        X, names = _read_image_folder(path, image_size)
        return X, None, names
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(path), None, None
    if suffix == ".npz":
        return (*_read_npz(path), None)
    if suffix == ".csv":
        X, ids = _read_csv(path, id_column)
        return X, None, ids
    if suffix == ".parquet":
        from .parquet import ParquetSource

        source = ParquetSource([path], id_column)
        return source.to_numpy(), None, source.ids(np.arange(len(source)))
    raise ValueError(
        f"{path}: unsupported input type {suffix or '(no suffix)'}; use one of "
        f"{', '.join(ARRAY_SUFFIXES)} or a folder of {'/'.join(IMAGE_SUFFIXES)} images"
    )


@contextlib.contextmanager
def _numpy_errors(path: Path):
    """Turn numpy's errors for an unusable .npy/.npz file into one ValueError naming it."""
    import zipfile

    try:
        yield
    except ValueError as exc:
        if "Object arrays" in str(exc):  # ragged rows or Python objects, pickled
            raise ValueError(f"{path}: holds a ragged or object array, stored with pickle, "
                             "which autoencoders never loads (unpickling runs code from the "
                             "file); save a numeric array whose rows all have the same "
                             "length") from None
        if "pickled" in str(exc):  # numpy reads a file without its header as a pickle
            raise ValueError(f"{path}: not a NumPy {path.suffix} file (it lacks NumPy's "
                             "header, and pickled data is never loaded); it is corrupt or of "
                             "another format") from None
        raise ValueError(f"{path}: not a readable {path.suffix} file ({exc}); it is "
                         "truncated, corrupt or of another format") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a readable {path.suffix} file ({exc}); it is "
                         "truncated, corrupt or of another format") from None


def _read_npy(path: Path) -> np.ndarray:
    with _numpy_errors(path):
        return np.load(path, allow_pickle=False)


def _read_npz(path: Path):
    with _numpy_errors(path):
        archive = np.load(path, allow_pickle=False)
    with archive:
        keys = list(archive.keys())
        x_key = next((k for k in _X_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
        if x_key is None:
            raise ValueError(f"{path}: holds arrays {keys}; name the data array one of "
                             f"{', '.join(_X_KEYS)}")
        y_key = next((k for k in _Y_KEYS if k in keys), None)
        with _numpy_errors(path):
            X = archive[x_key]
            y = archive[y_key] if y_key is not None else None
    if y is not None and len(y) != len(X):
        raise ValueError(f"{path}: '{x_key}' has {len(X)} rows but '{y_key}' has {len(y)}")
    return X, y


def _read_csv(path: Path, id_column="auto") -> tuple[np.ndarray, np.ndarray | None]:
    """(float32 (n, n_columns) features, ids or None) of a CSV file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the "
                         "CSV as UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    # (line number in the file, cells); errors name file lines, counting the header too.
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num} is not valid CSV ({exc})") from None
    header = None
    if rows and not _is_numeric_row(rows[0][1]):
        header, rows = [c.strip() for c in rows[0][1]], rows[1:]  # a header
    id_at = None
    if id_column == "auto":
        id_at = header.index("id") if header and "id" in header else None
    elif id_column is not None:
        if not header or id_column not in header:
            raise ValueError(f"{path}: no column {id_column!r} for the ids (header: "
                             f"{_names(header) if header else 'none'}); pass the right "
                             "--id-column, or none")
        id_at = header.index(id_column)
    if not rows:
        raise ValueError(f"{path}: no data rows")
    width = len(rows[0][1])
    ids = [] if id_at is not None else None
    out = np.empty((len(rows), width - (id_at is not None)), dtype=np.float32)
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}: line {line} has {len(row)} cells, expected {width}; "
                             "every row needs the same number of columns")
        if id_at is not None:
            ids.append(row[id_at])
            row = row[:id_at] + row[id_at + 1:]
        try:
            out[i] = [float(cell) for cell in row]
        except ValueError:
            bad = next(c for c in row if not _is_number(c))
            raise ValueError(f"{path}: line {line} has a non-numeric or empty cell {bad!r}; "
                             "the CSV must hold numbers only (one header row and an id column "
                             "are allowed)") from None
    if ids is not None:
        ids = np.array(ids, dtype=object)
        if all(_is_number(v) and float(v).is_integer() for v in ids):
            ids = ids.astype(np.int64)
    return out, ids


def _names(names, shown: int = 10) -> str:
    """Column names for a message: the first ``shown``, then how many more."""
    more = f", … ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _csv_cell(value) -> str:
    """A value as one CSV cell, quoted when it holds a comma, a quote or a line break."""
    text = str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_numeric_row(row) -> bool:
    return all(_is_number(cell) for cell in row)


def _require_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet files need pyarrow: "
                          "pip install 'autoencoders[parquet]'") from None
    return pq


def _read_image_folder(folder: Path, image_size) -> tuple[np.ndarray, np.ndarray]:
    """(images, file names) of a folder: uint8 (n, h, w) in name order, object (n,)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        others = sorted({p.suffix.lower() or "(no suffix)" for p in folder.iterdir()
                         if p.is_file() and not p.name.startswith(".")})
        held = f" (it holds {', '.join(others)} files)" if others else ""
        raise ValueError(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images in this folder"
                         f"{held}; a folder to read holds PNG/JPEG images, .npy shards or "
                         ".parquet files")
    images = [_read_image(f, image_size) for f in files]
    sizes = {im.shape for im in images}
    if len(sizes) > 1:
        raise ValueError(f"{folder}: images have different sizes {sorted(sizes)}; pass "
                         "--image-size HxW (image_size=(h, w)) to resize them to one size")
    return np.stack(images), np.array([f.name for f in files], dtype=object)


def _read_image(file: Path, image_size) -> np.ndarray:
    """One image file as uint8 grayscale (h, w), resized to ``image_size`` when given."""
    from PIL import Image

    try:
        with Image.open(file) as img:
            gray = _to_gray8(img)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{file}: not a readable image ({exc}); remove or replace it") from None
    if image_size is not None:
        gray = gray.resize((image_size[1], image_size[0]), Image.BILINEAR)
    return np.asarray(gray, dtype=np.uint8)


def _to_gray8(img):
    """Any Pillow image as 8-bit grayscale ("L").

    16-bit images are scaled by 255/65535, where Pillow's own conversion would clip every
    value above 255 to white. 32-bit integer images ("I", which Pillow also uses for some
    16-bit PNGs) are scaled by the smallest of 255, 65535 or their maximum that holds their
    values. Alpha is dropped; palette, RGB and CMYK images are converted with Pillow's
    ITU-R 601-2 luma weights.
    """
    from PIL import Image

    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.clip(np.asarray(img).astype(np.float64), 0, None)
        top = 65535.0 if img.mode != "I" else next(
            t for t in (255.0, 65535.0, values.max(initial=1.0)) if values.max(initial=0) <= t)
        return Image.fromarray(np.rint(values * (255.0 / top)).astype(np.uint8))
    if img.mode == "F":
        raise OSError("32-bit float images are not supported; save them as 8- or 16-bit PNG")
    return img.convert("L")


def write_array(path, array: np.ndarray, columns: list[str] | None = None, *,
                ids=None, id_name: str = "id") -> tuple[int, ...]:
    """Write an array to ``.npy``, ``.csv`` or ``.parquet`` by the path's suffix, atomically.

    Parameters
    ----------
    path : str or Path
        Destination; its suffix picks the format. The folder is created when missing.
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
    return writer.shape


class ArrayWriter:
    """Write an array chunk by chunk to ``.npy``, ``.csv`` or ``.parquet``, atomically: the
    file appears, complete, when the ``with`` block ends without an error, and an existing
    file there is left intact otherwise. Memory stays that of one chunk.

    Parameters
    ----------
    path : str or Path
        Destination; its suffix picks the format.
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

    def __init__(self, path, n_rows: int, columns=None, *, id_name: str = "id"):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in (".npy", ".csv", ".parquet"):
            raise ValueError(f"{self.path}: output must end in .npy, .csv or .parquet")
        self.n_rows, self.columns, self.id_name = n_rows, columns, id_name
        self.shape, self.ids_dropped, self._written = None, False, 0
        self._file = self._parquet = None

    def __enter__(self):
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        if self.suffix != ".parquet":
            self._file = open(self._tmp, "wb")  # noqa: SIM115 (closed in __exit__)
        return self

    def write(self, chunk: np.ndarray, ids=None) -> None:
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
            self._file.write(np.ascontiguousarray(chunk, dtype=self._dtype).tobytes())
        elif self.suffix == ".csv":
            text = io.StringIO()
            np.savetxt(text, flat, delimiter=",", fmt="%.7g")
            lines = text.getvalue().splitlines()
            if ids is not None:
                lines = [f"{_csv_cell(i)},{line}" for i, line in zip(ids, lines, strict=True)]
            self._file.write(("\n".join(lines) + "\n").encode() if lines else b"")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            data = {name: flat[:, i] for i, name in enumerate(self.columns)}
            if ids is not None:
                data = {self.id_name: np.asarray(ids), **data}
            table = pa.table(data)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            # Row groups of 4,096 rows, which streaming readers decode whole.
            self._parquet.write_table(table, row_group_size=4096)

    def _start(self, chunk, flat, with_ids: bool) -> None:
        self._row_shape, self._dtype = chunk.shape[1:], chunk.dtype
        self.columns = (list(self.columns) if self.columns is not None
                        else [f"f{i}" for i in range(flat.shape[1])])
        if len(self.columns) != flat.shape[1]:
            raise ValueError(f"{len(self.columns)} column names for {flat.shape[1]} columns")
        if self.suffix == ".npy":
            self.shape = (self.n_rows, *chunk.shape[1:])
            np.lib.format.write_array_header_2_0(self._file, {
                "descr": np.lib.format.dtype_to_descr(chunk.dtype), "fortran_order": False,
                "shape": self.shape})
            return
        self.shape = (self.n_rows, flat.shape[1])
        if self.suffix == ".csv":
            names = ([self.id_name] if with_ids else []) + self.columns
            self._file.write((",".join(names) + "\n").encode())
        else:
            _require_pyarrow()

    def __exit__(self, kind, exc, tb):
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
