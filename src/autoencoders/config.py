"""Frozen configurations of the architecture and the training recipe (the named recipes and
the translation of ``AutoEncoder``'s parameters into configs are ``autoencoders.params``).

Each config has one meaning per field and round-trips through JSON (``to_dict``/
``from_dict``); ``config.json`` in a run folder holds them under a ``format_version``. The
input's description (feature shape, scaling and its statistics) is
``autoencoders.inputs.InputSpec``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Self, cast

__all__ = ["FORMAT_VERSION", "MAP_FORMAT_VERSION", "MINMAX_FORMAT_VERSION", "ArchitectureConfig",
           "TrainingConfig", "check_scalar_types", "int_tuple", "is_real_number", "is_whole_number",
           "ACTIVATIONS", "LOSSES", "OPTIMIZERS", "PRECISIONS", "SCHEDULES", "ARCHITECTURES",
           "CORRUPTIONS", "parse_corruption"]

#: Version of the run-folder format (config.json + model.safetensors). Bump on any change
#: that an older reader would misread.
FORMAT_VERSION = 1
#: The version of a model folder that holds a 2-D map (``map.`` tensors, a ``map`` entry):
#: an older reader refuses it with a clear message instead of misreading it. Readers read
#: every version up to this one. 3 since 2026-12-03: the map's config names its hidden
#: activation (maps of version 2 are ReLU).
MAP_FORMAT_VERSION = 3
#: The version of a min-max scaled model folder that records which features were constant
#: in training (``scaling.constant``, since 2026-12-04): an older reader took it for an
#: incomplete file. Readers read every version up to this one.
MINMAX_FORMAT_VERSION = 4

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "linear")
LOSSES = ("bce", "mse")
OPTIMIZERS = ("adam", "sgd", "muon")
PRECISIONS = ("float32", "bfloat16")
SCHEDULES = ("constant", "cosine")
ARCHITECTURES = ("dense", "conv")
#: Input corruptions of a denoising autoencoder (Vincent et al. 2010, JMLR 11, section 4.1).
CORRUPTIONS = ("gaussian", "masking", "salt-pepper")
#: ``AutoEncoder.export``: file formats, parts of the model, raw input dtypes
#: (``autoencoders.export``; here so that the CLI's parser lists them without torch).
EXPORT_FORMATS = ("onnx", "torchscript")
EXPORT_PARTS = ("encoder", "decoder", "full", "map")
INPUT_DTYPES = ("float32", "uint8")


def parse_corruption(spec: Any) -> tuple[str, float] | None:
    """Read a corruption: None, "none", "gaussian:0.3", or a pair like ("masking", 0.25).

    Returns
    -------
    (kind, level) or None
        ``kind`` one of ``CORRUPTIONS``; ``level`` the noise's standard deviation (in the
        scaled input's units) for "gaussian", the fraction of features corrupted otherwise.

    Raises
    ------
    ValueError
        For an unknown kind, a missing or non-numeric level, a negative standard deviation,
        or a fraction outside (0, 1].
    """
    if spec is None or (isinstance(spec, str) and spec == "none"):
        return None
    if isinstance(spec, str):
        kind, sep, level_text = spec.partition(":")
        try:
            level = float(level_text) if sep else None
        except ValueError:
            level = None
    else:
        try:
            kind, level = spec
            level = float(level)
        except (TypeError, ValueError):
            kind, level = str(spec), None
    if kind not in CORRUPTIONS or level is None:
        raise ValueError(f"corruption must be 'none' or KIND:LEVEL with KIND one of "
                         f"{', '.join(CORRUPTIONS)} (e.g. 'gaussian:0.3', 'masking:0.25'), "
                         f"got {spec!r}")
    if kind == "gaussian" and not (level > 0 and math.isfinite(level)):
        raise ValueError(f"the Gaussian corruption's standard deviation must be positive, "
                         f"got {level}")
    if kind != "gaussian" and not 0 < level <= 1:
        raise ValueError(f"the {kind} corruption's level is the fraction of features "
                         f"corrupted, in (0, 1], got {level}")
    return kind, level


def is_whole_number(value: Any) -> bool:
    """Whether ``value`` is an integer of Python or NumPy, and not a bool: 2.0, 2.7, "2"
    and True are not (each would be taken silently by ``int()`` or a comparison)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real_number(value: Any) -> bool:
    """Whether ``value`` is a real number of Python or NumPy, and not a bool ("0.1" and
    True are not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_scalar_types(config: Any) -> None:
    """Make each number and bool field of a frozen dataclass ``config`` a Python value of
    its default's type, before any range check: NumPy scalars (grids of ``GridSearchCV``)
    and whole numbers where floats are due are converted; a string or a bool where a number
    is due, and anything but a bool where a switch is due, are refused. Without this,
    ``float("0.1")`` and ``float(True)`` would train silently, ``bool("no")`` is True and
    ``int(2.7)`` is 2. Integer fields of another type are left to the config's own range
    check, string fields to their choices.

    Raises
    ------
    ValueError
        Naming the field, the value and its type.
    """
    for f in fields(config):
        value, want = getattr(config, f.name), type(f.default)
        if getattr(value, "ndim", None) == 0 and getattr(value, "dtype", None) is not None:
            value = value.item()  # a NumPy scalar: np.float32, np.int64, np.bool_
        if value is None and "None" in str(f.type):  # an optional field (``float | None``)
            continue
        if want is float and is_real_number(value):
            value = float(value)
        elif want in (float, bool) and not isinstance(value, want):
            kind = "a number" if want is float else "True or False"
            raise ValueError(f"{f.name} must be {kind}, got {value!r} ({type(value).__name__})")
        object.__setattr__(config, f.name, value)  # frozen: set as __init__ does


def _typed_fields(cls: type[Any], data: Any) -> dict[str, Any]:
    """``data`` (JSON) as ``cls``'s fields, each of its default's type: lists become tuples
    of integers, ints become floats where floats are due; anything else is refused."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    defaults = {f.name: f.default for f in fields(cls)}
    unknown = set(data) - set(defaults)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}; the file was "
                         "written by a newer version of autoencoders, or damaged")
    out = {}
    for name, value in data.items():
        want = type(defaults[name])
        if want is tuple and isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            value = tuple(value)
        elif want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ValueError(f"{cls.__name__}: field {name!r} must be "
                             f"{'a list of integers' if want is tuple else want.__name__}, got "
                             f"{value!r}")
        out[name] = value
    return out


