"""Texture-dSprites: dSprites over scikit-image's texture photographs (nuisance or FoV)."""

import numpy as np

from drviz.data import available_datasets, get_dataset
from drviz.data.dsprites import DSprites
from drviz.data.texture_dsprites import TEXTURE_MAX, TEXTURES


def test_listed_with_dsprites_grid():
    names = available_datasets(found=False)
    assert "texture_dsprites" in names and "texture_dsprites_fov" in names
    ds = get_dataset("texture_dsprites")
    assert ds.factor_sizes == DSprites.factor_sizes and ds.image_shape == (1, 64, 64)
    fov = get_dataset("texture_dsprites_fov")
    assert fov.factor_names[0] == "texture" and fov.factor_sizes[0] == len(TEXTURES) == 3


def test_sprite_is_white_over_a_texture_that_varies_with_rng():
    ds = get_dataset("texture_dsprites")
    f = ds.sample_factors(16, np.random.default_rng(0))
    a = ds.render(f, np.random.default_rng(1))
    b = ds.render(f, np.random.default_rng(2))
    sprite = DSprites().render(f) == 1.0  # fully covered pixels
    assert np.all(a[sprite] == 1.0) and np.all(b[sprite] == 1.0)
    background = DSprites().render(f) == 0.0
    assert a[background].max() <= TEXTURE_MAX and a[background].std() > 0.05  # a texture, not flat
    assert not np.allclose(a[background], b[background])  # the crop is a nuisance
    assert np.array_equal(a, ds.render(f, np.random.default_rng(1)))  # same rng, same images


def test_texture_as_a_fov_changes_the_background_statistics():
    ds = get_dataset("texture_dsprites_fov")
    rng = np.random.default_rng(0)
    f = np.repeat(ds.sample_factors(1, rng), 3 * 40, axis=0)
    f[:, 0] = np.repeat(np.arange(3), 40)
    imgs = ds.render(f, rng).reshape(3, 40, -1)
    means = imgs.mean(axis=(1, 2))
    assert len(np.unique(np.round(means, 2))) == 3  # brick, grass and gravel look different on average
