"""Property-based tests (hypothesis): the input checks, the CSV reader and the IDX parser on
generated input, and a fuzzing run of the IDX parser. The only failures allowed are the
documented ones (ValueError with a message, IDXError)."""

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autoencoders.datasets import read_input
from autoencoders.datasets.idx import IDXError, parse_idx
from autoencoders.inputs import InputSpec, as_array, as_rows
from autoencoders.inputs.scan import scan

# The IDX element types: code → big-endian dtype (LeCun et al.).
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(IDX_TYPES[code]).tobytes()


@st.composite
def idx_arrays(draw):
    code = draw(st.sampled_from(sorted(IDX_TYPES)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    array = draw(hnp.arrays(np.dtype(IDX_TYPES[code]).newbyteorder("="), shape))
    return array, code


@given(idx_arrays(), st.booleans())
def test_idx_round_trips_every_element_type_and_shape(arr_code, gzipped):
    array, code = arr_code
    data = idx_bytes(array, code)
    parsed = parse_idx(gzip.compress(data) if gzipped else data)
    assert parsed.shape == array.shape and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


@st.composite
def damaged_idx(draw):
    """A valid IDX file, then cut, extended, or with bytes overwritten (and maybe gzipped)."""
    array, code = draw(idx_arrays())
    data = bytearray(idx_bytes(array, code))
    how = draw(st.sampled_from(["cut", "extend", "overwrite"]))
    if how == "cut":
        data = data[:draw(st.integers(0, max(0, len(data) - 1)))]
    elif how == "extend":
        data += draw(st.binary(min_size=1, max_size=16))
    else:
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    data = bytes(data)
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):  # damage the gzip stream too
            data = data[:draw(st.integers(0, len(data)))]
    return data


def _parse_or_idx_error(data: bytes):
    try:
        out = parse_idx(data, "fuzz")
    except IDXError as exc:
        assert str(exc).startswith("fuzz: ")
        return None
    assert isinstance(out, np.ndarray) and out.dtype.isnative
    return out


@settings(max_examples=1500, deadline=None)
@given(st.one_of(damaged_idx(), st.binary(max_size=64),
                 st.binary(max_size=64).map(gzip.compress)))
def test_fuzz_idx_parser_raises_only_idx_error(data):
    _parse_or_idx_error(data)


@given(st.binary(max_size=8))
def test_idx_header_declaring_more_than_present_is_an_idx_error(tail):
    # 2^31 images of 28×28 declared: refused before allocating anything.
    header = bytes([0, 0, 0x08, 3]) + (2**31).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with pytest.raises(IDXError):
        parse_idx(header + tail)


# ------------------------------------------------------------------ CSV reader
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1,
                                               max_side=6), elements=finite32),
       st.booleans())
def test_csv_round_trips_any_finite_float32_table(table, header):
    lines = ([",".join(f"col{i}" for i in range(table.shape[1]))] if header else [])
    lines += [",".join(repr(float(v)) for v in row) for row in table]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        X, y = read_input(path)
    assert y is None and X.dtype == np.float32
    np.testing.assert_array_equal(X, table)


@settings(deadline=None)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80)))
def test_csv_reader_on_any_text_returns_a_table_or_a_value_error_naming_the_file(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.csv"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(content)
        try:
            X, _ = read_input(path)
        except ValueError as exc:
            assert str(exc).startswith(str(path)), exc
            return
    assert X.ndim == 2 and X.dtype == np.float32 and X.shape[0] >= 1


# ------------------------------------------------------------------ input checks
any_dtype = st.sampled_from([np.uint8, np.int16, np.int64, np.float16, np.float32, np.float64,
                             np.bool_])


@given(any_dtype.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3,
                                                                    min_side=0, max_side=4))))
def test_input_checks_pass_only_finite_nonempty_2d_numbers(arr):
    try:
        out = as_array(arr)
        scan(as_rows(out))
    except ValueError as exc:
        assert "X " in str(exc) or str(exc).startswith("X")
        bad_rank = arr.ndim < 2
        empty = arr.size == 0
        non_finite = arr.dtype.kind == "f" and not np.isfinite(arr).all()
        assert bad_rank or empty or non_finite
        return
    assert out.ndim >= 2 and out.size > 0 and out.shape == arr.shape
    assert np.issubdtype(out.dtype, np.number) and np.isfinite(out.astype(np.float64)).all()


@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(1, 30))
def test_check_features_accepts_any_shape_with_the_fitted_count_only(n, h, w, other):
    feature_shape = (h, w)
    flat = np.zeros((n, h * w), np.float32)
    spec = InputSpec(feature_shape)
    assert spec.check(flat).data.shape == (n, h, w)
    assert spec.check(flat.reshape(n, h, w)).data.shape == (n, h, w)
    if other != h * w:
        with pytest.raises(ValueError, match=f"X has {other} features, but AutoEncoder is "
                                             f"expecting {h * w}"):
            spec.check(np.zeros((n, other), np.float32))


@given(st.lists(st.lists(st.one_of(st.integers(-5, 5), st.floats(-1, 1), st.text(max_size=2)),
                         max_size=4), min_size=1, max_size=4))
def test_nested_lists_become_numbers_or_a_value_error(rows):
    try:
        out = as_array(rows)
    except ValueError as exc:
        assert str(exc).startswith("X ")
        return
    assert np.issubdtype(out.dtype, np.number)


def test_idx_bytes_helper_matches_the_reader_on_real_layout():
    array = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    assert parse_idx(idx_bytes(array, 0x08)).tolist() == array.tolist()
