"""The data of a command: a named data set or the user's files, in memory or streamed, and
the split of a run into training and test rows."""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np

from .._io import is_special_file, names_a_folder
from ..datasets import class_names, load_dataset, open_source, table_columns
from ..datasets.source import ArraySource, Source, Without
from ..inputs import Rows, check_labels, holdout, named, split
from ..training import data_fingerprint

#: The input path that means standard input (a .npy stream or CSV text); as an output path,
#: standard output.
STDIN = "-"

__all__ = ["DataRequest", "Loaded", "RunData", "load", "run_data", "check_output", "STDIN",
           "STREAM_ABOVE_BYTES", "MAX_TEST_ROWS"]

#: An input larger than this (as arrays in memory) is streamed from disk even without
#: ``stream``. Streamed and in-memory data train on the same batches, so this changes memory
#: and speed, not results.
STREAM_ABOVE_BYTES = 1 << 30
#: Held-out test rows of an input at most, unless ``test_size`` says otherwise: the test
#: split is held in memory for the metrics, codes and figures.
MAX_TEST_ROWS = 10_000


@dataclass(frozen=True)
class DataRequest:
    """Where a command's data comes from (the CLI's data options, by the same names).

    Attributes
    ----------
    dataset : {"mnist", "fashion-mnist", "digits"} or None
    input : str or None
        A file, folder or glob (``autoencoders.datasets.open``); one of the two is given.
    split : {"train", "test", "all"}
        Which split of ``dataset`` (``load``); "all" is train then test.
    id_column : str
        The id column of a table ("auto": a column named ``id``; "none": no ids).
    label_column : str or None
        A column of labels in a table (never a feature); "none": none, not even the run's
        (``with_run_columns``).
    image_size : (height, width) or None
        Resize the images of an image folder.
    stream : bool
        Read ``input`` in parts from disk (above ``STREAM_ABOVE_BYTES`` it always is).
    test_fraction : float
        Of an ``input``, the fraction held out as the test split (``run_data``).
    test_size, train_size : int or None
        At most this many test rows (default ``MAX_TEST_ROWS`` for an input) and training
        rows (the first ones).
    seed : int
        Seeds the test split of an input.
    progress : bool
        Progress bars while downloading a data set.
    optional_columns : tuple of str
        Of "id_column" and "label_column", those that are a finished run's
        (``with_run_columns``), not asked for: a table on standard input without them is
        read without them (a column the user named must be there).
    """

    dataset: str | None = None
    input: str | None = None
    split: str = "test"
    id_column: str = "auto"
    label_column: str | None = None
    image_size: tuple[int, int] | None = None
    stream: bool = False
    test_fraction: float = 0.1
    test_size: int | None = None
    train_size: int | None = None
    seed: int = 0
    progress: bool = True
    optional_columns: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: Any, **overrides: Any) -> DataRequest:
        """The request of an object with attributes of these names (an argparse
        namespace); missing ones take their defaults."""
        values = {f.name: getattr(options, f.name) for f in fields(cls)
                  if getattr(options, f.name, None) is not None}
        return cls(**{**values, **overrides})

    @property
    def ids_from(self) -> str | None:
        """The id column to read: a name, "auto", or None for no ids."""
        return None if self.id_column == "none" else self.id_column

    @property
    def labels_from(self) -> str | None:
        """The label column to read: a name, or None for no labels."""
        return None if self.label_column in (None, "none") else self.label_column

    @property
    def id_name(self) -> str:
        """The name of the id column in outputs: the one asked for, or "id"."""
        return "id" if self.id_column in ("auto", "none") else self.id_column

    @property
    def name(self) -> str:
        """How messages name the data: the input's path, or the data set and split."""
        if self.input == STDIN:
            return "standard input"
        return self.input or f"{self.dataset} {self.split}"


@dataclass
class Loaded:
    """Data as :func:`load` gives it.

    Attributes
    ----------
    X : ndarray of shape (n, *feature_shape), or a Source (streamed)
    y : ndarray of shape (n,) or None
    description : dict
        JSON facts for the record (data set and split, or the input's absolute path).
    ids : ndarray of shape (n,) or None
        Row ids (a table's id column, image file names); a source gives its own.
    notes : list of str
        What reading changed that the user should know (``Source.notes``).
    feature_names : tuple of str or None
        A table's names of its feature columns (``Source.feature_names``).
    """

    X: np.ndarray | Source
    y: np.ndarray | None
    description: dict[str, Any]
    ids: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    feature_names: tuple[str, ...] | None = None

    def source(self) -> Source:
        """The rows as a :class:`Source` with their ids and features' names, for the
        estimator and ``inference.write_outputs``."""
        if isinstance(self.X, Source):
            return self.X
        return ArraySource(self.X, self.ids, self.y, self.feature_names)


