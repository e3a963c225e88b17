"""Training checkpoints: what one holds (:class:`RunState`, packed into tensors and JSON),
and the files on disk (one safetensors file per checkpoint, the last K kept).

A checkpoint is everything ``training.train`` needs to continue a run exactly where it
stopped: the model's weights, the optimiser's moments, the best weights so far (early
stopping), the random-number-generator states, the epoch and step, and the history. Tensors
go into the safetensors body; the rest is JSON in the safetensors header's metadata, so that
reading a checkpoint never unpickles anything. A checkpoint also records the facts of its
run (architecture, recipe, a fingerprint of the data): a run with other facts refuses it.

Files are named ``step-<global step, 10 digits>.safetensors`` and written atomically
(temporary file, fsync, rename): a run killed at any moment, even while saving, leaves every
earlier checkpoint whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
import uuid
import warnings
from dataclasses import MISSING, asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._io import atomic_write
from ..config import ArchitectureConfig, TrainingConfig, is_real_number, is_whole_number
from ..datasets.source import Source

if TYPE_CHECKING:
    import torch

__all__ = ["Checkpointer", "CheckpointError", "fit_checkpointer", "read_checkpoint",
           "is_checkpoint", "CHECKPOINT_FORMAT_VERSION", "CHECKPOINT_DIR", "Position",
           "RunState", "pack", "unpack", "check_facts", "data_fingerprint"]

CHECKPOINT_FORMAT_VERSION = 1
#: The sub-folder of a run folder that holds its checkpoints.
CHECKPOINT_DIR = "checkpoints"
#: Records which run owns the folder, so that a fit never deletes another run's checkpoints.
OWNER_FILE = "owner.json"
_NAME = re.compile(r"^step-(\d{10})\.safetensors$")
_TEMPORARY = re.compile(r"^\.step-(\d{10})\.safetensors\..+")  # left by a save cut short


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is named as a checkpoint in a run's checkpoint folder
    (``RUN/checkpoints/step-NNNNNNNNNN.safetensors``)."""
    return bool(_NAME.match(path.name)) and path.parent.name == CHECKPOINT_DIR


