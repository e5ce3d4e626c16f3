"""Shapes3D, rendered procedurally (docs/architecture.md).

Grid as in Burgess & Kim 2018 ("3D Shapes Dataset", DeepMind): floor hue 10 x wall hue 10 x
object hue 10 (hues 0.0..0.9) x scale 8 (0.75..1.25) x shape 4 (cube, cylinder, sphere, capsule)
x orientation 15 (-30..30 degrees) = 480,000 combinations, 64x64 RGB. Not pixel-identical to
DeepMind's images (those cannot be downloaded here) but with the same factor semantics: a shaded
object standing in the corner of a room. As in DeepMind's renders, ``orientation`` turns the
camera around the object, so it moves the floor/wall corner and the lighting even for the
rotation-symmetric shapes, and shows the cube from another angle.

How it is drawn: a tiny ray caster (4x4 supersampled) intersects camera rays with the floor, the
two walls and the object (analytic box / cylinder / sphere / capsule), Lambert-shades them under
one directional light and casts the object's shadow. The hues enter only linearly, so each
(shape, scale, orientation) is precomputed once (about 2 s) as three grey maps, the floor, wall
and object shading with coverage; an image is then ``rgb(floor) * F + rgb(wall) * W +
rgb(object) * O``, a batched (3 x 3) @ (3 x 4096) matmul per image.
"""

from __future__ import annotations

import colorsys
from functools import lru_cache

import numpy as np

from drviz.data.base import IMAGE_SIZE, GroundTruthDataset

HUES = np.linspace(0.0, 0.9, 10)
SCALES = np.linspace(0.75, 1.25, 8)
SHAPES = ("cube", "cylinder", "sphere", "capsule")
ORIENTATIONS = np.linspace(-30.0, 30.0, 15)  # degrees of camera azimuth around the object
SUPERSAMPLE = 4

# Scene, in world units (y up). The object stands on the floor at the origin; the walls are the
# planes x = WALL and z = WALL, so their corner sits behind the object at orientation 0.
WALL = 2.6
CAM_DIST, CAM_HEIGHT, LOOK_AT_HEIGHT, FOV = 5.2, 2.1, 0.55, np.deg2rad(40.0)
LIGHT = np.array([-0.55, 1.0, -0.25]) / np.linalg.norm([-0.55, 1.0, -0.25])  # towards the light
AMBIENT = 0.35
SHADOW = 0.45  # fraction of the direct light left in the object's shadow

_FLOOR, _WALL_X, _WALL_Z, _NONE = 0, 1, 2, 3


def hue_rgb(hue: np.ndarray) -> np.ndarray:
    """Fully saturated, full-value colours for hues in [0, 1): (n, 3) float32."""
    return np.array([colorsys.hsv_to_rgb(float(h), 1.0, 1.0) for h in np.ravel(hue)], np.float32)


_PALETTE = hue_rgb(HUES)  # (10, 3)


