"""The training loop: the epochs of one run, with early stopping and best-weight restore,
checkpoints, data-parallel steps, and a one-batch sanity check before the first step.

What it draws on lives beside it: the batch order (``batching``), the optimiser and
schedule (``optim``), checkpoint files and their contents (``checkpoints``), signals
(``signals``), passes without gradients (``apply``), process groups (``distributed``); the
objective is ``autoencoders.objective``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .._io import check_fits_in_memory
from ..callbacks import Callback
from ..config import ArchitectureConfig, TrainingConfig
from ..datasets.source import Source
from ..inputs import pixels_to_unit
from ..models import AutoEncoderModule, build_model
from ..objective import Objective
from ..runtime import cudnn_autotune, flush_denormals
from .apply import chunks, feature_mean, mean_loss
from .batching import epoch_rounds, rank_part
from .checkpoints import (
    Checkpointer,
    Position,
    RunState,
    check_facts,
    data_fingerprint,
    pack,
    unpack,
)
from .distributed import DistributedContext, check_same_weights, distributed_context
from .optim import lr_factor, make_optimizer
from .signals import TrainingInterrupted, deferred_signals

__all__ = ["train", "fit_model", "TrainingDivergedError"]

_Data = torch.Tensor | Source  # training or validation data
_Parts = list[tuple[torch.Tensor, float]]  # a round's batches: (rows, loss weight)


#: An epoch whose loss exceeds this many times the untrained model's has diverged (a
#: learning rate of 1e6 took the BCE of a notebook-shaped model from 0.69 to 5e24 without
#: ever being NaN).
DIVERGED_FACTOR = 10.0


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite, or exploded, during training."""