def load(request: DataRequest, split_name: str | None = None) -> Loaded:
    """The data of ``request``: a data set's split (``split_name``, by default
    ``request.split``; "all" is train then test; the first ``request.train_size`` or
    ``test_size`` rows of a split when it names them), or the input, streamed when asked
    or larger than ``STREAM_ABOVE_BYTES``.

    Raises
    ------
    FileNotFoundError, ValueError, ImportError
        From the readers (``autoencoders.datasets``).
    """
    part = split_name or request.split
    if request.dataset and part == "all":
        train, test = load(request, "train"), load(request, "test")
        y = None if train.y is None else np.concatenate([train.y, test.y])
        return Loaded(np.concatenate([train.X, test.X]), y,
                      {"dataset": request.dataset, "split": "all"})
    if request.dataset:
        X, y = load_dataset(request.dataset, part, progress=request.progress)
        size = request.train_size if part == "train" else request.test_size
        return Loaded(X[:size], None if y is None else y[:size],
                      {"dataset": request.dataset, "split": part})
    if request.input == STDIN:
        return _load_stdin(request)
    assert request.input is not None  # neither a data set nor standard input: a path
    source = open_source(request.input, id_column=request.ids_from,
                         label_column=request.labels_from, image_size=request.image_size)
    description = {"input": os.path.abspath(request.input), "id_column": request.id_column,
                   "label_column": request.labels_from}
    if not isinstance(source, ArraySource):  # its files' paths, sizes and times
        description["files"] = source.fingerprint()
    notes = source.notes() + _label_like_features(source.feature_names, request)
    # "none": no labels at all, not even an .npz's own y.
    labels = None if request.label_column == "none" else source.labels()
    # .npz and .csv are read whole (ArraySource): nothing to stream.
    if not isinstance(source, ArraySource) and (request.stream
                                                or source.nbytes > STREAM_ABOVE_BYTES):
        return Loaded(source, labels, description, notes=notes)
    return Loaded(source.to_numpy(), labels, description,
                  source.ids(np.arange(len(source))), notes, source.feature_names)


#: Column names that usually hold labels: a table's column so named and not given as
#: ``--label-column`` is a feature, and a note says so (a label among the features leaks
#: the answer into every code).
LABEL_LIKE = ("label", "labels", "target", "class", "y")


def _label_like_features(names: tuple[str, ...] | None, request: DataRequest) -> list[str]:
    if not names or request.labels_from is not None:
        return []
    return [f"column {name!r} is read as a feature; if it holds labels, name it with "
            f"--label-column {name}" for name in names if name.lower() in LABEL_LIKE]


@dataclass
class RunData:
    """The data of a run, split into training and test rows.

    Attributes
    ----------
    X_train : ndarray, shape (n, *feature_shape), or a streaming Source
    X_test : ndarray, shape (m, *feature_shape)
        Held out; metrics, figures and test codes use it.
    y_train, y_test : ndarray of shape (n,) / (m,), or None
        Labels, used only to colour the maps and saved beside the codes; one per sample,
        or ValueError.
    description : dict
        JSON facts for ``config.json`` (data set name or input path, sizes).
    name : str
        How messages name the data (the input's path).
    train_numbers, test_numbers
        The rows' numbers in the input (``autoencoders.inputs.Rows.numbers``), so that
        errors name the file's rows.
    notes : list of str
        What reading changed that the user should know.
    ids : ndarray of shape (n_train + n_test,) or None
        The ids of the input's rows, in the file's order (``train_numbers`` and
        ``test_numbers`` index them).
    feature_names : tuple of str or None
        A table's names of its feature columns, which the model records.
    """

    X_train: np.ndarray | Source
    X_test: np.ndarray
    y_train: np.ndarray | None
    y_test: np.ndarray | None
    description: dict[str, Any]
    name: str = "X"
    train_numbers: object = 0
    test_numbers: object = 0
    notes: list[str] = field(default_factory=list)
    ids: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self.y_train = check_labels(self.y_train, len(self.X_train), "y_train")
        self.y_test = check_labels(self.y_test, len(self.X_test), "y_test")

    def train_rows(self) -> Rows:
        """The training rows, named for messages (``autoencoders.inputs.named``)."""
        return named(self.X_train, self.name, self.train_numbers, self.feature_names)

    def test_rows(self) -> Rows:
        """The test rows, named for messages."""
        return named(self.X_test, self.name, self.test_numbers, self.feature_names)

    def validation_rows(self, early_stopping: bool) -> Rows | None:
        """What ``fit`` validates on: the test rows, for the held-out curve of the history;
        None with early stopping, which picks its epoch on the rows the estimator holds out
        of the training rows (``validation_fraction``). Picked on the test rows, the kept
        epoch's validation loss was the reported test loss (a new-user trial, 2026-12-04)."""
        return None if early_stopping else self.test_rows()

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """The names of a named data set's labels, for figures (``datasets.class_names``)."""
        return class_names(self.description.get("dataset"))


