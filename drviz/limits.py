"""Limits on what arrives from outside: uploads, imported runs, the app's query parameters.

Every reader of outside input checks these *before* allocating: a zip's members from its central
directory, an ``.npz``'s shapes and dtypes from each member's ``.npy`` header, a CSV's columns from
its header line and its rows by counting lines, an image's size from its header. A refusal is one
line naming the limit and the environment variable that raises it, never a server path.

The operator's own files (named on the command line, or under ``DRVIZ_DATA_ROOT``) are not capped:
they may be as large as the field's datasets, and the loaders keep them in bounded memory instead.

=========================  =======  ==========================================================
variable                   default  caps
=========================  =======  ==========================================================
DRVIZ_MAX_UPLOAD_MB        200      one uploaded file as it arrives (zip, npz, csv, image);
                                    ``make run`` passes it to Streamlit's ``server.maxUploadSize``
DRVIZ_MAX_UNPACKED_MB      1024     a zip's members, or an npz's arrays, once inflated
DRVIZ_MAX_ROWS             200000   samples in an uploaded representation or labels table
DRVIZ_MAX_DIMS             1024     latent dims of an uploaded representation
DRVIZ_MAX_FOVS             64       FoV columns of an uploaded labels table
DRVIZ_MAX_IMAGE_PIXELS     16777216 width x height of an uploaded image (4096 x 4096)
DRVIZ_MAX_JOBS             cores/2  training jobs from the app running at once (more are queued)
=========================  =======  ==========================================================
"""

from __future__ import annotations

import io
import os
import re
import shutil
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from drviz.errors import DrvizError

MB = 2**20
MAX_ZIP_MEMBERS = 64  # a run folder has 5 files, an npz a few arrays: more is not ours
CHUNK = 1 * MB


@dataclass(frozen=True)
class Limit:
    env: str
    default: int
    unit: str


def _default_jobs() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


LIMITS = {
    "upload_mb": Limit("DRVIZ_MAX_UPLOAD_MB", 200, "MB"),
    "unpacked_mb": Limit("DRVIZ_MAX_UNPACKED_MB", 1024, "MB"),
    "rows": Limit("DRVIZ_MAX_ROWS", 200_000, "rows"),
    "dims": Limit("DRVIZ_MAX_DIMS", 1024, "dims"),
    "fovs": Limit("DRVIZ_MAX_FOVS", 64, "FoV columns"),
    "image_pixels": Limit("DRVIZ_MAX_IMAGE_PIXELS", 4096 * 4096, "pixels"),
    "jobs": Limit("DRVIZ_MAX_JOBS", 0, "jobs"),  # 0: half the cores, at least one
}


def limit(key: str) -> int:
    """The cap called ``key`` (see the module table): its environment variable, else the default.

    Raises DrvizError when the variable is set to anything but a positive integer.
    """
    lim = LIMITS[key]
    raw = os.environ.get(lim.env, "").strip()
    if not raw:
        return lim.default or _default_jobs()
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise DrvizError(f"{lim.env}={raw!r} must be a positive integer ({lim.unit})")
    return value


def check(key: str, value: int | float, what: str) -> None:
    """Refuse ``value`` (a size in the limit's unit; bytes for the ``_mb`` ones) above the cap."""
    lim, cap = LIMITS[key], limit(key)
    in_units = value / MB if lim.unit == "MB" else value
    if in_units > cap:
        shown = f"{in_units:,.0f} {lim.unit}" if lim.unit != "MB" else f"{in_units:,.1f} MB"
        raise DrvizError(f"{what} is {shown}, over the limit of {cap:,} {lim.unit}; "
                         f"the server's owner can raise it with {lim.env}")


# -- zips -----------------------------------------------------------------------------------
def zip_members(zf: zipfile.ZipFile, what: str = "the zip") -> list[zipfile.ZipInfo]:
    """The file members of ``zf``, checked from its central directory before any is read.

    Refuses: more than MAX_ZIP_MEMBERS entries, absolute or ``..`` paths, and inflated sizes over
    DRVIZ_MAX_UNPACKED_MB (each and in total). A member cannot inflate past its declared
    ``file_size``: ``zipfile`` stops reading there (and a CRC check fails), so the check holds.
    """
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise DrvizError(f"{what} holds {len(infos)} entries; a drviz upload has at most {MAX_ZIP_MEMBERS}")
    files, total = [], 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or (len(name) > 1 and name[1] == ":"):
            raise DrvizError(f"{what} holds an unsafe path {info.filename[:80]!r}")
        if info.is_dir():
            continue
        check("unpacked_mb", info.file_size, f"{info.filename[:80]!r} in {what}, inflated,")
        total += info.file_size
        files.append(info)
    check("unpacked_mb", total, f"{what}, inflated,")
    return files


def extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    """Stream one member to ``dest`` in 1 MB chunks (never the whole member in memory)."""
    with zf.open(info) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)


def open_zip(data: bytes | BinaryIO, what: str, hint: str) -> zipfile.ZipFile:
    """``zipfile.ZipFile`` over bytes or a file object; a one-line error when it is not a zip."""
    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DrvizError(f"{what} is not a zip file; {hint}") from None


# -- npz ------------------------------------------------------------------------------------
def npz_headers(data: bytes | BinaryIO, what: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{array name: (shape, dtype)}`` of an ``.npz``, read from each ``.npy`` header only.

    Raises DrvizError for a file that is not an npz, an array of Python objects (pickles), and
    arrays whose inflated bytes pass DRVIZ_MAX_UNPACKED_MB.
    """
    zf = open_zip(data, what, "save the arrays with numpy.savez")
    out, total = {}, 0
    with zf:
        for info in zip_members(zf, what):
            if not info.filename.endswith(".npy"):
                continue
            try:
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = {(1, 0): np.lib.format.read_array_header_1_0,
                              (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                    if reader is None:
                        raise ValueError(f"npy format {version}")
                    shape, _, dtype = reader(fh)
            except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
                raise DrvizError(f"{what}: {info.filename[:80]!r} is not a readable .npy array "
                                 f"({str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__})") from None
            if dtype.hasobject:
                raise DrvizError(f"{what}: {info.filename[:80]!r} holds Python objects, which drviz refuses "
                                 "(they can run code); save plain numbers")
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            total += nbytes
            check("unpacked_mb", nbytes, f"array {info.filename[:-4][:80]!r} in {what}")
            out[info.filename[:-4]] = (tuple(int(s) for s in shape), dtype)
    check("unpacked_mb", total, f"the arrays of {what}")
    return out


# -- CSV ------------------------------------------------------------------------------------
def check_csv(data: bytes, what: str, key_columns: int = 1) -> None:
    """Size, FoV columns (from the header line) and rows (counted lines) of an uploaded CSV.

    ``key_columns``: columns besides the FoVs that the table may hold (an image or index column).
    """
    check("upload_mb", len(data), what)
    first = data.split(b"\n", 1)[0]
    columns = first.count(b",") + 1
    cap = limit("fovs")
    if columns > cap + key_columns:
        raise DrvizError(f"{what} has {columns:,} columns, over the limit of {cap} FoV columns; "
                         f"the server's owner can raise it with {LIMITS['fovs'].env}")
    check("rows", max(data.count(b"\n") - 1, 0), f"{what}'s row count")


# -- images ---------------------------------------------------------------------------------
def open_image(data: bytes, what: str = "the upload"):
    """A Pillow image of uploaded bytes, decoded only after its header's size passed the cap.

    Raises DrvizError for unreadable bytes and for width x height over DRVIZ_MAX_IMAGE_PIXELS
    (also when Pillow's own bomb guard trips first: its error is turned into ours).
    """
    from PIL import Image, UnidentifiedImageError

    check("upload_mb", len(data), what)
    cap = limit("image_pixels")

    def too_big(pixels: int) -> DrvizError:
        return DrvizError(f"{what} is an image of {pixels:,} pixels, over the limit of {cap:,} pixels; "
                          f"the server's owner can raise it with {LIMITS['image_pixels'].env}")

    unreadable = DrvizError(f"{what} is not an image Pillow can read (use PNG or JPEG)")
    try:
        with warnings.catch_warnings():  # Pillow's own guard (above ours unless raised) is an error too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))  # "Image size (N pixels) exceeds limit ..."
        raise too_big(int(found.group(1)) if found else cap + 1) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise unreadable from None
    if img.width * img.height > cap:
        raise too_big(img.width * img.height)
    try:
        img.load()
    except (OSError, ValueError, SyntaxError):
        raise unreadable from None
    return img


__all__ = ["LIMITS", "MAX_ZIP_MEMBERS", "Limit", "check", "check_csv", "extract_member", "limit", "npz_headers",
           "open_image", "open_zip", "zip_members"]
