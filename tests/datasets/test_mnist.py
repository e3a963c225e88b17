"""MNIST loading: local copies, checksums, and downloads from a server on 127.0.0.1."""

import gzip
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from autoencoders.datasets import mnist as mnist_mod
from autoencoders.datasets.mnist import (
    CorruptFileError,
    DatasetNotFoundError,
    IDXDataset,
    load_idx_dataset,
)

from .test_idx import idx_bytes

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def fake_files():
    """Small IDX files in MNIST's layout, and a dataset description with their MD5s."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    raw = {k: idx_bytes(v) for k, v in arrays.items()}
    dataset = IDXDataset(name="fake", files={k: hashlib.md5(v).hexdigest()
                                             for k, v in raw.items()}, mirrors=())
    return arrays, raw, dataset


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """An empty data dir and cache dir, so nothing real is found or written."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("AUTOENCODERS_DATA_DIR", str(data))
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda appname: str(cache))
    return data, cache


def write_all(folder: Path, raw: dict, gz: bool = True):
    folder.mkdir(parents=True, exist_ok=True)
    for stem, data in raw.items():
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
def test_reads_local_copy_gzipped_or_not(fake_files, isolated_dirs, gz):
    arrays, raw, dataset = fake_files
    write_all(isolated_dirs[0] / "fake", raw, gz=gz)
    X, y = load_idx_dataset(dataset, "test", progress=False)
    np.testing.assert_array_equal(X, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(y, arrays["t10k-labels-idx1-ubyte"])


def test_local_file_with_wrong_contents_is_refused_and_named(fake_files, isolated_dirs):
    _, raw, dataset = fake_files
    raw = dict(raw)
    raw["train-labels-idx1-ubyte"] = raw["train-labels-idx1-ubyte"][:-1] + b"\x09"
    write_all(isolated_dirs[0] / "fake", raw)
    with pytest.raises(CorruptFileError, match=r"train-labels-idx1-ubyte\.gz.*MD5.*Delete"):
        load_idx_dataset(dataset, "train", progress=False)


def test_truncated_local_gzip_is_refused(fake_files, isolated_dirs):
    _, raw, dataset = fake_files
    folder = isolated_dirs[0] / "fake"
    write_all(folder, raw)
    f = folder / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        load_idx_dataset(dataset, "test", progress=False)


def test_no_local_copy_and_no_mirror_says_where_to_put_files(fake_files, isolated_dirs):
    _, _, dataset = fake_files
    with pytest.raises(DatasetNotFoundError, match=r"Put the four IDX files"):
        load_idx_dataset(dataset, "train", mirrors=["http://127.0.0.1:9/"], timeout=2,
                         progress=False)


def test_unknown_split_is_a_value_error(fake_files):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_idx_dataset(fake_files[2], "validation")


class _Server:
    """Serve folders over HTTP on 127.0.0.1; paths under /broken/ answer 500."""

    def __init__(self, root: Path):
        root_str = str(root)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=root_str, **kw)

            def do_GET(self):
                if self.path.startswith("/broken/"):
                    self.send_error(500, "mirror down")
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_skips_a_failing_and_a_corrupt_mirror(fake_files, isolated_dirs, tmp_path):
    arrays, raw, dataset = fake_files
    served = tmp_path / "www"
    write_all(served / "good", raw)
    # The corrupt mirror serves the right names with wrong contents.
    write_all(served / "corrupt", {k: v[:-1] + b"\x01" for k, v in raw.items()})
    with _Server(served) as server:
        mirrors = [f"{server.url}/broken/", f"{server.url}/corrupt/", f"{server.url}/good/"]
        X, y = load_idx_dataset(dataset, "train", mirrors=mirrors, progress=False)
    np.testing.assert_array_equal(X, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    cache = isolated_dirs[1] / "fake"
    cached = sorted(p.name for p in cache.iterdir())
    # Only the verified files, and no temporary leftovers.
    assert cached == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    # Second call: read from the cache, no server needed.
    X2, _ = load_idx_dataset(dataset, "train", mirrors=[], progress=False)
    np.testing.assert_array_equal(X2, X)


def test_download_with_only_bad_mirrors_fails_and_caches_nothing(fake_files, isolated_dirs,
                                                                 tmp_path):
    _, raw, dataset = fake_files
    served = tmp_path / "www"
    write_all(served / "corrupt", {k: v[:-1] + b"\x01" for k, v in raw.items()})
    with _Server(served) as server:
        mirrors = [f"{server.url}/broken/", f"{server.url}/corrupt/"]
        with pytest.raises(DatasetNotFoundError, match="MD5.*expected"):
            load_idx_dataset(dataset, "test", mirrors=mirrors, progress=False)
    cache = isolated_dirs[1] / "fake"
    assert not cache.exists() or not any(cache.iterdir())


def test_real_mnist_matches_published_shapes_and_checksums(mnist):
    X, y = mnist["train"]
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    Xt, yt = mnist["test"]
    assert Xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert np.bincount(y).tolist()[:2] == [5923, 6742]  # published class counts of 0 and 1
    assert mnist_mod.MNIST.files["t10k-labels-idx1-ubyte"] == "27ae3e4e09519cfbb04c329615203637"


def test_local_copy_in_data_dir_is_found_before_the_cache(fake_files, isolated_dirs):
    arrays, raw, dataset = fake_files
    write_all(isolated_dirs[0] / "fake", raw)
    other = {k: idx_bytes(np.zeros_like(v)) for k, v in arrays.items()}
    write_all(isolated_dirs[1] / "fake", other)
    X, _ = load_idx_dataset(dataset, "train", progress=False)
    np.testing.assert_array_equal(X, arrays["train-images-idx3-ubyte"])
    shutil.rmtree(isolated_dirs[0])
    with pytest.raises(CorruptFileError):  # the cache holds files with other checksums
        load_idx_dataset(dataset, "train", progress=False)
