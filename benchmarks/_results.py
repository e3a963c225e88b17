"""What the quality and variants benchmarks share: the machine's description and writing
their results (Markdown and JSON) atomically."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

import torch

from autoencoders._io import atomic_write


def machine() -> dict:
    """CPU model, usable cores, platform, Python and torch versions, today's date, and the
    command line that ran the benchmark."""
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "date": datetime.date.today().isoformat(),
            "command": "python " + " ".join(["benchmarks/" + Path(sys.argv[0]).name,
                                            *sys.argv[1:]]).rstrip()}


def write_results(out: Path, results: dict, text: str) -> None:
    """``out`` (Markdown) and ``out`` with suffix .json, each written atomically."""
    atomic_write(out.with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    atomic_write(out, text)
