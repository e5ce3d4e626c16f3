"""dSprites and its colour / noise variants, rendered procedurally (docs/architecture.md).

Grid as in Matthey et al. 2017 ("dSprites: Disentanglement testing Sprites dataset"): shape 3
(square, ellipse, heart) x scale 6 (0.5..1) x orientation 40 (0..2*pi, first and last angle
coincide as in the original) x posX 32 x posY 32. The sprites are not pixel-identical to
DeepMind's files (those cannot be downloaded here; ``drviz.data.files.load_dsprites_npz`` opens
them when a user has them) but follow the same factor semantics.

Speed: every (shape, scale, orientation) sprite is rasterised once, anti-aliased by 4x4
supersampling, into a 28x28 template (720 templates, 0.5 MB). Rendering a batch is then a single
fancy-index scatter of the templates into blank canvases, with no per-sample Python.
"""

from __future__ import annotations

import numpy as np

from drviz.data.base import IMAGE_SIZE, GroundTruthDataset

SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
N_POS = 32
TEMPLATE = 28  # template side: the largest rotated sprite fits with a margin
SUPERSAMPLE = 4
# Top-left offset of the template for each position index: 0..36 px in 32 distinct steps.
OFFSETS = np.round(np.arange(N_POS) * (IMAGE_SIZE - TEMPLATE) / (N_POS - 1)).astype(np.int64)

# Six well separated hues plus white (Color-dSprites' colour FoV).
COLORS = np.array(
    [
        [1.0, 1.0, 1.0],  # white
        [1.0, 0.0, 0.0],  # red
        [1.0, 1.0, 0.0],  # yellow
        [0.0, 1.0, 0.0],  # green
        [0.0, 1.0, 1.0],  # cyan
        [0.0, 0.0, 1.0],  # blue
        [1.0, 0.0, 1.0],  # magenta
    ],
    dtype=np.float32,
)
COLOR_NAMES = ("white", "red", "yellow", "green", "cyan", "blue", "magenta")


