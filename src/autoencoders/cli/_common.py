"""What the command modules share: the data a command asks for, its progress messages, and
lists of method names."""

from __future__ import annotations

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
    run_dir = getattr(args, "run_dir", None)  # a verb on a finished run: its columns
    return with_run_columns(request, recorded_data(run_dir)) if run_dir else request


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
