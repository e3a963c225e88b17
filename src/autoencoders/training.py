"""The training loop: permutation batching over one in-memory tensor, optimiser, schedule,
early stopping with best-weight restore, and a one-batch sanity check before the first step.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .batching import epoch_rounds, rank_part
from .callbacks import Callback
from .checkpoints import Checkpointer, CheckpointError
from .config import TrainingConfig
from .corruption import corrupt
from .datasets.streaming import Source, iter_chunks
from .distributed import check_same_weights, distributed_context
from .losses import kl_divergence, l1_sparsity, per_sample_loss, reconstruction_loss

__all__ = ["train", "select_device", "batched_apply", "mean_loss", "flush_denormals",
           "batch_objective",
           "as_float_input", "data_fingerprint", "TrainingDivergedError", "TrainingInterrupted"]

#: Samples per forward pass when evaluating or encoding. Measured here (2 cores, MNIST test
#: set): 512 to 4,096 encode at the same ~300,000 images/s, but the per-pixel BCE of a
#: 4,096 chunk holds several 12.8 MB temporaries, which raised the peak memory of ``fit``
#: with validation data from 520 MiB (512) to 576 MiB (4,096).
EVAL_BATCH = 512


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite during training."""


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


def as_float_input(xb: torch.Tensor) -> torch.Tensor:
    """A batch as the model takes it: uint8 pixels divided by 255 to float32 in [0, 1];
    float32 passes unchanged. Data sets stay uint8 in memory and are converted per batch."""
    if xb.dtype == torch.uint8:
        return xb.float().mul_(1.0 / 255.0)
    return xb


def _chunks(X, rows: int):
    """Consecutive chunks of at most ``rows`` rows of a tensor or a :class:`Source`, as
    tensors (a source's on the CPU)."""
    if isinstance(X, Source):
        for _, _, a in iter_chunks(X, rows):
            yield torch.from_numpy(np.ascontiguousarray(a))
    else:
        for i in range(0, len(X), rows):
            yield X[i:i + rows]


def batched_apply(fn, X, device: torch.device, batch: int = EVAL_BATCH):
    """Apply ``fn`` to ``X`` in chunks on ``device`` without gradients; concatenate on CPU.

    Parameters
    ----------
    fn : callable
        float32 Tensor (b, ...) on ``device`` → Tensor (b, ...).
    X : Tensor of uint8 or float32, shape (n, ...), or a Source of such rows
        On any device; uint8 chunks go through :func:`as_float_input` first.
    """
    with torch.inference_mode():
        outs = [fn(as_float_input(xb.to(device, non_blocking=True))).float().cpu()
                for xb in _chunks(X, batch)]
    return torch.cat(outs) if outs else torch.empty(0)


def _feature_mean(X) -> torch.Tensor:
    """Mean over samples of (n, *feature_shape) uint8 or float32 (a tensor or a Source),
    without a float copy of the whole."""
    chunk = 1024  # small, so the float64 partial sums add no memory peak of their own
    total = sum(as_float_input(xb).sum(dim=0, dtype=torch.float64)
                for xb in _chunks(X, chunk))
    return (total / len(X)).float()


def mean_loss(model: nn.Module, X, loss: str, device: torch.device) -> float:
    """Mean reconstruction loss per pixel of ``model`` on ``X`` (n, *feature_shape), a
    tensor or a Source."""
    out_act = model.config.output_activation
    per = batched_apply(lambda xb: per_sample_loss(model(xb), xb, loss, out_act), X, device)
    return float(per.mean())


def batch_objective(model: nn.Module, xb: torch.Tensor, recipe: TrainingConfig,
                    kl_weight: float = 1.0, generator: torch.Generator | None = None
                    ) -> torch.Tensor:
    """The training objective of one batch, a scalar in per-pixel units.

    The reconstruction loss (per pixel) of the clean batch ``xb`` from the model's code of
    its corrupted copy (denoising; ``recipe.corruption``), with, for a variational model,
    a code drawn by the reparameterisation trick and ``kl_weight · beta`` times the KL
    divergence per sample divided by the number of features — so that with weight 1 the
    objective is the negative ELBO per pixel for the BCE loss (Kingma & Welling 2014) —
    and ``recipe.sparsity`` times the code's mean absolute value.

    Parameters
    ----------
    model : AutoEncoderModule
    xb : Tensor of float32, shape (b, *feature_shape)
        A scaled training batch.
    recipe : TrainingConfig
    kl_weight : float, default 1
        The KL warm-up factor in [0, 1] at this step.
    generator : torch.Generator, optional
        Source of the corruption noise and the variational draws, on ``xb``'s device; by
        default torch's global generator.
    """
    out_act = model.config.output_activation
    x_in = xb if recipe.corruption == "none" else corrupt(
        xb, recipe.corruption, clip=out_act == "sigmoid", generator=generator)
    mean, log_var = model.encode_stats(x_in)
    code = mean if log_var is None else model.sample_code(mean, log_var, generator)
    loss = reconstruction_loss(model.decode_logits(code), xb, recipe.loss, out_act)
    if log_var is not None and recipe.beta > 0:
        kl = kl_divergence(mean, log_var).mean() / model.config.n_features
        loss = loss + (recipe.beta * kl_weight) * kl
    if recipe.sparsity > 0:
        loss = loss + recipe.sparsity * l1_sparsity(mean)
    return loss


