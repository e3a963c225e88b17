import gzip
import hashlib
import io

import numpy as np
import pytest

from autoencoders.datasets.idx import IDXError, parse_idx, read_idx


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_parse_idx_round_trips_uint8_images():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = parse_idx(idx_bytes(images))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, images)


def test_parse_idx_reads_big_endian_int32_in_native_order():
    values = np.array([1, -2, 70000], dtype=np.int32)
    out = parse_idx(idx_bytes(values, code=0x0C))
    np.testing.assert_array_equal(out, values)
    assert out.dtype.isnative


@pytest.mark.parametrize("cut", [3, 7, 20])
def test_parse_idx_rejects_truncated_data(cut):
    data = idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))
    with pytest.raises(IDXError, match="truncated|too short"):
        parse_idx(data[:cut], "f.idx")


def test_parse_idx_rejects_trailing_bytes_and_bad_magic():
    data = idx_bytes(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(IDXError, match="corrupt"):
        parse_idx(data + b"\0")
    with pytest.raises(IDXError, match="not an IDX"):
        parse_idx(b"\x01" + data[1:])
    with pytest.raises(IDXError, match="element type"):
        parse_idx(data[:2] + b"\x42" + data[3:])


def test_gzipped_and_plain_give_the_same_array_and_md5_of_the_contents():
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
    plain = idx_bytes(images)
    a, md5_a = read_idx(io.BytesIO(plain), "plain")
    b, md5_b = read_idx(io.BytesIO(gzip.compress(plain)), "packed")
    np.testing.assert_array_equal(a, b)
    assert md5_a == md5_b == hashlib.md5(plain).hexdigest()


def test_truncated_gzip_is_named():
    packed = gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint32).astype(np.uint8)))
    with pytest.raises(IDXError, match="labels.gz: the gzip data is truncated or corrupt"):
        read_idx(io.BytesIO(packed[: len(packed) // 2]), "labels.gz")