def fit_checkpointer(folder: str | os.PathLike[str], every_minutes: float | None, keep: int,
                     owner: str | None, resume: bool) -> tuple[Checkpointer, str]:
    """The checkpointer of a fit into ``folder`` and its owner token: when resuming, the
    token the folder records (the run it continues); else ``owner``, or a new one. The
    token is no estimator parameter: a clone or a loaded copy gets a new one, and so never
    deletes another's checkpoints.

    Returns
    -------
    (Checkpointer, str)

    Raises
    ------
    ValueError
        As :class:`Checkpointer`.
    """
    token = (resume and Checkpointer(folder).recorded_owner()) or owner or uuid.uuid4().hex
    return Checkpointer(folder, every_minutes, keep, owner=token), token


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, or written for another run."""


class Checkpointer:
    """Writes, prunes and finds the checkpoints of one run in ``folder``.

    Parameters
    ----------
    folder : str or Path
        Created on the first save.
    every_minutes : float, optional
        Also save in the middle of an epoch once this many minutes (wall time) have passed
        since the last save. Checkpoints are always written at the end of each epoch.
    keep : int, default 3
        How many of the newest checkpoints to keep; older ones are deleted after each save.
    owner : str, optional
        Who runs the training (``AutoEncoder`` passes a token of its own): a fresh run may
        only delete checkpoints of the same owner (:meth:`start`).

    Raises
    ------
    ValueError
        For ``keep`` other than a whole number ≥ 1, ``every_minutes`` other than a
        positive finite number or None (bools included), a ``folder`` that is a file.
    """

    def __init__(self, folder: str | os.PathLike[str], every_minutes: float | None = None,
                 keep: int = 3, owner: str | None = None) -> None:
        # Types first: True would keep one checkpoint, "2" would fail deep in a comparison.
        if not is_whole_number(keep) or keep < 1:
            raise ValueError("keep (AutoEncoder's keep_checkpoints) must be a positive "
                             f"integer, got {keep!r}")
        if every_minutes is not None and not (is_real_number(every_minutes)
                                              and 0 < every_minutes < math.inf):
            raise ValueError("every_minutes (AutoEncoder's checkpoint_every) must be a "
                             f"positive number of minutes or None, got {every_minutes!r}")
        # Resolved now: a relative folder must not move with a later change of directory.
        self.folder = Path(folder).absolute()
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"checkpoint_dir {folder} is a file; name a folder (created when "
                             "missing)")
        self.owner = owner
        self.every_seconds = None if every_minutes is None else 60.0 * every_minutes
        self.keep = int(keep)
        self._last_save = time.monotonic()

    def paths(self) -> list[Path]:
        """Checkpoint files in ``folder``, oldest first (by global step)."""
        if not self.folder.is_dir():
            return []
        return sorted((p for p in self.folder.iterdir() if _NAME.match(p.name)),
                      key=lambda p: p.name)

    def due(self) -> bool:
        """Whether ``every_minutes`` have passed since the last save (False without it)."""
        return (self.every_seconds is not None
                and time.monotonic() - self._last_save >= self.every_seconds)

    def save(self, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
        """Write a checkpoint atomically and delete all but the newest ``keep``.

        Parameters
        ----------
        step : int
            Global step (optimiser steps taken); orders the checkpoints.
        tensors : dict of str to Tensor
            Moved to CPU and made contiguous before writing.
        meta : dict
            JSON-serialisable.

        Returns
        -------
        Path
            The new file.

        Raises
        ------
        OSError
            When the folder cannot be written (earlier checkpoints stay intact).
        """
        from safetensors.torch import save

        path = self.folder / f"step-{step:010d}.safetensors"
        cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        header = {"format_version": str(CHECKPOINT_FORMAT_VERSION), "meta": json.dumps(meta)}
        # Serialised here and written by us: a full disk is then an OSError naming the file
        # (safetensors' own writer raised SafetensorError) and the file gets the usual
        # permissions (it made 0600 files).
        atomic_write(path, save(cpu, metadata=header))
        for old in self.paths()[:-self.keep]:
            old.unlink(missing_ok=True)
        self._last_save = time.monotonic()
        return path

    def clear(self) -> None:
        """Delete this folder's checkpoint files and owner record (and nothing else)."""
        for path in self.paths():
            path.unlink(missing_ok=True)
        (self.folder / OWNER_FILE).unlink(missing_ok=True)
        self._remove_temporaries()

    def recorded_owner(self) -> str | None:
        """The owner recorded in the folder, or None."""
        try:
            text = (self.folder / OWNER_FILE).read_text(encoding="utf-8")
            return cast("str | None", json.loads(text)["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def start(self) -> None:
        """Make the folder this run's: delete the checkpoints of an earlier run of the same
        owner, record the owner.

        Raises
        ------
        CheckpointError
            When the folder holds checkpoints of another run (another estimator, a clone, a
            loaded model), or its record of them (``owner.json``: the files may be gone,
            not the run), or safetensors files that are not checkpoints (a model's, a run
            folder's root): they are never deleted or mixed in without being named.
        """
        recorded, steps = self.recorded_owner(), self.paths()
        if self.owner is not None and recorded != self.owner and (steps or recorded):
            raise CheckpointError(
                f"{self.folder} holds the checkpoints of another run"
                + ("" if steps else f" (its {OWNER_FILE}; the checkpoint files are gone)")
                + "; resume it (fit(..., resume=True), or autoencoders fit --resume), choose "
                "another checkpoint_dir, or delete them: a fit never deletes another run's "
                "checkpoints")
        models = sorted(p.name for p in self.folder.glob("*") if not _NAME.match(p.name)
                        and p.suffix.lower() == ".safetensors")
        if models:
            raise CheckpointError(
                f"checkpoint_dir {self.folder} holds {', '.join(models[:3])}, which "
                f"{'is not a checkpoint' if len(models) == 1 else 'are not checkpoints'} (a model "
                "or run folder); "
                f"checkpoints go in a folder of their own, such as {self.folder / CHECKPOINT_DIR}")
        self.clear()
        if self.owner is not None:
            atomic_write(self.folder / OWNER_FILE, json.dumps({"owner": self.owner}) + "\n")

    def _remove_temporaries(self) -> None:
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if _TEMPORARY.match(path.name):
                    path.unlink(missing_ok=True)

    def load_latest(self) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
        """The newest readable checkpoint: ``(tensors, meta, path)``, tensors on CPU.

        A newest file that cannot be read (a disk error, a copy cut short) is skipped with a
        ``UserWarning`` naming it, and the one before it is used.

        Raises
        ------
        FileNotFoundError
            When ``folder`` holds no readable checkpoint.
        """
        self._remove_temporaries()
        paths = self.paths()
        for path in reversed(paths):
            try:
                return (*read_checkpoint(path), path)
            except CheckpointError as exc:
                warnings.warn(f"skipping checkpoint {exc}", stacklevel=2)
        what = "no readable checkpoint" if paths else "no checkpoint"
        raise FileNotFoundError(f"{self.folder}: {what} to resume from; start the run again "
                                "without resuming")


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of one checkpoint file, tensors on CPU.

    Raises
    ------
    CheckpointError
        When the file is truncated, corrupt, or of an unknown format version.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        tensors = load_file(str(path), device="cpu")
        meta = json.loads(header["meta"])
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc}); it is truncated or corrupt") from None
    version = header.get("format_version")
    if version != str(CHECKPOINT_FORMAT_VERSION):
        raise CheckpointError(f"{path}: checkpoint format_version {version!r} is not supported "
                              f"(this version reads {CHECKPOINT_FORMAT_VERSION})")
    return tensors, meta


# ------------------------------------------------------------------ what a checkpoint holds
@dataclass
class Position:
    """Where a run stands: what a checkpoint holds besides tensors."""

    epoch: int = 1  # the epoch in progress (1-based)
    batch: int = 0  # its next batch
    epoch_seconds: float = 0.0  # training seconds already spent in that epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    best_val: float | None = None  # early stopping: best validation loss so far
    stale: int = 0  # early stopping: epochs without a large enough improvement
    finished: bool = False  # early stopping ended the run


