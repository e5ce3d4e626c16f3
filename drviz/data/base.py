"""The dataset protocol every drviz dataset follows (docs/architecture.md).

A dataset maps integer factor labels to images. Generated datasets render any factor
combination on demand; file-backed ones look the combination up among their stored rows.
Images are float32 in [0, 1], shaped (n, C, 64, 64); factors are int64, shaped (n, K).
Randomness is always an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError

IMAGE_SIZE = 64


@dataclass(frozen=True)
class DatasetInfo:
    """What ``python -m drviz datasets`` and the app show about a dataset."""

    name: str
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    image_shape: tuple[int, int, int]
    synthetic: bool
    labelled: bool
    description: str

    @property
    def kind(self) -> str:
        return f"{'synthetic' if self.synthetic else 'real'}, {'labelled' if self.labelled else 'unlabelled'}"

    @property
    def n_combinations(self) -> int:
        return int(np.prod(self.factor_sizes, dtype=np.int64))


class GroundTruthDataset:
    """Base class: subclasses set the class attributes and implement ``render``.

    ``labelled`` is False for image collections without factor labels: they expose a single
    ``image`` factor (the row index) so that sampling and rendering work the same way, but
    metrics refuse them.
    """

    name: str = ""
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    image_shape: tuple[int, int, int] = (1, IMAGE_SIZE, IMAGE_SIZE)
    synthetic: bool = True
    labelled: bool = True
    description: str = ""

    @property
    def num_factors(self) -> int:
        return len(self.factor_names)

    @property
    def info(self) -> DatasetInfo:
        return DatasetInfo(
            self.name,
            tuple(self.factor_names),
            tuple(int(s) for s in self.factor_sizes),
            tuple(self.image_shape),
            self.synthetic,
            self.labelled,
            self.description,
        )

    def factor_index(self, name_or_index: str | int) -> int:
        """Resolve a FoV given by name or position; a clear error for anything else."""
        if isinstance(name_or_index, (int, np.integer)):
            if 0 <= int(name_or_index) < self.num_factors:
                return int(name_or_index)
        elif name_or_index in self.factor_names:
            return self.factor_names.index(name_or_index)
        raise DrvizError(
            f"unknown factor {name_or_index!r} for dataset {self.name!r}; "
            f"choose one of {', '.join(self.factor_names)}"
        )

    # -- sampling -------------------------------------------------------------------------
    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` factor vectors uniformly from the full grid. Returns (n, K) int64."""
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        return (rng.random((n, len(sizes))) * sizes).astype(np.int64)

    def redraw(self, factors: np.ndarray, factor: int, rng: np.random.Generator) -> np.ndarray:
        """Copy of ``factors`` with column ``factor`` redrawn to a *different* value in every row.

        Rows whose factor has a single possible value stay unchanged (callers drop them).
        """
        out = np.array(factors, dtype=np.int64, copy=True)
        size = self.factor_sizes[factor]
        if size < 2:
            return out
        # Draw from the size-1 other values: shift by 1..size-1 modulo size (uniform over them).
        shift = rng.integers(1, size, size=len(out))
        out[:, factor] = (out[:, factor] + shift) % size
        return out

    def factor_values_along(self, base: np.ndarray, factor: int) -> np.ndarray:
        """Sorted values ``factor`` can take while the other FoVs keep ``base``'s values.

        Every value on a full generated grid; file-backed datasets override this to list only the
        combinations they store (used by traversal grids).
        """
        return np.arange(self.factor_sizes[factor], dtype=np.int64)

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Images for (n, K) factors: float32 (n, C, 64, 64) in [0, 1].

        ``rng`` drives nuisance randomness only (e.g. a noise background); factor-determined
        content never depends on it.
        """
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` random (images, factors)."""
        factors = self.sample_factors(n, rng)
        return self.render(factors, rng), factors

    def check_factors(self, factors: np.ndarray) -> np.ndarray:
        """Validate a factor array (shape, integer, in range) and return it as int64."""
        arr = np.asarray(factors)
        if arr.ndim != 2 or arr.shape[1] != self.num_factors:
            raise DrvizError(
                f"{self.name}: factors must have shape (n, {self.num_factors}) "
                f"for {', '.join(self.factor_names)}; got {arr.shape}"
            )
        if arr.size and (not np.issubdtype(arr.dtype, np.integer)):
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise DrvizError(f"{self.name}: factor values must be integers")
        arr = arr.astype(np.int64)
        sizes = np.asarray(self.factor_sizes)
        if arr.size and (arr.min() < 0 or np.any(arr >= sizes)):
            raise DrvizError(
                f"{self.name}: factor values out of range; sizes are "
                + ", ".join(f"{n}={s}" for n, s in zip(self.factor_names, self.factor_sizes))
            )
        return arr
