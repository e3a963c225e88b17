"""The model folder: ``model.safetensors`` (weights), ``config.json`` (everything else) and
``history.csv``. Nothing is ever pickled or unpickled; everything loads on CPU first.

``model.safetensors`` also carries the configuration and history in its header, and is the
file that commits a save: it is written (temporary file, fsync, rename) before the two
readable copies beside it, and ``load_model`` reads the header. A crash or a full disk at
any point of a save leaves either the previous model or the new one, never a mixture.

``config.json`` holds ``format_version``, the estimator's parameters, the architecture, the
training recipe, the input scaling, the fitted feature shape (and column names), training
seconds, free-form ``extra`` entries (the CLI records the data set and seed there), and the
package versions of the environment that wrote it.

This module knows files, not estimators: :func:`save_model` writes a :class:`ModelRecord`
and :func:`load_model` returns one; ``AutoEncoder.save`` and ``AutoEncoder.load`` turn an
estimator into a record and back.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from ._io import atomic_write, writable_folder
from .callbacks import HISTORY_FIELDS, history_to_csv
from .config import (
    FORMAT_VERSION,
    MAP_FORMAT_VERSION,
    MINMAX_FORMAT_VERSION,
    ArchitectureConfig,
    TrainingConfig,
)
from .inputs import InputSpec
from .models import AutoEncoderModule, build_model
from .neighbours import MAP_FILE, NeighbourMap
from .neighbours.network import BEFORE_FIELDS
from .runtime import environment
from .training.checkpoints import CHECKPOINT_DIR, OWNER_FILE, Checkpointer

__all__ = ["ModelRecord", "save_model", "load_model", "saved_config", "is_model_config",
           "refuse_interrupted", "params_to_json", "params_from_json",
           "MODEL_FILE", "CONFIG_FILE", "HISTORY_FILE", "METRICS_FILE"]

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
#: What ``autoencoders fit`` writes beside the model: a folder holding it is a run's.
METRICS_FILE = "metrics.json"
_SCALING_PREFIX = "scaling."
_MAP_PREFIX = "map."
_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib")
#: A tensor's (shape, safetensors dtype) in a file's header.
_Shape = tuple[tuple[int, ...], str]


@dataclass
class ModelRecord:
    """Everything a model folder holds, as plain values.

    Attributes
    ----------
    params : dict
        The estimator's parameters, JSON-ready (tuples as lists).
    architecture : ArchitectureConfig
    recipe : TrainingConfig
    input_spec : InputSpec
        Feature shape, column names, scaling and its statistics.
    model : torch.nn.Module
        The autoencoder, on the CPU, in eval mode.
    history : dict of str to list
        ``callbacks.HISTORY_FIELDS`` per epoch.
    train_seconds : float
    extra : dict
        Free-form JSON facts (the CLI records the data set and seed).
    neighbour_map : NeighbourMap or None
        The model's fitted 2-D map, when it has one.
    """

    params: dict[str, Any]
    architecture: ArchitectureConfig
    recipe: TrainingConfig
    input_spec: InputSpec
    model: AutoEncoderModule
    history: dict[str, list[Any]]
    train_seconds: float = 0.0
    extra: dict[str, Any] | None = None
    neighbour_map: NeighbourMap | None = None


def params_to_json(params: dict[str, Any]) -> dict[str, Any]:
    """Estimator parameters as JSON values: tuples as lists, a ``RandomState`` object
    (which JSON cannot hold) as None, and no ``checkpoint_dir``: a model folder never binds
    a later fit to the folder its training checkpointed into (a relative path would also
    resolve against another directory then)."""
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    if "checkpoint_dir" in out:
        out["checkpoint_dir"] = None
    if not isinstance(out.get("random_state"), (int, np.integer, type(None))):
        out["random_state"] = None
    for k, v in out.items():  # a nested estimator (a NeighbourMap): its own parameters
        if isinstance(v, NeighbourMap):
            out[k] = {"NeighbourMap": params_to_json(v.get_params())}
    return out


def params_from_json(params: dict[str, Any], known: Iterable[str] | None = None) -> dict[str, Any]:
    """:func:`params_to_json` undone where it can be: lists become tuples again; a
    ``checkpoint_dir`` written by older versions is dropped.

    Raises
    ------
    ValueError
        For names outside ``known`` (the estimator's parameters), when given.
    """
    unknown = sorted(set(params) - set(known)) if known is not None else []
    if unknown:
        raise ValueError(f"unknown estimator parameters {unknown}; the file was written by a "
                         "newer version of autoencoders, or damaged")
    out = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    if "checkpoint_dir" in out:
        out["checkpoint_dir"] = None
    for k, v in out.items():
        if isinstance(v, dict) and set(v) == {"NeighbourMap"}:
            out[k] = NeighbourMap(**params_from_json({**BEFORE_FIELDS, **v["NeighbourMap"]},
                                                     NeighbourMap._get_param_names()))
    return out


def save_model(record: ModelRecord, path: str | os.PathLike[str], owner: str | None = None
               ) -> Path:
    """Write a model into folder ``path`` (created if missing).

    Each file is written to a temporary name, fsynced and renamed; ``model.safetensors``,
    which holds the configuration and history in its header too, goes first, so a crash or a
    full disk leaves the previous model loadable, or the new one.

    Parameters
    ----------
    record : ModelRecord
    path : str or Path
        The folder.
    owner : str, optional
        The fit that made the model (the owner its checkpoints record): a run folder
        (``checkpoints/owner.json``, or ``metrics.json``) is written over only by its own.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    OSError
        When the folder cannot be created or written; ``FileExistsError`` (nothing
        written) when it holds a config.json, history.csv or model.safetensors that is not a
        saved model's, or is another fit's run folder (its metrics, codes and report would
        describe a model it no longer holds) or a saved map's; ``IsADirectoryError`` when
        one of those names is a folder, ``NotADirectoryError`` when ``path`` or a parent
        is a file.
    ValueError
        For an empty ``path``.
    """
    import torch
    from safetensors.torch import save

    folder = writable_folder(path, "the model")
    _refuse_others_files(folder, owner)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in record.model.state_dict().items()}
    for name, value in record.input_spec.stats.items():
        tensors[_SCALING_PREFIX + name] = torch.from_numpy(  # "constant" (bool): as 0/1
            np.ascontiguousarray(value, dtype=np.float32))
    map_facts = None
    if record.neighbour_map is not None:
        map_tensors, map_facts = record.neighbour_map.state()
        tensors.update({_MAP_PREFIX + k: v for k, v in map_tensors.items()})
    version = (MINMAX_FORMAT_VERSION if "constant" in record.input_spec.stats else
               FORMAT_VERSION if map_facts is None else MAP_FORMAT_VERSION)
    spec = record.input_spec
    config = {
        "format_version": version,
        "estimator": "AutoEncoder",
        "params": record.params,
        "architecture": record.architecture.to_dict(),
        "recipe": record.recipe.to_dict(),
        "scaling": {"kind": spec.scaling},
        "feature_shape": list(spec.feature_shape),
        "feature_names_in": None if spec.feature_names is None else list(spec.feature_names),
        "train_seconds": record.train_seconds,
        "extra": record.extra or {},
        "environment": environment(),
    }
    if map_facts is not None:
        config["map"] = map_facts
    config_text = json.dumps(config, indent=2) + "\n"
    rows = [dict(zip(HISTORY_FIELDS, vals, strict=True))
            for vals in zip(*(record.history[k] for k in HISTORY_FIELDS), strict=True)]
    history_text = history_to_csv(rows)
    # Serialised here and written by us: a full disk is an OSError naming the file, not
    # safetensors' own SafetensorError, and the file gets the usual permissions.
    atomic_write(folder / MODEL_FILE, save(tensors, metadata={
        "format_version": str(version), "config": config_text, "history": history_text}))
    atomic_write(folder / CONFIG_FILE, config_text)
    atomic_write(folder / HISTORY_FILE, history_text)
    return folder


def _refuse_others_files(folder: Path, owner: str | None) -> None:
    """Raise before anything is written when saving into ``folder`` would replace files
    that are not a saved model's (a user's config.json or history.csv) or another fit's run,
    or could not be whole (a folder where a file goes)."""
    here, recorded = Checkpointer(folder), Checkpointer(folder / CHECKPOINT_DIR).recorded_owner()
    if here.paths() or here.recorded_owner():
        why = f"it is a checkpoint folder (step-*.safetensors, {OWNER_FILE})"
    elif recorded and recorded != owner:
        why = f"it holds the checkpoints of another fit ({CHECKPOINT_DIR}/{OWNER_FILE})"
    elif (folder / METRICS_FILE).exists() and (owner is None or recorded != owner):
        why = ("it is the run folder of another fit, whose metrics, codes and report "
               "describe the model there")
    elif os.path.lexists(folder / MAP_FILE):  # NeighbourMap.save refuses the reverse
        why = f"it holds {MAP_FILE}, a saved NeighbourMap's folder"
    else:
        why = ""
    if why:
        raise FileExistsError(f"cannot save the model into {folder}: {why}; nothing was "
                              "written: save into another folder")
    files = [folder / name for name in (MODEL_FILE, CONFIG_FILE, HISTORY_FILE)]
    for file in files:
        if file.is_dir():  # or a link to one
            raise IsADirectoryError(f"cannot save the model into {folder}: {file} is a folder; "
                                    "nothing was written: save into another folder")
    present = [f.name for f in files if os.path.lexists(f) and not _a_training_log(f)]
    try:  # a user's JSON; text that is no JSON may be ours, damaged (the model file says)
        own = is_model_config(json.loads((folder / CONFIG_FILE).read_bytes()))
    except (OSError, ValueError, RecursionError):
        own = bool(saved_config(folder))
    if present and not own:
        raise FileExistsError(
            f"cannot save the model into {folder}: it holds {', '.join(present)}, which "
            f"{'is' if len(present) == 1 else 'are'} not a saved model's (no config.json "
            "written by autoencoders); nothing was written: save into a new folder, or over "
            "a model saved before")


def _a_training_log(file: Path) -> bool:
    """A history.csv that a training wrote (``fit``'s live log, before the model is saved
    beside it); the other files are judged by the config.json beside them."""
    if file.name != HISTORY_FILE:
        return False
    try:
        with open(file, encoding="utf-8") as f:
            return f.readline().strip() == ",".join(HISTORY_FIELDS)
    except (OSError, UnicodeDecodeError):
        return False


def _parse_config(text: str | bytes, file: Path) -> dict[str, Any]:
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file}: not valid JSON ({exc}); the file is corrupt") from None
    except RecursionError:
        raise ValueError(f"{file}: not a configuration (JSON nested too deeply to read); the "
                         "file is corrupt or not one written by autoencoders") from None
    version = config.get("format_version") if isinstance(config, dict) else None
    if isinstance(version, bool) or version not in range(FORMAT_VERSION,
                                                         MINMAX_FORMAT_VERSION + 1):
        raise ValueError(f"{file}: format_version {version!r} is not supported by this version "
                         f"of autoencoders (it reads {FORMAT_VERSION} to "
                         f"{MINMAX_FORMAT_VERSION}); upgrade autoencoders or re-train the model")
    return cast("dict[str, Any]", config)


def _parse_history(text: str | None, file: Path) -> dict[str, list[Any]]:
    history: dict[str, list[Any]] = {k: [] for k in HISTORY_FIELDS}
    try:
        for row in csv.DictReader(io.StringIO(text or "")):
            history["epoch"].append(int(row["epoch"]))
            for k in HISTORY_FIELDS[1:]:
                history[k].append(float(row[k]) if row.get(k) else None)
    except (KeyError, TypeError, ValueError, csv.Error) as exc:
        raise ValueError(f"{file}: its training history is damaged ({exc})") from None
    return history


def _header(weights: Path) -> tuple[dict[str, str], dict[str, _Shape]]:
    """(metadata, {name: (shape, dtype)}) of a safetensors file, without reading tensors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as f:
            shapes = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype())
                      for k in f.keys()}
            return f.metadata() or {}, shapes
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{weights}: not a readable safetensors file ({exc}); it is truncated "
                         "or corrupt") from None


