"""Where a file dataset's pixels come from, and the memory-mapped uint8 cache of encoded ones.

An ``ImageStore`` serves uint8 (n, C, 64, 64) images for row indices. Pixels that are already raw
on disk (an uncompressed ``.npz`` member, a contiguous HDF5 dataset) are memory-mapped and read
directly. Pixels that are compressed or encoded (HDF5 chunks, a deflated ``.npz`` member, PNG/JPEG
folders) are fine to read a few at a time (a preview), but too slow to train from; for those the
store decodes every image once, in row order, into a ``.npy`` file under the cache directory and
memory-maps it (``numpy.lib.format.open_memmap``; 12 KB per RGB image, so 5.9 GB for Shapes3D).

- Cache directory: ``$DRVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/drviz``, else ``~/.cache/drviz``.
- Key: SHA-256 of the loader's name, the image count and shape, and every source file's relative
  name, size and modification time (ns); a changed source gets a new file (the stale one is
  deleted when the new one is written). The key is computed on the first read, not at opening.
- Built explicitly (``drviz datasets cache SPEC``, ``ImageStore.build``), or automatically by the
  first bulk use: once a store has served more than ``AUTO_CACHE_AFTER`` distinct-read images
  (training, encoding), never by a preview (a traversal grid reads tens). Building states its
  size first, reports progress, writes to a temporary name and renames it when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from drviz.data.base import IMAGE_SIZE
from drviz.errors import DrvizError

CACHE_ENV = "DRVIZ_CACHE_DIR"
AUTO_CACHE_AFTER = 4096  # images read directly from an encoded source before the cache is built
CACHE_VERSION = 1  # bump when the decoding (resize, masking) changes
BLOCK = 1024  # images decoded per progress step


def cache_dir() -> Path:
    """The cache directory (not created here)."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "drviz"


def source_key(parts: dict, files: list[Path], base: Path) -> str:
    """SHA-256 (hex, 20 chars) of ``parts`` and each file's name relative to ``base``, size and mtime."""
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    for p in files:
        st = os.stat(p)
        rel = os.path.relpath(p, base)
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def tqdm_progress(desc: str) -> Callable[[int, int], None]:
    """An ``on_progress(done, total)`` callback drawing a tqdm bar on stderr."""
    from tqdm import tqdm

    state: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


