"""Export to ONNX and TorchScript: the exported file, run by ONNX Runtime or TorchScript,
gives what the estimator gives for the same raw input, on the MNIST test set, for every
architecture and the 2-D map; metadata; errors; nothing half-written."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from autoencoders import AutoEncoder
from autoencoders.export import ServingModule, read_export_metadata
from autoencoders.neighbours import NeighbourMap

ort = pytest.importorskip("onnxruntime")

#: The issue's bound on the largest absolute difference, float32.
TOLERANCE = 1e-5
FAST_MAP = NeighbourMap(hidden=(32, 32), epochs=0.5, min_steps=20, batch_size=256,
                        negatives=128)
ARCHITECTURES = {"dense": dict(hidden_dims=(128, 64)),
                 "conv": dict(architecture="conv", channels=(8, 16)),
                 "variational": dict(hidden_dims=(128, 64), variational=True)}


def _session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _onnx(path, x: np.ndarray) -> np.ndarray:
    session = _session(path)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _max_diff(a, b) -> float:
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    return float(np.abs(a - b).max())


@pytest.fixture(scope="module")
def mnist_small(mnist):
    """2,000 training images and the whole 10,000-image test set, uint8."""
    return mnist["train"][0][:2000], mnist["test"][0]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_onnx_export_matches_pytorch_on_the_mnist_test_set(name, mnist_small, tmp_path):
    X, Xt = mnist_small
    ae = AutoEncoder(epochs=1, latent_dim=10, verbose=0, random_state=0,
                     **ARCHITECTURES[name]).fit(X)
    # uint8 pixels, divided by 255 inside the graph, as transform divides them.
    encoder = ae.export(tmp_path / "encoder.onnx", part="encoder", input_dtype="uint8")
    assert _max_diff(_onnx(encoder, Xt), ae.transform(Xt)) < TOLERANCE
    # float32 intensities in [0, 1].
    full = ae.export(tmp_path / "full.onnx", part="full")
    Xt_float = Xt.astype(np.float32) / 255
    assert _max_diff(_onnx(full, Xt_float), ae.reconstruct(Xt_float)) < TOLERANCE
    # (the decoder alone: test_exported_files_describe_themselves; all parts of every
    # architecture: benchmarks/export.py)
    # The batch axis is dynamic: one row works as well as 10,000.
    assert _onnx(encoder, Xt[:1]).shape == (1, 10)


@pytest.mark.parametrize("map_input", ["input", "code"])
def test_the_2d_map_exports_to_onnx_and_torchscript(map_input, mnist_small, tmp_path):
    X, Xt = mnist_small
    ae = AutoEncoder(hidden_dims=(64,), latent_dim=8, epochs=1, verbose=0, random_state=0,
                     neighbour_map=FAST_MAP, map_input=map_input).fit(X)
    expected = ae.map(Xt)
    path = ae.export(tmp_path / "map.onnx", part="map", input_dtype="uint8")
    # Coordinates of order 10-100 carry float32 rounding of a few 1e-6 each: the bound is
    # relative to their size (benchmarks/export.py reports the absolute difference).
    scale = max(1.0, float(np.abs(expected).max()))
    assert _max_diff(_onnx(path, Xt), expected) < TOLERANCE * scale
    path = ae.export(tmp_path / "map.pt", format="torchscript", part="map",
                     input_dtype="uint8")
    with torch.inference_mode():
        out = torch.jit.load(str(path))(torch.from_numpy(Xt)).numpy()
    assert _max_diff(out, expected) < TOLERANCE * scale


def test_min_max_scaling_lives_inside_the_exported_graph(blobs, tmp_path):
    X = blobs[0] * 40 - 7  # a table far outside [0, 1]: min-max statistics are stored
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=3, epochs=2, verbose=0,
                     input_scaling="minmax").fit(X)
    new = X[:50] + np.float32(0.5)
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".ts")):
        path = ae.export(tmp_path / f"enc{suffix}", format=fmt)
        if fmt == "onnx":
            out = _onnx(path, new)
        else:
            out = torch.jit.load(str(path))(torch.from_numpy(new)).numpy()
        assert _max_diff(out, ae.transform(new)) < TOLERANCE
    full = ae.export(tmp_path / "full.onnx", part="full")
    # Reconstructions come back in the table's units, as reconstruct gives them.
    assert _max_diff(_onnx(full, new), ae.reconstruct(new)) < 1e-4 * np.abs(X).max()


def test_as_module_takes_raw_input_like_transform(tiny_images):
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=2, verbose=0).fit(tiny_images)
    module = ae.as_module("encoder", input_dtype="uint8")
    out = module(torch.from_numpy(tiny_images)).numpy()
    np.testing.assert_allclose(out, ae.transform(tiny_images), atol=TOLERANCE)
    # A copy: training the module further leaves the estimator alone, and the reverse.
    with torch.no_grad():
        next(module.parameters()).add_(1.0)
    assert not np.allclose(module(torch.from_numpy(tiny_images)).numpy(),
                           ae.transform(tiny_images))
    assert not any(p.requires_grad for p in module.parameters())
    # uint8 pixels given to a float32 module would skip the division by 255: refused.
    with pytest.raises(TypeError, match="takes float32 input, got torch.uint8"):
        ae.as_module("encoder")(torch.from_numpy(tiny_images))


def test_exported_files_describe_themselves(tiny_images, tmp_path):
    import autoencoders

    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=1, verbose=0).fit(tiny_images)
    for fmt, name in (("onnx", "m.onnx"), ("torchscript", "m.pt")):
        facts = read_export_metadata(ae.export(tmp_path / name, format=fmt, part="decoder"))
        assert facts["version"] == autoencoders.__version__
        assert facts["format"] == fmt and facts["part"] == "decoder"
        assert facts["input"] == {"name": "code", "dtype": "float32", "shape": ["batch", 2]}
        assert facts["output"]["shape"] == ["batch", 8, 8]
        assert facts["architecture"]["latent_dim"] == 2
        assert facts["params"]["hidden_dims"] == [16]
    session = _session(tmp_path / "m.onnx")
    assert session.get_inputs()[0].shape[0] == "batch"
    assert session.get_outputs()[0].name == "reconstruction"
    Z = ae.transform(tiny_images)
    assert _max_diff(_onnx(tmp_path / "m.onnx", Z), ae.inverse_transform(Z)) < TOLERANCE


def test_export_refuses_what_it_cannot_write(tiny_images, tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        AutoEncoder().export(tmp_path / "m.onnx")
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=1, verbose=0).fit(tiny_images)
    with pytest.raises(ValueError, match="no 2-D map.*--map"):
        ae.export(tmp_path / "m.onnx", part="map")
    with pytest.raises(ValueError, match="unknown export format 'tflite'"):
        ae.export(tmp_path / "m.onnx", format="tflite")
    with pytest.raises(ValueError, match="unknown part 'middle'"):
        ae.export(tmp_path / "m.onnx", part="middle")
    with pytest.raises(ValueError, match="unknown input dtype 'float64'"):
        ServingModule(ae, "encoder", "float64")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "other.onnx").write_bytes(b"not ours")
    with pytest.raises(ValueError, match="holds no autoencoders metadata"):
        read_export_metadata(tmp_path / "other.onnx")


def test_onnx_export_without_the_extra_says_what_to_install(tiny_images, tmp_path,
                                                            monkeypatch):
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=1, verbose=0).fit(tiny_images)
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript → ImportError
    with pytest.raises(ImportError,
                       match=r"pip install 'onnx>=1\.16' 'onnxscript>=0\.2' \(the onnx extra\)"):
        ae.export(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_failed_export_keeps_the_previous_file(tiny_images, tmp_path, monkeypatch):
    ae = AutoEncoder(hidden_dims=(16,), latent_dim=2, epochs=1, verbose=0).fit(tiny_images)
    target = tmp_path / "encoder.pt"
    target.write_bytes(b"the user's previous export")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch.jit, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        ae.export(target, format="torchscript")
    assert target.read_bytes() == b"the user's previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["encoder.pt"]


def test_cli_export_writes_a_file_onnx_runtime_runs(tmp_path):
    from tests.cli.helpers import run

    out = tmp_path / "run"
    run("fit", "--dataset", "digits", "--out", out, "--epochs", "1", "--maps", "none",
        "--hidden-dims", "16", "--latent-dim", "3", "--no-report", "-q", check_code=0)
    # A run on a named data set (uint8 images) takes its pixels as they come by default.
    proc = run("export", out, "--out", tmp_path / "pixels.onnx", check_code=0)
    assert "onnx encoder, input uint8 (batch, 8, 8) → code float32 (batch, 3)" in proc.stderr
    proc = run("export", out, "--input-dtype", "float32", "--out", tmp_path / "encoder.onnx",
               check_code=0)
    assert "onnx encoder, input float32 (batch, 8, 8) → code float32 (batch, 3)" in proc.stderr
    # The format follows the suffix; a contradiction and standard output are refused.
    proc = run("export", out, "--out", tmp_path / "encoder.pt", check_code=0)
    assert "torchscript encoder" in proc.stderr
    proc = run("export", out, "--format", "torchscript", "--out", tmp_path / "x.onnx",
               check_code=2)
    assert "the suffix .onnx means onnx" in proc.stderr and not (tmp_path / "x.onnx").exists()
    assert run("export", out, "--out", "-", check_code=2).stderr.count("binary file") == 1
    # A folder (or a path written as one) is not a file name: nothing is written.
    proc = run("export", out, "--out", f"{tmp_path / 'newdir'}/", check_code=2)
    assert "a folder; name the file to write in it" in proc.stderr
    assert not (tmp_path / "newdir").exists()
    X = np.random.default_rng(0).uniform(0, 1, (50, 8, 8)).astype(np.float32)
    expected = AutoEncoder.load(out).transform(X)
    assert _max_diff(_onnx(tmp_path / "encoder.onnx", X), expected) < TOLERANCE
    assert read_export_metadata(tmp_path / "encoder.onnx")["params"]["latent_dim"] == 3
    # The run's own files are never the output, and a part the run lacks is an error.
    proc = run("export", out, "--out", out / "model.safetensors", check_code=2)
    assert "an export is named .onnx" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("export", out, "--out", out / "figures" / "e.onnx", check_code=1)
    assert "would overwrite" in proc.stderr or "run folder" in proc.stderr, proc.stderr
    proc = run("export", out, "--part", "map", "--out", tmp_path / "map.onnx", check_code=1)
    assert "no 2-D map" in proc.stderr
    assert not (tmp_path / "map.onnx").exists()


def test_the_format_follows_the_file_name():
    from autoencoders.export import export_format

    assert export_format("m.onnx") == "onnx" and export_format("m.PT") == "torchscript"
    assert export_format("m.ts", "torchscript") == "torchscript"
    for name in ("m.bin", "m", "m.csv"):  # written, then refused as a user's file
        with pytest.raises(ValueError, match="an export is named .onnx"):
            export_format(name, "onnx")
    with pytest.raises(ValueError, match="the suffix .pt means torchscript, but the format "
                                         "asked for is onnx"):
        export_format("m.pt", "onnx")
