"""Self-describing run folders: ``checkpoints/<run>/``.

A run folder holds
- ``model.pt``: the weights, a plain ``state_dict`` (loaded with ``weights_only=True``, so a
  pickle smuggled inside is refused, never executed);
- ``config.json``: ``{"config": RunConfig, "model": ModelSpec, "notes": [...], "precision": ...}``,
  enough to rebuild the network with no other file (as nanoGPT's checkpoints); ``precision`` is
  the resolved one (``config.precision`` may say ``auto``; runs older than the key read as fp32);
- ``state.json``: progress (step, finished, cancelled, last losses);
- ``history.csv``: the loss history; ``metrics.json`` once evaluated;
- ``train_state.pt``: weights + optimizer (+ lr scheduler) + step, for ``--resume``.
Every file is written to a temporary file in the same folder and renamed over the target, so a
crash (even ``kill -9``) leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from drviz.atomic import atomic_write, atomic_write_bytes, atomic_write_json
from drviz.config import RunConfig
from drviz.errors import DrvizError
from drviz.models import VAE, ModelSpec

REQUIRED = ("model.pt", "config.json")
HISTORY_COLUMNS = ("step", "loss", "recon", "kl", "lr", "images_per_s", "elapsed_s")


def runs_root() -> Path:
    """Where runs live: ``$DRVIZ_CHECKPOINTS`` or the repository's ``checkpoints/``."""
    env = os.environ.get("DRVIZ_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "checkpoints"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# -- atomic writes (drviz.atomic) ---------------------------------------------------------
def atomic_torch_save(obj, path: Path) -> None:
    atomic_write(path, lambda fh: torch.save(obj, fh))


def write_history(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def read_history(run_path: Path) -> list[dict]:
    """The loss history as a list of rows (floats); empty when the run has none yet."""
    path = Path(run_path) / "history.csv"
    if not path.exists():
        return []
    try:
        with open(path, newline="") as fh:  # older runs lack some columns: empty cells are dropped
            rows = [{k: float(v) for k, v in row.items() if k in HISTORY_COLUMNS and v not in ("", None)}
                    for row in csv.DictReader(fh)]
        return [{**row, "step": int(row["step"])} for row in rows]
    except (ValueError, KeyError, TypeError, OverflowError, csv.Error, UnicodeDecodeError):
        raise DrvizError(f"{Path(run_path).name}/history.csv is damaged: every cell must be a number "
                         f"under the header {','.join(HISTORY_COLUMNS)}") from None


def wall_seconds(history: list[dict]) -> float:
    """Training wall time summed over sessions: ``elapsed_s`` restarts at every (re)start, so
    each drop closes a session. A continuation's history includes its parent's time."""
    total = last = 0.0
    for row in history:
        elapsed = float(row.get("elapsed_s", 0.0))
        if elapsed < last:
            total += last
        last = elapsed
    return total + last


# -- safe loading -------------------------------------------------------------------------
def load_tensors(path: Path) -> dict:
    """``torch.load`` with pickles disabled, mapping every failure to a one-line DrvizError."""
    path = Path(path)
    if not path.is_file():
        raise DrvizError(f"{path} not found: a run folder needs model.pt (train or import a run)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only refuses globals (classes, functions): that is a smuggled object, while a
        # damaged file fails to parse at all ("invalid load key", ...).
        if "global" not in str(exc).lower():
            raise DrvizError(f"{path} is truncated or corrupt: re-export it or retrain the run") from None
        raise DrvizError(
            f"{path.name} contains pickled Python objects, which drviz refuses to load "
            "(they can run code); save a plain state_dict instead"
        ) from None
    except Exception:  # torch raises many types on damaged bytes (RuntimeError, EOFError, struct.error, ...)
        raise DrvizError(f"{path} is truncated or corrupt: re-export it or retrain the run") from None
    if not isinstance(obj, dict):
        raise DrvizError(f"{path.name} does not hold a state_dict (a dict of tensors)")
    return obj


MAX_JSON_BYTES = 4 * 2**20  # config, state and metrics are a few KB; a bigger file is not ours


def _read_json(path: Path, what: str) -> dict:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise DrvizError(f"{path.parent.name}/{path.name} is over {MAX_JSON_BYTES >> 20} MB; "
                             "it is not a drviz run file")
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DrvizError(f"{path.parent.name or path}: no {what} in the run folder; is it a drviz run?") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, OSError):
        raise DrvizError(f"{path.parent.name}/{path.name} is not valid JSON; the run folder is damaged") from None
    if not isinstance(data, dict):
        raise DrvizError(f"{path.parent.name}/{path.name} must hold a JSON object")
    return data


MAX_STEP = 10**9
MAX_NOTES, MAX_NOTE_CHARS = 64, 2000


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_state(state: dict, where: str) -> dict:
    """``state.json``'s content, type-checked: ``step``/``steps`` integers in [0, 1e9], the flags
    booleans, the losses finite numbers (or null). Raises a one-line DrvizError naming the field."""
    for key in ("step", "steps"):
        if key in state and not (isinstance(state[key], int) and not isinstance(state[key], bool)
                                 and 0 <= state[key] <= MAX_STEP):
            raise DrvizError(f"{where}: state.json's {key!r} must be an integer in [0, {MAX_STEP:,}]")
    for key in ("finished", "cancelled"):
        if key in state and not isinstance(state[key], bool):
            raise DrvizError(f"{where}: state.json's {key!r} must be true or false")
    for key in ("loss", "recon", "kl", "lr", "images_per_s"):
        if state.get(key) is not None and not _finite(state[key]):
            raise DrvizError(f"{where}: state.json's {key!r} must be a finite number")
    for key, value in state.items():
        if isinstance(value, (dict, list)):
            raise DrvizError(f"{where}: state.json's {key!r} must be a single value")
    return state


def _check_notes(notes, where: str) -> list[str]:
    if not isinstance(notes, list) or len(notes) > MAX_NOTES or not all(
            isinstance(n, str) and len(n) <= MAX_NOTE_CHARS for n in notes):
        raise DrvizError(f"{where}: config.json's 'notes' must be a list of at most {MAX_NOTES} texts")
    return notes


def _parse_config(data: dict, path: Path) -> tuple[RunConfig, ModelSpec, list[str], str]:
    """config.json's content -> (config, spec, notes, resolved precision; fp32 for older runs)."""
    where = path.parent.name
    if "config" not in data or "model" not in data:
        raise DrvizError(f"{where}: config.json lacks 'config' or 'model'; is it a drviz run?")
    if not isinstance(data["model"], dict):
        raise DrvizError(f"{where}: config.json's 'model' must be a JSON object")
    try:
        spec = ModelSpec(**data["model"])
    except TypeError as exc:
        raise DrvizError(f"{where}: config.json has a malformed model spec: {exc}") from None
    precision = data.get("precision", "fp32")
    precision = precision if precision in ("fp32", "bf16") else "fp32"
    notes = _check_notes(data.get("notes", []), where)
    return RunConfig.from_json(data["config"]), spec, list(notes), precision


def read_config(run_path: Path) -> tuple[RunConfig, ModelSpec, list[str]]:
    path = Path(run_path) / "config.json"
    return _parse_config(_read_json(path, "config.json"), path)[:3]


def write_config(run_path: Path, config: RunConfig, spec: ModelSpec, notes: list[str], precision: str) -> None:
    """``precision``: the resolved one (fp32 or bf16), kept beside the requested ``config.precision``."""
    atomic_write_json(Path(run_path) / "config.json",
                      {"config": config.to_json(), "model": spec.to_json(), "notes": notes, "precision": precision})


def read_precision(run_path: Path) -> str:
    """The precision a run trains in (fp32 for runs made before precision was recorded)."""
    path = Path(run_path) / "config.json"
    return _parse_config(_read_json(path, "config.json"), path)[3]


def load_weights(model: VAE, state: dict, source: str) -> None:
    """Load a state_dict, explaining architecture / latent-size mismatches in one line."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise DrvizError(
            f"{source} is not a drviz VAE checkpoint for this architecture "
            f"({len(missing)} missing, {len(unexpected)} unexpected weights, e.g. {(missing or unexpected)[0]})"
        )
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.shape != own[key].shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise DrvizError(
                f"{source}: weight {key} has shape {shape}, the model expects {tuple(own[key].shape)} "
                f"(a different latent size, width or channel count than config.json says)"
            )
    model.load_state_dict(state)


# -- runs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunInfo:
    """A run folder's description, without its weights."""

    name: str
    path: Path
    config: RunConfig
    spec: ModelSpec
    notes: tuple[str, ...]
    state: dict
    metrics: dict | None
    precision: str = "fp32"

    @property
    def finished(self) -> bool:
        return bool(self.state.get("finished"))

    @property
    def step(self) -> int:
        return int(self.state.get("step", 0))


@dataclass(frozen=True)
class Run:
    """A loaded run: its description and the network, in eval mode."""

    info: RunInfo
    model: VAE
    device: torch.device

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def config(self) -> RunConfig:
        return self.info.config


def resolve_run(name_or_path: str | Path, root: Path | None = None) -> Path:
    """A run folder from a name under ``root`` or a path."""
    p = Path(name_or_path)
    candidates = [p] if p.is_absolute() else [(root or runs_root()) / p, p]
    for c in candidates:
        if c.is_dir():
            return c
    raise DrvizError(f"run {str(name_or_path)!r} not found under {root or runs_root()}; `python -m drviz runs` lists them")


def run_ref(info: "RunInfo", root: Path | None = None) -> str:
    """How a new run names ``info`` as its ``init_from``: the name under the runs root, else the path."""
    inside = info.path.resolve().parent == Path(root or runs_root()).resolve()
    return info.name if inside else str(info.path.resolve())


def read_run(name_or_path: str | Path, root: Path | None = None) -> RunInfo:
    path = resolve_run(name_or_path, root)
    config, spec, notes, precision = _parse_config(_read_json(path / "config.json", "config.json"), path / "config.json")
    state = _read_json(path / "state.json", "state.json") if (path / "state.json").exists() else {}
    check_state(state, path.name)
    metrics = _read_json(path / "metrics.json", "metrics.json") if (path / "metrics.json").exists() else None
    return RunInfo(path.name, path, config, spec, tuple(notes), state, metrics, precision)


def load_run(name_or_path: str | Path, device: str | torch.device | None = None, root: Path | None = None) -> Run:
    """Rebuild a run's network from its folder alone and load its weights safely."""
    info = read_run(name_or_path, root)
    model = VAE(info.spec)
    load_weights(model, load_tensors(info.path / "model.pt"), f"{info.name}/model.pt")
    dev = torch.device(device) if device is not None else default_device()
    return Run(info, model.to(dev).eval(), dev)


@dataclass(frozen=True)
class DamagedRun:
    """A run folder that cannot be read, and why (one line)."""

    name: str
    path: Path
    reason: str


def scan_runs(root: Path | None = None) -> tuple[list[RunInfo], list[DamagedRun]]:
    """Every run folder under ``root`` (one with ``model.pt``), sorted by name: the usable runs,
    and the damaged ones with their reason. One bad folder never hides the others. Hidden
    folders (``.import-*``: imports being checked) are never runs."""
    root = Path(root or runs_root())
    runs, damaged = [], []
    for path in sorted(p for p in root.glob("*") if not p.name.startswith(".") and (p / "model.pt").exists()):
        try:
            runs.append(read_run(path))
        except DrvizError as exc:
            damaged.append(DamagedRun(path.name, path, str(exc)))
    return runs, damaged


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every usable run under ``root``, sorted by name (``scan_runs`` also gives the damaged ones)."""
    return scan_runs(root)[0]


_LINEAGE_NOTE = re.compile(r"(?:continued|initialised) from (\S+) at step \d+")


def lineage(info: RunInfo, root: Path | None = None) -> list[str]:
    """Run names from the original source to this run (``init_from`` chain).

    Where a run of the chain is gone (an intermediate branch retired), its ancestors come from the
    lineage notes that every branch and transfer inherits from its source.
    """
    chain, seen = [info.name], {info.name}
    current = info
    while current.config.init_from:
        name = Path(current.config.init_from).name
        chain.insert(0, name)
        if name in seen:
            break
        seen.add(name)
        try:
            current = read_run(current.config.init_from, root)
        except DrvizError:
            named = [m.group(1) for note in current.notes if (m := _LINEAGE_NOTE.match(note))]
            # the last lineage note names ``name`` itself; the ones before it, its ancestors in order
            older = [Path(n).name for n in named[:-1] if Path(n).name not in seen]
            chain[:0] = list(dict.fromkeys(older))
            break
    return chain


def save_checkpoint(run_path: Path, weights: dict, train_state: dict, history: list[dict], state: dict) -> None:
    """A training checkpoint: ``train_state.pt`` (what ``--resume`` reads: weights, optimizer,
    step, ...), ``model.pt`` (the plain weights), ``history.csv`` and ``state.json``, each atomic."""
    run_path = Path(run_path)
    atomic_torch_save(train_state, run_path / "train_state.pt")
    atomic_torch_save(weights, run_path / "model.pt")
    write_history(run_path / "history.csv", history)
    atomic_write_json(run_path / "state.json", state)


def load_train_state(run_path: Path) -> dict:
    """``train_state.pt`` of a run in progress (pickles disabled), for ``--resume``."""
    path = Path(run_path) / "train_state.pt"
    if not path.exists():
        raise DrvizError(f"nothing to resume in {run_path}: no train_state.pt (start the run without --resume)")
    state = load_tensors(path)
    if "model" not in state or "optimizer" not in state or "step" not in state:
        raise DrvizError(f"{path} lacks model, optimizer or step: it is not a drviz training state")
    return state


def metrics_file(run_path: Path, dataset: str | None = None) -> Path:
    """Where a run's scores live: ``metrics.json`` on its own dataset (the headline every list
    shows), ``metrics-<dataset>.json`` on another one (a source scored on a transfer target)."""
    run_path = Path(run_path)
    if dataset is None or dataset == read_config(run_path)[0].dataset:
        return run_path / "metrics.json"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset)
    return run_path / f"metrics-{safe}.json"


def save_metrics(run_path: Path, data: dict, dataset: str | None = None) -> Path:
    """Write ``data`` to :func:`metrics_file` atomically, stamped with the step of the weights it
    scores (``"step"``, from ``state.json``) so that readers can tell stale scores; returns the path."""
    path = metrics_file(run_path, dataset)
    state = _read_json(Path(run_path) / "state.json", "state.json") if (Path(run_path) / "state.json").exists() else {}
    atomic_write_json(path, {**data, "step": int(state.get("step", 0))})
    return path


def read_metrics(run_path: Path, dataset: str | None = None) -> dict | None:
    """The run's stored scores on ``dataset`` (its own by default), or None when there are none,
    they are unreadable, or they score older weights than the run's current ones (their
    ``"step"`` stamp differs from ``state.json``'s; files from before the stamp are trusted)."""
    try:
        path = metrics_file(run_path, dataset)
        if not path.exists():
            return None
        data = _read_json(path, path.name)
        state = _read_json(Path(run_path) / "state.json", "state.json") if (Path(run_path) / "state.json").exists() else {}
    except DrvizError:
        return None
    if not isinstance(data, dict) or ("step" in data and data["step"] != state.get("step", data["step"])):
        return None
    return data


def unique_run_path(root: Path, name: str) -> Path:
    """A free folder under ``root`` for a run called ``name``: unsafe characters replaced, at most
    80 characters, ``-2``, ``-3``, ... appended when taken."""
    base = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("._")[:80] or "run"
    path, i = root / base, 2
    while path.exists():
        path, i = root / f"{base}-{i}", i + 1
    return path


def delete_run(name_or_path: str | Path, root: Path | None = None) -> None:
    shutil.rmtree(resolve_run(name_or_path, root))
