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

# OpenMP threads that wait for work by spinning stall when other processes hold the cores:
# measured here, 200 Adam steps of a 784-400-200-784 model took 84–119 s beside two busy
# processes with torch's default policy against 6.8–7.8 s with PASSIVE (benchmarks/load.py
# compares both, quiet and loaded). The runtime reads the variable when torch loads it, so
# it is set here, before any import of torch through this package; a program that imported
# torch first keeps its policy (``runtime.check_wait_policy`` says so under load).
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