def train(model: AutoEncoderModule, X: _Data, recipe: TrainingConfig, *,
          X_val: _Data | None = None, device: torch.device | None = None,
          generator: torch.Generator | None = None,
          callbacks: Sequence[Callback] = (), checkpointer: Checkpointer | None = None,
          resume: bool = False) -> list[dict[str, Any]]:
    """Train ``model`` in place to reconstruct ``X``.

    Each epoch's batches come from :func:`autoencoders.training.batching.epoch_rounds`: one random
    permutation of all rows for data sets of up to ``recipe.shuffle_buffer`` rows, a block
    shuffle with a shuffle buffer for larger ones, the same for data in memory (sliced from
    one tensor, no per-sample DataLoader) and streamed from a :class:`Source` (read one
    round ahead, in a background thread). With ``recipe.early_stopping`` and ``X_val``,
    training stops after ``n_iter_no_change`` epochs without a validation improvement larger
    than ``tol``, and the best epoch's weights are restored.

    In an initialised ``torch.distributed`` process group (``torchrun``), training is data
    parallel with DistributedDataParallel: every rank draws the same batches and computes
    the gradient of its part of each (:func:`autoencoders.training.batching.rank_part`),
    reading only those rows; DDP averages the gradients, so each step is the step of the
    whole batch. Rank 0 alone writes checkpoints and should alone have callbacks that
    write. At the end the ranks compare their weights and raise if they differ.

    On the CPU, enter ``autoencoders.runtime.flush_denormals`` around model building and
    training (``AutoEncoder.fit`` does): without it, epochs slow down as Adam's moments
    decay into denormal floats.

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
        Continue from ``checkpointer``'s newest checkpoint; without it, the checkpoints of an
        earlier run of the same owner are deleted when training starts
        (:meth:`Checkpointer.start`).

    Returns
    -------
    list of dict
        One row per epoch with ``callbacks.HISTORY_FIELDS`` (losses per pixel, seconds).

    Raises
    ------
    TrainingDivergedError
        When the loss becomes NaN or infinite or exceeds ``DIVERGED_FACTOR`` times the
        untrained model's, or the weights stop being finite (the message suggests a lower
        learning rate).
    TrainingInterrupted
        On SIGINT or SIGTERM with a ``checkpointer``, after the checkpoint is written.
    FileNotFoundError
        ``resume=True`` and no readable checkpoint.
    CheckpointError
        ``resume=True`` and the checkpoint was written for another architecture, recipe or
        data; or, without ``resume``, the folder holds another owner's checkpoints.
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
    initial = _sanity_check(model, X, recipe, device)
    restored = None
    if resume:
        assert checkpointer is not None  # checked above
        restored = checkpointer.load_latest()
    else:
        if checkpointer is not None and dist.rank == 0:
            checkpointer.start()
        if recipe.init_output_bias:
            model.init_output_bias(feature_mean(X).to(device))
    return _Loop(model, X, recipe, X_val, device, generator, callbacks, checkpointer,
                 run, dist, initial).run(restored)


def fit_model(architecture: ArchitectureConfig, recipe: TrainingConfig, X: _Data,
              X_val: _Data | None = None, *, seed: int, device: torch.device,
              callbacks: Iterable[Callback] = (), checkpointer: Checkpointer | None = None,
              resume: bool = False) -> tuple[AutoEncoderModule, list[dict[str, Any]]]:
    """Build the model of ``architecture`` with weights seeded by ``seed`` and :func:`train`
    it, with denormal floats flushed (``runtime.flush_denormals``) and, for a convolutional
    model on CUDA, cuDNN's algorithm search on (``runtime.cudnn_autotune``).

    The batch order is seeded by ``seed + 1``; the same seed gives the same weights bit for
    bit on the CPU. Parameters, errors and the other arguments as :func:`train`.

    Returns
    -------
    model : AutoEncoderModule
        Trained, on ``device``.
    history : list of dict
        As :func:`train` returns it.

    Raises
    ------
    MemoryError
        Before anything is allocated, when training the model would not fit in the
        available memory (CPU).
    """
    _check_model_size(architecture, device)
    # Entered before the model is built, so that torch's worker threads, if this is the
    # process's first parallel work, are created with denormals flushed.
    with flush_denormals(device), cudnn_autotune(device, architecture.kind == "conv"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(architecture)
        generator = torch.Generator().manual_seed(seed + 1)
        history = train(model, X, recipe, X_val=X_val, device=device, generator=generator,
                        callbacks=list(callbacks), checkpointer=checkpointer, resume=resume)
    return model, history


def _check_model_size(architecture: ArchitectureConfig, device: torch.device) -> None:
    """Refuse, before allocating, a model whose training would not fit in memory: weights,
    gradients and Adam's two moments, 16 bytes a parameter (``fit --hidden-dims
    1000000000`` was killed for memory)."""
    with torch.device("meta"):  # shapes only, no memory
        n = sum(p.numel() for p in build_model(architecture).parameters())
    if device.type == "cpu":
        check_fits_in_memory(16 * n, f"training a model of {n:,} parameters",
                             "choose smaller hidden_dims, channels or latent_dim")


def _sanity_check(model: AutoEncoderModule, X: _Data, recipe: TrainingConfig,
                  device: torch.device) -> float:
    """One forward pass on a small batch: shapes agree and the loss is finite; returns
    that loss, the untrained model's."""
    xb = pixels_to_unit(next(chunks(X, recipe.batch_size)).to(device))
    with torch.no_grad():
        out = model(xb)
        if out.shape != xb.shape:
            raise RuntimeError(f"model output shape {tuple(out.shape)} does not match input "
                               f"shape {tuple(xb.shape)}; the architecture is inconsistent")
        value = Objective(model, recipe)(xb, 1.0, None)
    if not torch.isfinite(value):
        raise TrainingDivergedError("the loss of the untrained model on the first batch is not "
                                    "finite; check the input for NaN or huge values")
    return float(value)


