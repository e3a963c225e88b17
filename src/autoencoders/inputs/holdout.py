"""Holding rows out: the one rule for early stopping and the command line's test split."""

from __future__ import annotations

import numpy as np

from ..datasets.source import Source

__all__ = ["holdout", "split"]


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


def split(X, held: np.ndarray):
    """``(rows held, the other rows)`` of an array or a :class:`Source` (for a source, views
    of it), both in file order; ``held`` from :func:`holdout`."""
    if isinstance(X, Source):
        return X.subset(held), X.without(held)
    return X[held], np.delete(X, held, axis=0)

