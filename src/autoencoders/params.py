"""The named training recipes (presets), the default lengths and widths, and the translation
of ``AutoEncoder``'s parameters into the frozen configs of ``autoencoders.config``, with
the measured reason for each default."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from .config import PRECISIONS, ArchitectureConfig, TrainingConfig, int_tuple, parse_corruption

__all__ = ["PRESETS", "preset", "recipe_from_params", "architecture_from_params",
           "auto_epochs", "auto_optimizer", "DEFAULT_HIDDEN_DIMS", "DEFAULT_KL_WARMUP"]


#: Named training recipes. "notebook" is the reference notebook's exactly; "default" is ours;
#: "fast" is ours cut to the fewest seconds to the notebook's test BCE on MNIST-sized data:
#: the default's optimiser, batch and learning rate (Muon at batch 512 and 8e-3 there) over
#: a 3-epoch schedule, bf16 where the hardware has it (``preset``).
#: Measured (benchmarks/results/speed.md, AMD EPYC, 2 cores, AVX512-BF16, 2026-12-02, seeds
#: 0-2, the default linear code): the target in 2 epochs each, 5.5, 4.6, 4.7 s (4.5, 4.3,
#: 5.0 s in a run earlier that day), ending at 0.0911, 0.0896, 0.0890; the 8-epoch default
#: took 3 epochs, 9.2-11.0 s, ending at 0.080. With the notebook's ReLU code it needs 3
#: epochs and misses on seed 1 (benchmarks/results/recipe.md). By hand (seed 0, bf16): a
#: 2-epoch schedule ended at 0.0985, a 4-epoch one needed 3 epochs, batch 1024 (learning
#: rate 0.0113 or 0.016) ended at 0.102-0.105, 3 Newton-Schulz steps instead of 5 at 0.097.
PRESETS = {
    "default": TrainingConfig(),
    "notebook": TrainingConfig(optimizer="sgd", learning_rate=1.5, schedule="constant",
                               warmup=0.0, init_output_bias=False, epochs=50, batch_size=32),
    "fast": TrainingConfig(epochs=3),
}

#: The recipe fields a preset sets (the others keep the estimator's values).
PRESET_FIELDS = ("optimizer", "learning_rate", "schedule", "warmup", "init_output_bias",
                 "epochs", "batch_size", "precision")
#: Estimator parameters that are recipe fields of the same name (beta2 is not a parameter).
RECIPE_PARAMS = tuple(f.name for f in fields(TrainingConfig) if f.name != "beta2")
#: Dense hidden widths when ``hidden_dims`` is None: the notebook's for "dense", none
#: between the convolutions and the code for "conv".
DEFAULT_HIDDEN_DIMS = {"dense": (400, 200, 100, 50), "conv": ()}
#: KL warm-up of a variational model when ``kl_warmup`` is None. Measured here (notebook
#: architecture, 8 epochs, ELBO per MNIST test image): 60,000 images, −123.8 nats without
#: warm-up, −108.9 with 0.1, −103.8 with 0.5; 5,000 images, the model without warm-up or
#: with 0.1 collapsed to the mean image (−200.8), with 0.5 it learned (−155.3).
DEFAULT_KL_WARMUP = 0.5


#: ``optimizer="auto"`` picks Muon for a dense model with hidden layers trained on at least
#: this many rows, Adam otherwise (:func:`auto_optimizer`).
MUON_MIN_SAMPLES = 10_000
#: Each optimiser's batch and peak learning rate when ``batch_size`` and ``learning_rate``
#: are None: Adam's and Muon's are the fastest found here to the notebook's test BCE
#: (benchmarks/results/recipe.md, seeds 0-2: Muon at batch 512 and 8e-3 in 4, 4, 4 epochs,
#: Adam at batch 128 and 4e-3 in 7, 6, 6); SGD's learning rate is the notebook's.
DEFAULT_BATCH_SIZE = {"adam": PRESETS["default"].batch_size,
                      "sgd": PRESETS["default"].batch_size, "muon": 512}
DEFAULT_LEARNING_RATE = {"adam": PRESETS["default"].learning_rate,
                         "sgd": PRESETS["notebook"].learning_rate, "muon": 8e-3}
#: Training length when ``epochs`` is None: as many epochs as make ``AUTO_STEPS`` steps of
#: the optimiser, at least ``TrainingConfig().epochs`` (8) and at most ``MAX_AUTO_EPOCHS``.
#: 3,750 steps are Adam's 8 epochs of MNIST's 60,000 images at batch 128, the length tuned
#: in benchmarks/recipe.md (batch 256 or 512 in 8 epochs, with the learning rate scaled,
#: never reached the notebook's loss there); 940 are Muon's 8 epochs at batch 512, the same
#: images seen. 600 PNG images trained 8 epochs (40 steps) stopped at BCE 0.41 with grey
#: blobs for reconstructions, where 100 epochs reached MSE 0.0067.
AUTO_STEPS = {"adam": 3750, "sgd": 3750, "muon": 940}
#: A checkpoint and a held-out evaluation follow every epoch: tiny data sets get at most
#: this many.
MAX_AUTO_EPOCHS = 500


def auto_epochs(n_samples: int, batch_size: int, optimizer: str = "adam") -> int:
    """Epochs of a default-length run (``epochs=None``): as many as make the optimiser's
    ``AUTO_STEPS`` steps, between 8 and ``MAX_AUTO_EPOCHS``.

    Parameters
    ----------
    n_samples : int
        Training rows.
    batch_size : int
        Rows per step.
    optimizer : {"adam", "sgd", "muon"}, default "adam"

    Returns
    -------
    int
        Epochs, e.g. 8 for MNIST's 60,000 images (Adam at batch 128, Muon at 512).

    Raises
    ------
    KeyError
        For an optimiser not in ``AUTO_STEPS`` (``recipe_from_params`` checks it first).
    """
    steps_per_epoch = max(1, math.ceil(n_samples / batch_size))
    return min(MAX_AUTO_EPOCHS, max(TrainingConfig().epochs,
                                    math.ceil(AUTO_STEPS[optimizer] / steps_per_epoch)))


def auto_optimizer(params: dict[str, Any], n_samples: int | None) -> str:
    """The optimiser of ``optimizer="auto"``: "muon" for a plain dense model with hidden
    layers (Muon updates the hidden-to-hidden weight matrices) trained on at least
    ``MUON_MIN_SAMPLES`` rows; "adam" otherwise, and while ``n_samples`` is not known.
    Variational, denoising and sparse models keep Adam: Muon was not measured on them.

    Measured (benchmarks/results/default_recipe.md, the estimator's defaults, seeds 0-2,
    8 epochs each): Muon at batch 512 ended at test BCE 0.079-0.080 against Adam's
    0.087-0.088 on MNIST, 0.2731-0.2732 against 0.2765-0.2782 on Fashion-MNIST, and
    reached Adam's final loss in 4-5 epochs. Below it (one seed, default lengths): 5,000
    MNIST images 0.1184 against 0.1200, but scikit-learn's digits (1,500 rows, 3 steps an
    epoch at batch 512) 0.2743 against 0.2516 (benchmarks/results/default_recipe_small.md);
    10,000 keeps Muon to the sizes where it won on every seed.

    Parameters
    ----------
    params : dict
        ``AutoEncoder.get_params()``.
    n_samples : int or None
        Training rows, None while not known.

    Returns
    -------
    {"muon", "adam"}

    Raises
    ------
    ValueError
        For ``hidden_dims`` that are not integers or a corruption that cannot be parsed.
    """
    hidden = params["hidden_dims"]
    dense_hidden = params["architecture"] == "dense" and (
        hidden is None or len(int_tuple(hidden)) > 0)
    large = n_samples is not None and n_samples >= MUON_MIN_SAMPLES
    plain = (not params["variational"] and parse_corruption(params["corruption"]) is None
             and not params["sparsity"])
    return "muon" if dense_hidden and plain and large else "adam"


def preset(name: str) -> dict[str, Any]:
    """Estimator parameters of a named recipe: ``AutoEncoder(**preset("notebook"))``.

    Parameters
    ----------
    name : {"default", "notebook", "fast"}
        "notebook" is the reference Keras notebook's recipe: SGD, learning rate 1.5, batch 32,
        50 epochs, constant learning rate, and its ReLU code. "fast" reaches the notebook's
        test BCE in the fewest seconds on MNIST's 60,000 images with the default dense model
        (linear code): the default's optimiser, batch and learning rate for 3 epochs (Muon
        at batch 512 and 8e-3 on MNIST), ``precision="auto"`` (``PRESETS`` has the
        measurements). Its 3 epochs are 351 steps there and fewer on
        smaller data (72 steps and test BCE 0.139 on 12,000 MNIST images, 3 steps on 360
        rows), where "default", whose length follows the data, is the recipe to use.

    Returns
    -------
    dict
        ``PRESET_FIELDS`` of the recipe, by the estimator's parameter names; "default" and
        "fast" leave the optimiser to the data (``optimizer="auto"``) and its batch and
        learning rate to the optimiser (None: :func:`recipe_from_params`), "default" its
        length too; "notebook" adds ``code_activation="relu"``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    params = {k: getattr(PRESETS[name], k) for k in PRESET_FIELDS}
    if name != "notebook":  # the optimiser and its batch and learning rate follow the data
        params.update(optimizer="auto", learning_rate=None, batch_size=None)
    if name == "default":  # and so does the length
        params["epochs"] = None
    elif name == "fast":
        params["precision"] = "auto"
    else:
        params["code_activation"] = "relu"  # the notebook's bottleneck
    return params


