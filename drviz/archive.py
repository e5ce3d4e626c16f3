"""Run folders as zip files: ``drviz export RUN --out RUN.zip``, ``drviz import RUN.zip`` and the
Models page's download and import, through one code path and the limits of ``drviz.limits``.

An import is foreign input. It is checked before anything is written (the zip's directory: paths,
member count, inflated sizes), extracted in 1 MB chunks into a hidden ``.import-*`` folder beside
the runs, validated like a new run (config, state, history, metrics, notes, weights loadable
without pickle, its dataset one this server may open, ``init_from`` a run name) and only then
renamed into place. A failure removes the folder; one left by a killed process is never listed
(hidden) and is removed by the next import once it is an hour old.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import BinaryIO

from drviz import checkpoints as ckpt
from drviz import limits
from drviz.errors import DrvizError

EXPORTED = ("model.pt", "config.json", "state.json", "history.csv", "metrics.json")
IMPORT_PREFIX = ".import-"
STALE_IMPORT_S = 3600
MAX_JSON_DEPTH = 16
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")


def export_zip(name_or_path: str | Path, root: Path | None = None) -> bytes:
    """The run folder as zip bytes (``<run>/<file>`` for each of EXPORTED that exists)."""
    path = ckpt.resolve_run(name_or_path, root)
    ckpt.read_run(path)  # a damaged run is not exported
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for fname in EXPORTED:
            if (path / fname).exists():
                zf.write(path / fname, f"{path.name}/{fname}")
    return buf.getvalue()


def clean_stale_imports(root: Path, max_age_s: float = STALE_IMPORT_S) -> int:
    """Remove ``.import-*`` folders older than ``max_age_s`` (left by a killed import); returns how many."""
    removed, now = 0, time.time()
    for tmp in Path(root).glob(IMPORT_PREFIX + "*"):
        try:
            if now - tmp.stat().st_mtime > max_age_s:
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def check_dataset_allowed(dataset: str, trusted: bool) -> None:
    """Refuse a dataset this server should not open for an outside run.

    Registered names are fine. A file dataset (``kind:PATH``) is allowed from outside only inside
    ``DRVIZ_DATA_ROOT`` (refused when it is unset); ``trusted`` (the owner, on the command line)
    takes any path. Messages never say whether a server path exists.
    """
    from drviz.data import DATASETS, FILE_LOADERS

    if dataset in DATASETS:
        return
    kind, sep, path = dataset.partition(":")
    if not sep or kind not in FILE_LOADERS:
        raise DrvizError(f"the run's dataset {dataset[:60]!r} is not one drviz knows; "
                         f"choose one of {', '.join(DATASETS)} or a {'/'.join(FILE_LOADERS)}:PATH file dataset")
    if trusted:
        return
    if not inside_data_root(path):
        raise DrvizError(f"the run trains on files ({kind}:...), which this server opens only inside the data "
                         "folder its owner set in DRVIZ_DATA_ROOT; import it with the CLI instead")


def inside_data_root(path: str) -> bool:
    """Whether ``path`` (resolved, symlinks followed) lies inside ``DRVIZ_DATA_ROOT``; False when unset."""
    from drviz.data.discovery import data_root

    root = data_root()
    if root is None or not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(Path(root).resolve())
    except (OSError, ValueError, RuntimeError):
        return False


def _check_tree(value, where: str, depth: int = 0) -> None:
    """A JSON value made of objects, lists and finite scalars, at most MAX_JSON_DEPTH deep."""
    if depth > MAX_JSON_DEPTH:
        raise DrvizError(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep; it is not drviz's")
    if isinstance(value, dict):
        for v in value.values():
            _check_tree(v, where, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_tree(v, where, depth + 1)
    elif not (value is None or isinstance(value, (str, bool, int, float))):
        raise DrvizError(f"{where} holds a value of type {type(value).__name__}")


def validate_run(path: Path, root: Path, trusted: bool = False) -> ckpt.RunInfo:
    """Check an unpacked run folder as if it were a new run; returns its description.

    Raises a one-line DrvizError for: config/state/metrics that are not typed as drviz writes them
    (``drviz.config.RunConfig`` and ``checkpoints.check_state`` ranges), a dataset this server may
    not open (``check_dataset_allowed``), an ``init_from`` that is not a run name, a history that is
    not numbers, and weights that do not load without pickle into the network config.json names.
    """
    from drviz.models import VAE

    info = ckpt.read_run(path)
    check_dataset_allowed(info.config.dataset, trusted)
    if info.config.init_from is not None and not _RUN_NAME.fullmatch(info.config.init_from):
        raise DrvizError("the run's init_from must name a run (a folder name such as color_dsprites-ada_gvae), "
                         "not a path")
    ckpt.read_history(path)
    if info.metrics is not None:
        _check_tree(info.metrics, "metrics.json")
    ckpt.load_weights(VAE(info.spec), ckpt.load_tensors(path / "model.pt"), "model.pt in the zip")
    return info


def import_zip(source: bytes | str | Path | BinaryIO, root: Path | None = None, name: str | None = None,
               trusted: bool = False) -> ckpt.RunInfo:
    """Add the run in a zip (bytes, a path or a file object) under ``root``; returns it.

    ``name``: the folder to create (default: the zip's top folder); a taken name gets ``-2``, ...
    ``trusted``: the owner on the command line, whose runs may train on any file dataset.
    Raises DrvizError (one line) for anything over ``drviz.limits`` or not a valid run; nothing is
    left behind then.
    """
    root = Path(root or ckpt.runs_root())
    what = "the zip"
    if isinstance(source, (str, Path)):
        try:
            limits.check("upload_mb", Path(source).stat().st_size, what)
        except OSError:
            raise DrvizError(f"cannot read {Path(source).name}: no such file") from None
        source = open(source, "rb")  # noqa: SIM115 - closed with the ZipFile below
    elif isinstance(source, bytes):
        limits.check("upload_mb", len(source), what)
    zf = limits.open_zip(source, what, "export a run with `drviz export` or the Models page's Download run (zip)")
    with zf:
        files: dict[str, zipfile.ZipInfo] = {}
        for item in limits.zip_members(zf, what):
            fname = Path(item.filename).name
            if fname not in EXPORTED:
                continue
            if fname in files:
                raise DrvizError(f"{what} holds two {fname}; export one run per zip")
            files[fname] = item
        missing = [f for f in ckpt.REQUIRED if f not in files]
        if missing:
            raise DrvizError(f"{what} lacks {', '.join(missing)}: it is not a drviz run folder")
        root.mkdir(parents=True, exist_ok=True)
        clean_stale_imports(root)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=IMPORT_PREFIX))
        try:
            for fname, item in files.items():
                limits.extract_member(zf, item, tmp / fname)
            validate_run(tmp, root, trusted)
            top = Path(files["model.pt"].filename).parts
            final = _move_in(tmp, root, name or (top[0] if len(top) > 1 else "imported"))
        except zipfile.BadZipFile:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DrvizError(f"{what} is damaged (a member fails its checksum); export the run again") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ckpt.read_run(final)


def _move_in(tmp: Path, root: Path, name: str) -> Path:
    """Rename ``tmp`` to a free run folder; two imports racing for one name each get their own."""
    for _ in range(100):
        final = ckpt.unique_run_path(root, name)
        try:
            os.rename(tmp, final)  # fails if ``final`` appeared meanwhile (non-empty) or is a file
            return final
        except OSError:
            if not final.exists():
                raise
    raise DrvizError(f"no free folder name for {name!r} under the runs folder")


__all__ = ["EXPORTED", "check_dataset_allowed", "clean_stale_imports", "export_zip", "import_zip",
           "inside_data_root", "validate_run"]
