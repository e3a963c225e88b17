"""``AutoEncoder``: a scikit-learn transformer whose codes are an autoencoder's bottleneck."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import scaling
from .callbacks import HISTORY_FIELDS, ProgressBar
from .checkpoints import Checkpointer
from .config import PRESETS, ArchitectureConfig, ScalingConfig, TrainingConfig
from .datasets.streaming import NpySource, Source, iter_chunks
from .losses import kl_divergence, per_sample_loss
from .models import build_model
from .training import batched_apply, flush_denormals, select_device, train
from .validation import as_array, check_features, check_samples, check_unit_interval

__all__ = ["AutoEncoder", "preset"]

_DEFAULT = PRESETS["default"]
#: Dense hidden widths when ``hidden_dims`` is None: the notebook's for "dense", none
#: between the convolutions and the code for "conv".
DEFAULT_HIDDEN_DIMS = {"dense": (400, 200, 100, 50), "conv": ()}
#: KL warm-up of a variational model when ``kl_warmup`` is None (measurements in the
#: docstring of ``AutoEncoder``).
DEFAULT_KL_WARMUP = 0.5


def preset(name: str) -> dict:
    """Estimator parameters of a named recipe: ``AutoEncoder(**preset("notebook"))``.

    Parameters
    ----------
    name : {"default", "notebook"}
        "notebook" is the reference Keras notebook's recipe: SGD, learning rate 1.5, batch 32,
        50 epochs, constant learning rate.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    r = PRESETS[name]
    return {"optimizer": r.optimizer, "learning_rate": r.learning_rate, "schedule": r.schedule,
            "warmup": r.warmup, "init_output_bias": r.init_output_bias, "epochs": r.epochs,
            "batch_size": r.batch_size}


def _int_tuple(values, name: str = "hidden_dims") -> tuple[int, ...]:
    """Sequence of whole numbers → tuple of int; ValueError otherwise (not silent rounding)."""
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of integers like (400, 200), "
                         f"got {values!r}") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name} must hold integers, got {values!r}")
    return tuple(int(v) for v in items)


class AutoEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """An autoencoder as a scikit-learn transformer: ``transform`` gives latent codes.

    One estimator for the family: dense or convolutional (``architecture``), denoising
    (``corruption``), variational (``variational``, ``beta``) and sparse (``sparsity``),
    in any combination; all share the training loop, checkpoints and run folder.

    The defaults are the reference notebook's architecture (784 → 400 → 200 → 100 → 50 → 25,
    ReLU, mirrored decoder, sigmoid output, binary cross-entropy; 842,009 parameters for
    28×28 input) trained with our recipe (Adam with betas (0.9, 0.99), learning rate 4e-3
    warmed up over the first 15 % of steps then cosine-decayed, output bias started at the
    logit of the mean pixel, batch 128, 8 epochs). For the notebook's own recipe use
    ``AutoEncoder(**preset("notebook"))``.

    Parameters
    ----------
    hidden_dims : tuple of int, optional
        Widths of the encoder's dense hidden layers; the decoder mirrors them. By default
        (400, 200, 100, 50) for "dense" and () for "conv" (the code follows the last
        convolution directly).
    latent_dim : int, default 25
        Size of the latent code (the bottleneck).
    activation : str, default "relu"
        Hidden-layer activation: relu, leaky_relu, elu, gelu, tanh, sigmoid or linear.
    loss : {"bce", "mse"}, default "bce"
        Reconstruction loss, per pixel. "bce" needs scaled input in [0, 1].
    code_activation : str, optional
        Activation of the latent code. By default "relu" for the dense model (the
        notebook's) and "linear" (signed codes) for the convolutional and variational ones:
        a variational code needs it, and for the convolutional model it was better here
        (benchmarks/variants.py on MNIST: after 10 epochs test MSE 0.00464 against 0.00525
        with ReLU; denoising after 13, σ = 0.3 noisy test images to 21.70 dB against 20.95).
    architecture : {"dense", "conv"}, default "dense"
        "conv": strided 3×3 convolutions (``channels`` filters each, each halving height and
        width) to a dense bottleneck, and transposed convolutions back; needs image input
        (n, H, W) or (n, C, H, W). See ``autoencoders.models.ConvAutoEncoder``.
    channels : tuple of int, default (32, 64)
        Filters of the convolutions ("conv" only): 28×28×1 → 14×14×32 → 7×7×64.
    corruption : str or (str, float), optional
        Train a denoising autoencoder: corrupt each training batch, reconstruct the clean
        one. "gaussian:0.3" (noise of standard deviation 0.3 in scaled units, clipped to
        [0, 1] for data in [0, 1]), "masking:0.25" (a quarter of the features set to 0),
        "salt-pepper:0.1" (a tenth set to 0 or 1); or a pair like ("gaussian", 0.3).
        Never applied by ``transform`` or ``reconstruct``.
    variational : bool, default False
        A variational autoencoder (Kingma & Welling 2014): the encoder gives a Gaussian's
        mean and log-variance, training draws the code by reparameterisation and adds the
        KL divergence to the standard normal prior. ``transform`` returns the mean;
        ``sample`` draws new data; ``elbo`` scores it.
    beta : float, default 1.0
        Weight of the KL term (β-VAE, Higgins et al. 2017); 1 trains on the ELBO.
    kl_warmup : float, optional
        Fraction of the steps over which the KL weight rises linearly from 0 to ``beta``;
        by default 0.5 for a variational model. Measured here (notebook architecture,
        8 epochs, ELBO per MNIST test image): 60,000 images, −123.8 nats without warm-up,
        −108.9 with 0.1, −103.8 with 0.5; 5,000 images, the model without warm-up or with
        0.1 collapsed to the mean image (−200.8), with 0.5 it learned (−155.3).
        ``beta`` and ``kl_warmup`` are refused for a model that is not variational.
    sparsity : float, default 0.0
        Weight of an L1 penalty on the code (its mean absolute value, added to the per-pixel
        loss); with the ReLU code it drives code units to exactly 0.
    optimizer : {"adam", "sgd"}, default "adam"
    learning_rate : float, optional
        Peak learning rate; by default 4e-3 for Adam and 1.5 (the notebook's) for SGD.
    schedule : {"cosine", "constant"}, default "cosine"
        Cosine decay of the learning rate to 0 over the run, or constant.
    warmup : float, default 0.15
        Fraction of the steps with a linear learning-rate warm-up before the schedule.
    init_output_bias : bool, default True
        Start the output bias at the logit of each pixel's training mean.
    epochs : int, default 8
    batch_size : int, default 128
        Samples per step; in a data-parallel run (``torchrun``) the global batch, which the
        ranks share.
    shuffle_buffer : int, default 65536
        Rows shuffled together each epoch: data of at most this many rows gets one
        permutation per epoch, larger data a block shuffle through a buffer of this many
        rows (``autoencoders.batching``), in memory and streamed alike.
    input_scaling : {"auto", "minmax", "none"}, default "auto"
        "auto" divides uint8 by 255 and leaves floats as they are; "minmax" maps each feature
        to [0, 1] with the training minimum and range; "none" leaves input unchanged. Saved
        with the model and applied again by every method.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (unless ``validation_data`` is
        given to ``fit``), stop after ``n_iter_no_change`` epochs without improvement and
        restore the best weights.
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
        history; see ``autoencoders.checkpoints``), written at the end of every epoch.
        With it, SIGINT/SIGTERM during ``fit`` finish the current step, write a checkpoint
        and raise ``TrainingInterrupted``; ``fit(X, resume=True)`` continues from there.
    checkpoint_every : float, optional
        Also checkpoint in the middle of an epoch every this many minutes (wall time).
    keep_checkpoints : int, default 3
        How many of the newest checkpoints to keep.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained autoencoder (on CPU after ``fit``).
    architecture_ : ArchitectureConfig
    recipe_ : TrainingConfig
    scaling_stats_ : dict of str to ndarray
        Min-max statistics for ``input_scaling="minmax"``, else empty.
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

    def __init__(self, hidden_dims=None, latent_dim=25, activation="relu",
                 loss="bce", *, code_activation=None, architecture="dense", channels=(32, 64),
                 corruption=None, variational=False, beta=1.0, kl_warmup=None, sparsity=0.0,
                 optimizer="adam", learning_rate=None,
                 schedule=_DEFAULT.schedule, warmup=_DEFAULT.warmup,
                 init_output_bias=_DEFAULT.init_output_bias, epochs=_DEFAULT.epochs,
                 batch_size=_DEFAULT.batch_size, shuffle_buffer=_DEFAULT.shuffle_buffer,
                 input_scaling="auto", early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, tol=1e-5, random_state=None,
                 verbose=1, device="auto", checkpoint_dir=None, checkpoint_every=None,
                 keep_checkpoints=3):
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.activation = activation
        self.loss = loss
        self.code_activation = code_activation
        self.architecture = architecture
        self.channels = channels
        self.corruption = corruption
        self.variational = variational
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.sparsity = sparsity
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.warmup = warmup
        self.init_output_bias = init_output_bias
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle_buffer = shuffle_buffer
        self.input_scaling = input_scaling
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.keep_checkpoints = keep_checkpoints

    # ------------------------------------------------------------------ configuration
    def _make_recipe(self) -> TrainingConfig:
        lr = self.learning_rate
        if lr is None:
            lr = PRESETS["notebook"].learning_rate if self.optimizer == "sgd" \
                else _DEFAULT.learning_rate
        return TrainingConfig(
            loss=self.loss, optimizer=self.optimizer, learning_rate=float(lr),
            schedule=self.schedule, warmup=self.warmup,
            init_output_bias=bool(self.init_output_bias), epochs=self.epochs,
            batch_size=self.batch_size, shuffle_buffer=self.shuffle_buffer,
            early_stopping=bool(self.early_stopping),
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change, tol=self.tol,
            corruption=self.corruption or "none", beta=float(self.beta),
            kl_warmup=self._kl_warmup(), sparsity=float(self.sparsity))

    def _kl_warmup(self) -> float:
        if not self.variational:
            if self.kl_warmup is not None or self.beta != 1.0:
                raise ValueError("beta and kl_warmup weight the KL term of a variational "
                                 "autoencoder; pass variational=True (--variational), or "
                                 "leave them out")
            return 0.0
        return DEFAULT_KL_WARMUP if self.kl_warmup is None else float(self.kl_warmup)

    def _make_architecture(self, feature_shape, in_unit: bool) -> ArchitectureConfig:
        code_activation = self.code_activation
        if code_activation is None:
            plain_dense = self.architecture == "dense" and not self.variational
            code_activation = "relu" if plain_dense else "linear"
        hidden = self.hidden_dims
        if hidden is None:
            hidden = DEFAULT_HIDDEN_DIMS.get(self.architecture, ())
        return ArchitectureConfig(
            input_shape=feature_shape, hidden_dims=_int_tuple(hidden),
            latent_dim=_int_tuple([self.latent_dim], "latent_dim")[0],
            activation=self.activation, code_activation=code_activation,
            output_activation="sigmoid" if in_unit else "linear",
            kind=self.architecture, channels=_int_tuple(self.channels, "channels"),
            variational=bool(self.variational))

    # ------------------------------------------------------------------ input handling
    def _prepare(self, X, *, reset: bool, what: str = "X", fitting: bool | None = None
                 ) -> np.ndarray:
        """Validate raw input; return the model's input (n, *feature_shape_): float32
        scaled, or uint8 pixels that the loops divide by 255 batch by batch. ``fitting``
        (default: ``reset``) says whether errors should suggest training options.
        A :class:`Source` (or a memory-mapped ``.npy`` array) gives a source that scales
        its rows as they are read."""
        if isinstance(X, np.memmap) and NpySource.can_wrap(X):
            X = NpySource.from_memmap(X)
        if isinstance(X, Source):
            return self._prepare_source(X, reset=reset, what=what,
                                        fitting=reset if fitting is None else fitting)
        arr = as_array(X, what)
        check_samples(arr, what)
        if reset:
            self.feature_shape_ = tuple(int(d) for d in arr.shape[1:])
            self.n_features_in_ = int(np.prod(self.feature_shape_))
            columns = getattr(X, "columns", None)
            if columns is not None and all(isinstance(c, str) for c in columns):
                self.feature_names_in_ = np.asarray(columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            self.scaling_stats_ = scaling.fit_scaling(self.input_scaling, arr)
        else:
            arr = check_features(arr, self.feature_shape_, what)
        scaled = scaling.model_input(arr, self.input_scaling, self.scaling_stats_)
        if scaled.dtype == np.uint8:
            return scaled  # pixels: finite and within [0, 1] once divided by 255
        if not np.isfinite(scaled).all():
            raise ValueError(f"{what} overflows float32 after scaling; rescale it first")
        if self.recipe_.loss == "bce":
            check_unit_interval(scaled, what, fitting=reset if fitting is None else fitting)
        return scaled

    def _prepare_source(self, source: Source, *, reset: bool, what: str, fitting: bool
                        ) -> Source:
        """:meth:`_prepare` for streamed data: the checks and statistics that need values
        come from one pass over the rows, skipped for uint8 pixels under "auto" scaling."""
        if not (np.issubdtype(source.dtype, np.integer)
                or np.issubdtype(source.dtype, np.floating)):
            raise ValueError(f"{what} has dtype {source.dtype}; it must hold real numbers")
        if len(source) == 0:
            raise ValueError(f"{what} is empty (0 samples); pass at least one sample")
        if reset:
            self.feature_shape_ = tuple(int(d) for d in source.feature_shape)
            self.n_features_in_ = int(np.prod(self.feature_shape_))
            self.__dict__.pop("feature_names_in_", None)
        else:
            # A view of the source's shape without its data, for check_features' message.
            check_features(np.broadcast_to(np.zeros((), source.dtype), source.shape),
                           self.feature_shape_, what)
            if source.feature_shape != self.feature_shape_:
                source = source.reshaped(self.feature_shape_)
        pixels = source.dtype == np.uint8 and self.input_scaling == "auto"
        in_unit = True
        if not pixels:  # uint8 pixels are finite and in [0, 1] once divided by 255
            lo, hi = _scan(source, what)
            if reset:
                self.scaling_stats_ = scaling.fit_scaling(
                    self.input_scaling, np.stack([lo, hi]).reshape(2, *self.feature_shape_))
            if self.recipe_.loss == "bce" and self.input_scaling != "minmax":
                check_unit_interval(np.array([lo.min(), hi.max()]), what, fitting=fitting)
            in_unit = self.input_scaling == "minmax" or (lo.min() >= 0 and hi.max() <= 1)
        elif reset:
            self.scaling_stats_ = {}
        if reset:  # decides the output activation in fit; validation data must not
            self._source_in_unit = in_unit
        kind, stats = self.input_scaling, self.scaling_stats_
        return source.map(lambda a: scaling.model_input(a, kind, stats),
                          np.uint8 if pixels else np.float32)

    def _device(self) -> torch.device:
        return select_device(self.device)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, validation_data=None, callbacks=(), resume=False):
        """Train the autoencoder to reconstruct ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features) or (n_samples, *feature_shape)
            Training data: numpy array, pandas DataFrame, torch tensor or nested lists.
            uint8 is scaled by 1/255 (``input_scaling="auto"``). float64 and non-contiguous
            arrays are accepted (converted to float32). Data larger than memory: a source
            from ``autoencoders.datasets.open`` (``.npy``, shards, Parquet, image folders)
            or a memory-mapped array (``np.load(path, mmap_mode="r")``), read in rounds of
            ``shuffle_buffer`` rows; the same seed trains on the same batches as the data
            in memory. In an initialised ``torch.distributed`` process group (a script
            under ``torchrun``) training is data-parallel (docs/larger-data.md).
        y : ignored
            Present for scikit-learn pipelines.
        validation_data : array-like, optional
            Data of the same feature shape, evaluated after every epoch (``val_loss`` in
            ``history_``) and used for early stopping.
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
            For invalid parameters; empty, 1-D, non-numeric, NaN or infinite input; input
            outside [0, 1] after scaling with the BCE loss; validation data of another shape.
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
        self.__dict__.pop("model_", None)
        recipe = self.recipe_ = self._make_recipe()
        ScalingConfig(self.input_scaling)  # validates the name
        if self.checkpoint_dir is not None:
            checkpointer = Checkpointer(self.checkpoint_dir, self.checkpoint_every,
                                        self.keep_checkpoints)
        elif resume:
            raise ValueError("resume=True needs checkpoint_dir, the folder where the "
                             "interrupted fit wrote its checkpoints")
        else:
            checkpointer = None
        device = self._device()
        X_train = self._prepare(X, reset=True)
        rng = check_random_state(self.random_state)
        X_val = None
        if validation_data is not None:
            X_val = self._prepare(validation_data, reset=False, what="validation_data",
                                  fitting=True)
        elif recipe.early_stopping:
            n_val = max(1, int(round(recipe.validation_fraction * len(X_train))))
            if len(X_train) - n_val < 1:
                raise ValueError("early_stopping needs at least 2 samples to hold out "
                                 "validation data; pass validation_data or more samples")
            if isinstance(X_train, Source):
                # Without a permutation of all rows, which would grow with the data.
                held = np.sort(np.random.default_rng(rng.randint(2**31)).choice(
                    len(X_train), n_val, replace=False))
                X_val, X_train = X_train.subset(held), X_train.without(held)
            else:
                order = rng.permutation(len(X_train))
                X_val, X_train = X_train[order[:n_val]], X_train[order[n_val:]]

        if isinstance(X_train, Source):
            in_unit = self._source_in_unit
        else:
            in_unit = X_train.dtype == np.uint8 or (float(X_train.min()) >= 0.0
                                                     and float(X_train.max()) <= 1.0)
        self.architecture_ = self._make_architecture(self.feature_shape_, in_unit)

        seed = int(rng.randint(np.iinfo(np.int32).max))
        cbs = ([ProgressBar()] if self.verbose else []) + list(callbacks)
        # Entered before the model is built, so that torch's worker threads, if this is the
        # process's first parallel work, are created with denormals flushed.
        with flush_denormals(device):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = build_model(self.architecture_)
            generator = torch.Generator().manual_seed(seed + 1)
            rows = train(model, _as_tensor(X_train), recipe, X_val=_as_tensor(X_val),
                         device=device, generator=generator, callbacks=cbs,
                         checkpointer=checkpointer, resume=resume)
        self.train_seconds_ = float(sum(r["seconds"] for r in rows))
        self.history_ = {k: [r[k] for r in rows] for k in HISTORY_FIELDS}
        self.device_ = str(device)
        self.model_ = model.cpu()
        return self

    # ------------------------------------------------------------------ using the model
    @property
    def _n_features_out(self):
        return self.latent_dim

    def _run(self, fn, X_prepared: np.ndarray) -> np.ndarray:
        device = self._device()
        self.model_.to(device)
        try:
            return batched_apply(fn, _as_tensor(X_prepared), device).numpy()
        finally:
            self.model_.cpu()

    def transform(self, X):
        """Encode ``X`` into latent codes.

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)
            Or a source from ``autoencoders.datasets.open``, read chunk by chunk (the codes
            are returned in memory; ``autoencoders.inference.write_outputs`` writes them to
            a file instead).

        Returns
        -------
        ndarray of float32, shape (n_samples, latent_dim)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            For a wrong number of features, empty, 1-D, NaN or infinite input.
        """
        check_is_fitted(self, "model_")
        return self._run(self.model_.encode, self._prepare(X, reset=False))

    def inverse_transform(self, Z):
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
        Z = as_array(Z, "Z")
        check_samples(Z, "Z")
        if Z.ndim != 2 or Z.shape[1] != self.architecture_.latent_dim:
            raise ValueError(f"Z has shape {Z.shape}; expected (n_samples, "
                             f"{self.architecture_.latent_dim}) latent codes from transform")
        R = self._run(self.model_.decode, np.ascontiguousarray(Z, dtype=np.float32))
        return scaling.unscale(R, self.input_scaling, self.scaling_stats_)

    def reconstruct(self, X, *, scaled: bool = False):
        """Encode and decode ``X`` in one pass: ``inverse_transform(transform(X))``.

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)
        scaled : bool, default False
            Return reconstructions in the model's scaled space (what :meth:`scale_input`
            gives for the input) instead of the input's units; they differ only for
            ``input_scaling="minmax"``.

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            Same units as :meth:`inverse_transform` unless ``scaled``.

        Raises
        ------
        ValueError
            As :meth:`transform`.
        """
        check_is_fitted(self, "model_")
        R = self._run(self.model_.reconstruct, self._prepare(X, reset=False))
        return R if scaled else scaling.unscale(R, self.input_scaling, self.scaling_stats_)

    def interpolate(self, x_from, x_to, steps: int = 10):
        """Decode evenly spaced points on the line between two samples' codes.

        Parameters
        ----------
        x_from, x_to : array-like, shape feature_shape_ (or (1, *feature_shape_))
            Two samples (e.g. two test images).
        steps : int, default 10
            Points on the line, both ends included (at least 2).

        Returns
        -------
        ndarray of float32, shape (steps, *feature_shape_)
            ``inverse_transform((1 − t) · z_from + t · z_to)`` for t = 0, 1/(steps−1), …, 1.

        Raises
        ------
        ValueError
            For steps < 2, or samples of the wrong shape.
        """
        check_is_fitted(self, "model_")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"steps must be an integer of at least 2, got {steps!r}")
        ends = []
        for name, x in (("x_from", x_from), ("x_to", x_to)):
            x = np.asarray(x)
            if x.shape == self.feature_shape_ or x.shape == (self.n_features_in_,):
                x = x[None]
            if x.ndim < 2 or len(x) != 1:
                raise ValueError(f"{name} must be one sample of shape {self.feature_shape_}, "
                                 f"got an array of shape {x.shape}")
            ends.append(self.transform(x))
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.inverse_transform((1 - t) * ends[0] + t * ends[1])

    def _check_variational(self, what: str) -> None:
        check_is_fitted(self, "model_")
        if not self.architecture_.variational:
            raise ValueError(f"{what} needs a variational autoencoder; this one was fitted "
                             "without (refit with variational=True, or fit --variational)")

    def sample(self, n_samples: int = 1, random_state=None):
        """Draw new data from a variational autoencoder: decode codes drawn from the prior
        N(0, I).

        Parameters
        ----------
        n_samples : int, default 1
        random_state : int, RandomState or None
            Seeds the codes drawn.

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            The decoder's mean output (pixel intensities in [0, 1] for a sigmoid output), in
            the input's units as :meth:`inverse_transform` gives them.

        Raises
        ------
        ValueError
            For a model that is not variational, or n_samples < 1.
        """
        self._check_variational("sample")
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.architecture_.latent_dim))
        return self.inverse_transform(Z.astype(np.float32))

    def elbo(self, X, random_state=0):
        """The evidence lower bound of each sample under a variational autoencoder, in nats.

        ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I)), with the Bernoulli likelihood of
        the BCE loss summed over the features and one code drawn from q per sample (an
        unbiased estimate; Kingma & Welling 2014, eq. 10). The ELBO is at most log p(x), so
        it is negative; −ELBO per image is the number VAE papers report on binarised MNIST
        (for grey-level pixels, as here, it is a bound for the continuous targets' BCE).

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_)
        random_state : int, default 0
            Seeds the codes drawn, so the same call gives the same numbers.

        Returns
        -------
        ndarray of float32, shape (n_samples,)
            Nats per sample.

        Raises
        ------
        ValueError
            For a model that is not variational or not trained with loss="bce".
        """
        self._check_variational("elbo")
        if self.recipe_.loss != "bce":
            raise ValueError("elbo needs the Bernoulli likelihood of loss='bce'; this model "
                             f"was trained with loss={self.recipe_.loss!r}")
        model = self.model_
        gen = torch.Generator(device=self._device()).manual_seed(int(random_state))

        def per_sample(xb):
            mean, log_var = model.encode_stats(xb)
            logits = model.decode_logits(model.sample_code(mean, log_var, gen))
            bce = per_sample_loss(logits, xb, "bce") * self.n_features_in_
            return -(bce + kl_divergence(mean, log_var))

        return self._run(per_sample, self._prepare(X, reset=False))

    def scale_input(self, X):
        """Validate ``X`` and scale it as the model sees it.

        Returns
        -------
        ndarray of float32, shape (n_samples, *feature_shape_)
            uint8 divided by 255 (``input_scaling="auto"``), min-max scaled, or unchanged.

        Raises
        ------
        ValueError
            As :meth:`transform`.
        """
        check_is_fitted(self, "model_")
        prepared = self._prepare(X, reset=False)
        if isinstance(prepared, Source):
            prepared = prepared.to_numpy()
        if prepared.dtype == np.uint8:
            return scaling.scale(prepared, self.input_scaling, self.scaling_stats_)
        return prepared

    def score_samples(self, X):
        """Reconstruction loss of each sample, usable as an anomaly score.

        Parameters
        ----------
        X : array-like, shape (n_samples, *feature_shape_) or (n_samples, n_features_in_)

        Returns
        -------
        ndarray of float32, shape (n_samples,)
            The training loss (BCE in nats, or squared error) averaged over each sample's
            pixels, in the model's scaled units. Higher means worse reconstructed, i.e. more
            anomalous. (Unlike scikit-learn's outlier detectors, higher is *less* normal.)
        """
        check_is_fitted(self, "model_")
        loss, out_act = self.recipe_.loss, self.architecture_.output_activation
        return self._run(lambda xb: per_sample_loss(self.model_(xb), xb, loss, out_act),
                         self._prepare(X, reset=False))

    def score(self, X, y=None):
        """Mean negative reconstruction loss per pixel (higher is better), as scikit-learn's
        model selection expects of a score.

        Returns
        -------
        float
        """
        return -float(self.score_samples(X).mean())

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Save to a model folder: ``model.safetensors`` and ``config.json``.

        See :func:`autoencoders.persistence.save_model`. Returns the folder's path.
        """
        from .persistence import save_model

        check_is_fitted(self, "model_")
        return save_model(self, path)

    @classmethod
    def load(cls, path) -> AutoEncoder:
        """Load a model folder written by :meth:`save` (or a run folder), on CPU.

        See :func:`autoencoders.persistence.load_model`.
        """
        from .persistence import load_model

        return load_model(path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags.preserves_dtype = ["float32"]  # codes are always float32
        return tags


def _as_tensor(X):
    """A prepared array as a tensor (sharing memory); a Source or None as it is."""
    return X if X is None or isinstance(X, Source) else torch.from_numpy(X)


def _scan(source: Source, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature minimum and maximum (float64, flat) of a source, in one pass that also
    rejects NaN and infinite values."""
    lo = hi = None
    for start, _, chunk in iter_chunks(source):
        flat = chunk.reshape(len(chunk), -1)
        if np.issubdtype(flat.dtype, np.floating) and not np.isfinite(flat).all():
            bad = start + int(np.argwhere(~np.isfinite(flat))[0][0])
            raise ValueError(f"{what} contains NaN or infinite values (first in sample {bad});"
                             " remove or impute them first")
        c_lo, c_hi = flat.min(axis=0).astype(np.float64), flat.max(axis=0).astype(np.float64)
        lo = c_lo if lo is None else np.minimum(lo, c_lo)
        hi = c_hi if hi is None else np.maximum(hi, c_hi)
    return lo, hi
