"""Loaders for the field's own files, on small files written here in each release's exact layout:
``shapes3d_h5:``, ``mpi3d_npz:``, ``isaac3d:``, ``coil100_augmented:`` (+ ``_binary``),
``rgbd_objects:``; the image cache, discovery under DRVIZ_DATA_ROOT and ``datasets cache``."""

from __future__ import annotations

import itertools
import os

import h5py
import numpy as np
import pytest
from PIL import Image

from drviz.cli import main
from drviz.data import available_datasets, get_dataset
from drviz.data.cache import ImageStore
from drviz.data.discovery import data_root, discover
from drviz.data.filegrid import FileGridDataset
from drviz.data.samplers import intervention_pairs, weak_pairs
from drviz.errors import DrvizError


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("DRVIZ_CACHE_DIR", str(tmp_path / "cache"))


def grid(sizes):
    return np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64)


def blocky(rng, n, channels=3, side=64, scale=1):
    """Random images made of ``scale`` x ``scale`` blocks, so a box resize by ``scale`` is exact."""
    small = rng.integers(0, 256, (n, side, side, channels), dtype=np.uint8)
    return small.repeat(scale, axis=1).repeat(scale, axis=2), small


# -- writers, one per release layout ---------------------------------------------------------
SHAPES3D_SIZES = (2, 2, 2, 2, 4, 3)


def write_shapes3d(path, compressed=True, drop=None, images=None, labels=None):
    """3dshapes.h5 in miniature: images (N, 64, 64, 3) uint8, labels (N, 6) float64 values, grid order."""
    g = grid(SHAPES3D_SIZES)
    values = g * np.array([0.1, 0.1, 0.1, 0.25, 1.0, 4.0]) + np.array([0, 0, 0, 0.75, 0, -30])
    imgs, _ = blocky(np.random.default_rng(0), len(g))
    data = {"images": imgs if images is None else images, "labels": values if labels is None else labels}
    with h5py.File(path, "w") as f:
        for k, v in data.items():
            if k == drop:
                continue
            kw = {"chunks": (16,) + v.shape[1:], "compression": "gzip"} if compressed and k == "images" else {}
            f.create_dataset(k, data=v, **kw)
    return g, imgs


MPI3D_SIZES = (2, 2, 1, 1, 2, 3, 4)


def write_mpi3d(path, compressed=False, **overrides):
    g = grid(MPI3D_SIZES)
    imgs, _ = blocky(np.random.default_rng(1), len(g))
    arrays = {"images": imgs, "factor_sizes": np.array(MPI3D_SIZES)}
    arrays.update(overrides)
    (np.savez_compressed if compressed else np.savez)(path, **{k: v for k, v in arrays.items() if v is not None})
    return g, imgs


ISAAC_SIZES = (2, 2, 1, 1, 1, 1, 2, 1, 1)


def write_isaac3d(folder, n_images=None, labels=None):
    """Isaac3D_down128: images/000000.png (128x128 RGB) and labels.npy (N, 9) values."""
    g = grid(ISAAC_SIZES)
    (folder / "images").mkdir(parents=True)
    big, small = blocky(np.random.default_rng(2), len(g), scale=2)
    for i in range(len(g) if n_images is None else n_images):
        Image.fromarray(big[i]).save(folder / "images" / f"{i:06d}.png")
    np.save(folder / "labels.npy", g * 0.5 if labels is None else labels)
    return g, small


COIL_SIZES = (3, 2, 2, 2)


def write_coil_aug(folder, binary=False, columns=("image", "object", "pose", "rotation", "scale")):
    """Coil100-Augmented: images (128x128) and classes.csv (image, then four class columns)."""
    folder.mkdir(parents=True)
    g = grid(COIL_SIZES)
    big, small = blocky(np.random.default_rng(3), len(g), scale=2)
    if binary:  # masks stored as RGB, as in the release: the same 0/255 in every channel
        small = np.where(small[..., :1] >= 128, 255, 0).astype(np.uint8)
        big = small.repeat(2, axis=1).repeat(2, axis=2).repeat(3, axis=3)
    lines = [",".join(columns)]
    for i, row in enumerate(g):
        name = f"obj{row[0]}_{i}.png"
        Image.fromarray(big[i]).save(folder / name)
        lines.append(",".join([name] + [str(v) for v in row[: len(columns) - 1]]))
    lines.append(lines[1].replace(".png", "_again.png"))  # a repeated label vector: first row wins
    Image.fromarray(big[-1]).save(folder / lines[-1].split(",")[0])
    (folder / "classes.csv").write_text("\n".join(lines) + "\n")
    return g, small


