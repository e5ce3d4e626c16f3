"""Looking inside a trained VAE: reconstructions and latent traversals, as numpy arrays.

Pure functions of a model and arrays; the CLI tiles them into PNGs, the app into figures/GIFs.
"""

from __future__ import annotations

import numpy as np
import torch

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
