"""One reader for every labels table: ``classes.csv`` of a representation folder, ``labels.csv``
of an image folder, and the tables of the loaders for the field's datasets.

Tables are written by pandas and numpy users, so they are read with pandas and the common shapes
are understood:
- ``df.to_csv("classes.csv")`` (pandas' default ``index=True``) writes a leading column of row
  numbers with an empty header, which pandas reads back as ``Unnamed: 0`` (and a table read and
  saved again carries that name literally). A column with no header, or a header ``Unnamed: N``,
  whose values are all distinct (0..N-1 or any other index) is an index: it is dropped, with a
  one-line notice naming it. An unnamed column that is not an index is an error (name it).
  A body with one field more than the header (the index column's header left out entirely) is the
  same case: pandas would silently take that first column as the index.
- any other column whose values are all distinct (one row per value) is not a factor of
  variation: it makes every other FoV's intervention pairs vanish (no two rows agree on it) and
  gives a classifier one class per row. It is refused with a one-line error naming it. (With
  fewer than 3 rows every column is all-distinct, so the rule starts at 3 rows.)
- a non-numeric column is an image key only where the loader declares one (``key``: the image
  folder's ``file`` column by name, Coil100-Augmented's first column by position); anywhere else
  it is an error, as is a label that is missing, not a number, or not an integer.
Values are returned as they are in the file (integer-valued floats such as ``9.0``, as the
paper's reference code writes them, become integers); re-indexing is the caller's choice.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drviz.errors import DrvizError

_UNNAMED = re.compile(r"Unnamed: \d+")
MIN_ROWS_ALL_DISTINCT = 3


@dataclass(frozen=True)
class LabelsTable:
    """A labels table as read.

    Attributes:
        names: K FoV column names, in file order.
        values: (N, K) int64 labels, as in the file.
        keys: (N,) the declared key column (e.g. image file names) as strings, or None.
        notes: one line each: what the reader did that the user should know (a dropped index).
    """

    names: tuple[str, ...]
    values: np.ndarray
    keys: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])


def read_labels_table(source: str | Path | bytes, *, name: str | None = None, key: str | int | None = None,
                      key_label: str = "image") -> LabelsTable:
    """Read a CSV labels table (see the module docstring for the rules).

    Args:
        source: a path, or the file's bytes (an upload).
        name: how messages call the table (default: the file name).
        key: the declared key column: a header name (``"file"``) or a 0-based position (0: the
            first column); None when the table holds labels only.
        key_label: what a key names, for messages ("image").
    Returns:
        A ``LabelsTable``. Every problem raises a one-line ``DrvizError``.
    """
    import pandas as pd

    what = name or (Path(source).name if not isinstance(source, bytes) else "labels table")

    def opened():  # pandas reads a path itself; bytes need a fresh buffer per read
        return io.BytesIO(source) if isinstance(source, bytes) else source

    try:
        if isinstance(source, bytes):
            first = source.split(b"\n", 1)[0].decode("utf-8-sig")
        else:
            with open(source, encoding="utf-8-sig", newline="") as fh:
                first = fh.readline()
        header = [h.strip() for h in next(csv.reader([first]), [])]
        read = dict(skip_blank_lines=True, encoding="utf-8-sig")
        # one row first: pandas' column labels, and whether the body has a field more than the
        # header (pandas then takes the header-less first column as its index)
        probe = pd.read_csv(opened(), nrows=1, dtype=str, **read)
        inferred = not isinstance(probe.index, pd.RangeIndex)
        if inferred:
            header.insert(0, "")
        key_pos = _key_position(key, header, what, key_label)
        as_text = {} if key_pos is None or (inferred and key_pos == 0) else {probe.columns[key_pos - inferred]: str}
        df = pd.read_csv(opened(), dtype=as_text or None, low_memory=False, **read)  # typed: fast on 1M rows
    except pd.errors.EmptyDataError:
        raise DrvizError(f"cannot read {what}: it is empty; write a header row with one name per column, "
                         "then one row per sample") from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise DrvizError(f"{what}: line {m.group(2)} has {m.group(3)} fields, the header has {m.group(1)}; "
                             "fix that line") from None
        raise DrvizError(f"cannot read {what}: {str(exc).strip().splitlines()[0]}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DrvizError(f"cannot read {what} ({exc.__class__.__name__}); save it as a UTF-8 CSV file") from None
    cells = ([df.index.to_numpy()] if inferred else []) + [df.iloc[:, i].to_numpy() for i in range(df.shape[1])]
    header = (header + [""] * len(cells))[:len(cells)]
    n = len(df)
    if n == 0:
        raise DrvizError(f"{what}: has a header but no rows; add one row per sample")

    notes, fov_cols = [], []
    for i, col in enumerate(cells):
        if i == key_pos:
            continue
        if header[i] == "" or _UNNAMED.fullmatch(header[i]):
            label = f"no header, pandas' 'Unnamed: {i}'" if header[i] == "" else f"header {header[i]!r}"
            if len(pd.unique(col)) == n:
                notes.append(f"{what}: dropped column {i + 1} ({label}): it holds {_index_text(col)}, a row index "
                             "(as df.to_csv() writes one), not a factor")
                continue
            raise DrvizError(f"{what}: column {i + 1} has {label} and is not a row index; give it the name of its FoV")
        fov_cols.append(i)
    if not fov_cols:
        besides = f" besides {header[key_pos]!r}" if key_pos is not None else ""
        raise DrvizError(f"{what}: no FoV columns{besides}; add one integer column per factor of variation")
    names = tuple(header[i] for i in fov_cols)
    dup = next((c for c in names if names.count(c) > 1), None)
    if dup is not None:
        raise DrvizError(f"{what}: two columns are named {dup!r}; give every FoV column its own name")

    values = np.empty((n, len(fov_cols)), np.int64)
    for j, i in enumerate(fov_cols):
        values[:, j] = _integer_column(cells[i], header[i], what, source, i)
    for j, c in enumerate(names):
        if n >= MIN_ROWS_ALL_DISTINCT and np.unique(values[:, j]).size == n:
            raise DrvizError(f"{what}: column {c!r} has a different value in every row ({n} rows), so it is not a "
                             "factor of variation (an id or a row number?); remove that column")
    keys = None
    if key_pos is not None:
        text = pd.Series(cells[key_pos], dtype=object).fillna("").astype(str).str.strip()
        empty = np.flatnonzero((text == "").to_numpy())
        if empty.size:
            line, _ = _cell(source, int(empty[0]), key_pos)
            raise DrvizError(f"{what}: no {key_label} named in column {header[key_pos]!r} on line {line}; "
                             f"every row needs its {key_label}")
        twice = np.flatnonzero(text.duplicated().to_numpy())
        if twice.size:
            raise DrvizError(f"{what}: {key_label} {text.iloc[twice[0]]!r} is listed twice; keep one row per {key_label}")
        keys = text.to_numpy(dtype=object)
    return LabelsTable(names, values, keys, tuple(notes))


def _key_position(key, header: list[str], what: str, key_label: str) -> int | None:
    if key is None:
        return None
    if isinstance(key, int):
        if not 0 <= key < len(header):
            raise DrvizError(f"{what}: has {len(header)} columns; the {key_label} names belong in column {key + 1}")
        return key
    if key not in header:
        raise DrvizError(f"{what}: no {key!r} column (header is {', '.join(header)}); name the {key_label} column {key!r}")
    return header.index(key)


def _index_text(col: np.ndarray) -> str:
    n = len(col)
    try:
        as_int = np.array([int(str(v).strip()) for v in col]) if col.dtype.kind in "OSU" else col
    except ValueError:
        as_int = None
    if as_int is not None and np.array_equal(as_int, np.arange(n)):
        return f"the row numbers 0..{n - 1}"
    return f"a different value in every row ({n} rows)"


def _integer_column(col: np.ndarray, name: str, what: str, source, pos: int) -> np.ndarray:
    """(N,) int64 from a column as pandas parsed it, or a one-line error naming the first bad
    cell (its text and line are read back from the file: the error path only)."""
    import pandas as pd

    if col.dtype.kind in "iu":
        num = col.astype(np.float64)
    elif col.dtype.kind == "f":
        num = col
    else:  # text (or True/False): numbers with spaces are still numbers
        missing = pd.isna(col)
        text = pd.Series(col, dtype=object).where(~missing, "").astype(str).str.strip()
        num = pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(num) & (text != "").to_numpy())
        if bad.size:
            line, cell = _cell(source, int(bad[0]), pos)
            raise DrvizError(f"{what}: column {name!r} is not numeric ({cell!r} on line {line}); "
                             "labels must be integer class indices")
    missing = np.flatnonzero(np.isnan(num))
    if missing.size:
        line, _ = _cell(source, int(missing[0]), pos)
        raise DrvizError(f"{what}: missing label in column {name!r} on line {line}; every row needs every label")
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(num) | (num != np.round(num)) | (np.abs(num) >= 2.0**62)
    if wrong.any():
        line, cell = _cell(source, int(np.flatnonzero(wrong)[0]), pos)
        raise DrvizError(f"{what}: label {cell!r} in column {name!r} on line {line} is not an integer; "
                         "labels must be integer class indices")
    return col.astype(np.int64) if col.dtype.kind == "i" else num.astype(np.int64)


def _cell(source, row: int, pos: int) -> tuple[int, str]:
    """(file line, text) of data row ``row`` (0-based), column ``pos``, skipping blank lines as
    pandas does. The error path only: it reads the file again with the csv module."""
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        next(reader, None)
        seen = -1
        for cells in reader:
            if any(c.strip() for c in cells):
                seen += 1
                if seen == row:
                    return reader.line_num, (cells[pos].strip() if pos < len(cells) else "")
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return row + 2, ""


__all__ = ["LabelsTable", "MIN_ROWS_ALL_DISTINCT", "read_labels_table"]