RGBD = {"apple": {1: [1, 2, 3], 2: [1, 2]}, "bowl": {1: [1, 5], 4: [2]}}


def write_rgbd(root, drop_mask=None):
    """RGB-D Object tree: category/instance/<instance>_<video>_<frame>_crop.png + _maskcrop.png."""
    rng = np.random.default_rng(4)
    out = {}
    for cat, videos in RGBD.items():
        for k, inst in enumerate([f"{cat}_1", f"{cat}_2"]):  # only the first instance is used
            d = root / cat / inst
            d.mkdir(parents=True)
            for video, frames in videos.items():
                for frame in frames:
                    stem = f"{inst}_{video}_{frame}"
                    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
                    mask = np.zeros((40, 60), np.uint8)
                    mask[5:35, 10:50] = 255
                    Image.fromarray(img).save(d / f"{stem}_crop.png")
                    if stem != drop_mask:
                        Image.fromarray(mask).save(d / f"{stem}_maskcrop.png")
                    if k == 0:
                        out[(cat, video, frame)] = img * (mask[..., None] > 0)
    return out


# -- opening, factors and image identity -----------------------------------------------------
@pytest.mark.parametrize("compressed", [True, False])
def test_shapes3d_h5(tmp_path, compressed):
    g, imgs = write_shapes3d(tmp_path / "3dshapes.h5", compressed=compressed)
    ds = get_dataset(f"shapes3d_h5:{tmp_path / '3dshapes.h5'}")
    assert isinstance(ds, FileGridDataset) and ds.row_of_code is None
    assert ds.factor_names == ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    assert ds.factor_sizes == SHAPES3D_SIZES and ds.image_shape == (3, 64, 64)
    assert ds.store.encoded is compressed  # chunked + gzip is cached; contiguous is memory-mapped
    assert np.array_equal(ds.labels, g)
    rows = np.array([0, 5, 77, len(g) - 1, 5])
    assert np.array_equal(ds.rows_of(g[rows]), rows)
    assert np.array_equal((ds.render(g[rows]) * 255).round().astype(np.uint8), imgs[rows].transpose(0, 3, 1, 2))
    assert np.allclose(ds.factor_values[3], [0.75, 1.0])


@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_npz(tmp_path, compressed):
    path = tmp_path / "mpi3d_toy.npz"
    g, imgs = write_mpi3d(path, compressed=compressed)
    ds = get_dataset(f"mpi3d_npz:{path}")
    assert ds.factor_names[0] == "object_color" and ds.factor_names[-1] == "vertical_axis"
    assert ds.factor_sizes == MPI3D_SIZES
    assert ds.store.encoded is compressed
    rows = np.array([len(g) - 1, 0, 13, 13, 40])
    assert np.array_equal((ds.render(g[rows]) * 255).round().astype(np.uint8), imgs[rows].transpose(0, 3, 1, 2))
    if compressed:
        ds.store.build()
        assert ds.store.cached()
        assert np.array_equal((ds.render(g[rows]) * 255).round().astype(np.uint8), imgs[rows].transpose(0, 3, 1, 2))
    else:
        assert isinstance(ds.store._read.__closure__[0].cell_contents, np.memmap)


def test_isaac3d(tmp_path):
    folder = tmp_path / "Isaac3D_down128"
    g, small = write_isaac3d(folder)
    ds = get_dataset(f"isaac3d:{folder}")
    assert ds.factor_names[:3] == ("object_shape", "robot_x", "robot_y") and len(ds.factor_names) == 9
    assert ds.factor_sizes == ISAAC_SIZES
    rows = np.array([3, 0, 7])
    assert np.array_equal((ds.render(g[rows]) * 255).round().astype(np.uint8), small[rows].transpose(0, 3, 1, 2))


