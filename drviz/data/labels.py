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
    try:
        text = source.decode("utf-8-sig") if isinstance(source, bytes) else None
        first = text.splitlines()[0] if text else ""
        if text is None:
            with open(source, encoding="utf-8-sig", newline="") as fh:
                first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise DrvizError(f"cannot read {what} ({exc.__class__.__name__}); save it as a UTF-8 CSV file") from None
    header = [h.strip() for h in next(csv.reader([first]), [])]
    try:
        df = pd.read_csv(io.StringIO(text) if text is not None else source, dtype=str, keep_default_na=False,
                         skip_blank_lines=True, encoding="utf-8-sig")
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
    cells = [df.iloc[:, i].to_numpy(dtype=object) for i in range(df.shape[1])]
    if not isinstance(df.index, pd.RangeIndex):
        # the body has one field more than the header: pandas took the header-less first column
        # as its index; give it back as a column without a name
        cells.insert(0, df.index.to_numpy(dtype=object))
        header.insert(0, "")
    header = (header + [""] * len(cells))[:len(cells)]
    n = len(df)
    if n == 0:
        raise DrvizError(f"{what}: has a header but no rows; add one row per sample")

    key_pos = _key_position(key, header, what, key_label)
    notes, fov_cols = [], []
    for i, col in enumerate(cells):
        if i == key_pos:
            continue
        if header[i] == "" or _UNNAMED.fullmatch(header[i]):
            label = f"no header, pandas' 'Unnamed: {i}'" if header[i] == "" else f"header {header[i]!r}"
            if len(set(col.tolist())) == n:
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
        values[:, j] = _integer_column(cells[i], header[i], what, source)
    for j, c in enumerate(names):
        if n >= MIN_ROWS_ALL_DISTINCT and np.unique(values[:, j]).size == n:
            raise DrvizError(f"{what}: column {c!r} has a different value in every row ({n} rows), so it is not a "
                             "factor of variation (an id or a row number?); remove that column")
    keys = None
    if key_pos is not None:
        keys = np.array([str(v).strip() for v in cells[key_pos]], dtype=object)
        empty = np.flatnonzero(keys == "")
        if empty.size:
            line = _line_of(source, int(empty[0]))
            raise DrvizError(f"{what}: no {key_label} named in column {header[key_pos]!r} on line {line}; "
                             f"every row needs its {key_label}")
        uniq, counts = np.unique(keys.astype(str), return_counts=True)
        if (counts > 1).any():
            raise DrvizError(f"{what}: {key_label} {str(uniq[counts > 1][0])!r} is listed twice; keep one row per {key_label}")
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
        as_int = np.array([int(str(v).strip()) for v in col])
    except ValueError:
        return f"a different value in every row ({n} rows)"
    if np.array_equal(as_int, np.arange(n)):
        return f"the row numbers 0..{n - 1}"
    return f"a different value in every row ({n} rows)"


def _integer_column(col: np.ndarray, name: str, what: str, raw) -> np.ndarray:
    """(N,) int64 from a column of strings, or a one-line error naming the first bad cell."""
    import pandas as pd

    text = pd.Series(col, dtype=object).astype(str).str.strip()
    empty = np.flatnonzero((text == "").to_numpy())
    if empty.size:
        raise DrvizError(f"{what}: missing label in column {name!r} on line {_line_of(raw, int(empty[0]))}; "
                         "every row needs every label")
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(num) & (text.str.lower() != "nan").to_numpy())
    if bad.size:
        r = int(bad[0])
        raise DrvizError(f"{what}: column {name!r} is not numeric ({text.iloc[r]!r} on line {_line_of(raw, r)}); "
                         "labels must be integer class indices")
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(num) | (num != np.round(num)) | (np.abs(num) >= 2.0**62)
    if wrong.any():
        r = int(np.flatnonzero(wrong)[0])
        raise DrvizError(f"{what}: label {text.iloc[r]!r} in column {name!r} on line {_line_of(raw, r)} is not an "
                         "integer; labels must be integer class indices")
    return num.astype(np.int64)


def _line_of(raw, row: int) -> int:
    """The file line of data row ``row`` (0-based), skipping blank lines as pandas does (error path only)."""
    try:
        data = raw if isinstance(raw, bytes) else Path(raw).read_bytes()
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        next(reader, None)
        seen = -1
        for cells in reader:
            if any(c.strip() for c in cells):
                seen += 1
                if seen == row:
                    return reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return row + 2


__all__ = ["LabelsTable", "MIN_ROWS_ALL_DISTINCT", "read_labels_table"]
