"""Looking inside a trained VAE: reconstructions, latent traversals and per-FoV traversals.

The first functions take a model and arrays; the others take a dataset name or an uploaded
picture as well. All return numpy images (rows, cols, C, 64, 64) in [0, 1]; ``grid_png`` and
``traversal_gif`` turn a grid into the bytes the app offers for download, the CLI saves PNGs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from drviz import limits
from drviz.data import get_dataset
from drviz.data.channels import with_channels
from drviz.data.grid import traversal_factors
from drviz.errors import DrvizError
from drviz.imaging import gif_bytes, match_channels, png_bytes, square_resize, tile
from drviz.models import VAE


def _device(model: VAE) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode(model: VAE, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """images (n, C, 64, 64) in [0, 1] -> posterior means and log-variances, each (n, d)."""
    dev, mus, lvs = _device(model), [], []
    for i in range(0, len(images), batch_size):
        mu, lv = model.encode(torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size], np.float32)).to(dev))
        mus.append(mu.cpu().numpy())
        lvs.append(lv.cpu().numpy())
    return np.concatenate(mus), np.concatenate(lvs)


@torch.no_grad()
def decode(model: VAE, z: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """latents (n, d) -> images (n, C, 64, 64) in [0, 1]."""
    dev = _device(model)
    out = [torch.sigmoid(model.decode(torch.from_numpy(np.asarray(z[i:i + batch_size], np.float32)).to(dev))).cpu().numpy()
           for i in range(0, len(z), batch_size)]
    return np.concatenate(out)


def reconstruct(model: VAE, images: np.ndarray) -> np.ndarray:
    """Reconstructions through the posterior mean, same shape as ``images``."""
    return decode(model, encode(model, images)[0])


def traversal_values(steps: int = 8, limit: float = 2.0) -> np.ndarray:
    """``steps`` evenly spaced latent values in [-limit, limit] (the prior's +-2 std by default)."""
    return np.linspace(-limit, limit, steps, dtype=np.float32)


def traversal_latents(z0: np.ndarray, dims: list[int] | np.ndarray, values: np.ndarray) -> np.ndarray:
    """Latent grid: row i sets dim ``dims[i]`` of ``z0`` (d,) to each value -> (len(dims), steps, d)."""
    dims = np.asarray(dims, dtype=np.int64)
    grid = np.repeat(np.repeat(np.asarray(z0, np.float32)[None, None], len(dims), 0), len(values), 1)
    grid[np.arange(len(dims)), :, dims] = values[None, :]
    return grid


def traverse(model: VAE, z0: np.ndarray, dims=None, values: np.ndarray | None = None) -> np.ndarray:
    """Decoded traversal grid (len(dims), steps, C, 64, 64); all dims and +-2 by default."""
    values = traversal_values() if values is None else np.asarray(values, np.float32)
    dims = np.arange(len(z0)) if dims is None else np.asarray(dims)
    grid = traversal_latents(z0, dims, values)
    return decode(model, grid.reshape(-1, grid.shape[-1])).reshape(grid.shape[:2] + model_image_shape(model))


def model_image_shape(model: VAE) -> tuple[int, int, int]:
    return (model.spec.channels, 64, 64)


def kl_per_dim(model: VAE, images: np.ndarray) -> np.ndarray:
    """Mean KL to the prior of each latent dim over ``images``, (d,): which dims are in use."""
    mu, lv = encode(model, images)
    return (0.5 * (mu**2 + np.exp(lv) - lv - 1)).mean(0)


# ---------------------------------------------------------------------------------------------
# Images of a dataset through a model
# ---------------------------------------------------------------------------------------------
def samples(dataset: str, n: int, seed: int = 0, channels: int | None = None) -> np.ndarray:
    """``n`` random images of ``dataset`` (n, C, 64, 64), channels adapted to ``channels``."""
    images, _ = get_dataset(dataset).sample(n, np.random.default_rng(seed))
    return match_channels(images, channels)


def reconstructions(model: VAE, dataset: str, n: int = 8, seed: int = 0) -> np.ndarray:
    """(2, n, C, 64, 64): row 0 the originals, row 1 the model's reconstructions."""
    x = samples(dataset, n, seed, model.spec.channels)
    return np.stack([x, reconstruct(model, x)])


def anchor_code(model: VAE, image: np.ndarray) -> np.ndarray:
    """The posterior mean (d,) of one image (C, 64, 64)."""
    return encode(model, image[None])[0][0]


def latent_traversal(model: VAE, image: np.ndarray, steps: int = 8, limit: float = 2.0) -> np.ndarray:
    """(D, steps, C, 64, 64): every latent dim of ``image``'s code swept over [-limit, limit]."""
    if not 2 <= steps <= 30:
        raise DrvizError(f"traversal steps must be between 2 and 30; got {steps}")
    if not 0 < limit <= 10:
        raise DrvizError(f"the traversal range must be in (0, 10]; got {limit}")
    return traverse(model, anchor_code(model, image), None, traversal_values(steps, limit))


def fov_traversals(model: VAE, dataset: str, dims: Sequence[int | None], steps: int = 8, limit: float = 2.0,
                   seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Per FoV, the data's own traversal (the FoV varies, the rest fixed) above the model's
    traversal of the FoV's associated dim, from the same anchor image.

    Returns a (2K, steps, C, 64, 64) grid (rows: FoV f data, FoV f model, ...) and 2K row labels;
    a FoV without an associated dim gets a blank model row.
    """
    ds = with_channels(get_dataset(dataset), model.spec.channels)
    if not ds.labelled:
        raise DrvizError(f"{dataset} has no factor labels: there is no per-FoV traversal to show")
    rng = np.random.default_rng(seed)
    base = ds.sample_factors(1, rng)[0]
    anchor = ds.render(base[None], np.random.default_rng(seed))[0]
    data = ds.render(traversal_factors(ds, base, steps), np.random.default_rng(seed))
    data = data.reshape((ds.num_factors, steps) + data.shape[1:])
    z0 = anchor_code(model, anchor)
    values = traversal_values(steps, limit)
    rows, labels = [], []
    for f, name in enumerate(ds.factor_names):
        rows.append(data[f])
        labels.append(f"{name}: data")
        d = dims[f] if f < len(dims) else None
        if d is None:
            rows.append(np.ones_like(data[f]))
            labels.append(f"{name}: no dim")
        else:
            rows.append(traverse(model, z0, [d], values)[0])
            labels.append(f"{name}: dim {d}")
    return np.stack(rows), labels


def dim_activity(model: VAE, dataset: str, n: int = 256, seed: int = 0) -> np.ndarray:
    """Mean KL to the prior of each latent dim over ``n`` images (D,): near 0 means unused."""
    return kl_per_dim(model, samples(dataset, n, seed, model.spec.channels))


def dim_labels(kl: np.ndarray, inactive_below: float = 0.01) -> list[str]:
    """Row labels for a latent traversal: ``dim d (KL k)``, unused dims marked."""
    return [f"dim {d} (KL {v:.2f})" + (" unused" if v < inactive_below else "") for d, v in enumerate(kl)]


# ---------------------------------------------------------------------------------------------
# A picture of the user's own
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageInspection:
    """A picture through the model: ``pair`` (2, 1, C, 64, 64) original / reconstruction,
    ``traversal`` (D, steps, C, 64, 64)."""

    pair: np.ndarray
    traversal: np.ndarray


def inspect_image(model: VAE, data: bytes, steps: int = 8, limit: float = 2.0) -> ImageInspection:
    """Encode, reconstruct and traverse a picture given as file bytes (PNG, JPEG, ...)."""
    x = image_from_bytes(data, model.spec.channels)
    pair = np.stack([x[None], reconstruct(model, x[None])])
    return ImageInspection(pair, latent_traversal(model, x, steps, limit))


def image_from_bytes(data: bytes, channels: int) -> np.ndarray:
    """A picture's file bytes as the model's input (C, 64, 64) in [0, 1]: centre-cropped to a
    square, resized to 64x64 (``drviz.imaging.square_resize``), converted to the model's channel count."""
    img = limits.open_image(data)
    if img.width < 8 or img.height < 8:
        raise DrvizError(f"the image is {img.width}x{img.height}; give one at least 8 pixels a side")
    img = square_resize(img.convert("RGB"), 64)
    arr = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return match_channels(arr[None], channels)[0]


# ---------------------------------------------------------------------------------------------
# Grids as downloads
# ---------------------------------------------------------------------------------------------
def stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Image rows, each (n, C, H, W) with the same n, as one (rows, n, C, H, W) grid; rows with
    fewer channels are repeated to the most."""
    channels = max(r.shape[1] for r in rows)
    return np.stack([match_channels(np.asarray(r, np.float32), channels) for r in rows])


def grid_png(grid: np.ndarray, scale: int = 2) -> bytes:
    """(rows, cols, C, H, W) floats -> PNG bytes."""
    return png_bytes(tile(grid), scale)


def traversal_gif(grid: np.ndarray, scale: int = 2, duration_ms: int = 150) -> bytes:
    """(D, steps, C, H, W) traversal -> an animated GIF: frame t shows every row at step t,
    side by side, so each dim's effect plays at once."""
    frames = np.stack([tile(grid[:, t][None]) for t in range(grid.shape[1])])
    return gif_bytes(frames, duration_ms=duration_ms, scale=scale)


__all__ = [
    "ImageInspection", "anchor_code", "decode", "dim_activity", "dim_labels", "encode", "fov_traversals", "grid_png",
    "image_from_bytes", "inspect_image", "kl_per_dim", "latent_traversal", "model_image_shape", "reconstruct",
    "reconstructions", "samples", "stack_rows", "traversal_gif", "traversal_latents", "traversal_values",
    "traverse",
]
