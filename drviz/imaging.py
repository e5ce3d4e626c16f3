"""Image arrays -> tiled grids, PNG and GIF bytes (used by the CLI and the app's downloads)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from drviz.errors import DrvizError


def to_uint8_hwc(images: np.ndarray) -> np.ndarray:
    """(..., C, H, W) floats in [0, 1] -> (..., H, W, 3) uint8 (grayscale repeated to RGB)."""
    arr = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    arr = np.moveaxis(arr, -3, -1)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return (arr * 255.0 + 0.5).astype(np.uint8)


def match_channels(images: np.ndarray, channels: int | None) -> np.ndarray:
    """(n, C, H, W) -> (n, channels, H, W): gray repeated to colour, colour averaged to gray.

    The same convention ``drviz.training.adapt_channels`` uses for a transferred network.
    """
    c = images.shape[1]
    if channels is None or c == channels:
        return images
    if c == 1:
        return np.repeat(images, channels, axis=1)
    gray = images.mean(axis=1, keepdims=True)
    return gray if channels == 1 else np.repeat(gray, channels, axis=1)


def square_resize(img: Image.Image, size: int = 64) -> Image.Image:
    """Centre-crop a PIL image to a square, then resize it to ``size`` x ``size``: box (area)
    filter when shrinking, which averages every source pixel instead of aliasing like bilinear;
    bicubic when enlarging. The one crop-and-resize of drviz (file loaders, uploaded pictures)."""
    w, h = img.size
    if w != h:
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))
    if img.size != (size, size):
        shrink = img.size[0] > size
        img = img.resize((size, size), Image.Resampling.BOX if shrink else Image.Resampling.BICUBIC)
    return img


def tile(grid: np.ndarray, pad: int = 2, pad_value: int = 255, border: bool = False) -> np.ndarray:
    """A (rows, cols, C, H, W) float grid in [0, 1] -> one uint8 (rows*(H+pad)-pad, cols*(W+pad)-pad, 3)
    image with ``pad_value`` gutters (and a ``pad`` frame around it with ``border``).

    The one image tiler of drviz (CLI PNGs, the app's grids, dataset traversals). numpy rather than
    torchvision's ``make_grid``: the same picture without importing torch for ``datasets show``.
    """
    imgs = to_uint8_hwc(grid)
    rows, cols, h, w, _ = imgs.shape
    edge = pad if border else 0
    out = np.full((rows * (h + pad) - pad + 2 * edge, cols * (w + pad) - pad + 2 * edge, 3), pad_value, np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = edge + r * (h + pad), edge + c * (w + pad)
            out[y:y + h, x:x + w] = imgs[r, c]
    return out


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """An (H, W, 3) uint8 image as PNG bytes, optionally enlarged by an integer factor (nearest)."""
    img = Image.fromarray(image)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def gif_bytes(frames: np.ndarray, duration_ms: int = 120, scale: int = 1) -> bytes:
    """(T, H, W, 3) uint8 frames as a looping GIF that plays forward then back."""
    seq = list(frames) + list(frames[-2:0:-1])
    imgs = [Image.fromarray(f) for f in seq]
    if scale > 1:
        imgs = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in imgs]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def save_png(image: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write an (H, W, 3) uint8 image as PNG (creating the parent folder); the name must end in .png."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise DrvizError(f"output file must end in .png; got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(image, scale))
    return path
