import gzip

import numpy as np
import pytest

from autoencoders.datasets.idx import IDXError, decompress, parse_idx


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


def test_decompress_passes_plain_bytes_and_names_a_corrupt_gzip():
    assert decompress(b"\0\0\x08\x01", "x") == b"\0\0\x08\x01"
    packed = gzip.compress(b"hello world" * 100)
    assert decompress(packed, "x") == b"hello world" * 100
    with pytest.raises(IDXError, match="labels.gz: the gzip data is truncated or corrupt"):
        decompress(packed[: len(packed) // 2], "labels.gz")
