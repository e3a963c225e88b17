"""Codes and reconstructions of data larger than memory, written chunk by chunk to a file."""

from __future__ import annotations

import sys

import numpy as np

from .datasets import ArrayWriter
from .datasets.source import ArraySource, Source, iter_chunks
from .inputs import as_rows, named

__all__ = ["write_outputs", "OUTPUTS"]

#: What :func:`write_outputs` can write: the estimator method that makes it.
OUTPUTS = {"codes": "transform", "reconstructions": "reconstruct", "map": "map"}


def write_outputs(estimator, X, path, *, output: str = "codes", batch_size: int = 65536,
                  id_name: str | None = None, progress: bool = False,
                  what: str = "X") -> ArrayWriter:
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
    output : {"codes", "reconstructions", "map"}
        float32 codes (n, latent_dim), float32 reconstructions of the model's feature
        shape (``estimator.feature_shape_``) in the input's units, or float32 coordinates
        on the model's 2-D map (n, 2).
    batch_size : int, default 65536
        Rows per chunk; memory grows with it (65,536 rows of 784 uint8 pixels are 51 MB in,
        and 205 MB of float32 reconstructions out).
    id_name : str, optional
        Name of the id column written; by default the source's own id column, or "id".
    progress : bool, default False
        A progress bar (rows) on stderr.
    what : str, default "X"
        How errors name the input (a file name).

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
    from tqdm import tqdm

    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    apply = getattr(estimator, OUTPUTS[output])
    data = as_rows(X, what).data  # refuses empty input
    source = data if isinstance(data, Source) else ArraySource(data)
    id_name = id_name or getattr(source, "id_column", None) or "id"
    with ArrayWriter(path, len(source), id_name=id_name) as writer, \
            tqdm(total=len(source), unit="rows", desc=output, file=sys.stderr,
                 disable=not progress) as bar:
        for start, stop, chunk in iter_chunks(source, batch_size):
            result = apply(named(chunk, what, numbers=start))
            writer.write(np.asarray(result), source.ids(np.arange(start, stop)))
            bar.update(stop - start)
    return writer
