"""The catalogue of bad input: every kind, through every entry point, answered clearly.

Each case below is one kind of input given to one entry point (an estimator method, a
command, a loader), with the answer it must get: an exception of a given type whose message
matches, a CLI exit code with one line on stderr, or a documented right result. The same table
renders ``docs/reliability.md``; ``test_reliability_doc_is_current`` keeps the two in step:

    python -m tests.test_bad_input      # rewrites docs/reliability.md
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import json
import os
import pickle
import re
import shutil
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import autoencoders._io
from autoencoders import AutoEncoder
from autoencoders.datasets import read_input, write_array
from autoencoders.datasets.idx import parse_idx
from autoencoders.plotting import plot_maps
from autoencoders.training import CheckpointError
from tests.cli.helpers import files_under

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


class CommandFailed(Exception):
    """``autoencoders ...`` returned a non-zero exit code; ``str()`` is its stderr line."""

    def __init__(self, code: int, line: str):
        self.code = code
        super().__init__(line)


@dataclass
class Case:
    name: str
    kind: str
    entry: str
    error: type | None  # None: the call must work
    match: str  # regex the message must match; or, for working calls, what they do
    exit_code: int | None = None


CASES: list[Case] = []
_FUNCS = {}


def case(kind, entry, error=None, match="", exit_code=None):
    def register(fn):
        CASES.append(Case(fn.__name__, kind, entry, error, match, exit_code))
        _FUNCS[fn.__name__] = fn
        return fn
    return register


class Ctx:
    """Small data, a fitted model and its folder, in a temporary folder."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        rng = np.random.default_rng(0)
        self.X = rng.uniform(size=(40, 6)).astype(np.float32)
        self.ae = self.new().fit(self.X)
        self.model_dir = self.ae.save(tmp / "model")
        np.save(tmp / "good.npy", self.X)

    @staticmethod
    def new(**kw) -> AutoEncoder:
        return AutoEncoder(**{"hidden_dims": (8,), "latent_dim": 2, "epochs": 1,
                              "batch_size": 16, "random_state": 0, "verbose": 0,
                              "device": "cpu", **kw})

    def bad(self, value, at=(3, 1)):
        X = self.X.copy()
        X[at] = value
        return X

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    @staticmethod
    @contextlib.contextmanager
    def locked(folder: Path):
        """``folder`` locked by a live process, as a running fit holds it."""
        import subprocess
        import sys

        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        folder.mkdir(exist_ok=True)
        try:
            (folder / ".lock").write_text(json.dumps({"pid": sleeper.pid}))
            yield
        finally:
            (folder / ".lock").unlink(missing_ok=True)
            sleeper.kill()
            sleeper.wait()

    def copy_model(self, name: str) -> Path:
        import shutil

        return Path(shutil.copytree(self.model_dir, self.tmp / name))

    def cli(self, *argv) -> None:
        """Run the command in this process; raise CommandFailed on a non-zero exit."""
        from autoencoders.cli import main

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main([str(a) for a in argv])
        lines = err.getvalue().strip().splitlines()
        if code != 0:
            assert len(lines) == 1, f"expected one line on stderr, got: {err.getvalue()}"
            assert lines[0].startswith("autoencoders: error: ")
            raise CommandFailed(code, lines[0][len("autoencoders: error: "):])


# ------------------------------------------------------------------ NaN, ±inf, overflow
@case("NaN", "AutoEncoder.fit", ValueError,
      r"X contains NaN or infinite values \(first in sample 3, feature \d+\); remove or "
      r"impute them first")
def nan_at_fit(ctx):
    ctx.new().fit(ctx.bad(np.nan))


@case("+inf", "AutoEncoder.transform", ValueError, r"X contains NaN or infinite values")
def inf_at_transform(ctx):
    ctx.ae.transform(ctx.bad(np.inf))


@case("-inf", "AutoEncoder.score_samples", ValueError, r"X contains NaN or infinite values")
def neg_inf_at_score_samples(ctx):
    ctx.ae.score_samples(ctx.bad(-np.inf))


@case("NaN", "AutoEncoder.inverse_transform", ValueError, r"Z contains NaN or infinite")
def nan_codes_at_inverse_transform(ctx):
    ctx.ae.inverse_transform(np.full((2, 2), np.nan))


@case("NaN in a file", "autoencoders fit --input", ValueError,
      r"contains NaN or infinite values \(first in sample 3, feature \d+\)", exit_code=1)
def nan_in_file_at_cli_fit(ctx):
    np.save(ctx.tmp / "nan.npy", ctx.bad(np.nan))
    ctx.cli("fit", "--input", ctx.tmp / "nan.npy", "--out", ctx.tmp / "run-nan", "-q")


@case("values beyond float32", "AutoEncoder.fit", ValueError,
      r"X overflows float32 after scaling; rescale it first")
def float64_overflow_at_fit(ctx):
    X = ctx.X.astype(np.float64)
    X[3, 1] = 1e300
    ctx.new(loss="mse").fit(X)


# ------------------------------------------------------------------ empty, single, rank
@case("empty input (0 samples)", "AutoEncoder.fit", ValueError,
      r"X is empty \(0 samples\); pass at least one sample")
def empty_at_fit(ctx):
    ctx.new().fit(np.zeros((0, 6), np.float32))


@case("empty input (0 samples)", "AutoEncoder.transform", ValueError, r"X is empty")
def empty_at_transform(ctx):
    ctx.ae.transform(np.zeros((0, 6), np.float32))


@case("0 features", "AutoEncoder.fit", ValueError, r"X has 0 feature\(s\)")
def no_features_at_fit(ctx):
    ctx.new().fit(np.zeros((5, 0), np.float32))


@case("empty CSV (header only)", "read_input", ValueError, r"empty\.csv: no data rows")
def empty_csv(ctx):
    read_input(ctx.write("empty.csv", "a,b,c\n"))


@case("a single sample", "AutoEncoder.fit", None,
      "trains on it (one batch of one sample per epoch)")
def single_sample_at_fit(ctx):
    ae = ctx.new(epochs=2).fit(ctx.X[:1])
    assert len(ae.history_["epoch"]) == 2


@case("a single sample", "AutoEncoder.fit with early_stopping", ValueError,
      r"early_stopping needs at least 2 samples to hold out validation data")
def single_sample_with_early_stopping(ctx):
    ctx.new(early_stopping=True).fit(ctx.X[:1])


@case("a single sample", "AutoEncoder.transform", None, "returns codes of shape (1, latent_dim)")
def single_sample_at_transform(ctx):
    assert ctx.ae.transform(ctx.X[:1]).shape == (1, 2)


@case("a 1-D vector (one sample)", "AutoEncoder.transform", ValueError,
      r"X must be 2-D or more.*got shape \(6,\)\. Reshape your data: X\.reshape\(1, -1\)")
def one_d_at_transform(ctx):
    ctx.ae.transform(ctx.X[0])


@case("a 1-D vector", "AutoEncoder.fit", ValueError, r"X must be 2-D or more")
def one_d_at_fit(ctx):
    ctx.new().fit(ctx.X[:, 0])


@case("a scalar", "AutoEncoder.reconstruct", ValueError, r"X must be 2-D or more.*shape \(\)")
def scalar_at_reconstruct(ctx):
    ctx.ae.reconstruct(3.0)


# ------------------------------------------------------------------ wrong feature count
@case("wrong number of features", "AutoEncoder.transform", ValueError,
      r"X has 5 features, but AutoEncoder is expecting 6 features as input")
def wrong_features_at_transform(ctx):
    ctx.ae.transform(ctx.X[:, :5])


@case("wrong number of features", "AutoEncoder.score_samples", ValueError,
      r"X has 7 features, but AutoEncoder is expecting 6")
def wrong_features_at_score_samples(ctx):
    ctx.ae.score_samples(np.hstack([ctx.X, ctx.X[:, :1]]))


@case("wrong code width", "AutoEncoder.inverse_transform", ValueError,
      r"Z has shape \(3, 5\); expected \(n_samples, 2\)")
def wrong_code_width_at_inverse_transform(ctx):
    ctx.ae.inverse_transform(np.zeros((3, 5)))


@case("validation data of another width", "AutoEncoder.fit", ValueError,
      r"validation_data has 5 features, but AutoEncoder is expecting 6")
def wrong_validation_width(ctx):
    ctx.new().fit(ctx.X, validation_data=ctx.X[:, :5])


@case("wrong number of features", "autoencoders embed", ValueError,
      r"narrow\.npy has 5 features, but AutoEncoder is expecting 6", exit_code=1)
def wrong_features_at_cli_embed(ctx):
    np.save(ctx.tmp / "narrow.npy", ctx.X[:, :5])
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "narrow.npy",
            "--out", ctx.tmp / "z.npy")


@case("wrong number of features", "autoencoders cluster", ValueError,
      r"narrow\.npy has 5 features, but AutoEncoder is expecting 6", exit_code=1)
def wrong_features_at_cli_cluster(ctx):
    # A hostile trial: cluster, interpolate and denoise --clean named "X", "x_from", not
    # the file (embed and score named it).
    np.save(ctx.tmp / "narrow.npy", ctx.X[:, :5])
    for verb in (("interpolate", "--from", "0", "--to", "1", "--out", ctx.tmp / "i.npy"),
                 ("denoise", "--clean", ctx.tmp / "narrow.npy", "--input", ctx.tmp / "good.npy",
                  "--out", ctx.tmp / "d.npy")):
        with pytest.raises(CommandFailed, match=r"narrow\.npy"):
            ctx.cli(verb[0], ctx.model_dir, *(("--input", ctx.tmp / "narrow.npy")
                                              if verb[0] == "interpolate" else ()), *verb[1:])
    ctx.cli("cluster", ctx.model_dir, "--input", ctx.tmp / "narrow.npy", "--n-clusters", "2")


# ------------------------------------------------------------------ types
@case("strings", "AutoEncoder.fit", ValueError,
      r"X has dtype <U1; it must hold real numbers \(convert strings or categories")
def strings_at_fit(ctx):
    ctx.new().fit(np.array([["a"] * 6] * 3))


@case("mixed numbers and strings (object array)", "AutoEncoder.transform", ValueError,
      r"X holds non-numeric values \(strings or objects\): could not convert string to "
      r"float: 'x'; convert them to numbers first")
def objects_at_transform(ctx):
    ctx.ae.transform(np.array([[0.1, "x", 0.2, 0.3, 0.4, 0.5]], dtype=object))


@case("ragged nested lists", "AutoEncoder.fit", ValueError,
      r"X could not be read as an array.*rows must all have the same length")
def ragged_lists_at_fit(ctx):
    ctx.new().fit([[0.1, 0.2], [0.3]])


@case("a sparse matrix", "AutoEncoder.fit", ValueError,
      r"X is a sparse matrix; autoencoders need dense input: pass X\.toarray\(\)")
def sparse_at_fit(ctx):
    from scipy import sparse

    ctx.new().fit(sparse.csr_matrix(ctx.X))


@case("complex numbers", "AutoEncoder.fit", ValueError, r"Complex data not supported")
def complex_at_fit(ctx):
    ctx.new().fit(ctx.X.astype(np.complex64))


@case("float64 and non-contiguous arrays", "AutoEncoder.fit / transform", None,
      "work: converted to float32; the same codes as the float32 contiguous copy")
def float64_noncontiguous(ctx):
    wide = np.repeat(ctx.X.astype(np.float64), 2, axis=1)[:, ::2]  # a strided view
    assert not wide.flags.c_contiguous
    ae = ctx.new().fit(wide)
    np.testing.assert_array_equal(ae.transform(wide),
                                  ae.transform(np.ascontiguousarray(wide, np.float32)))


@case("pandas DataFrame and torch tensor", "AutoEncoder.fit / transform", None,
      "work: the same codes as the numpy array; a DataFrame's column names are kept in "
      "feature_names_in_")
def dataframe_and_tensor(ctx):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(ctx.X, columns=[f"c{i}" for i in range(6)])
    ae = ctx.new().fit(frame)
    assert list(ae.feature_names_in_) == list(frame.columns)
    codes = ae.transform(ctx.X)
    np.testing.assert_array_equal(ae.transform(frame), codes)
    np.testing.assert_array_equal(ae.transform(torch.from_numpy(ctx.X)), codes)


# ------------------------------------------------------------------ [0, 1] with BCE
@case("values outside [0, 1] with the BCE loss and input_scaling='none'", "AutoEncoder.fit",
      ValueError, r"X has values in \[0\.\d+, 3\] but the 'bce' loss needs \[0, 1\]; use "
      r"input_scaling='auto' or 'minmax'.*or loss='mse'")
def out_of_range_with_bce(ctx):
    ctx.new(input_scaling="none").fit(ctx.bad(3.0))


