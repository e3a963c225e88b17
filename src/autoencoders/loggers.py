"""Experiment logs as training callbacks: TensorBoard (the ``tensorboard`` extra).

The library never configures logging; a logger writes only where it is told."""

from __future__ import annotations

import numpy as np

from .callbacks import Callback

__all__ = ["TensorBoardLogger", "LOGGERS", "TENSORBOARD_DIR", "logger_from_spec"]

#: What ``fit --log`` knows.
LOGGERS = ("tensorboard",)
#: Where ``fit --log tensorboard`` writes without a folder: inside the run.
TENSORBOARD_DIR = "tensorboard"


def logger_from_spec(spec: str, run_dir, samples=None, labels=None) -> Callback:
    """The logger of a ``fit --log`` value: ``tensorboard`` (into ``RUN_DIR/tensorboard``)
    or ``tensorboard:DIR``; ``samples`` and ``labels`` as :class:`TensorBoardLogger` takes.

    Raises
    ------
    ValueError
        For another kind of log (MLflow is not supported yet), or a DIR that is a file.
    """
    import os

    kind, _, where = spec.partition(":")
    if kind not in LOGGERS:
        raise ValueError(f"--log {spec}: unknown log {kind!r}; choose tensorboard[:DIR] "
                         "(MLflow is not supported yet)")
    if where and os.path.exists(where) and not os.path.isdir(where):
        raise ValueError(f"--log {spec}: {where} is a file, not a folder; name a folder for "
                         "the event files (it is created when missing)")
    return TensorBoardLogger(where or os.path.join(run_dir, TENSORBOARD_DIR),
                             samples=samples, labels=labels)


class TensorBoardLogger(Callback):
    """Write a run to TensorBoard: scalars every epoch, and at the end a reconstruction grid
    and the codes of some samples for the embedding projector.

    Scalars (step = epoch): ``loss/train`` and ``loss/validation`` (per feature, as
    ``history_``), ``learning_rate``, ``seconds_per_epoch``. At the end of training, with
    ``samples``: ``reconstructions`` (an image: the first 16 samples above their
    reconstructions, for images) and the samples' codes as an embedding with their labels
    (``labels``) and thumbnails (sprites, for images), which TensorBoard's projector shows.

    Parameters
    ----------
    log_dir : str or Path
        The folder of the event files (``tensorboard --logdir`` it).
    samples : array, shape (n, *feature_shape), optional
        Raw input as ``AutoEncoder.fit`` takes it (uint8 pixels, or values in the model's
        units): at most 1,000 are embedded, 16 drawn.
    labels : array of shape (n,), optional
        One label per sample, for the projector's colouring.

    Raises
    ------
    ImportError
        At the start of training without tensorboard: the message says which extra to
        install.

    Examples
    --------
    >>> ae.fit(X, callbacks=[TensorBoardLogger("runs/tb", samples=X_test, labels=y_test)])
    """

    def __init__(self, log_dir, samples=None, labels=None):
        self.log_dir, self.samples, self.labels = str(log_dir), samples, labels
        self._writer = None

    def on_train_begin(self, n_epochs, n_batches):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard logs need tensorboard: pip install "
                              "'autoencoders[tensorboard]'") from None
        self._writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, log):
        w, step = self._writer, log["epoch"]
        w.add_scalar("loss/train", log["train_loss"], step)
        if log["val_loss"] is not None:
            w.add_scalar("loss/validation", log["val_loss"], step)
        w.add_scalar("learning_rate", log["learning_rate"], step)
        w.add_scalar("seconds_per_epoch", log["seconds"], step)
        w.flush()

    def on_train_end(self, history):
        try:
            if self.samples is not None and self.estimator is not None:
                self._write_samples()
        finally:
            self._writer.close()

    def _write_samples(self) -> None:
        import torch

        n = min(len(self.samples), 1000)
        scaled = self.estimator.input_spec_.scaled(np.asarray(self.samples[:n]))
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            x = torch.from_numpy(scaled).to(device)
            codes = self.model.encode(x).float().cpu()
            recon = self.model.reconstruct(x[:16]).float().cpu().numpy()
        images = _as_gray_images(scaled)
        thumbnails = None
        if images is not None:
            top = np.concatenate(list(images[:16]), axis=1)
            bottom = np.concatenate(list(_as_gray_images(recon)), axis=1)
            grid = np.clip(np.concatenate([top, bottom], axis=0), 0, 1)
            self._writer.add_image("reconstructions", grid, dataformats="HW")
            thumbnails = torch.from_numpy(np.clip(images, 0, 1)[:, None])  # (n, 1, h, w)
        labels = None if self.labels is None else [str(v) for v in self.labels[:n]]
        self._writer.add_embedding(codes, metadata=labels, label_img=thumbnails,
                                   tag="codes")


def _as_gray_images(x: np.ndarray) -> np.ndarray | None:
    """(n, h, w) or (n, 1, h, w) float arrays as (n, h, w); None for other shapes."""
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    return x if x.ndim == 3 else None