def _make_optimizer(model: nn.Module, recipe: TrainingConfig) -> torch.optim.Optimizer:
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe.learning_rate)
    kwargs = {"lr": recipe.learning_rate, "betas": (0.9, recipe.beta2)}
    try:
        # One fused kernel for all parameters: measured here (2 cores, batch 128) epochs
        # took 1.85 s against 2.35 s with the default multi-tensor Adam.
        return torch.optim.Adam(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, ValueError):  # a device without a fused kernel
        return torch.optim.Adam(model.parameters(), **kwargs)


def lr_factor(step: int, total_steps: int, schedule: str, warmup: float) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total_steps``.

    Linear warm-up over the first ``round(warmup * total_steps)`` steps, then constant or
    cosine decay to 0 at the last step.
    """
    warm = round(warmup * total_steps)
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    t = min(step - warm, total_steps - warm) / max(1, total_steps - warm)
    return 0.5 * (1.0 + math.cos(math.pi * t))


@contextlib.contextmanager
def flush_denormals(device: torch.device):
    """Treat denormal floats as zero on the CPU while training.

    Parameters that never get a gradient (weights from MNIST's always-black border pixels,
    dead ReLU units) have Adam moments that decay by 0.9 and 0.999 per step into the
    denormal range, where x86 arithmetic is many times slower. Measured here on MNIST (2
    cores, batch 128): 2.6–2.7 s per epoch throughout with the flag; without it epochs
    slowed to 4.2–4.6 s by the fourth, with identical losses.

    The flag is per thread, and torch's worker threads copy it only when they are created,
    so this covers the calling thread alone unless it is entered before torch's first
    parallel operation in the process: ``AutoEncoder.fit`` enters it before building the
    model, and the ``autoencoders`` command sets the flag at start-up. torch has no getter
    for the flag, so it is restored to torch's default (off) afterwards.
    """
    if device.type != "cpu" or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _sanity_check(model, X, recipe, device):
    """One forward pass on a small batch: shapes agree and the loss is finite."""
    first = X.read(0, recipe.batch_size) if isinstance(X, Source) else X[:recipe.batch_size]
    xb = as_float_input(torch.as_tensor(first).to(device))
    with torch.no_grad():
        out = model(xb)
        if out.shape != xb.shape:
            raise RuntimeError(f"model output shape {tuple(out.shape)} does not match input "
                               f"shape {tuple(xb.shape)}; the architecture is inconsistent")
        value = batch_objective(model, xb, recipe)
    if not torch.isfinite(value):
        raise TrainingDivergedError("the loss of the untrained model on the first batch is not "
                                    "finite; check the input for NaN or huge values")


class _Objective(nn.Module):
    """:func:`batch_objective` as a module, so that DistributedDataParallel can wrap it:
    DDP averages the gradients of what its wrapped module's ``forward`` computes."""

    def __init__(self, model: nn.Module, recipe: TrainingConfig):
        super().__init__()
        self.model, self.recipe = model, recipe

    def forward(self, xb, kl_weight, generator):
        return batch_objective(self.model, xb, self.recipe, kl_weight, generator)


