"""Writing files so that a crash or a full disk never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_write"]


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; on success, fsync it and rename it onto ``path``.

    The writer inside the ``with`` block writes the temporary file by name (``np.save``,
    ``savefig``, ``safetensors.torch.save_file``). On any exception the temporary file is
    removed and ``path`` keeps its previous contents. The parent folder is created if missing.

    Parameters
    ----------
    path : str or Path
        The final destination.
    suffix : str, optional
        Suffix of the temporary file (some writers choose a format from it); by default the
        destination's own suffix.

    Raises
    ------
    OSError
        When the folder cannot be created or written to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=path.suffix if suffix is None else suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; see :func:`atomic_path`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
