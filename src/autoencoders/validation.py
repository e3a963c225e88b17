"""Input checks shared by the estimator's methods: every bad input gets a ValueError that says
what was wrong and what to do."""

from __future__ import annotations

import numpy as np

__all__ = ["as_array", "check_samples", "check_features", "check_unit_interval", "check_labels"]


def as_array(X, what: str = "X") -> np.ndarray:
    """Turn array-likes (lists, pandas DataFrames, torch tensors) into a numpy array.

    Returns
    -------
    ndarray
        Same values; dtype kept for numeric input (uint8 stays uint8 so it can be scaled
        by 1/255). Non-contiguous input is made contiguous later by the scaling step.

    Raises
    ------
    ValueError
        For sparse matrices, non-numeric values (strings, objects) and complex numbers.
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise ValueError(f"{what} is a sparse matrix; autoencoders need dense input: "
                         f"pass {what}.toarray()")
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # a torch tensor
        X = X.detach().cpu().numpy()
    elif hasattr(X, "to_numpy"):  # pandas / polars
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} could not be read as an array: {exc}; rows must all have "
                         "the same length") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {what} has dtype {arr.dtype}; pass "
                         "real numbers (e.g. the magnitude, np.abs)")
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    elif arr.dtype == object:  # e.g. mixed Python numbers: numeric if every cell converts
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise ValueError(f"{what} holds non-numeric values (strings or objects); convert "
                             "them to numbers first") from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what} has dtype {arr.dtype}; it must hold real numbers "
                         "(convert strings or categories to numbers first)")
    return arr


def check_samples(arr: np.ndarray, what: str = "X", first: int = 0) -> None:
    """Reject empty input, 0-D and 1-D arrays, and NaN or infinite values.

    ``first`` is the number of the array's first sample in a larger whole (a chunk of a
    file), so that messages name the sample in the file.

    Raises
    ------
    ValueError
        Naming the problem and the fix.
    """
    if arr.ndim < 2:
        raise ValueError(f"{what} must be 2-D or more, (n_samples, n_features) or "
                         f"(n_samples, height, width); got shape {arr.shape}. Reshape your "
                         f"data: {what}.reshape(1, -1) for a single sample")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples); pass at least one sample")
    if 0 in arr.shape[1:]:
        raise ValueError(f"{what} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                         "required; each sample needs at least one feature")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = first + np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[0][0]
        raise ValueError(f"{what} contains NaN or infinite values (first in sample {bad}); "
                         "remove or impute them first")


def check_features(arr: np.ndarray, feature_shape: tuple, what: str = "X",
                   owner: str = "AutoEncoder") -> np.ndarray:
    """Reshape ``arr`` to (n, *feature_shape), accepting the flat (n, n_features) form too.

    Raises
    ------
    ValueError
        When the number of features differs from the fitted one.
    """
    n_features = int(np.prod(feature_shape))
    if arr.shape[1:] == tuple(feature_shape):
        return arr
    if int(np.prod(arr.shape[1:])) == n_features:
        return arr.reshape(len(arr), *feature_shape)
    # The first clause is scikit-learn's wording, which its estimator checks look for.
    raise ValueError(f"{what} has {int(np.prod(arr.shape[1:]))} features, but {owner} is "
                     f"expecting {n_features} features as input (it was fitted on shape "
                     f"(n, {', '.join(map(str, feature_shape))}), got {arr.shape}); pass data "
                     "shaped like the training data"
                     + ("; resize images to the training size (--image-size HxW, or "
                        "read_input(..., image_size=(h, w)))" if len(feature_shape) == 2 else ""))


def check_unit_interval(arr: np.ndarray, what: str = "X", fitting: bool = True) -> None:
    """For the BCE loss: the scaled input must lie in [0, 1].

    Parameters
    ----------
    fitting : bool, default True
        Whether the data is being fitted (the fix is a training option) or given to a
        fitted model (the fix is to scale it like the training data).

    Raises
    ------
    ValueError
        With the range found and the ways out.
    """
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        fix = ("use input_scaling='minmax' (--input-scaling minmax) to map each feature to "
               "[0, 1], or loss='mse'") if fitting else (
               "the model was trained on input in [0, 1]: scale this data as the training "
               "data was (e.g. uint8 pixels, or values divided by the same maximum)")
        raise ValueError(f"{what} has values in [{lo:g}, {hi:g}] but the 'bce' loss needs "
                         f"[0, 1]; {fix}")


def check_labels(labels, n_samples: int, what: str = "labels") -> np.ndarray | None:
    """One label per sample: ``labels`` as a 1-D array of length ``n_samples``, or None.

    Raises
    ------
    ValueError
        When ``labels`` is not 1-D or its length differs from ``n_samples``.
    """
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one label per sample); got shape {arr.shape}")
    if len(arr) != n_samples:
        raise ValueError(f"{what} has {len(arr)} entries but there are {n_samples} samples; "
                         "pass one label per sample, in the same order")
    return arr