def train(model: nn.Module, X, recipe: TrainingConfig, *,
          X_val=None, device: torch.device | None = None,
          generator: torch.Generator | None = None,
          callbacks: list[Callback] = (), checkpointer: Checkpointer | None = None,
          resume: bool = False) -> list[dict]:
    """Train ``model`` in place to reconstruct ``X``.

    Each epoch's batches come from :func:`autoencoders.batching.epoch_rounds`: one random
    permutation of all rows for data sets of up to ``recipe.shuffle_buffer`` rows, a block
    shuffle with a shuffle buffer for larger ones, the same for data in memory (sliced from
    one tensor, no per-sample DataLoader) and streamed from a :class:`Source` (read one
    round ahead, in a background thread). With ``recipe.early_stopping`` and ``X_val``,
    training stops after ``n_iter_no_change`` epochs without a validation improvement larger
    than ``tol``, and the best epoch's weights are restored.

    In an initialised ``torch.distributed`` process group (``torchrun``), training is data
    parallel with DistributedDataParallel: every rank draws the same batches and computes
    the gradient of its part of each (:func:`autoencoders.batching.rank_part`), reading only
    those rows; DDP averages the gradients, so each step is the step of the whole batch.
    Rank 0 alone writes checkpoints and should alone have callbacks that write. At the end
    the ranks compare their weights and raise if they differ.

    With a ``checkpointer``, a checkpoint (weights, optimiser moments, best weights, RNG
    states, epoch and step, history) is written at the end of every epoch and every
    ``checkpointer.every_minutes``, and SIGINT or SIGTERM finish the current step, write a
    checkpoint and raise :class:`TrainingInterrupted`. ``resume=True`` continues from the
    newest readable checkpoint; on CPU the result is bit for bit the run never interrupted.

    Parameters
    ----------
    model : nn.Module
        An autoencoder from ``autoencoders.models``; moved to ``device``.
    X : Tensor of float32 or uint8, shape (n, *feature_shape), or a Source of such rows
        Scaled training data, or uint8 pixels (divided by 255 batch by batch). A tensor is
        moved to ``device`` whole; a source is read round by round.
    recipe : TrainingConfig
    X_val : Tensor or Source like ``X``, shape (m, *feature_shape), optional
        Scaled validation data, evaluated after every epoch.
    device : torch.device, optional
        Where to train; CPU by default.
    generator : torch.Generator, optional
        Source of the batch permutations (CPU); seeded by the caller for reproducibility.
        Every rank of a data-parallel run needs the same seed.
    callbacks : list of Callback
    checkpointer : Checkpointer, optional
        Where and how often to write checkpoints.
    resume : bool, default False
        Continue from ``checkpointer``'s newest checkpoint; without it, existing checkpoint
        files in its folder are deleted when training starts.

    Returns
    -------
    list of dict
        One row per epoch with ``callbacks.HISTORY_FIELDS`` (losses per pixel, seconds).

    Raises
    ------
    TrainingDivergedError
        When the loss becomes NaN or infinite (the message suggests a lower learning rate).
    TrainingInterrupted
        On SIGINT or SIGTERM with a ``checkpointer``, after the checkpoint is written.
    FileNotFoundError
        ``resume=True`` and no readable checkpoint.
    CheckpointError
        ``resume=True`` and the checkpoint was written for another architecture, recipe or
        data.
    ValueError
        ``resume=True`` without a ``checkpointer``.
    RuntimeError
        When the ranks of a data-parallel run end with different weights.
    """
    if resume and checkpointer is None:
        raise ValueError("resume=True needs a checkpointer (a checkpoint folder) to resume from")
    device = device or torch.device("cpu")
    generator = generator or torch.Generator()
    dist = distributed_context()
    run = None
    if checkpointer is not None:
        # What a checkpoint must match to be resumed: a changed recipe or data set would
        # silently continue a different run.
        run = json.loads(json.dumps({"architecture": model.config.to_dict(),
                                     "recipe": recipe.to_dict(),
                                     "data": data_fingerprint(X, X_val)}))
    model.to(device)
    if not isinstance(X, Source):
        X = X.to(device)
    _sanity_check(model, X, recipe, device)
    restored = None
    if resume:
        restored = checkpointer.load_latest()
    else:
        if checkpointer is not None and dist.rank == 0:
            checkpointer.clear()
        if recipe.init_output_bias:
            model.init_output_bias(_feature_mean(X).to(device))
    with flush_denormals(device):
        return _Loop(model, X, recipe, X_val, device, generator, callbacks, checkpointer,
                     run, dist).run(restored)


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training after a checkpoint was written.

    Attributes
    ----------
    signum : int
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    checkpoint : pathlib.Path
        The checkpoint written; resume from its folder.
    """

    def __init__(self, signum: int, checkpoint):
        self.signum, self.checkpoint = signum, checkpoint
        super().__init__(f"training stopped by {signal.Signals(signum).name}; "
                         f"checkpoint written to {checkpoint}")


def data_fingerprint(*arrays) -> str:
    """A 128-bit BLAKE2b hash (hex) of tensors' shapes, dtypes and bytes; None hashes too,
    and a :class:`Source` by its own fingerprint (files, sizes, times: no pass over it)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        if isinstance(a, Source):
            h.update(a.fingerprint().encode())
            continue
        t = a.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}{t.dtype}".encode())
        h.update(memoryview(t.numpy()).cast("B"))
    return h.hexdigest()


