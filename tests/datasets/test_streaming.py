"""Streaming sources give the rows of the in-memory array, and refuse what they cannot read."""

import pickle

import numpy as np
import pytest

from autoencoders.datasets import ArrayWriter, open_source, read_input_with_ids
from autoencoders.datasets.images import ImageFolderSource
from autoencoders.datasets.npy import NpyShardsSource, NpySource
from autoencoders.datasets.parquet import ParquetSource
from autoencoders.datasets.source import ArraySource, iter_chunks

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROWS = np.array([0, 1, 5, 127, 128, 129, 400, 798, 799])


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).integers(0, 256, (800, 12), dtype=np.uint8)


def _fixed_list(X):
    return pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), X.shape[1])


@pytest.fixture(scope="module")
def files(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("streaming")
    np.save(d / "all.npy", data)
    (d / "shards").mkdir()
    for i, (a, b) in enumerate([(0, 300), (300, 301), (301, 800)]):
        np.save(d / "shards" / f"part-{i}.npy", data[a:b])
    ids = np.arange(len(data)) * 7
    pq.write_table(pa.table({"id": ids, "pixels": _fixed_list(data)}), d / "fixed.parquet",
                   row_group_size=128)
    pq.write_table(pa.table({"key": ids, "v": pa.array(list(data))}), d / "list.parquet",
                   row_group_size=300)
    (d / "parts").mkdir()
    for i in range(2):
        part = slice(i * 400, (i + 1) * 400)
        pq.write_table(pa.table({f"c{j}": data[part, j].astype(np.float64)
                                 for j in range(12)}), d / "parts" / f"{i}.parquet",
                       row_group_size=100)
    return d


@pytest.mark.parametrize("name, kind", [("all.npy", NpySource), ("shards", NpyShardsSource),
                                        ("shards/part-*.npy", NpyShardsSource),
                                        ("fixed.parquet", ParquetSource),
                                        ("parts", ParquetSource)])
def test_source_rows_equal_the_array(files, data, name, kind):
    source = open_source(files / name)
    assert isinstance(source, kind)
    assert source.shape == data.shape and len(source) == len(data)
    np.testing.assert_array_equal(source.take(ROWS), data[ROWS])
    np.testing.assert_array_equal(source.read(), data)
    chunks = list(iter_chunks(source, 300))
    assert [(a, b) for a, b, _ in chunks] == [(0, 300), (300, 600), (600, 800)]
    np.testing.assert_array_equal(np.concatenate([c for _, _, c in chunks]), data)


def test_parquet_list_column_keeps_dtype_and_ids(files, data):
    fixed = open_source(files / "fixed.parquet")
    assert fixed.dtype == np.uint8 and fixed.id_column == "id"
    assert fixed.feature_names is None  # one list column: its values have no names
    np.testing.assert_array_equal(fixed.ids(ROWS), ROWS * 7)
    listed = open_source(files / "list.parquet", id_column="key")
    np.testing.assert_array_equal(listed.take(ROWS), data[ROWS])
    np.testing.assert_array_equal(listed.ids(ROWS), ROWS * 7)
    # Without naming it, a column called 'key' is a feature column beside a list: refused.
    with pytest.raises(ValueError, match="list column 'v' beside other feature columns"):
        open_source(files / "list.parquet")


def test_numeric_columns_are_features(files, data):
    source = open_source(files / "parts")
    assert source.columns == [f"c{j}" for j in range(12)] and source.ids(ROWS) is None
    assert source.feature_names == tuple(source.columns)
    np.testing.assert_array_equal(source.take(ROWS), data[ROWS].astype(np.float64))


def test_views_subset_without_and_reshaped(files, data):
    source = open_source(files / "all.npy")
    held = np.array([3, 128, 129, 700])
    rest = np.setdiff1d(np.arange(len(data)), held)
    np.testing.assert_array_equal(source.without(held).read(), data[rest])
    np.testing.assert_array_equal(source.subset(held).read(), data[held])
    np.testing.assert_array_equal(source.reshaped((3, 4)).read(0, 5), data[:5].reshape(5, 3, 4))
    with pytest.raises(ValueError, match="cannot be seen as shape"):
        source.reshaped((5, 5))
    ids = open_source(files / "fixed.parquet").without(held).ids(np.arange(3, 6))
    np.testing.assert_array_equal(ids, rest[3:6] * 7)


def test_take_rejects_rows_outside(files):
    with pytest.raises(IndexError, match="rows outside"):
        open_source(files / "all.npy").take([800])


def _backed_by_a_mapping(array) -> bool:
    import mmap

    while array is not None:
        if isinstance(array, mmap.mmap):
            return True
        array = getattr(array, "base", None)
    return False


def test_npy_reads_hold_no_mapping(files, data):
    source = open_source(files / "all.npy")
    for part in (source.take(ROWS), source.read(10, 20)):  # gathered rows and a run
        assert not _backed_by_a_mapping(part)
    wrapped = NpySource.from_memmap(np.load(files / "all.npy", mmap_mode="r"))
    np.testing.assert_array_equal(wrapped.take(ROWS), data[ROWS])


def test_parquet_source_pickles_without_open_files(files, data):
    source = pickle.loads(pickle.dumps(open_source(files / "fixed.parquet")))
    np.testing.assert_array_equal(source.take(ROWS), data[ROWS])


def test_image_folder_reads_lazily_with_file_names_as_ids(tmp_path, data):
    from PIL import Image

    for i in range(5):
        Image.fromarray(data[i].reshape(3, 4)).save(tmp_path / f"img{i}.png")
    source = open_source(tmp_path)
    assert isinstance(source, ImageFolderSource) and source.shape == (5, 3, 4)
    np.testing.assert_array_equal(source.read(), data[:5].reshape(5, 3, 4))
    assert list(source.ids([0, 4])) == ["img0.png", "img4.png"]
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "img9.png")
    with pytest.raises(ValueError, match=r"img9.png: size \(5, 5\) differs"):
        open_source(tmp_path).read()