def _inside(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Membership of sprite-frame points (unit scale ~ 9 px half-extent) in a shape."""
    if shape == "square":
        return (np.abs(x) <= 0.8) & (np.abs(y) <= 0.8)
    if shape == "ellipse":
        return (x / 1.05) ** 2 + (y / 0.6) ** 2 <= 1.0
    # heart: the classic implicit curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, tip pointing down.
    hx, hy = x / 0.9, -(y - 0.15) / 0.9
    return (hx**2 + hy**2 - 1) ** 3 - hx**2 * hy**3 <= 0


def _templates() -> np.ndarray:
    """All sprites, (3 shapes * 6 scales * 40 orientations, TEMPLATE * TEMPLATE) float32."""
    n = TEMPLATE * SUPERSAMPLE
    # Pixel-centre coordinates of the supersampled grid, in pixels from the template centre.
    c = (np.arange(n) + 0.5) / SUPERSAMPLE - TEMPLATE / 2
    yy, xx = np.meshgrid(c, c, indexing="ij")
    unit = 9.0  # pixels per sprite unit at scale 1
    out = np.empty((len(SHAPES), len(SCALES), len(ORIENTATIONS), TEMPLATE, TEMPLATE), np.float32)
    for i, shape in enumerate(SHAPES):
        for j, scale in enumerate(SCALES):
            for k, theta in enumerate(ORIENTATIONS):
                # Inverse-rotate the sample points into the sprite frame.
                cos, sin = np.cos(theta), np.sin(theta)
                x = (cos * xx + sin * yy) / (unit * scale)
                y = (-sin * xx + cos * yy) / (unit * scale)
                mask = _inside(shape, x, y).astype(np.float32)
                out[i, j, k] = mask.reshape(TEMPLATE, SUPERSAMPLE, TEMPLATE, SUPERSAMPLE).mean(axis=(1, 3))
    return out.reshape(-1, TEMPLATE * TEMPLATE)


_TEMPLATE_CACHE: dict[str, np.ndarray] = {}


def sprite_templates() -> np.ndarray:
    if "t" not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE["t"] = _templates()
    return _TEMPLATE_CACHE["t"]


# Flat offsets of a template's pixels inside a 64x64 canvas.
_PATTERN = (np.arange(TEMPLATE)[:, None] * IMAGE_SIZE + np.arange(TEMPLATE)[None, :]).ravel()


def render_sprites(shape: np.ndarray, scale: np.ndarray, orientation: np.ndarray, pos_x: np.ndarray, pos_y: np.ndarray) -> np.ndarray:
    """White-on-black sprite masks for factor index arrays, (n, 64, 64) float32 in [0, 1]."""
    n = len(shape)
    tid = (shape * len(SCALES) + scale) * len(ORIENTATIONS) + orientation
    canvas = np.zeros((n, IMAGE_SIZE * IMAGE_SIZE), np.float32)
    corner = OFFSETS[pos_y] * IMAGE_SIZE + OFFSETS[pos_x]
    flat = (np.arange(n, dtype=np.int64) * IMAGE_SIZE * IMAGE_SIZE + corner)[:, None] + _PATTERN[None, :]
    canvas.ravel()[flat] = sprite_templates()[tid]
    return canvas.reshape(n, IMAGE_SIZE, IMAGE_SIZE)


class DSprites(GroundTruthDataset):
    name = "dsprites"
    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    factor_sizes = (3, 6, 40, 32, 32)
    image_shape = (1, IMAGE_SIZE, IMAGE_SIZE)
    description = "white 2D sprites on black (square, ellipse, heart), 737,280 combinations"

    def _masks(self, factors: np.ndarray) -> np.ndarray:
        f = self.check_factors(factors)[:, -5:]
        return render_sprites(f[:, 0], f[:, 1], f[:, 2], f[:, 3], f[:, 4])

    def render(self, factors, rng=None):
        return self._masks(factors)[:, None]


class ColorDSprites(DSprites):
    """dSprites with colour as a FoV (7 values: six hues and white), RGB.

    ``random_color=True`` instead paints each image with a random colour in [0.5, 1]^3 drawn from
    ``rng`` (disentanglement_lib's variant): colour is then a nuisance, not a FoV.
    """

    name = "color_dsprites"
    factor_names = ("color",) + DSprites.factor_names
    factor_sizes = (len(COLORS),) + DSprites.factor_sizes
    image_shape = (3, IMAGE_SIZE, IMAGE_SIZE)
    description = "dSprites with 7 discrete colours as an extra FoV, RGB"

    def __init__(self, random_color: bool = False):
        self.random_color = random_color
        if random_color:
            self.factor_names = DSprites.factor_names
            self.factor_sizes = DSprites.factor_sizes
            self.description = "dSprites painted with a random colour per image (nuisance), RGB"

    def _colors(self, factors: np.ndarray, rng) -> np.ndarray:
        if self.random_color:
            rng = rng if rng is not None else np.random.default_rng(0)
            return rng.uniform(0.5, 1.0, size=(len(factors), 3)).astype(np.float32)
        return COLORS[np.asarray(factors)[:, 0]]

    def render(self, factors, rng=None):
        masks = self._masks(factors)
        return masks[:, None] * self._colors(factors, rng)[:, :, None, None]


def _noise_background(n: int, rng) -> np.ndarray:
    rng = rng if rng is not None else np.random.default_rng(0)
    return rng.random((n, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)


class NoisyDSprites(DSprites):
    """White sprite over per-pixel uniform noise (the nuisance comes from ``rng``), RGB."""

    name = "noisy_dsprites"
    image_shape = (3, IMAGE_SIZE, IMAGE_SIZE)
    description = "white dSprites over a uniform-noise background (noise is a nuisance), RGB"

    def render(self, factors, rng=None):
        masks = self._masks(factors)
        out = _noise_background(len(masks), rng)
        out += masks[:, None]
        return np.minimum(out, 1.0, out=out)


class NoisyColorDSprites(ColorDSprites):
    """Coloured sprite over per-pixel uniform noise: the sprite replaces the noise where it is drawn."""

    name = "noisy_color_dsprites"
    description = "coloured dSprites over a uniform-noise background, RGB"

    def render(self, factors, rng=None):
        masks = self._masks(factors)[:, None]
        out = _noise_background(len(masks), rng)
        # Alpha-composite: a coloured sprite must stay its colour, not wash out to white.
        out *= 1.0 - masks
        out += masks * self._colors(factors, rng)[:, :, None, None]
        return out
