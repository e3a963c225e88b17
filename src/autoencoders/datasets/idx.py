"""Reading the IDX format of MNIST and Fashion-MNIST, gzipped or not, in one streaming pass.

The format (LeCun et al., http://yann.lecun.com/exdb/mnist/): two zero bytes, one byte giving
the element type, one byte giving the number of dimensions ``d``, then ``d`` big-endian
uint32 sizes, then the elements in C order.

The reader decompresses straight into the final array while hashing what it reads, so that
a file costs its own size in memory once (47 MB for MNIST's training images, where
``gzip.decompress`` then a copy peaked near 110 MB).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import zlib
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .._io import check_fits_in_memory

__all__ = ["IDXError", "read_idx", "parse_idx"]

# Element-type codes of the IDX format, mapped to big-endian numpy dtypes.
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CHUNK = 1 << 20


class IDXError(ValueError):
    """A file is not a well-formed IDX file (truncated, corrupt or of another format)."""


class _Stream(Protocol):
    # What the reader uses of a binary file object (open(path, "rb"), BytesIO, GzipFile).
    def read(self, size: int = ..., /) -> bytes: ...
    def readinto(self, buffer: memoryview | bytearray, /) -> int: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...


def _read_exact(stream: _Stream, buffer: memoryview, name: str, what: str,
                hasher: hashlib._Hash) -> None:
    filled = 0
    while filled < len(buffer):
        n = stream.readinto(buffer[filled:filled + _CHUNK])
        if not n:
            raise IDXError(f"{name}: truncated {what} ({filled} of {len(buffer)} bytes); the "
                           "file is incomplete")
        filled += n
    hasher.update(buffer)


def read_idx(stream: _Stream, name: str = "<stream>",
             max_bytes: int = 1 << 34) -> tuple[NDArray[Any], str]:
    """Read one IDX file from a binary stream, gunzipping it when it starts gzipped.

    Parameters
    ----------
    stream : binary file object
        Positioned at the start of the file (``open(path, "rb")``, ``io.BytesIO``).
    name : str
        The file's name, used in error messages.
    max_bytes : int, default 16 GiB
        The most bytes the array may declare; a header claiming more is refused before
        anything is allocated (a caller that knows the file's size passes it: 47 MB for
        MNIST's training images).

    Returns
    -------
    array : ndarray
        The file's array in native byte order, e.g. uint8 (n, 28, 28) for images and uint8
        (n,) for labels.
    md5 : str
        Hex MD5 of the decompressed contents, header included: the checksum MNIST's
        publishers give, for the caller to verify before use.

    Raises
    ------
    IDXError
        When the gzip data is truncated or corrupt, the header is malformed or declares
        more than ``max_bytes``, or the data is shorter or longer than the header says.
    """
    head = stream.read(2)
    stream.seek(-len(head), io.SEEK_CUR)
    if head != b"\x1f\x8b":
        return _read_plain(stream, name, max_bytes)
    try:
        return _read_plain(gzip.GzipFile(fileobj=stream, mode="rb"), name, max_bytes)
    except (OSError, EOFError, zlib.error) as exc:  # gzip's own errors, not the disk's
        raise IDXError(f"{name}: the gzip data is truncated or corrupt ({exc})") from None


def _read_plain(stream: _Stream, name: str, max_bytes: int) -> tuple[NDArray[Any], str]:
    hasher = hashlib.md5()
    magic = bytearray(4)
    got = stream.readinto(magic)
    if got < 4:
        raise IDXError(f"{name}: {got} bytes is too short for an IDX header")
    if magic[0] != 0 or magic[1] != 0:
        raise IDXError(f"{name}: not an IDX file (the first two bytes must be zero)")
    dtype = _IDX_DTYPES.get(magic[2])
    if dtype is None:
        raise IDXError(f"{name}: unknown IDX element type 0x{magic[2]:02x}")
    ndim = magic[3]
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares zero dimensions")
    hasher.update(magic)
    dims = bytearray(4 * ndim)
    _read_exact(stream, memoryview(dims), name, "IDX header", hasher)
    shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    count = math.prod(shape)  # Python integers: a corrupt header cannot overflow them
    # Zero sizes counted as one: numpy also refuses shapes like (2^32, 0, 2^32) whose
    # nominal size overflows.
    declared = math.prod(max(d, 1) for d in shape) * dtype.itemsize
    if declared > max_bytes:
        raise IDXError(f"{name}: the header declares shape {shape} ({declared:,} bytes, more "
                       f"than the {max_bytes:,} such a file holds); the file is corrupt")
    check_fits_in_memory(declared, f"{name} (shape {shape})", "the file is corrupt or too "
                         "large for this machine")
    data = np.empty(count, dtype=dtype)
    # numpy's stubs give ndarray __buffer__ only for Python 3.12+ (the config targets 3.11).
    buffer = memoryview(data.view(np.uint8))  # type: ignore[arg-type]
    _read_exact(stream, buffer, name, "data", hasher)
    if stream.read(1):
        raise IDXError(f"{name}: the header declares shape {shape} but the file holds more "
                       "data; it is corrupt or not an IDX file")
    if not dtype.isnative:
        data = data.astype(dtype.newbyteorder("="))
    return data.reshape(shape), hasher.hexdigest()


def parse_idx(data: bytes, name: str = "<bytes>") -> NDArray[Any]:
    """Parse IDX bytes (gzipped or not) into an array; see :func:`read_idx`.

    Raises
    ------
    IDXError
        As :func:`read_idx`.
    """
    return read_idx(io.BytesIO(data), name)[0]
