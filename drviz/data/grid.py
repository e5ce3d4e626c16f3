"""Factor-traversal grids: one row per FoV, traversed while the other FoVs stay fixed.

``traversal_factors`` builds the factor array (pure, no rendering); ``traversal_grid`` renders it
and tiles the images into one uint8 (H, W, 3) picture (``drviz.imaging.tile``).
"""

from __future__ import annotations

import numpy as np

from drviz.data.base import GroundTruthDataset
from drviz.errors import DrvizError
from drviz.imaging import tile


def traversal_factors(
    ds: GroundTruthDataset, base: np.ndarray, steps: int
) -> np.ndarray:
    """(K * steps, K) factors: row block f walks FoV f over ``steps`` evenly spaced values.

    ``base`` is the (K,) factor vector the other FoVs keep. The values are evenly spaced among
    those the dataset offers with the others fixed (``ds.factor_values_along``: the whole range
    on a generated grid, only stored rows for files); a FoV with fewer than ``steps`` values
    repeats some (``np.linspace`` indices rounded down), so every row has ``steps`` cells.
    """
    base = ds.check_factors(np.asarray(base).reshape(1, -1))[0]
    rows = []
    for f in range(ds.num_factors):
        available = ds.factor_values_along(base, f)
        values = available[np.floor(np.linspace(0, len(available) - 1, steps) + 1e-9).astype(np.int64)]
        block = np.repeat(base[None, :], steps, axis=0)
        block[:, f] = values
        rows.append(block)
    return np.concatenate(rows, axis=0)


def traversal_grid(
    ds: GroundTruthDataset, rng: np.random.Generator, steps: int = 10, base: np.ndarray | None = None
) -> np.ndarray:
    """Render a traversal grid: uint8 (K * (64 + 2) + 2, steps * (64 + 2) + 2, 3).

    The fixed FoVs come from ``base`` or, if None, one random draw from ``rng``.
    """
    if steps < 2:
        raise DrvizError(f"--steps must be at least 2; got {steps}")
    if base is None:
        base = ds.sample_factors(1, rng)[0]
    factors = traversal_factors(ds, base, steps)
    images = ds.render(factors, rng)
    return tile(images.reshape(ds.num_factors, steps, *images.shape[1:]), border=True)