def _camera_rays(orientation_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Origin (3,) and unit directions (N*N, 3) of the supersampled camera rays."""
    azimuth = np.deg2rad(45.0 + orientation_deg)  # looks towards the walls' corner at 0 degrees
    origin = np.array([-CAM_DIST * np.cos(azimuth), CAM_HEIGHT, -CAM_DIST * np.sin(azimuth)])
    forward = np.array([0.0, LOOK_AT_HEIGHT, 0.0]) - origin
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    n = IMAGE_SIZE * SUPERSAMPLE
    c = ((np.arange(n) + 0.5) / n * 2 - 1) * np.tan(FOV / 2)
    yy, xx = np.meshgrid(-c, c, indexing="ij")  # image rows go down
    d = forward[None, :] + xx.reshape(-1, 1) * right[None, :] + yy.reshape(-1, 1) * up[None, :]
    return origin, d / np.linalg.norm(d, axis=1, keepdims=True)


def _sphere(o, d, cy, r):
    """Ray-sphere (centre (0, cy, 0)): hit distance (inf on a miss) and normals."""
    oc = o - np.array([0.0, cy, 0.0])
    b = d @ oc if oc.ndim == 1 else np.einsum("ij,ij->i", d, oc)
    c = np.sum(oc * oc, axis=-1) - r * r
    disc = b * b - c
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(disc)
    t = np.where((disc >= 0) & (t > 1e-6), t, np.inf)
    p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    return t, (p - np.array([0.0, cy, 0.0])) / r


def _cylinder_side(o, d, r, y0, y1):
    """Ray against the vertical cylinder surface x^2 + z^2 = r^2 with y0 <= y <= y1."""
    ox, oz = (o[..., 0], o[..., 2])
    dx, dz = d[:, 0], d[:, 2]
    a = dx * dx + dz * dz
    b = ox * dx + oz * dz
    c = ox * ox + oz * oz - r * r
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-b - np.sqrt(disc)) / a
    y = (o[..., 1] + np.where(np.isfinite(t), t, 0.0) * d[:, 1])
    t = np.where((disc >= 0) & (t > 1e-6) & (y >= y0) & (y <= y1), t, np.inf)
    p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    normal = np.stack([p[:, 0], np.zeros(len(p)), p[:, 2]], axis=1) / r
    return t, normal


def _disc_top(o, d, r, y):
    """Ray against the horizontal disc of radius r at height y (seen from above)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (y - o[..., 1]) / d[:, 1]
    p = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    t = np.where((t > 1e-6) & (p[:, 0] ** 2 + p[:, 2] ** 2 <= r * r), t, np.inf)
    return t, np.broadcast_to(np.array([0.0, 1.0, 0.0]), d.shape)


def _box(o, d, h):
    """Ray-box, the cube |x|, |z| <= h, 0 <= y <= 2h (slab method)."""
    lo = np.array([-h, 0.0, -h])
    hi = np.array([h, 2 * h, h])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - o) / d
        t2 = (hi - o) / d
    tmin = np.minimum(t1, t2)
    tmax = np.maximum(t1, t2)
    t_enter = np.nanmax(tmin, axis=1)
    t_exit = np.nanmin(tmax, axis=1)
    axis = np.nanargmax(tmin, axis=1)
    t = np.where((t_enter <= t_exit) & (t_enter > 1e-6), t_enter, np.inf)
    normal = np.zeros_like(d)
    normal[np.arange(len(d)), axis] = -np.sign(d[np.arange(len(d)), axis])
    return t, normal


def _nearest(*hits):
    ts = np.stack([h[0] for h in hits])
    k = np.argmin(ts, axis=0)
    t = ts[k, np.arange(ts.shape[1])]
    normals = np.stack([np.broadcast_to(h[1], hits[0][1].shape) for h in hits])
    return t, normals[k, np.arange(ts.shape[1])]