class ImageStore:
    """uint8 images of one file dataset, by row.

    Args:
        name: the dataset's spec, for messages and the cache file name.
        n: number of images; channels: 1 or 3.
        read: ``read(rows)`` -> uint8 (len(rows), C, 64, 64) for sorted distinct row indices.
        encoded: True when ``read`` decodes (slow); such a store builds and uses a cache.
        blocks: optional ``blocks()`` iterator of consecutive uint8 (b, C, 64, 64) blocks covering
            all rows in order (a sequential reader, e.g. a deflated zip member); default reads
            ``BLOCK`` rows at a time through ``read``.
        files: ``files()`` -> (source files, base folder) for the cache key; called once, lazily.
    """

    def __init__(
        self,
        name: str,
        n: int,
        channels: int,
        read: Callable[[np.ndarray], np.ndarray],
        *,
        encoded: bool,
        files: Callable[[], tuple[list[Path], Path]] | None = None,
        blocks: Callable[[], Iterator[np.ndarray]] | None = None,
    ):
        self.name, self.n, self.channels = name, int(n), int(channels)
        self._read, self.encoded, self._files, self._blocks = read, encoded, files, blocks
        self._cache: np.ndarray | None = None
        self._path: Path | None = None
        self._looked = False
        self.direct_reads = 0  # images read from the source itself (not the cache)
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self.n * self.channels * IMAGE_SIZE * IMAGE_SIZE

    # -- cache ----------------------------------------------------------------------------
    def cache_path(self) -> Path:
        """The cache file for the source as it is now on disk."""
        if self._path is None:
            files, base = self._files() if self._files is not None else ([], Path("."))
            parts = {"name": self.name, "n": self.n, "c": self.channels, "v": CACHE_VERSION}
            key = source_key(parts, files, base)
            self._path = cache_dir() / f"{self._slug()}-{key}.npy"
        return self._path

    def _slug(self) -> str:
        kind = self.name.partition(":")[0] or "data"
        return f"{kind}-{hashlib.sha256(self.name.encode()).hexdigest()[:10]}"

    def cached(self) -> bool:
        """Whether images come from a complete cache (opened here when it exists)."""
        if self._cache is None and self.encoded and not self._looked:
            self._looked = True
            path = self.cache_path()
            if path.is_file():
                try:
                    arr = np.load(path, mmap_mode="r")
                except (OSError, ValueError):
                    arr = None  # a damaged cache is rebuilt
                if arr is not None and arr.shape == (self.n, self.channels, IMAGE_SIZE, IMAGE_SIZE) and arr.dtype == np.uint8:
                    self._cache = arr
        return self._cache is not None

    def build(self, on_progress: Callable[[int, int], None] | None = None) -> Path:
        """Decode every image once into the cache (idempotent); returns its path.

        Raises ``DrvizError`` when the cache folder cannot be written or the disk is too full.
        """
        with self._lock:
            if not self.encoded:
                raise DrvizError(f"{self.name}: its pixels are read in place (memory-mapped); it needs no cache")
            if self.cached():
                return self.cache_path()
            path = self.cache_path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                free = os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize
            except OSError as exc:
                raise DrvizError(f"{self.name}: cannot create the cache folder {path.parent} ({exc.strerror}); set {CACHE_ENV} to a writable folder") from None
            if free < self.nbytes + (64 << 20):
                raise DrvizError(
                    f"{self.name}: the cache needs {human_bytes(self.nbytes)} but {path.parent} has {human_bytes(free)} free; "
                    f"set {CACHE_ENV} to a folder with more space"
                )
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(self.n, self.channels, IMAGE_SIZE, IMAGE_SIZE))
            try:
                done = 0
                if on_progress:
                    on_progress(0, self.n)
                blocks = self._blocks() if self._blocks is not None else self._default_blocks()
                for block in blocks:
                    out[done : done + len(block)] = block
                    done += len(block)
                    if on_progress:
                        on_progress(done, self.n)
                if done != self.n:
                    raise DrvizError(f"{self.name}: the source gave {done:,} images, expected {self.n:,}; the file is truncated")
                out.flush()
                out = None  # unmap before the rename
                os.replace(tmp, path)
            except BaseException:
                out = None  # unmap (a failed rename or a cancel): the temp file is removed
                tmp.unlink(missing_ok=True)
                raise
            for stale in path.parent.glob(f"{self._slug()}-*.npy"):
                if stale != path:
                    stale.unlink(missing_ok=True)  # the source changed: its old cache is useless
            self._looked = False
            self.cached()
            return path

    def _default_blocks(self) -> Iterator[np.ndarray]:
        for start in range(0, self.n, BLOCK):
            yield self._read(np.arange(start, min(start + BLOCK, self.n)))

    def announce(self) -> str:
        return f"{self.name}: decoding {self.n:,} images once into a {human_bytes(self.nbytes)} cache at {self.cache_path()}"

    # -- reading --------------------------------------------------------------------------
    def read(self, rows: np.ndarray) -> np.ndarray:
        """uint8 (n, C, 64, 64) for any row indices (repeats and any order allowed)."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size and (rows.min() < 0 or rows.max() >= self.n):
            raise DrvizError(f"{self.name}: row index out of range 0..{self.n - 1}")
        uniq, inv = np.unique(rows, return_inverse=True)
        if self.encoded and not self.cached():
            if self.direct_reads + len(uniq) > AUTO_CACHE_AFTER:
                # Bulk use (training, encoding): decode everything once rather than file by file.
                print(self.announce(), file=sys.stderr)
                self.build(tqdm_progress("caching"))
            else:
                self.direct_reads += len(uniq)
        data = self._cache[uniq] if self._cache is not None else self._read(uniq)
        return data[inv]


KEY_SAMPLE = 2000  # files statted for the cache key of a large folder (evenly spaced), besides the folder and tables


def file_reader(paths, channels: int, decode: Callable[[Path], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """An ``ImageStore`` ``read`` over one image file per row: ``decode(path)`` -> uint8 (C, 64, 64)."""
    def read(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), channels, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        for i, r in enumerate(rows):
            out[i] = decode(Path(paths[int(r)]))
        return out

    return read


def key_files(paths, extra: list[Path], folder: Path) -> Callable[[], tuple[list[Path], Path]]:
    """An ``ImageStore`` ``files`` for a folder of images: ``extra`` (label tables), the folder,
    and every image or, for many, an even sample of ``KEY_SAMPLE`` (statting 737k files is slow)."""
    def files() -> tuple[list[Path], Path]:
        n = len(paths)
        idx = range(n) if n <= KEY_SAMPLE else np.linspace(0, n - 1, KEY_SAMPLE).astype(np.int64)
        return list(extra) + [folder] + [Path(paths[i]) for i in idx], folder

    return files


def prepare(ds, on_progress: Callable[[int, int], None] | None = None) -> Path | None:
    """Build ``ds``'s image cache if it has an encoded store without one; returns the cache path.

    Datasets without a store (procedural ones) or with memory-mapped pixels return None.
    """
    store = getattr(ds, "store", None)
    if store is None or not store.encoded:
        return None
    if not store.cached():
        store.build(on_progress)
    return store.cache_path()


def nhwc_to_nchw(arr: np.ndarray) -> np.ndarray:
    """uint8 (n, H, W, C) or (n, H, W) -> contiguous (n, C, H, W)."""
    arr = np.asarray(arr)
    if arr.ndim == 3:
        return np.ascontiguousarray(arr[:, None])
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))


def array_store(name: str, arr: np.ndarray, layout: str = "nhwc") -> ImageStore:
    """A store over an array already raw on disk or in memory (a memmap is read in place)."""
    channels = 1 if arr.ndim == 3 else int(arr.shape[3] if layout == "nhwc" else arr.shape[1])

    def read(rows: np.ndarray) -> np.ndarray:
        block = arr[rows]
        return nhwc_to_nchw(block) if layout == "nhwc" else np.ascontiguousarray(block)

    return ImageStore(name, len(arr), channels, read, encoded=False)
