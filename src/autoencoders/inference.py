"""Codes and reconstructions of data larger than memory, written chunk by chunk to a file."""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .datasets import ArrayWriter
from .datasets.source import ArraySource, Source, iter_chunks
from .inputs import as_rows, named

if TYPE_CHECKING:
    from .estimator import AutoEncoder

__all__ = ["write_outputs", "output_columns", "map_columns", "Highest", "OUTPUTS",
           "SCORE_COLUMN"]

#: What :func:`write_outputs` can write: the estimator method that makes it.
OUTPUTS = {"codes": "transform", "reconstructions": "reconstruct", "map": "map",
           "scores": "score_samples"}
#: The column of anomaly scores in a .csv/.parquet output.
SCORE_COLUMN = "anomaly_score"


def output_columns(estimator: AutoEncoder, output: str) -> list[str] | None:
    """Column names of an output table: the codes as Python names them
    (``get_feature_names_out``: autoencoder0, ...), reconstructions under the training
    table's column names (f0, ... without them), the map as x, y, the scores as
    ``anomaly_score``; None for a model without the map asked for."""
    if output == "codes":
        return [str(c) for c in estimator.get_feature_names_out()]
    if output == "reconstructions":
        names = getattr(estimator, "feature_names_in_", None)
        return ([str(c) for c in names] if names is not None else
                [f"f{i}" for i in range(math.prod(estimator.feature_shape_))])
    if output == "map":
        mapper = getattr(estimator, "neighbour_map_", None)
        return None if mapper is None else map_columns(mapper.n_components)
    return [SCORE_COLUMN]


def map_columns(n_components: int) -> list[str]:
    """Names of map coordinates: x, y for a 2-D map, else map0, map1, ..."""
    return ["x", "y"] if n_components == 2 else [f"map{i}" for i in range(n_components)]


def write_outputs(estimator: AutoEncoder, X: Any, path: str | os.PathLike[str], *,
                  output: str = "codes", batch_size: int = 65536,
                  id_name: str | None = None, progress: bool = False, what: str = "X",
                  on_chunk: Callable[[int, int, Any, NDArray[Any] | None], object] | None
                  = None) -> ArrayWriter:
    """Encode (or reconstruct) ``X`` chunk by chunk into ``path``, with bounded memory.

    Reads ``batch_size`` rows, runs the fitted ``estimator`` on them and appends the result
    to ``path`` (``.npy``, ``.csv`` or ``.parquet``; atomic: the file appears complete or
    not at all). The rows' ids, when ``X`` has them, are the first column of a ``.csv`` or
    ``.parquet``. This is what ``autoencoders embed`` and ``reconstruct`` do; it also runs
    as one task per partition under Dask or Ray (docs/larger-data.md).

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted.
    X : Source or array, shape (n, *feature_shape)
        A streaming source (``autoencoders.datasets.open``) or an array in memory.
    path : str or Path
        The output file.
    output : {"codes", "reconstructions", "map", "scores"}
        float32 codes (n, latent_dim), float32 reconstructions of the model's feature
        shape (``estimator.feature_shape_``) in the input's units, float32 coordinates
        on the model's 2-D map (n, 2), or float32 anomaly scores (n,)
        (``score_samples``). A table's columns are named by :func:`output_columns`.
    batch_size : int, default 65536
        Rows per chunk; memory grows with it (65,536 rows of 784 uint8 pixels are 51 MB in,
        and 205 MB of float32 reconstructions out).
    id_name : str, optional
        Name of the id column written; by default the source's own id column, or "id".
    progress : bool, default False
        A progress bar (rows) on stderr.
    what : str, default "X"
        How errors name the input (a file name).
    on_chunk : callable, optional
        Called as ``on_chunk(start, stop, result, ids)`` after each chunk of rows
        ``start:stop`` is written (ids None without them); :class:`Highest` is one.

    Returns
    -------
    ArrayWriter
        The finished writer: ``shape`` (as stored) and ``ids_dropped`` (ids that a ``.npy``
        could not hold).

    Raises
    ------
    ValueError
        For an unknown ``output`` or suffix, and for rows the estimator refuses (NaN,
        values outside [0, 1] for a BCE model, the wrong number of features), naming
        ``what`` and the row in ``X`` (each chunk is checked once, by the estimator).
    OSError
        When ``path`` cannot be written; a file already there is left intact.
    """
    from tqdm import tqdm  # type: ignore[import-untyped]

    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    apply = getattr(estimator, OUTPUTS[output])
    data = as_rows(X, what).data  # refuses empty input
    source = data if isinstance(data, Source) else ArraySource(data)
    id_name = id_name or getattr(source, "id_column", None) or "id"
    with ArrayWriter(path, len(source), columns=output_columns(estimator, output),
                     id_name=id_name) as writer, \
            tqdm(total=len(source), unit="rows", desc=output, file=sys.stderr,
                 disable=not progress) as bar:
        said: set[str] = set()
        for start, stop, chunk in iter_chunks(source, batch_size):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = apply(named(chunk, what, start, source.feature_names))
            for w in caught:  # each once, not once a chunk (30 times, a hostile trial)
                if str(w.message) not in said:
                    said.add(str(w.message))
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            ids = source.ids(np.arange(start, stop))
            writer.write(np.asarray(result), ids)
            if on_chunk is not None:
                on_chunk(start, stop, result, ids)
            bar.update(stop - start)
    return writer



class Highest:
    """The ``n`` highest values seen chunk by chunk, with their row numbers and ids: memory
    for ``n`` rows, whatever the data's size. An ``on_chunk`` hook of :func:`write_outputs`.

    Parameters
    ----------
    n : int
        How many rows to keep (≥ 1).

    Attributes
    ----------
    rows : list of (int, id or None, float)
        Row number, id and value, the highest value first; ties keep the earlier row.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.rows: list[tuple[int, Any, float]] = []

    def __call__(self, start: int, stop: int, values: ArrayLike,
                 ids: NDArray[Any] | None = None) -> None:
        values = np.asarray(values).reshape(-1)
        best = np.argsort(-values, kind="stable")[:self.n]
        new = [(start + int(i), None if ids is None else ids[i], float(values[i]))
               for i in best]
        # sorted() is stable: on equal values the earlier rows (kept before) stay first.
        self.rows = sorted(self.rows + new, key=lambda r: -r[2])[:self.n]
