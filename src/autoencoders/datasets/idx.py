"""Reading the IDX format of MNIST and Fashion-MNIST.

The format (LeCun et al., http://yann.lecun.com/exdb/mnist/): two zero bytes, one byte giving
the element type, one byte giving the number of dimensions ``d``, then ``d`` big-endian
uint32 sizes, then the elements in C order.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np

__all__ = ["IDXError", "parse_idx", "decompress"]

# Element-type codes of the IDX format, mapped to big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXError(ValueError):
    """A file is not a well-formed IDX file (truncated, corrupt or of another format)."""


def decompress(raw: bytes, name: str) -> bytes:
    """Return the contents of ``raw``, gunzipped when it starts with the gzip magic bytes.

    Parameters
    ----------
    raw : bytes
        The file's bytes, gzipped or not.
    name : str
        The file's name, used in error messages.

    Raises
    ------
    IDXError
        When ``raw`` looks gzipped but cannot be decompressed (truncated or corrupt).
    """
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise IDXError(f"{name}: the gzip data is truncated or corrupt ({exc})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse decompressed IDX bytes into an array.

    Parameters
    ----------
    data : bytes
        The whole IDX file, already decompressed.
    name : str
        The file's name, used in error messages.

    Returns
    -------
    ndarray
        An array of the file's shape, e.g. uint8 (n, 28, 28) for images and uint8 (n,) for
        labels, in native byte order. It owns its memory.

    Raises
    ------
    IDXError
        When the header is malformed or the data is shorter or longer than the header says.
    """
    if len(data) < 4:
        raise IDXError(f"{name}: {len(data)} bytes is too short for an IDX header")
    if data[0] != 0 or data[1] != 0:
        raise IDXError(f"{name}: not an IDX file (the first two bytes must be zero)")
    dtype = _IDX_DTYPES.get(data[2])
    if dtype is None:
        raise IDXError(f"{name}: unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares zero dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{name}: truncated IDX header ({len(data)} of {header} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IDXError(
            f"{name}: the header declares shape {shape} ({expected} bytes) but the file has "
            f"{len(data)} bytes; it is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)
