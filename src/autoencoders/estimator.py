"""``AutoEncoder``: a scikit-learn transformer whose codes are an autoencoder's bottleneck."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._io import kept_on_failure
from .callbacks import HISTORY_FIELDS, Callback, ProgressBar, best_epoch
from .datasets.source import Source
from .decoding import DecoderMixin
from .display import SummaryMixin
from .export import ExportMixin
from .inputs import InputSpec, check_codes, training_inputs
from .mapping import MapMixin
from .neighbours import NeighbourMap
from .params import PRESETS, architecture_from_params
from .persistence import ModelRecord, load_model, params_from_json, params_to_json, save_model
from .runtime import check_wait_policy, device_recipe, loaded_device, select_device
from .training import TrainingInterrupted, as_tensor, batched_apply, fit_checkpointer, fit_model

__all__ = ["AutoEncoder"]

_DEFAULT = PRESETS["default"]
_F32 = NDArray[np.float32]
_Seed = int | np.random.RandomState | None


class AutoEncoder(SummaryMixin, DecoderMixin, MapMixin, ExportMixin,
                  ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """An autoencoder as a scikit-learn transformer: ``transform`` gives latent codes.

    One estimator for the family: dense or convolutional (``architecture``), denoising
    (``corruption``), variational (``variational``, ``beta``) and sparse (``sparsity``),
    in any combination; all share the training loop, checkpoints and run folder.

    The defaults are the reference notebook's architecture (784 → 400 → 200 → 100 → 50 → 25,
    ReLU, mirrored decoder, sigmoid output, binary cross-entropy; 842,009 parameters for
    28×28 input) trained with our recipe: on 10,000 rows or more, Muon for the hidden
    layers and Adam for the rest at batch 512 and learning rate 8e-3, else Adam at batch 128
    and 4e-3 (betas (0.9, 0.99)); the learning rate warmed up over the first 15 % of steps
    then cosine-decayed, output bias started at the logit of the mean pixel, 8 epochs on
    MNIST (the length follows the data). The notebook's recipe: ``preset("notebook")``.

    Parameters
    ----------
    hidden_dims : tuple of int, optional
        Widths of the encoder's dense hidden layers; the decoder mirrors them. By default
        (400, 200, 100, 50) for "dense" and () for "conv" (code after the convolutions).
    latent_dim : int, default 25
        Size of the latent code (the bottleneck).
    activation : str, default "relu"
        Hidden-layer activation: relu, leaky_relu, elu, gelu, tanh, sigmoid or linear.
    loss : {"bce", "mse"}, default "bce"
        Reconstruction loss, per pixel. "bce" needs scaled input in [0, 1].
    code_activation : str, optional
        Activation of the latent code; by default "linear" (signed codes, no dead units).
        The notebook's ReLU code (``preset("notebook")``, ``autoencoders demo``) left 7-8
        of 25 units dead on MNIST; the measured reasons: ``params.architecture_from_params``.
    architecture : {"dense", "conv"}, default "dense"
        "conv": strided 3×3 convolutions (``channels`` filters each, each halving height and
        width) to a dense bottleneck, and transposed convolutions back; needs image input
        (n, H, W) or (n, C, H, W). See ``autoencoders.models.ConvAutoEncoder``.
    channels : tuple of int, default (16, 32)
        Filters of the convolutions ("conv" only): 28×28×1 → 14×14×16 → 7×7×32; (32, 64)
        reconstructs a little better in 2.5× the time (``config.ArchitectureConfig``).
    corruption : str or (str, float), optional
        Train a denoising autoencoder on corrupted training batches, never applied by
        ``transform`` or ``reconstruct``: "gaussian:0.3" (σ in scaled units), "masking:0.25",
        "salt-pepper:0.1", or a pair like ("gaussian", 0.3); see ``corruption.corrupt``.
    variational : bool, default False
        A variational autoencoder (Kingma & Welling 2014): a Gaussian code drawn by
        reparameterisation, with the KL divergence to N(0, I). ``transform`` returns the
        mean; ``sample`` draws new data; ``elbo`` scores it.
    beta : float, default 1.0
        Weight of the KL term (β-VAE, Higgins et al. 2017); 1 trains on the ELBO.
    kl_warmup : float, optional
        Fraction of the steps over which the KL weight rises linearly from 0 to ``beta``;
        by default 0.5 for a variational model (measured: ``params.DEFAULT_KL_WARMUP``).
        ``beta`` and ``kl_warmup`` are refused for a model that is not variational.
    sparsity : float, default 0.0
        Weight of an L1 penalty on the code (its mean absolute value, added to the per-pixel
        loss); with the ReLU code it drives code units to exactly 0.
    weight_decay : float, default 0.0
        Decoupled weight decay (AdamW's, Loshchilov & Hutter 2019): each step scales every
        parameter by (1 − learning rate × weight_decay). MNIST, 784-1000-500-250-30, 60
        epochs: test SSE/image 3.468 without, 3.218 with 0.05 (``benchmarks/quality.py`` notes).
    optimizer : {"auto", "adam", "sgd", "muon"}, default "auto"
        "muon": Muon for the hidden dense layers, Adam for the rest
        (``training.optim.MuonAdam``). "auto": muon for a plain dense model with hidden
        layers on 10,000 training rows or more, else adam (``params.auto_optimizer``).
    learning_rate : float, optional
        Peak learning rate; by default 4e-3 for Adam, 8e-3 for Muon, 1.5 (the notebook's)
        for SGD.
    schedule : {"cosine", "constant"}, default "cosine"
        Cosine decay of the learning rate to 0 over the run, or constant.
    warmup : float, default 0.15
        Fraction of the steps with a linear learning-rate warm-up before the schedule.
    init_output_bias : bool, default True
        Start the output bias at the logit of each pixel's training mean.
    epochs : int, optional
        Passes over the training data. By default as many as make 3,750 Adam steps (940
        Muon steps), at least 8 and at most 500: 8 for MNIST's 60,000 images, 500 for 600
        images (``autoencoders.params.auto_epochs``, with the measured reasons).
    batch_size : int, optional
        Samples per step; by default 512 for Muon, 128 otherwise. In a data-parallel run
        (``torchrun``) the global batch, which the ranks share.
    precision : {"float32", "bfloat16", "auto"}, default "float32"
        "bfloat16": the forward pass under bf16 autocast; weights, gradients, optimiser
        and loss stay float32 (``objective.batch_objective``, with the measured effect).
        "auto" (``preset("fast")``): bfloat16 where the device has it in hardware, else
        float32 (``runtime.device_recipe``); ``recipe_.precision`` is the one used.
    shuffle_buffer : int, default 65536
        Rows shuffled together each epoch (in memory and streamed alike): data of at most
        this many rows gets one permutation, larger data a block shuffle through a buffer
        of this many rows (``autoencoders.training.batching``).
    input_scaling : {"auto", "minmax", "none"}, default "auto"
        "auto": uint8 ÷ 255, floats as they are (min-max when the BCE loss meets floats
        outside [0, 1]); "minmax": each feature to [0, 1] by the training range; "none".
        Saved with the model (``autoencoders.inputs``).
    early_stopping : bool, default False
        Stop after ``n_iter_no_change`` epochs without improvement of the validation loss
        and restore the best weights (validation data: ``fit``).
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 5
    tol : float, default 1e-5
        Least improvement of the validation loss (per pixel) that resets the patience.
    random_state : int, RandomState or None, default None
        Seeds weight initialisation and batch order: on CPU the same seed gives the same
        weights bit for bit.
    verbose : int, default 1
        0 is silent; 1 shows a progress bar per epoch (on stderr) and a line per epoch.
    device : str, default "auto"
        "auto" picks CUDA, then Apple MPS, then CPU; or "cpu", "cuda", "cuda:1", "mps".
    checkpoint_dir : str or Path, optional
        Folder for training checkpoints (weights, optimiser state, RNG states, epoch, step,
        history; see ``autoencoders.training.checkpoints``), written at the end of every epoch.
        With it, SIGINT/SIGTERM during ``fit`` finish the current step, write a checkpoint
        and raise ``TrainingInterrupted``; ``fit(X, resume=True)`` continues from there.
    checkpoint_every : float, optional
        Also checkpoint in the middle of an epoch every this many minutes (wall time).
    keep_checkpoints : int, default 3
        How many of the newest checkpoints to keep.
    neighbour_map : bool or NeighbourMap, default False
        Also train a 2-D map of the training data (``autoencoders.neighbours.NeighbourMap``:
        a parametric neighbour embedding), saved with the model; :meth:`map` places new
        points on it with one forward pass. True takes the map's defaults; a
        ``NeighbourMap`` its parameters (a clone is fitted). Data of more than
        ``MAP_MAX_ROWS`` rows trains the map on a random subset of that many.
    map_input : {"input", "code"}, default "input"
        What the map sees: the scaled input (the neighbours of the data itself) or the
        latent code.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained autoencoder (on CPU after ``fit``).
    architecture_ : ArchitectureConfig
    recipe_ : TrainingConfig
    input_spec_ : autoencoders.inputs.InputSpec
        What the model takes: feature shape, column names, the scaling and its statistics.
    scaling_stats_ : dict of str to ndarray
        Min-max statistics for ``input_scaling="minmax"`` (``offset`` and ``scale``, float32,
        and ``constant``, bool: the features constant in training), else empty (from
        ``input_spec_``).
    history_ : dict of str to list
        Per epoch: ``epoch``, ``train_loss`` and ``val_loss`` (per pixel; val None without
        validation data), ``learning_rate`` and ``seconds`` (training time of the epoch).
    n_features_in_ : int
        Features per sample (784 for 28×28 images).
    feature_shape_ : tuple of int
        Shape of one input sample, e.g. (28, 28); reconstructions have it.
    feature_names_in_ : ndarray of str
        Column names, when ``fit`` got a DataFrame with string column names.
    train_seconds_ : float
        Seconds spent in training epochs (validation excluded).
    best_epoch_ : int
        The epoch (1-based) whose weights the model holds: with early stopping, the one of
        the lowest validation loss (restored however training ended), else the last.
    device_ : str
        The device that trained the model ("cpu", "cuda", ...).

    References
    ----------
    Hinton & Salakhutdinov (2006), "Reducing the dimensionality of data with neural networks",
    Science 313. The reference Keras notebook (dense MNIST autoencoder, validation BCE 0.0956).

    Examples
    --------
    >>> from autoencoders import AutoEncoder
    >>> from autoencoders.datasets import load_mnist
    >>> X, y = load_mnist("train")
    >>> ae = AutoEncoder(random_state=0).fit(X)            # doctest: +SKIP
    >>> codes = ae.transform(X[:10])                         # (10, 25) float32
    """

    def __init__(self, hidden_dims: Sequence[int] | None = None, latent_dim: int = 25,
                 activation: str = "relu", loss: str = "bce", *, code_activation: str | None = None,
                 architecture: str = "dense", channels: Sequence[int] = (16, 32),
                 corruption: str | tuple[str, float] | None = None, variational: bool = False,
                 beta: float = 1.0, kl_warmup: float | None = None, sparsity: float = 0.0,
                 weight_decay: float = 0.0,
                 optimizer: str = "auto", learning_rate: float | None = None,
                 schedule: str = _DEFAULT.schedule, warmup: float = _DEFAULT.warmup,
                 init_output_bias: bool = _DEFAULT.init_output_bias, epochs: int | None = None,
                 batch_size: int | None = None, precision: str = "float32",
                 shuffle_buffer: int = _DEFAULT.shuffle_buffer, input_scaling: str = "auto",
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 5, tol: float = 1e-5, random_state: _Seed = None,
                 verbose: int = 1, device: str = "auto", checkpoint_dir: str | Path | None = None,
                 checkpoint_every: float | None = None, keep_checkpoints: int = 3,
                 neighbour_map: bool | NeighbourMap | None = False,
                 map_input: str = "input") -> None:
        self.hidden_dims, self.latent_dim = hidden_dims, latent_dim
        self.activation, self.loss, self.code_activation = activation, loss, code_activation
        self.architecture, self.channels = architecture, channels
        self.corruption = corruption
        self.variational, self.beta, self.kl_warmup = variational, beta, kl_warmup
        self.sparsity, self.weight_decay = sparsity, weight_decay
        self.optimizer, self.learning_rate = optimizer, learning_rate
        self.schedule, self.warmup = schedule, warmup
        self.init_output_bias, self.epochs = init_output_bias, epochs
        self.batch_size, self.precision = batch_size, precision
        self.shuffle_buffer, self.input_scaling = shuffle_buffer, input_scaling
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.n_iter_no_change, self.tol = n_iter_no_change, tol
        self.random_state, self.verbose, self.device = random_state, verbose, device
        self.checkpoint_dir, self.checkpoint_every = checkpoint_dir, checkpoint_every
        self.keep_checkpoints = keep_checkpoints
        self.neighbour_map, self.map_input = neighbour_map, map_input

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, *, validation_data: Any = None,
            callbacks: Sequence[Callback] = (), resume: bool = False) -> AutoEncoder:
        """Train the autoencoder to reconstruct ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features) or (n_samples, *feature_shape)
            Anything ``autoencoders.inputs.as_rows`` takes: arrays, DataFrames, tensors,
            lists; data larger than memory as a source (``autoencoders.datasets.open``) or
            a memory-mapped ``.npy``, read in rounds of ``shuffle_buffer`` rows (the same
            batches as in memory). Under ``torchrun``, data-parallel (docs/larger-data.md).
        y : ignored
            Present for scikit-learn pipelines.
        validation_data : array-like, optional
            Data of the same feature shape, evaluated after every epoch (``val_loss`` in
            ``history_``) and used for early stopping. Without it, early stopping holds out
            ``validation_fraction`` of ``X`` (``autoencoders.inputs.holdout``, seeded by
            ``random_state``).
        callbacks : sequence of autoencoders.callbacks.Callback
            Extra event hooks (e.g. ``CSVLogger``).
        resume : bool, default False
            Continue the interrupted fit whose checkpoints are in ``checkpoint_dir``, with
            the same parameters and data. On CPU the result is bit for bit the fit never
            interrupted. Without it, ``fit`` deletes old checkpoints there and starts afresh.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For invalid parameters, input that ``autoencoders.inputs`` refuses (empty, 1-D,
            non-numeric, NaN, outside [0, 1] for BCE, another shape), too few rows for a map.
        TrainingDivergedError
            When the loss becomes NaN or infinite.
        TrainingInterrupted
            SIGINT or SIGTERM arrived while fitting with a ``checkpoint_dir``; a checkpoint
            was written first (a subclass of KeyboardInterrupt).
        FileNotFoundError
            ``resume=True`` and ``checkpoint_dir`` holds no readable checkpoint.
        CheckpointError
            ``resume=True`` with other parameters or data than the checkpointed fit (a
            subclass of ValueError).
        """
        params = self.get_params()
        device = select_device(self.device)
        recipe, want_map = device_recipe(params), self._map_wanted()  # check the parameters
        checkpointer, token = None, self.__dict__.get("_token")
        if self.checkpoint_dir is not None:
            checkpointer, token = fit_checkpointer(self.checkpoint_dir, self.checkpoint_every,
                                                   self.keep_checkpoints, token, resume)
        elif resume:
            raise ValueError("resume=True needs checkpoint_dir, the folder where the "
                             "interrupted fit wrote its checkpoints")
        check_wait_policy()
        rng = check_random_state(self.random_state)
        spec, X_train, X_val, in_unit = training_inputs(
            X, validation_data, self.input_scaling, unit=recipe.loss == "bce",
            hold_out=recipe.validation_fraction if recipe.early_stopping else None, rng=rng)
        architecture = architecture_from_params(params, spec.feature_shape, in_unit)
        if architecture.latent_dim >= spec.n_features:
            warnings.warn(f"latent_dim={architecture.latent_dim} is not smaller than the "
                          f"{spec.n_features} features: the code cannot compress them (and "
                          "PCA of as many components reconstructs them exactly); choose "
                          f"latent_dim < {spec.n_features}", UserWarning, stacklevel=2)
        recipe = device_recipe(params, len(X_train))  # optimiser, batch, length follow the rows
        self._map_wanted(len(X_train))  # enough rows for the map's graph, before training
        cbs = ([ProgressBar()] if self.verbose else []) + [cb.bind(self) for cb in callbacks]
        seed = int(rng.randint(np.iinfo(np.int32).max))
        # Parameters and data passed their checks: only now is an earlier fit replaced,
        # and put back if this one fails or is interrupted.
        try:
            with kept_on_failure(self):
                self._token = token
                self._set_input_spec(spec)
                self.architecture_, self.recipe_ = architecture, recipe
                model, rows = fit_model(architecture, recipe, as_tensor(X_train), as_tensor(X_val),
                                        seed=seed, device=device, callbacks=cbs,
                                        checkpointer=checkpointer, resume=resume)
                self.train_seconds_ = float(sum(r["seconds"] for r in rows))
                self.history_ = {k: [r[k] for r in rows] for k in HISTORY_FIELDS}
                self.best_epoch_ = best_epoch(self.history_, recipe.early_stopping)
                self.device_, self.model_ = str(device), model.cpu()
                self.__dict__.pop("neighbour_map_", None)
                if want_map:
                    self.neighbour_map_ = self._fit_map(X_train, rng)
        except BaseException as exc:  # its checkpoints there: this fit keeps its token,
            if not resume or isinstance(exc, TrainingInterrupted):  # a refused resume not
                self._token = token
            raise
        return self

    def _set_input_spec(self, spec: InputSpec) -> None:
        self.input_spec_ = spec
        self.feature_shape_ = spec.feature_shape
        self.n_features_in_ = spec.n_features
        if spec.feature_names is not None:
            self.feature_names_in_ = np.asarray(spec.feature_names, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)

    # ------------------------------------------------------------------ using the model
    @property
    def scaling_stats_(self) -> dict[str, NDArray[Any]]:
        """``input_spec_.stats``: min-max statistics, or empty."""
        return self.input_spec_.stats

    @property
    def _n_features_out(self) -> int:
        return self.architecture_.latent_dim

    def _prepare(self, X: Any, what: str = "X") -> NDArray[Any] | Source:
        """Check ``X`` against the fitted input spec; the model's input (array or source)."""
        return self.input_spec_.prepare(X, what=what)

    def _run(self, fn: Callable[[torch.Tensor], torch.Tensor], X_prepared: NDArray[Any] | Source
             ) -> _F32:
        device = select_device(self.device)
        self.model_.to(device)
        try:
            return batched_apply(fn, as_tensor(X_prepared), device).numpy()
        finally:
            self.model_.cpu()

    def transform(self, X: Any, *, sample: bool = False, random_state: _Seed = None) -> _F32:
        """Encode ``X`` into latent codes.

        Deterministic: a variational model gives the posterior mean. ``sample=True`` draws
        one code from each posterior instead (an explicit request; ``sample`` draws new data
        from the prior).

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)
            Or a source (``autoencoders.datasets.open``), read chunk by chunk; to write codes
            to a file chunk by chunk, see ``autoencoders.inference.write_outputs``.
        sample : bool, default False
            A variational model only: draw ``mean + σ · ε`` (reparameterisation) instead.
        random_state : int, RandomState or None
            Seeds the draws of ``sample``.

        Returns
        -------
        ndarray of float32, shape (n_samples, latent_dim)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            For a wrong number of features, empty, 1-D, NaN or infinite input;
            ``sample=True`` for a model that is not variational.
        """
        check_is_fitted(self, "model_")
        if sample:
            return self._posterior_draws(X, random_state)
        return self._run(self.model_.encode, self._prepare(X))

    def inverse_transform(self, Z: Any) -> _F32:
        """Decode latent codes into reconstructions.

        Parameters
        ----------
        Z : array-like, shape (n_samples, latent_dim)

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            In [0, 1] for a sigmoid output (uint8 images come back as intensities in [0, 1]);
            in the input's units for ``input_scaling="minmax"``.

        Raises
        ------
        ValueError
            When ``Z`` is not (n, latent_dim) or holds NaN or infinite values.
        """
        check_is_fitted(self, "model_")
        return self._decode(Z)

    def _decode(self, Z: Any, scaled: bool = False) -> _F32:
        R = self._run(self.model_.decode, check_codes(Z, self.architecture_.latent_dim))
        return R if scaled else self.input_spec_.unscale(R)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Save to a model folder (``autoencoders.persistence``); ``extra`` (JSON) goes
        under ``"extra"`` in ``config.json``. Returns the folder's path.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        OSError, ValueError
            When the folder cannot be written (what was there stays whole); FileExistsError
            when it holds a config.json, history.csv or model.safetensors that is not a
            saved model's (nothing is written); ValueError for an empty path.
        """
        check_is_fitted(self, "model_")
        record = ModelRecord(params=params_to_json(self.get_params(deep=False)),
                             architecture=self.architecture_,
                             recipe=self.recipe_, input_spec=self.input_spec_,
                             model=self.model_, history=self.history_,
                             train_seconds=self.train_seconds_, extra=extra,
                             neighbour_map=getattr(self, "neighbour_map_", None))
        return save_model(record, path, owner=self.__dict__.get("_token"))

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> AutoEncoder:
        """Load a model folder written by :meth:`save` (or a run folder), on CPU.

        Parameters
        ----------
        path : str or Path
        device : str, optional
            Where the loaded model runs. By default the one it was saved with when this
            machine has it, else "auto": a model trained on a GPU works on a CPU-only
            machine without a flag.

        Returns
        -------
        AutoEncoder
            Fitted, on the CPU until used on its ``device``.

        Raises
        ------
        FileNotFoundError, ValueError
            See :func:`autoencoders.persistence.load_model`; ValueError for a ``device``
            this machine does not have.
        """
        record = load_model(path)
        try:
            est = cls(**params_from_json(record.params, cls._get_param_names()))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        est.set_params(device=loaded_device(est.device, device))
        est.model_, est.architecture_ = record.model, record.architecture
        est.recipe_ = record.recipe
        est._set_input_spec(record.input_spec)
        est.train_seconds_, est.history_ = record.train_seconds, record.history
        est.best_epoch_ = best_epoch(record.history, record.recipe.early_stopping)
        if record.neighbour_map is not None:
            est.neighbour_map_ = record.neighbour_map
        return est

    def __getstate__(self) -> dict[str, Any]:
        # A copy (copy, deepcopy, pickle) is another estimator, as a clone or a loaded one
        # is: without this fit's owner token it can neither save over the fit's run folder
        # nor clear its checkpoints (a deep copy did both, hostile trial, 2026-12-04).
        state = dict(super().__getstate__())
        state.pop("_token", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]  # codes are always float32
        return tags
