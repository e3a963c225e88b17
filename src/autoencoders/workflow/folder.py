"""The run folder's life: claiming an output folder, the options saved for ``--resume``,
cleaning up after a fit that failed before it trained, and what a finished run holds.

A run folder holds::

    model.safetensors   weights (and min-max statistics), safetensors
    config.json         architecture, recipe, scaling, data set, seed, versions
    history.csv         per-epoch losses and seconds, rewritten after every epoch
    metrics.json        held-out reconstruction metrics and timings
    checkpoints/        step-*.safetensors: the newest training checkpoints (for resuming),
                        and command.json: the options of the command that started the run
    evaluation.json     written by evaluate_run: every method's metrics (and evaluation.md,
                        figures/evaluation_maps.png)
    cluster.json        written by cluster_run: the clustering's scores
    codes/              train.npy, test.npy (float32 latent codes) and *_labels.npy
    figures/            loss.png, reconstructions.png, latent_maps.png, interpolation.png;
                        denoising.png (denoising models), samples.png (variational)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from .._io import atomic_write, file_in_the_way
from ..persistence import CONFIG_FILE, MODEL_FILE
from ..training import CHECKPOINT_DIR, Checkpointer

__all__ = ["RunFolderConflict", "claim_out_dir", "save_command", "read_command",
           "remove_failed_start", "describe_outputs", "recorded_dataset", "METRICS_FILE",
           "COMMAND_FILE", "CLUSTER_FILE", "EVALUATION_FILES", "PROG"]

METRICS_FILE = "metrics.json"
#: The run's options, saved beside its checkpoints for ``fit --resume``.
COMMAND_FILE = "command.json"
CLUSTER_FILE = "cluster.json"
EVALUATION_FILES = ("evaluation.json", "evaluation.md", "figures/evaluation_maps.png")
#: The command the messages tell users to run.
PROG = "autoencoders"


class RunFolderConflict(ValueError):
    """The output folder holds a run that a new one would replace; the message says how to
    continue it or to start over (the CLI exits with 2)."""


def claim_out_dir(path, force: bool) -> None:
    """Make sure a new run may be written into folder ``path``, creating it.

    Raises
    ------
    RunFolderConflict
        When it holds a trained model or an interrupted run (unless ``force``), or is a
        file.
    OSError
        When it cannot be created or written (checked now, not after an hour of training).
    """
    path = os.fspath(path)
    if os.path.exists(os.path.join(path, MODEL_FILE)) and not force:
        raise RunFolderConflict(f"{path} already holds a trained model; choose another --out, "
                                "or pass --force to replace it")
    if Checkpointer(os.path.join(path, CHECKPOINT_DIR)).paths() and not force:
        raise RunFolderConflict(f"{path} holds an interrupted run; continue it with "
                                f"'{PROG} fit --resume {path}', or pass --force to start over")
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunFolderConflict(f"--out {path} is a file; name a folder")
    blocker = file_in_the_way(os.path.join(path, "x"))
    if blocker is not None:
        raise NotADirectoryError(f"cannot write the run folder {path}: {blocker} is a file, "
                                 "not a folder; choose another --out")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise OSError(f"cannot write the run folder {path}: {exc.strerror or exc}; choose "
                      "another --out") from None


def save_command(run_dir, options: dict) -> None:
    """Record the run's options (JSON) in ``RUN_DIR/checkpoints/command.json``."""
    atomic_write(os.path.join(run_dir, CHECKPOINT_DIR, COMMAND_FILE),
                 json.dumps(options, indent=2) + "\n")


def read_command(run_dir) -> dict:
    """The options the run in ``run_dir`` was started with (:func:`save_command`).

    Raises
    ------
    FileNotFoundError
        When the folder holds no saved options.
    ValueError
        When the file is damaged.
    """
    file = os.path.join(run_dir, CHECKPOINT_DIR, COMMAND_FILE)
    try:
        with open(file, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: missing; {run_dir} is not a run folder started "
                                f"by '{PROG} fit' (or it finished before checkpoints existed)"
                                ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file}: not valid JSON ({exc}); the run folder is damaged") from None


def remove_failed_start(out, existed: bool) -> None:
    """After a fit that failed before its first checkpoint, take away what it made (the
    saved options, empty folders), so that the folder is not taken for an interrupted run."""
    folder = os.path.join(out, CHECKPOINT_DIR)
    if Checkpointer(folder).paths():
        return  # a run that trained: keep it resumable
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(folder, COMMAND_FILE))
    with contextlib.suppress(OSError):  # not empty, or not there: leave it
        os.rmdir(folder)
    if not existed and os.path.isdir(out) and not os.listdir(out):
        os.rmdir(out)


def describe_outputs(out_dir) -> list[str]:
    """Lines naming what a run folder holds, for the CLI to print."""
    out = Path(out_dir)
    return [f"model:    {out / MODEL_FILE}  ({out / CONFIG_FILE})",
            f"metrics:  {out / METRICS_FILE}",
            f"features: {out / 'codes' / 'train.npy'}, {out / 'codes' / 'test.npy'}",
            f"figures:  {out / 'figures'}/ "
            f"({', '.join(p.name for p in sorted((out / 'figures').glob('*.png')))})"]


def recorded_dataset(run_dir) -> str | None:
    """The named data set the run in ``run_dir`` was trained on, or None."""
    try:
        with open(os.path.join(run_dir, CONFIG_FILE), encoding="utf-8") as f:
            return json.load(f).get("extra", {}).get("data", {}).get("dataset")
    except (OSError, ValueError, AttributeError):
        return None
