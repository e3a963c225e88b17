"""Writing files so that a crash or a full disk never leaves a half-written one behind (and
an object's state whole when an update of it fails), and the memory a reader may claim
before it allocates."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write", "kept_on_failure", "file_in_the_way",
           "remove_stale_temporaries", "process_alive", "process_identity", "available_memory",
           "check_fits_in_memory"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success, fsync it, rename it onto ``path``
    and fsync the folder, so that the new file survives a power cut once this returns.

    The writer inside the ``with`` block writes the temporary file by name (``np.save``,
    ``savefig``, ``safetensors.torch.save_file``). On any exception the temporary file is
    removed and ``path`` keeps its previous contents. The parent folder is created if missing
    (and removed again, with the folders made for it, when the write fails).

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
        When the folder cannot be created or written to (``NotADirectoryError`` when a
        parent is a file, ``IsADirectoryError`` when ``path`` is a folder or a name ending
        in '/'), when ``path`` is no regular file (a device, a pipe), or the writer
        fails with an OS error such as a full disk; the message names ``path``.
    """
    if names_a_folder(path):  # Path() would drop the slash, and write the file before it
        raise IsADirectoryError(f"cannot write {path}: a name ending in '/' is a folder's; "
                                "name a file")
    path = Path(path)
    if is_special_file(path):
        raise OSError(f"cannot write {path}: it is no regular file (a device or a pipe), "
                      "which the finished file would replace; name a file")
    _no_file_in_the_way(path, f"cannot write {path}")
    if path.is_dir():  # said before the writer writes, not by the rename after it
        raise IsADirectoryError(f"cannot write {path}: it is a folder; name a file (inside "
                                "it, or elsewhere)")
    # The folders this write creates, deepest first: removed again if it fails (a failed
    # embed into new/deep/x.npy left new/deep behind, a hostile trial).
    created = [p for p in (path.parent, *path.parent.parents) if not os.path.lexists(p)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temporary(path, path.suffix if suffix is None else suffix)
    except OSError as exc:
        _remove_empty(created)
        # Name the destination, not the temporary file the user never asked for.
        raise type(exc)(f"cannot write {path}: {exc.strerror or exc}; choose "
                        "another location or make the folder writable") from None
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _remove_empty(created)
        if isinstance(exc, OSError) and exc.strerror:  # the disk's answer: name the file
            raise type(exc)(f"cannot write {path}: {exc.strerror}; nothing there was "
                            "changed (free some space or choose another location)") from None
        raise


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) that are still empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _create_temporary(path: Path, suffix: str) -> Path:
    """Create an empty file beside ``path``, named ``.NAME.tmp-PID-TOKEN`` (+ ``suffix``), with
    the permissions a plain ``open`` would give (0o666 less the umask), or those of the file
    it replaces: ``tempfile.mkstemp`` would make every output readable by its owner only.
    Temporaries of ``path`` left by processes that no longer run (killed mid-write) are
    removed first."""
    remove_stale_temporaries(path)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


def remove_stale_temporaries(path: str | os.PathLike[str]) -> None:
    """Delete the temporary files of ``path`` (``.NAME.tmp-PID-…``) whose writing process is
    gone: what a ``kill -9`` in the middle of a write leaves behind."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    prefix = f".{path.name}.tmp-"
    for entry in path.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            with contextlib.suppress(OSError):
                entry.unlink()


def process_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine (it may belong to another user).
    No process has an id ≤ 0 or beyond the C long (``os.kill`` would signal a group, or
    overflow): such an id, read from a damaged lock or folder name, runs nowhere."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    except OSError:  # Windows and others without signal 0: assume it runs
        return True
    return True


def process_identity(pid: int) -> str | None:
    """What tells a process apart from a later one given the same id: the boot's id and the
    process's start time in clock ticks since boot (Linux's ``/proc``), or None where that
    cannot be read (another system, a process gone or hidden)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 is the start time; the command name (field 2, in parentheses) may hold spaces.
    fields = stat[stat.rfind(")") + 2:].split()
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def file_in_the_way(path: str | os.PathLike[str]) -> Path | None:
    """The nearest existing parent of ``path`` when it is a file (so no folder can be made
    there), else None."""
    blocker = next((p for p in Path(path).parents if p.exists()), None)
    return blocker if blocker is not None and not blocker.is_dir() else None


def writable_folder(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as the folder to save ``what`` ("the model", "the map") into, refused
    before anything is written when it cannot be one.

    Raises
    ------
    ValueError
        For an empty path (it meant the current folder).
    NotADirectoryError
        When ``path``, or the nearest of its parents that exists, is a file (the OS's
        own "[Errno 20] Not a directory" named neither, a hostile trial).
    """
    if not os.fspath(path):
        raise ValueError(f"cannot save {what}: the folder's path is empty; name a folder")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cannot save {what} into {folder}: it is a file; name a "
                                 "folder")
    _no_file_in_the_way(folder, f"cannot save {what} into {folder}")
    return folder


def _no_file_in_the_way(path: Path, doing: str) -> None:
    """Raise NotADirectoryError ("``doing``: BLOCKER is a file, not a folder; …") when the
    nearest existing parent of ``path`` is a file (:func:`file_in_the_way`)."""
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise NotADirectoryError(f"{doing}: {blocker} is a file, not a folder; choose "
                                 "another location")


def names_a_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is written as a folder's (ends in a separator): ``Path`` drops the
    separator, so "kept.csv/" would be written as kept.csv (a hostile trial)."""
    return os.fspath(path).endswith(("/", os.sep))


def is_special_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists as neither a folder nor a regular file (a device, a pipe,
    a socket), which writing a file there by rename would replace: ``--out /dev/null
    --force`` as root, a hostile trial."""
    return (os.path.exists(path) and not os.path.isdir(path)
            and not stat.S_ISREG(os.stat(path).st_mode))


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; see :func:`atomic_path`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def kept_on_failure(obj: object) -> Iterator[None]:
    """Put ``obj``'s attributes back as they were when the block raises (any exception,
    KeyboardInterrupt included): a refit that fails leaves the earlier fit whole, as a
    failed write leaves the earlier file."""
    earlier = dict(vars(obj))
    try:
        yield
    except BaseException:
        vars(obj).clear()
        vars(obj).update(earlier)
        raise


def available_memory() -> int:
    """Bytes of memory available to this process now (Linux: MemAvailable of
    /proc/meminfo; elsewhere the physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: no bound


def check_fits_in_memory(nbytes: int, what: str, fix: str) -> None:
    """Refuse, before allocating, what would not fit in the available memory.

    Raises
    ------
    MemoryError
        Naming ``what``, both sizes and ``fix`` (the way out: stream it, shrink it).
    """
    free = available_memory()
    if nbytes > free:
        raise MemoryError(f"{what} would take {_size(nbytes)}, more than the {_size(free)} "
                          f"of memory available; {fix}")


def _size(nbytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes} bytes"
