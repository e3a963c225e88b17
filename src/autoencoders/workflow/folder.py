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
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .._io import atomic_write, process_alive
from ..loggers import MLFLOW_RUN_FILE, TENSORBOARD_DIR
from ..persistence import (
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    is_model_config,
    saved_config,
)
from ..report import REPORT_FILE
from ..training import CHECKPOINT_DIR, Checkpointer
from .lock import LOCK_FILE, RunFolderConflict, refuse_a_file

__all__ = ["claim_out_dir", "discard_replaced", "hidden_replaced_runs", "remove_run_files",
           "save_command", "read_command", "remove_failed_start", "describe_outputs",
           "recorded_dataset", "recorded_data", "METRICS_FILE", "COMMAND_FILE", "OPTIONS_FILE",
           "CLUSTER_FILE",
           "EVALUATION_FILES", "RUN_ENTRIES", "MAP_TABLE", "PROG"]

#: The map coordinates of every row of a run's data, with ids and labels (runs with a map).
MAP_TABLE = "map.csv"
#: The run's options, saved beside its checkpoints for ``fit --resume``.
COMMAND_FILE = "command.json"
#: The same options as TOML in the run folder, for ``fit --config`` (keys: the flags' names).
OPTIONS_FILE = "options.toml"
CLUSTER_FILE = "cluster.json"
EVALUATION_FILES = ("evaluation.json", "evaluation.md", "figures/evaluation_maps.png")
#: The command the messages tell users to run.
PROG = "autoencoders"


#: A folder's path, as the functions below take it.
_PathLike = str | os.PathLike[str]


#: What a run folder may hold: everything that ``fit``, ``evaluate`` and ``cluster`` write.
RUN_ENTRIES = ("model.safetensors", "config.json", "history.csv", METRICS_FILE, "codes",
               "figures", CHECKPOINT_DIR, "evaluation.json", "evaluation.md", CLUSTER_FILE,
               MAP_TABLE, REPORT_FILE, OPTIONS_FILE, TENSORBOARD_DIR, MLFLOW_RUN_FILE)
def _foreign_entries(folder: Path) -> list[str]:
    """What ``folder`` holds besides a run's own files (and our temporaries): with no run
    there (no model, no fit started), anything named as a run's but an empty folder is a
    user's (a failed start would have deleted it, a run written over it)."""
    run = (folder / MODEL_FILE).exists() or _started(folder)
    foreign = [p.name for p in folder.iterdir()
               if (p.name not in RUN_ENTRIES or not run and not (p.is_dir() and not p.is_symlink()
                                                                 and not any(p.iterdir())))
               and p.name != LOCK_FILE and not (p.name.startswith(".") and ".tmp-" in p.name)]
    config = folder / CONFIG_FILE
    if config.is_file() and not _is_our_config(config) and CONFIG_FILE not in foreign:
        foreign.append(CONFIG_FILE)
    return sorted(foreign)


def _started(folder: Path) -> bool:
    """Whether a fit started in ``folder``: checkpoints, the record of who writes them, or
    the options ``fit`` saves before it trains."""
    if not (folder / CHECKPOINT_DIR).is_dir():
        return False
    checkpoints = Checkpointer(folder / CHECKPOINT_DIR)
    return bool(checkpoints.paths() or checkpoints.recorded_owner()
                or (folder / CHECKPOINT_DIR / COMMAND_FILE).is_file())


def _is_our_config(path: Path) -> bool:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return is_model_config(config)


def is_run_folder(path: _PathLike) -> bool:
    """Whether ``path`` is a run or model folder of ours (a ``config.json`` we wrote, or,
    that damaged, the configuration in its ``model.safetensors``)."""
    return is_model_config(saved_config(path))


