"""Stopping training cleanly on SIGINT or SIGTERM: the signal is noted, the loop finishes
its step, checkpoints, and raises :class:`TrainingInterrupted`."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

__all__ = ["TrainingInterrupted", "deferred_signals"]


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training after a checkpoint was written.

    Attributes
    ----------
    signum : int
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    checkpoint : pathlib.Path
        The checkpoint written; resume from its folder.
    """

    def __init__(self, signum: int, checkpoint: Path) -> None:
        self.signum, self.checkpoint = signum, checkpoint
        super().__init__(f"training stopped by {signal.Signals(signum).name}; "
                         f"checkpoint written to {checkpoint}")


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Collect SIGINT/SIGTERM in the yielded list instead of stopping at once.

    The loop finishes its step and checkpoints before stopping. A second SIGINT raises
    KeyboardInterrupt at once (checkpoints are written atomically, so that is safe). Signal
    handlers can only be set from the main thread; elsewhere signals keep their handlers.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if caught and signum == signal.SIGINT:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
