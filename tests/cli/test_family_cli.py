"""The family from the command line: fit flags, and the denoise, sample and interpolate
commands, run as users run them."""

import json

import numpy as np
import pytest

from .test_cli import run


@pytest.fixture(scope="module")
def conv_vae_run(tmp_path_factory):
    """A convolutional, denoising, variational run on the 8×8 digits (2 epochs)."""
    out = tmp_path_factory.mktemp("runs") / "conv-vae"
    proc = run("fit", "--dataset", "digits", "--out", out, "--epochs", "2", "--maps", "none",
               "--architecture", "conv", "--channels", "8,16", "--variational", "--beta",
               "0.5", "--kl-warmup", "0.2", "--corruption", "gaussian:0.3", "--latent-dim",
               "4", "-q", check_code=0)
    return out, proc


def test_fit_records_the_kind_and_writes_its_metrics_and_pictures(conv_vae_run):
    out, proc = conv_vae_run
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"]["kind"] == "conv"
    assert config["architecture"]["variational"] is True
    assert config["recipe"]["corruption"] == "gaussian:0.3" and config["recipe"]["beta"] == 0.5
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_elbo"] < 0
    assert 0 < metrics["test_psnr_noisy"] < 60 and 0 < metrics["test_psnr_denoised"] < 60
    for name in ("samples.png", "denoising.png", "interpolation.png"):
        assert (out / "figures" / name).is_file(), name
    assert "ELBO" in proc.stdout and "PSNR" in proc.stdout
    assert "Conv2d" in run("summary", out, check_code=0).stdout


def test_sample_writes_a_grid_or_the_array(conv_vae_run, tmp_path):
    out, _ = conv_vae_run
    run("sample", out, "-n", "12", "--out", tmp_path / "grid.png", check_code=0)
    assert (tmp_path / "grid.png").stat().st_size > 0
    run("sample", out, "-n", "12", "--seed", "3", "--out", tmp_path / "s.npy", check_code=0)
    S = np.load(tmp_path / "s.npy")
    assert S.shape == (12, 8, 8) and S.dtype == np.float32


def test_interpolate_uses_the_runs_data_set_and_checks_indices(conv_vae_run, tmp_path):
    out, _ = conv_vae_run
    run("interpolate", out, "--from", "0", "--to", "5", "--steps", "6", "--out",
        tmp_path / "row.npy", check_code=0)
    assert np.load(tmp_path / "row.npy").shape == (6, 8, 8)
    run("interpolate", out, "--from", "0", "--to", "5", "--out", tmp_path / "row.png",
        check_code=0)
    proc = run("interpolate", out, "--from", "0", "--to", "100000", "--out",
               tmp_path / "x.png", check_code=2)
    assert "--to 100000: the data has 297 samples" in proc.stderr


def test_denoise_adds_noise_prints_psnr_and_draws_the_rows(conv_vae_run, tmp_path):
    out, _ = conv_vae_run
    proc = run("denoise", out, "--dataset", "digits", "--add-noise", "gaussian:0.3", "--out",
               tmp_path / "d.npy", "--figure", tmp_path / "d.png", check_code=0)
    assert "PSNR against the clean data: noisy" in proc.stdout
    assert np.load(tmp_path / "d.npy").shape == (297, 8, 8)
    assert (tmp_path / "d.png").stat().st_size > 0


def test_denoise_of_a_users_noisy_file_against_its_clean_originals(conv_vae_run, tmp_path):
    out, _ = conv_vae_run
    rng = np.random.default_rng(0)
    clean = rng.random((20, 8, 8)).astype(np.float32)
    noisy = np.clip(clean + rng.normal(0, 0.2, clean.shape), 0, 1).astype(np.float32)
    np.save(tmp_path / "clean.npy", clean)
    np.save(tmp_path / "noisy.npy", noisy)
    proc = run("denoise", out, "--input", tmp_path / "noisy.npy", "--clean",
               tmp_path / "clean.npy", "--out", tmp_path / "out.npy", check_code=0)
    assert "dB" in proc.stdout and np.load(tmp_path / "out.npy").shape == (20, 8, 8)
    np.save(tmp_path / "short.npy", clean[:5])
    proc = run("denoise", out, "--input", tmp_path / "noisy.npy", "--clean",
               tmp_path / "short.npy", "--out", tmp_path / "o2.npy", check_code=1)
    assert "differs from the noisy data's" in proc.stderr
    # A figure that cannot be drawn is refused before anything is written.
    proc = run("denoise", out, "--input", tmp_path / "noisy.npy", "--out", tmp_path / "o3.npy",
               "--figure", tmp_path / "clean.npy", check_code=2)
    assert "--figure" in proc.stderr and "name a .png picture" in proc.stderr
    assert not (tmp_path / "o3.npy").exists()
    np.testing.assert_array_equal(np.load(tmp_path / "clean.npy"), clean)


