"""CSV files: numbers only, an optional header row, an optional id column; read whole."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._common import check_labels_present, check_unique_names, name_list
from .source import ArraySource

__all__ = ["read_csv"]


def read_csv(path: str | os.PathLike[str], id_column: str | None = "auto",
             label_column: str | None = None) -> ArraySource:
    """A CSV file of numbers: float32 (n, n_columns) features, with the ids of its id
    column, the labels of its label column and the header's names of the feature columns
    (``ArraySource.feature_names``; None without a header).

    A first row that is not all numbers, or that numbers the columns 0, 1, 2, … (pandas'
    ``to_csv(index=False)`` of an array), is a header. ``id_column`` names the column of row
    ids; "auto" takes a column named ``id`` when there is one, None none. ``label_column``
    names a column of labels (class names or numbers). Neither is ever a feature; ids and
    labels that are all whole numbers become int64, others stay strings.

    With pyarrow installed, its reader (one thread) reads plain files (numbers in every
    feature column): 10,000 × 784 MNIST pixels in 0.74× the time and half the memory
    (``benchmarks/results/read_csv.md``); anything else goes to the reader below, which reads
    the same files to the same arrays and names what is wrong with the others.

    Raises
    ------
    ValueError
        For text that is not UTF-8, malformed CSV, no data rows, repeated header names, a
        row with more or fewer cells than the header (or, without one, than the first row),
        non-numeric or empty cells (naming the file's line and the column, and
        ``--id-column`` when a whole column holds text), or a named column that the header
        lacks. A file whose first row holds ';' or a tab (separated by them, not commas),
        and numbers written with a comma ("1,000", "0,5"), are named as such.
    """
    path = Path(path)
    fast = _read_with_pyarrow(path, id_column, label_column)
    if fast is not None:
        return fast
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
    header, first = None, rows[0] if rows else None
    if first is not None and _is_header(first[1]):
        header, rows = [c.strip() for c in first[1]], rows[1:]  # a header
        check_unique_names(header, path)
    id_at = _column(path, header, "id" if id_column == "auto" else id_column,
                    "the ids", "--id-column", required=id_column != "auto")
    label_at = _column(path, header, label_column, "the labels", "--label-column")
    if not rows:
        raise ValueError(f"{path}: no data rows")
    assert first is not None  # there are rows
    width = len(first[1])  # the header's, or the first row's
    aside = [i for i in (id_at, label_at) if i is not None]
    features = [i for i in range(width) if i not in aside]
    kept: dict[int, list[str]] = {i: [] for i in aside}
    out = np.empty((len(rows), len(features)), dtype=np.float32)
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(_separated(path, first, row)
                             or _ragged(path, header, first[0], line, row, width))
        for i in aside:
            kept[i].append(row[i])
        try:
            out[r] = [float(row[i]) for i in features]
        except ValueError:
            col = next(i for i in features if not _is_number(row[i]))
            raise ValueError(_separated(path, first, row)
                             or _non_numeric(path, header, rows, line, col)) from None
    ids = None if id_at is None else _as_values(kept[id_at])
    labels = (None if label_at is None or label_column is None else
              check_labels_present(_as_values(kept[label_at]), path, label_column))
    return ArraySource(out, ids, labels, None if header is None else
                       [header[i] for i in features])


def _read_with_pyarrow(path: Path, id_column: str | None,
                       label_column: str | None) -> ArraySource | None:
    """pyarrow's reader for a plain file, or None (no pyarrow, or anything the reference
    reader must look at: a missing column, text or empty cells in a feature column, ragged
    rows, duplicate or padded names)."""
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:
        return None
    try:
        header = csv_header(path)
    except OSError:
        return None
    id_name = ("id" if header and "id" in header else None) if id_column == "auto" \
        else id_column
    aside = [c for c in (id_name, label_column) if c is not None]
    if aside and (header is None or not set(aside) <= set(header)):
        return None
    if header is not None and len(set(header)) != len(header):
        return None
    data = path.read_bytes()
    if b"0x" in data or b"0X" in data:  # pyarrow reads 0x10 as 16; the reference refuses
        return None
    try:
        # One thread: Arrow's thread pool, started by a threaded read, can abort the
        # process at exit (std::terminate, exit 134: apache/arrow#34314); 3 of 16 quick
        # exits after a read did on 2 loaded cores, 0 of 24 with one thread (2026-12-04).
        table = pacsv.read_csv(pa.py_buffer(data), read_options=pacsv.ReadOptions(
            autogenerate_column_names=header is None, use_threads=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(aside,
                                                                            pa.string())))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
        return None
    if header is not None and table.column_names != header:
        return None  # names with spaces around them: the reference reader strips them
    features = [c for c in table.column_names if c not in aside]
    columns = [table.column(c) for c in features]
    if not features or table.num_rows == 0 or any(
            col.null_count or not (pa.types.is_integer(col.type)
                                   or pa.types.is_floating(col.type)) for col in columns):
        return None
    X = np.empty((table.num_rows, len(features)), dtype=np.float32)
    for j, col in enumerate(columns):
        X[:, j] = col.to_numpy()
    ids = None if id_name is None else _as_values(table.column(id_name).to_pylist())
    labels = (None if label_column is None else check_labels_present(
        _as_values(table.column(label_column).to_pylist()), path, label_column))
    return ArraySource(X, ids, labels, None if header is None else features)


def _column(path: Path, header: list[str] | None, name: str | None, what: str, option: str,
            required: bool = True) -> int | None:
    """The index of column ``name`` in ``header`` (None for no name, or a missing name that
    is not ``required``)."""
    if name is None:
        return None
    if header and name in header:
        return header.index(name)
    if not required:
        return None
    raise ValueError(f"{path}: no column {name!r} for {what} (header: "
                     f"{name_list(header) if header else 'none'}); pass the right {option}, "
                     "or none")


def _separated(path: Path, first: tuple[int, list[str]], row: list[str]) -> str | None:
    """The message for a file separated by ';' or tabs rather than commas, which the csv
    module reads as one column (or splits at decimal commas): a cell of its ``first`` row
    (line number, cells) holds one, and so does the failing ``row`` unless the first is
    one cell; else None (a comma-separated file with a ';' in a name)."""
    line, cells = first
    for sep, said, how in ((";", "';'", "sep=';', decimal=','"),
                           ("\t", "tabs", "sep='\\t'")):
        cell = next((c for c in cells if sep in c), None)
        if cell is not None and (len(cells) == 1 or any(sep in c for c in row)):
            shown = cell if len(cell) <= 40 else cell[:40] + "…"
            return (f"{path}: seems separated by {said}, not commas (line {line}: "
                    f"{shown!r}), and autoencoders reads comma-separated files; convert it, "
                    f"e.g. with pandas: pd.read_csv(path, {how}).to_csv(new_path, "
                    "index=False)")
    return None


def _ragged(path: Path, header: list[str] | None, first: int, line: int, row: list[str],
            width: int) -> str:
    """The message for a row of another length than the header (or the first row, on
    line ``first``) and what to do about it."""
    if header is None:
        return (f"{path}: line {line} has {len(row)} cells, expected {width}; every row needs "
                f"the same number of columns (line {first} has {width})")
    if len(row) > width and not any(c.strip() for c in row[width:]):
        fix = ("its extra cells are empty: remove the comma at the end of each row (or name "
               "the column in the header)")
    elif len(row) > width:
        fix = ("name every column in the header, or remove the extra cells (a cell that "
               "holds a comma must be quoted)")
    elif not any(header[len(row):]):
        fix = "the header's extra names are empty: remove the comma at the end of the header"
    else:
        fix = ("its cells would be read under the wrong names: give every row a cell for "
               "each name in the header, or remove from the header the names of missing "
               "columns")
    return (f"{path}: line {line} has {len(row)} cells but the header (line {first}) has "
            f"{width}; every row needs one cell for each column of the header; {fix}")


# A number written with a thousands separator ("1,000") or a decimal comma ("0,5").
_THOUSANDS = re.compile(r"\s*[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?\s*")
_DECIMAL_COMMA = re.compile(r"\s*[-+]?[0-9]*,[0-9]+\s*")


def _non_numeric(path: Path, header: list[str] | None, rows: list[tuple[int, list[str]]],
                 line: int, col: int) -> str:
    """The message for a cell that is not a number: where, which column, and, when the
    whole column holds text, that it may be ids or labels; a number written with a comma,
    and a column of empty cells (a comma at the end of each line), are named as such."""
    cell = next(row for n, row in rows if n == line)[col]
    name = f"column {header[col]!r}" if header and header[col] else f"column {col + 1}"
    for pattern, what, option, other in (
            (_THOUSANDS, "a thousands separator", "thousands=','",
             " (decimal=',' if the comma is a decimal one)"),
            (_DECIMAL_COMMA, "a decimal comma", "decimal=','", "")):
        if pattern.fullmatch(cell):
            return (f"{path}: line {line} has {cell!r} in {name}, a number written with "
                    f"{what}; the CSV must hold plain numbers (1000, 0.5): convert it, e.g. "
                    f"with pandas: pd.read_csv(path, {option}).to_csv(new_path, index=False)"
                    + other)
    if not any(row[col].strip() for _, row in rows[:100] if len(row) > col):
        last = col == len(rows[0][1]) - 1 and not (header and header[col])
        fix = ("a comma at the end of each line makes it: remove those commas" if last
               else "fill it in, or remove the column")
        seen = rows[:100]
        lines = (f"line {line}" if len(seen) == 1 else
                 f"lines {seen[0][0]}-{seen[-1][0]}")
        return f"{path}: {name} is empty (no value on {lines}); {fix}"
    if all(not _is_number(row[col]) for _, row in rows[:100] if len(row) > col):
        option = header[col] if header else "NAME"
        return (f"{path}: {name} holds text ({cell!r} on line {line}), not numbers; if it "
                f"holds row ids pass --id-column {option} (labels: --label-column {option}; "
                f"in Python: id_column={option!r} or label_column={option!r}), or remove it")
    return (f"{path}: line {line} has a non-numeric or empty cell {cell!r} in {name}; the CSV "
            "must hold numbers only (one header row, an id column and a label column are "
            "allowed)")


def _as_values(cells: list[Any]) -> NDArray[Any]:
    """Ids or labels: int64 when every cell is written as a whole number in int64's range
    ("7", or "7.0" as spreadsheets write it), else the cells as they are: "007", "1e3" or
    2**64 would not come back as written (a zip code losing its zeros, "1e3" colliding with
    "1000")."""
    values = np.array(cells, dtype=object)
    numbers = [_whole(v) for v in values]
    if all(n is not None for n in numbers):
        return np.array(numbers, dtype=np.int64)
    return values


_WHOLE = re.compile(r"\s*(-?(?:0|[1-9][0-9]*))(?:\.0*)?\s*")


def _whole(cell: Any) -> int | None:
    """The int64 a cell writes without loss, or None."""
    match = _WHOLE.fullmatch(cell) if isinstance(cell, str) else None
    if match is None:
        return None
    value = int(match.group(1))
    return value if -2**63 <= value < 2**63 else None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def csv_header(path: str | os.PathLike[str]) -> list[str] | None:
    """The header row of a CSV file (its first row, when :func:`_is_header` says so), or
    None; reads only that row."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        try:
            first = next((row for row in csv.reader(f) if row), None)
        except (csv.Error, UnicodeDecodeError):
            return None  # read_csv says what is wrong when the file is read
    return [c.strip() for c in first] if first is not None and _is_header(first) else None


def _is_header(row: list[str]) -> bool:
    """Whether a first row is a header: it is not all numbers, or it numbers F ≥ 3 columns
    0, 1, …, F − 1 — the header pandas' ``DataFrame(X).to_csv(index=False)`` writes for an
    unnamed array (and ours for columns so named), which read as data would add a made-up
    first sample. Such a first row of real data is far less likely than that file."""
    cells = [c.strip() for c in row]
    if not all(_is_number(cell) for cell in cells):
        return True
    return len(cells) >= 3 and cells == [str(i) for i in range(len(cells))]
