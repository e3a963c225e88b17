"""autoencoders: learn compressed codes with autoencoders, the scikit-learn way.

The public face: :class:`AutoEncoder`, :func:`preset`, the :mod:`autoencoders.datasets`
module and ``__version__``. PyTorch and scikit-learn are imported on first use of
``AutoEncoder``, so that ``import autoencoders`` and ``autoencoders --help`` stay fast.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("autoencoders")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["AutoEncoder", "preset", "datasets", "__version__"]

_LAZY = {"AutoEncoder": "estimator", "preset": "config", "datasets": "datasets"}


def __getattr__(name):
    if name in _LAZY:
        module = import_module(f".{_LAZY[name]}", __name__)
        value = module if name == "datasets" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autoencoders' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
