"""Jupyter's view of a fitted estimator, a run folder and a report: compact, escaped, and
scikit-learn's own display before fitting."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from autoencoders import AutoEncoder, Run
from autoencoders.cli import main
from autoencoders.display import html_summary
from autoencoders.report import Report

HOSTILE = "<script>alert(1)</script>"


def test_html_summary_escapes_and_skips_missing_rows():
    html = html_summary(HOSTILE, [("a", HOSTILE), ("gone", None), ("b", 3)], note=HOSTILE)
    assert "<script>" not in html and html.count("&lt;script&gt;") == 3
    assert "gone" not in html and ">3<" in html


def test_unfitted_estimator_keeps_scikit_learns_display():
    bundle = AutoEncoder(latent_dim=3)._repr_mimebundle_()
    assert "sk-" in bundle["text/html"] and "latent_dim" in bundle["text/plain"]


def test_fitted_estimator_shows_its_model_code_and_training(blobs):
    X = blobs[0]
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=3, epochs=3, loss="mse",
                     random_state=0).fit(X)
    html = ae._repr_mimebundle_()["text/html"]
    assert html == ae._repr_html_()
    assert f"dense autoencoder: {X.shape[1]} → 8 → 3" in html
    assert "3 units" in html and "3 epochs" in html and "sk-" not in html
    assert dict(ae.summary_rows())["2-D map"] is None
    # The estimator does not know the dtype it will get: uint8 pixels are divided by 255.
    assert dict(ae.summary_rows())["input"] == ("uint8 pixels divided by 255 to [0, 1], "
                                                "other values used as they are")


def test_a_fitted_map_is_summarised_with_its_network_and_parameters(blobs, tmp_path, capsys):
    from autoencoders.neighbours import NeighbourMap

    X = blobs[0][:200]
    small_map = NeighbourMap(hidden=(16,), n_pca=5, epochs=1, min_steps=20, batch_size=256,
                             negatives=32)
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=3, epochs=1, loss="mse", random_state=0,
                     neighbour_map=small_map).fit(X)
    row = (f"2-d neighbour embedding of the input: PCA-5 → 16 → 2, 130 parameters (and a "
           f"PCA projection of {X.shape[1] * 5:,})")  # 5 × 16 + 16 and 16 × 2 + 2 weights
    assert dict(ae.summary_rows())["2-D map"] == row
    ae.save(tmp_path / "run")
    loaded = dict(AutoEncoder.load(tmp_path / "run").summary_rows())  # Jupyter's display
    assert loaded["2-D map"] == row and loaded["trained"].endswith(" s")
    capsys.readouterr()
    assert main(["summary", str(tmp_path / "run")]) == 0
    assert f"2-D map: {row}" in capsys.readouterr().out


def test_run_summary_and_report_from_a_folder(tmp_path):
    rng = np.random.RandomState(0)
    table = pd.DataFrame(rng.rand(120, 4), columns=["a", "b", HOSTILE, "d"])
    table["label"] = np.where(table["a"] > 0.5, HOSTILE, "low")
    table.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fit", "--input", str(tmp_path / "t.csv"), "--label-column", "label",
                 "--out", str(tmp_path / "run"), "--epochs", "2", "--latent-dim", "2",
                 "--no-report", "-q"]) == 0
    run = Run(tmp_path / "run")
    rows = dict(run.summary_rows())
    assert rows["epochs"] == 2 and rows["test MSE"] is not None
    assert "<script>" not in run._repr_html_()
    report = run.report()
    assert isinstance(report, Report) and "<script>alert(1)" not in report._repr_html_()
    # The page itself (the frame above escapes all of it): the labels and the column name
    # are there only as JSON data with < and > escaped.
    assert HOSTILE not in report.html and "\\u003cscript\\u003ealert(1)" in report.html
    assert "values used as they are, clipped to [0, 1]" in report.html  # floats in [0, 1]
    assert not (tmp_path / "run" / "report.html").exists()   # showing writes nothing


def test_report_refuses_an_input_that_changed_since_the_run(tmp_path):
    # Reading the input again, report would find the run's test split among other rows:
    # a report of rows the model may have trained on, under the run's name (the command
    # line's case: tests/test_bad_input.py::report_of_a_changed_input).
    rng = np.random.RandomState(0)
    table = pd.DataFrame(rng.rand(100, 3), columns=["a", "b", "c"])
    table.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fit", "--input", str(tmp_path / "t.csv"), "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--no-map", "--no-report", "-q"]) == 0
    os.utime(tmp_path / "t.csv", ns=(0, 0))  # touched, the same rows: the same run
    assert isinstance(Run(tmp_path / "run").report(), Report)
    table.iloc[::-1].to_csv(tmp_path / "t.csv", index=False)  # same size, other order
    with pytest.raises(ValueError, match="t.csv has changed since the run in .* read it"):
        Run(tmp_path / "run").report()


def test_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a finished run folder"):
        Run(tmp_path)


def test_each_run_gets_an_equal_share_of_the_points_but_never_more_than_asked():
    from autoencoders.workflow.report import _share

    assert _share(10000, 2) == 5000 and _share(10000, 20) == 1000  # at least 1,000 each
    assert _share(5, 1) == 5 and _share(500, 3) == 500  # but --max-points 5 means 5
