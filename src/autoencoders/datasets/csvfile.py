"""CSV files: numbers only, an optional header row, an optional id column; read whole."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ._common import name_list
from .source import ArraySource

__all__ = ["read_csv"]


def read_csv(path, id_column="auto") -> ArraySource:
    """A CSV file of numbers: float32 (n, n_columns) features, with the ids of its id
    column.

    A first row that is not all numbers is a header. ``id_column`` names the column of row
    ids (never a feature); "auto" takes a column named ``id`` when there is one, None none.
    Ids that are all whole numbers become int64, others stay strings.

    Raises
    ------
    ValueError
        For text that is not UTF-8, malformed CSV, no data rows, rows of different lengths,
        non-numeric or empty cells (naming the file's line), or a named ``id_column`` that
        the header lacks.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the "
                         "CSV as UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    # (line number in the file, cells); errors name file lines, counting the header too.
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num} is not valid CSV ({exc})") from None
    header = None
    if rows and not _is_numeric_row(rows[0][1]):
        header, rows = [c.strip() for c in rows[0][1]], rows[1:]  # a header
    id_at = None
    if id_column == "auto":
        id_at = header.index("id") if header and "id" in header else None
    elif id_column is not None:
        if not header or id_column not in header:
            raise ValueError(f"{path}: no column {id_column!r} for the ids (header: "
                             f"{name_list(header) if header else 'none'}); pass the right "
                             "--id-column, or none")
        id_at = header.index(id_column)
    if not rows:
        raise ValueError(f"{path}: no data rows")
    width = len(rows[0][1])
    ids = [] if id_at is not None else None
    out = np.empty((len(rows), width - (id_at is not None)), dtype=np.float32)
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}: line {line} has {len(row)} cells, expected {width}; "
                             "every row needs the same number of columns")
        if id_at is not None:
            ids.append(row[id_at])
            row = row[:id_at] + row[id_at + 1:]
        try:
            out[i] = [float(cell) for cell in row]
        except ValueError:
            bad = next(c for c in row if not _is_number(c))
            raise ValueError(f"{path}: line {line} has a non-numeric or empty cell {bad!r}; "
                             "the CSV must hold numbers only (one header row and an id column "
                             "are allowed)") from None
    if ids is not None:
        ids = np.array(ids, dtype=object)
        if all(_is_number(v) and float(v).is_integer() for v in ids):
            ids = ids.astype(np.int64)
    return ArraySource(out, ids)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_numeric_row(row) -> bool:
    return all(_is_number(cell) for cell in row)
