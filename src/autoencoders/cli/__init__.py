"""The ``autoencoders`` command: argument parsing that calls the library (the run workflow
in ``autoencoders.workflow`` and the estimator); no logic of its own.

Exit codes: 0 success, 1 failure (bad data, missing files, training diverged), 2 usage errors
(an output folder that holds another run included), 130 interrupted (Ctrl-C), 143 terminated
(SIGTERM; both unwind, so that no half-written file is left). Errors are one line on
stderr; ``--debug`` shows the traceback instead. Heavy libraries (torch, scikit-learn,
matplotlib) are imported once a command runs, so that ``--help`` answers at once; torch is
then set up once for every verb (``autoencoders.runtime.configured_torch``).
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from argparse import Namespace
from collections.abc import Iterator, Sequence
from typing import TextIO

from .commands import COMMANDS
from .options_file import with_config
from .parser import PROG, UsageError, build_parser

__all__ = ["main", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        if _stdout_unwritable() and any(a.startswith("--print-completion") for a in argv):
            raise OSError("standard output is closed or read-only: the completion script "
                          "would be lost; redirect it to a file")
        args = parser.parse_args(with_config(parser, argv))
        if args.command is None:
            parser.print_help()
            return 2
        if _stdout_unwritable() and _writes_stdout(args):
            raise OSError(f"standard output is closed or read-only: what {args.command} "
                          "writes there would be lost; redirect it to a file, or to /dev/null "
                          "to drop it")
        from ..runtime import configured_torch

        with configured_torch(), _stderr_messages(args.quiet, args.verbose), \
                _sigterm_unwinds():
            _warn_of_hidden_runs(args)
            _refuse_unfinished_runs(args)
            code = COMMANDS[args.command](args)
            if sys.stdout is not None:  # here, not at exit: a full disk is an error, exit 1
                sys.stdout.flush()
            return code
    except UsageError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except _Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away ('autoencoders score ... | head'): quietly, as Unix tools do;
        # stdout is pointed at /dev/null so that Python's own flush at exit cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, OSError, RuntimeError, ImportError, MemoryError) as exc:
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


def _stdout_unwritable() -> bool:
    """Whether standard output was closed (``>&-``: Python's is None then) or opened
    read-only (``1<file``) when the program started."""
    if sys.stdout is None:
        return True
    try:
        import fcntl

        return fcntl.fcntl(sys.stdout.fileno(), fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    except (ImportError, OSError, ValueError):  # Windows; a stdout of no file (io.StringIO)
        return False


def _writes_stdout(args: Namespace) -> bool:
    """Whether the command writes on standard output: data (``--out -``), or results it
    prints (fit's numbers, evaluate's table, score's highest scores, ...)."""
    if getattr(args, "out", None) == "-":
        return True
    if args.command in ("embed", "reconstruct", "sample", "interpolate", "export", "report"):
        return False
    if args.command == "denoise":  # PSNR, against clean data only
        return bool(args.clean or args.add_noise)
    return args.command != "score" or bool(args.top > 0)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds as from Ctrl-C."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM acts as Ctrl-C (the training loop checkpoints on it with its own handler):
    atomic writes take their temporary files away (killed at once, ``embed`` left a
    half-written ``.NAME.tmp-…``), a new run that has not trained takes its files away and
    gives back the run that ``fit --force`` set aside, one that has trained keeps its
    checkpoint. Main thread only, as signals are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _run_folders(args: Namespace) -> list[str]:
    """The run folders a verb reads (``RUN_DIR``, or ``report``'s several)."""
    return [f for f in [*getattr(args, "run_dirs", ()), getattr(args, "run_dir", None)] if f]


def _warn_of_hidden_runs(args: Namespace) -> None:
    """Name what a killed ``fit --force`` left hidden in the run folder a command works on,
    before anything deletes it: printed, not warned, so that ``-q`` (which silences
    warnings) cannot hide that a run's files are about to go."""
    from ..workflow.folder import hidden_replaced_runs

    # A new fit without --force refuses such a folder instead (``claim_out_dir``).
    named = [*_run_folders(args), getattr(args, "resume", None),
             args.out if args.command in ("fit", "demo") and getattr(args, "force", False)
             else None]
    # Once per folder, however often and however spelt it was named (report R R).
    for folder in {os.path.realpath(f): f for f in named if f}.values():
        for old in hidden_replaced_runs(folder) if os.path.isdir(folder) else ():
            print(f"{PROG}: warning: {old} holds the run that a killed `fit --force` was "
                  "replacing; the next run in its folder that trains (or stops resumable) "
                  "deletes it: to keep it, move its files out first", file=sys.stderr)


def _refuse_unfinished_runs(args: Namespace) -> None:
    """A verb on a run that has not finished (all but ``fit --resume``) says so before it
    looks for the run's data or model: that a fit is writing it, or how to finish it."""
    from ..workflow.lock import refuse_unfinished

    for folder in _run_folders(args):
        refuse_unfinished(folder)


@contextlib.contextmanager
def _stderr_messages(quiet: bool, verbose: int) -> Iterator[None]:
    """Warnings as one line each (``autoencoders: warning: ...``, not Python's two lines
    with a source line), none under ``-q``; the library's log messages at INFO with ``-v``
    (DEBUG with ``-vv``). Restored afterwards: ``main`` may run many times in one process."""
    logger = logging.getLogger("autoencoders")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if not verbose else
                    logging.INFO if verbose == 1 else logging.DEBUG)

    def one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = one_line
        if quiet:
            warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