@case("values outside [0, 1] with the BCE loss and the default scaling", "AutoEncoder.fit",
      None, "works: each feature is mapped to [0, 1] by its training minimum and range "
      "(min-max), and the log says so (logger 'autoencoders', INFO)")
def out_of_range_with_bce_by_default(ctx):
    ae = ctx.new().fit(ctx.bad(3.0))
    assert ae.input_spec_.offset is not None and ae.transform(ctx.bad(3.0)).shape == (40, 2)


@case("values a little outside [0, 1] for a BCE model (a held-out fold of a MinMaxScaler)",
      "AutoEncoder.transform", None, "works: clipped to [0, 1], as min-max scaling clips "
      "new data beyond the training range")
def slightly_out_of_range_at_transform(ctx):
    assert np.isfinite(ctx.ae.transform(ctx.bad(-2.0))).all()


@case("values far outside [0, 1] for a BCE model (other units)", "AutoEncoder.transform",
      ValueError, r"X has values in \[-20, 0\.\d+\] but the 'bce' loss needs \[0, 1\]; the "
      r"model was trained on input in \[0, 1\]")
def out_of_range_at_transform(ctx):
    ctx.ae.transform(ctx.bad(-20.0))


@case("values outside [0, 1] with input_scaling='minmax'", "AutoEncoder.fit", None,
      "work: each feature is mapped to [0, 1] with the training minimum and range")
def out_of_range_with_minmax(ctx):
    ae = ctx.new(input_scaling="minmax").fit(ctx.bad(3.0))
    assert ae.transform(ctx.bad(3.0)).shape == (40, 2)


@case("values many training ranges beyond those of fit for a min-max scaled model (other "
      "units)", "AutoEncoder.transform", ValueError,
      r"X has values [\d.]+ training ranges beyond those of fit \(feature \d: \[[\d.]+, "
      r"[\d.]+\], trained on \[[\d.]+, [\d.]+\]\); .* clips new data within 10 ranges of "
      r"it, so this looks like data in other units: pass it in the units of the training data")
def far_beyond_minmax_range_at_transform(ctx):
    ae = ctx.new(input_scaling="minmax").fit(ctx.X * 3)
    assert np.isfinite(ae.transform(ctx.X * 6)).all()  # a range or so beyond: clipped
    ae.transform(ctx.X * 60)


# ------------------------------------------------------------------ CSV
@case("a string in a CSV", "read_input", ValueError,
      r"words\.csv: line 3 has a non-numeric or empty cell 'abc' in column 'b'; the CSV must "
      r"hold numbers")
def csv_string(ctx):
    read_input(ctx.write("words.csv", "a,b\n1,2\n3,abc\n"))


@case("a missing cell in a CSV", "read_input", ValueError,
      r"holes\.csv: line 2 has a non-numeric or empty cell ''")
def csv_missing_cell(ctx):
    read_input(ctx.write("holes.csv", "1,2,3\n4,,6\n"))


@case("a short row in a CSV", "read_input", ValueError,
      r"short\.csv: line 3 has 2 cells, expected 3; every row needs the same number")
def csv_short_row(ctx):
    read_input(ctx.write("short.csv", "1,2,3\n4,5,6\n7,8\n"))


@case("a CSV that is not UTF-8", "read_input", ValueError,
      r"latin1\.csv: not UTF-8 text \(byte 2: invalid continuation byte\); save the CSV as UTF-8")
def csv_not_utf8(ctx):
    read_input(ctx.write("latin1.csv", "1,\xe9\n".encode("latin-1")))


@case("a missing cell in a CSV", "autoencoders fit --input", ValueError,
      r"holes\.csv: line 2 has a non-numeric or empty cell ''", exit_code=1)
def csv_missing_cell_at_cli(ctx):
    path = ctx.write("holes.csv", "1,2,3\n4,,6\n")
    ctx.cli("fit", "--input", path, "--out", ctx.tmp / "run-csv", "-q")


@case("CSV ids that numbers would change (leading zeros, 1e3, beyond int64)", "read_input",
      None, "works: kept as written, not rewritten as numbers (or a traceback beyond int64)")
def csv_ids_kept_as_written(ctx):
    from autoencoders.datasets import open as open_source

    for cells in (["00001", "00002", "1e3"], [str(2**64), "2", "3"]):
        rows = "".join(f"{c},0.{i},0.5\n" for i, c in enumerate(cells))
        source = open_source(ctx.write("ids.csv", "id,a,b\n" + rows))
        assert list(source.ids(np.arange(3))) == cells
    # Whole numbers as spreadsheets write them stay numbers.
    source = open_source(ctx.write("ids.csv", "id,a,b\n7.0,0.1,0.2\n8,0.3,0.4\n"))
    assert source.ids(np.arange(2)).tolist() == [7, 8]


@case("a CSV row longer than its header", "read_input", ValueError,
      r"long\.csv: line 2 has 3 cells but the header \(line 1\) has 2; every row needs one "
      r"cell for each column of the header; name every column in the header, or remove the "
      r"extra cells")
def csv_row_longer_than_header(ctx):
    read_input(ctx.write("long.csv", "a,b\n0.1,0.2,0.3\n"))


@case("a comma at the end of each CSV row (not of the header)", "autoencoders fit --input",
      ValueError, r"trailing\.csv: line 2 has 4 cells but the header \(line 1\) has 3; .*its "
      r"extra cells are empty: remove the comma at the end of each row", exit_code=1)
def csv_trailing_comma_at_cli(ctx):
    path = ctx.write("trailing.csv", "a,b,c\n0.1,0.2,0.3,\n0.4,0.5,0.6,\n")
    ctx.cli("fit", "--input", path, "--out", ctx.tmp / "run-trailing", "--epochs", "1", "-q")
    # The fit never started: no run folder.
    assert not (ctx.tmp / "run-trailing").exists()


@case("a comma at the end of every CSV line, the header's too", "read_input", ValueError,
      r"ends\.csv: column 4 is empty \(no value on lines 2-3\); a comma at the end of each "
      r"line makes it: remove those commas")
def csv_empty_last_column(ctx):
    read_input(ctx.write("ends.csv", "a,b,c,\n0.1,0.2,0.3,\n0.4,0.5,0.6,\n"))


@case("a CSV header longer than its rows (the columns would shift)",
      "autoencoders.datasets.open", ValueError,
      r"shift\.csv: line 2 has 3 cells but the header \(line 1\) has 4; every row needs one "
      r"cell for each column of the header; its cells would be read under the wrong names")
def csv_header_longer_than_rows(ctx):
    from autoencoders.datasets import open as open_source

    open_source(ctx.write("shift.csv", "id,a,b,c\n10,0.2,0.3\n40,0.5,0.6\n70,0.8,0.9\n"))


@case("a CSV header longer than its rows (the columns would shift)", "autoencoders embed",
      ValueError, r"shift6\.csv: line 2 has 6 cells but the header \(line 1\) has 7", exit_code=1)
def csv_header_longer_than_rows_at_cli(ctx):
    rows = "".join(",".join(f"{v:.3f}" for v in row[:6]) + "\n" for row in ctx.X[:5])
    path = ctx.write("shift6.csv", "id,a,b,c,d,e,f\n" + rows)
    ctx.cli("embed", ctx.model_dir, "--input", path, "--out", ctx.tmp / "shift6-codes.npy")


@case("a CSV separated by ';' (one column to the csv reader)", "read_input", ValueError,
      r"semi\.csv: seems separated by ';', not commas \(line 1: 'a;b;c'\), and autoencoders "
      r"reads comma-separated files; convert it, e\.g\. with pandas: pd\.read_csv\(path, "
      r"sep=';', decimal=','\)\.to_csv\(new_path, index=False\)")
def csv_separated_by_semicolons(ctx):
    read_input(ctx.write("semi.csv", "a;b;c\n1;2;3\n4;5;6\n"))


@case("a CSV separated by ';' with decimal commas", "autoencoders score", ValueError,
      r"euro\.csv: seems separated by ';', not commas .*sep=';', decimal=','", exit_code=1)
def csv_semicolons_and_decimal_commas_at_cli(ctx):
    rows = "".join(";".join(f"{v:.3f}".replace(".", ",") for v in row) + "\n"
                   for row in ctx.X[:5])
    path = ctx.write("euro.csv", "a;b;c;d;e;f\n" + rows)
    ctx.cli("score", ctx.model_dir, "--input", path, "--out", ctx.tmp / "euro-scores.npy")


@case("a CSV separated by tabs", "read_input", ValueError,
      r"tabs\.csv: seems separated by tabs, not commas \(line 1: 'a\\tb'\), .*pd\.read_csv\("
      r"path, sep='\\t'\)")
def csv_separated_by_tabs(ctx):
    read_input(ctx.write("tabs.csv", "a\tb\n1\t2\n3\t4\n"))


@case("numbers with a thousands separator in a CSV (\"1,000\")", "read_input", ValueError,
      r"thousands\.csv: line 2 has '1,000' in column 'a', a number written with a thousands "
      r"separator; the CSV must hold plain numbers \(1000, 0\.5\): convert it, e\.g\. with "
      r"pandas: pd\.read_csv\(path, thousands=','\)")
def csv_thousands_separator(ctx):
    read_input(ctx.write("thousands.csv", 'a,b\n"1,000",2\n"2,500",3\n'))


@case("repeated column names in a CSV header", "read_input", ValueError,
      r"twice\.csv: repeated column names id; name each column once")
def csv_repeated_header_names(ctx):
    read_input(ctx.write("twice.csv", "id,id,a\n1,2,0.3\n2,3,0.4\n"))


@case("repeated column names in a CSV header", "autoencoders fit --input", ValueError,
      r"twice-cli\.csv: repeated column names a, b; name each column once", exit_code=1)
def csv_repeated_header_names_at_cli(ctx):
    path = ctx.write("twice-cli.csv", "a,b,a,b\n0.1,0.2,0.3,0.4\n0.5,0.6,0.7,0.8\n")
    ctx.cli("fit", "--input", path, "--out", ctx.tmp / "run-twice", "--epochs", "1", "-q")


# ------------------------------------------------------------------ npy / npz files
@case("a ragged .npz (object array)", "read_input", ValueError,
      r"ragged\.npz: holds a ragged or object array, stored with pickle, which autoencoders "
      r"never loads")
def ragged_npz(ctx):
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1.0, 2.0], [3.0]
    np.savez(ctx.tmp / "ragged.npz", X=ragged)
    read_input(ctx.tmp / "ragged.npz")


@case("labels of shape (n, 2) in an .npz", "autoencoders cluster", ValueError,
      r"y2d\.npz: 'y' has shape \(40, 2\), but labels are one per sample, of shape \(n,\); "
      r"save them so, or read the data without them \(--label-column none\)", exit_code=1)
def npz_labels_of_two_columns(ctx):
    # A hostile trial: cluster counted such labels and fell over (TypeError: unhashable
    # type: 'list'); fit named them y_train, and neither named the file.
    np.savez(ctx.tmp / "y2d.npz", X=ctx.X, y=np.tile([[0, 1], [1, 0]], (20, 1)))
    ctx.cli("cluster", ctx.model_dir, "--input", ctx.tmp / "y2d.npz", "--method", "kmeans")


@case("data with a NaN embedded into a new folder", "autoencoders embed", ValueError,
      r"contains NaN or infinite values", exit_code=1)
def failed_output_into_new_folders(ctx):
    # A hostile trial: the failed write left the folders made for it (new/, new/deep/).
    np.save(ctx.tmp / "holed.npy", ctx.bad(np.nan, at=(30, 2)))
    try:
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "holed.npy", "--out",
                ctx.tmp / "new" / "deep" / "codes.npy", "--chunk-size", "8")
    finally:
        assert not (ctx.tmp / "new").exists()


@case("labels that are values, not classes, counted as clusters", "autoencoders cluster",
      ValueError, r"--n-clusters K: .*values\.npz has 40 distinct labels for 40 points, values "
      r"rather than classes, so their count is no number of clusters; give K", exit_code=2)
def cluster_count_of_value_labels(ctx):
    # A hostile trial: 40 clusters of 40 points, reported as accuracy 1.0000.
    np.savez(ctx.tmp / "values.npz", X=ctx.X, y=np.linspace(0, 1, 40))
    ctx.cli("cluster", ctx.model_dir, "--input", ctx.tmp / "values.npz")


@case("an .npz archive named .npy", "autoencoders embed", ValueError,
      r"zipped\.npy: an \.npz archive \(a zip of arrays\), not a \.npy file; name it \.npz, "
      r"or save its data array with numpy\.save", exit_code=1)
def npz_named_npy(ctx):
    with open(ctx.tmp / "zipped.npy", "wb") as f:
        np.savez(f, X=ctx.X)
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "zipped.npy", "--out",
            ctx.tmp / "zipped-codes.npy")


