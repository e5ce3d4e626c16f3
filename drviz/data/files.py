"""Datasets backed by stored images: users' own files and shipped photo collections.

``StoredDataset`` holds images (uint8, or bit-packed for binary ones) and one integer label row
per image, and implements the dataset protocol by lookup: ``render`` finds rows by their
label vector (mixed-radix codes + ``searchsorted``), ``sample_factors`` draws stored rows and
``redraw`` moves to another stored row that agrees on every other FoV (docs/architecture.md:
"for file-backed data group rows that agree on all other FoVs"). Grids may be incomplete.

Loaders (each raises ``DrvizError`` with a one-line fix for malformed input):
- ``load_dsprites_npz``: the official dSprites file (keys ``imgs`` (N, 64, 64) 0/1 uint8,
  ``latents_classes`` (N, 6); column 0, the constant colour, is dropped). Read with
  ``allow_pickle=False``; its ``metadata`` entry is a pickled object and is never read.
- ``load_coil100``: a Coil-100 folder of ``obj<i>__<angle>.png``; FoVs object (the distinct
  ``i`` in increasing order) and pose (angle / 5, 72 values).
- ``load_image_folder``: any folder of images, with an optional ``labels.csv`` (a ``file``
  column naming the image, one integer column per FoV), read by the one labels reader
  (``drviz.data.labels``: pandas' index column dropped with a notice in ``notes``, an
  all-distinct FoV column refused). Without it the images are unlabelled: one ``image`` FoV (the
  row index), usable for fine-tuning, traversals and reconstructions.

Coil-100 and image folders are read lazily through an ``ImageStore`` (``drviz.data.cache``):
opening checks every file's header (one size, one colour mode) and decodes nothing; a preview
decodes the images it shows; the first bulk use (training, encoding) decodes them all once into
the memory-mapped cache (``drviz datasets cache SPEC`` builds it ahead, with a progress bar).

All images become 64x64: non-square images are centre-cropped to a square, then resized with
Pillow's area-averaging filter (``Image.BOX``) when shrinking and bicubic when enlarging.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from drviz.data.base import IMAGE_SIZE, GroundTruthDataset
from drviz.data.cache import ImageStore, file_reader, key_files
from drviz.data.labels import read_labels_table
from drviz.errors import DrvizError
from drviz.imaging import square_resize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class StoredDataset(GroundTruthDataset):
    """Stored images with integer labels, served through the dataset protocol.

    Args:
        images: uint8 (N, C, 64, 64) with values 0..255, or 0/1 with ``binary=True``; or an
            ``ImageStore`` (``drviz.data.cache``) that reads them from disk by row.
        labels: int (N, K), column k in 0..factor_sizes[k] - 1.
        factor_values: optional per-FoV arrays mapping a label index back to the value found in
            the files (e.g. the original CSV value or Coil-100 object number).
    If several rows share one label vector, ``render`` picks one of them with ``rng`` (the
    first without an ``rng``).
    """

    synthetic = False
    notes: tuple[str, ...] = ()  # what reading the files changed, one line each (a dropped index column)

    def __init__(
        self,
        name: str,
        images: np.ndarray,
        labels: np.ndarray,
        factor_names: tuple[str, ...],
        factor_sizes: tuple[int, ...],
        *,
        labelled: bool = True,
        description: str = "",
        factor_values: tuple[np.ndarray, ...] | None = None,
        binary: bool = False,
    ):
        self.name = name
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.labelled = labelled
        self.description = description
        self.factor_values = factor_values
        labels = np.asarray(labels, dtype=np.int64)
        self.store = images if isinstance(images, ImageStore) else None
        n_images = images.n if self.store is not None else len(images)
        if n_images != len(labels) or len(labels) == 0:
            raise DrvizError(f"{name}: need one label row per image and at least one image")
        if float(np.prod(np.asarray(self.factor_sizes, dtype=np.float64))) >= 2.0**62:
            raise DrvizError(f"{name}: too many distinct label values to index; use fewer FoVs or values")
        self.labels = self.check_factors(labels)
        if self.store is not None:
            self._bits = self._images = None
            self.image_shape = (self.store.channels, IMAGE_SIZE, IMAGE_SIZE)
        elif binary:
            # Binary images (dSprites): 8 pixels a byte keeps the 737,280 official images in 370 MB.
            self._bits = np.packbits(images.reshape(len(images), -1), axis=1)
            self._images = None
        else:
            self._bits = None
            self._images = np.ascontiguousarray(images, dtype=np.uint8)
        if self.store is None:
            self.image_shape = (int(images.shape[1]), IMAGE_SIZE, IMAGE_SIZE)
        self._radix = np.cumprod((1,) + self.factor_sizes[:0:-1])[::-1].astype(np.int64)  # mixed radix
        codes = self.labels @ self._radix
        self._order = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._order]
        self.has_duplicates = bool(np.any(np.diff(self._sorted_codes) == 0))
        self._groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    # -- lookup ---------------------------------------------------------------------------
    def rows_of(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Row index of each (n, K) label vector; an error naming the first one not stored."""
        f = self.check_factors(factors)
        codes = f @ self._radix
        lo = np.searchsorted(self._sorted_codes, codes, side="left")
        hi = np.searchsorted(self._sorted_codes, codes, side="right")
        missing = np.flatnonzero(hi == lo)
        if len(missing):
            bad = ", ".join(f"{n}={v}" for n, v in zip(self.factor_names, f[missing[0]]))
            raise DrvizError(
                f"{self.name}: no stored image has {bad} ({len(missing)} of {len(f)} requested "
                "combinations are missing); draw factors with sample_factors, which picks stored rows"
            )
        if self.has_duplicates and rng is not None:
            lo = lo + np.floor(rng.random(len(f)) * (hi - lo)).astype(np.int64)
        return self._order[lo]

    def images_at(self, rows: np.ndarray) -> np.ndarray:
        """float32 (n, C, 64, 64) in [0, 1] for stored row indices."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.store is not None:
            out = self.store.read(rows).astype(np.float32)
            out *= np.float32(1.0 / 255.0)
            return out
        if self._bits is not None:
            bits = np.unpackbits(self._bits[rows], axis=1, count=IMAGE_SIZE * IMAGE_SIZE)
            return bits.reshape(len(rows), 1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)
        out = self._images[rows].astype(np.float32)
        out *= np.float32(1.0 / 255.0)
        return out

    def render(self, factors, rng=None):
        return self.images_at(self.rows_of(factors, rng))

    # -- sampling -------------------------------------------------------------------------
    def sample_factors(self, n, rng):
        """``n`` label rows of stored images, uniformly over images."""
        return self.labels[rng.integers(0, len(self.labels), size=n)]

    def _group(self, factor: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct label vectors sorted by (code of the other FoVs, value of ``factor``)."""
        if factor not in self._groups:
            size = self.factor_sizes[factor]
            other = self._other_code(self.labels, factor)
            keys = np.unique(other * size + self.labels[:, factor])
            self._groups[factor] = (keys, np.asarray(size))
        return self._groups[factor]

    def _other_code(self, labels: np.ndarray, factor: int) -> np.ndarray:
        """Mixed-radix code of every FoV except ``factor``."""
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        keep = np.arange(len(sizes)) != factor
        radix = np.cumprod(np.concatenate([[1], sizes[keep][:0:-1]]))[::-1]
        return labels[:, keep] @ radix if keep.any() else np.zeros(len(labels), np.int64)

    def redraw(self, factors, factor, rng):
        """Move each row to another stored row that differs only in ``factor``.

        Uniform over the other values stored with the same other FoVs; rows with no such
        partner stay unchanged (callers drop them, as for single-valued factors).
        """
        f = self.check_factors(factors).copy()
        keys, size = self._group(factor)
        size = int(size)
        other = self._other_code(f, factor)
        own = other * size + f[:, factor]
        lo = np.searchsorted(keys, other * size, side="left")
        hi = np.searchsorted(keys, (other + 1) * size, side="left")
        pos = np.searchsorted(keys, own, side="left") - lo
        count = hi - lo
        stored = (pos < count) & (keys[np.minimum(lo + pos, len(keys) - 1)] == own)
        if not stored.all():
            self.rows_of(f[~stored][:1])  # raises the "not stored" error for the first one
        pick = np.floor(rng.random(len(f)) * np.maximum(count - 1, 0)).astype(np.int64)
        pick += pick >= pos
        ok = count > 1
        f[ok, factor] = keys[lo[ok] + pick[ok]] % size
        return f

    def factor_values_along(self, base, factor):
        keys, size = self._group(factor)
        size = int(size)
        other = int(self._other_code(np.asarray(base, np.int64).reshape(1, -1), factor)[0])
        lo, hi = np.searchsorted(keys, [other * size, (other + 1) * size], side="left")
        return keys[lo:hi] % size