@dataclass
class RunState:
    """The state of a training run, as a checkpoint stores it.

    Attributes
    ----------
    model : dict of str to Tensor
        The model's ``state_dict``.
    optimizer : dict
        The optimiser's ``state_dict`` (``state`` and ``param_groups``).
    rng : dict of str to Tensor
        Generator states by name (``epoch``: the state that draws the epoch's batch order;
        ``torch``, ``noise``, ``cuda``).
    total : Tensor
        The epoch's summed loss so far (scalar).
    position : Position
    best : dict of str to Tensor, optional
        The best weights so far (early stopping).
    """

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, torch.Tensor]
    total: torch.Tensor
    position: Position
    best: dict[str, torch.Tensor] | None = None


def pack(state: RunState, facts: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of a run state, for :meth:`Checkpointer.save`; ``facts`` (JSON)
    are what a resumed run must match."""
    tensors = {f"model.{k}": v for k, v in state.model.items()}
    for k, v in (state.best or {}).items():
        tensors[f"best.{k}"] = v
    scalars: dict[str, Any] = {}
    for i, per_param in state.optimizer["state"].items():
        for k, v in per_param.items():
            if hasattr(v, "detach"):
                tensors[f"optimizer.{i}.{k}"] = v
            else:
                scalars[f"{i}.{k}"] = v
    for name, v in state.rng.items():
        tensors[f"rng.{name}"] = v
    tensors["loop.total"] = state.total
    meta = {**facts, "position": asdict(state.position),
            "optimizer": {"param_groups": state.optimizer["param_groups"], "scalars": scalars}}
    return tensors, meta


def unpack(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> RunState:
    """The run state of a checkpoint read by :func:`read_checkpoint` (tensors on CPU)."""

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    per_param: dict[int, dict[str, Any]] = {}
    for k, v in part("optimizer.").items():
        i, name = k.split(".", 1)
        per_param.setdefault(int(i), {})[name] = v
    for k, v in meta["optimizer"]["scalars"].items():
        i, name = k.split(".", 1)
        per_param.setdefault(int(i), {})[name] = v
    return RunState(model=part("model."),
                    optimizer={"state": per_param,
                               "param_groups": meta["optimizer"]["param_groups"]},
                    rng=part("rng."), total=tensors["loop.total"],
                    position=Position(**meta["position"]), best=part("best.") or None)


def check_facts(meta: dict[str, Any], facts: dict[str, Any], path: str | os.PathLike[str],
                streamed: bool = False) -> None:
    """Raise :class:`CheckpointError` unless the checkpoint's facts are ``facts``.

    A field added to ``ArchitectureConfig`` or ``TrainingConfig`` since the checkpoint was
    written counts at its default (a checkpoint from before ``precision`` existed trained
    in float32), so that an upgrade does not strand an interrupted run."""
    configs: dict[str, type[Any]] = {"architecture": ArchitectureConfig,
                                     "recipe": TrainingConfig}
    for key in ("architecture", "recipe", "data"):
        recorded = meta.get(key)
        if key in configs and isinstance(recorded, dict):
            defaults = {f.name: f.default for f in dataclass_fields(configs[key])
                        if f.default is not MISSING}
            recorded = json.loads(json.dumps({**defaults, **recorded}))
        if recorded != facts[key]:
            what = {"data": "other training or validation data"}.get(key, f"another {key}")
            now = facts[key]
            if isinstance(recorded, dict) and isinstance(now, dict):  # name what differs
                what += " (" + "; ".join(
                    f"{k}: {recorded.get(k)!r} in the checkpoint, {now.get(k)!r} now"
                    for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)
                ) + ")"
            if key == "data" and streamed:
                what += (" (streamed files are known by their paths, sizes and modification "
                         "times: a copy made with cp -p or rsync -t keeps them)")
            raise CheckpointError(f"{path}: written for {what}; resume with the same settings "
                                  "and data as the interrupted run, or start afresh without "
                                  "resuming")


def data_fingerprint(*arrays: torch.Tensor | np.ndarray | Source | None) -> str:
    """A 128-bit BLAKE2b hash (hex) of arrays' shapes, dtypes and bytes; None hashes too,
    and a :class:`Source` by its own fingerprint (files, sizes, times: no pass over it).

    Parameters
    ----------
    *arrays : Tensor, ndarray, Source or None
        Any shapes and dtypes; an ndarray of Python objects (a table's string labels)
        hashes as text.
    """
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        if isinstance(a, Source):
            h.update(a.fingerprint().encode())
            continue
        # numpy declares ndarray.__buffer__ for Python >= 3.12 only: the two ignores below.
        if isinstance(a, np.ndarray):
            a = a.astype(str) if a.dtype == object else a
            h.update(f"{a.shape}{a.dtype}".encode())
            h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))  # type: ignore[arg-type]
            continue
        t = a.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        h.update(memoryview(t.numpy()).cast("B"))  # type: ignore[arg-type]
    return h.hexdigest()
