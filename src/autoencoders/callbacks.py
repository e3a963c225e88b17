"""Event hooks of the training loop: progress bar and the live ``history.csv``.

The library never configures logging; these write to the terminal (tqdm, on stderr) or to a
file only when the caller asks for them.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._io import atomic_write

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Callback", "ProgressBar", "CSVLogger", "HISTORY_FIELDS", "best_epoch"]

#: Columns of ``history_`` and ``history.csv``: epoch number (1-based), mean training loss
#: per pixel over the epoch's batches, validation loss per pixel (empty without validation
#: data), learning rate at the epoch's end, training seconds of the epoch (validation excluded).
HISTORY_FIELDS = ("epoch", "train_loss", "val_loss", "learning_rate", "seconds")


def best_epoch(history: dict[str, list[Any]], early_stopping: bool) -> int:
    """The epoch (1-based) whose weights a model holds after training with ``history``
    (columns ``HISTORY_FIELDS``): with early stopping and validation losses, the epoch of
    the lowest (restored however training ended); else the last (0 for none)."""
    epochs, val = history.get("epoch", []), history.get("val_loss", [])
    if early_stopping and epochs and val and None not in val:
        return int(epochs[min(range(len(val)), key=val.__getitem__)])
    return len(epochs)


class Callback:
    """Base class: override any of the hooks; each is called by ``training.train``.

    Attributes
    ----------
    estimator : AutoEncoder or None
        The estimator being fitted (set by ``AutoEncoder.fit``).
    model : torch.nn.Module or None
        The module being trained (set before ``on_train_begin``).
    stop_training : bool
        Set it to True in a hook (as Keras' ``model.stop_training``): training ends after
        the current epoch, which is kept, as early stopping ends it.
    """

    estimator: Any = None  # an AutoEncoder: the estimator's layer is above this one
    model: nn.Module | None = None
    stop_training = False

    def bind(self, estimator: Any) -> Callback:
        """Set :attr:`estimator`; returns this callback."""
        self.estimator = estimator
        return self

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        """Before the first epoch: ``n_epochs`` planned, ``n_batches`` steps per epoch."""

    def on_resume(self, history: list[dict[str, Any]], epoch: int, batch: int) -> None:
        """After ``on_train_begin`` when a run continues from a checkpoint: the rows of the
        epochs already done, and the epoch (1-based) and batch (0-based) it resumes at."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Before epoch ``epoch`` (1-based)."""

    def on_batch_end(self, batch: int, loss: float | None) -> None:
        """After each step; ``loss`` is the running mean of the epoch, or None between updates."""

    def on_epoch_end(self, log: dict[str, Any]) -> None:
        """After each epoch, with its ``HISTORY_FIELDS`` row."""

    def on_train_end(self, history: list[dict[str, Any]]) -> None:
        """After the last epoch (or early stop), with every row."""

    def on_train_error(self, error: BaseException) -> None:
        """When training ends with an exception (divergence, an interrupt, a full disk);
        the exception is raised again once every callback has seen it."""

    def on_run_saved(self, run_dir: Path) -> None:
        """After the run workflow (``autoencoders.workflow.train_run``, ``autoencoders
        fit``) has written the whole run folder ``run_dir``; ``AutoEncoder.fit`` alone
        writes no folder and never calls it."""


class ProgressBar(Callback):
    """One tqdm bar per epoch with the running training loss, then a summary line (of the
    first and last epochs and every ⌈epochs / 50⌉-th).

    The bar is drawn when ``file`` is a terminal, or Jupyter's output stream (tqdm.auto
    then draws a notebook widget); the summary line always.

    Parameters
    ----------
    file : file object, optional
        Where to draw; standard error by default, so standard output stays for results.
    """

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file if file is not None else sys.stderr
        # Bars redraw with carriage returns: only on a terminal or in Jupyter (whose
        # stderr is an ipykernel stream, not a terminal); logs get the epoch lines.
        self._draw = (bool(getattr(self.file, "isatty", lambda: False)())
                      or type(self.file).__module__.startswith("ipykernel"))
        self._bar: Any = None  # a tqdm bar during an epoch
        self._resume_at = (0, 0)

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        self._n_epochs, self._n_batches = n_epochs, n_batches

    def on_resume(self, history: list[dict[str, Any]], epoch: int, batch: int) -> None:
        self._resume_at = (epoch, batch)
        print(f"resuming at epoch {epoch}/{self._n_epochs}, batch {batch}/{self._n_batches}"
              if epoch <= self._n_epochs else  # the checkpoint of the last epoch's end
              f"training had finished ({self._n_epochs}/{self._n_epochs} epochs): nothing "
              "left to train", file=self.file)

    def on_epoch_begin(self, epoch: int) -> None:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]

        initial = self._resume_at[1] if epoch == self._resume_at[0] else 0
        self._bar = tqdm(total=self._n_batches, initial=initial,
                         desc=f"epoch {epoch}/{self._n_epochs}", unit="batch", leave=False,
                         file=self.file, mininterval=0.5, disable=not self._draw)

    def on_batch_end(self, batch: int, loss: float | None) -> None:
        self._bar.update(1)
        if loss is not None:
            self._bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)

    def on_epoch_end(self, log: dict[str, Any]) -> None:
        self._bar.close()
        # At most about 50 lines: the 500 epochs of a small table printed 500 (a new user).
        every = math.ceil(self._n_epochs / 50)
        if log["epoch"] % every and log["epoch"] not in (1, self._n_epochs):
            return
        val = f"  val_loss {log['val_loss']:.4f}" if log["val_loss"] is not None else ""
        self._bar.write(f"epoch {log['epoch']}/{self._n_epochs}  loss {log['train_loss']:.4f}"
                        f"{val}  {log['seconds']:.1f} s", file=self.file)


class CSVLogger(Callback):
    """Rewrite ``path`` (``history.csv``) atomically after every epoch, so a killed run keeps it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._rows: list[dict[str, Any]] = []

    def on_resume(self, history: list[dict[str, Any]], epoch: int, batch: int) -> None:
        self._rows = list(history)

    def on_epoch_end(self, log: dict[str, Any]) -> None:
        self._rows.append(log)
        atomic_write(self.path, history_to_csv(self._rows))


def history_to_csv(rows: list[dict[str, Any]]) -> str:
    """Format history rows as CSV text with a ``HISTORY_FIELDS`` header."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in HISTORY_FIELDS})
    return out.getvalue()
