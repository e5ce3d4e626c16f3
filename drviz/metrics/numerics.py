"""Degenerate dims: one rule for every range, bin and scale the metrics take.

A latent dim can hold values no equal-width discretisation or classifier expects: a dead dim that
is the constant 1e16, a dim whose values differ only by float rounding (0.1 + 0.2 in some rows,
0.3 in others), values beyond float32's range. numpy's ``np.histogram`` raises on the first two
("Too many bins for data range"), scikit-learn's trees cast to float32 and raise on the third, and
an MLP fed a constant 1e16 input silently learns nothing.

The rule, used by MIG, DCI and the downstream classifiers alike: **a dim whose range cannot hold
``n_bins`` (MIG's 20) strictly increasing finite equal-width bins is one bin and carries no
information**. MIG puts all its rows in one bin; the classifiers see it as 0. Every other dim is
handled exactly as disentanglement_lib does (same bin edges, same inputs), so ordinary
representations give the same numbers as before.

Scaling by a power of two is exact in floating point (barring underflow), so ``pow2_scale``
brings any column near 1 without changing a bin edge, a correlation or a tree's split order: bin
edges of the scaled column are the scaled edges of the original, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from drviz.errors import DrvizError

N_BINS = 20  # MIG's bins per dim (disentanglement_lib's default); the "can it hold bins" test
FLOAT32_MAX = float(np.finfo(np.float32).max)
OFFSET_RATIO = 2.0**20  # float32 keeps 24 bits: an offset 2^20 x the spread leaves < 16 levels of it


def pow2_scale(x: np.ndarray) -> np.ndarray:
    """(D,) powers of two s_d with max|x[:, d]| * s_d in [0.5, 1) (1 for an all-zero column)."""
    x = np.asarray(x, np.float64)
    top = np.max(np.abs(x), axis=0) if len(x) else np.zeros(x.shape[1])
    _, exp = np.frexp(top)
    return np.where(top > 0, np.ldexp(1.0, -exp), 1.0)


def bin_edges(x: np.ndarray, n_bins: int = N_BINS) -> np.ndarray | None:
    """The ``n_bins + 1`` equal-width edges ``np.histogram(x, n_bins)`` uses, or None where the
    range cannot hold ``n_bins`` strictly increasing finite bins (a constant, or a range at
    float-rounding level). Computed on the column scaled by a power of two, so a range wider than
    the largest float (1e308 - -1e308) still has edges; the edges are bit-identical to numpy's
    wherever numpy gives them."""
    x = np.asarray(x, np.float64).reshape(-1)
    if x.size == 0:
        return None
    lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo == hi:
        return None
    s = float(pow2_scale(np.array([[lo], [hi]]))[0])
    edges = np.linspace(lo * s, hi * s, n_bins + 1)
    if not (np.all(np.isfinite(edges)) and np.all(edges[1:] > edges[:-1])):
        return None
    return edges / s


def informative_dims(z: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """(D,) bool: dims whose range can hold ``n_bins`` finite equal-width bins."""
    z = np.asarray(z, np.float64)
    return np.array([bin_edges(z[:, d], n_bins) is not None for d in range(z.shape[1])], dtype=bool)


def classifier_inputs(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The classifiers' copy of the codes: degenerate dims zeroed, ill-scaled dims re-centred.

    - a dim that carries no information in the training rows (``informative_dims``) becomes 0 in
      both parts: a tree never splits on it anyway, and an MLP no longer sees a huge constant;
    - a dim whose values overflow float32 (scikit-learn's trees cast to it and raise) or whose
      offset dwarfs its spread (|median| > 2^20 x range: float32 would keep under 16 levels of
      the variation) becomes (x - training median) times a power of two, at most 1 in magnitude;
      monotone, so a tree splits it as it would the original in exact arithmetic.
    Other dims are passed through unchanged (no copy of theirs is altered), so ordinary codes
    give exactly the reference's inputs.

    Args:
        x_train, x_test: (N_train, D), (N_test, D) finite float codes.
    Returns:
        The two arrays (float64) and the dims zeroed as carrying no information.
    """
    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    if len(x_train) == 0:
        return x_train, x_test, ()
    dead = ~informative_dims(x_train)
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)
    both = np.concatenate([x_train, x_test]) if len(x_test) else x_train
    top = np.max(np.abs(both), axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = hi - lo
        centre = np.median(x_train, axis=0)
        offset = np.abs(centre) > OFFSET_RATIO * spread
    rescale = ~dead & ((top > FLOAT32_MAX) | offset | ~np.isfinite(spread))
    if not (dead.any() or rescale.any()):
        return x_train, x_test, ()
    x_train, x_test = x_train.copy(), x_test.copy()
    x_train[:, dead] = 0.0
    x_test[:, dead] = 0.0
    for d in np.flatnonzero(rescale):
        s = pow2_scale(both[:, d:d + 1])[0]  # exact, and keeps x - median finite
        c = np.median(x_train[:, d] * s)
        tr, te = x_train[:, d] * s - c, x_test[:, d] * s - c
        s = pow2_scale(np.concatenate([tr, te])[:, None])[0]
        x_train[:, d], x_test[:, d] = tr * s, te * s
    return x_train, x_test, tuple(int(d) for d in np.flatnonzero(dead))


def nonneg(v: float) -> float:
    """``v`` with a negative zero (or a rounding-level negative) made +0.0: entropies, mutual
    information and the scores are >= 0, and must never print as -0.0000. NaN stays NaN."""
    return max(float(v), 0.0) + 0.0


def clip01(v):
    """Scores defined in [0, 1], clipped there (1 - entropy can land a rounding error outside);
    NaN stays NaN, and -0.0 becomes 0.0."""
    out = np.clip(np.asarray(v, np.float64), 0.0, 1.0) + 0.0
    return float(out) if np.ndim(out) == 0 else out


def json_num(v) -> float | None:
    """``v`` as a JSON number: a float, or None for None, NaN and infinities (JSON has neither)."""
    return float(v) if v is not None and np.isfinite(v) else None


def canonical_rows(z: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(z, factors)`` with rows sorted by labels, then codes: any permutation of the same rows
    gives the same arrays, so that every seeded draw over them gives the same result."""
    z, factors = np.asarray(z, np.float64), np.asarray(factors, np.int64)
    if len(z) == 0:
        return z, factors
    keys = [z[:, d] for d in range(z.shape[1] - 1, -1, -1)] + [factors[:, k] for k in range(factors.shape[1] - 1, -1, -1)]
    order = np.lexsort(keys)
    return z[order], factors[order]


def check_table(z, factors, factor_names: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], int]:
    """Validated (finite rows of z as float64, labels as int64, names, rows dropped as non-finite)."""
    z, factors = np.asarray(z), np.asarray(factors)
    if z.ndim != 2 or factors.ndim != 2 or len(z) != len(factors):
        raise DrvizError(f"need (N, D) codes and (N, K) labels; got {z.shape} and {factors.shape}")
    if z.shape[1] == 0:
        raise DrvizError("the representation has no dims")
    if factors.shape[1] == 0:
        raise DrvizError("the labels have no FoV columns")
    if factors.size and not np.issubdtype(factors.dtype, np.integer):
        if not np.all(np.isfinite(factors)) or np.any(factors != np.round(factors)):
            raise DrvizError("factor labels must be integers")
    k = factors.shape[1]
    names = tuple(str(n) for n in factor_names) if factor_names is not None else tuple(f"factor_{i}" for i in range(k))
    if len(names) != k:
        raise DrvizError(f"{len(names)} factor names for {k} FoVs")
    with np.errstate(over="ignore"):
        z = z.astype(np.float64)
    ok = np.isfinite(z).all(axis=1)
    return z[ok], factors[ok].astype(np.int64), names, int((~ok).sum())


__all__ = ["FLOAT32_MAX", "N_BINS", "bin_edges", "canonical_rows", "check_table", "classifier_inputs", "clip01", "informative_dims", "json_num", "nonneg",
           "pow2_scale"]
