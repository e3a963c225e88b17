"""Running the command line as users run it: a subprocess, its exit code and output."""

import os
import subprocess
import sys

from autoencoders.cli.commands import COMMANDS as VERBS

#: Every verb, from the CLI's own table.
COMMANDS = tuple(VERBS)


def run(*args, cwd=None, check_code=None):
    """``python -m autoencoders ARGS``: the finished process (text output); with
    ``check_code``, assert its exit code (the message shows stderr)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "autoencoders", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    if check_code is not None:
        assert proc.returncode == check_code, proc.stderr
    return proc