@case("an id column named for an array file", "autoencoders embed", ValueError,
      r"good\.npy: an id column \('key'\) needs a table \(\.csv or \.parquet\); arrays have "
      r"none \(leave --id-column out\)", exit_code=1)
def id_column_of_an_array(ctx):
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--id-column", "key",
            "--out", ctx.tmp / "keyed.csv")


@case("a .npy array named .npz", "read_input", ValueError,
      r"single\.npz: a \.npy file \(one array\), not an \.npz archive; name it \.npy")
def npy_named_npz(ctx):
    with open(ctx.tmp / "single.npz", "wb") as f:
        np.save(f, ctx.X)
    read_input(ctx.tmp / "single.npz")


@case("a truncated .npz", "read_input", ValueError,
      r"cut\.npz: not a readable \.npz file .*truncated, corrupt or of another format")
def truncated_npz(ctx):
    np.savez(ctx.tmp / "whole.npz", X=ctx.X)
    read_input(ctx.write("cut.npz", (ctx.tmp / "whole.npz").read_bytes()[:100]))


@case("a .npy that is not one", "read_input", ValueError,
      r"fake\.npy: not a NumPy \.npy file \(it lacks NumPy.s header")
def fake_npy(ctx):
    read_input(ctx.write("fake.npy", "just text"))


@case("labels of the wrong length in an .npz", "read_input", ValueError,
      r"'X' has 40 rows but 'y' has 39")
def npz_labels_wrong_length(ctx):
    np.savez(ctx.tmp / "xy.npz", X=ctx.X, y=np.zeros(39))
    read_input(ctx.tmp / "xy.npz")


@case("an .npz without a recognisable data array", "read_input", ValueError,
      r"holds arrays \['a', 'b'\]; name the data array one of X, x, data, images")
def npz_unnamed(ctx):
    np.savez(ctx.tmp / "ab.npz", a=ctx.X, b=ctx.X)
    read_input(ctx.tmp / "ab.npz")


@case("a missing file", "read_input", FileNotFoundError, r"nothere\.npy: no such file or folder")
def missing_input(ctx):
    read_input(ctx.tmp / "nothere.npy")


@case("an unsupported file type", "read_input", ValueError,
      r"data\.xlsx: unsupported input type \.xlsx; use one of \.npy, \.npz, \.csv, \.parquet")
def unsupported_suffix(ctx):
    read_input(ctx.write("data.xlsx", "x"))


# ------------------------------------------------------------------ image folders
def _save_image(path: Path, array, mode=None):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)


@case("images of mixed sizes", "read_input (image folder)", ValueError,
      r"images have different sizes \[\(4, 4\), \(5, 5\)\]; pass --image-size HxW")
def mixed_sizes(ctx):
    folder = ctx.tmp / "sizes"
    _save_image(folder / "a.png", np.zeros((4, 4), np.uint8))
    _save_image(folder / "b.png", np.zeros((5, 5), np.uint8))
    read_input(folder)


@case("images of mixed sizes with image_size", "read_input (image folder)", None,
      "work: every image is resized (bilinear) to image_size")
def mixed_sizes_resized(ctx):
    folder = ctx.tmp / "sizes2"
    _save_image(folder / "a.png", np.zeros((4, 4), np.uint8))
    _save_image(folder / "b.png", np.full((5, 5), 255, np.uint8))
    X, _ = read_input(folder, image_size=(3, 3))
    assert X.shape == (2, 3, 3) and X[1].min() == 255


@case("RGB, RGBA, palette and 16-bit images and a non-image file", "read_input (image folder)",
      None, "work: uint8 grayscale (n, h, w); 16-bit scaled by 255/65535 (not clipped); alpha "
      "dropped; files without an image suffix skipped")
def mixed_modes(ctx):
    from PIL import Image

    folder = ctx.tmp / "modes"
    white = np.full((4, 4, 3), 255, np.uint8)
    _save_image(folder / "1-rgb.png", white)
    _save_image(folder / "2-rgba.png", np.dstack([white, np.zeros((4, 4), np.uint8)]))
    Image.fromarray(white).convert("P").save(folder / "3-palette.png")
    _save_image(folder / "4-16bit.png", np.full((4, 4), 32896, np.uint16))  # = 128 in 8 bits
    (folder / "notes.txt").write_text("not an image")
    X, _ = read_input(folder)
    assert X.dtype == np.uint8 and X.shape == (4, 4, 4)
    assert list(X[:, 0, 0]) == [255, 255, 255, 128]


@case("a broken file with an image suffix", "read_input (image folder)", ValueError,
      r"broken\.png: not a readable image .*; remove or replace it")
def broken_image(ctx):
    folder = ctx.tmp / "broken"
    _save_image(folder / "a.png", np.zeros((4, 4), np.uint8))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    read_input(folder)


@case("a folder without images", "read_input (image folder)", ValueError,
      r"no \.png/\.jpg/\.jpeg images in this folder")
def no_images(ctx):
    folder = ctx.tmp / "noimages"
    folder.mkdir()
    (folder / "readme.txt").write_text("x")
    read_input(folder)


# ------------------------------------------------------------------ IDX (MNIST files)
@case("a truncated IDX file", "load_mnist / parse_idx", ValueError,
      r"train-images: truncated data \(10 of 16 bytes\); the file is incomplete")
def truncated_idx(ctx):
    parse_idx(b"\x00\x00\x08\x03" + (1).to_bytes(4, "big") + (4).to_bytes(4, "big") * 2
              + bytes(10), "train-images")


@case("a corrupt gzip IDX file", "load_mnist / parse_idx", ValueError,
      r"train-images: the gzip data is truncated or corrupt")
def corrupt_gzip_idx(ctx):
    parse_idx(gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes(3))[:-6],
              "train-images")


# ------------------------------------------------------------------ labels
@case("labels of the wrong length", "plot_maps", ValueError,
      r"labels has 39 entries but there are 40 samples; pass one label per sample")
def labels_wrong_length(ctx):
    plot_maps({"codes": ctx.ae.transform(ctx.X)}, np.zeros(39), ctx.tmp / "map.png")


@case("labels of the wrong length", "workflow.RunData", ValueError,
      r"y_test has 5 entries but there are 10 samples")
def run_labels_wrong_length(ctx):
    from autoencoders.workflow import RunData

    RunData(ctx.X[:30], ctx.X[30:], None, np.zeros(5), {})


# ------------------------------------------------------------------ model and run folders
@case("a run folder without model.safetensors", "AutoEncoder.load", FileNotFoundError,
      r"no-weights/model\.safetensors: missing; .* is not a complete model folder")
def missing_weights(ctx):
    folder = ctx.copy_model("no-weights")
    (folder / "model.safetensors").unlink()
    AutoEncoder.load(folder)


@case("a run folder whose training was interrupted (checkpoints, no model yet)",
      "AutoEncoder.load", FileNotFoundError,
      r"interrupted holds a run that has not finished: its model is written when training "
      r"ends; unless a fit is writing it now, finish it with 'autoencoders fit --resume "
      r".*interrupted'")
def interrupted_run(ctx):
    AutoEncoder.load(_checkpoint_without_model(ctx, "interrupted", b"checkpoint"))


def _checkpoint_without_model(ctx, name, content):
    """A copy of the model folder whose model is gone and whose checkpoints/ holds one file
    of a checkpoint's name with ``content``."""
    folder = ctx.copy_model(name)
    (folder / "model.safetensors").unlink()
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "step-0000000012.safetensors").write_bytes(content)
    return folder


@case("a run folder with an empty file of a checkpoint's name (no model)", "AutoEncoder.load",
      FileNotFoundError, r"junk/model\.safetensors: missing; .* is not a complete model folder")
def empty_checkpoint_is_no_run(ctx):
    AutoEncoder.load(_checkpoint_without_model(ctx, "junk", b""))


@case("a checkpoint file for a model (the path an interruption prints)", "AutoEncoder.load",
      ValueError, r"checkpoints/step-0000000012\.safetensors is a training checkpoint, which "
      r"only 'autoencoders fit --resume' reads; pass the run folder .*checkpoint-file$")
def checkpoint_file_for_a_model(ctx):
    folder = _checkpoint_without_model(ctx, "checkpoint-file", b"checkpoint")
    AutoEncoder.load(folder / "checkpoints" / "step-0000000012.safetensors")


@case("a run folder without config.json or history.csv", "AutoEncoder.load", None,
      "works: model.safetensors carries the configuration and history in its header")
def missing_config(ctx):
    folder = ctx.copy_model("no-config")
    (folder / "config.json").unlink()
    (folder / "history.csv").unlink()
    loaded = AutoEncoder.load(folder)
    np.testing.assert_array_equal(loaded.transform(ctx.X), ctx.ae.transform(ctx.X))
    assert loaded.history_["train_loss"] == ctx.ae.history_["train_loss"]


@case("a run folder without model.safetensors", "autoencoders embed", FileNotFoundError,
      r"model\.safetensors: missing", exit_code=1)
def missing_weights_at_cli(ctx):
    folder = ctx.copy_model("no-weights-cli")
    (folder / "model.safetensors").unlink()
    ctx.cli("embed", folder, "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "z.npy")


@case("a truncated model file", "AutoEncoder.load", ValueError,
      r"model\.safetensors: not a readable safetensors file .*; it is truncated or corrupt")
def truncated_model(ctx):
    folder = ctx.copy_model("truncated")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-50])
    AutoEncoder.load(folder)


@case("a model file of an unknown format version", "AutoEncoder.load", ValueError,
      r"format_version 99 is not supported by this version of autoencoders")
def unknown_version(ctx):
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("future")
    weights = folder / "model.safetensors"
    config = (folder / "config.json").read_text().replace('"format_version": 1',
                                                           '"format_version": 99')
    save_file(load_file(weights), weights, metadata={"format_version": "99", "config": config})
    AutoEncoder.load(folder)


@case("tensors that do not match the configuration", "AutoEncoder.load", ValueError,
      r"its tensors do not match the model.s configuration .*belong to different models")
def mismatched_tensors(ctx):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("mismatch")
    weights = folder / "model.safetensors"
    with safe_open(weights, "pt") as f:
        header = f.metadata()
    tensors = load_file(weights)
    name = next(k for k in tensors if k.endswith("weight"))
    tensors[name] = torch.zeros(3, 3)
    save_file(tensors, weights, metadata=header)
    AutoEncoder.load(folder)


@case("a pickle file (.pt)", "AutoEncoder.load", ValueError,
      r"model\.pt: refusing to load a pickle-based file: unpickling runs arbitrary code")
def pickle_file(ctx):
    torch.save(ctx.ae.model_.state_dict(), ctx.tmp / "model.pt")
    AutoEncoder.load(ctx.tmp / "model.pt")


@case("a folder that does not exist", "autoencoders reconstruct", FileNotFoundError,
      r"nowhere: no such model folder", exit_code=1)
def no_model_folder_at_cli(ctx):
    ctx.cli("reconstruct", ctx.tmp / "nowhere", "--input", ctx.tmp / "good.npy",
            "--out", ctx.tmp / "r.npy")


@case("a fit that fails its data checks", "autoencoders fit", None,
      "leaves nothing behind: the same --out takes a good run at once (exit 1 first, with "
      "the problem named)")
def failed_fit_leaves_no_run(ctx):
    bad = ctx.X.copy()
    bad[7, 2] = np.nan
    np.save(ctx.tmp / "holey.npy", bad)
    out = ctx.tmp / "run-retry"
    with pytest.raises(CommandFailed, match="NaN"):
        ctx.cli("fit", "--input", ctx.tmp / "holey.npy", "--out", out, "-q", "--maps", "none")
    assert not out.exists()
    ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", out, "-q", "--maps", "none",
            "--epochs", "1")
    assert (out / "model.safetensors").is_file()


@case("values outside [0, 1] for a BCE model", "autoencoders embed", ValueError,
      r"big\.npy has values in \[0\.\d+, 15\.\d+\] but the 'bce' loss needs \[0, 1\]; "
      r"the model was trained on input in \[0, 1\]: scale this data as the training data "
      r"was", exit_code=1)
def out_of_range_at_cli_embed(ctx):
    np.save(ctx.tmp / "big.npy", ctx.X * 16)
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "big.npy", "--out", ctx.tmp / "z.npy")


@case("NaN in a file", "autoencoders embed", ValueError,
      r"nan2\.npy contains NaN or infinite values \(first in sample 3, feature \d+\); remove "
      r"or impute them first", exit_code=1)
def nan_in_file_at_cli_embed(ctx):
    np.save(ctx.tmp / "nan2.npy", ctx.bad(np.nan))
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "nan2.npy", "--out", ctx.tmp / "z.npy")


# ------------------------------------------------------------------ output paths
@case("an output path in a folder that does not exist", "autoencoders embed", None,
      "works: the folder is created")
