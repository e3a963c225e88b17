"""Reports of run folders: each run's model and test data gathered into the views that
``autoencoders.report`` renders."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..estimator import AutoEncoder
from ..report import MAX_POINTS, REPORT_FILE, Report, RunView, render, run_view
from .data import DataRequest, RunData, own_rows, run_data
from .run_inputs import check_unchanged, run_options

__all__ = ["run_report", "write_run_report", "run_test_data"]


def run_test_data(folder: str | Path) -> RunData:
    """The data a run was trained and tested on, read again as its command read it (the
    same split, by the same seed).

    Raises
    ------
    ValueError
        When the folder records neither its command nor its data (:func:`run_options`),
        or when the input file is no longer what the run read (its rows, or when streamed
        its size or time, differ from the fingerprint in config.json): its test split
        would be other rows, some of them perhaps trained on.
    """
    options = run_options(folder)
    if not options:
        raise ValueError(f"{folder} records neither the command that made it nor its data "
                         "(a model saved from Python): its test data cannot be found again; "
                         "a report shows run folders written by 'autoencoders fit'")
    data = run_data(DataRequest.from_options(argparse.Namespace(**options), progress=False))
    check_unchanged(folder, data)
    return data


def _share(max_points: int, runs: int) -> int:
    """Each run's share of ``max_points``: an equal part, at least 1,000 (a map of fewer
    says little) but never more than the cap the user asked for."""
    return min(max_points, max(1000, max_points // runs))


def _test_ids(data: RunData) -> NDArray[Any] | None:
    if data.ids is None:
        return None
    return data.ids[np.asarray(data.test_numbers)] if not isinstance(data.test_numbers, int) \
        else None


def run_report(folders: Sequence[str | Path], *,
               estimator: AutoEncoder | None = None, data: RunData | None = None,
               max_points: int = MAX_POINTS) -> Report:
    """The report of one run folder, or of several side by side.

    Parameters
    ----------
    folders : sequence of str or Path
    estimator : AutoEncoder, optional
        The first run's fitted model, when already in memory (``fit`` passes it).
    data : RunData, optional
        The first run's data, when already in memory.
    max_points : int
        Points on each run's map at most (shared out between several runs).

    Returns
    -------
    Report

    Raises
    ------
    FileNotFoundError, ValueError
        For a folder that is not a run, or whose data cannot be read again.
    """
    folders = [Path(f) for f in folders]
    views: list[RunView] = []
    for i, folder in enumerate(folders):
        est = estimator if i == 0 and estimator is not None else AutoEncoder.load(folder)
        run = data if i == 0 and data is not None else run_test_data(folder)
        with own_rows(est, run.feature_names, run.name):
            views.append(run_view(folder, est, run.X_test, run.y_test, _test_ids(run),
                                  max_points=_share(max_points, len(folders)),
                                  names=run.class_names))
    return Report(render(views))


def write_run_report(folder: str | Path, **kwargs: Any) -> Path:
    """:func:`run_report` of one run, written to ``folder/report.html``."""
    return run_report([folder], **kwargs).save(Path(folder) / REPORT_FILE)