@contextlib.contextmanager
def own_rows(estimator: Any, names: tuple[str, ...] | None, what: str) -> Iterator[None]:
    """While the workflow hands a table's rows to ``estimator`` as bare arrays: their column
    ``names`` are checked against fit's once (the same columns in another order are refused
    with a ValueError, as ``InputSpec.check_names`` does), and scikit-learn's warning that an
    array has no feature names, several per call otherwise, is left out.

    Raises
    ------
    ValueError
        For ``names`` other than those of fit, or fit's in another order.
    """
    estimator.input_spec_.check_names(names, what)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".* does not have valid feature names",
                                UserWarning)
        yield


def run_data(request: DataRequest) -> RunData:
    """A run's training and test data: a data set's own splits, or an input split by
    :func:`autoencoders.inputs.holdout` (``test_fraction``, at most ``test_size`` or
    ``MAX_TEST_ROWS`` rows, seeded by ``seed``) the same way streamed or not, the training
    rows in the file's order.

    Raises
    ------
    ValueError
        For an input of fewer than 2 rows, or from the readers.
    """
    if request.input:
        loaded = load(request)
        X, y, n = loaded.X, loaded.y, len(loaded.X)
        if n < 2:
            raise ValueError(f"{request.input}: {n} sample; need at least 2 to hold out a "
                             "test split")
        test = holdout(n, request.test_fraction,
                       max_rows=request.test_size or MAX_TEST_ROWS, seed=request.seed)
        Xte, Xtr = split(X, test)
        if isinstance(Xte, Source):
            Xte = Xte.to_numpy()
        yte, ytr = (None, None) if y is None else split(y, test)
        # What check_unchanged compares when report or evaluate reads the input again: the
        # run's test split is found again only in the same rows. Labels do not move it.
        # The split's options too, so that it is found again without checkpoints/ (where
        # the command's options are kept, and which users delete to free space).
        description = {**loaded.description, "test_fraction": request.test_fraction,
                       "test_size": request.test_size, "train_size": request.train_size,
                       "seed": request.seed, "image_size": request.image_size,
                       "streamed": isinstance(X, Source),
                       "fingerprint": data_fingerprint(X)}
        data = RunData(Xtr, Xte, ytr, yte, description, request.input,
                       Without(test), test, loaded.notes, loaded.ids, loaded.feature_names)
    else:
        # Arrays, their first train_size and test_size rows (load cuts a data set's splits).
        train_set, test_set = load(request, "train"), load(request, "test")
        data = RunData(train_set.X, cast(np.ndarray, test_set.X), train_set.y, test_set.y,
                       {**train_set.description, "split": "train/test"}, request.name)
    if request.train_size:
        keep = np.arange(min(request.train_size, len(data.X_train)))
        data.X_train = split(data.X_train, keep)[0]
        data.y_train = None if data.y_train is None else data.y_train[keep]
    data.description.update(n_train=len(data.X_train), n_test=len(data.X_test))
    return data