def output_in_new_folder(ctx):
    out = ctx.tmp / "new" / "deeper" / "z.npy"
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--out", out)
    assert np.load(out).shape == (40, 2)


@case("an output path under a file", "autoencoders embed", OSError,
      r"cannot write .*afile/z\.npy: .*afile is a file, not a folder", exit_code=1)
def output_under_a_file(ctx):
    ctx.write("afile", "x")
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy",
            "--out", ctx.tmp / "afile" / "z.npy")


@case("an output folder that is not writable", "write_array", PermissionError,
      r"cannot write .*locked/z\.npy: Permission denied; choose another location or make "
      r"the folder writable")
def output_not_writable(ctx, monkeypatch):
    (ctx.tmp / "locked").mkdir()

    def refuse(*args, **kwargs):  # as the OS answers for a read-only folder, even for root
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(autoencoders._io, "_create_temporary", refuse)
    write_array(ctx.tmp / "locked" / "z.npy", ctx.X)


@case("a run folder under a file", "autoencoders fit", OSError,
      r"cannot write the run folder .*blocker/run: .*blocker is a file, not a folder; choose "
      r"another --out", exit_code=1)
def run_folder_under_a_file(ctx):
    ctx.write("blocker", "x")
    ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "blocker" / "run", "-q")


@case("a failed write (disk full)", "AutoEncoder.save", OSError,
      r"cannot write .*model\.safetensors: No space left on device; nothing there was changed")
def disk_full_at_save(ctx, monkeypatch):
    folder = ctx.copy_model("full-disk")
    before = (folder / "model.safetensors").read_bytes()
    write_bytes = Path.write_bytes

    def full(self, data):  # the first bytes land, then the disk is full
        write_bytes(self, data[:7])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    try:
        ctx.new(epochs=2).fit(ctx.X).save(folder)
    finally:
        assert (folder / "model.safetensors").read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in ctx.model_dir.iterdir())  # no temporary file left


# ------------------------------------------------------------------ the autoencoder family
@case("flat rows for a convolutional model", "AutoEncoder.fit", ValueError,
      r"a convolutional autoencoder needs images of shape \(height, width\) or \(channels, "
      r"height, width\), got samples of shape \(6,\); reshape flat rows to images")
def flat_rows_for_conv(ctx):
    ctx.new(architecture="conv").fit(ctx.X)


@case("an unknown architecture", "AutoEncoder.fit", ValueError,
      r"architecture must be one of \('dense', 'conv'\), got 'transformer'")
def unknown_architecture(ctx):
    ctx.new(architecture="transformer").fit(ctx.X)


@case("a corruption without its level", "AutoEncoder.fit", ValueError,
      r"corruption must be 'none' or KIND:LEVEL .* got 'gaussian'")
def corruption_without_level(ctx):
    ctx.new(corruption="gaussian").fit(ctx.X)


@case("a masking fraction above 1", "autoencoders fit", ValueError,
      r"argument --corruption: the masking corruption's level is the fraction of features "
      r"corrupted, in \(0, 1\], got 1.5", exit_code=2)
def masking_above_one(ctx):
    ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "run-mask",
            "--corruption", "masking:1.5")


@case("a variational model with a ReLU code", "AutoEncoder.fit", ValueError,
      r"a variational autoencoder's code is a Gaussian mean and needs "
      r"code_activation='linear', got 'relu'")
def variational_relu_code(ctx):
    ctx.new(variational=True, code_activation="relu").fit(ctx.X)


@case("sampling from a model that is not variational", "autoencoders sample", ValueError,
      r"sample needs a variational autoencoder; this one was fitted without \(refit with "
      r"variational=True, or fit --variational\)",
      exit_code=1)
def sample_plain_model(ctx):
    ctx.cli("sample", ctx.model_dir, "--out", ctx.tmp / "samples.png")


@case("samples that are not images, to a picture", "autoencoders sample", ValueError,
      r"images: samples of shape \(6,\) are not images", exit_code=1)
def sample_table_to_png(ctx):
    folder = ctx.new(variational=True).fit(ctx.X).save(ctx.tmp / "vae-table")
    ctx.cli("sample", folder, "--out", ctx.tmp / "samples.png")


@case("a KL weight for a model that is not variational", "AutoEncoder.fit", ValueError,
      r"beta and kl_warmup weight the KL term of a variational autoencoder; pass "
      r"variational=True \(--variational\), or leave them out")
def beta_without_variational(ctx):
    ctx.new(beta=4.0).fit(ctx.X)


@case("--split with --input (read whole, the split would be ignored)", "autoencoders cluster",
      ValueError, r"--split chooses a split of --dataset; --input .*good\.npy is read whole",
      exit_code=2)
def split_with_input(ctx):
    ctx.cli("cluster", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--split", "train",
            "--n-clusters", "2")


@case("a picture format that is not PNG", "autoencoders interpolate", ValueError,
      r"--out .*row\.jpg: name a \.png picture or a \.npy, \.csv or \.parquet file",
      exit_code=2)
def interpolate_to_jpg(ctx):
    ctx.cli("interpolate", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--from", "0",
            "--to", "1", "--out", ctx.tmp / "row.jpg")


@case("a scalar as the end of an interpolation", "AutoEncoder.interpolate", ValueError,
      r"x_from must be one sample of shape \(6,\), got an array of shape \(\)")
def interpolate_scalar(ctx):
    ctx.ae.interpolate(0, 1)


@case("an interpolation of one step", "AutoEncoder.interpolate", ValueError,
      r"steps must be an integer of at least 2, got 1")
def interpolate_one_step(ctx):
    ctx.ae.interpolate(ctx.X[0], ctx.X[1], steps=1)


@case("two samples as the end of an interpolation", "AutoEncoder.interpolate", ValueError,
      r"x_from must be one sample of shape \(6,\), got an array of shape \(2, 6\)")
def interpolate_two_samples(ctx):
    ctx.ae.interpolate(ctx.X[:2], ctx.X[1])


# ------------------------------------------------------------------ streamed data
def _parquet(path, **columns):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


@case("a Parquet list column with rows of different lengths", "autoencoders fit --stream",
      ValueError, r"ragged\.parquet: list column 'v' has rows of 2 and 1 values; every row "
      r"needs the same number", exit_code=1)
def ragged_parquet_list(ctx):
    import pyarrow as pa

    path = _parquet(ctx.tmp / "ragged.parquet", v=pa.array([[0.1, 0.2], [0.3]] * 4))
    ctx.cli("fit", "--input", path, "--out", ctx.tmp / "r", "--stream", "-q")


@case("a text column in a Parquet file", "autoencoders.datasets.open", ValueError,
      r"text\.parquet: column 'name' is not numeric \(string\); features must be numbers")
def text_parquet_column(ctx):
    from autoencoders.datasets import open as open_data

    open_data(_parquet(ctx.tmp / "text.parquet", a=[1.0, 2.0], name=["x", "y"]))


@case("--id-column naming a column the file lacks", "autoencoders embed", ValueError,
      r"ids\.parquet: no column 'key' for the ids \(columns: id, a\); pass the right "
      r"--id-column, or none", exit_code=1)
def missing_id_column(ctx):
    path = _parquet(ctx.tmp / "ids.parquet", id=[1, 2], a=[0.5, 0.5])
    ctx.cli("embed", ctx.model_dir, "--input", path, "--id-column", "key", "--out",
            ctx.tmp / "z.parquet")


@case("a label column with empty cells in a CSV", "autoencoders cluster", ValueError,
      r"holes\.csv: 2 sample\(s\) have no label in 'label' \(the first: sample 1\); fill "
      r"them in, or drop those rows, or read the file without its labels", exit_code=1)
def missing_labels_in_csv(ctx):
    rows = "\n".join(",".join(map(str, r)) + ("," if i in (1, 5) else f",{i % 2}")
                      for i, r in enumerate(ctx.X.round(3)))
    ctx.write("holes.csv", "a,b,c,d,e,f,label\n" + rows + "\n")
    ctx.cli("cluster", ctx.model_dir, "--input", ctx.tmp / "holes.csv", "--label-column",
            "label", "--n-clusters", "2", "--method", "kmeans")


@case("null labels in a Parquet file", "autoencoders.datasets.open", ValueError,
      r"nulls\.parquet: 1 sample\(s\) have no label in 'label' \(the first: sample 2\)")
def missing_labels_in_parquet(ctx):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from autoencoders.datasets import open as open_data

    pq.write_table(pa.table({"a": [0.1, 0.2, 0.3], "label": ["x", "y", None]}),
                   ctx.tmp / "nulls.parquet")
    open_data(ctx.tmp / "nulls.parquet", label_column="label").labels()


@case("NaN labels in an .npz read with --label-column none", "autoencoders cluster", None,
      "works: the data is read without its labels, and the clustering is not scored")
def missing_labels_in_npz_not_asked_for(ctx):
    np.savez(ctx.tmp / "m.npz", X=ctx.X, y=np.where(np.arange(40) == 3, np.nan, 1.0))
    ctx.cli("cluster", ctx.model_dir, "--input", ctx.tmp / "m.npz", "--label-column", "none",
            "--n-clusters", "2", "--method", "kmeans")
    assert "accuracy" not in json.loads((Path(ctx.model_dir) / "cluster.json").read_text())


@case("a glob matching .npy and .csv files", "autoencoders.datasets.open", ValueError,
      r"matches files of several types \(\.csv, \.npy\); stream one type")
def mixed_glob(ctx):
    from autoencoders.datasets import open as open_data

    folder = ctx.tmp / "mixed"
    folder.mkdir()
    np.save(folder / "a.npy", ctx.X)
    np.savetxt(folder / "b.csv", ctx.X, delimiter=",")
    open_data(str(folder / "*"))


@case(".npy shards of different widths", "autoencoders.datasets.open", ValueError,
      r"b\.npy: rows of shape \(5,\) float32, but .*a\.npy has \(6,\) float32; all "
      r"shards need the same row shape and dtype")
def mismatched_shards(ctx):
    from autoencoders.datasets import open as open_data

    (ctx.tmp / "shards").mkdir()
    np.save(ctx.tmp / "shards" / "a.npy", ctx.X)
    np.save(ctx.tmp / "shards" / "b.npy", ctx.X[:, :5])
    open_data(ctx.tmp / "shards")


@case("NaN in a streamed file", "AutoEncoder.fit(datasets.open(...))", ValueError,
      r"X contains NaN or infinite values \(first in sample 3, feature \d+\); remove or "
      r"impute them first")
def nan_in_streamed_file(ctx):
    from autoencoders.datasets import open as open_data

    np.save(ctx.tmp / "nan3.npy", ctx.bad(np.nan))
    ctx.new().fit(open_data(ctx.tmp / "nan3.npy"))


@case("a streamed file with the wrong number of features", "AutoEncoder.transform", ValueError,
      r"X has 5 features, but AutoEncoder is expecting 6 features as input .*got \(40, 5\)")
def streamed_wrong_width(ctx):
    from autoencoders.datasets import open as open_data

    np.save(ctx.tmp / "narrow.npy", ctx.X[:, :5])
    ctx.ae.transform(open_data(ctx.tmp / "narrow.npy"))


@case("NaN in a streamed file", "autoencoders fit --stream", ValueError,
      r"nan4\.npy contains NaN or infinite values \(first in sample 3, feature \d+\); remove "
      r"or impute them first", exit_code=1)
def nan_in_streamed_file_at_cli(ctx):
    np.save(ctx.tmp / "nan4.npy", ctx.bad(np.nan))
    ctx.cli("fit", "--input", ctx.tmp / "nan4.npy", "--stream", "--out", ctx.tmp / "n", "-q")


@case("a string id column not named id", "autoencoders.datasets.open", ValueError,
      r"column 'key' is not numeric \(string\); .* if it holds row ids or labels, pass "
      r"--id-column key or --label-column key \(in Python: id_column='key' or "
      r"label_column='key'\), or remove it")
def string_ids_not_named_id(ctx):
    from autoencoders.datasets import open as open_data

    open_data(_parquet(ctx.tmp / "keys.parquet", key=["a", "b"], x=[0.1, 0.2]))


@case("a folder of CSV files", "autoencoders fit --input", ValueError,
      r"csvs: no \.png/\.jpg/\.jpeg images in this folder \(it holds \.csv files\); a "
      r"folder to read holds PNG/JPEG images, \.npy shards or \.parquet files", exit_code=1)
def folder_of_csvs(ctx):
    (ctx.tmp / "csvs").mkdir()
    np.savetxt(ctx.tmp / "csvs" / "a.csv", ctx.X, delimiter=",")
    ctx.cli("fit", "--input", ctx.tmp / "csvs", "--out", ctx.tmp / "c", "-q")


@case("an unquoted pattern that the shell expanded", "autoencoders fit --input", ValueError,
      r"unrecognized arguments: .*; if the shell expanded a pattern, quote it", exit_code=2)
