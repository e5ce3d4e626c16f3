"""File datasets whose rows cover a complete factor grid: lookup by index arithmetic.

The official Shapes3D, MPI3D, Isaac3D and Coil100-Augmented files store one image per combination
of their factors. Then a label vector's mixed-radix code (last factor fastest) names its row
directly (``row = code`` when the file is in grid order, as all four are, else through one
permutation array), and sampling, intervention pairs and weak pairs are the generated datasets'
arithmetic (``GroundTruthDataset.sample_factors`` / ``redraw``): no grouping, no search. Images
come from an ``ImageStore`` (``drviz.data.cache``): memory-mapped in place or from the cache.

``dataset_from_labels`` picks this class for a complete grid and falls back to
``StoredDataset`` (grouping rows that agree on the other FoVs) for an incomplete one.
"""

from __future__ import annotations

import numpy as np

from drviz.data.base import IMAGE_SIZE, GroundTruthDataset
from drviz.data.cache import ImageStore
from drviz.errors import DrvizError


def mixed_radix(sizes: tuple[int, ...]) -> np.ndarray:
    """(K,) int64 place values of a row-major grid of ``sizes`` (last factor fastest)."""
    return np.cumprod((1,) + tuple(sizes)[:0:-1])[::-1].astype(np.int64)


class FileGridDataset(GroundTruthDataset):
    """Stored images, one per combination of ``factor_sizes``.

    Args:
        store: the images, ``store.n == prod(factor_sizes)``.
        row_of_code: (n,) int64 row of each grid code, or None when row == code (grid order).
        factor_values: optional per-FoV arrays of the values found in the files.
    """

    synthetic = False
    notes: tuple[str, ...] = ()

    def __init__(self, name: str, store: ImageStore, factor_names, factor_sizes, *, row_of_code=None,
                 description: str = "", factor_values=None):
        self.name = name
        self.store = store
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        total = int(np.prod(self.factor_sizes, dtype=np.int64))
        if store.n != total:
            raise DrvizError(f"{name}: {store.n:,} images for a grid of {total:,} combinations; the file is incomplete or mislabelled")
        self.row_of_code = row_of_code
        self.description = description
        self.factor_values = factor_values
        self.image_shape = (store.channels, IMAGE_SIZE, IMAGE_SIZE)
        self._radix = mixed_radix(self.factor_sizes)

    def rows_of(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Row index of each (n, K) label vector (every combination is stored)."""
        codes = self.check_factors(factors) @ self._radix
        return codes if self.row_of_code is None else self.row_of_code[codes]

    @property
    def labels(self) -> np.ndarray:
        """(n, K) int64 label row of every stored image, in row order (built on demand)."""
        codes = np.arange(self.store.n, dtype=np.int64)
        if self.row_of_code is not None:
            codes = np.empty_like(codes)
            codes[self.row_of_code] = np.arange(self.store.n)
        return np.stack(np.unravel_index(codes, self.factor_sizes), axis=1).astype(np.int64)

    def images_at(self, rows: np.ndarray) -> np.ndarray:
        """float32 (n, C, 64, 64) in [0, 1] for stored row indices."""
        out = self.store.read(rows).astype(np.float32)
        out *= np.float32(1.0 / 255.0)
        return out

    def render(self, factors, rng=None):
        return self.images_at(self.rows_of(factors))


def classes_of_values(values: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Per column, the index of each value among the column's sorted distinct values.

    Returns (labels (n, K) int64, per-column distinct values). Used for files that store factor
    *values* (Shapes3D's hues in 0..0.9, Isaac3D's positions).
    """
    labels = np.empty(values.shape, np.int64)
    uniques = []
    for k in range(values.shape[1]):
        u, inv = np.unique(values[:, k], return_inverse=True)
        labels[:, k] = inv.ravel()
        uniques.append(u)
    return labels, tuple(uniques)


def dataset_from_labels(name: str, store: ImageStore, labels: np.ndarray, factor_names, factor_sizes, *,
                        description: str = "", factor_values=None):
    """A ``FileGridDataset`` when ``labels`` cover the grid once each, else a ``StoredDataset``."""
    from drviz.data.files import StoredDataset

    sizes = tuple(int(s) for s in factor_sizes)
    labels = np.asarray(labels, dtype=np.int64)
    total = int(np.prod(sizes, dtype=np.int64))
    if len(labels) == total and labels.size and labels.min() >= 0 and np.all(labels.max(axis=0) < np.asarray(sizes)):
        codes = labels @ mixed_radix(sizes)
        if np.array_equal(codes, np.arange(total)):
            return FileGridDataset(name, store, factor_names, sizes, description=description, factor_values=factor_values)
        if np.all(np.bincount(codes, minlength=total) == 1):
            row_of_code = np.empty(total, np.int64)
            row_of_code[codes] = np.arange(total)
            return FileGridDataset(name, store, factor_names, sizes, row_of_code=row_of_code,
                                   description=description, factor_values=factor_values)
    return StoredDataset(name, store, labels, tuple(factor_names), sizes, description=description, factor_values=factor_values)