def claim_out_dir(path: _PathLike, force: bool, inputs: tuple[str | None, ...] = ()
                  ) -> Path | None:
    """Make sure a new run may be written into folder ``path``, creating it.

    A folder that holds anything but a run's own files is never written into (a user's
    ``config.json`` would be replaced); one that holds a run only with ``force``, which sets
    that run's files aside (renamed into a hidden folder of ``path``), so that the new run's
    are not mixed with them and a new run that fails before it trains gets them back
    (:func:`remove_failed_start`); :func:`discard_replaced` deletes them once it has trained.

    Parameters
    ----------
    path : str or PathLike
    force : bool
    inputs : tuple of str or None
        The new run's input paths (or globs): one inside the run that ``force`` would
        replace is refused, as the new run could not read it.

    Returns
    -------
    Path or None
        The folder holding the replaced run's files, or None when nothing was replaced.

    Raises
    ------
    RunFolderConflict
        When the folder holds files that are not a run's, or a trained model or an
        interrupted run (unless ``force``), or is a file, or holds an input of the new run.
    OSError
        When it cannot be created or written (checked now, not after an hour of training).
    """
    folder, aside = Path(path), None
    refuse_a_file(folder)
    if folder.is_dir():
        foreign = _foreign_entries(folder)
        if foreign:
            raise RunFolderConflict(
                f"{path} holds files that are not a run's ({', '.join(foreign[:5])}"
                f"{', …' if len(foreign) > 5 else ''}); choose a new or empty folder for "
                "--out: nothing there is replaced, even with --force")
        if (folder / MODEL_FILE).exists() and not force:
            raise RunFolderConflict(f"{path} already holds a trained model; choose another "
                                    "--out, or pass --force to replace it")
        if Checkpointer(folder / CHECKPOINT_DIR).paths() and not force:
            raise RunFolderConflict(f"{path} holds an interrupted run; continue it with "
                                    f"'{PROG} fit --resume {path}', or pass --force to start "
                                    "over")
        if _started(folder) and not force:
            raise RunFolderConflict(f"{path} holds a fit that stopped before its first "
                                    "checkpoint (nothing to resume); pass --force to start "
                                    "over")
        hidden = hidden_replaced_runs(folder)  # a new run that trains would delete them
        if hidden and not force:
            raise RunFolderConflict(f"{path} holds the run that a killed `fit --force` was "
                                    f"replacing ({hidden[0].name}); to keep it, move its "
                                    "files out first, or pass --force to replace it")
        if force:
            inside = [i for i in inputs if i and i != "-"
                      and any(_inside(p, folder) for p in [i, *glob.glob(i)])]
            if inside:
                raise RunFolderConflict(f"--input {inside[0]} is inside {path}, whose run "
                                        "--force replaces; copy it out of the run folder "
                                        "first, or choose another --out")
            aside = _set_aside(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        if aside is not None:
            _restore(folder, aside)
        raise OSError(f"cannot write the run folder {path}: {exc.strerror or exc}; choose "
                      "another --out") from None
    return aside


def _inside(path: str, folder: Path) -> bool:
    """Whether ``path`` (a file, folder or glob; links followed) lies in ``folder``."""
    return os.path.realpath(path).startswith(os.path.join(os.path.realpath(folder), ""))


#: The hidden folder of a run folder that holds the run ``fit --force`` replaces until the
#: new one has trained (named like our temporaries, which a run folder may hold).
_ASIDE = ".tmp-replaced-"


def _set_aside(folder: Path) -> Path | None:
    """Move the run in ``folder`` (its ``RUN_ENTRIES``) into a new hidden folder of it (a
    rename: the same file system, nothing copied), all or nothing. None when there was
    nothing to move. What earlier processes, killed meanwhile, set aside stays until the
    new run has trained (:func:`discard_replaced`): a new run that fails before leaves
    the folder as it was.

    Raises
    ------
    OSError
        When an entry cannot be moved (a read-only or immutable one): those moved go back.
    """
    entries = [folder / n for n in RUN_ENTRIES if os.path.lexists(folder / n)]
    if not entries:
        return None
    # Unique: an earlier process of the same pid, killed, may have left its own.
    aside, moved = Path(tempfile.mkdtemp(prefix=f"{_ASIDE}{os.getpid()}-", dir=folder)), []
    try:
        for entry in entries:
            entry.rename(aside / entry.name)
            moved.append(entry)
    except OSError as exc:
        failed = entry.name
        for back in moved:
            (aside / back.name).rename(back)
        aside.rmdir()
        raise OSError(f"cannot set the run in {folder} aside to replace it ({failed}: "
                      f"{exc.strerror or exc}); nothing there was changed") from None
    return aside


def hidden_replaced_runs(folder: _PathLike) -> list[Path]:
    """The runs that ``fit --force`` processes, killed since (SIGKILL, a power cut), set
    aside in ``folder`` and did not give back: hidden folders that the next run there which
    trains, or stops resumable, deletes (:func:`discard_replaced`).

    Returns
    -------
    list of Path
        Sorted by name; empty for a folder without any, or for a file or missing path.
    """
    stale = []
    for old in sorted(Path(folder).glob(_ASIDE + "*")):
        if old.is_symlink() or not old.is_dir():  # not ours (we make folders): left alone
            continue
        with contextlib.suppress(ValueError):  # PID-XXXX (PID before stop 36)
            if not process_alive(int(old.name[len(_ASIDE):].split("-")[0])):
                stale.append(old)
    return stale


def _restore(folder: Path, aside: Path) -> None:
    for entry in aside.iterdir():
        entry.rename(folder / entry.name)
    aside.rmdir()


def discard_replaced(folder: _PathLike, aside: Path | None) -> None:
    """Delete the run that ``claim_out_dir(force=True)`` set aside (``aside``; None: none)
    once the new run in ``folder`` no longer fails back to it, and any that killed
    ``--force`` runs left there (a resumed or a new run has replaced them)."""
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    for old in hidden_replaced_runs(folder):  # each replaced by a run its process started
        shutil.rmtree(old, ignore_errors=True)


def remove_run_files(folder: _PathLike) -> None:
    """Delete a run's own files from ``folder`` (``RUN_ENTRIES``), nothing else."""
    for name in RUN_ENTRIES:
        entry = Path(folder) / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


def save_command(run_dir: _PathLike, options: dict[str, Any],
                 config: str | None = None) -> None:
    """Record the run's options (JSON) in ``RUN_DIR/checkpoints/command.json``, which
    ``--resume`` reads, and, when given, the same as TOML in ``RUN_DIR/options.toml``, which
    ``fit --config`` reads (keys are the flags' names)."""
    atomic_write(os.path.join(run_dir, CHECKPOINT_DIR, COMMAND_FILE),
                 json.dumps(options, indent=2) + "\n")
    if config is not None:
        atomic_write(os.path.join(run_dir, OPTIONS_FILE), config)


def read_command(run_dir: _PathLike) -> dict[str, Any]:
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
            options = json.load(f)
        if not isinstance(options, dict):
            raise ValueError(f"expected an object, got {type(options).__name__}")
        return options
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: missing; {run_dir} is not a run folder started "
                                f"by '{PROG} fit' (or it finished before checkpoints existed)"
                                ) from None
    except (ValueError, RecursionError) as exc:  # JSON, UTF-8 or its shape
        raise ValueError(f"{file}: not the options of a run ({exc}); the run folder is "
                         "damaged") from None


