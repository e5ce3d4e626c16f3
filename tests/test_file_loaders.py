"""Loaders for users' own files, on small files written here in the real layouts."""

import numpy as np
import pytest
from PIL import Image

from drviz.data import get_dataset
from drviz.data.files import load_coil100, load_dsprites_npz, load_image_folder
from drviz.errors import DrvizError


# -- dSprites .npz --------------------------------------------------------------------------
def write_dsprites(path, n_shape=3, **overrides):
    """A mini official archive: full grid shape x 2 scales x 2 orientations x 2 x 2 positions."""
    grid = np.stack(np.meshgrid(np.arange(n_shape), *[np.arange(2)] * 4, indexing="ij"), -1).reshape(-1, 5)
    classes = np.concatenate([np.zeros((len(grid), 1), np.int64), grid], axis=1)
    imgs = np.zeros((len(grid), 64, 64), np.uint8)
    for i, row in enumerate(grid):  # a square whose place and size encode the labels
        y, x = 8 + 20 * row[4] + 4 * row[2], 8 + 20 * row[3] + 10 * row[0]
        imgs[i, y : y + 4 + 4 * row[1], x : x + 4] = 1
    arrays = {
        "imgs": imgs,
        "latents_classes": classes,
        "latents_values": classes.astype(np.float64),
        # As in the official file: a pickled object (numpy writes it with pickle).
        "metadata": np.array({"date": "April 2017", "latents_names": ("color", "shape")}, dtype=object),
    }
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return grid, imgs


def test_dsprites_npz_round_trip(tmp_path):
    path = tmp_path / "dsprites.npz"
    grid, imgs = write_dsprites(path)
    ds = load_dsprites_npz(path)
    assert ds.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert ds.factor_sizes == (3, 2, 2, 2, 2) and ds.image_shape == (1, 64, 64)
    assert ds.labelled and not ds.synthetic
    assert np.array_equal(ds.labels, grid)
    order = np.random.default_rng(0).permutation(len(grid))
    out = ds.render(grid[order])
    assert out.dtype == np.float32 and np.array_equal(out[:, 0], imgs[order].astype(np.float32))
    a = ds.sample_factors(50, np.random.default_rng(1))
    b = ds.redraw(a, 3, np.random.default_rng(2))
    assert np.all(b[:, 3] != a[:, 3]) and np.array_equal(np.delete(a, 3, 1), np.delete(b, 3, 1))
    # The same file through the registry spec.
    assert np.array_equal(get_dataset(f"dsprites_npz:{path}").render(grid[:3]), out[np.argsort(order)][:3])


def test_dsprites_npz_without_metadata_and_partial_grid(tmp_path):
    path = tmp_path / "d.npz"
    grid, _ = write_dsprites(path, n_shape=2, metadata=None)
    ds = load_dsprites_npz(path)
    assert ds.factor_sizes == (2, 2, 2, 2, 2) and len(ds.labels) == 32


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"imgs": None}, r"missing key\(s\) imgs \(found latents_classes"),
        ({"latents_classes": None}, r"missing key\(s\) latents_classes"),
        ({"imgs": np.zeros((48, 32, 32), np.uint8)}, r"imgs must have shape \(N, 64, 64\); got \(48, 32, 32\)"),
        ({"imgs": np.zeros((48, 64, 64), np.float32)}, "imgs must be integer 0/1 pixels; got dtype float32"),
        ({"latents_classes": np.zeros((48, 5), np.int64)}, r"latents_classes must be an integer array of shape \(48, 6\)"),
        ({"latents_classes": np.zeros((47, 6), np.int64)}, r"shape \(48, 6\).*got int64 \(47, 6\)"),
        ({"imgs": np.full((48, 64, 64), 300, np.int32)}, r"imgs values must be 0/1 \(or 0..255\); got 300..300"),
        ({"imgs": np.array([{"a": 1}] * 48, dtype=object)}, "cannot be read without pickle"),
    ],
)
def test_dsprites_npz_bad_content(tmp_path, overrides, message):
    path = tmp_path / "bad.npz"
    write_dsprites(path, **overrides)
    with pytest.raises(DrvizError, match=message):
        load_dsprites_npz(path)


def test_dsprites_npz_not_an_archive(tmp_path):
    with pytest.raises(DrvizError, match="no such file"):
        load_dsprites_npz(tmp_path / "absent.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file")
    with pytest.raises(DrvizError, match="not a readable .npz archive"):
        load_dsprites_npz(junk)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(DrvizError, match="holds a single array"):
        load_dsprites_npz(single)


# -- Coil-100 -------------------------------------------------------------------------------
def colour_of(obj, angle):
    return (obj * 40, angle, 200)


