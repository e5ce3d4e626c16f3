"""Real objects: photographed objects composited at controlled pose (docs/architecture.md).

In the spirit of Coil100-Augmented (Dapueto et al. 2024 use it as a real target): real objects,
rotated in plane, scaled and placed on a grid of positions, optionally over real textures, with
every factor labelled. Nothing can be downloaded here, so the objects are cut from the
photographs that ship inside scikit-image (``skimage.data``: coffee, chelsea, astronaut, rocket,
stereo_motorcycle, coins) and scikit-learn (``datasets/images/flower.jpg``, what
``sklearn.datasets.load_sample_image("flower.jpg")`` returns), each with a
hand-drawn mask (ellipses and polygons in the photo's pixel coordinates). The background textures
are skimage's brick, grass and gravel photographs, lightly tinted.

FoVs: object 7 x rotation 16 (0..337.5 degrees, counter-clockwise) x scale 6 x posX 10 x posY 10
x background 4 (black, brick, grass, gravel) = 268,800 combinations, 64x64 RGB.

Framing follows Coil-100 (the paper's real target): the object is the subject, not a speck on a
background. Each object's largest size is set by its mask's area: it covers about 2/3 of the frame
at the largest scale (radius, the farthest mask pixel from the centroid, between 30 and 40 px), and
the scales shrink the radius to 0.6x, so every object but the thin rocket covers a third to two
thirds of the frame at the middle scales. The centre moves at most 8 px from the frame's centre,
and whatever passes the frame's edge is cropped, as a camera would.

Speed: like ``dsprites.py``, every (object, rotation, scale) sprite is resampled once (2x2
supersampled, premultiplied alpha) into an 80x80 RGBA template, a few seconds for all 672 and
69 MB, built on first use and kept in memory. Rendering a batch is one gather/scatter of the
template windows into a 96x96 canvas (a template plus the 16 px its corner can move), cropped to
the central 64x64: no per-sample Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from drviz.data.base import IMAGE_SIZE, GroundTruthDataset

TEMPLATE = 80  # template side in pixels: an object of radius R_MAX fits at any rotation
R_MIN, R_MAX = 30.0, 40.0  # bounds of an object's radius at scale index 5
COVER = 0.66  # fraction of the frame an object's mask covers at scale index 5 (within the radius bounds)
SUPERSAMPLE = 2
ROTATIONS = np.arange(16) * 22.5  # degrees, counter-clockwise
SCALES = np.linspace(0.6, 1.0, 6)  # radius as a fraction of the object's largest radius
N_POS = 10
SHIFT = 8  # the object's centre moves at most this many px from the frame's centre
CANVAS = TEMPLATE + 2 * SHIFT  # rendering canvas; the frame is its central 64x64
FRAME = (CANVAS - IMAGE_SIZE) // 2  # the frame's first row / column in the canvas
# Top-left corner of the template in the canvas for each position index: 0..16 px.
OFFSETS = np.round(np.linspace(0, 2 * SHIFT, N_POS)).astype(np.int64)
BACKGROUNDS = ("black", "brick", "grass", "gravel")
# Tints for the grey texture photographs (brick reddish, grass green, gravel neutral).
_TINTS = {"brick": (0.85, 0.5, 0.4), "grass": (0.45, 0.7, 0.3), "gravel": (0.7, 0.68, 0.62)}


@dataclass(frozen=True)
class ObjectSpec:
    """One cut-out: which photograph, and the mask as a union of ellipses and polygons.

    ``ellipses`` are (cx, cy, rx, ry), ``polygons`` lists of (x, y), in the photo's pixels.
    """

    name: str
    photo: str
    ellipses: tuple[tuple[float, float, float, float], ...] = ()
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()


OBJECTS: tuple[ObjectSpec, ...] = (
    ObjectSpec("coffee_cup", "coffee", ellipses=((278, 232, 203, 157), (290, 120, 118, 100))),
    ObjectSpec("cat", "chelsea", ellipses=((215, 165, 195, 140),),
               polygons=(((40, 120), (60, 0), (150, 40)), ((300, 40), (385, 0), (380, 110)))),
    ObjectSpec(
        "astronaut",
        "astronaut",
        ellipses=((228, 100, 76, 92),),
        polygons=(((115, 165), (300, 160), (345, 250), (362, 340), (30, 340), (45, 250)),),
    ),
    ObjectSpec(
        "rocket",
        "rocket",
        polygons=(((322, 124), (311, 140), (308, 176), (306, 406), (338, 406), (336, 176), (333, 140)),),
    ),
    ObjectSpec(
        "motorcycle",
        "motorcycle",
        polygons=(
            (
                (92, 195), (140, 150), (250, 160), (330, 150), (335, 115), (400, 100), (470, 120),
                (500, 75), (540, 85), (585, 120), (585, 175), (555, 200), (560, 260), (630, 270),
                (670, 320), (690, 380), (670, 440), (620, 455), (565, 430), (530, 380), (470, 360),
                (350, 380), (345, 440), (320, 440), (300, 380), (275, 370), (240, 400), (190, 405),
                (140, 380), (118, 330), (120, 270), (100, 240),
            ),
        ),
    ),
    ObjectSpec("coin", "coins", ellipses=((347, 187, 34, 34),)),
    ObjectSpec("flower", "flower", ellipses=((307, 222, 141, 139),)),
)
OBJECT_NAMES = tuple(o.name for o in OBJECTS)


def _photo(name: str) -> np.ndarray:
    """A shipped photograph as float32 RGB (H, W, 3) in [0, 1]; never downloads."""
    import skimage.data

    if name == "flower":
        # scikit-learn's sample photo, read straight from the installed package: importing
        # sklearn itself would cost a second.
        from importlib.util import find_spec
        from pathlib import Path

        from PIL import Image

        spec = find_spec("sklearn")
        path = Path(spec.origin).parent / "datasets" / "images" / "flower.jpg"
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
    elif name == "motorcycle":
        img = skimage.data.stereo_motorcycle()[0]
    else:
        img = getattr(skimage.data, name)()
    img = np.asarray(img, dtype=np.float32) / 255.0
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img[:, :, :3]


def _mask(spec: ObjectSpec, shape: tuple[int, int]) -> np.ndarray:
    from skimage.draw import ellipse, polygon

    mask = np.zeros(shape, np.float32)
    for cx, cy, rx, ry in spec.ellipses:
        rr, cc = ellipse(cy, cx, ry, rx, shape=shape)
        mask[rr, cc] = 1.0
    for poly in spec.polygons:
        xy = np.asarray(poly, dtype=np.float64)
        rr, cc = polygon(xy[:, 1], xy[:, 0], shape=shape)
        mask[rr, cc] = 1.0
    return mask


def cutout(spec: ObjectSpec) -> np.ndarray:
    """The object cropped to its mask: premultiplied RGBA float32 (h, w, 4)."""
    img = _photo(spec.photo)
    mask = _mask(spec, img.shape[:2])
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    m = mask[crop][:, :, None]
    return np.concatenate([img[crop] * m, m], axis=2)


def _object_templates(spec: ObjectSpec) -> np.ndarray:
    """(len(ROTATIONS), len(SCALES), TEMPLATE, TEMPLATE, 4) premultiplied RGBA for one object."""
    from scipy.ndimage import map_coordinates
    from skimage.transform import rescale

    rgba = cutout(spec)
    alpha = rgba[:, :, 3]
    ys, xs = np.nonzero(alpha > 0.5)
    cy, cx = ys.mean(), xs.mean()
    radius = np.sqrt((ys - cy) ** 2 + (xs - cx) ** 2).max()
    # The largest on-screen radius at which the mask covers COVER of the frame (area grows as r^2).
    target = float(np.clip(np.sqrt(COVER * IMAGE_SIZE**2 * radius**2 / alpha.sum()), R_MIN, R_MAX))
    # Pre-shrink (anti-aliased) so the final resampling never minifies by more than ~2x.
    factor = min(1.0, target * SUPERSAMPLE / radius)
    if factor < 1.0:
        rgba = rescale(rgba, factor, anti_aliasing=True, channel_axis=2, order=1).astype(np.float32)
        cy, cx, radius = cy * factor, cx * factor, radius * factor
    n = TEMPLATE * SUPERSAMPLE
    c = np.arange(n) + 0.5 - n / 2  # supersampled pixel centres relative to the template centre
    vv, uu = np.meshgrid(c, c, indexing="ij")  # vv: down, uu: right
    theta = np.deg2rad(ROTATIONS)[:, None, None, None]
    zoom = (radius / (SCALES * target * SUPERSAMPLE))[None, :, None, None]
    # Inverse map of a counter-clockwise rotation on screen (y axis points down).
    cos, sin = np.cos(theta), np.sin(theta)
    src_x = cx + zoom * (cos * uu - sin * vv)
    src_y = cy + zoom * (sin * uu + cos * vv)
    out = np.empty((len(ROTATIONS), len(SCALES), n, n, 4), np.float32)
    for ch in range(4):
        out[..., ch] = map_coordinates(rgba[:, :, ch], [src_y, src_x], order=1, mode="constant", cval=0.0)
    out = out.reshape(len(ROTATIONS), len(SCALES), TEMPLATE, SUPERSAMPLE, TEMPLATE, SUPERSAMPLE, 4)
    return np.clip(out.mean(axis=(3, 5)), 0.0, 1.0)


@lru_cache(maxsize=1)
def object_templates() -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied colour (N, 3, T*T) and alpha (N, T*T) float32 for N = 7 * 16 * 6 sprites,
    indexed by (object * 16 + rotation) * 6 + scale."""
    t = np.stack([_object_templates(o) for o in OBJECTS])  # (7, 16, 6, T, T, 4)
    t = t.reshape(-1, TEMPLATE * TEMPLATE, 4)
    rgb = np.ascontiguousarray(t[:, :, :3].transpose(0, 2, 1))
    alpha = np.ascontiguousarray(t[:, :, 3])
    return rgb, alpha


