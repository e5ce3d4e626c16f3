"""``mpi3d_npz:PATH``: the MPI3D ``.npz`` files (Gondal et al. 2019, github.com/rr-learning/disentanglement_dataset).

Layout (``mpi3d_toy.npz``, ``mpi3d_realistic.npz``, ``mpi3d_real.npz``): one member ``images``,
(1,036,800, 64, 64, 3) uint8, in factor-grid order, last factor fastest: object_color 6,
object_shape 6, object_size 2, camera_height 3, background_color 3, horizontal_axis 40,
vertical_axis 40. Labels are implied by the row index. ``mpi3d_complex`` (460,800 rows: 4 colours,
4 shapes) is recognised by its count. A subset in the same order may carry its grid as an extra
integer member ``factor_sizes`` (7 values whose product is the row count) - a drviz convention
for cut-down files, used by the tests.

An ``.npz`` is a zip archive. A *stored* (uncompressed, ``numpy.savez``) member is
memory-mapped at its data offset inside the zip: the local file header's fixed 30 bytes, its
name and extra field, then the ``.npy`` header (``numpy.lib.format``). Opening reads only those
headers, whatever the file's size. A *deflated* member (``numpy.savez_compressed``) cannot be
mapped: previews decompress the stream up to the rows they show, and training decodes it once,
sequentially, into the image cache (``drviz.data.cache``).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

from drviz.data.base import IMAGE_SIZE
from drviz.data.cache import ImageStore, nhwc_to_nchw
from drviz.data.filegrid import FileGridDataset
from drviz.errors import DrvizError

MPI3D_FACTORS = ("object_color", "object_shape", "object_size", "camera_height", "background_color",
                 "horizontal_axis", "vertical_axis")
MPI3D_SIZES = {1_036_800: (6, 6, 2, 3, 3, 40, 40), 460_800: (4, 4, 2, 3, 3, 40, 40)}
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # zip local file header, 30 bytes


def _npy_header(fp) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    return np.lib.format.read_array_header_2_0(fp)


def stored_member_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Byte offset of a stored (uncompressed) zip member's data in the archive file."""
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        head = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
        if head[0] != b"PK\x03\x04":
            raise DrvizError(f"{path.name}: damaged zip (no local header for {info.filename}); re-download the file")
        name_len, extra_len = head[9], head[10]
        return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len


def npz_member(path: Path, key: str, what: str) -> tuple[zipfile.ZipInfo, tuple[int, ...], np.dtype, int | None]:
    """(zip info, shape, dtype, data offset or None if deflated) of member ``key`` of an ``.npz``."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        raise DrvizError(f"{what}: not a readable .npz archive; re-download it or re-save it with numpy.savez") from None
    with zf:
        names = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
        if key not in names:
            raise DrvizError(f"{what}: missing key {key} (found {', '.join(names) or 'none'}); the release has one array, images")
        info = zf.getinfo(names[key])
        with zf.open(info) as fp:
            try:
                shape, fortran, dtype = _npy_header(fp)
            except ValueError as exc:
                raise DrvizError(f"{what}: {key} is not a .npy array ({exc}); re-save it with numpy.savez") from None
    if fortran:
        raise DrvizError(f"{what}: {key} is stored in Fortran order; re-save it with numpy.savez(np.ascontiguousarray(images))")
    if info.compress_type == zipfile.ZIP_STORED:
        offset = stored_member_offset(path, info)
        with open(path, "rb") as fh:  # the .npy header sits at the member's start: skip it
            fh.seek(offset)
            _npy_header(fh)
            return info, shape, dtype, fh.tell()
    return info, shape, dtype, None


def load_mpi3d_npz(path: str | Path) -> FileGridDataset:
    """Open an MPI3D ``.npz``; a one-line ``DrvizError`` for a missing key or a wrong shape / count."""
    p = Path(path).expanduser()
    what = f"MPI3D file {p.name}"
    if not p.is_file():
        raise DrvizError(f"{what}: no such file {str(path)!r}; give the path of mpi3d_toy.npz, mpi3d_realistic.npz or mpi3d_real.npz")
    info, shape, dtype, offset = npz_member(p, "images", what)
    if len(shape) != 4 or shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3) or dtype != np.uint8:
        raise DrvizError(f"{what}: images must be uint8 (N, 64, 64, 3); got {dtype} {shape}")
    n = shape[0]
    sizes = MPI3D_SIZES.get(n) or _subset_sizes(p, n, what)
    spec = f"mpi3d_npz:{p}"
    if offset is not None:
        mm = np.memmap(p, dtype=np.uint8, mode="r", offset=offset, shape=shape)
        store = ImageStore(spec, n, 3, lambda rows: nhwc_to_nchw(mm[rows]), encoded=False)
    else:
        store = ImageStore(spec, n, 3, lambda rows: _deflated_rows(p, info, rows), encoded=True,
                           files=lambda: ([p], p.parent), blocks=lambda: _deflated_blocks(p, info, n))
    how = "memory-mapped" if offset is not None else "compressed: cached for training"
    return FileGridDataset(spec, store, MPI3D_FACTORS, sizes, description=f"MPI3D from {p.name}: {n:,} images ({how})")


def _subset_sizes(p: Path, n: int, what: str) -> tuple[int, ...]:
    expected = " or ".join(f"{k:,}" for k in MPI3D_SIZES)
    with np.load(p, allow_pickle=False) as archive:
        if "factor_sizes" not in archive.files:
            raise DrvizError(f"{what}: {n:,} images, but the MPI3D grid has {expected}; "
                             "for a subset in grid order add an integer member factor_sizes (7 values)")
        sizes = archive["factor_sizes"]
    if sizes.shape != (7,) or not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1) or int(np.prod(sizes)) != n:
        raise DrvizError(f"{what}: factor_sizes must be 7 positive integers whose product is the image count {n:,}; got {sizes.tolist()}")
    return tuple(int(s) for s in sizes)


_ROW = IMAGE_SIZE * IMAGE_SIZE * 3


def _deflated_rows(p: Path, info: zipfile.ZipInfo, rows: np.ndarray) -> np.ndarray:
    """Sorted rows of a deflated member: one forward pass of the stream (memory-bounded)."""
    out = np.empty((len(rows), IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    with zipfile.ZipFile(p) as zf, zf.open(info) as fp:
        _npy_header(fp)
        start = fp.tell()
        for i, r in enumerate(rows):
            fp.seek(start + int(r) * _ROW)  # forward seeks decompress and discard
            out[i] = np.frombuffer(fp.read(_ROW), np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE, 3)
    return nhwc_to_nchw(out)


def _deflated_blocks(p: Path, info: zipfile.ZipInfo, n: int, block: int = 2048):
    with zipfile.ZipFile(p) as zf, zf.open(info) as fp:
        _npy_header(fp)
        for start in range(0, n, block):
            b = min(block, n - start)
            buf = fp.read(b * _ROW)
            if len(buf) != b * _ROW:
                raise DrvizError(f"{p.name}: images ends after {start:,} rows; the file is truncated, re-download it")
            yield nhwc_to_nchw(np.frombuffer(buf, np.uint8).reshape(b, IMAGE_SIZE, IMAGE_SIZE, 3))
