"""Folders of PNG/JPEG images: one grey uint8 image per row, decoded when its row is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._io import check_fits_in_memory
from ._common import COLOUR_MODES, IMAGE_SUFFIXES, file_identity, image_mode, read_image
from .source import Source

__all__ = ["ImageFolderSource"]


class ImageFolderSource(Source):
    """A folder of PNG/JPEG images, files in name order, each decoded to uint8 grey
    (:func:`autoencoders.datasets._common.read_image`) when its row is asked for. The ids
    are the file names. Other files (no .png/.jpg/.jpeg suffix) are skipped.

    Parameters
    ----------
    folder : str or Path
    image_size : (height, width), optional
        Resize every image to this size (bilinear); without it, every image must have the
        first one's size.

    Raises
    ------
    ValueError
        For a folder without images; when rows are read, for an unreadable image or one of
        another size.
    """

    def __init__(self, folder: str | Path, image_size: tuple[int, int] | None = None) -> None:
        self.folder = Path(folder)
        # Hidden files are no images of the data: macOS writes ._NAME.png beside each file
        # copied to another file system (they failed to decode, a hostile trial).
        self.files = sorted(p for p in self.folder.iterdir()
                            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        if not self.files:
            others = sorted({p.suffix.lower() or "(no suffix)" for p in self.folder.iterdir()
                             if p.is_file() and not p.name.startswith(".")})
            held = f" (it holds {', '.join(others)} files)" if others else ""
            raise ValueError(f"{self.folder}: no {'/'.join(IMAGE_SUFFIXES)} images in this "
                             f"folder{held}; a folder to read holds PNG/JPEG images, .npy "
                             "shards or .parquet files")
        self.image_size = image_size
        self.n_rows, self.dtype = len(self.files), np.dtype(np.uint8)
        self.feature_shape = read_image(self.files[0], image_size).shape
        self.colour_files = sum(image_mode(f) in COLOUR_MODES for f in self.files)

    def notes(self) -> list[str]:
        if not self.colour_files:
            return []
        return [f"{self.colour_files} of {self.n_rows} images in {self.folder} are in colour "
                "and are read as grey (ITU-R 601-2 luma)"]

    def _load(self, i: int) -> np.ndarray:
        image = read_image(self.files[i], self.image_size)
        if image.shape != self.feature_shape:
            raise ValueError(f"{self.files[i]}: size {image.shape} differs from "
                             f"{self.feature_shape} of {self.files[0].name}; pass --image-size "
                             "HxW (image_size=(h, w)) to resize all images to one size")
        return image

    def _take(self, rows: NDArray[Any]) -> NDArray[Any]:
        out = np.empty((len(rows), *self.feature_shape), dtype=np.uint8)
        for j, i in enumerate(rows):
            out[j] = self._load(int(i))
        return out

    def to_numpy(self) -> np.ndarray:
        """Every image, uint8 (n, h, w); the message for images of several sizes lists
        them all."""
        check_fits_in_memory(self.nbytes, f"{self.folder}'s {self.n_rows} images",
                             "stream them instead (--stream), or resize them (--image-size)")
        images = [read_image(f, self.image_size) for f in self.files]
        sizes = {im.shape for im in images}
        if len(sizes) > 1:
            raise ValueError(f"{self.folder}: images have different sizes {sorted(sizes)}; "
                             "pass --image-size HxW (image_size=(h, w)) to resize them to one "
                             "size")
        return np.stack(images)

    def ids(self, rows: Any) -> NDArray[np.object_]:
        return np.array([self.files[int(i)].name for i in rows], dtype=object)

    def _identity(self) -> list[Any]:
        return [file_identity(p) for p in self.files] + [self.image_size]
