"""Synthetic association matrices that teach OMES (the paper's figures on simulated matrices:
underfitting through partial to near-perfect disentanglement, overlap and multiple encoding)."""

from __future__ import annotations

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.pairing import as_rng

SYNTHETIC_KINDS = ("underfitting", "partial", "near_perfect", "overlap", "multiple_encoding")


def synthetic_association_matrix(kind: str, n_dims: int = 10, n_factors: int = 5,
                                 rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """A (n_dims x n_factors) association matrix of a named kind, values in [0, 1].

    Kinds (all start from "FoV f lives in dim f", with n_dims >= n_factors; spare dims carry
    little association):
        underfitting: every entry low (0..0.25): the model barely reacts to any FoV.
        partial: half the FoVs well encoded, the others weakly and spread over two dims.
        near_perfect: diagonal 0.9..1, everything else 0..0.05.
        overlap: one dim encodes several FoVs (FoVs 0 and 1, and 2 and 3 share a dim).
        multiple_encoding: each FoV encoded by two dims with similar strength.
    """
    if kind not in SYNTHETIC_KINDS:
        raise DrvizError(f"unknown synthetic kind {kind!r}; choose one of {', '.join(SYNTHETIC_KINDS)}")
    if n_factors < 1 or n_dims < n_factors:
        raise DrvizError(f"need 1 <= n_factors <= n_dims; got {n_dims} dims, {n_factors} FoVs")
    rng = as_rng(rng)
    d, k = n_dims, n_factors
    diag = np.arange(k)
    if kind == "underfitting":
        a = rng.uniform(0.0, 0.25, (d, k))
    elif kind == "near_perfect":
        a = rng.uniform(0.0, 0.05, (d, k))
        a[diag, diag] = rng.uniform(0.9, 1.0, k)
    elif kind == "partial":
        a = rng.uniform(0.0, 0.1, (d, k))
        good = diag[: (k + 1) // 2]
        a[good, good] = rng.uniform(0.8, 0.95, good.size)
        for f in diag[(k + 1) // 2:]:
            a[f, f] = rng.uniform(0.3, 0.5)
            a[_second_dim(f, d, k), f] = rng.uniform(0.2, 0.4)
    elif kind == "overlap":
        a = rng.uniform(0.0, 0.05, (d, k))
        for f in range(k):
            a[f - f % 2, f] = rng.uniform(0.85, 1.0)  # FoVs 2i and 2i+1 share dim 2i
    else:  # multiple_encoding
        a = rng.uniform(0.0, 0.05, (d, k))
        for f in range(k):
            a[f, f] = rng.uniform(0.85, 1.0)
            a[_second_dim(f, d, k), f] = rng.uniform(0.85, 1.0)
    return np.round(np.clip(a, 0.0, 1.0), 4)


def _second_dim(f: int, d: int, k: int) -> int:
    """A second dim for FoV f: a spare one (index >= k) when there is one, else the next FoV's."""
    return k + f % (d - k) if d > k else (f + 1) % d


__all__ = ["SYNTHETIC_KINDS", "synthetic_association_matrix"]