def intersect_object(shape: str, scale: float, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit distance (inf on a miss) and unit normal of rays ``o + t d`` with the object.

    Sizes at scale 1: cube side 1.0, cylinder radius 0.5 height 1.0, sphere radius 0.55,
    capsule radius 0.38 height 1.3. Everything stands on the floor (y = 0) at the origin.
    Rays that miss a bounding sphere (centre (0, 0.65 s, 0), radius 1.0 s) are culled first:
    most rays see only the room, and this makes the precomputation several times faster.
    """
    t = np.full(len(d), np.inf)
    normal = np.zeros((len(d), 3))
    oc = o - np.array([0.0, 0.65 * scale, 0.0])
    if oc.ndim == 1:  # camera rays: one origin
        b, c = d @ oc, oc @ oc - scale**2
    else:  # shadow rays: one origin per ray
        b, c = np.einsum("ij,ij->i", d, oc), np.einsum("ij,ij->i", oc, oc) - scale**2
    near = np.flatnonzero(b * b - c >= 0)
    if len(near):
        o_near = o if o.ndim == 1 else o[near]
        t[near], normal[near] = _intersect_exact(shape, scale, o_near, d[near])
    return t, normal


def _intersect_exact(shape, scale, o, d):
    if shape == "cube":
        return _box(o, d, 0.5 * scale)
    if shape == "cylinder":
        r, h = 0.5 * scale, 1.0 * scale
        return _nearest(_cylinder_side(o, d, r, 0.0, h), _disc_top(o, d, r, h))
    if shape == "sphere":
        r = 0.55 * scale
        return _sphere(o, d, r, r)
    if shape == "capsule":
        r, h = 0.38 * scale, 1.3 * scale
        return _nearest(_cylinder_side(o, d, r, r, h - r), _sphere(o, d, r, r), _sphere(o, d, h - r, r))
    raise ValueError(shape)


def _scene(orientation_deg: float):
    """Per supersampled ray: background surface id, background hit point and its shade."""
    o, d = _camera_rays(orientation_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(d[:, 1] < 0, -o[1] / d[:, 1], np.inf)
        t_wx = np.where(d[:, 0] > 0, (WALL - o[0]) / d[:, 0], np.inf)
        t_wz = np.where(d[:, 2] > 0, (WALL - o[2]) / d[:, 2], np.inf)
    ts = np.stack([t_floor, t_wx, t_wz, np.full(len(d), 1e9)])
    surface = np.argmin(ts, axis=0)
    t = ts[surface, np.arange(len(d))]
    point = o + t[:, None] * d
    normals = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    lambert = np.clip(normals[surface] @ LIGHT, 0.0, 1.0)
    return o, d, surface, point, lambert


@lru_cache(maxsize=1)
def shading_maps() -> np.ndarray:
    """(4 shapes * 8 scales * 15 orientations, 3, 64*64) float32: floor, wall and object maps
    (shade times coverage), indexed by (shape * 8 + scale) * 15 + orientation."""
    s = SUPERSAMPLE
    out = np.empty((len(SHAPES), len(SCALES), len(ORIENTATIONS), 3, IMAGE_SIZE * IMAGE_SIZE), np.float32)
    for k, orient in enumerate(ORIENTATIONS):
        o, d, surface, point, lambert = _scene(float(orient))
        for i, shape in enumerate(SHAPES):
            for j, scale in enumerate(SCALES):
                t_obj, normal = intersect_object(shape, float(scale), o, d)
                hit = np.isfinite(t_obj)
                obj_shade = AMBIENT + (1 - AMBIENT) * np.clip(normal @ LIGHT, 0.0, 1.0)
                # Shadow: does the ray from the background point towards the light hit the object?
                bg = ~hit & (surface != _NONE)
                shadow_t, _ = intersect_object(shape, float(scale), point[bg], np.broadcast_to(LIGHT, (int(bg.sum()), 3)))
                direct = lambert.copy()
                direct[np.flatnonzero(bg)[np.isfinite(shadow_t)]] *= SHADOW
                bg_shade = AMBIENT + (1 - AMBIENT) * direct
                maps = np.stack(
                    [
                        np.where(~hit & (surface == _FLOOR), bg_shade, 0.0),
                        np.where(~hit & ((surface == _WALL_X) | (surface == _WALL_Z)), bg_shade, 0.0),
                        np.where(hit, obj_shade, 0.0),
                    ]
                ).reshape(3, IMAGE_SIZE, s, IMAGE_SIZE, s)
                out[i, j, k] = maps.mean(axis=(2, 4)).reshape(3, -1)
    return out.reshape(-1, 3, IMAGE_SIZE * IMAGE_SIZE)


class Shapes3D(GroundTruthDataset):
    name = "shapes3d"
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    image_shape = (3, IMAGE_SIZE, IMAGE_SIZE)
    description = "a shaded cube/cylinder/sphere/capsule in a room corner (procedural 3dshapes), 480,000 combinations"

    def render(self, factors, rng=None):
        f = self.check_factors(factors)
        maps = shading_maps()
        tid = (f[:, 4] * len(SCALES) + f[:, 3]) * len(ORIENTATIONS) + f[:, 5]
        # colours[i, c, m]: channel c of map m's hue (floor, wall, object).
        colours = np.stack([_PALETTE[f[:, 0]], _PALETTE[f[:, 1]], _PALETTE[f[:, 2]]], axis=2)
        out = np.matmul(colours, maps[tid])
        return out.reshape(len(f), 3, IMAGE_SIZE, IMAGE_SIZE)
