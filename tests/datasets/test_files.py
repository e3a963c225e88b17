import numpy as np
import pytest
from PIL import Image

from autoencoders.datasets import load_dataset, load_digits, read_input, write_array


def test_npy_round_trip(tmp_path):
    X = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.save(tmp_path / "x.npy", X)
    out, y = read_input(tmp_path / "x.npy")
    np.testing.assert_array_equal(out, X)
    assert y is None and out.dtype == np.uint8


def test_npz_finds_data_and_labels(tmp_path):
    X, y = np.ones((5, 2, 2)), np.arange(5)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    out, labels = read_input(tmp_path / "d.npz")
    assert out.shape == (5, 2, 2)
    np.testing.assert_array_equal(labels, y)


def test_npz_with_unnamed_arrays_or_wrong_label_length_is_explained(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
    with pytest.raises(ValueError, match="name the data array"):
        read_input(tmp_path / "two.npz")
    np.savez(tmp_path / "bad.npz", X=np.ones((4, 2)), y=np.arange(3))
    with pytest.raises(ValueError, match="4 rows but 'y' has 3"):
        read_input(tmp_path / "bad.npz")


def test_csv_with_and_without_header(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,c\n1,2,3\n4,5.5,6\n")
    (tmp_path / "n.csv").write_text("1,2,3\n4,5.5,6\n")
    for name in ("h.csv", "n.csv"):
        out, _ = read_input(tmp_path / name)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, [[1, 2, 3], [4, 5.5, 6]])


def test_a_header_that_numbers_the_columns_is_not_read_as_a_sample(tmp_path):
    # pandas' DataFrame(X).to_csv(index=False) heads an array's columns 0, 1, 2, …: read as
    # data, that row became a made-up first sample.
    X = np.array([[0.5, 1, 2], [3, 4, 5.5]], dtype=np.float32)
    (tmp_path / "numbered.csv").write_text(
        "0,1,2\n" + "\n".join(",".join(map(str, row)) for row in X) + "\n")
    out, _ = read_input(tmp_path / "numbered.csv")
    np.testing.assert_array_equal(out, X)
    # Columns named so by the user come back through our own writer and reader unchanged.
    write_array(tmp_path / "ours.csv", X, columns=["0", "1", "2"])
    np.testing.assert_array_equal(read_input(tmp_path / "ours.csv")[0], X)
    # Numbers that do not count the columns from 0, or only two columns, are data.
    for text, rows in (("0,1,3\n4,5,6\n", 2), ("1,2,3\n4,5,6\n", 2), ("0,1\n2,3\n", 2)):
        (tmp_path / "data.csv").write_text(text)
        assert len(read_input(tmp_path / "data.csv")[0]) == rows


PLAIN_CSV = {
    "header.csv": "a,b,c\n1,2,3\n4,5.5,6\n",
    "no_header.csv": "1,2,3\n-4,5e-3,6\n",
    "ids.csv": "id,x,y\n7,0.5,1\n8,1.5,2\n",
    "text_ids_and_labels.csv": "key,x,kind,y\nu1,1,cat,2\nu2,3,dog,4\n",
    "crlf_bom_blank_lines.csv": "\ufeffa,b\r\n1,2\r\n\r\n3,4\r\n",
    "quoted.csv": '"a","b"\n"1","2"\n',
    "column_numbers.csv": "0,1,2\n1,2,3\n4,5,6\n",
}


@pytest.mark.parametrize("name", PLAIN_CSV)
def test_the_pyarrow_csv_reader_reads_what_the_reference_reader_reads(name, tmp_path,
                                                                     monkeypatch):
    pytest.importorskip("pyarrow")
    from autoencoders.datasets import csvfile

    path = tmp_path / name
    path.write_text(PLAIN_CSV[name], encoding="utf-8", newline="")
    options = dict(id_column="key", label_column="kind") if "kind" in PLAIN_CSV[name] else {}
    # The fast path takes plain files: were it to give up on them, this test would be void.
    fast = csvfile._read_with_pyarrow(path, options.get("id_column", "auto"),
                                      options.get("label_column"))
    assert fast is not None
    monkeypatch.setattr(csvfile, "_read_with_pyarrow", lambda *args: None)
    reference = csvfile.read_csv(path, **options)
    np.testing.assert_array_equal(fast.to_numpy(), reference.to_numpy())
    assert fast.to_numpy().dtype == reference.to_numpy().dtype == np.float32
    rows = np.arange(len(reference))
    for a, b in ((fast.ids(rows), reference.ids(rows)), (fast.labels(), reference.labels())):
        assert (a is None and b is None) or (a.dtype == b.dtype and list(a) == list(b))
    assert fast.feature_names == reference.feature_names


def test_a_header_names_the_feature_columns_and_views_keep_them(tmp_path):
    from autoencoders.datasets import open_source

    (tmp_path / "t.csv").write_text("key,income,kind,age\nu1,1,cat,2\nu2,3,dog,4\n")
    (tmp_path / "n.csv").write_text("1,2\n3,4\n")
    table = open_source(tmp_path / "t.csv", id_column="key", label_column="kind")
    assert table.feature_names == ("income", "age")
    assert open_source(tmp_path / "n.csv").feature_names is None
    assert table.subset([1]).feature_names == ("income", "age")
    assert table.without([0]).reshaped((2,)).feature_names == ("income", "age")
    assert table.reshaped((1, 2)).feature_names is None  # not a flat table any more


def test_whole_number_ids_and_labels_written_as_floats_are_integers(tmp_path):
    from autoencoders.datasets import read_input_with_ids

    (tmp_path / "f.csv").write_text("id,a,label\n0.0,1,1.0\n1.0,2,2\n")
    X, y, ids = read_input_with_ids(tmp_path / "f.csv", label_column="label")
    assert ids.dtype == y.dtype == np.int64 and list(ids) == [0, 1] and list(y) == [1, 2]
    # read_input takes the label column too (as its errors advise), never as a feature.
    X, y = read_input(tmp_path / "f.csv", label_column="label")
    assert X.shape == (2, 1) and list(y) == [1, 2]


def test_hexadecimal_cells_are_refused_by_both_csv_readers(tmp_path):
    # pyarrow alone would read 0x10 as 16; the reference reader refuses it, so both do.
    (tmp_path / "hex.csv").write_text("a,b\n0x10,2\n3,4\n")
    with pytest.raises(ValueError, match="non-numeric or empty cell '0x10'"):
        read_input(tmp_path / "hex.csv")


@pytest.mark.parametrize("text,match", [
    ("1,2\n3,x\n", "line 2 has a non-numeric or empty cell 'x'"),
    ("1,2\n3,\n", "line 2 has a non-numeric or empty cell ''"),
    ("a,b\n1,2\n3,4,5\n", r"line 3 has 3 cells but the header \(line 1\) has 2"),
    ("a,b,c\n1,2\n", r"line 2 has 2 cells but the header \(line 1\) has 3"),
    ("1,2\n3,4,5\n", r"line 2 has 3 cells, expected 2; .* \(line 1 has 2\)"),
    ("a;b\n1;2\n", "seems separated by ';'"),
    ("a,b\n\"0,5\",1\n", "a number written with a decimal comma"),
    ("a,b\n", "no data rows"),
])
def test_bad_csv_names_the_row_and_problem(tmp_path, text, match):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        read_input(tmp_path / "bad.csv")


def test_image_folder_reads_grayscale_in_name_order(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((5, 7, 3), 40 * i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._0.png").write_bytes(b"\0\5\26\7")  # macOS's resource fork of 0.png
    X, _ = read_input(tmp_path)
    assert X.shape == (3, 5, 7) and X.dtype == np.uint8
    assert X[:, 0, 0].tolist() == [0, 40, 80]


def test_image_folder_of_mixed_sizes_needs_image_size(tmp_path):
    Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((6, 4), dtype=np.uint8)).save(tmp_path / "b.jpg")
    with pytest.raises(ValueError, match="different sizes.*--image-size"):
        read_input(tmp_path)
    X, _ = read_input(tmp_path, image_size=(4, 3))
    assert X.shape == (2, 4, 3)


def test_missing_path_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_input(tmp_path / "nope.npy")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(ValueError, match="unsupported input type .txt"):
        read_input(tmp_path / "x.txt")


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".parquet"])
def test_write_array_formats_read_back(tmp_path, suffix):
    Z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    path = tmp_path / "sub" / f"codes{suffix}"
    write_array(path, Z)
    back, _ = read_input(path)
    np.testing.assert_allclose(back, Z, rtol=1e-6)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_write_array_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=".npy, .csv or .parquet"):
        write_array(tmp_path / "codes.txt", np.zeros((2, 2)))


