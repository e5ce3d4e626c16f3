"""Generated and shipped datasets: grids, determinism, every FoV visibly changes the image."""

import numpy as np
import pytest

from drviz.data import DATASETS, available_datasets, get_dataset
from drviz.data.grid import traversal_factors, traversal_grid
from drviz.imaging import tile
from drviz.errors import DrvizError

EXPECTED = {
    "dsprites": (("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32), 1),
    "color_dsprites": (("color", "shape", "scale", "orientation", "posX", "posY"), (7, 3, 6, 40, 32, 32), 3),
    "noisy_dsprites": (("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32), 3),
    "noisy_color_dsprites": (("color", "shape", "scale", "orientation", "posX", "posY"), (7, 3, 6, 40, 32, 32), 3),
    "shapes3d": (("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"), (10, 10, 10, 8, 4, 15), 3),
    "real_objects": (("object", "rotation", "scale", "posX", "posY", "background"), (7, 16, 6, 10, 10, 4), 3),
    "lfw_faces": (("image",), (100,), 1),
    "texture_dsprites": (("shape", "scale", "orientation", "posX", "posY"), (3, 6, 40, 32, 32), 1),
    "texture_dsprites_fov": (("texture", "shape", "scale", "orientation", "posX", "posY"), (3, 3, 6, 40, 32, 32), 1),
}


def test_registry_lists_every_dataset_with_its_grid():
    assert set(DATASETS) == set(EXPECTED)
    for name, (names, sizes, channels) in EXPECTED.items():
        info = get_dataset(name).info
        assert info.factor_names == names
        assert info.factor_sizes == sizes
        assert info.image_shape == (channels, 64, 64)
    assert get_dataset("shapes3d").info.n_combinations == 480_000
    assert get_dataset("real_objects").info.kind == "real, labelled"
    assert get_dataset("lfw_faces").info.kind == "real, unlabelled"
    assert get_dataset("shapes3d").info.kind == "synthetic, labelled"


def test_unknown_dataset_is_a_one_line_error():
    with pytest.raises(DrvizError, match="unknown dataset 'nope'; choose one of dsprites"):
        get_dataset("nope")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_render_is_deterministic_and_in_range(name):
    ds = get_dataset(name)
    factors = ds.sample_factors(32, np.random.default_rng(1))
    assert np.array_equal(factors, ds.sample_factors(32, np.random.default_rng(1)))
    a = ds.render(factors, np.random.default_rng(7))
    b = ds.render(factors, np.random.default_rng(7))
    assert a.shape == (32,) + ds.image_shape and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert a.max() > 0.5  # something is drawn


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_fov_visibly_changes_nearly_all_samples(name):
    ds = get_dataset(name)
    rng = np.random.default_rng(3)
    base = ds.sample_factors(200, rng)
    img = ds.render(base, np.random.default_rng(0))
    for f, fname in enumerate(ds.factor_names):
        other = ds.redraw(base, f, rng)
        assert np.all(other[:, f] != base[:, f])
        assert np.array_equal(np.delete(other, f, 1), np.delete(base, f, 1))
        diff = np.abs(ds.render(other, np.random.default_rng(0)) - img).reshape(len(base), -1)
        changed = (diff.max(axis=1) > 0.1) & (diff.sum(axis=1) > 2.0)  # more than a stray pixel
        assert changed.mean() >= 0.97, f"{name}.{fname} changes only {changed.mean():.0%} of images"


def test_bad_factors_are_explained():
    ds = get_dataset("real_objects")
    with pytest.raises(DrvizError, match=r"factors must have shape \(n, 6\)"):
        ds.render(np.zeros((2, 5), int))
    with pytest.raises(DrvizError, match="out of range.*object=7"):
        ds.render(np.array([[7, 0, 0, 0, 0, 0]]))
    with pytest.raises(DrvizError, match="unknown factor 'hue'"):
        ds.factor_index("hue")


def test_shapes3d_colours_and_camera():
    from drviz.data.shapes3d import HUES, hue_rgb

    ds = get_dataset("shapes3d")
    assert np.allclose(hue_rgb(HUES[[0, 2]]), [[1, 0, 0], [0.8, 1, 0]], atol=1e-6)
    # floor red, wall green (0.3), object blue (0.6): the bottom row is floor, the top row wall.
    img = ds.render(np.array([[0, 3, 6, 4, 2, 7]]))[0]
    bottom, top = img[:, 63, :].mean(axis=1), img[:, 0, :].mean(axis=1)
    assert bottom[0] > 0.7 and bottom[1] < 0.05 and bottom[2] < 0.05
    assert top[1] > 0.5 and top[0] < top[1] and top[2] < 0.05
    centre = img[:, 36, 32]  # the sphere
    assert centre[2] > 0.3 and centre[0] < 0.05
    # Orientation turns the camera: the room changes even around the rotation-symmetric sphere.
    turned = ds.render(np.array([[0, 3, 6, 4, 2, 0], [0, 3, 6, 4, 2, 14]]))
    assert np.abs(turned[0] - turned[1]).max() > 0.3


def test_real_objects_layout():
    from drviz.data.real_objects import OBJECT_NAMES, coverage

    ds = get_dataset("real_objects")
    # Smallest scale, top-left position (centre 8 px up-left of the frame's), black background.
    img = ds.render(np.array([[o, 0, 0, 0, 0, 0] for o in range(7)]))
    assert img.shape == (7, 3, 64, 64)
    assert np.all(img[:, :, 24:28, 24:28].reshape(7, -1).max(axis=1) > 0.05)  # the object's centre
    # Objects differ from each other; over a texture the corner is the texture, not black.
    assert len({im.tobytes() for im in img}) == 7
    tex = ds.render(np.array([[5, 0, 0, 9, 9, b] for b in range(4)]))  # the coin, bottom-right: top-left corner free
    assert tex[0, :, 1, 1].max() == 0 and tex[1:, :, 1, 1].max(axis=1).min() > 0.05
    # Coil-100 framing: at the middle scales every object but the thin rocket covers 1/3 to 2/3
    # of the frame, and a larger scale always covers more.
    for o, name in enumerate(OBJECT_NAMES):
        cover = [coverage(o, s) for s in range(6)]
        assert np.all(np.diff(cover) > 0), name
        if name != "rocket":
            assert 0.28 <= cover[2] and cover[3] <= 0.67, (name, cover)
    # The largest object at an extreme position reaches past the frame and is cropped.
    big = ds.render(np.array([[1, 0, 5, 0, 0, 0]]))[0]
    assert big[:, 0, :].max() > 0.05 or big[:, :, 0].max() > 0.05


def test_lfw_faces_are_the_100_faces_unlabelled():
    ds = get_dataset("lfw_faces")
    assert not ds.labelled and not ds.synthetic
    img = ds.render(np.arange(100)[:, None])
    assert img.shape == (100, 1, 64, 64)
    assert len({im.tobytes() for im in img}) == 100
    assert 0.2 < img.mean() < 0.8


def test_traversal_factors_walk_one_fov_at_a_time():
    ds = get_dataset("dsprites")
    base = np.array([1, 2, 3, 4, 5])
    f = traversal_factors(ds, base, 4)
    assert f.shape == (20, 5)
    assert f[0:4, 0].tolist() == [0, 0, 1, 2]  # 3 values over 4 steps: floor(linspace(0, 2, 4))
    assert f[8:12, 2].tolist() == [0, 13, 26, 39]
    for k in range(5):
        block = f[4 * k : 4 * k + 4]
        assert np.array_equal(np.delete(block, k, 1), np.repeat(np.delete(base, k)[None], 4, 0))


def test_traversal_grid_image():
    ds = get_dataset("color_dsprites")
    grid = traversal_grid(ds, np.random.default_rng(0), steps=5)
    assert grid.shape == (6 * 66 + 2, 5 * 66 + 2, 3) and grid.dtype == np.uint8
    assert np.all(grid[0] == 255) and np.all(grid[:, 0] == 255)  # white gutters
    assert np.array_equal(grid, traversal_grid(ds, np.random.default_rng(0), steps=5))
    with pytest.raises(DrvizError, match="--steps must be at least 2"):
        traversal_grid(ds, np.random.default_rng(0), steps=1)
    grey = tile(np.ones((1, 2, 1, 64, 64), np.float32), border=True)
    assert grey.shape == (68, 134, 3) and grey[2, 2].tolist() == [255, 255, 255]
    assert tile(np.zeros((2, 3, 3, 64, 64), np.float32)).shape == (2 * 66 - 2, 3 * 66 - 2, 3)  # no frame by default


def test_available_datasets_are_the_registered_ones_that_build_here():
    names = available_datasets()
    assert names == [n for n in DATASETS if n in names]  # registry order
    assert {"dsprites", "color_dsprites", "noisy_dsprites", "noisy_color_dsprites"} <= set(names)  # generated
    for name in names:
        assert get_dataset(name).name
