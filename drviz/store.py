"""One store of computed results, shared by the app's sessions, studies and the explorer.

Encoding thousands of images and fitting classifiers are the slow parts of everything drviz shows;
their results depend only on *what* was computed, so they are computed once and kept on disk:

- a **key** holds the run (its folder, resolved) and its weights' version (``model.pt``'s mtime
  and size: a run still training gets new entries as it writes new weights), the dataset, n, the
  seed, any further parameters, and the **definition version** of what is stored
  (``DEFINITIONS``: bump an entry when a metric's definition changes, so stored scores never go
  stale silently; not the git commit, so a refactor keeps them);
- **values** are arrays (``.npz``, loaded with pickles disabled) or JSON objects, written to a
  temporary name and renamed (``drviz.atomic``), so concurrent sessions and workers never read
  half a file and the last writer wins with an identical value;
- entries live under ``$DRVIZ_CACHE_DIR/results/<run>-<hash of its folder>/``: ``clear_run``
  drops a run's entries (the Models page does it when it deletes a run), and a run's folder stays
  exactly what training wrote.

``Representation``s (encoded, line-sampled rows) are the shared entry: the app's OMES explorer,
transfer view and latent maps read the same one, and a study's evaluation finds it there.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drviz.atomic import atomic_write_bytes
from drviz.data.cache import cache_dir
from drviz.errors import DrvizError

# What is stored -> its definition version. Bump one when its computation changes meaning.
DEFINITIONS: dict[str, int] = {
    "representation": 1,  # evaluation.encode_labelled: line-sampled rows, encoder means
    "scores": 1,  # evaluation.score_representation's JSON (OMES, DCI, MIG, accuracies)
    "omes": 1, "dci": 1, "mig": 1, "accuracy": 1,
    "betavae": 1, "factorvae": 1, "sap": 1, "modularity": 1, "infomec": 1,
}


def results_dir() -> Path:
    return cache_dir() / "results"


def _weights_version(run_path: Path) -> str:
    try:
        st = (Path(run_path) / "model.pt").stat()
    except OSError:
        raise DrvizError(f"{Path(run_path).name} has no model.pt; nothing to compute for it") from None
    return f"{st.st_mtime_ns}-{st.st_size}"


def run_slot(run_path: str | Path) -> str:
    """The folder name of a run's entries: its name and a hash of its resolved path (two runs
    with one name in two roots never share entries)."""
    path = Path(run_path).resolve()
    return f"{path.name[:80]}-{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class Key:
    """What identifies a stored result (see the module docstring)."""

    run: Path
    version: str
    what: str
    dataset: str
    n: int
    seed: int
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, run_path: str | Path, what: str, dataset: str, n: int, seed: int, **params) -> "Key":
        if what not in DEFINITIONS:
            raise DrvizError(f"unknown stored result {what!r}; add it to drviz.store.DEFINITIONS")
        run = Path(run_path)
        return cls(run, _weights_version(run), what, str(dataset), int(n), int(seed), tuple(sorted(params.items())))

    def digest(self) -> str:
        body = json.dumps([self.version, self.what, DEFINITIONS[self.what], self.dataset, self.n, self.seed,
                           [list(p) for p in self.params]], default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:24]

    def path(self, suffix: str) -> Path:
        return results_dir() / run_slot(self.run) / f"{self.what}-{self.digest()}.{suffix}"


# -- arrays and JSON --------------------------------------------------------------------------
def get_arrays(key: Key) -> dict[str, np.ndarray] | None:
    """The stored arrays of ``key``, or None (absent or unreadable: it is recomputed)."""
    path = key.path("npz")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError):
        return None


def put_arrays(key: Key, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(_ready(key.path("npz")), buf.getvalue())


def get_json(key: Key) -> dict | None:
    try:
        data = json.loads(key.path("json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def put_json(key: Key, data: dict) -> None:
    atomic_write_bytes(_ready(key.path("json")), json.dumps(data).encode())


def _ready(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def cached_json(key: Key, compute: Callable[[], dict]) -> dict:
    """``compute()``'s JSON object, stored under ``key`` the first time."""
    data = get_json(key)
    if data is None:
        data = compute()
        put_json(key, data)
    return data


# -- representations --------------------------------------------------------------------------
def cached_representation(run_path: str | Path, dataset: str, n: int, seed: int,
                          compute: Callable[[], "Representation"]) -> "Representation":  # noqa: F821
    """The representation of (run, dataset, n, seed): read from the store, else ``compute()``d
    and stored. ``compute`` is e.g. ``lambda: evaluation.encode_labelled(model, dataset, n, seed)``."""
    from drviz.representations import Representation

    key = Key.of(run_path, "representation", dataset, n, seed)
    arrays = get_arrays(key)
    if arrays is not None and {"mean", "factors", "factor_names"} <= set(arrays):
        return Representation(arrays["mean"], arrays.get("sampled"), arrays["factors"],
                              tuple(str(s) for s in arrays["factor_names"]),
                              description=str(arrays["description"]) if "description" in arrays else "",
                              notes=tuple(str(s) for s in arrays.get("notes", ())))
    rep = compute()
    arrays = {"mean": np.asarray(rep.mean, np.float32), "factors": np.asarray(rep.factors, np.int64),
              "factor_names": np.asarray(rep.factor_names, dtype=str), "description": np.asarray(rep.description),
              "notes": np.asarray(rep.notes, dtype=str)}
    if rep.sampled is not None:
        arrays["sampled"] = np.asarray(rep.sampled, np.float32)
    put_arrays(key, arrays)
    return rep


# -- housekeeping -----------------------------------------------------------------------------
def clear_run(run_path: str | Path) -> int:
    """Drop every stored result of a run (all weights versions); returns the bytes freed."""
    folder = results_dir() / run_slot(run_path)
    freed = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return freed


__all__ = ["DEFINITIONS", "Key", "cached_json", "cached_representation", "clear_run", "get_arrays", "get_json",
           "put_arrays", "put_json", "results_dir", "run_slot"]
