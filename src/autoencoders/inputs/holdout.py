"""Holding rows out: the one rule for early stopping and the command line's test split; and
the training inputs of a fit."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from ..datasets.source import Source
from .spec import InputSpec

__all__ = ["holdout", "split", "training_inputs"]


def holdout(n: int, fraction: float, *, max_rows: int | None = None,
            seed: int = 0) -> np.ndarray:
    """The rows held out of ``n``: ``round(fraction · n)`` of them (at least 1, at most
    ``max_rows``), drawn without replacement by NumPy's ``default_rng(seed)`` and sorted.

    Drawn without a permutation of all rows (which would grow with the data), so that the
    rows left keep their order and streamed data is split as the same data in memory. Used
    by early stopping and by the command line's test split.

    Returns
    -------
    ndarray of int64, shape (k,), ascending

    Raises
    ------
    ValueError
        When ``fraction`` is not in (0, 1) or no row would be left.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"the fraction held out must be strictly between 0 and 1, got "
                         f"{fraction}")
    k = max(1, int(round(fraction * n)))
    if max_rows is not None:
        k = min(k, max_rows)
    if n - k < 1:
        raise ValueError(f"{n} sample(s): too few to hold {k} out and keep one to train on")
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


@overload
def split(X: NDArray[Any], held: np.ndarray) -> tuple[NDArray[Any], NDArray[Any]]: ...
@overload
def split(X: Source, held: np.ndarray) -> tuple[Source, Source]: ...
def split(X: NDArray[Any] | Source,
          held: np.ndarray) -> tuple[NDArray[Any], NDArray[Any]] | tuple[Source, Source]:
    """``(rows held, the other rows)`` of an array or a :class:`Source` (for a source, views
    of it), both in file order; ``held`` from :func:`holdout`."""
    if isinstance(X, Source):
        return X.subset(held), X.without(held)
    return X[held], np.delete(X, held, axis=0)



def training_inputs(X: Any, validation_data: Any, scaling: str, *, unit: bool,
                    hold_out: float | None, rng: np.random.RandomState
                    ) -> tuple[InputSpec, NDArray[Any] | Source, NDArray[Any] | Source | None,
                               bool]:
    """What a fit trains on: the input spec learnt from ``X``, the model inputs of the
    training rows and of the validation rows (``validation_data``, or ``hold_out`` of
    ``X`` held out by :func:`holdout`, seeded by a draw from ``rng``), each checked once.

    Parameters
    ----------
    X, validation_data : anything ``as_rows`` takes; validation_data may be None
    scaling : {"auto", "minmax", "none"}
    unit : bool
        The model takes [0, 1] (the BCE loss).
    hold_out : float or None
        Fraction held out for validation when there is no ``validation_data`` (early
        stopping); None holds nothing out.
    rng : numpy.random.RandomState
        Draws the hold-out's seed (only when rows are held out).

    Returns
    -------
    spec : InputSpec
    X_train : ndarray or Source
    X_val : ndarray, Source or None
    in_unit : bool
        As :meth:`InputSpec.fit`.

    Raises
    ------
    ValueError
        As :meth:`InputSpec.fit` and :meth:`InputSpec.check`; for fewer than 2 samples to
        hold out from.
    """
    spec, rows, in_unit = InputSpec.fit(X, scaling, unit=unit)
    X_train = spec.model_input(rows)
    X_val: NDArray[Any] | Source | None = None
    if validation_data is not None:
        X_val = spec.prepare(validation_data, fitting=True, what="validation_data")
    elif hold_out is not None:
        if len(X_train) < 2:
            raise ValueError("early_stopping needs at least 2 samples to hold out "
                             "validation data; pass validation_data or more samples")
        X_val, X_train = split(X_train, holdout(len(X_train), hold_out,
                                                seed=rng.randint(2**31)))
    return spec, X_train, X_val, in_unit