@contextlib.contextmanager
def _deferred_signals():
    """Collect SIGINT/SIGTERM in the yielded list instead of stopping at once.

    The loop finishes its step and checkpoints before stopping. A second SIGINT raises
    KeyboardInterrupt at once (checkpoints are written atomically, so that is safe). Signal
    handlers can only be set from the main thread; elsewhere signals keep their handlers.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum, frame):
        if caught and signum == signal.SIGINT:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@dataclass
class _Position:
    """Where a run stands: what a checkpoint holds besides tensors."""

    epoch: int = 1  # the epoch in progress (1-based)
    batch: int = 0  # its next batch
    epoch_seconds: float = 0.0  # training seconds already spent in that epoch
    history: list = field(default_factory=list)
    best_val: float | None = None  # early stopping: best validation loss so far
    stale: int = 0  # early stopping: epochs without a large enough improvement
    finished: bool = False  # early stopping ended the run


class _Loop:
    """One training run: the epoch loop, and capturing/restoring its state as a checkpoint."""

    def __init__(self, model, X, recipe, X_val, device, generator, callbacks, checkpointer,
                 run, dist):
        self.model, self.X, self.recipe, self.X_val = model, X, recipe, X_val
        self.device, self.generator, self.callbacks = device, generator, callbacks
        self.checkpointer, self.run_facts, self.dist = checkpointer, run, dist
        self.n_batches = math.ceil(len(X) / recipe.batch_size)
        self.total_steps = recipe.epochs * self.n_batches
        self.kl_warmup_steps = round(recipe.kl_warmup * self.total_steps)
        # Noise of denoising and variational training: seeded from the batch-order
        # generator, so that a seed fixes it, and checkpointed with the other RNG states.
        # Each rank draws its own.
        self.noise = torch.Generator(device=device)
        self.noise.manual_seed(generator.initial_seed() + 1 + dist.rank)
        self.objective = _Objective(model, recipe)
        if dist.active:
            from torch.nn.parallel import DistributedDataParallel

            # Wrapping broadcasts rank 0's weights, so all ranks start alike.
            gpu = ([torch.cuda.current_device() if device.index is None else device.index]
                   if device.type == "cuda" else None)
            self.objective = DistributedDataParallel(self.objective, device_ids=gpu)
        self.optimizer = _make_optimizer(model, recipe)
        self.best_state = None
        self.total = torch.zeros((), device=device)  # the epoch's summed loss, on the device

    # ------------------------------------------------------------------ the loop
    def run(self, restored) -> list[dict]:
        pos = _Position() if restored is None else self._restore(*restored)
        recipe, n_batches, callbacks = self.recipe, self.n_batches, self.callbacks
        for cb in callbacks:
            cb.on_train_begin(recipe.epochs, n_batches)
            if restored is not None:
                cb.on_resume(list(pos.history), pos.epoch, pos.batch)
        guard = _deferred_signals() if self.checkpointer else contextlib.nullcontext([])
        with guard as caught:
            while pos.epoch <= recipe.epochs and not pos.finished:
                self._epoch(pos, caught)
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.model.eval()
        if self.dist.active:
            check_same_weights(self.model)
        for cb in callbacks:
            cb.on_train_end(pos.history)
        return pos.history

    def _rounds(self, pos: _Position):
        """This rank's batches of the epoch, round by round, from batch ``pos.batch`` on:
        (first batch number, [(rows, weight), ...]); rounds already trained are skipped."""
        b = 0
        for batches in epoch_rounds(len(self.X), self.recipe.batch_size,
                                    self.recipe.shuffle_buffer, self.generator):
            first, b = b, b + len(batches)
            if b <= pos.batch:
                continue
            skip = max(0, pos.batch - first)
            yield first + skip, [rank_part(rows, self.dist.rank, self.dist.world)
                                 for rows in batches[skip:]]

    def _fetch(self, parts) -> tuple[torch.Tensor, torch.Tensor]:
        """A round's rows read from the source in file order, and where each batch's rows
        are among them. NumPy only: torch operations here would start a second OpenMP
        team whose spinning threads, measured here, halved the training loop's speed."""
        rows = np.concatenate([r.numpy() for r, _ in parts])
        unique, inverse = np.unique(rows, return_inverse=True)  # ascending: file order
        data = torch.from_numpy(np.ascontiguousarray(self.X.take(unique)))
        return data, torch.from_numpy(inverse)

    def _batches(self, pos: _Position):
        """(batch number, rows on the device, loss weight) for the rest of the epoch."""
        for first, parts, data, where in self._round_data(pos):
            where = where.split([len(r) for r, _ in parts])
            for j, ((_, weight), idx) in enumerate(zip(parts, where, strict=True)):
                # index_select, not data[idx]: 36 µs against 100 µs per MNIST batch here.
                xb = data.index_select(0, idx).to(self.device, non_blocking=True)
                yield first + j, xb, weight

    def _round_data(self, pos: _Position):
        """Per round: (first batch number, parts, data, where), the batches' rows being
        ``data[where]``. In memory, ``data`` is the data set on the device and ``where``
        the round's row numbers, sent there at once; from a source, ``data`` is the round's
        rows read in file order (the next round is read in a background thread while this
        one trains) and ``where`` their places in it."""
        rounds = self._rounds(pos)
        if not isinstance(self.X, Source):
            for first, parts in rounds:
                yield first, parts, self.X, torch.cat([r for r, _ in parts]).to(self.device)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            ahead = next(rounds, None)
            pending = None if ahead is None else pool.submit(self._fetch, ahead[1])
            while ahead is not None:
                (first, parts), (data, where) = ahead, pending.result()
                ahead = next(rounds, None)
                pending = None if ahead is None else pool.submit(self._fetch, ahead[1])
                yield first, parts, data, where

    def _epoch(self, pos: _Position, caught: list[int]) -> None:
        model, recipe, device, dist = self.model, self.recipe, self.device, self.dist
        n, bs, n_batches, epoch = len(self.X), recipe.batch_size, self.n_batches, pos.epoch
        # How often the progress bar gets a fresh running loss: reading it back syncs a GPU.
        report_every = max(1, n_batches // 20)
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch)
        model.train()
        epoch_rng = self.generator.get_state()
        if pos.batch == 0:
            self.total.zero_()
        start = time.perf_counter() - pos.epoch_seconds
        for b, xb, weight in self._batches(pos):
            step = (epoch - 1) * n_batches + b
            for group in self.optimizer.param_groups:
                group["lr"] = self._lr_at(step)
            xb = as_float_input(xb)
            kl_weight = (min(1.0, (step + 1) / self.kl_warmup_steps)
                         if self.kl_warmup_steps else 1.0)
            loss = self.objective(xb, kl_weight, self.noise)
            self.optimizer.zero_grad(set_to_none=True)
            (loss * weight if dist.active else loss).backward()
            self.optimizer.step()
            if weight:
                self.total += loss.detach() * len(xb)
            running = (self.total.item() * dist.world / min(n, (b + 1) * bs)
                       if (b + 1) % report_every == 0 else None)
            for cb in self.callbacks:
                cb.on_batch_end(b, running)
            if self.checkpointer is not None and self._stop_or_save(caught):
                pos.batch, pos.epoch_seconds = b + 1, time.perf_counter() - start
                path = self._save(pos, epoch_rng)
                if caught:
                    raise TrainingInterrupted(caught[0], path)

        total = self.total.clone()
        if dist.active:
            torch.distributed.all_reduce(total)
        train_loss = total.item() / n
        seconds = time.perf_counter() - start
        if not math.isfinite(train_loss):
            raise TrainingDivergedError(
                f"the training loss became {train_loss} in epoch {epoch}; lower the learning "
                f"rate (now {recipe.learning_rate}) or check the input scaling")
        model.eval()
        val_loss = None
        if self.X_val is not None:
            val = torch.tensor(mean_loss(model, self.X_val, recipe.loss, device),
                               dtype=torch.float64, device=device)
            if dist.active:  # one decision for early stopping, whatever the devices' rounding
                torch.distributed.broadcast(val, 0)
            val_loss = float(val)
        log = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
               "learning_rate": self._lr_at(epoch * n_batches), "seconds": seconds}
        pos.history.append(log)
        for cb in self.callbacks:
            cb.on_epoch_end(log)
        if recipe.early_stopping and val_loss is not None:
            # As scikit-learn's MLP does it: the best weights are kept on any improvement;
            # patience resets only on an improvement larger than tol.
            best = math.inf if pos.best_val is None else pos.best_val
            pos.stale = pos.stale + 1 if val_loss > best - recipe.tol else 0
            if val_loss < best:
                pos.best_val = val_loss
                self.best_state = copy.deepcopy(model.state_dict())
            pos.finished = pos.stale >= recipe.n_iter_no_change
        pos.epoch, pos.batch, pos.epoch_seconds = epoch + 1, 0, 0.0
        if self.checkpointer is not None:
            path = self._save(pos, self.generator.get_state())
            if caught:
                raise TrainingInterrupted(caught[0], path)

    def _stop_or_save(self, caught: list[int]) -> bool:
        """Whether to checkpoint after this step: a signal arrived or the time is due. In a
        data-parallel run the ranks agree first, so that all stop at the same step."""
        if not self.dist.active:
            return bool(caught) or self.checkpointer.due()
        flags = torch.tensor([float(bool(caught)),
                              float(self.dist.rank == 0 and self.checkpointer.due())],
                             device=self.device)  # NCCL exchanges device tensors only
        torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
        if flags[0] and not caught:
            caught.append(signal.SIGTERM)  # another rank was stopped
        return bool(flags.any())

    def _lr_at(self, step: int) -> float:
        """The learning rate of global step ``step`` (0-based)."""
        r = self.recipe
        return r.learning_rate * lr_factor(step, self.total_steps, r.schedule, r.warmup)

    # ------------------------------------------------------------------ checkpoints
    def _save(self, pos: _Position, epoch_rng: torch.Tensor):
        """Checkpoint ``pos``; ``epoch_rng`` is the generator state that draws its epoch's
        permutation."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        for k, v in (self.best_state or {}).items():
            tensors[f"best.{k}"] = v
        opt = self.optimizer.state_dict()
        scalars = {}
        for i, state in opt["state"].items():
            for k, v in state.items():
                if torch.is_tensor(v):
                    tensors[f"optimizer.{i}.{k}"] = v
                else:
                    scalars[f"{i}.{k}"] = v
        tensors["rng.epoch"] = epoch_rng
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.noise"] = self.noise.get_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        total = self.total.clone()
        if self.dist.active:  # the whole batch's partial sum, so that any run can resume it
            torch.distributed.all_reduce(total)
        tensors["loop.total"] = total
        meta = {**self.run_facts, "position": asdict(pos),
                "optimizer": {"param_groups": opt["param_groups"], "scalars": scalars}}
        step = (pos.epoch - 1) * self.n_batches + pos.batch
        if self.dist.rank != 0:  # rank 0 writes the run's one checkpoint
            return self.checkpointer.folder
        return self.checkpointer.save(step, tensors, meta)

    def _restore(self, tensors: dict, meta: dict, path) -> _Position:
        for key in ("architecture", "recipe", "data"):
            if meta.get(key) != self.run_facts[key]:
                what = {"data": "other training or validation data"}.get(key, f"another {key}")
                if key == "data" and isinstance(self.X, Source):
                    what += (" (streamed files are known by their paths, sizes and "
                             "modification times: a copy made with cp -p or rsync -t keeps "
                             "them)")
                raise CheckpointError(
                    f"{path}: written for {what}; resume with the same settings and data "
                    "as the interrupted run, or start afresh without resuming")

        def part(prefix):
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        self.model.load_state_dict(part("model."))
        best = part("best.")
        self.best_state = {k: v.to(self.device) for k, v in best.items()} if best else None
        state: dict = {}
        for k, v in part("optimizer.").items():
            i, name = k.split(".", 1)
            state.setdefault(int(i), {})[name] = v
        for k, v in meta["optimizer"]["scalars"].items():
            i, name = k.split(".", 1)
            state.setdefault(int(i), {})[name] = v
        self.optimizer.load_state_dict({"state": state,
                                        "param_groups": meta["optimizer"]["param_groups"]})
        self.generator.set_state(tensors["rng.epoch"])
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.noise" in tensors:  # absent from checkpoints written before it existed
            self.noise.set_state(tensors["rng.noise"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        # The saved sum covers all ranks: rank 0 carries it, the others start from 0.
        saved = tensors["loop.total"]
        self.total.copy_(saved if self.dist.rank == 0 else torch.zeros_like(saved))
        return _Position(**meta["position"])

