"""MIG: Mutual Information Gap (Chen et al., NeurIPS 2018), as google-research/disentanglement_lib
computes it (``evaluation/metrics/mig.py`` with ``utils.make_discretizer`` /
``discrete_mutual_info`` / ``discrete_entropy``).

Each dim is discretised into 20 equal-width bins over its own range (``np.histogram`` edges,
``np.digitize``); I[d, f] is the discrete mutual information (natural log, as
``sklearn.metrics.mutual_info_score``) between binned dim d and FoV f; H[f] the FoV's entropy.
MIG_f = (largest - second largest I[:, f]) / H[f]; MIG is their mean.

What differs: the mutual information of all dims and FoVs comes from one contingency count per
pair with ``np.bincount`` (vectorised; equal to sklearn's value); arrays are (samples, dims); a
single-valued FoV (H = 0, a division by zero in disentanglement_lib) is not measurable and left
out of the mean; with a single dim the gap is its MI (no runner-up); rows with NaN/inf are dropped.
A dim whose range cannot hold 20 finite equal-width bins (a constant such as 1e16, or values that
differ only by float rounding: ``np.histogram`` raises "Too many bins for data range" on both) is
one bin and carries no information (``drviz.metrics.numerics``); every other dim gets exactly
disentanglement_lib's bins. Entropies and mutual information are never -0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.numerics import N_BINS, bin_edges, json_num, nonneg


@dataclass(frozen=True)
class MIGResult:
    """MIG and the mutual-information matrix behind it.

    Attributes:
        mig: mean over measurable FoVs of the normalised gap (None when none is measurable).
        per_factor: (K,) normalised gaps (NaN when not measurable).
        mi_matrix: (D, K) mutual information in nats.
        entropy: (K,) FoV entropies in nats.
        factor_names, measurable, reasons: per FoV.
    """

    mig: float | None
    per_factor: np.ndarray
    mi_matrix: np.ndarray
    entropy: np.ndarray
    factor_names: tuple[str, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]

    def to_json(self) -> dict:
        return {
            "mig": self.mig,
            "per_factor": {n: json_num(v) for n, v in zip(self.factor_names, self.per_factor)},
            "mi_matrix": [[float(v) for v in row] for row in self.mi_matrix],
            "entropy": dict(zip(self.factor_names, (float(h) for h in self.entropy))),
            "factors": list(self.factor_names),
            "reasons": {n: r for n, r in zip(self.factor_names, self.reasons) if r is not None},
        }


def discretize(z: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """(N, D) int64 bin indices in 1..n_bins, per dim over its own range (disentanglement_lib's
    ``_histogram_discretize``: ``np.digitize`` on ``np.histogram`` edges without the last).

    A dim whose range cannot hold ``n_bins`` finite bins is all in bin 1 (one bin)."""
    z = np.asarray(z, np.float64)
    out = np.ones(z.shape, np.int64)
    for d in range(z.shape[1]):  # D columns, never rows
        edges = bin_edges(z[:, d], n_bins)
        if edges is not None:
            out[:, d] = np.digitize(z[:, d], edges[:-1])
    return out


def _codes(y: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inv = np.unique(y, return_inverse=True)
    return inv.reshape(-1), len(uniq)


def mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """Discrete mutual information (nats) of two label vectors, as sklearn's mutual_info_score."""
    ca, na = _codes(a)
    cb, nb = _codes(b)
    return float(_mi_from_counts(np.bincount(ca * nb + cb, minlength=na * nb).reshape(na, nb)))


def _mi_from_counts(c: np.ndarray) -> float:
    n = c.sum()
    if n == 0:
        return 0.0
    pxy = c / n
    px = pxy.sum(axis=1, keepdims=True)
    py = pxy.sum(axis=0, keepdims=True)
    nz = pxy > 0
    return nonneg(np.sum(pxy[nz] * (np.log(pxy[nz]) - np.log((px @ py)[nz]))))


def mutual_info_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """(D, K) mutual information between discretised dims and FoVs."""
    d, k = codes.shape[1], factors.shape[1]
    m = np.zeros((d, k))
    fc = [_codes(factors[:, j]) for j in range(k)]
    for i in range(d):
        ci, ni = _codes(codes[:, i])
        for j, (cj, nj) in enumerate(fc):
            m[i, j] = _mi_from_counts(np.bincount(ci * nj + cj, minlength=ni * nj).reshape(ni, nj))
    return m


def entropies(factors: np.ndarray) -> np.ndarray:
    """(K,) discrete entropy (nats) of each FoV (disentanglement_lib: I(y; y))."""
    out = np.zeros(factors.shape[1])
    for j in range(factors.shape[1]):
        p = np.bincount(_codes(factors[:, j])[0]) / len(factors) if len(factors) else np.zeros(1)
        p = p[p > 0]
        out[j] = nonneg(-(p * np.log(p)).sum())
    return out


def compute_mig(z: np.ndarray, factors: np.ndarray, *, factor_names: Sequence[str] | None = None,
        n_bins: int = N_BINS) -> MIGResult:
    """MIG of codes ``z`` (N, D) against integer labels ``factors`` (N, K)."""
    z, factors = np.asarray(z), np.asarray(factors)
    if z.ndim != 2 or factors.ndim != 2 or len(z) != len(factors):
        raise DrvizError(f"need (N, D) codes and (N, K) labels; got {z.shape} and {factors.shape}")
    if z.shape[1] == 0:
        raise DrvizError("the representation has no dims")
    if n_bins < 2:
        raise DrvizError(f"need at least 2 bins; got {n_bins}")
    k = factors.shape[1]
    names = tuple(factor_names) if factor_names is not None else tuple(f"factor_{i}" for i in range(k))
    if len(names) != k:
        raise DrvizError(f"{len(names)} factor names for {k} FoVs")
    ok = np.isfinite(np.asarray(z, np.float64)).all(axis=1)
    z, factors = z[ok], factors[ok].astype(np.int64)
    m = mutual_info_matrix(discretize(z, n_bins), factors) if len(z) else np.zeros((z.shape[1], k))
    h = entropies(factors)
    top = np.sort(m, axis=0)[::-1]
    gap = top[0] - (top[1] if len(top) > 1 else 0.0)
    reasons = tuple(None if h[j] > 0 else ("no rows" if len(z) == 0 else "takes a single value (entropy 0)")
                    for j in range(k))
    per = np.full(k, np.nan)
    meas = np.array([r is None for r in reasons])
    per[meas] = np.maximum(gap[meas] / h[meas], 0.0) + 0.0
    score = float(np.mean(per[meas])) if meas.any() else None
    return MIGResult(score, per, m, h, names, tuple(bool(x) for x in meas), reasons)


__all__ = ["MIGResult", "N_BINS", "discretize", "entropies", "compute_mig", "mutual_info", "mutual_info_matrix"]