@pytest.mark.parametrize("make, message", [
    (lambda d: pq.write_table(pa.table({"v": pa.array([[1, 2], [3]])}), d / "x.parquet"),
     "rows of 2 and 1 values"),
    (lambda d: pq.write_table(pa.table({"s": ["a", "b"]}), d / "x.parquet"), "not numeric"),
    (lambda d: pq.write_table(pa.table({"v": pa.array([[1, 2], None])}), d / "x.parquet"),
     "missing rows"),
    (lambda d: (np.save(d / "a.npy", np.zeros((2, 2))), (d / "b.csv").write_text("1,2\n")),
     "several types"),
    (lambda d: (np.save(d / "a.npy", np.zeros((2, 2))),
                np.save(d / "b.npy", np.zeros((2, 3)))), "same row shape"),
    (lambda d: np.save(d / "x.npy", np.zeros(3)), "expected \\(n_samples, ...\\)"),
])
def test_unreadable_inputs_get_clear_errors(tmp_path, make, message):
    make(tmp_path)
    target = tmp_path / "x.parquet" if (tmp_path / "x.parquet").exists() else (
        tmp_path / "x.npy" if (tmp_path / "x.npy").exists() else tmp_path / "*")
    with pytest.raises(ValueError, match=message):
        open_source(target).read()


def test_parquet_files_must_agree_on_types_widths_and_values(tmp_path, data):
    ids = np.arange(len(data))
    pq.write_table(pa.table({"px": _fixed_list(data)}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"px": _fixed_list(data / 255.0)}), tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"b\.parquet: column 'px' holds fixed_size_list"
                                         r"<\w+: double>\[12\], but .*a\.parquet has"):
        open_source(tmp_path / "*.parquet")
    (tmp_path / "b.parquet").unlink()
    pq.write_table(pa.table({"px": pa.array(list(data))}), tmp_path / "c.parquet")
    pq.write_table(pa.table({"px": pa.array(list(data[:, :5]))}), tmp_path / "d.parquet")
    with pytest.raises(ValueError, match=r"d\.parquet: row group 0 has rows of 5 values, but "
                                         r"the rows before have 12"):
        open_source(tmp_path / "[cd].parquet").read()
    values = pa.array([1, None] * 2, type=pa.int64())
    pq.write_table(pa.table({"id": ids[:4], "a": values}), tmp_path / "nulls.parquet")
    with pytest.raises(ValueError, match="column 'a' has 2 missing values; fill or drop"):
        open_source(tmp_path / "nulls.parquet").read()


def test_missing_id_column_is_named(files):
    with pytest.raises(ValueError, match="no column 'name' for the ids"):
        ParquetSource([files / "fixed.parquet"], id_column="name")


def test_nothing_matches_the_pattern(tmp_path):
    with pytest.raises(FileNotFoundError, match="no files match"):
        open_source(tmp_path / "*.parquet")


def test_csv_id_column_is_kept_apart(tmp_path):
    (tmp_path / "t.csv").write_text("id,a,b\nx1,1,2\nx2,3,4\n")
    X, _, ids = read_input_with_ids(tmp_path / "t.csv")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert list(ids) == ["x1", "x2"]
    source = open_source(tmp_path / "t.csv")
    assert isinstance(source, ArraySource) and list(source.ids([1])) == ["x2"]
    (tmp_path / "n.csv").write_text("a,key,b\n1,7,2\n3,8,4\n")
    X, _, ids = read_input_with_ids(tmp_path / "n.csv", id_column="key")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert ids.dtype == np.int64 and list(ids) == [7, 8]  # numeric ids stay numbers


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".parquet"])
def test_array_writer_writes_chunks_like_one_array(tmp_path, data, suffix):
    path = tmp_path / f"out{suffix}"
    ids = np.arange(len(data)) + 1000
    with ArrayWriter(path, len(data)) as writer:
        for start in range(0, len(data), 300):
            writer.write(data[start:start + 300], ids[start:start + 300])
    X, _, read_ids = read_input_with_ids(path)
    np.testing.assert_array_equal(X, data)
    if suffix == ".npy":
        assert writer.ids_dropped and read_ids is None
    else:
        np.testing.assert_array_equal(read_ids, ids)


def test_array_writer_leaves_nothing_when_rows_are_missing(tmp_path, data):
    path = tmp_path / "out.npy"
    with pytest.raises(ValueError, match="300 rows written of the 800 announced"):
        with ArrayWriter(path, len(data)) as writer:
            writer.write(data[:300])
    assert list(tmp_path.iterdir()) == []


def test_repeated_parquet_column_names_are_refused_by_name(tmp_path):
    table = pa.Table.from_arrays([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["a", "a"])
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(ValueError, match="repeated column names a; name each column once"):
        open_source(tmp_path / "d.parquet")