# -- image files ----------------------------------------------------------------------------
def _to_64(img, path: Path) -> np.ndarray:
    """A PIL image as uint8 (C, 64, 64): centre-cropped square, area-resized."""
    img = square_resize(img, IMAGE_SIZE)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _normalised_mode(mode: str) -> str:
    """Collapse Pillow modes to L (grey) or RGB; transparency is dropped."""
    if mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return "L"
    return "RGB"


def _converted(im):
    """A PIL image in its normalised mode (L or RGB); 16-bit and float greys scaled to 8 bits."""
    mode = _normalised_mode(im.mode)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return im.point(lambda v: v / 256).convert("L") if im.mode.startswith("I;16") else im.convert("L")
    return im.convert(mode)


def probe_images(paths: list[Path], what: str) -> int:
    """Check that image files share one size and one colour mode from their headers alone (no
    pixels decoded: a folder of thousands opens in a second); returns the channels (1 or 3)."""
    from PIL import Image, UnidentifiedImageError

    if not paths:
        raise DrvizError(f"{what}: no images found")
    sizes, modes = {}, {}
    for p in paths:
        try:
            with Image.open(p) as im:
                size, mode = im.size, _normalised_mode(im.mode)
        except (UnidentifiedImageError, OSError) as exc:
            raise DrvizError(f"{what}: cannot read image {p.name} ({exc.__class__.__name__}); remove or re-save it") from None
        sizes.setdefault(size, p.name)
        modes.setdefault(mode, p.name)
        if len(sizes) > 1:
            (s0, f0), (s1, f1) = list(sizes.items())[:2]
            raise DrvizError(
                f"{what}: images of mixed sizes ({f0} is {s0[0]}x{s0[1]}, {f1} is {s1[0]}x{s1[1]}); "
                "resize them all to one size"
            )
        if len(modes) > 1:
            (m0, f0), (m1, f1) = list(modes.items())[:2]
            raise DrvizError(
                f"{what}: images of mixed colour modes ({f0} is {m0}, {f1} is {m1}); "
                "convert them all to RGB or all to greyscale"
            )
    return 1 if next(iter(modes)) == "L" else 3