@pytest.mark.parametrize("args, code, message", [
    (["fit", "--dataset", "digits", "--out", "{tmp}/x", "--corruption", "blur:1"], 2,
     "KIND one of gaussian, masking, salt-pepper"),
    (["fit", "--dataset", "digits", "--out", "{tmp}/x", "--kl-warmup", "2"], 2,
     "expected a fraction in [0, 1]"),
    (["fit", "--input", "{tmp}/flat.npy", "--out", "{tmp}/x", "--architecture", "conv", "-q"], 1,
     "reshape flat rows to images"),
    (["denoise", "{run}", "--dataset", "digits"], 2, "needs --out FILE and/or --figure"),
])
def test_family_usage_errors_are_one_line(conv_vae_run, tmp_path, args, code, message):
    np.save(tmp_path / "flat.npy", np.random.default_rng(0).random((40, 64)).astype(np.float32))
    args = [a.replace("{tmp}", str(tmp_path)).replace("{run}", str(conv_vae_run[0]))
            for a in args]
    proc = run(*args, check_code=code)
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_sample_needs_a_variational_run(tmp_path):
    out = tmp_path / "plain"
    run("fit", "--dataset", "digits", "--out", out, "--epochs", "1", "--maps", "none",
        "--hidden-dims", "16", "--latent-dim", "3", "-q", check_code=0)
    proc = run("sample", out, "--out", tmp_path / "g.png", check_code=1)
    assert "needs a variational autoencoder" in proc.stderr


def test_interpolate_and_denoise_take_an_input_large_enough_to_stream(conv_vae_run, tmp_path,
                                                                      monkeypatch):
    # Above STREAM_ABOVE_BYTES (1 GiB) an input is read as a Source: these verbs still work.
    out, _ = conv_vae_run
    np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 256, (30, 8, 8),
                                                                     dtype=np.uint8))
    monkeypatch.setattr("autoencoders.workflow.data.STREAM_ABOVE_BYTES", 0)
    run("interpolate", out, "--input", tmp_path / "x.npy", "--from", "2", "--to", "29",
        "--steps", "4", "--out", tmp_path / "row.npy", check_code=0)
    assert np.load(tmp_path / "row.npy").shape == (4, 8, 8)
    run("denoise", out, "--input", tmp_path / "x.npy", "--add-noise", "gaussian:0.3",
        "--out", tmp_path / "d.npy", check_code=0)
    assert np.load(tmp_path / "d.npy").shape == (30, 8, 8)


def test_quiet_means_nothing_on_stderr_for_sample_interpolate_and_denoise(conv_vae_run,
                                                                         tmp_path):
    out, _ = conv_vae_run
    for argv in (["sample", out, "-n", "4", "--out", tmp_path / "s.npy"],
                 ["interpolate", out, "--from", "0", "--to", "1", "--out", tmp_path / "i.npy"],
                 ["denoise", out, "--dataset", "digits", "--add-noise", "gaussian:0.3",
                  "--out", tmp_path / "d.npy", "--figure", tmp_path / "d.png"]):
        proc = run(*argv, "-q", check_code=0)
        assert proc.stderr == "", (argv[0], proc.stderr)
        assert "wrote" in run(*argv, "--force", check_code=0).stderr, argv[0]
        refused = run(*argv, check_code=1)  # a file there: replaced only with --force
        assert "exists; nothing was written: add --force to replace it" in refused.stderr
