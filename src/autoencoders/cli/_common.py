"""What the command modules share: the data a command asks for, its progress messages, and
lists of method names."""

from __future__ import annotations

import glob
import os
import sys
from argparse import Namespace
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .parser import UsageError

if TYPE_CHECKING:
    from ..workflow import DataRequest

__all__: list[str] = []


def _request(args: Namespace, **overrides: Any) -> DataRequest:
    from ..workflow import DataRequest, recorded_data, with_run_columns

    run_dir = getattr(args, "run_dir", None)  # a verb on a finished run
    if run_dir and getattr(args, "dataset", None) is None and getattr(args, "input", None) is None:
        _the_runs_data(args, run_dir)
    fraction = getattr(args, "test_fraction", None)
    if fraction is not None and not 0 < fraction < 1:
        raise UsageError(f"--test-fraction must be between 0 and 1, got {fraction}")
    if getattr(args, "split", None) is not None and getattr(args, "input", None) is not None:
        raise UsageError(f"--split chooses a split of --dataset; --input {args.input} is read "
                         "whole: give a file of the rows you want instead")
    if getattr(args, "input", None) == "-" and args.command in ("fit", "evaluate"):
        raise UsageError(f"--input - (standard input) is for the verbs that apply a model; "
                         f"{args.command} needs a file it can read again: save the data first")
    request = DataRequest.from_options(args, progress=not getattr(args, "quiet", False),
                                       **overrides)
    return with_run_columns(request, recorded_data(run_dir)) if run_dir else request


def _the_runs_data(args: Namespace, run_dir: str) -> None:
    """Without ``--dataset`` or ``--input``, a verb on a run reads the data the run was
    fitted on (config.json's record: the data set, or the input's absolute path, read at
    the image size of the run's command)."""
    from ..workflow import recorded_data, run_options

    recorded = recorded_data(run_dir)
    args.dataset, args.input = recorded.get("dataset"), recorded.get("input")
    if not (args.dataset or args.input):
        raise UsageError(f"{run_dir} records no data it was fitted on (not a run folder of "
                         "'fit', or saved by a script); give --dataset or --input")
    if args.input and not (glob.glob(args.input) or os.path.exists(args.input)):
        raise UsageError(f"{run_dir} was fitted on {args.input}, which is gone; give "
                         "--input (for evaluate, the same rows: the run's split is found "
                         "by their fingerprint) or --dataset")
    if args.input and getattr(args, "split", None) is not None:
        raise UsageError(f"--split chooses a split of --dataset; {run_dir} was fitted on "
                         f"{args.input}, which is read whole: give --input with the rows you "
                         "want instead")
    if args.input and getattr(args, "image_size", None) is None:
        try:
            args.image_size = run_options(run_dir).get("image_size")
        except ValueError:  # a damaged saved command: images at their own size
            pass


def _log(args: Namespace) -> Callable[[str], None]:
    return (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))


def _method_list(text: str, option: str, noun: str, allowed: tuple[str, ...]
                 ) -> tuple[str, ...]:
    """A comma-separated list of method names (or 'none'), checked against ``allowed``."""
    if text.strip().lower() in ("", "none"):
        return ()
    names = tuple(m.strip().lower() for m in text.split(","))
    unknown = [m for m in names if m not in allowed]
    if unknown:
        raise UsageError(f"{option}: unknown {noun} {unknown[0]!r}; choose from "
                         f"{', '.join(allowed)} or 'none'")
    return names