@lru_cache(maxsize=1)
def background_images() -> np.ndarray:
    """(4, 3, CANVAS*CANVAS) float32: black, then canvas-sized patches of the tinted texture photographs."""
    import skimage.data
    from skimage.transform import resize

    out = np.zeros((len(BACKGROUNDS), 3, CANVAS * CANVAS), np.float32)
    lo = (128 - CANVAS) // 2
    for i, name in enumerate(BACKGROUNDS[1:], start=1):
        tex = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255.0
        # 512 -> 128 keeps the texture's grain visible at 64x64; take the central patch.
        small = resize(tex, (128, 128), anti_aliasing=True)[lo:lo + CANVAS, lo:lo + CANVAS]
        small = 0.15 + 0.7 * (small - small.min()) / max(float(small.max() - small.min()), 1e-6)
        out[i] = np.asarray(_TINTS[name], np.float32)[:, None] * small.ravel()[None, :]
    return out


# Flat offsets of a template's pixels inside the canvas.
_PATTERN = (np.arange(TEMPLATE)[:, None] * CANVAS + np.arange(TEMPLATE)[None, :]).ravel()


class RealObjects(GroundTruthDataset):
    """Real photographed objects at controlled rotation, scale, position and background."""

    name = "real_objects"
    factor_names = ("object", "rotation", "scale", "posX", "posY", "background")
    factor_sizes = (len(OBJECTS), len(ROTATIONS), len(SCALES), N_POS, N_POS, len(BACKGROUNDS))
    image_shape = (3, IMAGE_SIZE, IMAGE_SIZE)
    synthetic = False
    labelled = True
    description = (
        "7 objects cut from scikit-image / scikit-learn photographs (coffee cup, cat, astronaut, "
        "rocket, motorcycle, coin, flower), rotated, scaled and placed over black or real textures"
    )

    def render(self, factors, rng=None):
        f = self.check_factors(factors)
        n = len(f)
        rgb_t, alpha_t = object_templates()
        tid = (f[:, 0] * len(ROTATIONS) + f[:, 1]) * len(SCALES) + f[:, 2]
        npix = CANVAS * CANVAS
        out = background_images()[f[:, 5]]  # fancy indexing: a fresh (n, 3, CANVAS^2) array
        corner = OFFSETS[f[:, 4]] * CANVAS + OFFSETS[f[:, 3]]
        # (n, 3, T*T) flat indices of each template window, per channel.
        base = (np.arange(n, dtype=np.int64) * 3)[:, None] + np.arange(3)[None, :]
        idx = (base * npix + corner[:, None])[:, :, None] + _PATTERN[None, None, :]
        flat = out.reshape(-1)
        under = flat[idx]
        under *= 1.0 - alpha_t[tid][:, None, :]
        under += rgb_t[tid]
        flat[idx] = under
        frame = slice(FRAME, FRAME + IMAGE_SIZE)
        return np.ascontiguousarray(out.reshape(n, 3, CANVAS, CANVAS)[:, :, frame, frame])


def coverage(obj: int, scale: int) -> float:
    """Fraction of the frame an object covers, averaged over rotations (its whole template's
    alpha: what a frame large enough to hold it would show)."""
    _, alpha = object_templates()
    tid = (obj * len(ROTATIONS) + np.arange(len(ROTATIONS))) * len(SCALES) + scale
    return float(alpha[tid].sum(axis=1).mean() / (IMAGE_SIZE * IMAGE_SIZE))