@pytest.mark.parametrize("binary", [False, True])
def test_coil100_augmented(tmp_path, binary):
    folder = tmp_path / ("coil-100-augmented-binary" if binary else "coil-100-augmented")
    g, small = write_coil_aug(folder, binary=binary)
    ds = get_dataset(f"coil100_augmented{'_binary' if binary else ''}:{folder}")
    assert ds.factor_names == ("object", "pose", "rotation", "scale") and ds.factor_sizes == COIL_SIZES
    assert isinstance(ds, FileGridDataset) and ds.store.n == len(g)  # the repeated label row is dropped
    assert ds.image_shape == ((1 if binary else 3), 64, 64)
    rows = np.array([0, 7, len(g) - 1])
    assert np.array_equal((ds.render(g[rows]) * 255).round().astype(np.uint8), small[rows].transpose(0, 3, 1, 2))


def test_rgbd_objects(tmp_path):
    expected = write_rgbd(tmp_path / "rgbd-dataset")
    ds = get_dataset(f"rgbd_objects:{tmp_path / 'rgbd-dataset'}")
    assert ds.factor_names == ("category", "video", "frame")
    assert ds.factor_sizes == (2, 3, 4)  # videos {1, 2, 4}, frames {1, 2, 3, 5}
    assert len(ds.labels) == len(expected) == 8  # second instances ignored
    assert list(ds.factor_values[0]) == ["apple", "bowl"]
    # the masked crop, padded to 60x60 (10 rows above and below), box-resized to 64
    from drviz.imaging import square_resize
    pad = np.zeros((60, 60, 3), np.uint8)
    pad[10:50] = expected[("bowl", 1, 5)]
    want = np.asarray(square_resize(Image.fromarray(pad), 64)).transpose(2, 0, 1)
    got = (ds.render(np.array([[1, 0, 3]])) * 255).round().astype(np.uint8)[0]
    assert np.array_equal(got, want)
    assert got[:, :10].max() == 0  # padding and masked background are black
    assert ds.pair_counts == {"category": 1, "video": 2, "frame": 3}  # (video 1, frame 1); apple frames 1, 2; three videos
    assert any("not aligned" in n for n in ds.notes)


# -- pairs by index arithmetic (grids) and by grouping (RGB-D) -------------------------------
@pytest.mark.parametrize("kind", ["shapes3d_h5", "mpi3d_npz", "coil100_augmented", "isaac3d", "rgbd_objects"])
def test_pairs_differ_in_exactly_the_requested_factor(tmp_path, kind):
    ds = open_small(tmp_path, kind)
    rng = np.random.default_rng(0)
    for f in range(ds.num_factors):
        if ds.factor_sizes[f] < 2:
            continue
        a, b = intervention_pairs(ds, f, 64, rng)
        assert len(a) > 0
        diff = a != b
        assert diff[:, f].all() and not np.delete(diff, f, axis=1).any()
        assert np.array_equal(ds.render(a), ds.images_at(ds.rows_of(a)))
    wp = weak_pairs(ds, 32, rng)
    assert (wp.mask.sum(axis=1) == 1).all()
    assert np.array_equal(wp.mask.argmax(axis=1), wp.changed)


def open_small(tmp_path, kind):
    if kind == "shapes3d_h5":
        write_shapes3d(tmp_path / "3dshapes.h5")
        return get_dataset(f"shapes3d_h5:{tmp_path / '3dshapes.h5'}")
    if kind == "mpi3d_npz":
        write_mpi3d(tmp_path / "mpi3d_real.npz")
        return get_dataset(f"mpi3d_npz:{tmp_path / 'mpi3d_real.npz'}")
    if kind == "isaac3d":
        write_isaac3d(tmp_path / "Isaac3D_down128")
        return get_dataset(f"isaac3d:{tmp_path / 'Isaac3D_down128'}")
    if kind == "coil100_augmented":
        write_coil_aug(tmp_path / "coil")
        return get_dataset(f"coil100_augmented:{tmp_path / 'coil'}")
    write_rgbd(tmp_path / "rgbd")
    return get_dataset(f"rgbd_objects:{tmp_path / 'rgbd'}")