def unquoted_glob(ctx):
    for i in range(2):
        np.save(ctx.tmp / f"part{i}.npy", ctx.X)
    ctx.cli("fit", "--input", ctx.tmp / "part0.npy", ctx.tmp / "part1.npy", "--out",
            ctx.tmp / "u", "-q")


@case("a pattern that matches no file", "autoencoders fit --input", FileNotFoundError,
      r"nothing-\*\.parquet: no files match this pattern", exit_code=1)
def glob_without_files(ctx):
    ctx.cli("fit", "--input", ctx.tmp / "nothing-*.parquet", "--out", ctx.tmp / "g", "-q")


# ------------------------------------------------------------------ a hostile trial's kinds
@case("a learning rate so large that the loss becomes NaN or explodes", "AutoEncoder.fit",
      RuntimeError, r"training diverged in epoch 1: the training loss (became nan|exploded "
      r"from .*) \(NaN, non-finite or exploding\); lower the learning rate \(now 1e\+30\)")
def nan_loss_at_fit(ctx):
    ctx.new(learning_rate=1e30).fit(ctx.X)


@case("a learning rate large enough that the loss explodes without being NaN",
      "AutoEncoder.fit", RuntimeError, r"the training loss exploded from \d\.\d+ "
      r"\(untrained\) to [\d.e+]+ \(NaN, non-finite or exploding\)")
def exploding_loss_at_fit(ctx):
    ctx.new(learning_rate=1e6).fit(ctx.X)


@case("a diverging run", "autoencoders fit", RuntimeError,
      r"training diverged in epoch 1", exit_code=1)
def diverging_run_at_cli(ctx):
    out = ctx.tmp / "run-diverged"
    try:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", out, "-q", "--maps", "none",
                "--lr", "1e30", "--epochs", "1")
    finally:
        assert not out.exists()  # nothing half-written is left to demand --force


@case("a model whose weights hold NaN", "AutoEncoder.load", ValueError,
      r"model\.safetensors: the weights .* hold NaN or infinite values; the model diverged "
      r"or the file is damaged")
def nan_weights_at_load(ctx):
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("nan-weights")
    weights = folder / "model.safetensors"
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as f:
        header = f.metadata()
    tensors = load_file(weights)
    name = next(k for k in tensors if k.endswith("weight"))
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, weights, metadata=header)
    AutoEncoder.load(folder)


@case("integer tensors in a model file", "AutoEncoder.load", ValueError,
      r"its tensors do not match the model's configuration \(.* is I64, not F32")
def integer_weights_at_load(ctx):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("int-weights")
    weights = folder / "model.safetensors"
    with safe_open(str(weights), "pt") as f:
        header = f.metadata()
    tensors = {k: v.to(torch.int64) for k, v in load_file(weights).items()}
    save_file(tensors, weights, metadata=header)
    AutoEncoder.load(folder)


@case("a 3 KB model folder whose configuration claims 10^9-unit layers", "AutoEncoder.load",
      ValueError, r"its tensors do not match the model's configuration \(.*1000000000")
def huge_layers_claimed_at_load(ctx):
    import json
    import resource

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("huge-config")
    weights = folder / "model.safetensors"
    with safe_open(str(weights), "pt") as f:
        header = dict(f.metadata())
    config = json.loads(header["config"])
    config["architecture"]["hidden_dims"] = [10**9]
    header["config"] = json.dumps(config)
    save_file(load_file(weights), weights, metadata=header)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        AutoEncoder.load(folder)
    finally:  # checked before anything was allocated (KB)
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000


@case("hidden layers too large for the machine's memory", "autoencoders fit", MemoryError,
      r"training a model of [\d,]+ parameters would take [\d.]+ [TP]B, more than the .* "
      r"of memory available; choose smaller hidden_dims", exit_code=1)
def huge_model_at_fit(ctx):
    ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "run-huge", "-q",
            "--hidden-dims", "1000000000", "--maps", "none")


@case("a 186-byte .npz declaring (10^11, 784) float32", "autoencoders embed", MemoryError,
      r"huge\.npz, decompressed, would take 313\.6 TB, more than the .* of memory "
      r"available; convert it to \.npy shards or \.parquet files", exit_code=1)
def npz_declaring_huge_array(ctx):
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**11, 784)})
    with zipfile.ZipFile(ctx.tmp / "huge.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("X.npy", header.getvalue() + b"\0" * 100)
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "huge.npz", "--out", ctx.tmp / "z.npy")


@case("an IDX header claiming 14.6 GiB", "load_mnist", ValueError,
      r"the header declares shape \(60000, 512, 512\) \([\d,]+ bytes, more than the "
      r"67,108,864 such a file holds\); the file is corrupt")
def idx_claiming_huge_size(ctx, monkeypatch):
    from autoencoders.datasets import load_mnist

    folder = ctx.tmp / "claims" / "mnist"
    folder.mkdir(parents=True)
    header = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big")
                                            for d in (60000, 512, 512))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + b"\0" * 64))
    monkeypatch.setenv("AUTOENCODERS_DATA_DIR", str(ctx.tmp / "claims"))
    load_mnist("train", progress=False, mirrors=())


@case("a model file that is a named pipe", "AutoEncoder.load", ValueError,
      r"model\.safetensors: not a regular file \(a pipe, a device or a link to one\)")
def fifo_model_file(ctx):
    import os

    folder = ctx.copy_model("fifo")
    (folder / "model.safetensors").unlink()
    os.mkfifo(folder / "model.safetensors")
    AutoEncoder.load(folder)


@case("a string where a model's configuration has a number", "AutoEncoder.load", ValueError,
      r"model\.safetensors: ArchitectureConfig: field 'latent_dim' must be int, got 'two'")
def config_with_wrong_type(ctx):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("wrong-type")
    weights = folder / "model.safetensors"
    with safe_open(str(weights), "pt") as f:
        header = dict(f.metadata())
    config = json.loads(header["config"])
    config["architecture"]["latent_dim"] = "two"
    header["config"] = json.dumps(config)
    save_file(load_file(weights), weights, metadata=header)
    AutoEncoder.load(folder)


@case("a configuration nested 100,000 levels deep", "AutoEncoder.load", ValueError,
      r"config\.json: not a configuration \(JSON nested too deeply to read\)")
def config_nested_too_deep(ctx):
    from safetensors.torch import load_file, save_file

    folder = ctx.copy_model("deep")
    weights = folder / "model.safetensors"
    save_file(load_file(weights), weights, metadata={"format_version": "1"})  # use config.json
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    AutoEncoder.load(folder)


@case("a damaged command.json in an interrupted run", "autoencoders fit --resume",
      ValueError, r"run-damaged: its saved options are damaged \(argument --epochs: expected "
      r"a positive integer, got 'many'", exit_code=1)
def damaged_command_file(ctx):
    import json

    run = ctx.tmp / "run-damaged"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "command.json").write_text(json.dumps({"epochs": "many"}))
    ctx.cli("fit", "--resume", run)


@case("a bfloat16 tensor", "AutoEncoder.transform", None,
      "works: converted to float32 (numpy has no bfloat16)")
def bfloat16_tensor(ctx):
    codes = ctx.ae.transform(torch.from_numpy(ctx.X).to(torch.bfloat16))
    assert codes.dtype == np.float32 and np.isfinite(codes).all()


@case("images of another layout with as many values ((4, 14, 14) for (1, 28, 28))",
      "AutoEncoder.transform", ValueError, r"X holds samples of shape \(4, 14, 14\), but the "
      r"model was fitted on shape \(1, 28, 28\): as many values, another layout")
def other_image_layout(ctx):
    images = np.random.default_rng(0).uniform(size=(8, 1, 28, 28)).astype(np.float32)
    conv = ctx.new(architecture="conv", channels=(4,)).fit(images)
    conv.transform(images.reshape(8, 4, 14, 14))


@case("a NumPy integer for an integer parameter (a GridSearchCV grid)", "AutoEncoder.fit",
      None, "works: np.int64(2) is taken as 2")
def numpy_integer_parameter(ctx):
    assert ctx.new(epochs=np.int64(2), batch_size=np.int64(8)).fit(ctx.X).recipe_.epochs == 2


@case("a string where a number is due (weight_decay=\"0.1\")", "AutoEncoder.fit",
      ValueError, r"weight_decay must be a number, got '0.1' \(str\)")
def string_number_parameter(ctx):
    ctx.new(weight_decay="0.1").fit(ctx.X)


@case("a string where a switch is due (neighbour_map=\"no\")", "AutoEncoder.fit", ValueError,
      r"neighbour_map must be True, False, None or a NeighbourMap, got 'no' \(str\)")
def string_switch_parameter(ctx):
    ctx.new(neighbour_map="no").fit(ctx.X)


@case("a fraction where a whole number is due (n_neighbors=2.7)", "NeighbourMap.fit",
      ValueError, r"n_neighbors must be a positive integer, got 2\.7")
def fractional_neighbours_for_the_map(ctx):
    from autoencoders.neighbours import NeighbourMap

    NeighbourMap(n_neighbors=2.7).fit(ctx.X)


@case("a DataFrame with missing values (pandas NA)", "AutoEncoder.fit", ValueError,
      r"X contains NaN or infinite values \(first in sample 2, feature 1 \('height'\)\)")
def pandas_na_at_fit(ctx):
    import pandas as pd

    df = pd.DataFrame(ctx.X[:5, :2], columns=["width", "height"]).astype("Float64")
    df.iloc[2, 1] = pd.NA
    ctx.new().fit(df)


@case("a DataFrame with repeated column names", "AutoEncoder.fit", ValueError,
      r"X: repeated column names a; name each column once")
def dataframe_repeated_columns_at_fit(ctx):
    import pandas as pd

    ctx.new().fit(pd.DataFrame(ctx.X, columns=["a", "a", "b", "c", "d", "e"]))


@case("a DataFrame with repeated column names", "AutoEncoder.transform", ValueError,
      r"X: repeated column names a, b; name each column once")
def dataframe_repeated_columns_at_transform(ctx):
    import pandas as pd

    ctx.ae.transform(pd.DataFrame(ctx.X, columns=["a", "a", "b", "b", "c", "d"]))


@case("a DataFrame with repeated column names", "AutoEncoder.score_samples", ValueError,
      r"X: repeated column names a; name each column once")
def dataframe_repeated_columns_at_score_samples(ctx):
    import pandas as pd

    ctx.ae.score_samples(pd.DataFrame(ctx.X, columns=["a", "b", "c", "d", "e", "a"]))


@case("a DataFrame with a string column", "AutoEncoder.fit", ValueError,
      r"X has non-numeric columns 'name'; convert them to numbers or drop them \(row ids "
      r"or labels: in Python drop them; on the command line name them with --id-column")
def string_column_at_fit(ctx):
    import pandas as pd

    ctx.new().fit(pd.DataFrame(ctx.X).assign(name="x"))


@case("an infinite learning rate", "autoencoders fit --lr", None,
      "exit 2: `argument --lr: expected a positive finite number, got 'inf'`")
def infinite_lr_at_cli(ctx):
    with pytest.raises(CommandFailed) as info:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "r", "--lr", "inf")
    assert info.value.code == 2 and "--lr: expected a positive finite number" in str(info.value)


@case("a negative seed", "autoencoders fit --seed", None,
      "exit 2: `argument --seed: expected a seed, an integer from 0 to 4294967295, got '-1'`")
def negative_seed_at_cli(ctx):
    with pytest.raises(CommandFailed) as info:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "r", "--seed", "-1")
    assert info.value.code == 2 and "--seed: expected a seed" in str(info.value)


@case("integers 0–255 that are not uint8, with the MSE loss", "AutoEncoder.fit", None,
      "works, with a UserWarning: `X holds int64 values in [0, 255], used as they are, while "
      "uint8 pixels would be divided by 255`")
def int64_pixels_at_fit(ctx):
    X = (ctx.X * 255).astype(np.int64)
    with pytest.warns(UserWarning, match="int64 values in \\[0, 25\\d\\], used as they are"):
        ctx.new(loss="mse").fit(X)


@case("a code wider than the data (latent_dim 8 for 6 features)", "AutoEncoder.fit", None,
      "works, with a UserWarning: `latent_dim=8 is not smaller than the 6 features: the code "
      "cannot compress them`")
def code_wider_than_data(ctx):
    with pytest.warns(UserWarning, match="latent_dim=8 is not smaller than the 6 features"):
        ctx.new(latent_dim=8).fit(ctx.X)


# ------------------------------------------------------------------ the user's files
@case("--out an existing folder of the user's", "autoencoders fit", ValueError,
      r"mine holds files that are not a run's \(config\.json\); choose a new or empty folder "
      r"for --out: nothing there is replaced, even with --force", exit_code=2)
