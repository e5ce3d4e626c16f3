"""Image-folder releases of the field, decoded into the image cache for training.

- ``isaac3d:PATH/Isaac3D_down128`` (Nie et al. 2020, "Semi-supervised StyleGAN for
  disentanglement learning"): ``images/000000.png`` ... (128 x 128 RGB) and ``labels.npy``
  ((737,280, 9) factor values: object_shape 3, robot_x 8, robot_y 5, camera_height 4,
  object_scale 4, lighting_intensity 4, lighting_y_dir 6, object_color 4, wall_color 4), image
  ``i`` is ``images/{i:06d}.png``. Classes are the index of a value among its column's sorted
  distinct values.
- ``coil100_augmented:PATH`` (Dapueto et al. 2024, huggingface.co/datasets/dappu97/Coil100-Augmented):
  a folder of images and ``classes.csv``, whose first column names the image (relative to the
  folder) and the next four are integer classes (object 100, pose 72, rotation 18, scale 9; the
  names come from the header). As in the authors' loader, a label vector listed twice keeps its
  first row. ``coil100_augmented_binary:PATH`` is the binary-mask variant (same layout, masks in
  place of photos): one channel, thresholded at 128.
- ``rgbd_objects:PATH`` (Lai et al. 2011, the RGB-D Object Dataset): ``category/instance/``
  ``<instance>_<video>_<frame>_crop.png`` with ``<instance>_<video>_<frame>_maskcrop.png`` beside
  each. As the paper's code uses it: the first instance of each category (so category and instance
  coincide); FoVs category, video (camera elevation) and frame. The object is masked (background
  black), padded to a centred square and resized to 64 x 64. Frames are not aligned poses across
  objects and the grid is incomplete: it is a target (fine-tuning, reconstructions, label-based
  metrics), and ``notes`` says which FoVs have intervention pairs at all.

Each row is decoded on demand (previews) with Pillow, or all rows once into the cache
(``drviz.data.cache``) by ``drviz datasets cache SPEC`` or the first training / encoding.
Opening reads the labels and checks a few files; a missing image is reported when it is read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from drviz.data.base import IMAGE_SIZE
from drviz.data.cache import ImageStore, file_reader, key_files
from drviz.data.filegrid import classes_of_values, dataset_from_labels
from drviz.data.files import _folder
from drviz.data.labels import read_labels_table
from drviz.errors import DrvizError
from drviz.imaging import square_resize

ISAAC3D_FACTORS = ("object_shape", "robot_x", "robot_y", "camera_height", "object_scale", "lighting_intensity",
                   "lighting_y_dir", "object_color", "wall_color")


def _open_image(path: Path, what: str):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except FileNotFoundError:
        raise DrvizError(f"{what}: image {path.name} is missing; restore it or re-download the dataset") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DrvizError(f"{what}: cannot read image {path.name} ({exc.__class__.__name__}); re-download it") from None


def _decode(path: Path, what: str, mode: str) -> np.ndarray:
    """uint8 (C, 64, 64) of one image file: converted to ``mode``, centre-cropped, area-resized."""
    arr = np.asarray(square_resize(_open_image(path, what).convert(mode), IMAGE_SIZE), dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


# -- Isaac3D ---------------------------------------------------------------------------------
class _IsaacPaths:
    """``images/{i:06d}.png`` without listing the folder (737,280 names)."""

    def __init__(self, folder: Path, n: int):
        self.folder, self.n = folder, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Path:
        return self.folder / f"{int(i):06d}.png"


def load_isaac3d(path: str | Path):
    """Open an ``Isaac3D_down128`` folder; one-line errors for a missing ``labels.npy``, wrong
    shape, or an image count that does not match the labels."""
    folder = _folder(path, "Isaac3D")
    what = f"Isaac3D {folder.name}"
    labels_path, images = folder / "labels.npy", folder / "images"
    if not labels_path.is_file() or not images.is_dir():
        raise DrvizError(f"{what}: needs labels.npy and an images/ folder; point at the unpacked Isaac3D_down128 folder")
    try:
        values = np.load(labels_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DrvizError(f"{what}: labels.npy is not a plain numeric array ({exc.__class__.__name__}); re-download it") from None
    if values.ndim != 2 or values.shape[1] != 9 or not np.issubdtype(values.dtype, np.number):
        raise DrvizError(f"{what}: labels.npy must be numeric (N, 9) ({', '.join(ISAAC3D_FACTORS)}); got {values.dtype} {values.shape}")
    n = len(values)
    paths = _IsaacPaths(images, n)
    if n == 0 or not paths[0].is_file() or not paths[n - 1].is_file() or paths[n].is_file():
        have = "no images/000000.png" if n == 0 or not paths[0].is_file() else (
            f"no {paths[n - 1].name}" if not paths[n - 1].is_file() else f"an extra {paths[n].name}")
        raise DrvizError(f"{what}: labels.npy has {n:,} rows but images/ has {have}; "
                         "the label count must match images 000000.png onwards")
    labels, uniques = classes_of_values(values)
    spec = f"isaac3d:{folder}"
    store = ImageStore(spec, n, 3, file_reader(paths, 3, lambda p: _decode(p, what, "RGB")), encoded=True,
                       files=key_files(paths, [labels_path], images))
    return dataset_from_labels(spec, store, labels, ISAAC3D_FACTORS, tuple(len(u) for u in uniques),
                               description=f"Isaac3D from {folder.name}: {n:,} images", factor_values=uniques)


# -- Coil100-Augmented ----------------------------------------------------------------------
def load_coil100_augmented(path: str | Path, binary: bool = False):
    """Open a Coil100-Augmented folder (``classes.csv``: image, then four integer class columns)."""
    kind = "coil100_augmented_binary" if binary else "coil100_augmented"
    folder = _folder(path, kind)
    what = f"{kind} {folder.name}"
    csv_path = folder / "classes.csv"
    if not csv_path.is_file():
        raise DrvizError(f"{what}: no classes.csv; point at the folder that holds classes.csv and the images")
    table = read_labels_table(csv_path, key=0, key_label="image")
    if table.values.shape[1] != 4:
        raise DrvizError(f"{what}: classes.csv must have an image column and 4 factor columns "
                         f"(object, pose, rotation, scale); got {table.values.shape[1]} factor columns")
    # A label vector listed twice keeps its first row (as the authors' loader does).
    _, first = np.unique(table.values, axis=0, return_index=True)
    keep = np.sort(first)
    names = [str(k) for k in table.keys[keep]]
    paths = [folder / k for k in names]
    for p in (paths[0], paths[-1]):
        if not p.is_file():
            raise DrvizError(f"{what}: classes.csv lists {p.name}, which is not in the folder; fix classes.csv or add the images")
    labels, uniques = classes_of_values(table.values[keep])
    spec = f"{kind}:{folder}"
    mode, channels = ("L", 1) if binary else ("RGB", 3)

    def decode(p: Path) -> np.ndarray:
        img = _decode(p, what, mode)
        return np.where(img >= 128, 255, 0).astype(np.uint8) if binary else img

    store = ImageStore(spec, len(paths), channels, file_reader(paths, channels, decode), encoded=True,
                       files=key_files(paths, [csv_path], folder))
    dropped = len(table.values) - len(keep)
    ds = dataset_from_labels(spec, store, labels, table.names, tuple(len(u) for u in uniques),
                             description=f"Coil100-Augmented{' (binary masks)' if binary else ''} from {folder.name}: "
                                         f"{len(paths):,} images" + (f" ({dropped:,} repeated label rows dropped)" if dropped else ""),
                             factor_values=uniques)
    ds.notes = tuple(table.notes)
    return ds


def load_coil100_augmented_binary(path: str | Path):
    """The binary-mask variant of Coil100-Augmented (one channel)."""
    return load_coil100_augmented(path, binary=True)


# -- RGB-D Objects -------------------------------------------------------------------------
RGBD_FACTORS = ("category", "video", "frame")


def _rgbd_decode(crop: Path, what: str) -> np.ndarray:
    """Masked object, padded to a centred black square, area-resized to uint8 (3, 64, 64)."""
    from PIL import Image

    mask_path = crop.with_name(crop.name[: -len("_crop.png")] + "_maskcrop.png")
    img = _open_image(crop, what).convert("RGB")
    mask = _open_image(mask_path, what).convert("L")
    if mask.size != img.size:
        raise DrvizError(f"{what}: {mask_path.name} is {mask.size[0]}x{mask.size[1]} but its crop is {img.size[0]}x{img.size[1]}; re-extract the dataset")
    black = Image.new("RGB", img.size)
    img = Image.composite(img, black, mask.point(lambda v: 255 if v > 0 else 0))
    side = max(img.size)
    square = Image.new("RGB", (side, side))
    square.paste(img, ((side - img.size[0]) // 2, (side - img.size[1]) // 2))
    return np.asarray(square_resize(square, IMAGE_SIZE), dtype=np.uint8).transpose(2, 0, 1)


def pair_counts(labels: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """(K,) number of groups of rows that agree on all other FoVs and hold >= 2 values of FoV k."""
    out = []
    for k in range(labels.shape[1]):
        other = np.delete(labels, k, axis=1)
        keys = np.unique(np.concatenate([other, labels[:, k : k + 1]], axis=1), axis=0)
        _, counts = np.unique(keys[:, :-1], axis=0, return_counts=True)
        out.append(int(np.sum(counts >= 2)))
    return np.asarray(out)


def load_rgbd_objects(path: str | Path):
    """Open an RGB-D Object tree; a one-line error for a crop without its mask or an empty tree."""
    root = _folder(path, "rgbd_objects")
    what = f"RGB-D Objects {root.name}"
    rows, categories = [], []
    for cat in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        instances = sorted(p for p in cat.iterdir() if p.is_dir())
        if not instances:
            continue
        inst = instances[0]  # one instance per category, as the paper's code
        pattern = re.compile(rf"^{re.escape(inst.name)}_(\d+)_(\d+)_crop\.png$")
        found = []
        with os.scandir(inst) as it:
            names = {e.name for e in it}
        for name in sorted(names):
            m = pattern.match(name)
            if m:
                mask = name[: -len("_crop.png")] + "_maskcrop.png"
                if mask not in names:
                    raise DrvizError(f"{what}: {name} has no mask {mask} beside it; restore the mask or remove the crop")
                found.append((int(m.group(1)), int(m.group(2)), inst / name))
        if found:
            categories.append(cat.name)
            rows.extend((len(categories) - 1, v, f, p) for v, f, p in found)
    if not rows:
        raise DrvizError(f"{what}: no category/instance/<instance>_<video>_<frame>_crop.png files; point at the rgbd-dataset folder")
    values = np.array([r[:3] for r in rows], dtype=np.int64)
    labels, uniques = classes_of_values(values)
    sizes = tuple(len(u) for u in uniques)
    paths = [r[3] for r in rows]
    spec = f"rgbd_objects:{root}"
    store = ImageStore(spec, len(paths), 3, file_reader(paths, 3, lambda p: _rgbd_decode(p, what)), encoded=True,
                       files=key_files(paths, [], root))
    ds = dataset_from_labels(spec, store, labels, RGBD_FACTORS, sizes,
                             description=f"RGB-D Objects from {root.name}: {len(categories)} categories, {len(paths):,} crops",
                             factor_values=(np.array(categories), uniques[1], uniques[2]))
    counts = pair_counts(labels, sizes)
    with_pairs = [f"{n} ({c:,} groups)" for n, c in zip(RGBD_FACTORS, counts) if c]
    without = [n for n, c in zip(RGBD_FACTORS, counts) if not c]
    ds.notes = (
        "RGB-D Objects is a target: frames are not aligned poses across objects, so pairs that change "
        "category or video compare unrelated views",
        "intervention pairs exist for " + (", ".join(with_pairs) or "no FoV")
        + (f"; none for {', '.join(without)}, so OMES, BetaVAE and FactorVAE cannot measure it (DCI, MIG and accuracies use labels only)" if without else ""),
    )
    ds.pair_counts = dict(zip(RGBD_FACTORS, counts.tolist()))
    return ds
