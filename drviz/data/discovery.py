"""The owner's data folder (``DRVIZ_DATA_ROOT``) and the datasets found in it.

``data_root()`` reads the environment variable; ``discover(root)`` walks the folder a few levels
deep and returns a ``kind:PATH`` spec for every dataset it recognises, by names alone (no file is
opened, no image folder is listed in full), so it is cheap enough to run on every app rerun:

- ``3dshapes.h5`` (any ``*.h5`` / ``*.hdf5``) -> ``shapes3d_h5:``
- ``mpi3d_*.npz`` -> ``mpi3d_npz:``; ``dsprites*.npz`` -> ``dsprites_npz:``
- a folder with ``labels.npy`` and an ``images/`` folder (``Isaac3D_down128``) -> ``isaac3d:``
- a folder with ``classes.csv`` (Coil100-Augmented) -> ``coil100_augmented:``, or
  ``coil100_augmented_binary:`` when the folder's name says ``binary``
- a folder of ``obj<i>__<angle>.png`` -> ``coil100:``
- a folder with ``labels.csv`` -> ``folder:``
- an RGB-D Object tree (``category/instance/*_crop.png``) -> ``rgbd_objects:``

A recognised dataset folder is not searched further. Hidden entries are skipped.
"""

from __future__ import annotations

import os
import re
from itertools import islice
from pathlib import Path

ENV_VAR = "DRVIZ_DATA_ROOT"
MAX_DEPTH = 3  # levels below the root that are searched
PEEK = 64  # entries read from a folder when guessing its kind by a few file names

_COIL = re.compile(r"^obj\d+__\d+\.png$", re.IGNORECASE)


def data_root() -> Path | None:
    """The folder named by ``DRVIZ_DATA_ROOT``, resolved to an absolute path; None when unset or empty.

    The folder need not exist (``discover`` then finds nothing); callers that restrict file
    datasets to it compare resolved paths against this one.
    """
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    return Path(value).expanduser().resolve()


def _peek(folder: Path, n: int = PEEK) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return list(islice(it, n))
    except OSError:
        return []


def _folder_kind(folder: Path) -> str | None:
    """The loader kind of a folder, guessed from a few names in it; None when not a dataset."""
    if (folder / "labels.npy").is_file() and (folder / "images").is_dir():
        return "isaac3d"
    if (folder / "classes.csv").is_file():
        return "coil100_augmented_binary" if "binary" in folder.name.lower() else "coil100_augmented"
    if (folder / "labels.csv").is_file():
        return "folder"
    entries = _peek(folder)
    if any(e.is_file() and _COIL.match(e.name) for e in entries):
        return "coil100"
    # RGB-D Object tree: category/instance/<instance>_<video>_<frame>_crop.png
    for cat in (e for e in entries if e.is_dir() and not e.name.startswith(".")):
        for inst in (e for e in _peek(Path(cat.path), 8) if e.is_dir()):
            if any(e.name.endswith("_crop.png") for e in _peek(Path(inst.path))):
                return "rgbd_objects"
        break  # one category is enough to tell
    return None


def _file_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".h5", ".hdf5")):
        return "shapes3d_h5"
    if name.endswith(".npz"):
        if name.startswith("mpi3d"):
            return "mpi3d_npz"
        if name.startswith("dsprites"):
            return "dsprites_npz"
    return None


def discover(root: str | Path | None) -> list[str]:
    """``kind:PATH`` specs (absolute paths, sorted) of the datasets under ``root``.

    ``root`` None or not a folder gives an empty list. Names are matched, nothing is opened: a
    spec found here can still fail to open (the loader then says why).
    """
    if root is None:
        return []
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        return []
    found: list[str] = []

    def walk(folder: Path, depth: int) -> None:
        kind = _folder_kind(folder)
        if kind is not None:
            found.append(f"{kind}:{folder}")
            return
        if depth >= MAX_DEPTH:
            return
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if e.name.startswith("."):
                continue
            p = Path(e.path)
            if e.is_file():
                k = _file_kind(p)
                if k is not None:
                    found.append(f"{k}:{p}")
            elif e.is_dir(follow_symlinks=False):
                walk(p, depth + 1)

    walk(root, 0)
    return sorted(found)


__all__ = ["ENV_VAR", "data_root", "discover"]
