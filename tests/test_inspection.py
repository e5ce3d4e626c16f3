"""drviz.inspection: traversal grids, reconstructions, per-FoV traversals, uploaded pictures, downloads."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from drviz import inspection
from drviz.errors import DrvizError
from drviz.imaging import match_channels
from drviz.models import VAE, ModelSpec


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return VAE(ModelSpec(channels=3, latent_dim=4)).eval()


def png(width: int, height: int, colour=(255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def test_traversal_latents_set_one_dim_per_row():
    z0 = np.array([0.5, -1.0, 2.0], np.float32)
    values = inspection.traversal_values(3, 1.0)
    assert values.tolist() == [-1.0, 0.0, 1.0]
    grid = inspection.traversal_latents(z0, [2, 0], values)
    assert grid.shape == (2, 3, 3)
    assert grid[0, :, 2].tolist() == [-1.0, 0.0, 1.0] and (grid[0, :, :2] == z0[:2]).all()
    assert grid[1, :, 0].tolist() == [-1.0, 0.0, 1.0] and (grid[1, :, 1:] == z0[1:]).all()


def test_reconstructions_adapt_the_datasets_channels(model):
    pair = inspection.reconstructions(model, "dsprites", n=3)  # grayscale data, colour model
    assert pair.shape == (2, 3, 3, 64, 64)
    assert np.array_equal(pair[0], inspection.samples("dsprites", 3, 0, 3))
    assert 0.0 <= pair[1].min() and pair[1].max() <= 1.0


def test_latent_traversal_sweeps_every_dim_and_checks_its_range(model):
    image = inspection.samples("color_dsprites", 1)[0]
    grid = inspection.latent_traversal(model, image, steps=5, limit=1.5)
    assert grid.shape == (4, 5, 3, 64, 64)
    with pytest.raises(DrvizError, match="between 2 and 30"):
        inspection.latent_traversal(model, image, steps=1)
    with pytest.raises(DrvizError, match=r"\(0, 10\]"):
        inspection.latent_traversal(model, image, limit=0)


def test_fov_traversals_pair_the_data_with_the_model_and_blank_a_fov_without_dim(model):
    grid, labels = inspection.fov_traversals(model, "dsprites", dims=[0, None, 1, 2, 3], steps=4)
    assert grid.shape == (10, 4, 3, 64, 64)
    assert labels[:4] == ["shape: data", "shape: dim 0", "scale: data", "scale: no dim"]
    assert (grid[3] == 1.0).all()
    with pytest.raises(DrvizError, match="no factor labels"):
        inspection.fov_traversals(model, "lfw_faces", dims=[0])


def test_dim_labels_mark_unused_dims():
    assert inspection.dim_labels(np.array([0.5, 0.001])) == ["dim 0 (KL 0.50)", "dim 1 (KL 0.00) unused"]


def test_image_from_bytes_crops_resizes_and_matches_channels():
    data = png(120, 80)
    rgb = inspection.image_from_bytes(data, 3)
    gray = inspection.image_from_bytes(data, 1)
    assert rgb.shape == (3, 64, 64) and gray.shape == (1, 64, 64)
    assert rgb[0].min() == pytest.approx(1.0) and rgb[1].max() == 0.0
    assert gray.mean() == pytest.approx(1 / 3, abs=1e-6)
    with pytest.raises(DrvizError, match="not an image"):
        inspection.image_from_bytes(b"nope", 3)
    with pytest.raises(DrvizError, match="at least 8 pixels"):
        inspection.image_from_bytes(png(4, 40), 3)


def test_inspect_image_reconstructs_and_traverses(model):
    result = inspection.inspect_image(model, png(70, 70, (0, 128, 255)), steps=3)
    assert result.pair.shape == (2, 1, 3, 64, 64) and result.traversal.shape == (4, 3, 3, 64, 64)
    np.testing.assert_allclose(result.pair[0, 0, 2], 1.0)


def test_match_channels_and_stack_rows():
    gray = np.full((2, 1, 4, 4), 0.5, np.float32)
    assert match_channels(gray, 3).shape == (2, 3, 4, 4)
    grid = inspection.stack_rows([gray, np.zeros((2, 3, 4, 4), np.float32)])
    assert grid.shape == (2, 2, 3, 4, 4) and (grid[0] == 0.5).all()


def test_grid_png_and_traversal_gif():
    grid = np.random.default_rng(0).random((3, 5, 1, 64, 64)).astype(np.float32)
    assert inspection.grid_png(grid, scale=1)[:8] == b"\x89PNG\r\n\x1a\n"
    gif = inspection.traversal_gif(grid, scale=1)
    img = Image.open(io.BytesIO(gif))
    assert gif[:6] == b"GIF89a" and img.n_frames == 5 + 3  # forward, then back without the ends