def write_coil(folder, objects=(1, 3), angles=(0, 5, 10)):
    folder.mkdir(exist_ok=True)
    for o in objects:
        for a in angles:
            Image.new("RGB", (128, 128), colour_of(o, a)).save(folder / f"obj{o}__{a}.png")
    (folder / "convertGroupppm2png.pl").write_text("# ships with the official zip\n")


def test_coil100_factors_and_images(tmp_path):
    write_coil(tmp_path / "coil-100")
    ds = load_coil100(tmp_path / "coil-100")
    assert ds.factor_names == ("object", "pose") and ds.factor_sizes == (2, 72)
    assert ds.image_shape == (3, 64, 64) and len(ds.labels) == 6
    assert ds.factor_values[0].tolist() == [1, 3]
    img = ds.render(np.array([[1, 2], [0, 1]]))  # obj3 at 10 degrees, obj1 at 5 degrees
    assert img.shape == (2, 3, 64, 64)
    assert np.allclose(img[0, :, 10, 10] * 255, colour_of(3, 10), atol=0.5)
    assert np.allclose(img[1, :, 10, 10] * 255, colour_of(1, 5), atol=0.5)
    assert ds.factor_values_along(np.array([0, 1]), 1).tolist() == [0, 1, 2]
    with pytest.raises(DrvizError, match="no stored image has object=0, pose=3"):
        ds.render(np.array([[0, 3]]))


def test_coil100_bad_folders(tmp_path):
    with pytest.raises(DrvizError, match="is not a folder"):
        load_coil100(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DrvizError, match=r"no obj<i>__<angle>.png files"):
        load_coil100(tmp_path / "empty")
    write_coil(tmp_path / "odd", angles=(0, 7))
    with pytest.raises(DrvizError, match="obj1__7.png has angle 7"):
        load_coil100(tmp_path / "odd")
    write_coil(tmp_path / "mixed", objects=(1,), angles=(0,))
    Image.new("RGB", (64, 64)).save(tmp_path / "mixed" / "obj2__0.png")
    with pytest.raises(DrvizError, match="mixed sizes.*128x128.*64x64"):
        load_coil100(tmp_path / "mixed")


def test_coil100_and_folders_decode_lazily_then_cache(tmp_path, monkeypatch):
    """Opening reads headers only; a preview decodes what it shows; bulk use decodes each image
    once into the memory-mapped cache, and later reads come from it."""
    from drviz.data import cache, files

    monkeypatch.setenv("DRVIZ_CACHE_DIR", str(tmp_path / "cache"))
    decoded = []
    real = files.decode_image
    monkeypatch.setattr(files, "decode_image", lambda p, what: decoded.append(p.name) or real(p, what))
    write_coil(tmp_path / "coil-100", angles=tuple(range(0, 50, 5)))
    ds = load_coil100(tmp_path / "coil-100")
    assert decoded == [] and ds.store is not None and ds.store.encoded
    first = ds.render(np.array([[1, 2]]))
    assert decoded == ["obj3__10.png"]
    assert np.allclose(first[0, :, 10, 10] * 255, colour_of(3, 10), atol=0.5)
    path = cache.prepare(ds)  # what `drviz datasets cache` and the first training do
    assert path.is_file() and ds.store.cached() and len(decoded) == 1 + 20
    decoded.clear()
    np.testing.assert_array_equal(ds.render(np.array([[1, 2]])), first)
    assert decoded == []  # served from the cache
    folder = load_image_folder(write_folder(tmp_path / "f", n=3))
    assert decoded == [] and folder.store.channels == 3


# -- generic folder ---------------------------------------------------------------------------
def write_folder(folder, n=4, size=(32, 32), mode="RGB", csv=None):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        colour = (i * 50, 10, 20) if mode == "RGB" else i * 50
        Image.new(mode, size, colour).save(folder / f"img{i}.png")
    if csv is not None:
        (folder / "labels.csv").write_text(csv)
    return folder


def test_labelled_folder(tmp_path):
    csv = "file,light,pose\nimg0.png,10,-1\nimg1.png,20,-1\nimg2.png,10,5\nimg3.png,20,5\n"
    ds = load_image_folder(write_folder(tmp_path / "f", csv=csv))
    assert ds.factor_names == ("light", "pose") and ds.factor_sizes == (2, 2) and ds.labelled
    assert ds.labels.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert [v.tolist() for v in ds.factor_values] == [[10, 20], [-1, 5]]
    img = ds.render(np.array([[1, 1]]))  # img3, upscaled 32 -> 64
    assert img.shape == (1, 3, 64, 64) and np.allclose(img[0, :, 5, 5] * 255, (150, 10, 20), atol=1)
    assert ds.redraw(np.array([[1, 1]]), 0, np.random.default_rng(0)).tolist() == [[0, 1]]


