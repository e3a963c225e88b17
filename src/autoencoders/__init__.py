"""autoencoders: learn compressed codes with autoencoders, the scikit-learn way.

The public face: :class:`AutoEncoder`, :class:`Run` (a run folder), :func:`preset`, the
:mod:`autoencoders.datasets` module and ``__version__``. PyTorch and scikit-learn are
imported on first use of ``AutoEncoder``, so that ``import autoencoders`` and
``autoencoders --help`` stay fast.
"""

import os
import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see of the lazy names below (PEP 562)
    from . import datasets
    from .estimator import AutoEncoder
    from .params import preset
    from .workflow import Run

# OpenMP threads that wait for work by spinning stall when other processes hold the cores,
# and threads that sleep at once wake late for the next small kernel. GNU OpenMP (torch's
# pip wheels) spins GOMP_SPINCOUNT times before it sleeps: 300,000 by default, 0 with
# PASSIVE. Measured here (benchmarks/results/load.md, 2026-12-02, AMD EPYC, 2 cores, one
# epoch of the default recipe on MNIST, best of 3): 6.2 s quiet and 21.8 s beside two busy
# processes with torch's default, 9.3 s and 10.2 s with PASSIVE, 5.7 s and 12.5 s with
# PASSIVE and 10,000 spins (30,000 and 100,000 stalled in some loaded runs: 22.5 s, 26.5 s).
# The runtime reads both variables when torch loads it, so they are set here, before any
# import of torch through this package, and only where the user chose no policy; a program
# that imported torch first keeps its policy (``runtime.check_wait_policy`` says so under
# load).
if "torch" not in sys.modules and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

try:
    __version__ = version("autoencoders")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["AutoEncoder", "Run", "preset", "datasets", "__version__"]

_LAZY = {"AutoEncoder": "estimator", "Run": "workflow", "preset": "params",
         "datasets": "datasets"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(f".{_LAZY[name]}", __name__)
        value = module if name == "datasets" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autoencoders' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
