"""The input contract (autoencoders.inputs): one pass over the values per call, one hold-out
rule for early stopping and the command line, errors that name the file's rows."""

from __future__ import annotations

import numpy as np
import pytest

import autoencoders.inputs.spec
from autoencoders import AutoEncoder
from autoencoders.datasets import open_source
from autoencoders.inference import write_outputs
from autoencoders.inputs import InputSpec, holdout, named, split
from autoencoders.workflow import DataRequest, run_data, with_run_split

SMALL = dict(hidden_dims=(8,), latent_dim=2, epochs=1, batch_size=32, verbose=0,
             random_state=0, device="cpu")


@pytest.fixture
def scanned(monkeypatch):
    """Rows read by the value pass, one entry per call."""
    calls: list[int] = []
    original = autoencoders.inputs.spec.scan

    def counting(rows):
        calls.append(len(rows))
        return original(rows)

    monkeypatch.setattr(autoencoders.inputs.spec, "scan", counting)
    return calls


def test_a_run_fit_reads_every_value_once(tmp_path, scanned):
    X = np.random.default_rng(0).uniform(size=(500, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    data = run_data(DataRequest(input=str(tmp_path / "x.npy"), test_fraction=0.2))
    assert scanned == []  # loading and splitting read no values
    AutoEncoder(**SMALL).fit(data.train_rows(), validation_data=data.test_rows())
    assert scanned == [400, 100]  # the training rows, then the test rows, once each


def test_streamed_fit_reads_every_value_once(tmp_path, scanned):
    X = np.random.default_rng(0).uniform(size=(300, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    AutoEncoder(**SMALL).fit(open_source(tmp_path / "x.npy"))
    assert scanned == [300]


def test_pixels_are_never_scanned(scanned):
    X = (np.random.default_rng(0).uniform(size=(64, 8, 8)) * 255).astype(np.uint8)
    ae = AutoEncoder(**SMALL).fit(X)
    ae.transform(X)
    assert scanned == []


def test_write_outputs_lets_the_estimator_check_each_chunk_once(tmp_path, scanned):
    X = np.random.default_rng(0).uniform(size=(250, 6)).astype(np.float32)
    ae = AutoEncoder(**SMALL).fit(X)
    scanned.clear()
    write_outputs(ae, X, tmp_path / "codes.npy", batch_size=100)
    assert scanned == [100, 100, 50]


def test_write_outputs_warns_once_per_message_not_once_per_chunk(tmp_path):
    # A hostile trial: "does not have valid feature names" came 30 times, once a chunk.
    import pandas as pd

    X = np.random.default_rng(0).uniform(size=(250, 6)).astype(np.float32)
    ae = AutoEncoder(**SMALL).fit(pd.DataFrame(X, columns=list("abcdef")))
    with pytest.warns(UserWarning) as caught:
        write_outputs(ae, X, tmp_path / "codes.npy", batch_size=10)
    assert [str(w.message) for w in caught] == [
        "X does not have valid feature names, but AutoEncoder was fitted with feature names"]


def test_errors_name_the_files_row(tmp_path):
    X = np.random.default_rng(0).uniform(size=(100, 4)).astype(np.float32)
    X[77, 2] = np.nan
    np.save(tmp_path / "x.npy", X)
    data = run_data(DataRequest(input=str(tmp_path / "x.npy"), seed=0))
    with pytest.raises(ValueError, match=r"x\.npy contains NaN .*sample 77, feature 2\)"):
        AutoEncoder(**SMALL).fit(data.train_rows(), validation_data=data.test_rows())
    spec, _, _ = InputSpec.fit(X[:50], "none")
    with pytest.raises(ValueError, match=r"chunk contains NaN .*sample 1077, feature 2\)"):
        spec.check(named(X[50:], "chunk", numbers=1050))


def test_one_holdout_rule_for_early_stopping_and_the_test_split():
    held = holdout(1000, 0.1, seed=3)
    assert len(held) == 100 and np.all(np.diff(held) > 0)
    assert np.array_equal(held, np.sort(np.random.default_rng(3).choice(1000, 100,
                                                                        replace=False)))
    assert len(holdout(1000, 0.5, max_rows=7, seed=0)) == 7
    assert len(holdout(3, 0.01, seed=0)) == 1  # at least one row
    with pytest.raises(ValueError, match="too few to hold"):
        holdout(1, 0.5)
    X = np.arange(20).reshape(10, 2)
    out, rest = split(X, np.array([1, 4]))
    assert out.tolist() == [[2, 3], [8, 9]] and rest[:, 0].tolist() == [0, 4, 6, 10, 12, 14,
                                                                          16, 18]


def test_early_stopping_holds_out_the_same_rows_streamed_or_in_memory(tmp_path):
    X = np.random.default_rng(1).uniform(size=(400, 10)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    params = {**SMALL, "epochs": 3, "early_stopping": True}
    memory = AutoEncoder(**params).fit(X)
    streamed = AutoEncoder(**params).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    assert memory.history_ == {**streamed.history_, "seconds": memory.history_["seconds"]}
    np.testing.assert_array_equal(memory.transform(X), streamed.transform(X))


def test_highest_keeps_the_top_rows_across_chunks_with_ids_and_stable_ties():
    from autoencoders.inference import Highest

    values = np.array([3.0, 9.0, 1.0, 9.0, 5.0, 7.0, 9.0], dtype=np.float32)
    ids = np.array([f"r{i}" for i in range(7)])
    highest = Highest(4)
    for start in range(0, 7, 3):
        stop = min(start + 3, 7)
        highest(start, stop, values[start:stop], ids[start:stop])
    assert [(r, i) for r, i, _ in highest.rows] == [(1, "r1"), (3, "r3"), (6, "r6"),
                                                   (5, "r5")]
    assert [v for _, _, v in highest.rows] == [9.0, 9.0, 9.0, 7.0]
    few = Highest(10)
    few(0, 2, np.array([1.0, 2.0]))
    assert few.rows == [(1, None, 2.0), (0, None, 1.0)]


def test_a_runs_own_input_is_split_as_the_run_split_it(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).uniform(size=(600, 4)).astype(np.float32))
    path = str(tmp_path / "x.npy")
    fit = {"input": path, "test_fraction": 0.3, "seed": 3, "test_size": None, "train_size": None}
    theirs = run_data(DataRequest(input=path, test_fraction=0.3, seed=3)).test_numbers
    ours = run_data(DataRequest(input=path)).test_numbers  # 0.1, seed 0: mostly rows it trained on
    assert len(np.intersect1d(ours, theirs)) < len(ours) / 2
    request = with_run_split(DataRequest(input=str(tmp_path / "." / "x.npy"), seed=5), fit)
    assert np.array_equal(run_data(request).test_numbers, theirs)
    fewer = run_data(with_run_split(DataRequest(input=path, train_size=50), fit))
    assert np.array_equal(fewer.test_numbers, theirs) and len(fewer.X_train) == 50
    np.save(tmp_path / "y.npy", np.zeros((10, 4), np.float32))
    other = DataRequest(input=str(tmp_path / "y.npy"))
    assert with_run_split(other, fit) is other  # other data: its own split


def test_a_column_named_like_labels_read_as_a_feature_gets_a_note(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,label\n0.1,0.2,1\n0.3,0.4,0\n0.5,0.6,1\n")
    from autoencoders.workflow import load

    as_feature = load(DataRequest(input=str(tmp_path / "t.csv")))
    assert as_feature.X.shape == (3, 3)
    assert any("column 'label' is read as a feature" in n and "--label-column label" in n
               for n in as_feature.notes)
    as_labels = load(DataRequest(input=str(tmp_path / "t.csv"), label_column="label"))
    assert as_labels.X.shape == (3, 2) and as_labels.notes == []


def test_every_door_that_takes_labels_refuses_missing_ones():
    from autoencoders.evaluation.metrics import knn_accuracy
    from autoencoders.inputs import check_labels

    for labels in (np.array([1.0, np.nan, 2.0]), np.array(["a", None, "b"], dtype=object),
                   np.array(["a", " ", "b"], dtype=object)):
        with pytest.raises(ValueError, match=r"y: 1 sample\(s\) have no label \(the first: "
                                             r"sample 1\)"):
            check_labels(labels, 3, "y")
    Z = np.random.default_rng(0).normal(size=(12, 2))
    with pytest.raises(ValueError, match="y_train: 1 sample"):
        knn_accuracy(Z, np.r_[[np.nan], np.arange(11) % 2], Z, np.arange(12) % 2)
    assert check_labels(np.array([3, 1, 2]), 3).tolist() == [3, 1, 2]