def decode_image(path: Path, what: str) -> np.ndarray:
    """uint8 (C, 64, 64) of one image file (mode normalised, centre-cropped, area-resized)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return _to_64(_converted(im), path)
    except FileNotFoundError:
        raise DrvizError(f"{what}: image {path.name} is missing; restore it or reopen the dataset") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DrvizError(f"{what}: cannot read image {path.name} ({exc.__class__.__name__}); remove or re-save it") from None


def image_store(spec: str, paths: list[Path], what: str, folder: Path, extra: list[Path] = ()) -> ImageStore:
    """The images of ``paths`` as an ``ImageStore``: headers checked now (``probe_images``),
    pixels decoded when read (a preview decodes a few), and the first bulk use (training,
    encoding) decodes them all once into the memory-mapped cache (``drviz.data.cache``)."""
    channels = probe_images(paths, what)
    return ImageStore(spec, len(paths), channels, file_reader(paths, channels, lambda p: decode_image(p, what)),
                      encoded=True, files=key_files(paths, list(extra), folder))


def read_images(paths: list[Path], what: str) -> np.ndarray:
    """uint8 (N, C, 64, 64) from image files that must share one size and one colour mode."""
    probe_images(paths, what)
    return np.stack([decode_image(p, what) for p in paths])


def _folder(path: str | Path, what: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DrvizError(f"{what}: {str(path)!r} is not a folder; give the path of the folder holding the images")
    return folder


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


# -- dSprites .npz --------------------------------------------------------------------------
DSPRITES_FACTORS = ("shape", "scale", "orientation", "posX", "posY")


def load_dsprites_npz(path: str | Path) -> StoredDataset:
    """The official dSprites archive (``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``)."""
    p = Path(path).expanduser()
    what = f"dSprites file {p.name}"
    if not p.is_file():
        raise DrvizError(f"{what}: no such file {str(path)!r}; give the path of the official dSprites .npz")
    try:
        archive = np.load(p, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DrvizError(f"{what}: not a readable .npz archive ({exc.__class__.__name__}); re-download or re-save it with numpy.savez") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DrvizError(f"{what}: holds a single array, not an .npz archive with keys imgs and latents_classes")
    with archive:
        missing = [k for k in ("imgs", "latents_classes") if k not in archive.files]
        if missing:
            raise DrvizError(
                f"{what}: missing key(s) {', '.join(missing)} (found {', '.join(archive.files) or 'none'}); "
                "the official file has imgs, latents_classes, latents_values and metadata"
            )
        try:
            imgs = archive["imgs"]
            classes = archive["latents_classes"]
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise DrvizError(f"{what}: imgs or latents_classes cannot be read without pickle or is corrupt ({exc}); save them as plain numeric arrays") from None
    if imgs.ndim != 3 or imgs.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DrvizError(f"{what}: imgs must have shape (N, 64, 64); got {imgs.shape}")
    if not (np.issubdtype(imgs.dtype, np.integer) or imgs.dtype == bool):
        raise DrvizError(f"{what}: imgs must be integer 0/1 pixels; got dtype {imgs.dtype}")
    if classes.ndim != 2 or classes.shape != (len(imgs), 6) or not np.issubdtype(classes.dtype, np.integer):
        raise DrvizError(
            f"{what}: latents_classes must be an integer array of shape ({len(imgs)}, 6) "
            f"(colour, shape, scale, orientation, posX, posY); got {classes.dtype} {classes.shape}"
        )
    if len(imgs) == 0:
        raise DrvizError(f"{what}: imgs is empty")
    if classes.min() < 0:
        raise DrvizError(f"{what}: latents_classes has negative values; it must hold class indices from 0")
    low, top = int(imgs.min()), int(imgs.max())
    if low < 0 or top > 255:
        raise DrvizError(f"{what}: imgs values must be 0/1 (or 0..255); got {low}..{top}")
    images = imgs.astype(np.uint8)[:, None]
    binary = top <= 1  # the official coding: 1 is a white pixel
    labels = classes[:, 1:].astype(np.int64)
    sizes = tuple(int(s) for s in labels.max(axis=0) + 1)
    return StoredDataset(
        f"dsprites_npz:{p}",
        images,
        labels,
        DSPRITES_FACTORS,
        sizes,
        description=f"dSprites from {p.name}: {len(images):,} images",
        binary=binary,
    )


# -- Coil-100 -------------------------------------------------------------------------------
_COIL = re.compile(r"^obj(\d+)__(\d+)\.png$", re.IGNORECASE)


def load_coil100(path: str | Path) -> StoredDataset:
    """A Coil-100 folder (``obj<i>__<angle>.png``, angles 0..355 in steps of 5), resized to 64x64."""
    folder = _folder(path, "Coil-100")
    found = []
    for p in sorted(folder.iterdir()):
        m = _COIL.match(p.name)
        if m and p.is_file():
            obj, angle = int(m.group(1)), int(m.group(2))
            if angle % 5 or not 0 <= angle < 360:
                raise DrvizError(f"Coil-100: {p.name} has angle {angle}; Coil-100 angles are 0..355 in steps of 5")
            found.append((obj, angle // 5, p))
    if not found:
        raise DrvizError(f"Coil-100: no obj<i>__<angle>.png files in {str(folder)!r}; point at the unzipped coil-100 folder")
    objects = np.array([f[0] for f in found])
    ids, obj_index = np.unique(objects, return_inverse=True)
    labels = np.stack([obj_index, [f[1] for f in found]], axis=1)
    spec = f"coil100:{folder}"
    return StoredDataset(
        spec,
        image_store(spec, [f[2] for f in found], "Coil-100", folder),
        labels,
        ("object", "pose"),
        (len(ids), 72),
        description=f"Coil-100 from {folder.name}: {len(ids)} objects, {len(found)} images",
        factor_values=(ids, np.arange(72) * 5),
    )


# -- generic folder -------------------------------------------------------------------------
def _read_labels(csv_path: Path, folder: Path) -> tuple[list[Path], np.ndarray, tuple[str, ...], tuple[np.ndarray, ...], tuple[str, ...]]:
    """The image folder's ``labels.csv`` through the one labels reader (``drviz.data.labels``),
    with ``file`` declared as its image key; each FoV re-indexed to 0..n-1."""
    table = read_labels_table(csv_path, key="file", key_label="file")
    files = [str(k) for k in table.keys]
    paths = [folder / f for f in files]
    missing = [f for f, p in zip(files, paths) if not p.is_file()]
    if missing:
        raise DrvizError(
            f"{csv_path.name}: {len(missing)} listed file(s) are not in {str(folder)!r} (first: {missing[0]}); "
            "fix the file column or add the images"
        )
    # Any integers are accepted; each column is re-indexed to 0..n-1 in increasing order.
    uniques, labels = [], np.empty_like(table.values)
    for k in range(table.values.shape[1]):
        u, inv = np.unique(table.values[:, k], return_inverse=True)
        uniques.append(u)
        labels[:, k] = inv
    return paths, labels, table.names, tuple(uniques), table.notes


def load_image_folder(path: str | Path) -> StoredDataset:
    """A folder of images, labelled by an optional ``labels.csv``; otherwise unlabelled.

    With ``labels.csv`` only the images it lists are used, and each FoV's integer values are
    re-indexed to 0..n-1 (``factor_values`` keeps the originals).
    """
    folder = _folder(path, "image folder")
    csv_path = folder / "labels.csv"
    if csv_path.is_file():
        paths, labels, names, uniques, notes = _read_labels(csv_path, folder)
        spec = f"folder:{folder}"
        ds = StoredDataset(
            spec,
            image_store(spec, paths, f"image folder {folder.name}", folder, [csv_path]),
            labels,
            names,
            tuple(len(u) for u in uniques),
            description=f"{len(paths)} labelled images from {folder.name}" + "".join(f" ({n})" for n in notes),
            factor_values=uniques,
        )
        ds.notes = notes
        return ds
    paths = _image_files(folder)
    if not paths:
        raise DrvizError(
            f"image folder: no images in {str(folder)!r} (looked for {', '.join(IMAGE_SUFFIXES)}); "
            "point at the folder that holds them"
        )
    spec = f"folder:{folder}"
    return StoredDataset(
        spec,
        image_store(spec, paths, f"image folder {folder.name}", folder),
        np.arange(len(paths))[:, None],
        ("image",),
        (len(paths),),
        labelled=False,
        description=f"{len(paths)} unlabelled images from {folder.name}",
    )