def recipe_from_params(params: dict[str, Any], n_samples: int | None = None, *,
                       native_bf16: bool = False) -> TrainingConfig:
    """The training recipe of ``AutoEncoder`` parameters (``get_params()``).

    ``precision="auto"`` is "bfloat16" where the training device multiplies bf16 in hardware
    (``native_bf16``; ``runtime.device_recipe`` asks the device), else "float32": emulated
    bf16 is slower than float32. Measured here (AMD EPYC, AVX512-BF16, 2 cores, the default
    recipe on MNIST, 2026-12-02, ``benchmarks/speed.py``): 7.1 s to the notebook's test BCE
    against 8.5 s in float32 in one run, 9.2 s against 9.2 s in a noisier one (the committed
    speed.md); final test BCE within 0.0002 on three seeds (benchmarks/results/recipe.md).

    ``optimizer="auto"`` is :func:`auto_optimizer`; ``batch_size=None`` and
    ``learning_rate=None`` are the optimiser's own (``DEFAULT_BATCH_SIZE``,
    ``DEFAULT_LEARNING_RATE``: 128 and 4e-3 for Adam, 512 and 8e-3 for Muon, 128 and the
    notebook's 1.5 for SGD); ``epochs=None`` is :func:`auto_epochs` of ``n_samples``
    training rows (8 when they are not known yet); ``corruption=None`` is "none";
    ``kl_warmup=None`` is ``DEFAULT_KL_WARMUP`` for a variational model; NumPy scalars
    are taken as Python ones (grids of ``GridSearchCV`` are often NumPy arrays), whole
    numbers as floats where floats are due (:func:`~autoencoders.config.check_scalar_types`).

    Raises
    ------
    ValueError
        For invalid values, and for ``beta`` or ``kl_warmup`` without ``variational``.
    """
    values = {k: params[k] for k in RECIPE_PARAMS}
    if values["precision"] not in (*PRECISIONS, "auto"):
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, auto; got "
                         f"{values['precision']!r}")
    if values["precision"] == "auto":
        values["precision"] = "bfloat16" if native_bf16 else "float32"
    if values["optimizer"] not in ("auto", *AUTO_STEPS):
        raise ValueError(f"optimizer must be one of auto, {', '.join(AUTO_STEPS)}; got "
                         f"{values['optimizer']!r}")
    if values["optimizer"] == "auto":
        values["optimizer"] = auto_optimizer(params, n_samples)
    if values["batch_size"] is None:
        values["batch_size"] = DEFAULT_BATCH_SIZE[values["optimizer"]]
    if values["epochs"] is None:
        values["epochs"] = (TrainingConfig().epochs if n_samples is None else
                            auto_epochs(n_samples, values["batch_size"], values["optimizer"]))
    if values["learning_rate"] is None:
        values["learning_rate"] = DEFAULT_LEARNING_RATE[values["optimizer"]]
    if not params["variational"]:
        if params["kl_warmup"] is not None or params["beta"] != 1.0:
            raise ValueError("beta and kl_warmup weight the KL term of a variational "
                             "autoencoder; pass variational=True (--variational), or "
                             "leave them out")
        values["kl_warmup"] = 0.0
    elif values["kl_warmup"] is None:
        values["kl_warmup"] = DEFAULT_KL_WARMUP
    # TrainingConfig checks every value's type and range, and takes integers as floats.
    return TrainingConfig(**{**values, "corruption": values["corruption"] or "none"})