def check_output(out: str | Path, *inputs: str | Path | None,
                 run_dir: str | Path | None = None, option: str = "--out",
                 force: bool = False) -> None:
    """Refuse to write ``out`` (given as ``option``) over one of the ``inputs`` (paths,
    folders or globs, None skipped): ``embed --input data.npy --out data.npy`` would destroy
    the data; nor over the files of the run in ``run_dir`` (its model, options, history,
    codes, ...) or the input file it was fitted on (``sample run --out data.npy``), nor over
    those of any other run folder (``embed r1 --map --out r2/map.csv``).

    Parameters
    ----------
    out : str or Path
        The file to be written; ``-`` (standard output) always passes.
    *inputs : str, Path or None
        Files, folders or glob patterns the command reads.
    run_dir : str or Path, optional
        The run the command works on.
    option : str, default "--out"
        How messages name ``out`` (``--figure`` for denoise's picture).
    force : bool, default False
        Whether an existing file may be replaced (``--force``); never an input's or a
        run's.

    Raises
    ------
    ValueError
        When ``out`` is (or links to) an input file or a run's, or sits in an input folder,
        or matches an input glob's pattern (a new file there would join the input); when
        it ends in '/' or is no regular file (a device, a pipe: even ``--force`` would
        replace /dev/null by a file); and, without ``force``, when it exists (anyone's
        file: another run's training data was replaced, a hostile trial).
    """
    from .folder import RUN_ENTRIES, is_run_folder, recorded_data

    if str(out) == STDIN:  # standard output is no file of anyone's
        return
    if names_a_folder(out):
        raise ValueError(f"{option} {out}: a name ending in '/' is a folder's; name a file")
    if is_special_file(out):
        raise ValueError(f"{option} {out} is no regular file (a device or a pipe), which a "
                         "finished file would replace; name a file, or write to standard "
                         "output with '--out -' and redirect that")
    target = Path(out).resolve()
    runs = [run_dir] if run_dir is not None else []
    runs += [p for p in target.parents[:2] if is_run_folder(p)]  # a run, or its codes/
    fitted_on = [recorded_data(run).get("input") for run in runs]
    inputs = (*inputs, *(i for i in fitted_on if isinstance(i, str)),
              *(os.path.join(run, entry) for run in runs for entry in RUN_ENTRIES))
    for given in inputs:
        if given is None or str(given) == STDIN:
            continue
        text = str(given)
        pattern = any(c in text for c in "*?[") and not Path(text).exists()
        if pattern and any(fnmatch.fnmatch(str(p), os.path.abspath(text))
                           for p in (target, Path(os.path.abspath(out)))):
            raise ValueError(f"{option} {out} matches the input pattern {given}: written there, "
                             "it would become part of that input; choose another output path")
        files = [Path(p) for p in glob.glob(text)] if pattern else [Path(text)]
        for path in files:
            path = path.resolve()
            if target == path or (path.is_dir() and path in target.parents
                                  and target.parent == path):
                raise ValueError(f"{option} {out} would overwrite {given} (an input, or a file "
                                 "of a run), destroying it; choose another output path")
    if not force and os.path.lexists(out) and not os.path.isdir(out):
        raise ValueError(f"{option} {out} exists; nothing was written: add --force to "
                         "replace it, or choose another output path")


def _load_stdin(request: DataRequest) -> Loaded:
    """Standard input, read whole: a ``.npy`` stream (by its magic bytes) or CSV text with
    the same id and label columns as a file, through the same readers (and their checks:
    pickled object arrays, truncated streams, text cells); messages call it standard
    input."""
    if sys.stdin is None:  # started with stdin closed (<&-)
        raise ValueError("standard input is closed (--input -); pipe data into it, or name "
                         "a file with --input")
    data = sys.stdin.buffer.read()
    if data.startswith(b"PK\x03\x04"):  # a zip: np.savez's archive
        raise ValueError("standard input holds an .npz archive; it takes a .npy stream or CSV "
                         "text: save the archive as a file and give --input FILE.npz")
    if not data:
        raise ValueError("standard input (--input -) is empty; pipe a .npy stream or CSV "
                         "text into it")
    suffix = ".npy" if data.startswith(b"\x93NUMPY") else ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"stdin{suffix}"
        path.write_bytes(data)
        ids_from, label = request.ids_from, request.labels_from
        # The run's columns, if there (a .npy has none).
        header = (table_columns(path) or []) if suffix == ".csv" else []
        if "id_column" in request.optional_columns and ids_from not in (None, "auto", *header):
            ids_from = "auto"
        if "label_column" in request.optional_columns and label not in header:
            label = None
        try:
            source = open_source(path, id_column=ids_from, label_column=label)
            return Loaded(source.to_numpy(), source.labels(), {"input": "stdin"},
                          source.ids(np.arange(len(source))), source.notes(),
                          source.feature_names)
        except ValueError as exc:
            raise ValueError(str(exc).replace(str(path), "standard input")) from None
