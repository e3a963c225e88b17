"""Experiment logs as training callbacks: TensorBoard (the ``tensorboard`` extra) and
MLflow (the ``mlflow`` extra).

The library never configures logging; a logger writes only where it is told."""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_write
from .callbacks import Callback

__all__ = ["TensorBoardLogger", "MLflowLogger", "LOGGERS", "TENSORBOARD_DIR",
           "MLFLOW_RUN_FILE", "logger_from_spec"]

#: What ``fit --log`` knows.
LOGGERS = ("tensorboard", "mlflow")
#: Where ``fit --log tensorboard`` writes without a folder: inside the run.
TENSORBOARD_DIR = "tensorboard"
#: Where ``fit --log mlflow`` records its MLflow run, so that ``fit --resume`` continues it.
MLFLOW_RUN_FILE = "mlflow_run.json"
#: What :class:`MLflowLogger` logs every epoch.
_PER_EPOCH = ("train_loss", "val_loss", "learning_rate", "seconds_per_epoch")
#: Tracking URIs that name a service, not a folder.
_NAMED_STORES = ("databricks", "databricks-uc", "uc")


def logger_from_spec(spec: str, run_dir: str | Path, samples: Any = None,
                     labels: Any = None) -> Callback:
    """The logger of a ``fit --log`` value: ``tensorboard`` (into ``RUN_DIR/tensorboard``)
    or ``tensorboard:DIR``, with ``samples`` and ``labels`` as :class:`TensorBoardLogger`
    takes them; ``mlflow`` or ``mlflow:URI`` (:class:`MLflowLogger`, the run named after
    ``run_dir`` and recorded in its ``MLFLOW_RUN_FILE``, which a resumed fit continues).

    Raises
    ------
    ValueError
        For another kind of log, or a tensorboard DIR that is a file.
    """
    kind, _, where = spec.partition(":")
    if kind not in LOGGERS:
        raise ValueError(f"--log {spec}: unknown log {kind!r}; choose tensorboard[:DIR] or "
                         "mlflow[:URI]")
    if kind == "mlflow":
        record = Path(run_dir) / MLFLOW_RUN_FILE
        try:
            run_id = json.loads(record.read_text())["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            run_id = None  # a new run (or a record damaged: a new MLflow run then)
        logger = MLflowLogger(where or None, run_name=Path(run_dir).name, run_id=run_id,
                              record=record, end_after_folder=True)
        if logger.store_inside(run_dir):  # refused before training, not after
            raise ValueError(f"--log {spec}: the MLflow store {logger.store_path()} is inside "
                             f"the run folder {run_dir}, whose files it logs (into itself); "
                             "choose a folder outside it")
        return logger
    if where and os.path.exists(where) and not os.path.isdir(where):
        raise ValueError(f"--log {spec}: {where} is a file, not a folder; name a folder for "
                         "the event files (it is created when missing)")
    return TensorBoardLogger(where or os.path.join(run_dir, TENSORBOARD_DIR),
                             samples=samples, labels=labels)


class _Logger(Callback):
    """A logger whose failures, once training runs, cost a warning and the rest of its log,
    never the training: an attack that removed an MLflow store mid-run lost the whole run
    folder, and a full disk under TensorBoard's event file ended the fit the same way."""

    _name: str  # "TensorBoard", "MLflow": named in the warning

    def _active(self) -> bool:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def _keep_training(self, log: Callable[[], None]) -> None:
        if not self._active():
            return
        try:
            log()
        except Exception as exc:
            warnings.warn(f"{exc}; {self._name} logging stopped, training goes on",
                          UserWarning, stacklevel=3)
            self._stop()


class TensorBoardLogger(_Logger):
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
        install. Once training has begun, a failing event file (a full disk) costs a
        warning and the rest of the log, never the training.

    Examples
    --------
    >>> ae.fit(X, callbacks=[TensorBoardLogger("runs/tb", samples=X_test, labels=y_test)])
    """

    def __init__(self, log_dir: str | Path, samples: Any = None, labels: Any = None) -> None:
        self.log_dir, self.samples, self.labels = str(log_dir), samples, labels
        self._writer: Any = None  # a SummaryWriter once training has begun

    _name = "TensorBoard"

    def _active(self) -> bool:
        return self._writer is not None

    def _stop(self) -> None:
        writer, self._writer = self._writer, None
        with contextlib.suppress(Exception):  # what was written stays readable
            writer.close()

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard logs need tensorboard: pip install "
                              "'tensorboard>=2.14' (the tensorboard extra)") from None
        self._writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, log: dict[str, Any]) -> None:
        self._keep_training(lambda: self._write_scalars(log))

    def _write_scalars(self, log: dict[str, Any]) -> None:
        w, step = self._writer, log["epoch"]
        w.add_scalar("loss/train", log["train_loss"], step)
        if log["val_loss"] is not None:
            w.add_scalar("loss/validation", log["val_loss"], step)
        w.add_scalar("learning_rate", log["learning_rate"], step)
        w.add_scalar("seconds_per_epoch", log["seconds"], step)
        w.flush()

    def on_train_end(self, history: list[dict[str, Any]]) -> None:
        if self.samples is not None and self.estimator is not None:
            self._keep_training(self._write_samples)
        self._keep_training(self._stop)

    def on_train_error(self, error: BaseException) -> None:
        if self._writer is not None:
            self._stop()

    def _write_samples(self) -> None:
        import torch

        n = min(len(self.samples), 1000)
        scaled = self.estimator.input_spec_.scaled(np.asarray(self.samples[:n]))
        model: Any = self.model  # a models.AutoEncoderModule (a higher layer), set by now
        device = next(model.parameters()).device
        with torch.inference_mode():
            x = torch.from_numpy(scaled).to(device)
            codes = model.encode(x).float().cpu()
            recon = model.reconstruct(x[:16]).float().cpu().numpy()
        images = _as_gray_images(scaled)
        thumbnails = None
        if images is not None:
            top = np.concatenate(list(images[:16]), axis=1)
            recon_images = _as_gray_images(recon)  # the shape of the input: images too
            assert recon_images is not None
            bottom = np.concatenate(list(recon_images), axis=1)
            grid = np.clip(np.concatenate([top, bottom], axis=0), 0, 1)
            self._writer.add_image("reconstructions", grid, dataformats="HW")
            thumbnails = torch.from_numpy(np.clip(images, 0, 1)[:, None])  # (n, 1, h, w)
        labels = None if self.labels is None else [str(v) for v in self.labels[:n]]
        self._writer.add_embedding(codes, metadata=labels, label_img=thumbnails,
                                   tag="codes")


class MLflowLogger(_Logger):
    """Log a run to MLflow: the estimator's parameters, the losses, learning rate and
    seconds of every epoch, and (from ``autoencoders fit``) the run folder as artifacts.

    Metrics per epoch (step = epoch): ``train_loss``, ``val_loss`` (per feature, as
    ``history_``), ``learning_rate``, ``seconds_per_epoch``. Parameters: every
    ``get_params()`` value as text, "auto" and None as the recipe resolved them
    (``optimizer=muon``, ``batch_size=512``). The run ends FINISHED, or FAILED when training raises.
    After ``fit`` writes the run folder (:meth:`on_run_saved`): the numbers of its
    ``metrics.json`` as metrics and its files as artifacts, without ``checkpoints/`` (the
    state for resuming, several copies of the model); :meth:`log_folder` does the same for
    a folder saved from Python (``ae.save(path)``).

    Parameters
    ----------
    tracking_uri : str or Path, optional
        Where runs go: a folder (a local file store), ``file:``, ``sqlite:///`` (needs
        the full ``mlflow`` package) or ``http(s)://`` (a tracking server). By default
        ``MLFLOW_TRACKING_URI``, else ``./mlruns``. MLflow 3 keeps its file store in
        maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``; this logger sets that
        variable during its own calls to a file store, and puts it back after. A store
        that fails once training has begun costs a warning and the rest of the log, never
        the training.
    experiment : str, default "autoencoders"
        The experiment's name; created when missing.
    run_name : str, optional
        The run's name (``autoencoders fit`` uses the run folder's name).
    run_id : str, optional
        An MLflow run to continue (a resumed fit: its epochs join the same curves) instead
        of starting one.
    record : str or Path, optional
        A JSON file that gets ``{"run_id": ..., "tracking_uri": ...}`` once the run starts.
    end_after_folder : bool, default False
        The MLflow run ends when the run folder has been logged (:meth:`on_run_saved`), or
        FAILED when writing it fails, rather than when training ends: the run is not shown
        FINISHED while its artifacts still arrive. ``fit --log mlflow`` sets it.

    Attributes
    ----------
    run_id : str or None
        The MLflow run, once training has begun.

    Raises
    ------
    ImportError
        At the start of training without MLflow: the message says which extra to install.

    Examples
    --------
    >>> logger = MLflowLogger("mlruns", run_name="mnist-25d")
    >>> ae.fit(X, callbacks=[logger]).save("runs/mnist-25d")
    >>> logger.log_folder("runs/mnist-25d")
    """

    def __init__(self, tracking_uri: str | Path | None = None,
                 experiment: str = "autoencoders", run_name: str | None = None,
                 run_id: str | None = None, record: str | Path | None = None,
                 end_after_folder: bool = False) -> None:
        self.tracking_uri = tracking_uri
        self.experiment, self.run_name = experiment, run_name
        self.run_id, self.record = run_id, record
        self.end_after_folder = end_after_folder
        self._client: Any = None

    def store_uri(self) -> str:
        """The tracking URI in use: ``tracking_uri``, ``$MLFLOW_TRACKING_URI`` or
        ``./mlruns``, a folder as a ``file:`` URI."""
        uri = str(self.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "mlruns")
        if "://" in uri or uri.startswith("file:") or uri in _NAMED_STORES:
            return uri
        return Path(uri).absolute().as_uri()  # a folder: a local file store

    def store_path(self) -> Path | None:
        """The folder of a local file store, or None for a database or a server."""
        uri = self.store_uri()
        if not uri.startswith("file:"):
            return None
        from urllib.parse import urlparse
        from urllib.request import url2pathname

        return Path(url2pathname(urlparse(uri).path)).resolve()

    def store_inside(self, folder: str | Path) -> bool:
        """Whether this logger's file store is ``folder`` or inside it (logging ``folder``
        would copy the store into itself until the path is too long)."""
        store, folder = self.store_path(), Path(folder).resolve()
        return store is not None and (store == folder or folder in store.parents)

    @contextlib.contextmanager
    def _store(self, **env: str) -> Iterator[Any]:
        """The client (made on first use), with MLflow's environment variables ``env`` (the
        user's own win) and the file store allowed during the call when it is one; MLflow's
        errors (some plain Exceptions, some OSErrors) become a RuntimeError that names the
        store."""
        from mlflow.tracking import MlflowClient

        uri = self.store_uri()
        env = {k: v for k, v in env.items() if k not in os.environ}
        if uri.startswith("file:"):
            env["MLFLOW_ALLOW_FILE_STORE"] = "true"
        previous = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            if self._client is None:
                self._client = MlflowClient(uri)
            yield self._client
        except Exception as exc:
            hint = ("; a sqlite store needs the full package: pip install mlflow"
                    if uri.startswith("sqlite") else "")
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise RuntimeError(f"MLflow store {uri}: {first}{hint}") from exc
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def on_train_begin(self, n_epochs: int, n_batches: int) -> None:
        try:
            from mlflow.entities import Param
        except ImportError:
            raise ImportError("MLflow logs need mlflow: pip install 'mlflow-skinny>=2.10' "
                              "(the mlflow extra)") from None
        from . import __version__

        store = self.store_path()  # MLflow would make a folder of other files its store
        if store is not None and store.is_dir() and not (store / ".trash").is_dir() and any(
                store.iterdir()):
            raise RuntimeError(f"MLflow store {store}: a folder of other files, not an MLflow "
                               "store; name a new folder or an MLflow store")
        # Before training a store that does not answer fails in seconds, not after MLflow's
        # 7 retries with backoff (4 min 17 s measured against a closed port, 2026-12-01).
        with self._store(MLFLOW_HTTP_REQUEST_MAX_RETRIES="1",
                         MLFLOW_HTTP_REQUEST_TIMEOUT="10") as client:
            if self.run_id is not None:  # continue it, when this store holds it
                try:
                    client.update_run(self.run_id, status="RUNNING")
                except Exception:
                    self.run_id = None
            if self.run_id is None:
                found = client.get_experiment_by_name(self.experiment)
                experiment = (found.experiment_id if found is not None
                              else client.create_experiment(self.experiment))
                run = client.create_run(experiment, run_name=self.run_name,
                                        tags={"autoencoders.version": __version__})
                self.run_id = run.info.run_id
                params = {} if self.estimator is None else self.estimator.get_params()
                recipe = getattr(self.estimator, "recipe_", None)
                if recipe is not None:  # what trained, not "auto" or None
                    params.update({k: getattr(recipe, k) for k, v in params.items()
                                   if isinstance(v, str | type(None)) and v in ("auto", None)
                                   and getattr(recipe, k, None) is not None})
                # MLflow keeps at most 6,000 characters of a parameter's value.
                client.log_batch(self.run_id, params=[Param(k, str(v)[:6000])
                                                      for k, v in sorted(params.items())])
        if self.record is not None:
            atomic_write(self.record, json.dumps({"run_id": self.run_id,
                                                  "tracking_uri": self.store_uri()}) + "\n")

    _name = "MLflow"

    def _active(self) -> bool:
        return self.run_id is not None

    def _stop(self) -> None:
        self.run_id = None

    def on_epoch_end(self, log: dict[str, Any]) -> None:
        values = dict(zip(_PER_EPOCH, (log["train_loss"], log["val_loss"],
                                       log["learning_rate"], log["seconds"]), strict=True))
        self._keep_training(lambda: self._log_metrics(values, step=log["epoch"]))

    def on_train_end(self, history: list[dict[str, Any]]) -> None:
        if not self.end_after_folder:
            self._keep_training(lambda: self._terminate("FINISHED"))

    def on_train_error(self, error: BaseException) -> None:
        # Ctrl-C or SIGTERM (a checkpoint to resume): KILLED.
        status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
        self._keep_training(lambda: self._terminate(status))

    def on_run_saved(self, run_dir: Path) -> None:
        self._keep_training(lambda: self.log_folder(run_dir))
        if self.end_after_folder:
            self._keep_training(lambda: self._terminate("FINISHED"))

    def _terminate(self, status: str) -> None:
        with self._store() as client:
            client.set_terminated(self.run_id, status)

    def log_folder(self, folder: str | Path) -> None:
        """Log a saved model or run folder to this logger's run: the numbers of its
        ``metrics.json`` (when there is one) as metrics, and its files but
        ``checkpoints/`` as artifacts.

        Raises
        ------
        RuntimeError
            Before training has begun (no run yet), or when the store is inside ``folder``.
        OSError
            When the folder cannot be read or the store written.
        """
        if self.run_id is None:
            raise RuntimeError("no MLflow run yet: fit with this logger first")
        if self.store_inside(folder):
            raise RuntimeError(f"MLflow store {self.store_path()} is inside {folder}, whose "
                               "files would be logged into it; keep the store outside")
        folder = Path(folder)
        metrics_file = folder / "metrics.json"
        if metrics_file.is_file():  # less what is logged per epoch under the same name
            numbers = json.loads(metrics_file.read_text())
            self._log_metrics({k: v for k, v in numbers.items() if k not in _PER_EPOCH
                               and isinstance(v, int | float) and not isinstance(v, bool)})
        with self._store() as client:
            for path in sorted(folder.iterdir()):
                if path.name == "checkpoints" or path.name.startswith("."):  # the lock
                    continue
                if path.is_dir():
                    client.log_artifacts(self.run_id, str(path), artifact_path=path.name)
                else:
                    client.log_artifact(self.run_id, str(path))

    def _log_metrics(self, values: dict[str, Any], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in values.items()
                   if v is not None and np.isfinite(v)]
        with self._store() as client:
            client.log_batch(self.run_id, metrics=metrics)


def _as_gray_images(x: np.ndarray) -> np.ndarray | None:
    """(n, h, w) or (n, 1, h, w) float arrays as (n, h, w); None for other shapes."""
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    return x if x.ndim == 3 else None
