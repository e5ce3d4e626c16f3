"""Intervention pairs from a fixed table of labels, grouped into "lines" (OMES step 1).

A line of FoV f is the set of rows that agree on every FoV but f (one row per distinct label
vector, the first in file order). The paper's reference implementation finds them with per-row
scans (about 17 s for 15,000 rows); here they come from grouping label codes (``np.unique`` /
``argsort``): milliseconds. A line with m points contributes m * floor(m / 2) pairs, because the
reference visits the line once per point and pairs a fresh shuffle each time; each of our pairs is
an independent uniform ordered pair of distinct points of its line (the same distribution; see
``docs/omes.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_PAIRS = 100_000  # per FoV and draw, as the reference


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def factor_codes(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense per-column label codes (N, K) and the number of distinct values per column."""
    codes = np.empty(factors.shape, np.int64)
    sizes = np.empty(factors.shape[1], np.int64)
    for k in range(factors.shape[1]):  # K columns, never rows
        uniq, codes[:, k] = np.unique(factors[:, k], return_inverse=True)
        sizes[k] = len(uniq)
    return codes, sizes


def row_keys(codes: np.ndarray, sizes: np.ndarray, skip: int | None = None) -> np.ndarray:
    """One int64 key per row for the label vector (without column ``skip``)."""
    cols = [k for k in range(codes.shape[1]) if k != skip]
    if not cols:
        return np.zeros(len(codes), np.int64)
    if float(np.prod(sizes[cols].astype(np.float64))) < 2.0**62:
        key = np.zeros(len(codes), np.int64)
        for k in cols:
            key = key * sizes[k] + codes[:, k]
        return key
    return np.unique(codes[:, cols], axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


@dataclass(frozen=True)
class Lines:
    """Rows of one FoV's lines with at least 2 points, grouped: ``rows[starts[i]:starts[i]+sizes[i]]``."""

    rows: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    def members(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows of every line, line after line, and where each line begins among them."""
        first = np.cumsum(self.sizes) - self.sizes
        pos = np.repeat(self.starts - first, self.sizes) + np.arange(int(self.sizes.sum()))
        return self.rows[pos], first


def group_lines(codes: np.ndarray, sizes: np.ndarray, keep: np.ndarray, f: int) -> Lines:
    key = row_keys(codes[keep], sizes, skip=f)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(key) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(key)])
    multi = counts >= 2
    starts, counts = starts[multi], counts[multi]
    return Lines(keep[order], starts, counts)


def table_pairs(factors: np.ndarray, rng: np.random.Generator | int | None = 0,
                max_pairs: int = MAX_PAIRS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Intervention pairs per FoV from a fixed table of labels, as the reference samples them.

    Args:
        factors: (N, K) integer labels.
        rng: seed or generator.
        max_pairs: at most this many pairs per FoV (uniform random subset).
    Returns:
        K tuples (a, b) of row indices (P_f,), the rows of each pair differing only in FoV f.
    """
    rng = as_rng(rng)
    factors = np.asarray(factors, dtype=np.int64)
    codes, sizes = factor_codes(factors)
    # One row per distinct label vector, the first in file order (as the reference's np.unique).
    keep = np.sort(np.unique(row_keys(codes, sizes), return_index=True)[1])
    out = []
    for f in range(factors.shape[1]):
        a, b = sample_line_pairs(group_lines(codes, sizes, keep, f), rng, max_pairs)
        out.append((a[0], b[0]))
    return out


def sample_line_pairs(lines: Lines, rng: np.random.Generator, max_pairs: int, repeats: int = 1):
    """Row indices (a, b), each (repeats, P): ``repeats`` independent draws of a FoV's pairs."""
    m = lines.sizes
    counts = m * (m // 2)  # the reference visits a line m times, each visit pairs floor(m/2)
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros((repeats, 0), np.int64)
        return empty, empty
    if total <= max_pairs:
        line = np.broadcast_to(np.repeat(np.arange(len(m)), counts), (repeats, total))
    else:  # a uniform subset of the reference's (reused) pairs, drawn afresh for each repeat
        cum = np.cumsum(counts)
        line = np.stack([np.searchsorted(cum, rng.choice(total, size=max_pairs, replace=False), side="right")
                         for _ in range(repeats)])
    mp = m[line]
    i = (rng.random(line.shape) * mp).astype(np.int64)
    j = (i + 1 + (rng.random(line.shape) * (mp - 1)).astype(np.int64)) % mp  # distinct from i
    start = lines.starts[line]
    return lines.rows[start + i], lines.rows[start + j]


__all__ = ["Lines", "MAX_PAIRS", "as_rng", "factor_codes", "group_lines", "row_keys", "sample_line_pairs",
           "table_pairs"]