def out_is_a_users_folder(ctx):
    ctx.write("mine/config.json", '{"mine": 1}')
    try:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "mine", "-q",
                "--force")
    finally:
        assert (ctx.tmp / "mine" / "config.json").read_text() == '{"mine": 1}'


@case("fit --force over a run, with an input that cannot be read", "autoencoders fit",
      ValueError, r"nan-force\.csv contains NaN or infinite values", exit_code=1)
def failed_force_keeps_the_run(ctx):
    # The run it was to replace is set aside, not deleted, until the new one has trained.
    run = _a_finished_run(ctx, "kept")
    before = files_under(run)
    ctx.write("nan-force.csv", "a,b\n1,2\nnan,3\n4,5\n")
    try:
        ctx.cli("fit", "--input", ctx.tmp / "nan-force.csv", "--out", run, "--force", "-q")
    finally:
        assert files_under(run) == before


@case("fit --force with its input inside the run it replaces", "autoencoders fit",
      ValueError, r"--input .*inside/codes/train\.npy is inside .*inside, whose run --force "
      r"replaces; copy it out of the run folder first, or choose another --out", exit_code=2)
def force_over_its_own_input(ctx):
    run = _a_finished_run(ctx, "inside")
    before = files_under(run)
    try:
        ctx.cli("fit", "--input", run / "codes" / "train.npy", "--out", run, "--force", "-q")
    finally:
        assert files_under(run) == before


@case("fit --force over a run one of whose files cannot be moved", "autoencoders fit",
      OSError, r"cannot set the run in .*stuck aside to replace it \(history\.csv: Operation "
      r"not permitted\); nothing there was changed", exit_code=1)
def force_over_a_run_that_cannot_move(ctx, monkeypatch):
    run = _a_finished_run(ctx, "stuck")
    before, rename = files_under(run), Path.rename

    def immutable(self, target):  # chattr +i, or a read-only folder for a user
        if self.name == "history.csv":
            raise PermissionError(1, "Operation not permitted")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", immutable)
    try:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", run, "--force", "-q")
    finally:
        assert files_under(run) == before and not list(run.glob(".tmp-*"))


def _a_finished_run(ctx, name: str) -> Path:
    run = ctx.tmp / name
    ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", run, "--epochs", "1",
            "--no-map", "--no-report", "-q")
    return run


@case("--out the input file", "autoencoders embed", ValueError,
      r"--out .*same\.npy would overwrite .*same\.npy \(an input, or a file of a run\), "
      r"destroying it", exit_code=1)
def output_is_the_input(ctx):
    np.save(ctx.tmp / "same.npy", ctx.X)
    try:
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "same.npy", "--out",
                ctx.tmp / "same.npy")
    finally:
        np.testing.assert_array_equal(np.load(ctx.tmp / "same.npy"), ctx.X)


@case("--out a new file that the input's glob would match", "autoencoders reconstruct",
      ValueError, r"--out .*globbed/s9\.npy matches the input pattern .*globbed/\*\.npy: "
      r"written there, it would become part of that input; choose another output path",
      exit_code=1)
def output_joins_the_input_glob(ctx):
    (ctx.tmp / "globbed").mkdir()
    for i in range(2):
        np.save(ctx.tmp / "globbed" / f"s{i}.npy", ctx.X[i * 20:(i + 1) * 20])
    try:
        ctx.cli("reconstruct", ctx.model_dir, "--input", ctx.tmp / "globbed" / "*.npy",
                "--out", ctx.tmp / "globbed" / "s9.npy")
    finally:
        assert not (ctx.tmp / "globbed" / "s9.npy").exists()


@case("--out a file of the run", "autoencoders embed", ValueError,
      r"--out .*history\.csv would overwrite .*history\.csv \(an input, or a file of a "
      r"run\)", exit_code=1)
def output_is_a_file_of_the_run(ctx):
    history = (Path(ctx.model_dir) / "history.csv").read_bytes()
    try:  # refused with --force too
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--force", "--out",
                Path(ctx.model_dir) / "history.csv")
    finally:
        assert (Path(ctx.model_dir) / "history.csv").read_bytes() == history


@case("saving into a folder of the user's own config.json and history.csv", "AutoEncoder.save",
      FileExistsError, r"cannot save the model into .*project: it holds config\.json, "
      r"history\.csv, which are not a saved model's \(no config\.json written by "
      r"autoencoders\); nothing was written: save into a new folder, or over a model saved "
      r"before")
def save_over_users_files(ctx):
    folder = ctx.tmp / "project"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"user": "precious"}')
    (folder / "history.csv").write_text("my,data\n")
    try:
        ctx.ae.save(folder)
    finally:
        assert (folder / "config.json").read_text() == '{"user": "precious"}'
        assert (folder / "history.csv").read_text() == "my,data\n"
        assert not (folder / "model.safetensors").exists()


@case("saving where a file of the model is a folder", "AutoEncoder.save", IsADirectoryError,
      r"cannot save the model into .*half: .*half/config\.json is a folder; nothing was "
      r"written: save into another folder")
def save_where_config_is_a_folder(ctx):
    # A link to a folder too: refused before model.safetensors is rewritten.
    (ctx.tmp / "linked").mkdir(exist_ok=True)
    saved = ctx.ae.save(ctx.tmp / "linked-model")
    (saved / "config.json").unlink()
    (saved / "config.json").symlink_to(ctx.tmp / "linked")
    model = (saved / "model.safetensors").read_bytes()
    with pytest.raises(IsADirectoryError, match="is a folder; nothing was written"):
        ctx.ae.save(saved)
    assert (saved / "model.safetensors").read_bytes() == model
    # A model folder whose config.json a user replaced by JSON of theirs: refused.
    (saved / "config.json").unlink()
    (saved / "config.json").write_text('["my", "list"]')
    with pytest.raises(FileExistsError, match="not a saved model's"):
        ctx.ae.save(saved)
    assert (saved / "config.json").read_text() == '["my", "list"]'
    (ctx.tmp / "half" / "config.json").mkdir(parents=True, exist_ok=True)
    try:
        ctx.ae.save(ctx.tmp / "half")
    finally:
        assert sorted(p.name for p in (ctx.tmp / "half").iterdir()) == ["config.json"]


@case("saving into the run folder of another fit", "AutoEncoder.save", FileExistsError,
      r"cannot save the model into .*cli-run: it is the run folder of another fit, whose "
      r"metrics, codes and report describe the model there; nothing was written: save into "
      r"another folder")
def save_into_another_fits_run(ctx):
    # A hostile trial replaced a run's model from Python, leaving its metrics and report
    # describing a model no longer there. The run's own fit may save into it (the CLI
    # does), and a plain model folder may still be saved over.
    run = _cli_run(ctx, "cli-run")
    model = (run / "model.safetensors").read_bytes()
    ctx.ae.save(ctx.tmp / "plain")
    ctx.new().fit(ctx.X).save(ctx.tmp / "plain")
    loaded = AutoEncoder.load(run)
    with pytest.raises(FileExistsError, match=r"holds the checkpoints of another fit "
                       r"\(checkpoints/owner\.json\)"):
        loaded.save(run)  # the same model, but no longer the fit's estimator
    shutil.rmtree(run / "checkpoints")  # without its checkpoints: still a run (metrics.json)
    try:
        ctx.ae.save(run)
    finally:
        assert (run / "model.safetensors").read_bytes() == model


def _cli_run(ctx, name: str) -> Path:
    """A finished run of ``autoencoders fit`` on the context's rows."""
    path, run = ctx.tmp / f"{name}.npy", ctx.tmp / name
    np.save(path, ctx.X)
    ctx.cli("fit", "--input", path, "--out", run, "--epochs", "1", "--no-map", "--no-report",
            "-q")
    return run


@case("a resume refused, then a save into that run", "AutoEncoder.save", FileExistsError,
      r"cannot save the model into .*refused-run: it holds the checkpoints of another fit")
def refused_resume_takes_no_claim(ctx):
    # A hostile trial: a fit(resume=True) that the run's checkpoints refused had taken over
    # the run's owner token, and then save replaced the run's model (or a fresh fit
    # deleted an interrupted run's checkpoints). Only a resume that goes on may keep it.
    run = _cli_run(ctx, "refused-run")
    model = (run / "model.safetensors").read_bytes()
    other = ctx.new(latent_dim=3).fit(ctx.X).set_params(checkpoint_dir=run / "checkpoints")
    with pytest.raises(CheckpointError):
        other.fit(ctx.X, resume=True)  # another architecture
    with pytest.raises(CheckpointError, match="holds the checkpoints of another run"):
        other.fit(ctx.X)  # would delete the run's checkpoints
    try:
        other.save(run)
    finally:
        assert (run / "model.safetensors").read_bytes() == model


@case("a copy of the estimator saves into its fit's run", "AutoEncoder.save", FileExistsError,
      r"cannot save the model into .*copied-run: it holds the checkpoints of another fit")
def copy_takes_no_claim(ctx):
    # A hostile trial: a deep copy (or a pickle) kept the fit's owner token, and so could
    # save over the fit's run folder and clear its checkpoints; a clone or a loaded copy
    # never could. The fit's own estimator still saves there.
    run = ctx.tmp / "copied-run"
    ae = ctx.new(checkpoint_dir=run / "checkpoints").fit(ctx.X)
    ae.save(run)
    for copy_ in (copy.copy(ae), pickle.loads(pickle.dumps(ae))):
        with pytest.raises(CheckpointError, match="holds the checkpoints of another run"):
            copy_.fit(ctx.X)
        with pytest.raises(FileExistsError, match="checkpoints of another fit"):
            copy_.save(run)
    ae.save(run)  # the original keeps its token
    model = (run / "model.safetensors").read_bytes()
    try:
        copy.deepcopy(ae).save(run)
    finally:
        assert (run / "model.safetensors").read_bytes() == model


@case("saving under a file", "AutoEncoder.save", NotADirectoryError,
      r"cannot save the model into .*notes\.txt/model: .*notes\.txt is a file, not a folder; "
      r"choose another location")
def save_under_a_file(ctx):
    # A hostile trial: both estimators' save gave the OS's bare "[Errno 20] Not a
    # directory"; an empty path saved into the current folder.
    from autoencoders.neighbours import NeighbourMap

    (ctx.tmp / "notes.txt").write_text("mine")
    nmap = NeighbourMap(epochs=1, random_state=0).fit(ctx.X)
    with pytest.raises(NotADirectoryError, match=r"cannot save the map into .*notes\.txt/m: "):
        nmap.save(ctx.tmp / "notes.txt" / "m")
    for save in (nmap.save, ctx.ae.save):
        with pytest.raises(ValueError, match="the folder's path is empty; name a folder"):
            save("")
    try:
        ctx.ae.save(ctx.tmp / "notes.txt" / "model")
    finally:
        assert (ctx.tmp / "notes.txt").read_text() == "mine"


@case("a map saved over a user's map.safetensors", "NeighbourMap.save", FileExistsError,
      r"cannot save the map into .*my-maps: its map\.safetensors is not a saved map; nothing "
      r"was written: save into another folder")
def map_save_over_a_users_file(ctx):
    # A hostile trial: NeighbourMap.save replaced any file of that name, and put a second
    # map into a run folder (AutoEncoder.save refused both). Its own file is written over.
    from autoencoders.neighbours import NeighbourMap

    nmap = NeighbourMap(epochs=1, random_state=0).fit(ctx.X)
    nmap.save(ctx.tmp / "maps")
    nmap.save(ctx.tmp / "maps")
    with pytest.raises(FileExistsError, match=r"holds model\.safetensors \(a model, run or "
                       r"checkpoint folder, whose map is saved in its model file\)"):
        nmap.save(ctx.copy_model("model-and-map"))
    assert not (ctx.tmp / "model-and-map" / "map.safetensors").exists()
    with pytest.raises(FileExistsError, match=r"maps: it holds map\.safetensors, a saved "
                       "NeighbourMap's folder; nothing was written"):
        ctx.ae.save(ctx.tmp / "maps")  # nor the other way round (a hostile trial)
    assert sorted(p.name for p in (ctx.tmp / "maps").iterdir()) == ["map.safetensors"]
    (ctx.tmp / "my-maps").mkdir()
    (ctx.tmp / "my-maps" / "map.safetensors").write_text("my notes")
    try:
        nmap.save(ctx.tmp / "my-maps")
    finally:
        assert (ctx.tmp / "my-maps" / "map.safetensors").read_text() == "my notes"


@case("checkpoint_dir whose checkpoint files are gone, of another run", "AutoEncoder.fit",
      CheckpointError, r"checkpoints holds the checkpoints of another run \(its owner\.json; "
      r"the checkpoint files are gone\); resume it")
