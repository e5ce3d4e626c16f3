"""Texture-dSprites: dSprites sprites over real texture photographs, procedurally.

The paper's code added Texture-dSprites in 2025 as a source for microscopy transfer: the dSprites
grid (``drviz.data.dsprites``) drawn over textures instead of black. Here the textures are the
photographs scikit-image ships (``skimage.data.brick``, ``grass``, ``gravel``: 512 x 512 grey,
no download). Every image takes a random 64 x 64 crop of a texture, scaled into [0, 0.6] so a
white sprite stays visible over it; the sprite is alpha-composited on top (its anti-aliased edge
blends into the texture). One channel, like dSprites.

- ``texture_dsprites``: which texture and where the crop sits are nuisances, drawn from ``rng``
  (the factor grid is dSprites' 737,280 combinations).
- ``texture_dsprites_fov``: the texture id is a FoV (``texture``, 3 values, first); only the
  crop's position is a nuisance.

Speed: crops are one fancy-index gather from a (3, 512, 512) float32 stack (3 MB), the sprites
the dSprites template scatter: same speed class as Noisy-dSprites.
"""

from __future__ import annotations

import numpy as np

from drviz.data.base import IMAGE_SIZE
from drviz.data.dsprites import DSprites

TEXTURES = ("brick", "grass", "gravel")
TEXTURE_MAX = 0.6  # brightest texture pixel: keeps the white sprite distinguishable

_STACK: dict[str, np.ndarray] = {}


def texture_stack() -> np.ndarray:
    """(len(TEXTURES), 512, 512) float32 in [0, TEXTURE_MAX], each texture stretched to its range."""
    if "s" not in _STACK:
        import skimage.data

        out = []
        for name in TEXTURES:
            t = getattr(skimage.data, name)().astype(np.float32)
            t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
            out.append(t[:512, :512] * TEXTURE_MAX)
        _STACK["s"] = np.stack(out)
    return _STACK["s"]


def texture_crops(texture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 64, 64) float32 crops of textures ``texture`` (n,) at random positions from ``rng``."""
    stack = texture_stack()
    side = stack.shape[1]
    n = len(texture)
    y0 = rng.integers(0, side - IMAGE_SIZE + 1, n)
    x0 = rng.integers(0, side - IMAGE_SIZE + 1, n)
    start = np.asarray(texture, np.int64) * side * side + y0 * side + x0
    flat = start[:, None] + (np.arange(IMAGE_SIZE)[:, None] * side + np.arange(IMAGE_SIZE)[None, :]).ravel()[None, :]
    return stack.ravel()[flat].reshape(n, IMAGE_SIZE, IMAGE_SIZE)


class TextureDSprites(DSprites):
    """White dSprites over a random crop of a random texture photograph (nuisance), 1 channel."""

    name = "texture_dsprites"
    description = "dSprites over random crops of brick / grass / gravel photographs (texture is a nuisance)"
    texture_fov = False

    def render(self, factors, rng=None):
        rng = rng if rng is not None else np.random.default_rng(0)
        f = self.check_factors(factors)
        masks = self._masks(f)
        texture = f[:, 0] if self.texture_fov else rng.integers(0, len(TEXTURES), len(f))
        out = texture_crops(texture, rng)
        out *= 1.0 - masks
        out += masks
        return out[:, None]


class TextureDSpritesFoV(TextureDSprites):
    """Texture-dSprites with the texture id as the first FoV (brick, grass, gravel)."""

    name = "texture_dsprites_fov"
    factor_names = ("texture",) + DSprites.factor_names
    factor_sizes = (len(TEXTURES),) + DSprites.factor_sizes
    description = "dSprites over brick / grass / gravel photographs, texture as a FoV (crop position is a nuisance)"
    texture_fov = True