class _Loop:
    """One training run: the epoch loop, and capturing/restoring its state as a checkpoint."""

    def __init__(self, model: AutoEncoderModule, X: _Data, recipe: TrainingConfig,
                 X_val: _Data | None, device: torch.device, generator: torch.Generator,
                 callbacks: Sequence[Callback], checkpointer: Checkpointer | None,
                 run: dict[str, Any] | None, dist: DistributedContext, initial: float) -> None:
        self.model, self.X, self.recipe, self.X_val = model, X, recipe, X_val
        self.device, self.generator, self.callbacks = device, generator, callbacks
        self.checkpointer, self.run_facts, self.dist = checkpointer, run, dist
        self.initial = initial  # the untrained model's loss, the yardstick of divergence
        self.n_batches = math.ceil(len(X) / recipe.batch_size)
        self.total_steps = recipe.epochs * self.n_batches
        self.kl_warmup_steps = round(recipe.kl_warmup * self.total_steps)
        # Noise of denoising and variational training: seeded from the batch-order
        # generator, so that a seed fixes it, and checkpointed with the other RNG states.
        # Each rank draws its own.
        self.noise = torch.Generator(device=device)
        self.noise.manual_seed(generator.initial_seed() + 1 + dist.rank)
        self.objective: nn.Module = Objective(model, recipe)
        if dist.active:
            from torch.nn.parallel import DistributedDataParallel

            # Wrapping broadcasts rank 0's weights, so all ranks start alike.
            gpu = ([torch.cuda.current_device() if device.index is None else device.index]
                   if device.type == "cuda" else None)
            self.objective = DistributedDataParallel(self.objective, device_ids=gpu)
        self.optimizer = make_optimizer(model, recipe)
        self.best_state: dict[str, torch.Tensor] | None = None
        self.total = torch.zeros((), device=device)  # the epoch's summed loss, on the device

    # ------------------------------------------------------------------ the loop
    def run(self, restored: tuple[dict[str, torch.Tensor], dict[str, Any], Path] | None
            ) -> list[dict[str, Any]]:
        pos = Position() if restored is None else self._restore(*restored)
        recipe, n_batches, callbacks = self.recipe, self.n_batches, self.callbacks
        for cb in callbacks:
            cb.model, cb.stop_training = self.model, False
            cb.on_train_begin(recipe.epochs, n_batches)
            if restored is not None:
                cb.on_resume(list(pos.history), pos.epoch, pos.batch)
        guard: contextlib.AbstractContextManager[list[int]] = (
            deferred_signals() if self.checkpointer else contextlib.nullcontext([]))
        try:
            with guard as caught:
                while pos.epoch <= recipe.epochs and not pos.finished:
                    self._epoch(pos, caught)
        except BaseException as error:
            for cb in callbacks:
                cb.on_train_error(error)
            raise
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        self.model.eval()
        if self.dist.active:
            check_same_weights(self.model)
        for cb in callbacks:
            cb.on_train_end(pos.history)
        return pos.history

    def _rounds(self, pos: Position) -> Iterator[tuple[int, _Parts]]:
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

    def _fetch(self, parts: _Parts) -> tuple[torch.Tensor, torch.Tensor]:
        """A round's rows read from the source in file order, and where each batch's rows
        are among them. NumPy only: torch operations here would start a second OpenMP
        team whose spinning threads, measured here, halved the training loop's speed."""
        rows = np.concatenate([r.numpy() for r, _ in parts])
        unique, inverse = np.unique(rows, return_inverse=True)  # ascending: file order
        data = torch.from_numpy(np.ascontiguousarray(cast(Source, self.X).take(unique)))
        return data, torch.from_numpy(inverse)

    def _batches(self, pos: Position) -> Iterator[tuple[int, torch.Tensor, float]]:
        """(batch number, rows on the device, loss weight) for the rest of the epoch."""
        for first, parts, data, where in self._round_data(pos):
            where = where.split([len(r) for r, _ in parts])  # type: ignore[no-untyped-call]
            for j, ((_, weight), idx) in enumerate(zip(parts, where, strict=True)):
                # index_select, not data[idx]: 36 µs against 100 µs per MNIST batch here.
                xb = data.index_select(0, idx).to(self.device, non_blocking=True)
                yield first + j, xb, weight

    def _round_data(self, pos: Position
                    ) -> Iterator[tuple[int, _Parts, torch.Tensor, torch.Tensor]]:
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
                assert pending is not None  # submitted with ahead
                (first, parts), (data, where) = ahead, pending.result()
                ahead = next(rounds, None)
                pending = None if ahead is None else pool.submit(self._fetch, ahead[1])
                yield first, parts, data, where

    def _epoch(self, pos: Position, caught: list[int]) -> None:
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
            xb = pixels_to_unit(xb)
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
        self._check_diverged(epoch, train_loss, "training")
        model.eval()
        val_loss = None
        if self.X_val is not None:
            val = torch.tensor(mean_loss(model, self.X_val, recipe.loss, device),
                               dtype=torch.float64, device=device)
            if dist.active:  # one decision for early stopping, whatever the devices' rounding
                torch.distributed.broadcast(val, 0)
            val_loss = float(val)
            self._check_diverged(epoch, val_loss, "held-out")
        log = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
               "learning_rate": self._lr_at(epoch * n_batches), "seconds": seconds}
        pos.history.append(log)
        for cb in self.callbacks:
            cb.on_epoch_end(log)
        stop = torch.tensor(float(any(cb.stop_training for cb in self.callbacks)),
                            device=device)
        if dist.active:  # callbacks live on rank 0: every rank stops with it
            torch.distributed.broadcast(stop, 0)
        pos.finished = bool(stop)
        if recipe.early_stopping and val_loss is not None:
            # As scikit-learn's MLP does it: the best weights are kept on any improvement;
            # patience resets only on an improvement larger than tol.
            best = math.inf if pos.best_val is None else pos.best_val
            pos.stale = pos.stale + 1 if val_loss > best - recipe.tol else 0
            if val_loss < best:
                pos.best_val = val_loss
                self.best_state = copy.deepcopy(model.state_dict())
            pos.finished |= pos.stale >= recipe.n_iter_no_change
        pos.epoch, pos.batch, pos.epoch_seconds = epoch + 1, 0, 0.0
        if self.checkpointer is not None:
            path = self._save(pos, self.generator.get_state())
            if caught:
                raise TrainingInterrupted(caught[0], path)

    def _check_diverged(self, epoch: int, loss: float, which: str) -> None:
        """Raise :class:`TrainingDivergedError` when the loss is NaN or infinite, has grown
        past ``DIVERGED_FACTOR`` times the untrained model's, or the weights are no longer
        finite (a last step can break them after the loss was taken)."""
        finite_weights = all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
        if not math.isfinite(loss):
            what = f"the {which} loss became {loss}"
        elif not finite_weights:
            what = "the weights became NaN or infinite"
        elif loss > DIVERGED_FACTOR * self.initial:
            what = f"the {which} loss exploded from {self.initial:.4g} (untrained) to {loss:.4g}"
        else:
            return
        raise TrainingDivergedError(
            f"training diverged in epoch {epoch}: {what} (NaN, non-finite or exploding); lower "
            f"the learning rate (now {self.recipe.learning_rate:g}) or check the input scaling")

    def _stop_or_save(self, caught: list[int]) -> bool:
        """Whether to checkpoint after this step: a signal arrived or the time is due. In a
        data-parallel run the ranks agree first, so that all stop at the same step."""
        assert self.checkpointer is not None  # called only with one
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
    def _save(self, pos: Position, epoch_rng: torch.Tensor) -> Path:
        """Checkpoint ``pos``; ``epoch_rng`` is the generator state that draws its epoch's
        permutation."""
        rng = {"epoch": epoch_rng, "torch": torch.get_rng_state(),
               "noise": self.noise.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        total = self.total.clone()
        if self.dist.active:  # the whole batch's partial sum, so that any run can resume it
            torch.distributed.all_reduce(total)
        state = RunState(self.model.state_dict(), self.optimizer.state_dict(), rng, total,
                         pos, self.best_state)
        step = (pos.epoch - 1) * self.n_batches + pos.batch
        assert self.checkpointer is not None and self.run_facts is not None  # set together
        if self.dist.rank != 0:  # rank 0 writes the run's one checkpoint
            return self.checkpointer.folder
        return self.checkpointer.save(step, *pack(state, self.run_facts))

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                 path: Path) -> Position:
        assert self.run_facts is not None  # set with the checkpointer
        check_facts(meta, self.run_facts, path, streamed=isinstance(self.X, Source))
        state = unpack(tensors, meta)
        self.model.load_state_dict(state.model)
        self.best_state = (None if state.best is None else
                           {k: v.to(self.device) for k, v in state.best.items()})
        self.optimizer.load_state_dict(state.optimizer)
        self.generator.set_state(state.rng["epoch"])
        torch.set_rng_state(state.rng["torch"])
        if "noise" in state.rng:  # absent from checkpoints written before it existed
            self.noise.set_state(state.rng["noise"])
        if self.device.type == "cuda" and "cuda" in state.rng:
            torch.cuda.set_rng_state(state.rng["cuda"], self.device)
        # The saved sum covers all ranks: rank 0 carries it, the others start from 0.
        self.total.copy_(state.total if self.dist.rank == 0 else torch.zeros_like(state.total))
        return state.position