class _JSONMixin:
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fields (tuples become lists when dumped)."""
        return asdict(cast(Any, self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build from :meth:`to_dict`'s output.

        Raises
        ------
        ValueError
            For unknown fields, fields of the wrong type, or invalid values.
        """
        return cls(**_typed_fields(cls, data))


@dataclass(frozen=True)
class ArchitectureConfig(_JSONMixin):
    """An autoencoder's architecture: encoder, bottleneck, mirrored decoder.

    Attributes
    ----------
    input_shape : tuple of int
        Feature shape of one sample, e.g. ``(28, 28)`` or ``(784,)``; the decoder's output is
        reshaped to it. A convolutional model needs an image: (height, width) or
        (channels, height, width).
    kind : {"dense", "conv"}
        "dense": fully connected layers ``n_features → hidden_dims → latent_dim``.
        "conv": 3×3 convolutions of stride 2 with ``channels`` filters each (every one
        halves the height and width, rounding up), then dense layers ``hidden_dims`` to the
        code; the decoder mirrors it with transposed convolutions.
    hidden_dims : tuple of int
        Widths of the encoder's dense hidden layers (for "conv", those between the last
        convolution and the code; often none); the decoder uses them reversed.
    channels : tuple of int
        Filters of each strided convolution ("conv" only).
    variational : bool
        A variational autoencoder (Kingma & Welling 2014): the encoder gives the mean and
        log-variance of a diagonal Gaussian over the code; the code is the mean. Needs a
        linear code activation.
    latent_dim : int
        Size of the bottleneck (the latent code).
    activation : str
        Activation after every hidden layer, one of ``ACTIVATIONS``.
    code_activation : str
        Activation on the latent code. The reference notebook uses ReLU (a ``Dense(25,
        activation="relu")`` bottleneck).
    output_activation : {"sigmoid", "linear"}
        Applied to the decoder's last layer to give reconstructions: sigmoid for data in
        [0, 1], linear for unbounded data.

    References
    ----------
    The reference Keras notebook: Flatten → Dense 400 → 200 → 100 → 50 → 25 (ReLU), decoder
    Dense 50 → 100 → 200 → 400 → 784 (ReLU, sigmoid output), 842,009 parameters.
    """

    input_shape: tuple[int, ...] = (28, 28)
    hidden_dims: tuple[int, ...] = (400, 200, 100, 50)
    latent_dim: int = 25
    activation: str = "relu"
    code_activation: str = "relu"
    output_activation: str = "sigmoid"
    kind: str = "dense"
    # Measured (benchmarks/results/conv.md, MNIST, 8 epochs, one run): (16, 32) takes 1.72×
    # a dense epoch and 88 s to train, for test BCE 0.0785 and 5-NN 0.9648; (32, 64) 3.24×
    # and 221 s for 0.0753 and 0.9668 (the dense model: 0.0872 and 0.9546). At 20 epochs
    # (316 s) (16, 32) reached 0.0770 and 0.9678: its codes as good, its reconstructions
    # a little worse than (32, 64)'s in as many seconds.
    channels: tuple[int, ...] = (16, 32)
    variational: bool = False

    def __post_init__(self) -> None:
        check_scalar_types(self)
        if not self.input_shape or any(int(d) < 1 for d in self.input_shape):
            raise ValueError(f"input_shape must be positive sizes, got {self.input_shape}")
        if self.kind not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.kind!r}")
        if self.kind == "conv":
            if len(self.input_shape) not in (2, 3):
                raise ValueError(
                    f"a convolutional autoencoder needs images of shape (height, width) or "
                    f"(channels, height, width), got samples of shape {tuple(self.input_shape)}"
                    "; reshape flat rows to images (e.g. X.reshape(-1, 28, 28), and save "
                    "that array for the command line) or use the dense architecture")
            if not self.channels or any(int(c) < 1 for c in self.channels):
                raise ValueError(f"channels must be positive integers, got {self.channels}")
        if self.variational and self.code_activation != "linear":
            raise ValueError("a variational autoencoder's code is a Gaussian mean and needs "
                             f"code_activation='linear', got {self.code_activation!r}")
        if any(int(d) < 1 for d in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {self.hidden_dims}")
        if int(self.latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {self.latent_dim}")
        for name in ("activation", "code_activation"):
            if getattr(self, name) not in ACTIVATIONS:
                raise ValueError(f"{name} must be one of {ACTIVATIONS}, "
                                 f"got {getattr(self, name)!r}")
        if self.output_activation not in ("sigmoid", "linear"):
            raise ValueError("output_activation must be 'sigmoid' or 'linear', "
                             f"got {self.output_activation!r}")

    @property
    def n_features(self) -> int:
        """Number of input features, the product of ``input_shape``."""
        return math.prod(self.input_shape)


@dataclass(frozen=True)
class TrainingConfig(_JSONMixin):
    """A training recipe.

    Attributes
    ----------
    loss : {"bce", "mse"}
        Reconstruction loss, averaged per pixel (per feature) over the batch.
    optimizer : {"adam", "sgd", "muon"}
        Adam (Kingma & Ba 2015) with betas (0.9, ``beta2``), plain SGD without momentum
        (the reference notebook's Keras ``SGD``), or Muon for the hidden dense layers and
        Adam for the rest (``training.optim.MuonAdam``).
    learning_rate : float
        Peak learning rate.
    beta2 : float
        Adam's second-moment decay; 0.99 (Adam's usual 0.999 adapts more slowly) is part of
        our recipe for runs of a few epochs. The recipe as a whole is measured in
        ``benchmarks/results/recipe.md``; this one change was not measured alone.
    schedule : {"constant", "cosine"}
        Learning rate over the run: constant, or cosine decay from ``learning_rate`` to 0 at
        the last step (Loshchilov & Hutter 2017, SGDR, without restarts).
    warmup : float
        Fraction of all steps over which the learning rate rises linearly from
        ``learning_rate / warmup_steps`` to ``learning_rate`` before the schedule starts
        (Goyal et al. 2017). Measured here (benchmarks/results/recipe.md, seeds 0, 1, 2), 10
        epochs of Adam 3e-3 with the output bias initialised reached test BCE 0.0924, 0.0913,
        0.0895 with a 10 % warm-up and 0.0986, 0.0963, 0.1023 without.
    init_output_bias : bool
        Start the decoder's output bias at the logit of each feature's training mean (the
        mean itself for a linear output), so that the first steps learn structure rather
        than the average image (Karpathy 2019, "A recipe for training neural networks").
    epochs : int
        Passes over the training data.
    batch_size : int
        Samples per step.
    precision : {"float32", "bfloat16"}
        The forward pass in float32, or under bfloat16 autocast (matrix multiplies and
        convolutions in bf16; weights, gradients, optimiser state and loss in float32).
    early_stopping : bool
        Stop when the validation loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore the weights of the best epoch.
    validation_fraction : float
        Fraction of the training data held out for validation when ``early_stopping`` is on
        and no validation data is given.
    n_iter_no_change : int
        Patience of early stopping, in epochs.
    tol : float
        Least decrease of the validation loss (per pixel) that counts as an improvement.
    corruption : str
        "none", or the input corruption of a denoising autoencoder as KIND:LEVEL (see
        :func:`parse_corruption`), applied to training batches only; the target stays the
        clean input (Vincent et al. 2008, "Extracting and composing robust features with
        denoising autoencoders", ICML).
    beta : float
        Weight of the KL term of a variational autoencoder (β-VAE, Higgins et al. 2017);
        1 is the evidence lower bound.
    kl_warmup : float
        Fraction of all steps over which the KL weight rises linearly from 0 to ``beta``
        (Bowman et al. 2016, "Generating sentences from a continuous space", CoNLL).
    sparsity : float
        Weight λ of an L1 penalty on the code: λ × the mean absolute code value, added to
        the per-pixel loss (Ng 2011, "Sparse autoencoder", CS294A lecture notes, uses a KL
        target instead; L1 is Goodfellow et al. 2016, Deep Learning, section 14.2.1).
    weight_decay : float
        Decoupled weight decay λ (Loshchilov & Hutter 2019, "Decoupled weight decay
        regularization", ICLR: AdamW): each step multiplies every parameter by
        (1 − learning rate × λ), whatever the optimiser (AdamW, SGD's L2 term, Muon's own
        decay). 0 (the default) trains as before it existed.
    shuffle_buffer : int
        Rows shuffled together each epoch (see ``autoencoders.training.batching``): data sets of at
        most this many rows get one permutation of all rows per epoch; larger ones are
        shuffled in blocks of 4,096 rows, then row by row within rounds of about this many
        rows, which bounds the memory of streamed data. The default, 65,536 rows, is 51 MB
        of 784-byte rows.
    """

    loss: str = "bce"
    optimizer: str = "adam"
    # The defaults are our recipe ("default" preset): the fastest found here to the
    # notebook's test BCE 0.0956 (benchmarks/recipe.py: epochs 7, 6, 6 for seeds 0, 1, 2).
    learning_rate: float = 4e-3
    beta2: float = 0.99
    schedule: str = "cosine"
    warmup: float = 0.15
    init_output_bias: bool = True
    epochs: int = 8
    batch_size: int = 128
    precision: str = "float32"
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 5
    tol: float = 1e-5
    corruption: str = "none"
    beta: float = 1.0
    kl_warmup: float = 0.0
    sparsity: float = 0.0
    weight_decay: float = 0.0
    shuffle_buffer: int = 65536

    def __post_init__(self) -> None:
        check_scalar_types(self)
        parsed = parse_corruption(self.corruption)
        # One spelling per corruption, so that configs compare equal (resume checks them).
        object.__setattr__(self, "corruption",
                           "none" if parsed is None else f"{parsed[0]}:{parsed[1]:g}")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be a non-negative number, got {self.beta}")
        if not 0 <= self.kl_warmup <= 1:
            raise ValueError(f"kl_warmup must be a fraction in [0, 1], got {self.kl_warmup}")
        for name, value in (("sparsity", self.sparsity), ("weight_decay", self.weight_decay)):
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a non-negative number, got {value}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate}")
        for name in ("epochs", "batch_size", "n_iter_no_change", "shuffle_buffer"):
            value = getattr(self, name)
            if not is_whole_number(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.beta2 < 1:
            raise ValueError(f"beta2 must be in (0, 1), got {self.beta2}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must be a fraction in [0, 1), got {self.warmup}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError("validation_fraction must be strictly between 0 and 1, got "
                             f"{self.validation_fraction}")


def int_tuple(values: Any, name: str = "hidden_dims") -> tuple[int, ...]:
    """Sequence of whole numbers → tuple of int; ValueError otherwise (not silent rounding)."""
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of integers like (400, 200), "
                         f"got {values!r}") from None
    if not all(is_whole_number(v) for v in items):
        raise ValueError(f"{name} must hold integers, got {values!r}")
    return tuple(int(v) for v in items)
