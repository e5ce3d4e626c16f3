"""``shapes3d_h5:PATH``: DeepMind's ``3dshapes.h5`` (Burgess & Kim 2018, github.com/deepmind/3d-shapes).

Layout of the release: ``images`` (480,000, 64, 64, 3) uint8 and ``labels`` (480,000, 6)
float64 holding factor *values* (floor_hue, wall_hue, object_hue, scale, shape, orientation;
10, 10, 10, 8, 4, 15 values), rows in factor-grid order with orientation fastest. A factor's
class is the index of its value among the column's sorted distinct values. Read with h5py (the
format's own reader): opening reads ``labels`` only (23 MB). A contiguous, uncompressed
``images`` dataset is memory-mapped at its offset in the file; a chunked / compressed one (the
release) is read row by row for previews and decoded once into the image cache for training
(``drviz.data.cache``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drviz.data.base import IMAGE_SIZE
from drviz.data.cache import ImageStore, nhwc_to_nchw
from drviz.data.filegrid import classes_of_values, dataset_from_labels
from drviz.errors import DrvizError

SHAPES3D_FACTORS = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")


def _h5py():
    try:
        import h5py
    except ImportError:
        raise DrvizError("shapes3d_h5: needs the h5py package; install it with `pip install h5py`") from None
    return h5py


def load_shapes3d_h5(path: str | Path):
    """Open ``3dshapes.h5``; raises ``DrvizError`` (one line) for a missing key, wrong shape or dtype."""
    h5py = _h5py()
    p = Path(path).expanduser()
    what = f"Shapes3D file {p.name}"
    if not p.is_file():
        raise DrvizError(f"{what}: no such file {str(path)!r}; give the path of 3dshapes.h5")
    try:
        f = h5py.File(p, "r")
    except OSError:
        raise DrvizError(f"{what}: not a readable HDF5 file; re-download 3dshapes.h5") from None
    with f:
        missing = [k for k in ("images", "labels") if k not in f]
        if missing:
            raise DrvizError(f"{what}: missing key(s) {', '.join(missing)} (found {', '.join(f.keys()) or 'none'}); "
                             "the release has images and labels")
        images, labels_ds = f["images"], f["labels"]
        if images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3) or images.dtype != np.uint8:
            raise DrvizError(f"{what}: images must be uint8 (N, 64, 64, 3); got {images.dtype} {images.shape}")
        if labels_ds.ndim != 2 or labels_ds.shape[1] != 6:
            raise DrvizError(f"{what}: labels must have shape (N, 6) ({', '.join(SHAPES3D_FACTORS)}); got {labels_ds.shape}")
        n = images.shape[0]
        if labels_ds.shape[0] != n:
            raise DrvizError(f"{what}: {labels_ds.shape[0]:,} label rows for {n:,} images; the file is truncated, re-download it")
        if n == 0:
            raise DrvizError(f"{what}: images is empty")
        values = labels_ds[()]
        raw = images.chunks is None and images.compression is None
        offset = images.id.get_offset() if raw else None
    if not np.all(np.isfinite(values)):
        raise DrvizError(f"{what}: labels holds NaN or infinite values; re-download the file")
    labels, uniques = classes_of_values(values)
    spec = f"shapes3d_h5:{p}"
    if offset is not None:  # contiguous raw pixels: read in place
        mm = np.memmap(p, dtype=np.uint8, mode="r", offset=offset, shape=(n, IMAGE_SIZE, IMAGE_SIZE, 3))
        store = ImageStore(spec, n, 3, lambda rows: nhwc_to_nchw(mm[rows]), encoded=False)
    else:
        store = ImageStore(spec, n, 3, _chunked_reader(p), encoded=True, files=lambda: ([p], p.parent),
                           blocks=lambda: _blocks(p, n))
    return dataset_from_labels(
        spec, store, labels, SHAPES3D_FACTORS, tuple(len(u) for u in uniques),
        description=f"Shapes3D from {p.name}: {n:,} images", factor_values=uniques,
    )


def _chunked_reader(p: Path):
    """``read(sorted rows)`` through h5py (each touched chunk is decompressed)."""
    h5py = _h5py()
    state: dict = {}

    def read(rows: np.ndarray) -> np.ndarray:
        if "f" not in state:
            state["f"] = h5py.File(p, "r")
        return nhwc_to_nchw(state["f"]["images"][rows])  # h5py needs increasing indices: rows are sorted

    return read


def _blocks(p: Path, n: int, block: int = 4096):
    h5py = _h5py()
    with h5py.File(p, "r") as f:
        images = f["images"]
        for start in range(0, n, block):
            yield nhwc_to_nchw(images[start : min(start + block, n)])
