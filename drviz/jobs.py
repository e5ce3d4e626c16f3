"""Background training jobs for the app: each job is a ``python -m drviz train`` subprocess.

A subprocess (rather than a thread in the server) survives Streamlit reruns and page switches,
never shares torch's thread pool with the server (it runs with one thread, docs/architecture.md), and two
browser sessions can each start one without clashing: every job gets its own run folder, with
- ``job.json``: pid and command (written by ``start_job``),
- ``progress.json``: live progress written by the trainer (``ProgressWriter``),
- ``job.log``: the trainer's output, whose last line explains a crash.
Cancelling sends SIGTERM, which the trainer turns into a cooperative stop with a checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from drviz import checkpoints as ckpt
from drviz.config import RunConfig
from drviz.data import get_dataset
from drviz.errors import DrvizError

REPO = Path(__file__).resolve().parents[1]
FINAL = ("finished", "cancelled", "failed")
_PROCS: dict[str, subprocess.Popen] = {}  # jobs started by this process, reaped on status


class ProgressWriter:
    """Writes ``progress.json`` at most twice a second (and always at the end)."""

    def __init__(self, path: Path, min_interval: float = 0.5):
        self.path = Path(path)
        self.min_interval = min_interval
        self.history: list[dict] = []
        self._last_write = 0.0
        self._last = None

    def update(self, p) -> None:
        self._last = p
        self.history.append({"step": p.step, "loss": p.loss, "recon": p.recon, "kl": p.kl})
        now = time.monotonic()
        if now - self._last_write >= self.min_interval or p.step == p.total:
            self._write("running")
            self._last_write = now

    def finish(self, state: str, error: str | None = None) -> None:
        self._write(state, error)

    def _write(self, state: str, error: str | None = None) -> None:
        p = self._last
        data = {"state": state, "error": error, "history": self.history}
        if p is not None:
            data.update(step=p.step, total=p.total, loss=p.loss, recon=p.recon, kl=p.kl,
                        images_per_s=p.images_per_s, eta_s=0.0 if state in FINAL else p.eta_s)
        ckpt.atomic_write_json(self.path, data)


@dataclass(frozen=True)
class JobStatus:
    run: str
    path: Path
    state: str  # running | finished | cancelled | failed
    step: int
    total: int
    loss: float | None
    recon: float | None
    kl: float | None
    images_per_s: float | None
    eta_s: float | None
    error: str | None
    history: list[dict]

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


def _alive(path: Path, pid: int) -> bool:
    proc = _PROCS.get(str(path))
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of another parent still answers kill(0); its stat line says 'Z'.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def start_job(config: RunConfig, name: str | None = None, root: Path | None = None) -> Path:
    """Validate ``config`` and start training it in the background; returns the new run folder."""
    from drviz.training import check_compatible, default_run_name

    root = Path(root or ckpt.runs_root())
    check_compatible(config, get_dataset(config.dataset))  # fail here, in the page, not in the job
    if config.init_from:
        ckpt.read_run(config.init_from, root)
    root.mkdir(parents=True, exist_ok=True)
    while True:  # two sessions may pick the same free name at once: mkdir decides who gets it
        path = ckpt.unique_run_path(root, name or default_run_name(config))
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    ckpt.atomic_write_json(path / "job_config.json", config.to_json())
    cmd = [sys.executable, "-m", "drviz", "train", "--config", str(path / "job_config.json"), "--out", str(path),
           "--threads", "1", "--progress-file", str(path / "progress.json")]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", DRVIZ_CHECKPOINTS=str(root))
    with open(path / "job.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _PROCS[str(path)] = proc
    ckpt.atomic_write_json(path / "job.json", {"pid": proc.pid, "command": cmd, "started": time.time()})
    return path


def _last_error_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in (path / "job.log").read_text(errors="replace").replace("\r", "\n").splitlines() if ln.strip()]
    except OSError:
        return "the training process stopped without a message"
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or ["the training process stopped without a message"])[-1]


def job_status(run_path: str | Path) -> JobStatus:
    """Where a background job stands (also for jobs started by another server process)."""
    path = Path(run_path)
    try:
        job = json.loads((path / "job.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise DrvizError(f"{path.name} was not started from the app (no job.json)") from None
    try:
        prog = json.loads((path / "progress.json").read_text())
    except (OSError, json.JSONDecodeError):
        prog = {}
    state = prog.get("state", "running")
    error = prog.get("error")
    if state == "running" and not _alive(path, int(job["pid"])):
        state, error = "failed", _last_error_line(path)
    total = int(prog.get("total") or _config_steps(path))
    return JobStatus(path.name, path, state, int(prog.get("step", 0)), total, prog.get("loss"), prog.get("recon"),
                     prog.get("kl"), prog.get("images_per_s"), prog.get("eta_s"), error, prog.get("history", []))


def _config_steps(path: Path) -> int:
    try:
        return int(json.loads((path / "job_config.json").read_text())["steps"])
    except (OSError, ValueError, KeyError):
        return 0


def cancel_job(run_path: str | Path) -> None:
    """Ask the job to stop; it saves a checkpoint at its current step and exits."""
    status = job_status(run_path)
    if status.state != "running":
        return
    pid = int(json.loads((Path(run_path) / "job.json").read_text())["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def active_jobs(root: Path | None = None) -> list[JobStatus]:
    """Jobs under ``root`` that are still running (from any browser session)."""
    root = Path(root or ckpt.runs_root())
    out = []
    for job in sorted(root.glob("*/job.json")):
        try:
            status = job_status(job.parent)
        except DrvizError:
            continue
        if status.state == "running":
            out.append(status)
    return out