def test_digits_is_always_there_and_scaled_to_uint8():
    X, y = load_digits()
    assert X.shape == (1797, 8, 8) and X.dtype == np.uint8 and X.max() == 255
    Xtr, _ = load_dataset("digits", "train")
    Xte, _ = load_dataset("digits", "test")
    assert len(Xtr) + len(Xte) == 1797
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("cifar", "train")


def test_repeated_header_names_are_refused_and_names_are_quoted(tmp_path):
    from autoencoders.datasets import ArrayWriter, open_source

    (tmp_path / "d.csv").write_text("x,x,y\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="d.csv: repeated column names x; name each column"):
        open_source(tmp_path / "d.csv")
    X = np.ones((2, 2), dtype=np.float32)
    write_array(tmp_path / "q.csv", X, ['a,"b"', "c"])
    assert (tmp_path / "q.csv").read_text().splitlines()[0] == '"a,""b""",c'
    pytest.importorskip("pyarrow")
    with pytest.raises(ValueError, match="repeated column names"):
        write_array(tmp_path / "r.parquet", X, ["a", "a"])
    with pytest.raises(ValueError, match="repeated column names"), \
            ArrayWriter(tmp_path / "i.csv", 2, columns=["id", "b"]) as writer:
        writer.write(X, ids=[1, 2])
    assert not (tmp_path / "r.parquet").exists() and not (tmp_path / "i.csv").exists()


def test_bool_features_are_read_as_zero_and_one_whatever_the_file(tmp_path):
    # A hostile trial: fit took a bool .npy (read whole, as an array), and embed of the
    # same file (streamed) refused it; a bool Parquet column was refused.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from autoencoders.datasets import open as open_source

    X = np.random.default_rng(0).random((30, 4)) > 0.5
    np.save(tmp_path / "b.npy", X)
    pq.write_table(pa.table({f"f{i}": X[:, i] for i in range(4)}), tmp_path / "b.parquet")
    for name in ("b.npy", "b.parquet"):
        source = open_source(tmp_path / name)
        assert source.dtype == np.float32, name
        np.testing.assert_array_equal(source.to_numpy(), X.astype(np.float32))
        np.testing.assert_array_equal(source.take(np.array([3, 1])),
                                      X[[3, 1]].astype(np.float32))


def test_load_digits_takes_a_split_as_load_mnist_does():
    # A new user: load_mnist("train") worked, load_digits("train") was a TypeError.
    X, y = load_digits()
    for split, rows in (("train", slice(0, 1500)), ("test", slice(1500, None))):
        Xs, ys = load_digits(split)
        np.testing.assert_array_equal(Xs, X[rows])
        np.testing.assert_array_equal(ys, load_dataset("digits", split)[1])
    assert len(load_digits("test")[0]) == 297
    with pytest.raises(ValueError, match="split must be 'train', 'test' or None"):
        load_digits("validation")
