"""Batches of codes whose images share one FoV's value: the samplers of the two intervention-based
scores other than OMES (BetaVAE: ``drviz.metrics.betavae``, FactorVAE: ``drviz.metrics.factorvae``).

One interface, two sources:
- ``GeneratedSource``: the published protocol (disentanglement_lib's ``beta_vae.py`` /
  ``factor_vae.py``): every point draws fresh factor rows from the dataset's prior
  (``sample_factors``, the sampler OMES's lines use), copies the fixed FoV's value across the
  batch, renders and encodes them (``represent``, supplied by the caller: nothing here imports
  torch). 64 x 15,000 points is about a million images per score.
- ``TableSource``: the rows of a fixed table of codes and labels: a representation folder, or a
  pool of freshly encoded i.i.d. images (the scores' default, which encodes the pool once and
  draws every point from it). A point's rows are drawn among the rows that share the fixed FoV's
  value: BetaVAE's pair is a uniformly drawn row and a distinct row of its group; FactorVAE's
  batch is ``batch_size`` distinct rows of the group of a uniformly drawn row. This equals the
  published distribution when the table's FoVs are independent (an i.i.d. sample of the grid); a
  table whose rows cluster (``encode``'s line-sampled rows: anchors and the lines through them)
  gives batches whose other FoVs vary less than the prior's, and the scores move with that.

Rows are put in one canonical order first (sorted by labels, then codes), so a table gives the
same result in any row order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.numerics import canonical_rows, check_table
from drviz.metrics.pairing import factor_codes


class TableSource:
    """Points drawn from the rows of a fixed table (see the module docstring).

    Args:
        z: (N, D) codes. factors: (N, K) integer labels. factor_names: K names.
        description: how the rows were made (shown in notes).
    """

    kind = "table"

    def __init__(self, z: np.ndarray, factors: np.ndarray, factor_names: Sequence[str] | None = None,
                 description: str = "a fixed table of rows"):
        z, factors, names, dropped = check_table(z, factors, factor_names)
        self.z, self.factors = canonical_rows(z, factors)
        self.factor_names = names
        self.description = description
        self.notes: tuple[str, ...] = ((f"{dropped} rows with NaN/inf codes dropped",) if dropped else ())
        self.codes, self.sizes = factor_codes(self.factors) if len(self.factors) else (self.factors, np.zeros(len(names), np.int64))
        self._groups: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def n_dims(self) -> int:
        return int(self.z.shape[1])

    def _grouped(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows sorted by FoV k's value, where each value's group starts, and its size."""
        if k not in self._groups:
            order = np.argsort(self.codes[:, k], kind="stable")
            counts = np.bincount(self.codes[:, k], minlength=int(self.sizes[k]))
            starts = np.cumsum(counts) - counts
            self._groups[k] = (order, starts, counts)
        return self._groups[k]

    def status(self, min_group: int) -> list[str | None]:
        """Per FoV, None when a point can be drawn (some value has ``min_group`` rows), else why not."""
        out: list[str | None] = []
        for k in range(len(self.factor_names)):
            if len(self.factors) == 0:
                out.append("no rows")
            elif self.sizes[k] < 2:
                out.append("takes a single value: fixing it changes nothing")
            elif self._grouped(k)[2].max() < min_group:
                out.append(f"no value has the {min_group} rows sharing it that a point needs "
                           f"(largest group {int(self._grouped(k)[2].max())} rows)")
            else:
                out.append(None)
        return out

    def coverage_notes(self, min_group: int) -> tuple[str, ...]:
        """One line per FoV where only some values have ``min_group`` rows: points fix only those."""
        out = []
        for k, name in enumerate(self.factor_names):
            if len(self.factors) == 0 or self.sizes[k] < 2:
                continue
            counts = self._grouped(k)[2]
            ok = int((counts >= min_group).sum())
            if 0 < ok < len(counts):
                out.append(f"{name}: only {ok} of its {len(counts)} values have the {min_group} rows a point needs; "
                           "points fix those values only")
        return tuple(out)

    def _anchor(self, k: int, n: int, min_group: int, rng: np.random.Generator):
        """``n`` uniformly drawn rows among the groups of FoV k with >= ``min_group`` rows: their
        group's start and size in the sorted order, and their position in it."""
        order, starts, counts = self._grouped(k)
        ok = np.flatnonzero(counts >= min_group)
        cum = np.cumsum(counts[ok])
        pick = rng.integers(int(cum[-1]), size=n)
        idx = np.searchsorted(cum, pick, side="right")
        g = ok[idx]
        pos = pick - (cum[idx] - counts[g])  # position inside its group
        return order, starts[g], counts[g], pos

    def pairs(self, index: np.ndarray, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Per point p, ``batch`` pairs of rows sharing FoV ``index[p]``'s value: (z1, z2), each (P, B, D)."""
        p = len(index)
        z1 = np.empty((p, batch, self.n_dims))
        z2 = np.empty_like(z1)
        for k in np.unique(index):
            pts = np.flatnonzero(index == k)
            order, start, size, pos = self._anchor(int(k), len(pts) * batch, 2, rng)
            other = (pos + 1 + (rng.random(len(pos)) * (size - 1)).astype(np.int64)) % size  # distinct from pos
            z1[pts] = self.z[order[start + pos]].reshape(len(pts), batch, -1)
            z2[pts] = self.z[order[start + other]].reshape(len(pts), batch, -1)
        return z1, z2

    def batches(self, index: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
        """Per point p, ``batch`` distinct rows sharing FoV ``index[p]``'s value: (P, B, D)."""
        out = np.empty((len(index), batch, self.n_dims))
        for k in np.unique(index):
            pts = np.flatnonzero(index == k)
            order, start, size, _ = self._anchor(int(k), len(pts), batch, rng)
            for i, p in enumerate(pts):  # points, never rows: a few thousand draws of `batch` rows
                out[p] = self.z[order[start[i] + rng.choice(int(size[i]), batch, replace=False)]]
        return out

    def codes_sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(min(n, N), D) codes of distinct random rows (FactorVAE's global variances)."""
        if n >= len(self.z):
            return self.z
        return self.z[np.sort(rng.choice(len(self.z), n, replace=False))]


class GeneratedSource:
    """Points made of fresh images, as the published protocol (see the module docstring).

    Args:
        factor_sizes: K values per FoV. factor_names: K names.
        sample_factors: ``(n, rng) -> (n, K)`` int64 rows from the prior (a dataset's).
        represent: ``(factors (n, K), rng) -> (n, D)`` codes: render and encode.
        on_images: called with the number of images just encoded (progress).
    """

    kind = "generated"

    def __init__(self, factor_sizes: Sequence[int], factor_names: Sequence[str],
                 sample_factors: Callable[[int, np.random.Generator], np.ndarray],
                 represent: Callable[[np.ndarray, np.random.Generator], np.ndarray],
                 description: str = "fresh images from the dataset's prior",
                 on_images: Callable[[int], None] | None = None):
        self.sizes = np.asarray(factor_sizes, np.int64)
        self.factor_names = tuple(str(n) for n in factor_names)
        if len(self.sizes) != len(self.factor_names) or len(self.sizes) == 0:
            raise DrvizError(f"{len(self.factor_names)} factor names for {len(self.sizes)} factor sizes")
        self.sample_factors, self.represent = sample_factors, represent
        self.description = description
        self.notes: tuple[str, ...] = ()
        self.on_images = on_images
        self.n_images = 0

    def _codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        z = np.asarray(self.represent(factors, rng), np.float64)
        if z.ndim != 2 or len(z) != len(factors):
            raise DrvizError(f"the representation function returned shape {z.shape} for {len(factors)} rows")
        if not np.isfinite(z).all():
            raise DrvizError("the encoder returned NaN/inf codes; the model's weights are broken")
        self.n_images += len(factors)
        if self.on_images is not None:
            self.on_images(len(factors))
        return z

    def status(self, min_group: int) -> list[str | None]:
        return [None if s >= 2 else "takes a single value: fixing it changes nothing" for s in self.sizes]

    def pairs(self, index: np.ndarray, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        p, k = len(index), len(self.sizes)
        f1 = self.sample_factors(p * batch, rng).reshape(p, batch, k)
        f2 = self.sample_factors(p * batch, rng).reshape(p, batch, k)
        f2[np.arange(p), :, index] = f1[np.arange(p), :, index]  # the fixed FoV agrees within each pair
        z = self._codes(np.concatenate([f1.reshape(-1, k), f2.reshape(-1, k)]), rng)
        return z[:p * batch].reshape(p, batch, -1), z[p * batch:].reshape(p, batch, -1)

    def batches(self, index: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
        p, k = len(index), len(self.sizes)
        f = self.sample_factors(p * batch, rng).reshape(p, batch, k)
        f[np.arange(p), :, index] = f[np.arange(p), 0, index][:, None]  # the first row's value, as the reference
        return self._codes(f.reshape(-1, k), rng).reshape(p, batch, -1)

    def codes_sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._codes(self.sample_factors(n, rng), rng)


def measurable_index(status: Sequence[str | None]) -> np.ndarray:
    """Indices of the FoVs a point can fix; a one-line error when there is none."""
    ok = np.array([i for i, r in enumerate(status) if r is None], np.int64)
    if ok.size == 0:
        reasons = "; ".join(sorted({str(r) for r in status}))
        raise DrvizError(f"no FoV can be held fixed ({reasons}): the score is not measurable")
    return ok


def result_json(result) -> dict:
    """The JSON fields BetaVAE's and FactorVAE's results share: how the score was computed."""
    return {
        "train_accuracy": result.train_accuracy,
        "factors": list(result.factor_names),
        "reasons": {n: r for n, r in zip(result.factor_names, result.reasons) if r is not None},
        "n_train": result.n_train, "n_eval": result.n_eval, "batch_size": result.batch_size,
        "source": result.source, "n_images": result.n_images, "seed": result.seed, "notes": list(result.notes),
    }


__all__ = ["GeneratedSource", "TableSource", "measurable_index", "result_json"]