def test_unlabelled_folder_and_crop(tmp_path):
    folder = tmp_path / "u"
    folder.mkdir()
    wide = Image.new("L", (200, 100), 0)
    wide.paste(255, (50, 0, 150, 100))  # a white square in the middle of a black strip
    wide.save(folder / "a.png")
    Image.new("L", (200, 100), 128).save(folder / "b.jpg")
    (folder / "notes.txt").write_text("not an image")
    ds = load_image_folder(folder)
    assert ds.factor_names == ("image",) and ds.factor_sizes == (2,) and not ds.labelled
    assert ds.image_shape == (1, 64, 64)
    img = ds.render(np.array([[0], [1]]))
    assert img[0].min() == 1.0  # centre crop keeps only the white square
    assert abs(img[1].mean() - 128 / 255) < 0.02
    assert get_dataset(f"folder:{folder}").info.kind == "real, unlabelled"


@pytest.mark.parametrize(
    "csv, message",
    [
        ("file,a\nimg0.png,1\nmissing.png,2\n", r"1 listed file\(s\) are not in .* \(first: missing.png\)"),
        ("file,a\nimg0.png,1\nimg1.png,x\n", r"column 'a' is not numeric \('x' on line 3\)"),
        ("file,a\nimg0.png,1.5\n", r"label '1.5' in column 'a' on line 2 is not an integer"),
        ("file,a,b\nimg0.png,1,\n", r"missing label in column 'b' on line 2"),
        ("file,a\nimg0.png,1\n\nimg1.png,\n", r"missing label in column 'a' on line 4"),  # blank line 3
        ("name,a\nimg0.png,1\n", r"no 'file' column \(header is name, a\)"),
        ("file\nimg0.png\n", "no FoV columns besides 'file'"),
        ("file,a,a\nimg0.png,1,2\n", "two columns are named 'a'"),
        ("file,a\nimg0.png,1\nimg0.png,2\n", "file 'img0.png' is listed twice"),
        ("file,a\nimg0.png\n", "missing label in column 'a' on line 2"),
        ("file,a\nimg0.png,1\nimg1.png,2,3\n", "line 3 has 3 fields, the header has 2"),
        ("file,a\n", "has a header but no rows"),
    ],
)
def test_bad_labels_csv(tmp_path, csv, message):
    with pytest.raises(DrvizError, match=message):
        load_image_folder(write_folder(tmp_path / "f", csv=csv))


def test_bad_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("no images here")
    with pytest.raises(DrvizError, match="no images in"):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(DrvizError, match="is not a folder"):
        load_image_folder(tmp_path / "nope")
    mixed = write_folder(tmp_path / "sizes", n=2)
    Image.new("RGB", (48, 32)).save(mixed / "img9.png")
    with pytest.raises(DrvizError, match="mixed sizes .* resize them all to one size"):
        load_image_folder(mixed)
    modes = write_folder(tmp_path / "modes", n=2)
    Image.new("L", (32, 32)).save(modes / "img9.png")
    with pytest.raises(DrvizError, match=r"mixed colour modes \(img0.png is RGB, img9.png is L\)"):
        load_image_folder(modes)
    broken = write_folder(tmp_path / "broken", n=1)
    (broken / "img5.png").write_bytes(b"not a png")
    with pytest.raises(DrvizError, match="cannot read image img5.png"):
        load_image_folder(broken)


# -- labels.csv as pandas writes it (issue 12, section 2): the same reader as classes.csv -----------
def test_labels_csv_with_pandas_index_is_read_as_without_it(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"file": [f"img{i}.png" for i in range(4)], "light": [10, 20, 10, 20], "pose": [-1, -1, 5, 5]})
    clean = load_image_folder(write_folder(tmp_path / "clean", csv=df.to_csv(index=False)))
    ds = load_image_folder(write_folder(tmp_path / "pandas", csv=df.to_csv()))  # index=True: pandas' default
    assert ds.factor_names == clean.factor_names == ("light", "pose")
    np.testing.assert_array_equal(ds.labels, clean.labels)
    assert clean.notes == () and len(ds.notes) == 1
    assert ds.notes[0].startswith("labels.csv: dropped column 1 (no header, pandas' 'Unnamed: 0'): it holds the row numbers 0..3")


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("file,light,note\n" + "".join(f"img{i}.png,{i % 2},ok\n" for i in range(4)), r"column 'note' is not numeric \('ok' on line 2\)"),
        ("file,light,id\n" + "".join(f"img{i}.png,{i % 2},{i}\n" for i in range(4)), "column 'id' has a different value in every row"),
    ],
)
def test_labels_csv_refuses_what_is_not_a_factor(tmp_path, csv, message):
    with pytest.raises(DrvizError, match=message):
        load_image_folder(write_folder(tmp_path / "f", csv=csv))