def checkpoints_gone_owner_kept(ctx):
    run = _cli_run(ctx, "emptied-run")
    for step in (run / "checkpoints").glob("step-*"):
        step.unlink()
    try:
        ctx.new(checkpoint_dir=run / "checkpoints").fit(ctx.X)
    finally:
        assert json.loads((run / "checkpoints" / "owner.json").read_text())["owner"]


@case("checkpoint_dir a model or run folder", "AutoEncoder.fit", CheckpointError,
      r"checkpoint_dir .*root-run holds model\.safetensors, which is not a checkpoint \(a "
      r"model or run folder\); checkpoints go in a folder of their own, such as "
      r".*root-run/checkpoints")
def checkpoint_dir_a_run_folder(ctx):
    run = _cli_run(ctx, "root-run")
    before = sorted(p.name for p in run.iterdir())
    try:
        ctx.new(checkpoint_dir=run).fit(ctx.X)
    finally:
        assert sorted(p.name for p in run.iterdir()) == before


@case("export over a run's model file", "AutoEncoder.export", FileExistsError,
      r"model\.safetensors exists and is not named as an export \(\.onnx, \.pt, \.pth, "
      r"\.ts\): export writes over earlier exports only; nothing was written")
def export_over_a_models_file(ctx):
    folder = ctx.copy_model("exported-over")
    model = (folder / "model.safetensors").read_bytes()
    ctx.ae.export(folder / "encoder.pt")
    ctx.ae.export(folder / "encoder.pt")  # an earlier export: written over
    with pytest.raises(FileExistsError, match="not named as an export"):
        ctx.ae.export(ctx.tmp / "good.npy", format="torchscript")  # the user's data
    try:
        ctx.ae.export(folder / "model.safetensors", format="torchscript")
    finally:
        assert (folder / "model.safetensors").read_bytes() == model


@case("an export named as no export format", "autoencoders export", ValueError,
      r"--out .*model\.csv: an export is named \.onnx \(ONNX\) or \.pt, \.pth or \.ts "
      r"\(TorchScript\); name the file so", exit_code=2)
def export_named_as_data(ctx):
    # A hostile trial: export wrote ONNX into model.csv, then refused to write over it as
    # a user's file. Python's export refuses it too (ValueError), nothing written.
    with pytest.raises(ValueError, match="an export is named"):
        ctx.ae.export(ctx.tmp / "encoder")
    try:
        ctx.cli("export", ctx.model_dir, "--out", ctx.tmp / "model.csv")
    finally:
        assert not (ctx.tmp / "model.csv").exists() and not (ctx.tmp / "encoder").exists()


@case("saving into a checkpoint folder", "AutoEncoder.save", FileExistsError,
      r"cannot save the model into .*ckpt-here: it is a checkpoint folder "
      r"\(step-\*\.safetensors, owner\.json\); nothing was written")
def save_into_a_checkpoint_folder(ctx):
    # Its own fit's folder too: the next fit would refuse the model there.
    ae = ctx.new(checkpoint_dir=ctx.tmp / "ckpt-here").fit(ctx.X)
    try:
        ae.save(ctx.tmp / "ckpt-here")
    finally:
        assert not (ctx.tmp / "ckpt-here" / "model.safetensors").exists()


@case("--out a folder of the user's with files and sub-folders named as a run's",
      "autoencoders fit", ValueError, r".*analysis holds files that are not a run's "
      r"\(checkpoints, codes, figures, history\.csv, metrics\.json\); choose a new or empty "
      r"folder for --out", exit_code=2)
def fit_into_users_run_named_folders(ctx):
    # Hostile trials: they counted as a run's own, and a fit that failed took them away (a
    # run that did not fail wrote over them). A file named as a run's folder too.
    for name in ("figures/my_plot.svg", "codes/my_codes.csv", "history.csv", "metrics.json",
                 "checkpoints"):
        ctx.write(f"analysis/{name}", "mine")
    np.save(ctx.tmp / "with-nan.npy", ctx.bad(np.nan))
    try:
        ctx.cli("fit", "--input", ctx.tmp / "with-nan.npy", "--out", ctx.tmp / "analysis",
                "--epochs", "1", "--no-map", "--no-report", "-q")
    finally:
        for name in ("figures/my_plot.svg", "codes/my_codes.csv", "history.csv",
                     "metrics.json", "checkpoints"):
            assert (ctx.tmp / "analysis" / name).read_text() == "mine"


@case("--out a folder whose checkpoints/ names another fit", "autoencoders fit", ValueError,
      r".*started-elsewhere holds a fit that stopped before its first checkpoint \(nothing "
      r"to resume\); pass --force to start over", exit_code=2)
def fit_into_another_fits_checkpoints(ctx):
    # Another fit's owner.json alone (its checkpoint files gone): the failed start took the
    # folder away, though its message said no fit deletes another's checkpoints.
    # So is a fit killed before it wrote its owner (its options alone): not a user's folder.
    ctx.write("killed-early/checkpoints/command.json", "{}")
    with pytest.raises(CommandFailed, match="killed-early holds a fit that stopped before"):
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "killed-early",
                "--epochs", "1", "--no-map", "--no-report", "-q")
    ctx.write("started-elsewhere/checkpoints/owner.json", '{"owner": "another"}')
    try:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "started-elsewhere",
                "--epochs", "1", "--no-map", "--no-report", "-q")
    finally:
        assert (ctx.tmp / "started-elsewhere" / "checkpoints" / "owner.json").exists()


@case("--out a folder where a killed fit --force left the run it replaced",
      "autoencoders fit", ValueError, r".*set-aside holds the run that a killed `fit --force` "
      r"was replacing \(\.tmp-replaced-\d+\); to keep it, move its files out first, or "
      r"pass --force to replace it", exit_code=2)
def fit_over_a_hidden_replaced_run(ctx):
    # A hostile trial: a fit without --force went ahead and deleted it once trained (the
    # warning it printed came with the deletion).
    hidden = ctx.tmp / "set-aside" / f".tmp-replaced-{2**22 + 12345}"
    ctx.write(f"{hidden.relative_to(ctx.tmp)}/model.safetensors", "old")
    try:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "set-aside",
                "--epochs", "1", "--no-map", "--no-report", "-q")
    finally:
        assert (hidden / "model.safetensors").read_text() == "old"


@case("checkpoint_dir a file", "AutoEncoder.fit", ValueError,
      r"checkpoint_dir .*notes\.txt is a file; name a folder \(created when missing\)")
def checkpoint_dir_a_file(ctx):
    path = ctx.write("notes.txt", "mine")
    try:
        ctx.new(checkpoint_dir=path).fit(ctx.X)
    finally:
        assert path.read_text() == "mine"


@case("--out an existing file of the user's", "autoencoders embed", ValueError,
      r"--out .*notes\.csv exists; nothing was written: add --force to replace it, or choose "
      r"another output path", exit_code=1)
def output_over_an_existing_file(ctx):
    # A hostile trial: embed --out replaced another run's training data, and any file,
    # without a word (fit --out refuses a folder that is not a run's without --force).
    (ctx.tmp / "notes.csv").write_text("mine\n")
    for argv in (("score", "--input", ctx.tmp / "good.npy"),
                 ("export",), ("cluster", "--input", ctx.tmp / "good.npy", "--n-clusters", "2")):
        out = ctx.tmp / ("notes.pt" if argv[0] == "export" else "notes.csv")
        out.write_text("mine\n")
        with pytest.raises(CommandFailed, match="exists; nothing was written"):
            ctx.cli(argv[0], ctx.model_dir, *argv[1:], "--out", out)
        assert out.read_text() == "mine\n"
    try:
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--out",
                ctx.tmp / "notes.csv")
    finally:
        assert (ctx.tmp / "notes.csv").read_text() == "mine\n"
    ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--force", "--out",
            ctx.tmp / "notes.csv")
    assert (ctx.tmp / "notes.csv").read_text() != "mine\n"


@case("--out a file's name ending in '/'", "autoencoders embed", ValueError,
      r"argument --out: .*kept\.csv/: a name ending in '/' is a folder's; name a file",
      exit_code=2)
def output_name_ending_in_a_slash(ctx):
    # A hostile trial: the existence check saw no "kept.csv/", and the writer, dropping
    # the slash, replaced kept.csv (embed, score, reconstruct, cluster).
    (ctx.tmp / "kept.csv").write_text("mine\n")
    with pytest.raises(CommandFailed, match="a name ending in '/' is a folder's"):
        ctx.cli("score", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--out",
                f"{ctx.tmp / 'kept.csv'}/")
    with pytest.raises(ValueError, match="a name ending in '/' is a folder's"):
        write_array(f"{ctx.tmp / 'kept.csv'}/", ctx.X)
    try:
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--force", "--out",
                f"{ctx.tmp / 'kept.csv'}/")
    finally:
        assert (ctx.tmp / "kept.csv").read_text() == "mine\n"


@case("--out a pipe (or a device)", "autoencoders embed", ValueError,
      r"--out .*pipe\.csv is no regular file \(a device or a pipe\), which a finished file "
      r"would replace; name a file, or write to standard output with '--out -'", exit_code=1)
def output_a_pipe(ctx):
    # A hostile trial: --force replaced a device node (a copy of /dev/null) and a FIFO by
    # regular files; as root, --out /dev/null --force would have replaced /dev/null.
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = ctx.tmp / "pipe.csv"
    if not fifo.exists():
        os.mkfifo(fifo)
    with pytest.raises(OSError, match="no regular file"):
        write_array(fifo, ctx.X)
    try:
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--force", "--out",
                fifo)
    finally:
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@case("--out the file the run was fitted on", "autoencoders embed", ValueError,
      r"--out .*fitted-on\.npy would overwrite .*fitted-on\.npy \(an input, or a file of a "
      r"run\), destroying it", exit_code=1)
def output_is_the_runs_training_data(ctx):
    # A verb on other data still knows the run's: the data it was fitted on is protected
    # as the run's own files are, --force or not.
    np.save(ctx.tmp / "fitted-on.npy", ctx.X)
    run = ctx.tmp / "fitted-on-run"
    ctx.cli("fit", "--input", ctx.tmp / "fitted-on.npy", "--out", run, "--epochs", "1",
            "--no-map", "--no-report", "-q")
    try:
        ctx.cli("embed", run, "--input", ctx.tmp / "good.npy", "--force", "--out",
                ctx.tmp / "fitted-on.npy")
    finally:
        np.testing.assert_array_equal(np.load(ctx.tmp / "fitted-on.npy"), ctx.X)


@case("a report written over another run's report", "autoencoders report", ValueError,
      r"--out .*other-report/report\.html would overwrite .*other-report/report\.html \(an "
      r"input, or a file of a run\)", exit_code=1)
def report_over_another_runs_report(ctx):
    theirs, ours = _a_finished_run(ctx, "other-report"), _a_finished_run(ctx, "our-report")
    ctx.cli("report", theirs)
    before = (theirs / "report.html").read_bytes()
    try:
        ctx.cli("report", ours, "--out", theirs / "report.html")
    finally:
        assert (theirs / "report.html").read_bytes() == before


@case("--out a file of another run folder", "autoencoders embed", ValueError,
      r"--out .*other/history\.csv would overwrite .*other/history\.csv \(an input, or a "
      r"file of a run\)", exit_code=1)
def output_is_a_file_of_another_run(ctx):
    other = Path(ctx.copy_model("other"))
    history = (other / "history.csv").read_bytes()
    try:
        ctx.cli("embed", ctx.model_dir, "--input", ctx.tmp / "good.npy", "--out",
                other / "history.csv")
    finally:
        assert (other / "history.csv").read_bytes() == history


@case("a second fit into a folder that a running fit writes", "autoencoders fit", ValueError,
      r"busy is being written by process \d+ \(started .*\); wait for it to finish or choose "
      r"another --out", exit_code=2)
def two_fits_into_one_folder(ctx):
    with ctx.locked(ctx.tmp / "busy"):
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "busy", "-q")


@case("cluster a run that a running fit writes", "autoencoders cluster", ValueError,
      r"model is being written by process \d+ \(started .*\); wait for it to finish or run "
      r"this again then", exit_code=1)
def cluster_while_a_fit_writes_the_run(ctx):
    _refused_while_locked(ctx, "cluster.json", "cluster", ctx.model_dir, "--input",
                          ctx.tmp / "good.npy", "--n-clusters", "2", "--method", "kmeans")


@case("report into a run that a running fit writes", "autoencoders report", ValueError,
      r"model is being written by process \d+ \(started .*\); wait for it to finish or run "
      r"this again then", exit_code=1)
def report_while_a_fit_writes_the_run(ctx):
    _refused_while_locked(ctx, "report.html", "report", ctx.model_dir)


