"""The command line on streamed input: fit --stream gives the model of fit in memory, embed
and reconstruct work chunk by chunk and carry the ids through."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from .test_cli import run

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

# --test-size 20 caps the 30 rows of the 10 % test split, streamed or not.
FIT = ["--epochs", "2", "--maps", "none", "--hidden-dims", "16", "--latent-dim", "3",
       "--batch-size", "32", "--test-size", "20", "-q"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(300, 12)) * 255).astype(np.uint8)
    folder = tmp_path_factory.mktemp("stream")
    ids = np.array([f"row-{i:03d}" for i in range(300)], dtype=object)
    pq.write_table(pa.table({"id": ids, "px": pa.array(list(X))}), folder / "x.parquet",
                   row_group_size=64)
    np.save(folder / "x.npy", X)
    return X, ids, folder


@pytest.fixture(scope="module")
def run_dir(table, tmp_path_factory):
    _, _, folder = table
    out = tmp_path_factory.mktemp("runs") / "run"
    run("fit", "--input", folder / "x.npy", "--out", out, *FIT, check_code=0)
    return out


def test_fit_stream_equals_fit_in_memory(table, run_dir, tmp_path):
    _, _, folder = table
    for name, extra in (("stream", ["--stream"]), ("parquet", ["--stream"])):
        source = folder / ("x.parquet" if name == "parquet" else "x.npy")
        run("fit", "--input", source, "--out", tmp_path / name, *FIT, *extra, check_code=0)
    a = load_file(run_dir / "model.safetensors")  # the same file, in memory
    for name in ("stream", "parquet"):
        b = load_file(tmp_path / name / "model.safetensors")
        assert all(np.array_equal(a[k], b[k]) for k in a)
        config = json.loads((tmp_path / name / "config.json").read_text())
        assert config["extra"]["data"]["streamed"] is True
        codes = np.load(tmp_path / name / "codes" / "train.npy")
        assert codes.shape == (280, 3)  # 300 rows less the capped test split


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_embed_in_chunks_carries_ids(table, run_dir, tmp_path, suffix):
    X, ids, folder = table
    out = tmp_path / f"codes{suffix}"
    proc = run("embed", run_dir, "--input", folder / "x.parquet", "--out", out,
               "--chunk-size", "50", check_code=0)
    assert f"wrote {out}: float32 (300, 3)" in proc.stderr
    from autoencoders import AutoEncoder
    from autoencoders.datasets import read_input_with_ids

    codes, _, got_ids = read_input_with_ids(out)
    assert list(got_ids) == list(ids)
    np.testing.assert_allclose(codes, AutoEncoder.load(run_dir).transform(X),
                               rtol=1e-5, atol=1e-6)


def test_reconstruct_to_npy_notes_the_ids_it_cannot_keep(table, run_dir, tmp_path):
    X, _, folder = table
    proc = run("reconstruct", run_dir, "--input", folder / "x.parquet", "--out",
               tmp_path / "r.npy", "--chunk-size", "64", check_code=0)
    assert "ids of" in proc.stderr and "not in" in proc.stderr
    assert np.load(tmp_path / "r.npy").shape == X.shape


def test_fit_streams_an_image_folder(tiny_images, tmp_path):
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    for i, img in enumerate(tiny_images):
        Image.fromarray(img).save(tmp_path / "imgs" / f"{i:02d}.png")
    run("fit", "--input", tmp_path / "imgs", "--stream", "--out", tmp_path / "run", *FIT,
        check_code=0)
    out = tmp_path / "codes.csv"
    run("embed", tmp_path / "run", "--input", tmp_path / "imgs", "--stream", "--out", out,
        check_code=0)
    lines = out.read_text().splitlines()
    assert lines[0] == "id,autoencoder0,autoencoder1,autoencoder2"
    assert lines[1].startswith("00.png,")


def test_a_streamed_runs_input_changed_is_refused_by_report_and_evaluate(table, tmp_path):
    # Streamed, the run records its file's size and time; evaluate reads the file into
    # memory and compares them too (workflow.check_unchanged).
    X, _, _ = table
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    run("fit", "--input", tmp_path / "x.npy", "--out", out, *FIT, "--stream", check_code=0)
    run("evaluate", out, "--baselines", "none", "--k", "3", "-q", check_code=0)
    np.save(tmp_path / "x.npy", X[::-1])  # other order, same size: its time changed
    for verb in (("report",), ("evaluate", "--baselines", "none")):
        assert "has changed since the run" in run(verb[0], out, *verb[1:], check_code=1).stderr
    np.save(tmp_path / "x.npy", np.concatenate([X, X[:10]]))
    for verb in (("report",), ("evaluate", "--baselines", "none")):
        assert "has changed since the run" in run(verb[0], out, *verb[1:], check_code=1).stderr
