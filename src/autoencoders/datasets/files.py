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

__all__ = ["read_input", "read_input_with_ids", "write_array", "IMAGE_SUFFIXES", "ARRAY_SUFFIXES"]

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
        from .streaming import ParquetSource

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
                             f"{', '.join(header or ['none'])}); pass the right --id-column, "
                             "or none")
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
        raise ValueError(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images in this folder")
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


def write_array(path, array: np.ndarray, columns: list[str] | None = None
                ) -> tuple[int, ...]:
    """Write a 2-D array to ``.npy``, ``.csv`` or ``.parquet`` by the path's suffix, atomically.

    Parameters
    ----------
    path : str or Path
        Destination; its suffix picks the format. The folder is created when missing.
    array : ndarray, shape (n, ...)
        Written as is to ``.npy``; flattened to (n, features) for ``.csv`` and ``.parquet``.
    columns : list of str, optional
        Column names for ``.csv`` and ``.parquet``; ``f0, f1, ...`` by default.

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
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv", ".parquet"):
        raise ValueError(f"{path}: output must end in .npy, .csv or .parquet")
    flat = array.reshape(len(array), -1)
    columns = list(columns) if columns is not None else [f"f{i}" for i in range(flat.shape[1])]
    if len(columns) != flat.shape[1]:
        raise ValueError(f"{len(columns)} column names for {flat.shape[1]} columns")
    with atomic_path(path) as tmp:
        if suffix == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, array)
        elif suffix == ".csv":
            header = ",".join(columns)
            np.savetxt(tmp, flat, delimiter=",", header=header, comments="", fmt="%.7g")
        else:
            pq = _require_pyarrow()
            import pyarrow as pa

            table = pa.table({name: flat[:, i] for i, name in enumerate(columns)})
            pq.write_table(table, tmp)
    return tuple(array.shape) if suffix == ".npy" else tuple(flat.shape)
