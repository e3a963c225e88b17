"""Training: the loop (``loop``) and what it draws on — batch order (``batching``),
optimiser and schedule (``optim``), checkpoints (``checkpoints``), signals (``signals``),
passes without gradients (``apply``) and data-parallel process groups (``distributed``)."""

from .apply import EVAL_BATCH, as_tensor, batched_apply, feature_mean, mean_loss
from .checkpoints import (
    CHECKPOINT_DIR,
    Checkpointer,
    CheckpointError,
    data_fingerprint,
    fit_checkpointer,
)
from .loop import TrainingDivergedError, fit_model, train
from .optim import lr_factor, make_optimizer
from .signals import TrainingInterrupted

__all__ = ["train", "fit_model", "TrainingDivergedError", "TrainingInterrupted", "batched_apply",
           "mean_loss", "feature_mean", "as_tensor", "EVAL_BATCH", "Checkpointer",
           "fit_checkpointer", "CheckpointError", "CHECKPOINT_DIR", "data_fingerprint",
           "lr_factor", "make_optimizer"]