# -- the cache -------------------------------------------------------------------------------
def test_cache_is_built_once_keyed_by_the_files_and_never_by_a_preview(tmp_path, capsys):
    folder = tmp_path / "coil"
    g, small = write_coil_aug(folder)
    spec = f"coil100_augmented:{folder}"
    ds = get_dataset(spec)
    assert main(["datasets", "show", spec, "--out", str(tmp_path / "g.png"), "--steps", "3"]) == 0
    assert not (tmp_path / "cache").exists()  # a preview never writes the cache
    assert main(["datasets", "cache", spec]) == 0
    out = capsys.readouterr().out
    assert "decoding 24 images once into a 294.9 KB cache" in out  # 24 x 3 x 64 x 64 bytes, stated first
    files = list((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 1 and files[0].stat().st_size > 24 * 3 * 64 * 64
    assert main(["datasets", "cache", spec]) == 0 and "already cached" in capsys.readouterr().out
    # a changed source file gets a new key: a fresh store rebuilds and drops the stale file
    first = folder / "classes.csv"
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))
    fresh = get_dataset.__wrapped__(spec)
    assert not fresh.store.cached()
    fresh.store.build()
    assert [p.name for p in (tmp_path / "cache").glob("*.npy")] == [fresh.store.cache_path().name] != [files[0].name]
    assert np.array_equal((fresh.render(g[:4]) * 255).round().astype(np.uint8), small[:4].transpose(0, 3, 1, 2))


