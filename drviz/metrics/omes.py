"""OMES: Overlap Multiple Encoding Scores (Dapueto et al., NeurIPS 2024, "Transferring
disentangled representations: bridging the gap between synthetic and real images").

A re-implementation (not a copy) of the paper's reference code (JacopoDapueto/
transfer_disentanglement, ``src/evaluation/metrics/omes.py``), split the way the app needs it:

1. ``association_matrix(z, factors)`` (or ``association_from_pairs``) builds A (dims x FoVs):
   A[d, f] = 1 - |pearson(z_d(x), z_d(y))| over intervention pairs (x, y) of f (from
   ``drviz.metrics.pairing``), rounded to 4 decimals, and finds the inactive dims. The only
   expensive step.
2. ``omes_components(A)`` computes once the per-dim OS and MES, their max- and avg-pooled per-FoV
   vectors, the FoV -> dim association and which FoVs are measurable.
3. ``OMESComponents.omes(alpha, pooling)`` = ``alpha * OS + (1 - alpha) * MES``: a recombination
   of two cached vectors, microseconds per call (the alpha slider).

Avg pooling weights twice, as the reference (and its published numbers) does. Where this module
differs from the reference (averaged draws of pairs, the closed-form estimator, edge cases that
never yield NaN, degenerate magnitudes) and why: ``docs/omes.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.numerics import json_num, pow2_scale
from drviz.metrics.pairing import (
    MAX_PAIRS,
    Lines,
    as_rng,
    factor_codes,
    group_lines,
    row_keys,
    sample_line_pairs,
    table_pairs,
)
from drviz.metrics.synthetic import SYNTHETIC_KINDS, synthetic_association_matrix

AUTO_PAIRS = 50_000  # default: average draws until about this many pairs ...
AUTO_REPEATS = 8  # ... but at most this many draws
N_ACTIVITY = 10_000
INACTIVE_THRESHOLD = 0.05
POOLINGS = ("avg", "max")
Pooling = Literal["avg", "max"]
Estimator = Literal["sampled", "expected"]


# ---------------------------------------------------------------------------------------------
# Typed results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssociationMatrix:
    """A (dims x FoVs) in the original dim indices, and what was needed to compute it.

    Attributes:
        matrix: (D, K) float64, 1 - |pearson| rounded to 4 decimals. Rows of inactive dims are
            computed too (the reference does) but never scored; cells that could not be
            computed (a FoV without pairs, a dim constant within the FoV's pairs) are NaN.
        factor_names: K names, in column order.
        inactive_dims: original indices of the dims removed before scoring.
        n_pairs: (K,) number of intervention pairs used per FoV.
        column_reasons: per FoV, why its column could not be computed (None: it was).
        notes: anything the user should know (rows dropped for NaN/inf, ...).
    """

    matrix: np.ndarray
    factor_names: tuple[str, ...]
    inactive_dims: tuple[int, ...] = ()
    n_pairs: tuple[int, ...] = ()
    column_reasons: tuple[str | None, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        k = self.matrix.shape[1]
        if not self.n_pairs:
            object.__setattr__(self, "n_pairs", (0,) * k)
        if not self.column_reasons:
            object.__setattr__(self, "column_reasons", (None,) * k)

    @property
    def n_dims(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_factors(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def active_dims(self) -> tuple[int, ...]:
        dead = set(self.inactive_dims)
        return tuple(d for d in range(self.n_dims) if d not in dead)


@dataclass(frozen=True)
class Pooled:
    """Per-FoV OS and MES under one pooling: (K,) float64, NaN for FoVs not measurable."""

    os: np.ndarray
    mes: np.ndarray


@dataclass(frozen=True)
class FactorOMES:
    """One FoV's scores at a given alpha and pooling (None when not measurable)."""

    name: str
    omes: float | None
    os: float | None
    mes: float | None
    dim: int | None  # associated dim, original index
    measurable: bool
    reason: str | None  # why not measurable

    def to_json(self) -> dict:
        return {"omes": self.omes, "os": self.os, "mes": self.mes, "dim": self.dim,
                "measurable": self.measurable, "reason": self.reason}


@dataclass(frozen=True)
class OMESResult:
    """OMES at one (alpha, pooling). ``score`` is the mean over measurable FoVs, rounded to 4
    decimals, None when no FoV is measurable."""

    alpha: float
    pooling: str
    score: float | None
    factors: tuple[FactorOMES, ...]

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    def __getitem__(self, name: str) -> FactorOMES:
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class OMESComponents:
    """Everything alpha-independent, computed once from an association matrix.

    Attributes:
        association: the matrix it came from.
        os_dim, mes_dim: (D, K) per-dim OS(d, f) and MES(d, f) in original dim indices; NaN
            rows for inactive dims and NaN columns for FoVs whose column could not be computed.
        avg, max: pooled per-FoV OS and MES vectors.
        dims: FoV -> associated dim (original index) or None.
        measurable, reasons: per FoV.
    """

    association: AssociationMatrix
    os_dim: np.ndarray
    mes_dim: np.ndarray
    avg: Pooled
    max: Pooled
    dims: tuple[int | None, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]
    _measurable_idx: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_measurable_idx", np.flatnonzero(np.asarray(self.measurable, dtype=bool)))

    @property
    def factor_names(self) -> tuple[str, ...]:
        return self.association.factor_names

    def pooled(self, pooling: Pooling) -> Pooled:
        if pooling == "avg":
            return self.avg
        if pooling == "max":
            return self.max
        raise DrvizError(f"unknown pooling {pooling!r}; choose avg or max")

    def omes_vector(self, alpha: float = 0.5, pooling: Pooling = "avg") -> np.ndarray:
        """(K,) OMES_f = alpha * OS_f + (1 - alpha) * MES_f (NaN where not measurable)."""
        p = self.pooled(pooling)
        return alpha * p.os + (1.0 - alpha) * p.mes

    def score(self, alpha: float = 0.5, pooling: Pooling = "avg") -> float | None:
        """Averaged OMES over measurable FoVs, rounded to 4 decimals (None if none is)."""
        idx = self._measurable_idx
        if idx.size == 0:
            return None
        return round(float(np.mean(self.omes_vector(alpha, pooling)[idx])), 4) + 0.0  # never -0.0

    def omes(self, alpha: float = 0.5, pooling: Pooling = "avg") -> OMESResult:
        """The full typed result at (alpha, pooling): the cheap, per-slider-move step."""
        alpha = _check_alpha(alpha)
        p = self.pooled(pooling)
        vec = alpha * p.os + (1.0 - alpha) * p.mes
        factors = []
        for f, name in enumerate(self.factor_names):
            ok = self.measurable[f]
            factors.append(FactorOMES(
                name,
                float(vec[f]) if ok else None,
                float(p.os[f]) if ok else None,
                float(p.mes[f]) if ok else None,
                self.dims[f],
                ok,
                self.reasons[f],
            ))
        idx = self._measurable_idx
        score = round(float(np.mean(vec[idx])), 4) + 0.0 if idx.size else None  # + 0.0: never -0.0
        return OMESResult(float(alpha), pooling, score, tuple(factors))

    def to_json(self, alpha: float = 0.5, pooling: Pooling = "avg") -> dict:
        """The ``python -m drviz omes --json`` object (plain JSON types; NaN -> None)."""
        res = self.omes(alpha, pooling)
        a = self.association
        dead = set(a.inactive_dims)
        matrix = [None if d in dead else [json_num(v) for v in row] for d, row in enumerate(a.matrix)]
        return {
            "omes": res.score,
            "alpha": res.alpha,
            "pooling": pooling,
            "factors": list(self.factor_names),
            "per_factor": {f.name: f.to_json() for f in res.factors},
            "inactive_dims": list(a.inactive_dims),
            "matrix": matrix,
            "n_pairs": dict(zip(self.factor_names, (int(n) for n in a.n_pairs))),
            "notes": list(a.notes),
        }


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not 0.0 <= a <= 1.0:
        raise DrvizError(f"alpha must be in [0, 1]; got {alpha}")
    return a


# ---------------------------------------------------------------------------------------------
# Inputs and inactive dims
# ---------------------------------------------------------------------------------------------
def _check_inputs(z, factors, factor_names):
    z = np.asarray(z)
    factors = np.asarray(factors)
    if z.ndim != 2:
        raise DrvizError(f"representation must be a 2-D array (samples x dims); got shape {z.shape}")
    if factors.ndim != 2:
        raise DrvizError(f"factors must be a 2-D array (samples x FoVs); got shape {factors.shape}")
    if z.shape[0] != factors.shape[0]:
        raise DrvizError(f"representation has {z.shape[0]} rows but factors have {factors.shape[0]}")
    if not np.issubdtype(z.dtype, np.number) or np.iscomplexobj(z):
        raise DrvizError(f"representation must be real numbers; got dtype {z.dtype}")
    if factors.size and not np.issubdtype(factors.dtype, np.integer):
        if not np.issubdtype(factors.dtype, np.number) or not np.all(np.isfinite(factors)) \
                or np.any(factors != np.round(factors)):
            raise DrvizError("factor labels must be integers (integer-valued floats are accepted)")
    names = tuple(factor_names) if factor_names is not None else tuple(f"factor_{k}" for k in range(factors.shape[1]))
    if len(names) != factors.shape[1]:
        raise DrvizError(f"{len(names)} factor names for {factors.shape[1]} factor columns")
    return z.astype(np.float64, copy=False), factors.astype(np.int64), names


def _finite_rows(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(row mask, dims treated as invalid, notes): dims non-finite in at least half the rows are
    invalid (scored as inactive); rows non-finite in any other dim are dropped."""
    notes: list[str] = []
    finite = np.isfinite(z)
    if finite.all():
        return np.ones(len(z), bool), np.zeros(z.shape[1], bool), notes
    bad_dims = (~finite).mean(axis=0) >= 0.5 if len(z) else np.zeros(z.shape[1], bool)
    rows = finite[:, ~bad_dims].all(axis=1)
    if bad_dims.any():
        notes.append(f"dims {', '.join(map(str, np.flatnonzero(bad_dims)))} are NaN/inf in most rows: treated as inactive")
    if (~rows).any():
        notes.append(f"{int((~rows).sum())} of {len(z)} rows with NaN/inf values were dropped")
    return rows, bad_dims, notes


def inactive_dims(z: np.ndarray, rng: np.random.Generator | int | None = 0, *,
                  n_eval: int = N_ACTIVITY, threshold: float = INACTIVE_THRESHOLD) -> np.ndarray:
    """(D,) bool: std (ddof 1) over ``n_eval`` rows drawn with replacement below ``threshold``.

    As the reference: a sampled estimate, so that a dim right at the threshold can flip with the
    seed. With fewer than 2 rows every dim is inactive.
    """
    z = np.asarray(z, dtype=np.float64)
    if len(z) < 2:
        return np.ones(z.shape[1], bool)
    rows = as_rng(rng).integers(0, len(z), size=n_eval)
    x = z[rows]
    # std is shift-invariant: measured from one of the rows, a constant 1e16 or 1e300 has std 0
    # (from the raw values its mean rounds or overflows, and the "std" is noise or NaN); a spread
    # too wide for float64 gives inf or NaN: active, as it is.
    with np.errstate(over="ignore", invalid="ignore"):
        std = (x - x[0]).std(axis=0, ddof=1)
    return std < threshold


# ---------------------------------------------------------------------------------------------
# The association matrix
# ---------------------------------------------------------------------------------------------
def _one_minus_abs_pearson(xa: np.ndarray, xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1 - |pearson(xa_d, xb_d)| over pairs, rounded to 4 decimals as the reference, and where the
    correlation is undefined (a side with no variance).

    Args:
        xa, xb: (D, ..., P) codes of the pairs' two sides, dims first (contiguous reductions);
            centred columns are best (raw sums, no centred copies: the fast path).
    Returns:
        (..., D) association values (NaN where undefined) and the (..., D) undefined mask.
    """
    n = xa.shape[-1]
    sa, sb = xa.sum(axis=-1), xb.sum(axis=-1)
    saa = np.einsum("...p,...p->...", xa, xa)
    sbb = np.einsum("...p,...p->...", xb, xb)
    sab = np.einsum("...p,...p->...", xa, xb)
    va, vb = saa - sa * sa / n, sbb - sb * sb / n
    # a side with no variance (relative to its raw second moment: rounding leaves ~1e-16 of it)
    undefined = ~(va > 1e-12 * saa) | ~(vb > 1e-12 * sbb)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (sab - sa * sb / n) / np.sqrt(np.where(undefined, 1.0, va * vb))
    a = np.round(1.0 - np.abs(np.clip(r, -1.0, 1.0)), 4)
    a[undefined] = np.nan
    return np.moveaxis(a, 0, -1), np.moveaxis(undefined, 0, -1)


def _expected_column(z: np.ndarray, lines: Lines) -> tuple[np.ndarray, np.ndarray, int]:
    """1 - |rho| per dim, rho the pearson correlation of the reference's pair distribution.

    Each ordered pair (i, j), i != j, of a line with m points has weight
    m * floor(m/2) / (m (m - 1)); the weighted moments come from per-line sums S1, S2. This is
    the limit of many draws of pairs; a finite draw's |r| is biased upwards where rho is near 0
    (by about sqrt(2 / (pi n)) at rho = 0, n pairs), so there the reference's A sits lower.
    """
    m = lines.sizes
    if len(m) == 0:
        return np.full(z.shape[1], np.nan), np.ones(z.shape[1], bool), 0
    rows, first = lines.members()
    x = z[rows]
    x = x - x.mean(axis=0)  # centre first: the moments below subtract large terms
    w = (m // 2) / (m - 1.0)  # weight per ordered pair
    s1 = np.add.reduceat(x, first, axis=0)
    s2 = np.add.reduceat(x * x, first, axis=0)
    total = float((w * m * (m - 1)).sum())
    wl = w[:, None]
    sx = (wl * (m[:, None] - 1) * s1).sum(axis=0) / total
    sxx = (wl * (m[:, None] - 1) * s2).sum(axis=0) / total
    sxy = (wl * (s1 * s1 - s2)).sum(axis=0) / total
    var = sxx - sx * sx
    const = np.ptp(x, axis=0) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.clip((sxy - sx * sx) / var, -1.0, 1.0)
    a = 1.0 - np.abs(rho)
    a[const] = np.nan
    return a, const, int((m * (m // 2)).sum())


def association_matrix(
    z: np.ndarray,
    factors: np.ndarray,
    *,
    factor_names: Sequence[str] | None = None,
    rng: np.random.Generator | int | None = 0,
    max_pairs: int = MAX_PAIRS,
    estimator: Estimator = "sampled",
    repeats: int | None = None,
    n_activity: int = N_ACTIVITY,
    threshold: float = INACTIVE_THRESHOLD,
) -> AssociationMatrix:
    """A (dims x FoVs) from a fixed table of representations and labels (the reference format).

    Args:
        z: (N, D) representation (the encoder means, as the reference).
        factors: (N, K) integer labels (integer-valued floats are accepted).
        factor_names: K names (default factor_0 ...).
        rng: seed or generator for the pair sampling and the activity estimate.
        max_pairs: at most this many pairs per FoV and draw.
        estimator: "sampled" (default: the reference's pair sampling) or "expected" (the
            closed-form correlation of its pair distribution); see the module docstring.
        repeats: "sampled" only: A is the mean over this many independent draws of pairs
            (default: enough for about 50,000 pairs per FoV, at most 8; 1 reproduces a single
            run of the reference).
    Returns:
        An ``AssociationMatrix``; feed it to ``omes_components``.
    """
    if estimator not in ("sampled", "expected"):
        raise DrvizError(f"unknown estimator {estimator!r}; choose sampled or expected")
    if (repeats is not None and repeats < 1) or max_pairs < 2:
        raise DrvizError(f"need repeats >= 1 and max_pairs >= 2; got {repeats} and {max_pairs}")
    z, factors, names = _check_inputs(z, factors, factor_names)
    rng = as_rng(rng)
    rows_ok, bad_dims, notes = _finite_rows(z)
    if not rows_ok.all():
        z, factors = z[rows_ok], factors[rows_ok]
    zc = np.where(np.isfinite(z), z, 0.0) if bad_dims.any() else z
    inactive = inactive_dims(zc, rng, n_eval=n_activity, threshold=threshold) | bad_dims
    # Correlations ignore shifts and scales: an exact power of two per dim keeps the sums of
    # squares finite for any magnitude (1e300) without changing a bit of r; centring keeps them small.
    zc = zc * pow2_scale(zc) if len(zc) else zc
    zc = zc - zc.mean(axis=0) if len(zc) else zc
    zt = np.ascontiguousarray(zc.T)  # dims first: contiguous gathers and reductions per dim

    n_dims, n_factors = z.shape[1], factors.shape[1]
    codes, sizes = factor_codes(factors)
    keep = np.sort(np.unique(row_keys(codes, sizes), return_index=True)[1]) if len(z) else np.zeros(0, np.int64)
    matrix = np.full((n_dims, n_factors), np.nan)
    n_pairs = [0] * n_factors
    reasons: list[str | None] = [None] * n_factors
    for f in range(n_factors):
        if len(z) and sizes[f] < 2:
            reasons[f] = "takes a single value in the data: no intervention pairs"
            continue
        lines = group_lines(codes, sizes, keep, f) if len(z) else Lines(*(np.zeros(0, np.int64),) * 3)
        if estimator == "expected":
            col, const, n = _expected_column(zc, lines)
        else:
            col, const, n = _sampled_column(zt, lines, rng, max_pairs, repeats)
        n_pairs[f] = n
        reasons[f] = _column_reason(n, const, inactive)
        matrix[:, f] = np.round(col, 4)
    return AssociationMatrix(matrix, names, tuple(int(d) for d in np.flatnonzero(inactive)),
                             tuple(n_pairs), tuple(reasons), tuple(notes))


def _sampled_column(zt: np.ndarray, lines: Lines, rng: np.random.Generator, max_pairs: int,
                    repeats: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean over R draws of the reference's A column (each rounded to 4 decimals), which dims
    are constant within the FoV's pairs, and the pairs per draw. ``zt`` is z transposed (D, N)."""
    m = lines.sizes
    per_draw = min(int((m * (m // 2)).sum()), max_pairs)
    if per_draw < 2:
        return np.full(zt.shape[0], np.nan), np.ones(zt.shape[0], bool), per_draw
    if repeats is None:  # enough draws for about AUTO_PAIRS pairs in all, at most AUTO_REPEATS
        repeats = int(min(AUTO_REPEATS, -(-AUTO_PAIRS // per_draw)))
    a, b = sample_line_pairs(lines, rng, max_pairs, repeats)  # (R, P)
    cols, undefined = _one_minus_abs_pearson(np.take(zt, a, axis=1), np.take(zt, b, axis=1))  # (R, D)
    # constant over every point of the FoV's lines (exact test, immune to rounding)
    const = undefined.any(axis=0) | (np.ptp(np.take(zt, lines.members()[0], axis=1), axis=1) == 0)
    return np.mean(cols, axis=0), const, per_draw


def _column_reason(n_pairs: int, const: np.ndarray, inactive: np.ndarray) -> str | None:
    if n_pairs < 2:
        return f"fewer than 2 intervention pairs (found {n_pairs})"
    bad = np.flatnonzero(const & ~inactive)
    if bad.size:
        return f"active dim{'s' if bad.size > 1 else ''} {', '.join(map(str, bad))} constant within its pairs (correlation undefined)"
    return None


def association_from_pairs(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    activity_z: np.ndarray | None = None,
    factor_names: Sequence[str] | None = None,
    rng: np.random.Generator | int | None = 0,
    max_pairs: int = MAX_PAIRS,
    n_activity: int = N_ACTIVITY,
    threshold: float = INACTIVE_THRESHOLD,
) -> AssociationMatrix:
    """A from intervention pairs encoded by a model on a generated dataset.

    Args:
        pairs: per FoV, (za, zb), each (P_f, D): the codes of two images differing only in f.
        activity_z: (N, D) codes of random samples for the inactive-dim test (default: every
            pair member).
        factor_names: K names.
        rng: seed or generator (subset of pairs beyond ``max_pairs``, activity estimate).
    Returns:
        An ``AssociationMatrix``.
    """
    rng = as_rng(rng)
    if not pairs:
        raise DrvizError("no FoVs given: pairs must hold one (za, zb) per FoV")
    pairs = [(np.asarray(a, np.float64), np.asarray(b, np.float64)) for a, b in pairs]
    n_dims = pairs[0][0].shape[1] if pairs[0][0].ndim == 2 else -1
    for a, b in pairs:
        if a.ndim != 2 or a.shape != b.shape or a.shape[1] != n_dims:
            raise DrvizError("each FoV's pairs must be two (P, D) arrays of the same shape and D")
    names = tuple(factor_names) if factor_names is not None else tuple(f"factor_{k}" for k in range(len(pairs)))
    if len(names) != len(pairs):
        raise DrvizError(f"{len(names)} factor names for {len(pairs)} FoVs of pairs")
    act = np.concatenate([np.concatenate(p) for p in pairs]) if activity_z is None else np.asarray(activity_z, np.float64)
    rows_ok, bad_dims, notes = _finite_rows(act)
    act = np.where(np.isfinite(act), act, 0.0)[rows_ok]
    inactive = inactive_dims(act, rng, n_eval=n_activity, threshold=threshold) | bad_dims
    matrix = np.full((n_dims, len(pairs)), np.nan)
    n_pairs, reasons = [], []
    for f, (a, b) in enumerate(pairs):
        ok = np.isfinite(a[:, ~bad_dims]).all(axis=1) & np.isfinite(b[:, ~bad_dims]).all(axis=1)
        a, b = np.where(np.isfinite(a), a, 0.0)[ok], np.where(np.isfinite(b), b, 0.0)[ok]
        if len(a) > max_pairs:
            sel = rng.choice(len(a), size=max_pairs, replace=False)
            a, b = a[sel], b[sel]
        if len(a) >= 2:
            scale = pow2_scale(np.concatenate([a, b]))  # exact: r unchanged, squares finite
            a, b = a * scale, b * scale
            centre = (a.mean(axis=0) + b.mean(axis=0)) / 2
            col, const = _one_minus_abs_pearson(np.ascontiguousarray((a - centre).T), np.ascontiguousarray((b - centre).T))
            const |= (np.ptp(a, axis=0) == 0) & (np.ptp(b, axis=0) == 0)
            matrix[:, f] = col
        else:
            const = np.ones(n_dims, bool)
        n_pairs.append(len(a))
        reasons.append(_column_reason(len(a), const, inactive))
    return AssociationMatrix(matrix, names, tuple(int(d) for d in np.flatnonzero(inactive)),
                             tuple(n_pairs), tuple(reasons), tuple(notes))


# ---------------------------------------------------------------------------------------------
# Scores: computed once per matrix
# ---------------------------------------------------------------------------------------------
def per_dim_scores(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OS(d, f) and MES(d, f) for a matrix of active dims and computable FoVs, both (D', K').

    OS(d, f) = 1 - (1/K') sum_g |delta(f, g) - A[d, g]|   (row d vs "d encodes only f")
    MES(d, f) = 1 - (1/D') sum_e |delta(d, e) - A[e, f]|  (column f vs "f lives only in d")
    """
    d, k = a.shape
    # sum_g |delta(f,g) - A[d,g]| = rowsum(|A[d]|) - |A[d,f]| + |1 - A[d,f]|
    row = np.abs(a).sum(axis=1, keepdims=True)
    col = np.abs(a).sum(axis=0, keepdims=True)
    os_ = 1.0 - (row - np.abs(a) + np.abs(1.0 - a)) / k
    mes = 1.0 - (col - np.abs(a) + np.abs(1.0 - a)) / d
    return os_, mes


def _pool(w: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max and (weight-twice) avg pooling of per-dim scores s (D', K') with weights w = A."""
    mx = (w * s).max(axis=0)
    wsum = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(wsum > 0, (w * w * s).sum(axis=0) / np.where(wsum > 0, wsum, 1.0), np.nan)
    return mx, avg


def omes_components(assoc: AssociationMatrix) -> OMESComponents:
    """Per-dim OS/MES, both poolings and the FoV -> dim association, from A (cheap, once)."""
    a_full = np.asarray(assoc.matrix, np.float64)
    n_dims, k = a_full.shape
    active = np.array(assoc.active_dims, dtype=np.int64)
    cols = np.array([f for f in range(k) if assoc.column_reasons[f] is None], dtype=np.int64)
    reasons = list(assoc.column_reasons)
    os_dim = np.full((n_dims, k), np.nan)
    mes_dim = np.full((n_dims, k), np.nan)
    pooled = {p: (np.full(k, np.nan), np.full(k, np.nan)) for p in POOLINGS}
    dims: list[int | None] = [None] * k
    if active.size == 0:
        for f in range(k):
            reasons[f] = reasons[f] or f"no active dims (every dim has std < {INACTIVE_THRESHOLD})"
    elif cols.size:
        a = a_full[np.ix_(active, cols)]
        os_, mes = per_dim_scores(a)
        os_dim[np.ix_(active, cols)] = os_
        mes_dim[np.ix_(active, cols)] = mes
        os_max, os_avg = _pool(a, os_)
        mes_max, mes_avg = _pool(a, mes)
        zero = a.sum(axis=0) <= 0
        best = np.argmax(os_, axis=0)
        for j, f in enumerate(cols):
            if zero[j]:
                reasons[f] = ("no active dim responds to it (its associations are all 0): OMES cannot "
                              "see it; a binary FoV always looks like this")
                continue
            pooled["max"][0][f], pooled["avg"][0][f] = os_max[j], os_avg[j]
            pooled["max"][1][f], pooled["avg"][1][f] = mes_max[j], mes_avg[j]
            if not np.isclose(os_[best[j], j], 0.0):
                dims[f] = int(active[best[j]])
    measurable = tuple(r is None for r in reasons)
    return OMESComponents(
        assoc, os_dim, mes_dim,
        Pooled(*pooled["avg"]), Pooled(*pooled["max"]),
        tuple(dims), measurable, tuple(reasons),
    )


def components_from_matrix(matrix: np.ndarray, factor_names: Sequence[str] | None = None,
                           inactive_dims: Sequence[int] = ()) -> OMESComponents:
    """OMES components of a given association matrix (presets, a matrix a user typed in).

    Args:
        matrix: (D, K) values in [0, 1]; NaN marks a FoV column that could not be computed.
        factor_names: K names (default factor_0 ...).
        inactive_dims: original indices of dims to leave out of scoring.
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise DrvizError(f"an association matrix must be 2-D (dims x FoVs); got shape {a.shape}")
    if np.any(a[np.isfinite(a)] < 0) or np.any(a[np.isfinite(a)] > 1):
        raise DrvizError("association values must lie in [0, 1]")
    names = tuple(factor_names) if factor_names is not None else tuple(f"factor_{k}" for k in range(a.shape[1]))
    if len(names) != a.shape[1]:
        raise DrvizError(f"{len(names)} factor names for {a.shape[1]} columns")
    dead = tuple(sorted({int(d) for d in inactive_dims}))
    if any(not 0 <= d < a.shape[0] for d in dead):
        raise DrvizError(f"inactive dims must be in [0, {a.shape[0]})")
    active = [d for d in range(a.shape[0]) if d not in set(dead)]
    reasons = tuple(None if np.all(np.isfinite(a[active, f])) else "column not computed (NaN)"
                    for f in range(a.shape[1]))
    return omes_components(AssociationMatrix(a, names, dead, (0,) * a.shape[1], reasons))


# ---------------------------------------------------------------------------------------------
# Convenience: one call from arrays
# ---------------------------------------------------------------------------------------------
def compute_omes(z: np.ndarray, factors: np.ndarray, *, alpha: float = 0.5, pooling: Pooling = "avg",
                 factor_names: Sequence[str] | None = None, rng: np.random.Generator | int | None = 0,
                 estimator: Estimator = "sampled", repeats: int | None = None) -> OMESResult:
    """``association_matrix`` -> ``omes_components`` -> ``omes(alpha, pooling)`` in one call."""
    assoc = association_matrix(z, factors, factor_names=factor_names, rng=rng, estimator=estimator,
                               repeats=repeats)
    return omes_components(assoc).omes(alpha, pooling)


__all__ = [
    "AssociationMatrix", "FactorOMES", "OMESComponents", "OMESResult", "Pooled", "POOLINGS",
    "SYNTHETIC_KINDS", "association_from_pairs", "association_matrix", "components_from_matrix",
    "compute_omes", "inactive_dims", "omes_components", "per_dim_scores",
    "synthetic_association_matrix", "table_pairs",
]
