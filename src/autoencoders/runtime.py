"""Where and how torch computes: the device, the number of threads, denormal floats, and
the recipe's precision on the device.

One owner for each setting: :func:`configured_torch` sets them for a whole command (the
``autoencoders`` command does so around every verb); :func:`flush_denormals` covers one
``fit`` from Python outside a command.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import torch

from .config import TrainingConfig
from .params import recipe_from_params

__all__ = ["select_device", "configured_torch", "flush_denormals", "cudnn_autotune",
           "available_cores", "check_wait_policy", "native_bf16", "device_recipe", "environment"]

#: Whether configured_torch has flushed denormals for the running command, so that
#: flush_denormals must leave the flag on when it ends.
_PROCESS_FLUSHES = False


def select_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA, then Apple MPS, then CPU; pass other names to torch.

    Raises
    ------
    ValueError
        When the named device is not available on this machine.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            # The current device, which torchrun scripts set per process (LOCAL_RANK).
            return torch.device("cuda", torch.cuda.current_device())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but PyTorch sees no CUDA GPU; use device='auto' or 'cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' but Apple MPS is not available; use 'auto' or 'cpu'")
    return dev



def loaded_device(saved: str, requested: str | None) -> str:
    """The device a loaded model runs on: ``requested``; else the one it was saved with
    when this machine has it, else "auto" (a model trained on a GPU works on a CPU-only
    machine without a flag).

    Raises
    ------
    ValueError
        When ``requested`` names a device this machine does not have.
    """
    if requested is not None:
        select_device(requested)
        return requested
    try:
        select_device(saved)
    except ValueError:
        return "auto"
    return saved

def available_cores() -> int:
    """The cores this process may use (its CPU affinity), shared among the processes that
    torchrun starts on this machine (LOCAL_WORLD_SIZE), and at most ``OMP_NUM_THREADS``
    when the environment sets it (a job that shares the machine on purpose)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    share = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    cores = max(1, cores // share)
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return min(cores, int(limit)) if limit.isdigit() and int(limit) > 0 else cores


@contextlib.contextmanager
def configured_torch() -> Iterator[None]:
    """Set up torch for a command: as many threads as :func:`available_cores`, and
    denormals flushed to zero for all of it; both are put back afterwards, so that a caller
    of ``autoencoders.cli.main`` in its own process (a test, a notebook) keeps its settings.

    Both must happen before torch's first parallel operation: its worker threads copy the
    floating-point mode of the thread that creates them (see :func:`flush_denormals`).
    """
    global _PROCESS_FLUSHES

    threads = torch.get_num_threads()
    torch.set_num_threads(available_cores())
    _PROCESS_FLUSHES = bool(torch.set_flush_denormal(True))
    try:
        yield
    finally:
        if _PROCESS_FLUSHES:
            torch.set_flush_denormal(False)  # torch's default; it has no getter
            _PROCESS_FLUSHES = False
        torch.set_num_threads(threads)


@contextlib.contextmanager
def cudnn_autotune(device: torch.device, enabled: bool = True) -> Iterator[None]:
    """Let cuDNN time its convolution algorithms on the first batch of each shape and keep
    the fastest (``torch.backends.cudnn.benchmark``) while a model trains on CUDA; the flag
    is put back afterwards. The batches of a training run share one shape (the last may be
    smaller: one more search), the case the PyTorch performance guide recommends it for.
    Elsewhere, or with ``enabled=False``, nothing changes."""
    if device.type != "cuda" or not enabled:
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware: a CUDA device with bf16
    support, or a CPU with AMX tiles or AVX512-BF16 instructions. Elsewhere bf16 is
    emulated, slower than float32.

    Measured on this project's CPU (Xeon with AMX, 2 threads, 2026-12-02), one training step
    of the 2-D map's 6-layer network on 4,096 points: width 128 33 → 23 ms, 256 87 → 38 ms,
    512 243 → 101 ms (float32 → bf16 autocast).
    """
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    # torch's own probes of the CPU's instruction sets (private, hence the fallbacks).
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def device_recipe(params: dict[str, Any], n_samples: int | None = None) -> TrainingConfig:
    """The recipe ``AutoEncoder`` parameters (``get_params()``) train with on ``n_samples``
    rows (None: not known yet): :func:`~autoencoders.params.recipe_from_params`, with
    ``precision="auto"`` decided by the device ``params["device"]`` selects
    (:func:`native_bf16`). The one place the estimator's ``fit`` and the ``fit`` command
    (which pins the recipe for ``--resume`` before training) take it from.

    Raises
    ------
    ValueError
        For invalid parameters, an unknown device or one this machine lacks.
    """
    native = native_bf16(select_device(params["device"]))
    return recipe_from_params(params, n_samples, native_bf16=native)


@contextlib.contextmanager
def flush_denormals(device: torch.device) -> Iterator[None]:
    """Treat denormal floats as zero on the CPU while training.

    Parameters that never get a gradient (weights from MNIST's always-black border pixels,
    dead ReLU units) have Adam moments that decay by 0.9 and 0.999 per step into the
    denormal range, where x86 arithmetic is many times slower. Measured here on MNIST (2
    cores, batch 128): 2.6–2.7 s per epoch throughout with the flag; without it epochs
    slowed to 4.2–4.6 s by the fourth, with identical losses.

    The flag is per thread, and torch's worker threads copy it only when they are created,
    so this covers the calling thread alone unless it is entered before torch's first
    parallel operation in the process: ``AutoEncoder.fit`` enters it before building the
    model. torch has no getter for the flag: afterwards it is switched off again (torch's
    default) unless :func:`configured_torch` set it for the whole command.
    """
    if device.type != "cpu" or _PROCESS_FLUSHES or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


_warned_wait_policy = False


def check_wait_policy() -> None:
    """Warn, once, when the machine is busier than its cores and this process's OpenMP
    threads spin while they wait (``OMP_WAIT_POLICY`` is not PASSIVE: torch was imported
    before ``autoencoders``, which sets it and a short ``GOMP_SPINCOUNT`` otherwise):
    training then runs many times slower than its fair share (benchmarks/load.py)."""
    global _warned_wait_policy

    if _warned_wait_policy or os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        return
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average here
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    if load > cores + 0.5:
        _warned_wait_policy = True
        warnings.warn(f"the machine is busy (load {load:.1f} on {cores} cores) and torch's "
                      "OpenMP threads spin while they wait, which slows training many times "
                      "over; set OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=10000 in the "
                      "environment (what importing autoencoders before torch sets)",
                      RuntimeWarning, stacklevel=3)


def environment() -> dict[str, str | None]:
    """Versions of Python, the platform and the packages a model depends on (recorded in
    every saved model's config.json and shown by the report).

    Returns
    -------
    dict of str to str or None
        ``python``, ``platform``, and the version of ``autoencoders``, ``torch``, ``numpy``,
        ``scikit-learn`` and ``safetensors`` (None when one is not installed).
    """
    from importlib.metadata import PackageNotFoundError, version

    env: dict[str, str | None] = {"python": sys.version.split()[0],
                                  "platform": platform.platform()}
    for pkg in ("autoencoders", "torch", "numpy", "scikit-learn", "safetensors"):
        try:
            env[pkg] = version(pkg)
        except PackageNotFoundError:
            env[pkg] = None
    return env