def architecture_from_params(params: dict[str, Any], feature_shape: tuple[int, ...],
                             in_unit: bool) -> ArchitectureConfig:
    """The architecture of ``AutoEncoder`` parameters for data of ``feature_shape``.

    ``code_activation=None`` is linear; ``hidden_dims=None`` is ``DEFAULT_HIDDEN_DIMS``; the
    output is a sigmoid when the scaled training data lies in [0, 1] (``in_unit``), else
    linear.

    Raises
    ------
    ValueError
        For invalid values (non-integer widths included).
    """
    kind, variational = params["architecture"], params["variational"]
    code_activation = params["code_activation"]
    # Linear by default. A variational code needs it. The dense model with our recipe, seeds
    # 0-2 on MNIST (benchmarks/results/quality.md, part 5): 0 dead units of 25 against 7-8
    # with ReLU, test BCE 0.0878 against 0.0926, 5-NN 0.969 against 0.963, trustworthiness
    # 0.997 against 0.994, a linear probe 0.916 against 0.919, at the same cost. The conv
    # model: test MSE 0.00464 against 0.00525 after 10 epochs (benchmarks/variants.py).
    if code_activation is None:
        code_activation = "linear"
    hidden = params["hidden_dims"]
    if hidden is None:
        hidden = DEFAULT_HIDDEN_DIMS.get(kind, ())
    return ArchitectureConfig(
        input_shape=tuple(feature_shape), hidden_dims=int_tuple(hidden),
        latent_dim=int_tuple([params["latent_dim"]], "latent_dim")[0],
        activation=params["activation"], code_activation=code_activation,
        output_activation="sigmoid" if in_unit else "linear",
        kind=kind, channels=int_tuple(params["channels"], "channels"),
        variational=variational)