@case("the input changed since the run read it (other rows, same size)", "autoencoders report",
      ValueError, r"report\.npy has changed since the run in .*report-run read it \(other "
      r"rows, or their columns in another order\): its test split would be other rows, some "
      r"perhaps trained on; put back the data the run was fitted on, or fit again",
      exit_code=1)
def report_of_a_changed_input(ctx):
    run = _fitted_then_changed(ctx, "report", "report")
    try:
        ctx.cli("report", run)
    finally:
        assert not (run / "report.html").exists()


@case("the input changed since the run read it (other rows, same size)",
      "autoencoders evaluate", ValueError, r"evaluate\.npy has changed since the run in "
      r".*evaluate-run read it \(other rows, or their columns in another order\): its test "
      r"split would be other rows", exit_code=1)
def evaluate_of_a_changed_input(ctx):
    run = _fitted_then_changed(ctx, "evaluate", "evaluate", "--baselines", "none", "--k", "2")
    try:
        ctx.cli("evaluate", run, "--baselines", "none")
    finally:
        assert not (run / "evaluation.json").exists()


@case("a report of a model saved from Python (no data recorded)", "autoencoders report",
      ValueError, r"model records neither the command that made it nor its data \(a model "
      r"saved from Python\): its test data cannot be found again; a report shows run "
      r"folders written by 'autoencoders fit'", exit_code=1)
def report_of_a_saved_model(ctx):
    try:
        ctx.cli("report", ctx.model_dir)
    finally:
        assert not (Path(ctx.model_dir) / "report.html").exists()


def _fitted_then_changed(ctx, name: str, *verb) -> Path:
    """A run fitted on NAME.npy; ``verb`` on it works with the file touched (the same rows),
    its output then removed; the file then holds the same rows in another order."""
    path, run = ctx.tmp / f"{name}.npy", ctx.tmp / f"{name}-run"
    np.save(path, ctx.X)
    ctx.cli("fit", "--input", path, "--out", run, "--epochs", "1", "--no-map", "--no-report",
            "--test-fraction", "0.3", "-q")
    os.utime(path, ns=(0, 0))
    ctx.cli(verb[0], run, *verb[1:])
    for written in ("report.html", "evaluation.json", "evaluation.md"):
        (run / written).unlink(missing_ok=True)
    np.save(path, ctx.X[::-1])
    return run


def _refused_while_locked(ctx, written: str, *argv) -> None:
    """``argv`` on the model folder while a live process holds its lock: refused, and the
    file it would write there (``written``) left as it was."""
    path = Path(ctx.model_dir) / written
    before = path.read_bytes() if path.exists() else None
    try:
        with ctx.locked(Path(ctx.model_dir)):
            ctx.cli(*argv)
    finally:
        assert (path.read_bytes() if path.exists() else None) == before


@case("a damaged config.json beside an intact model.safetensors", "autoencoders embed", None,
      "works: the configuration is read from the model file's own copy")
def damaged_config_json(ctx):
    run = _a_finished_run(ctx, "damaged-config")
    (run / "config.json").write_text('{"format_version": 1,')
    ctx.cli("embed", run, "--out", ctx.tmp / "damaged-config.npy")  # the run's own data
    assert np.load(ctx.tmp / "damaged-config.npy").shape[0] > 0
    with pytest.raises(CommandFailed, match="would overwrite"):  # still a run: protected
        ctx.cli("embed", run, "--out", run / "history.csv")
    # JSON that is not a model's configuration ({}) hides neither the run nor its input.
    (run / "config.json").write_text("{}")
    before = (ctx.tmp / "good.npy").read_bytes()
    np.save(ctx.tmp / "other-rows.npy", ctx.X)
    with pytest.raises(CommandFailed, match="would overwrite"):
        ctx.cli("embed", run, "--input", ctx.tmp / "other-rows.npy", "--force", "--out",
                ctx.tmp / "good.npy")
    assert (ctx.tmp / "good.npy").read_bytes() == before


@case("--log tensorboard:DIR in another run folder", "autoencoders fit", ValueError,
      r"--log tensorboard:.*logged-into: .*logged-into is in a run folder, where its event "
      r"files would be files that are not the run's; name a folder outside run folders \(or "
      r"leave DIR out: the run's own tensorboard/\)", exit_code=2)
def tensorboard_into_a_run(ctx):
    other = _a_finished_run(ctx, "logged-into")
    before = sorted(p.name for p in other.iterdir())
    try:
        ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "logging-run",
                "--epochs", "1", "--no-map", "--no-report", "-q", "--log", f"tensorboard:{other}")
    finally:
        with pytest.raises(CommandFailed, match="is in a run folder"):  # at any depth
            ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "logging-run",
                    "--epochs", "1", "-q", "--log", f"tensorboard:{other}/codes/a/b/tb")
        assert sorted(p.name for p in other.iterdir()) == before
        assert not (ctx.tmp / "logging-run").exists()


@case("a lock left by a killed fit", "autoencoders fit", None,
      "works: the lock of a process that no longer runs is taken over")
def stale_lock(ctx):
    import json

    (ctx.tmp / "stale").mkdir()
    (ctx.tmp / "stale" / ".lock").write_text(json.dumps({"pid": 2**22 + 12345}))
    ctx.cli("fit", "--input", ctx.tmp / "good.npy", "--out", ctx.tmp / "stale", "-q",
            "--maps", "none", "--epochs", "1")
    assert not (ctx.tmp / "stale" / ".lock").exists()


@case("a folder named .lock in the run folder", "autoencoders evaluate", OSError,
      r"cannot take the lock of the run folder .*locked-run: .*locked-run/\.lock is a folder, "
      r"not the lock file this library writes; remove it \(nothing of the run is in it\) and "
      r"run this again", exit_code=1)
def lock_is_a_folder(ctx):
    run = ctx.copy_model("locked-run")
    (run / ".lock").mkdir()
    (run / ".lock" / "mine.txt").write_text("kept")
    result = run / "evaluation.json"
    before = result.read_bytes() if result.exists() else None
    try:
        ctx.cli("evaluate", run, "--input", ctx.tmp / "good.npy", "--baselines", "none")
    finally:
        assert (run / ".lock" / "mine.txt").read_text() == "kept"
        assert (result.read_bytes() if result.exists() else None) == before


# ------------------------------------------------------------------ the tests
@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return Ctx(tmp_path_factory.mktemp("bad-input"))


def _call(c: Case, ctx, monkeypatch):
    fn = _FUNCS[c.name]
    return fn(ctx, monkeypatch) if fn.__code__.co_argcount == 2 else fn(ctx)


def _outcome(c: Case, ctx, monkeypatch) -> str:
    """Run one case, check it, and return the answer the user sees."""
    if c.error is None:
        _call(c, ctx, monkeypatch)
        return c.match
    if c.exit_code is not None:
        with pytest.raises(CommandFailed) as info:
            _call(c, ctx, monkeypatch)
        assert info.value.code == c.exit_code
    else:
        with pytest.raises(c.error) as info:
            _call(c, ctx, monkeypatch)
    message = str(info.value)
    assert re.search(c.match, message), f"{message!r} does not match {c.match!r}"
    return message.replace(str(ctx.tmp), "DIR")


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ctx, monkeypatch):
    _outcome(c, ctx, monkeypatch)


def render(outcomes: dict[str, str]) -> str:
    """docs/reliability.md from the cases and their observed messages."""
    lines = [
        "# Reliability: bad input and what it gets",
        "",
        "Every kind of bad input we know of, through each entry point, with the answer it "
        "gets. In Python the answer is an exception (the type is given); in the CLI it is one "
        "line on stderr, `autoencoders: error: MESSAGE`, and the exit code given (2 for usage "
        "errors, 1 for bad data or files), with no traceback unless `--debug` is given. "
        "Nothing the user had is overwritten or left half-written: every file is written to "
        "a temporary name, fsynced and renamed.",
        "",
        "Generated from the cases in `tests/test_bad_input.py` (each row is the test "
        "`tests/test_bad_input.py::test_bad_input[NAME]`) by "
        "`python -m tests.test_bad_input`; `DIR` stands for the "
        "folder of the files involved.",
        "",
        f"{len(CASES)} cases; {len({c.kind for c in CASES})} kinds of input.",
        "",
        "| kind of input | entry point | answer | test |",
        "| --- | --- | --- | --- |",
    ]
    for c in CASES:
        if c.error is None:
            answer = outcomes[c.name]
        else:
            how = f"exit {c.exit_code}" if c.exit_code is not None else c.error.__name__
            answer = f"{how}: `{outcomes[c.name]}`"
        answer = answer.replace("|", "\\|")
        # The machine's free memory and process ids change from run to run: placeholders.
        answer = re.sub(r"the [\d.]+ GB of memory available", "the N GB of memory available",
                        answer)
        answer = re.sub(r"by process \d+", "by process PID", answer)
        lines.append(f"| {c.kind} | `{c.entry}` | {answer} | `{c.name}` |")
    lines += [
        "",
        "## Related guarantees, tested elsewhere",
        "",
        "- Checkpoints and resume (`tests/training/test_checkpoints.py`, "
        "`tests/cli/test_resume.py`): "
        "a run killed with SIGKILL mid-epoch and resumed ends with bit-identical weights; "
        "SIGINT/SIGTERM finish the step, checkpoint and exit 130/143 with the command that "
        "resumes; a corrupt newest checkpoint is skipped for the one before; resuming with "
        "other data, recipe or architecture is refused; SIGTERM elsewhere, in any verb, "
        "unwinds as Ctrl-C does, exit 143, without a half-written file "
        "(`tests/test_reliability.py`).",
        "- Property-based tests (`tests/test_properties.py`, hypothesis): the input checks, "
        "the CSV reader and the IDX parser on generated input, including a fuzzing run of "
        "the IDX parser that may raise only `IDXError`.",
        "- Downloads (`tests/datasets/test_mnist.py`): checksums of local and downloaded "
        "files, a corrupt mirror skipped, nothing cached from a bad download; a download is "
        "streamed to a temporary file and bounded by the size such a file can have.",
        "- The bug cases of public reports against tools like ours "
        "(`tests/test_bug_cases.py`, one test per case of `../shared/bug-cases.md`, named "
        "by its id: C01 … C31).",
        "",
        "## The user's files and runs",
        "",
        "Tested in `tests/test_reliability.py` (and the cases above):",
        "",
        "- A loaded or cloned estimator never writes into another run's checkpoint folder: "
        "a model folder does not record `checkpoint_dir`, a relative `checkpoint_dir` is "
        "resolved when `fit` starts, and a fit deletes only checkpoints its own estimator "
        "wrote (`CheckpointError` otherwise; resuming names them).",
        "- `--out` must be new, empty, or a run folder: another folder's files (a user's "
        "`config.json`) are never replaced, not even with `--force`. An output is never "
        "written over an input (`embed --input x.npy --out x.npy` exits 1).",
        "- Two `fit`s into one folder: the second exits 2 naming the first's pid "
        "(`RUN/.lock`); a lock left by a killed run is taken over, also when its process "
        "id has since been given to another process (on Linux, where the lock records the "
        "process's start time).",
        "- A write killed with SIGKILL leaves the old file whole; its temporary "
        "(`.NAME.tmp-PID-…`) is swept by the next write to the same path.",
        "- A full disk (a 600 KB tmpfs in the test) fails `save`, `reconstruct` and `fit` "
        "with one line naming the file and `No space left on device`, and leaves no partial "
        "file; a read-only folder is refused before any work.",
        "- A new run that fails (bad data, divergence) leaves the folder as it found it; one "
        "that fails after training finished keeps its checkpoint and says how `fit --resume` "
        "writes the rest without training again.",
        "- `metrics.json` is always valid JSON (a non-finite number is `null`); files we "
        "write, models and checkpoints included, get the permissions of a plain `open`.",
        "- Under load: `import autoencoders` sets `OMP_WAIT_POLICY=PASSIVE` and "
        "`GOMP_SPINCOUNT=10000` before torch loads, unless the user chose a policy "
        "(`benchmarks/results/load.md` measures the stall it prevents and the quiet speed "
        "the short spin keeps); a program that imported torch first gets a warning when the "
        "machine is busy.",
        "",
    ]
    return "\n".join(lines)


def _all_outcomes(tmp: Path) -> dict[str, str]:
    mp = pytest.MonkeyPatch()
    ctx = Ctx(tmp)
    outcomes = {}
    for c in CASES:
        with mp.context() as m:
            outcomes[c.name] = _outcome(c, ctx, m)
    return outcomes


def test_reliability_doc_is_current(tmp_path):
    expected = render(_all_outcomes(tmp_path))
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/reliability.md is out of date: run python -m tests.test_bad_input")


if __name__ == "__main__":
    from autoencoders._io import atomic_write

    # Warnings off, as pytest captures them: a warning is not the one line of an error.
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        atomic_write(DOC, render(_all_outcomes(Path(tmp))))
    print(f"wrote {DOC}")
