"""Running the command line as users run it: its exit code and its output.

``run`` calls ``autoencoders.cli.main`` in the test's own process, with standard output and
error captured: a new interpreter costs 4-5 s of imports (torch, scikit-learn) on this
2-core machine, and the suite made ~100 such calls (2026-12-01). ``main`` puts back what it
changes (torch's threads, the log handler, signal handlers), which these calls check in
passing. What needs a real process (standard input, pipes, signals, environment variables,
the console script itself) uses ``run_process``.
"""

import contextlib
import io
import os
import subprocess
import sys
from types import SimpleNamespace

from autoencoders.cli import main
from autoencoders.cli.commands import COMMANDS as VERBS

#: Every verb, from the CLI's own table.
COMMANDS = tuple(VERBS)


def run(*args, cwd=None, check_code=None, input=b""):
    """``autoencoders ARGS`` in this process, ``input`` (bytes) on its standard input: an
    object with ``returncode``, ``stdout`` and ``stderr`` (text), like a finished
    subprocess; with ``check_code``, assert the exit code (the message shows stderr)."""
    out, err = io.BytesIO(), io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO(input), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            contextlib.chdir(cwd or os.getcwd()), _replaced_stdin(stdin):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    proc = SimpleNamespace(returncode=code, stdout=out.getvalue().decode(),
                           stderr=err.getvalue().decode())
    if check_code is not None:
        assert proc.returncode == check_code, proc.stderr
    return proc


@contextlib.contextmanager
def _replaced_stdin(stream):
    previous, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = previous


def run_process(*args, cwd=None, check_code=None, env=None, input=None):
    """``python -m autoencoders ARGS`` in a new process: the finished process (text output
    unless ``input`` is bytes); with ``check_code``, assert its exit code."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "autoencoders", *map(str, args)],
                          capture_output=True, text=not isinstance(input, bytes), cwd=cwd,
                          env=env, input=input, timeout=600)
    if check_code is not None:
        assert proc.returncode == check_code, proc.stderr
    return proc


def files_under(folder):
    """Every file under ``folder`` (its path relative to it) with its bytes, the run lock
    left out: what a refused or failed command must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}