def remove_failed_start(out: _PathLike, existed: bool, replaced: Path | None = None) -> None:
    """After a new run failed (not interrupted), take away everything it wrote, so that the
    folder is as before: empty, gone when the run created it, or holding the run it was to
    replace (``replaced``: set aside by :func:`claim_out_dir`)."""
    folder = Path(out)
    if not folder.is_dir():
        return
    remove_run_files(folder)
    if replaced is not None and replaced.is_dir():
        _restore(folder, replaced)
    if not existed and not any(p.name != LOCK_FILE for p in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)


def describe_outputs(out_dir: _PathLike) -> list[str]:
    """Lines naming what a run folder holds, for the CLI to print."""
    out = Path(out_dir)
    lines = [f"model:    {out / MODEL_FILE}  ({out / CONFIG_FILE})",
             f"metrics:  {out / METRICS_FILE}",
             f"features: {out / 'codes' / 'train.npy'}, {out / 'codes' / 'test.npy'}",
             f"figures:  {out / 'figures'}/ "
             f"({', '.join(p.name for p in sorted((out / 'figures').glob('*.png')))})"]
    if (out / MAP_TABLE).exists():
        lines.insert(3, f"map:      {out / MAP_TABLE} (every row), {out / 'codes'}/*_map.npy")
    if (out / TENSORBOARD_DIR).is_dir():
        lines.append(f"logs:     {out / TENSORBOARD_DIR}/ (tensorboard --logdir)")
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        mlflow = json.loads((out / MLFLOW_RUN_FILE).read_text())
        lines.append(f"mlflow:   run {mlflow['run_id']} in {mlflow['tracking_uri']}")
    if (out / REPORT_FILE).exists():
        lines.append(f"report:   {out / REPORT_FILE}")
    return lines


def recorded_data(run_dir: _PathLike) -> dict[str, Any]:
    """What the run in ``run_dir`` recorded of its data (config.json's ``extra.data``: the
    data set or input file, split, id and label columns, sizes); {} when unreadable."""
    extra = saved_config(run_dir).get("extra")
    data = extra.get("data") if isinstance(extra, dict) else None
    return data if isinstance(data, dict) else {}


def recorded_dataset(run_dir: _PathLike) -> str | None:
    """The named data set the run in ``run_dir`` was trained on, or None."""
    dataset: str | None = recorded_data(run_dir).get("dataset")
    return dataset