def test_bulk_reads_build_the_cache_automatically(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("drviz.data.cache.AUTO_CACHE_AFTER", 10)
    write_mpi3d(tmp_path / "m.npz", compressed=True)
    ds = get_dataset(f"mpi3d_npz:{tmp_path / 'm.npz'}")
    ds.render(ds.sample_factors(8, np.random.default_rng(0)))
    assert not ds.store.cached()
    ds.render(ds.sample_factors(40, np.random.default_rng(1)))
    assert ds.store.cached() and "decoding 96 images once" in capsys.readouterr().err


def test_memory_mapped_sources_need_no_cache(tmp_path, capsys):
    write_mpi3d(tmp_path / "m.npz")
    assert main(["datasets", "cache", f"mpi3d_npz:{tmp_path / 'm.npz'}"]) == 0
    assert "memory-mapped in place" in capsys.readouterr().out


# -- training and encoding on each -----------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["shapes3d_h5", "coil100_augmented", "mpi3d_npz", "isaac3d", "rgbd_objects"])
def test_short_training_and_encode(tmp_path, kind):
    from drviz import checkpoints as ckpt
    from drviz.config import RunConfig
    from drviz.representations import encode_factors
    from drviz.training import train

    ds = open_small(tmp_path, kind)
    method = "beta_vae" if kind == "rgbd_objects" else "ada_gvae"
    cfg = RunConfig(dataset=ds.name, method=method, steps=6, batch_size=8, seed=0, checkpoint_every=6)
    result = train(cfg, tmp_path / "run", device="cpu", threads=1)
    assert result.finished and np.isfinite(result.history[-1]["loss"])
    run = ckpt.load_run(result.path, device="cpu")
    rng = np.random.default_rng(0)
    rep = encode_factors(run.model, ds, ds.sample_factors(20, rng), batch_size=10, rng=rng)
    assert rep.mean.shape == (20, 10) and np.isfinite(rep.mean).all()


# -- one-line errors for wrong layouts -------------------------------------------------------
def one_line_error(fn, *match):
    with pytest.raises(DrvizError) as err:
        fn()
    msg = str(err.value)
    assert "\n" not in msg and all(m in msg for m in match), msg


def test_wrong_layouts_are_one_line_errors(tmp_path):
    p = tmp_path / "a.h5"
    write_shapes3d(p, drop="labels")
    one_line_error(lambda: get_dataset(f"shapes3d_h5:{p}"), "missing key(s) labels")
    p = tmp_path / "b.h5"
    write_shapes3d(p, images=np.zeros((192, 32, 32, 3), np.uint8))
    one_line_error(lambda: get_dataset(f"shapes3d_h5:{p}"), "images must be uint8 (N, 64, 64, 3)")
    p = tmp_path / "c.h5"
    write_shapes3d(p, labels=np.zeros((100, 6)))
    one_line_error(lambda: get_dataset(f"shapes3d_h5:{p}"), "100 label rows for 192 images")
    p = tmp_path / "d.npz"
    write_mpi3d(p, images=None, pixels=np.zeros((4, 64, 64, 3), np.uint8))
    one_line_error(lambda: get_dataset(f"mpi3d_npz:{p}"), "missing key images")
    p = tmp_path / "e.npz"
    write_mpi3d(p, images=np.zeros((48, 64, 64), np.uint8))
    one_line_error(lambda: get_dataset(f"mpi3d_npz:{p}"), "images must be uint8 (N, 64, 64, 3)")
    p = tmp_path / "f.npz"
    write_mpi3d(p, factor_sizes=None)
    one_line_error(lambda: get_dataset(f"mpi3d_npz:{p}"), "96 images, but the MPI3D grid has 1,036,800")
    write_isaac3d(tmp_path / "i1", n_images=5)
    one_line_error(lambda: get_dataset(f"isaac3d:{tmp_path / 'i1'}"), "labels.npy has 8 rows", "no 000007.png")
    write_isaac3d(tmp_path / "i2", labels=np.zeros((8, 8)))
    one_line_error(lambda: get_dataset(f"isaac3d:{tmp_path / 'i2'}"), "labels.npy must be numeric (N, 9)")
    write_coil_aug(tmp_path / "c1", columns=("image", "object", "pose"))
    one_line_error(lambda: get_dataset(f"coil100_augmented:{tmp_path / 'c1'}"), "4 factor columns")
    (tmp_path / "c2").mkdir()
    one_line_error(lambda: get_dataset(f"coil100_augmented:{tmp_path / 'c2'}"), "no classes.csv")
    write_rgbd(tmp_path / "r", drop_mask="bowl_1_4_2")
    one_line_error(lambda: get_dataset(f"rgbd_objects:{tmp_path / 'r'}"), "bowl_1_4_2_crop.png has no mask")
    one_line_error(lambda: get_dataset(f"shapes3d_h5:{tmp_path / 'nope.h5'}"), "no such file")


# -- discovery under DRVIZ_DATA_ROOT -------------------------------------------------------------
def test_discovery_lists_every_kind_by_name(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    write_shapes3d(root / "3dshapes.h5")
    write_mpi3d(root / "mpi3d_toy.npz")
    write_isaac3d(root / "Isaac3D_down128")
    write_coil_aug(root / "coil-100" / "coil-100-augmented")
    write_coil_aug(root / "coil-100" / "coil-100-augmented-binary", binary=True)
    write_rgbd(root / "rgbd-dataset")
    monkeypatch.delenv("DRVIZ_DATA_ROOT", raising=False)
    assert data_root() is None and discover(None) == []
    monkeypatch.setenv("DRVIZ_DATA_ROOT", str(root))
    assert data_root() == root.resolve()
    found = discover(data_root())
    assert found == sorted([
        f"coil100_augmented:{root / 'coil-100' / 'coil-100-augmented'}",
        f"coil100_augmented_binary:{root / 'coil-100' / 'coil-100-augmented-binary'}",
        f"isaac3d:{root / 'Isaac3D_down128'}",
        f"mpi3d_npz:{root / 'mpi3d_toy.npz'}",
        f"rgbd_objects:{root / 'rgbd-dataset'}",
        f"shapes3d_h5:{root / '3dshapes.h5'}",
    ])
    names = available_datasets()
    assert names[-len(found):] == found and "texture_dsprites" in names
    for spec in found:  # every one found opens
        assert get_dataset(spec).num_factors >= 3
