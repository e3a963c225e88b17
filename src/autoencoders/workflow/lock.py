"""The run folder's lock: ``RUN_DIR/.lock``, held (an OS ``flock`` and the owner's pid,
host and start) while ``fit``, ``evaluate``, ``cluster`` or ``report`` write the folder, and
the check every verb makes before it reads a run that a fit may still be writing."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from .._io import file_in_the_way, process_alive, process_identity
from ..persistence import MODEL_FILE, refuse_interrupted

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["RunFolderConflict", "LOCK_FILE", "run_lock", "refuse_unfinished", "refuse_a_file"]

#: A folder's path, as the functions below take it.
_PathLike = str | os.PathLike[str]


class RunFolderConflict(ValueError):
    """The output folder holds a run that a new one would replace, or another process is
    writing it; the message says how to continue it, start over or wait (``fit`` exits
    with 2, the other verbs with 1)."""


#: Held by the process writing a run folder: its pid, so that a second ``fit`` into the
#: same folder is refused while the first runs, and a stale lock (a killed run) is not.
LOCK_FILE = ".lock"


def refuse_a_file(folder: Path) -> None:
    """Raise when ``folder`` is a file, or a file stands where one of its parents should
    be: a run folder cannot be made there.

    Raises
    ------
    RunFolderConflict
        When ``folder`` is a file.
    NotADirectoryError
        When one of its parents is.
    """
    if folder.exists() and not folder.is_dir():
        raise RunFolderConflict(f"--out {folder} is a file; name a folder")
    blocker = file_in_the_way(folder / "x")
    if blocker is not None:
        raise NotADirectoryError(f"cannot write the run folder {folder}: {blocker} is a file, "
                                 "not a folder; choose another --out")


@contextlib.contextmanager
def run_lock(folder: _PathLike, then: str = "choose another --out") -> Iterator[None]:
    """Hold ``folder/.lock`` (creating the folder) while a run writes it: ``fit`` while it
    trains and writes, ``evaluate`` and ``cluster`` while they write their results (a
    ``fit --force`` replacing the model meanwhile would leave them beside another model);
    ``then`` ends the message when another process holds it.

    Raises
    ------
    RunFolderConflict
        When a running process holds the lock (on this machine; a lock left by a process
        that no longer runs is taken over), or the folder is a file.
    NotADirectoryError
        When a file stands where a parent folder should be.
    """
    refuse_a_file(Path(folder))
    lock = Path(folder) / LOCK_FILE
    mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "process": process_identity(os.getpid())})
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = _take(lock)
    except OSError as exc:
        if os.path.lexists(lock) and (lock.is_symlink() or not lock.is_file()):
            kind = "a link" if lock.is_symlink() else "a folder" if lock.is_dir() else "not a file"
            raise OSError(f"cannot take the lock of the run folder {folder}: {lock} is {kind}, "
                          "not the lock file this library writes; remove it (nothing of the "
                          "run is in it) and run this again") from None
        raise OSError(f"cannot write the run folder {folder}: {exc.strerror or exc}; "
                      "choose another --out") from None
    try:
        # Held against every other taker (flock), it may still name a live process that
        # takes no flock (an older version of this library): that one is respected too.
        # A taker that holds the flock may not have written its content yet (or an old
        # owner's is still there): then the message names no process.
        owner = _lock_owner(lock)
        if fd is None or owner is not None:
            raise RunFolderConflict(f"{_being_written(folder, owner)}; wait for it to "
                                    f"finish or {then}")
        data = (mine + "\n").encode()
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)  # then cut: a reader never finds it empty
        os.ftruncate(fd, len(data))
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # before the flock goes: a waiting taker checks the inode
    finally:
        if fd is not None:
            os.close(fd)


def _take(lock: Path) -> int | None:
    """A descriptor of ``lock`` (created if missing) with an exclusive ``flock`` on it, or
    None when another process holds one. Two processes that start at once, or that both
    find a killed run's lock, cannot both take it (reading its content, then replacing it,
    could: 12 of 30 simultaneous starts did, 2026-12-03). The kernel releases the flock of
    a killed process. Without ``fcntl`` (Windows) only the content guards the lock."""
    while True:
        # Not through a link: the lock's content would overwrite the file it points to.
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            return fd
        os.close(fd)  # its holder removed it meanwhile: take the file now at that path


def refuse_unfinished(folder: _PathLike) -> None:
    """Raise when the run in ``folder`` has not finished (no ``model.safetensors``): that a
    fit is writing it now (its lock names a live process), or, after an interruption, how
    to finish it (:func:`~autoencoders.persistence.refuse_interrupted`). Every command on
    a run (``Run``, the CLI's verbs) calls it before it reads the run's data or model.

    Raises
    ------
    RunFolderConflict
        While a running process holds the folder's lock.
    FileNotFoundError
        For an interrupted run.
    """
    lock = Path(folder) / LOCK_FILE
    writer = _lock_owner(lock) if lock.is_file() else None
    if writer is not None and not os.path.lexists(Path(folder) / MODEL_FILE):
        raise RunFolderConflict(f"{_being_written(folder, writer)}: its model is written when "
                                "training ends; wait for it to finish")
    refuse_interrupted(folder)


def _being_written(folder: _PathLike, owner: dict[str, Any] | None) -> str:
    if owner is None:
        return f"{folder} is being written by another process"
    return (f"{folder} is being written by process {owner['pid']} (started "
            f"{owner.get('started', 'at an unknown time')})")


def _read_owner(lock: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        owner = json.loads(lock.read_text(encoding="utf-8"))
        return owner if isinstance(owner, dict) else None
    return None


def _lock_owner(lock: Path) -> dict[str, Any] | None:
    """The lock's owner when it is a running process on this machine, else None: not when
    its id now belongs to another process (the recorded ``process`` identity differs; a
    killed run's id reused after a reboot would otherwise hold the folder for good)."""
    owner = _read_owner(lock) or {}
    try:
        pid = int(owner["pid"])
    except (ValueError, KeyError, TypeError, OverflowError):
        return None  # empty or unreadable: a crash between creating and writing it
    if owner.get("host") not in (None, socket.gethostname()):
        return owner  # another machine's (a shared file system): assume it runs
    recorded = owner.get("process")  # anything but a non-empty string: unknown
    now = process_identity(pid) if isinstance(recorded, str) and recorded else None
    if now is not None and now != recorded:
        return None
    return owner if process_alive(pid) else None
