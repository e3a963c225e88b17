"""A finished run's own data found again by the verbs on it: the id and label columns it
was trained with, the options of its fit's split (its saved command, or config.json), that
split, and whether an input still holds the rows the fit read (its fingerprint)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..datasets import table_columns
from .data import STDIN, DataRequest, RunData
from .folder import read_command, recorded_data

__all__ = ["with_run_columns", "with_run_split", "run_options", "check_unchanged",
           "holds_the_runs_rows"]


def with_run_columns(request: DataRequest, recorded: dict[str, Any]) -> DataRequest:
    """``request`` with the id and label columns the run was trained with
    (``recorded``: its config's ``extra.data``), where the request names none of its own
    and its table has them: ``embed``, ``reconstruct``, ``score``, ``cluster`` and
    ``evaluate`` then never take the run's id or label column for a feature."""
    if not request.input:
        return request
    wanted = {}
    if request.id_column == "auto" and recorded.get("id_column") not in (None, "auto", "none"):
        wanted["id_column"] = recorded["id_column"]
    if request.label_column is None and recorded.get("label_column"):
        wanted["label_column"] = recorded["label_column"]
    if request.input == STDIN:  # unread yet: taken when the table has them (_load_stdin)
        return replace(request, optional_columns=tuple(wanted), **wanted)
    columns = table_columns(request.input) or []
    return replace(request, **{k: v for k, v in wanted.items() if v in columns})


def with_run_split(request: DataRequest, fit_options: dict[str, Any], *,
                   own: bool = False) -> DataRequest:
    """``request`` split as the run whose ``fit`` had ``fit_options`` split its input
    (:func:`run_options`: ``test_fraction``, ``test_size``, ``seed``, and ``train_size``
    unless the request asks for fewer rows), when it reads that same input (the same path,
    or ``own``: the same rows, :func:`holds_the_runs_rows`); other data keeps the request's
    own split; of the data set the run was fitted on, the first ``train_size`` and
    ``test_size`` rows of its splits that the run had. ``evaluate`` then scores the rows
    the run held out:
    :func:`~autoencoders.inputs.holdout` draws of another fraction or seed are not nested
    (of 600 rows, the 60 held out at 0.1 share 17 with the 180 held out at 0.3), so a split
    of its own would score rows the model trained on."""
    train_size = fit_options.get("train_size")
    if request.train_size and (not train_size or request.train_size < train_size):
        train_size = request.train_size  # fewer of the same training rows: still unseen-free
    if not request.input and request.dataset and request.dataset == fit_options.get("dataset"):
        # A data set's splits are fixed: the run's is their first rows (--train-size,
        # --test-size), which its metrics.json scored.
        test_size = fit_options.get("test_size")
        same = (request.train_size, request.test_size) == (train_size, test_size)
        return request if same else replace(request, train_size=train_size, test_size=test_size)
    theirs = fit_options.get("input")
    if not request.input or request.input == STDIN or not isinstance(theirs, str) \
            or not (own or _same_path(request.input, theirs)):
        return request
    return replace(request, test_fraction=fit_options.get("test_fraction", 0.1),
                   test_size=fit_options.get("test_size"), seed=fit_options.get("seed", 0),
                   train_size=train_size)


def run_options(run_dir: str | Path) -> dict[str, Any]:
    """The data options of the ``fit`` that made the run in ``run_dir``: its saved command
    (:func:`~autoencoders.workflow.folder.read_command`), or, when ``checkpoints/`` is gone,
    what config.json records of its data (the data set with the sizes of its splits, or
    the input with its split's options: fraction, sizes, seed, image size, streaming); {}
    when neither says.

    Raises
    ------
    ValueError
        When the saved command is damaged.
    """
    try:
        return read_command(run_dir)
    except FileNotFoundError:
        pass
    recorded = recorded_data(run_dir)
    if recorded.get("dataset"):  # its splits' first rows: as many as it recorded
        return {"dataset": recorded["dataset"], "train_size": recorded.get("n_train"),
                "test_size": recorded.get("n_test")}
    if not recorded.get("input") or "seed" not in recorded:  # recorded before the split was
        return {}
    options = {k: recorded.get(k) for k in ("input", "id_column", "label_column",
                                            "test_fraction", "test_size", "train_size",
                                            "seed")}
    size = recorded.get("image_size")
    return {**options, "stream": bool(recorded.get("streamed")),
            "image_size": tuple(size) if size else None}


def check_unchanged(run_dir: str | Path, data: RunData) -> None:
    """Refuse ``data`` read again from the input of the run in ``run_dir`` (``report``,
    ``evaluate``) when it is no longer the rows the run read: the run's test split, drawn
    again, would be other rows, some perhaps trained on. Other data, and runs that recorded
    no fingerprint, pass.

    The fingerprint (:func:`~autoencoders.training.data_fingerprint`) is of the rows' values
    when the input was read into memory (touching the file changes nothing), and of its
    files' paths, sizes and modification times when streamed (a pass over the data would
    cost as much as an epoch). Read once in memory and once streamed, the fingerprints of
    the files are compared (``files``: recorded for every input that can be streamed; a
    table read whole, .csv or .npz, never is).

    Raises
    ------
    ValueError
        When the rows differ from those the run's config.json records.
    """
    recorded, now = recorded_data(run_dir), data.description
    theirs, ours = recorded.get("input"), now.get("input")
    if (not isinstance(theirs, str) or not isinstance(ours, str) or not _same_path(ours, theirs)
            or "fingerprint" not in recorded):
        return
    # Read once streamed and once in memory: the same files (both could be streamed).
    key = "fingerprint" if recorded.get("streamed") == now.get("streamed") else "files"
    if recorded.get(key) != now.get(key):
        what = ("other rows, or their columns in another order" if not now.get("streamed")
                and not recorded.get("streamed") else "its files' sizes or times differ: "
                "streamed, their rows are not read to compare them")
        raise ValueError(f"{data.name} has changed since the run in {run_dir} read it "
                         f"({what}): its test split would be other rows, some perhaps "
                         "trained on; put back the data the run was fitted on, or fit again")


def holds_the_runs_rows(run_dir: str | Path, data: RunData) -> bool:
    """Whether ``data``, read into memory, holds exactly the rows the run in ``run_dir`` was
    fitted on (the same values in the same order, whatever the file's path: the run's input
    moved or copied), as the fingerprints in config.json and ``data.description`` say."""
    recorded, now = recorded_data(run_dir), data.description
    return (not recorded.get("streamed") and not now.get("streamed")
            and now.get("fingerprint") is not None
            and recorded.get("fingerprint") == now.get("fingerprint"))


def _same_path(a: str, b: str) -> bool:
    """Whether two paths (or globs) name the same input."""
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # a glob, or a file gone
        return False