def is_model_config(config: object) -> bool:
    """Whether ``config`` (parsed JSON of any type) is a model's configuration, as
    :func:`save_model` writes it into config.json: a dict with ``format_version`` and
    ``architecture``. Raises nothing."""
    return isinstance(config, dict) and "format_version" in config and "architecture" in config


def saved_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The configuration a model folder records (config.json's content): from its
    ``config.json``, or, when that is missing, damaged or not a model's
    (:func:`is_model_config`), from the copy in ``model.safetensors``'s header; {} when
    neither holds one.

    Parameters
    ----------
    path : str or Path
        A model or run folder.

    Returns
    -------
    dict
    """
    folder = Path(path)
    for read in (lambda: (folder / CONFIG_FILE).read_bytes(),
                 lambda: _header(folder / MODEL_FILE)[0]["config"]):
        try:
            config = json.loads(read())
        except (OSError, ValueError, KeyError, RecursionError):
            continue
        if is_model_config(config):
            return cast("dict[str, Any]", config)
    return {}


def _check_tensors(weights: Path, arch: ArchitectureConfig, shapes: dict[str, _Shape]) -> None:
    """The file's tensors against the configuration, before anything is allocated: the
    model is built on PyTorch's meta device, which holds shapes and no memory (a 3 KB
    configuration claiming 10^9-unit layers allocated gigabytes when built for real)."""
    import torch

    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in build_model(arch).state_dict().items()}
    weights_only = {k: v for k, v in shapes.items()
                    if not k.startswith((_SCALING_PREFIX, _MAP_PREFIX))}
    problems = sorted(set(expected) ^ set(weights_only))
    problems += [f"{k}: {weights_only[k][0]} != {v}" for k, v in expected.items()
                 if k in weights_only and weights_only[k][0] != v]
    problems += [f"{k} is {dtype}, not F32" for k, (_, dtype) in shapes.items()
                 if dtype != "F32"]
    if problems:
        raise ValueError(f"{weights}: its tensors do not match the model's configuration "
                         f"({'; '.join(problems[:5])}); the files belong to different models")


def refuse_interrupted(folder: str | os.PathLike[str]) -> None:
    """Raise when ``folder`` holds a run that has not finished: a training checkpoint (a
    non-empty ``checkpoints/step-*.safetensors`` file) and no ``model.safetensors``. Every
    reader of a run calls it first (:func:`load_model`; ``Run`` and the command line through
    ``workflow.folder.refuse_unfinished``, which also sees a fit still writing it), so that
    all say how to finish it.

    Raises
    ------
    FileNotFoundError
        Naming ``fit --resume`` (and ``fit(X, resume=True)`` in Python).
    """
    folder = Path(folder)
    checkpoints = Checkpointer(folder / CHECKPOINT_DIR).paths()
    if os.path.lexists(folder / MODEL_FILE) or not any(
            p.is_file() and p.stat().st_size for p in checkpoints):
        return
    raise FileNotFoundError(
        f"{folder} holds a run that has not finished: its model is written when training "
        f"ends; unless a fit is writing it now, finish it with 'autoencoders fit --resume "
        f"{shlex.quote(str(folder))}' (in Python: fit(X, resume=True) with "
        f"checkpoint_dir='{folder / CHECKPOINT_DIR}')")


def load_model(path: str | os.PathLike[str]) -> ModelRecord:
    """Read a model or run folder, on the CPU.

    Parameters
    ----------
    path : str or Path
        A folder holding ``model.safetensors`` (whose header holds the configuration and
        history; for files from before that, ``config.json`` and ``history.csv`` beside it).

    Returns
    -------
    ModelRecord

    Raises
    ------
    FileNotFoundError
        When the folder or ``model.safetensors`` is missing (or ``config.json``, for a file
        whose header lacks the configuration); for a run folder whose training was
        interrupted (checkpoints, no model yet), the message says how to finish it.
    ValueError
        For a pickle file (``.pt``, ``.pkl``, ...), which is never loaded; a model file that
        is not a regular file; a corrupt or truncated file; an unknown ``format_version``; a
        configuration with unknown fields or fields of the wrong type; tensors whose names,
        shapes or dtypes do not match the configuration (checked before anything is
        allocated); weights that hold NaN or infinite values.
    """
    import torch
    from safetensors.torch import load_file

    folder = Path(path)
    if folder.is_file():
        if folder.suffix.lower() in _PICKLE_SUFFIXES:
            raise ValueError(f"{folder}: refusing to load a pickle-based file: unpickling runs "
                             "arbitrary code from the file. autoencoders loads only a folder "
                             "with model.safetensors")
        from .training.checkpoints import is_checkpoint

        if is_checkpoint(folder):  # the path the interruption message printed
            raise ValueError(f"{folder} is a training checkpoint, which only 'autoencoders fit "
                             f"--resume' reads; pass the run folder {folder.parent.parent}")
        raise ValueError(f"{folder} is a file; pass the model folder that holds it")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such model folder")
    weights = folder / MODEL_FILE
    if weights.exists() and not weights.is_file():
        raise ValueError(f"{weights}: not a regular file (a pipe, a device or a link to one); "
                         "a model folder holds model.safetensors as a file")
    if not weights.is_file():
        refuse_interrupted(folder)
        raise FileNotFoundError(f"{weights}: missing; {folder} is not a complete model folder "
                                "written by autoencoders (it needs model.safetensors)")
    header, shapes = _header(weights)
    config_text: str | bytes
    if "config" in header:
        config_file, config_text, history_text = weights, header["config"], header.get("history")
    else:  # written before the header carried the configuration: the files beside it
        config_file, history_file = folder / CONFIG_FILE, folder / HISTORY_FILE
        if not config_file.is_file():
            raise FileNotFoundError(f"{config_file}: missing; the model folder is incomplete")
        config_text = config_file.read_bytes()
        history_text = (history_file.read_text(encoding="utf-8") if history_file.is_file()
                        else None)
    config = _parse_config(config_text, config_file)
    try:
        arch = ArchitectureConfig.from_dict(config["architecture"])
        recipe = TrainingConfig.from_dict(config["recipe"])
        params = dict(config["params"])
        feature_shape = tuple(int(d) for d in config["feature_shape"])
        scaling = (config.get("scaling") or {}).get("kind") or params.get("input_scaling",
                                                                          "auto")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{config_file}: missing or malformed configuration entry {exc}"
                         ) from None
    except ValueError as exc:  # a field this version does not know, or a value it refuses
        raise ValueError(f"{config_file}: {exc}") from None
    _check_tensors(weights, arch, shapes)
    tensors = load_file(str(weights), device="cpu")
    scaling_stats = {k[len(_SCALING_PREFIX):]: tensors.pop(k).numpy()
                     for k in list(tensors) if k.startswith(_SCALING_PREFIX)}
    map_tensors = {k[len(_MAP_PREFIX):]: tensors.pop(k)
                   for k in list(tensors) if k.startswith(_MAP_PREFIX)}
    if scaling == "minmax" and not {"offset", "scale"} <= set(scaling_stats):
        raise ValueError(f"{weights}: the model scales its input by min-max but the file lacks "
                         "the statistics (scaling.offset, scaling.scale); it is incomplete")
    broken = [k for k, v in tensors.items() if not bool(v.isfinite().all())]
    broken += [f"scaling.{k}" for k, v in scaling_stats.items() if not np.isfinite(v).all()]
    if broken:
        raise ValueError(f"{weights}: the weights {', '.join(broken[:3])} hold NaN or infinite "
                         "values; the model diverged or the file is damaged: retrain it")
    model = build_model(arch)
    with torch.no_grad():
        model.load_state_dict(tensors)
    model.eval()
    names = config.get("feature_names_in")
    try:
        spec = InputSpec(feature_shape, scaling, scaling_stats.get("offset"),
                         scaling_stats.get("scale"), tuple(names) if names else None,
                         unit=recipe.loss == "bce", constant=scaling_stats.get("constant"))
    except ValueError as exc:
        raise ValueError(f"{weights}: {exc}") from None
    neighbour_map = None
    if map_tensors or "map" in config:
        try:
            neighbour_map = NeighbourMap.from_state(map_tensors, config.get("map") or {})
        except ValueError as exc:
            raise ValueError(f"{weights}: {exc}") from None
    return ModelRecord(params=params, architecture=arch, recipe=recipe, input_spec=spec,
                       model=model, history=_parse_history(history_text, config_file),
                       train_seconds=float(config.get("train_seconds") or 0.0),
                       extra=config.get("extra") or {}, neighbour_map=neighbour_map)
