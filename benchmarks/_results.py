"""What the quality and variants benchmarks share: torch set-up, MNIST (or the subsets of a
quick run), the machine's description and writing their results (Markdown and JSON)
atomically."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

# autoencoders before torch: importing it sets OMP_WAIT_POLICY=PASSIVE before torch's OpenMP
# runtime starts (benchmarks/results/load.md), so that a benchmark does not stall when
# something else runs beside it.
from autoencoders._io import atomic_write  # isort: skip
from autoencoders.datasets import load_mnist  # isort: skip
import torch  # isort: skip


def setup_torch() -> None:
    """Threads = the cores this process may use; denormals flushed (before any torch work)."""
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.set_flush_denormal(True)


def mnist(quick: bool):
    """MNIST as (X, y, X_test, y_test), uint8 images (n, 28, 28); a quick run takes the first
    3,000 training and 1,000 test images."""
    X, y = load_mnist("train", progress=False)
    Xt, yt = load_mnist("test", progress=False)
    if quick:
        return X[:3000], y[:3000], Xt[:1000], yt[:1000]
    return X, y, Xt, yt


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
