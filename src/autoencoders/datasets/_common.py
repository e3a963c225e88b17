"""What the file readers share: suffixes, NumPy's errors named after the file, a file's
identity for fingerprints, column names in messages, pyarrow on demand, and the one image
decoder (Pillow, to 8-bit grey)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["IMAGE_SUFFIXES", "ARRAY_SUFFIXES", "STREAMED_SUFFIXES", "COLOUR_MODES",
           "numpy_errors", "file_identity", "name_list", "require_pyarrow", "read_image",
           "image_mode", "check_labels_present", "check_unique_names"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz", ".csv", ".parquet")
#: Formats that can be read in parts; .npz and .csv are read whole.
STREAMED_SUFFIXES = (".npy", ".parquet")


@contextlib.contextmanager
def numpy_errors(path: Path) -> Iterator[None]:
    """Turn NumPy's errors for an unusable .npy/.npz file into one ValueError naming it.

    Raises
    ------
    ValueError
        For an object (pickled) array, a file without NumPy's header, or a truncated or
        corrupt file.
    """
    import zipfile

    try:
        yield
    except ValueError as exc:
        # "Object arrays cannot be loaded ..." from np.load, "Python objects in dtype" when
        # memory-mapped: ragged rows or Python objects, stored with pickle.
        if "Object arrays" in str(exc) or "Python objects" in str(exc):
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


def file_identity(path: Path) -> tuple[str, int, int]:
    """(resolved path, size in bytes, modification time in ns): what a fingerprint of a
    file holds instead of its bytes."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def name_list(columns: Iterable[object], shown: int = 10) -> str:
    """Column names for a message: the first ``shown``, then how many more."""
    columns = list(columns)
    more = f", … ({len(columns) - shown} more)" if len(columns) > shown else ""
    return ", ".join(map(str, columns[:shown])) + more


def check_unique_names(names: Iterable[object], where: object) -> None:
    """Refuse column ``names`` of which some repeat: a table or DataFrame's columns are
    told apart by their names (ids, labels, and fit's column order checked on every later
    call), so that two of one name would leave one of them unnamed, or swapped unnoticed.

    Parameters
    ----------
    names : iterable of str
        A CSV header, a Parquet schema's names, a DataFrame's columns.
    where : str or Path
        What messages call the table (a file's path, "X").

    Raises
    ------
    ValueError
        Naming ``where`` and the repeated names.
    """
    texts = [str(n) for n in names]
    if len(set(texts)) != len(texts):
        repeated = sorted({n for n in texts if texts.count(n) > 1})
        raise ValueError(f"{where}: repeated column names "
                         f"{name_list(n or repr(n) for n in repeated)}; name each column once")


def require_pyarrow() -> Any:
    """``pyarrow.parquet``, or an ImportError that says which extra to install."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet files need pyarrow: pip install 'pyarrow>=12' (the "
                          "parquet extra)") from None
    return pq


#: Pillow's modes of colour images, which ``read_image`` turns grey.
COLOUR_MODES = ("RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def image_mode(file: Path) -> str | None:
    """An image file's Pillow mode, read from its header only (None if unreadable)."""
    from PIL import Image

    try:
        with Image.open(file) as img:
            return img.mode
    except (OSError, Image.DecompressionBombError):
        return None


def read_image(file: Path, image_size: tuple[int, int] | None = None) -> NDArray[np.uint8]:
    """One image file as uint8 grayscale (h, w), resized (bilinear) to ``image_size``
    (height, width) when given.

    16-bit images are scaled by 255/65535, where Pillow's own conversion would clip every
    value above 255 to white. 32-bit integer images ("I", which Pillow also uses for some
    16-bit PNGs) are scaled by the smallest of 255, 65535 or their maximum that holds their
    values. Alpha is dropped; palette, RGB and CMYK images are converted with Pillow's
    ITU-R 601-2 luma weights.

    Raises
    ------
    ValueError
        For a file Pillow cannot read (or a decompression bomb), or a 32-bit float image.
    """
    from PIL import Image

    try:
        with Image.open(file) as img:
            gray = _to_gray8(img)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{file}: not a readable image ({exc}); remove or replace it") from None
    if image_size is not None:
        # Pillow sets BILINEAR on the module at run time, which its typing does not declare
        # (Image.Resampling.BILINEAR is Pillow 9.1+; pillow>=9 is supported).
        gray = gray.resize((image_size[1], image_size[0]),
                           Image.BILINEAR)  # type: ignore[attr-defined]
    return np.asarray(gray, dtype=np.uint8)


def _to_gray8(img: Image.Image) -> Image.Image:
    from PIL import Image

    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.clip(np.asarray(img).astype(np.float64), 0, None)
        top = 65535.0 if img.mode != "I" else next(
            t for t in (255.0, 65535.0, values.max(initial=1.0)) if values.max(initial=0) <= t)
        return Image.fromarray(np.rint(values * (255.0 / top)).astype(np.uint8))
    if img.mode == "F":
        raise OSError("32-bit float images are not supported; save them as 8- or 16-bit PNG")
    return img.convert("L")


def check_labels_present(labels: NDArray[Any], where: object,
                         column: str | None = None) -> NDArray[Any]:
    """``labels`` (any dtype, shape (n,)) when none is missing: None, NaN or an empty cell
    would be scored as a class of its own (a blank CSV cell as the class "") or fail only
    after the work that needs them.

    Parameters
    ----------
    labels : ndarray, shape (n,)
    where : str or Path
        A file's path (with its label ``column``), or the name of an array of labels.
    column : str, optional

    Raises
    ------
    ValueError
        Naming ``where``, the ``column`` and the first sample without a label.
    """
    if labels.dtype.kind == "f":
        missing = np.flatnonzero(np.isnan(labels))
    elif labels.dtype.kind == "O":
        missing = np.flatnonzero([v is None or (isinstance(v, float) and v != v)
                                  or (isinstance(v, str) and not v.strip()) for v in labels])
    else:
        return labels
    if len(missing):
        fix = ("read the file without its labels (--label-column none)" if column is not None
               else "pass no labels")
        raise ValueError(f"{where}: {len(missing)} sample(s) have no label"
                         + (f" in {column!r}" if column is not None else "")
                         + f" (the first: sample {int(missing[0])}); fill them in, or drop "
                         f"those rows, or {fix}")
    return labels
