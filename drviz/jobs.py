"""Background training jobs for the app: each job is a ``python -m drviz train`` subprocess.

A subprocess (rather than a thread in the server) survives Streamlit reruns and page switches,
never shares torch's thread pool with the server (it runs with one thread, docs/architecture.md), and two
browser sessions can each start one without clashing: every job gets its own run folder, with
- ``job.json``: pid and command (written by ``start_job``),
- ``progress.json``: live progress written by the trainer (``ProgressWriter``),
- ``job.log``: the trainer's output, whose last line explains a crash.
Cancelling sends SIGTERM (after checking that the pid is still this job's), which the trainer
turns into a cooperative stop with a checkpoint.

At most ``DRVIZ_MAX_JOBS`` jobs train at once (default: half the cores, at least one). A job over
the cap waits as ``queued`` for a slot: one of N lock files under ``<runs>/.jobs/``, held with
``flock`` for the job's lifetime, so a slot frees itself when its process ends, however it ends,
and no scheduler process is needed (jobs from several server processes share the slots).
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
from drviz import store
from drviz.config import RunConfig
from drviz.data import get_dataset
from drviz.errors import DrvizError

REPO = Path(__file__).resolve().parents[1]
FINAL = ("finished", "cancelled", "failed", "killed")
ACTIVE = ("queued", "running")
SLOTS_DIR = ".jobs"
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

    def queued(self) -> None:
        self._write("queued")

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
    state: str  # queued | running | finished | cancelled | failed | killed
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


def pid_alive(pid: object, marker: bytes | None = None) -> bool:
    """Process ``pid`` exists on this host and is not a zombie; with ``marker``, its command line
    also contains it (a pid reused by another program is not ours). Without /proc (not Linux),
    existence alone decides."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie of another parent still answers kill(0); its state follows the ")" of the name.
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return marker is None or marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return True


def _alive(path: Path, pid: int) -> bool:
    proc = _PROCS.get(str(path))
    if proc is not None:
        return proc.poll() is None
    return pid_alive(pid)


def start_job(config: RunConfig, name: str | None = None, root: Path | None = None) -> Path:
    """Validate ``config`` and start training it in the background; returns the new run folder.

    The app's jobs may train on a file dataset only inside ``DRVIZ_DATA_ROOT``
    (``drviz.archive.check_dataset_allowed``). Over the job cap the job waits as ``queued``.
    """
    from drviz.archive import check_dataset_allowed
    from drviz.training import check_compatible, default_run_name

    root = Path(root or ckpt.runs_root())
    check_dataset_allowed(config.dataset, trusted=False)
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
           "--threads", "1", "--progress-file", str(path / "progress.json"), "--queue", str(root / SLOTS_DIR)]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", DRVIZ_CHECKPOINTS=str(root))
    with open(path / "job.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _PROCS[str(path)] = proc
    ckpt.atomic_write_json(path / "job.json", {"pid": proc.pid, "command": cmd, "started": time.time()})
    return path


def max_jobs() -> int:
    """How many app jobs train at once: ``DRVIZ_MAX_JOBS``, default half the cores (at least one)."""
    from drviz.limits import limit

    return limit("jobs")


def wait_for_slot(slots: Path, cap: int, cancel, on_wait=None, poll_s: float = 1.0) -> int | None:
    """Hold one of ``cap`` job slots (lock files in ``slots``) for this process's lifetime.

    Returns the locked file descriptor (keep it open: closing it, or the process ending, frees the
    slot), or None when ``cancel`` (a ``threading.Event``) was set while waiting. ``on_wait()`` is
    called once before the first wait. Where ``fcntl`` is missing (Windows) there is no cap.
    """
    try:
        import fcntl
    except ImportError:
        return -1
    slots.mkdir(parents=True, exist_ok=True)
    waited = False
    while not cancel.is_set():
        for i in range(cap):
            fd = os.open(slots / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        cancel.wait(poll_s)
    return None


def _last_error_line(path: Path) -> str | None:
    """The trainer's ``error: ...`` line (the CLI prints one for every failure it catches), or None."""
    try:
        text = (path / "job.log").read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return None
    errors = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(("error:", "Traceback"))]
    if errors and errors[-1].startswith("Traceback"):
        return "the training process crashed; see job.log in the run folder"
    return errors[-1] if errors else None


def job_status(run_path: str | Path) -> JobStatus:
    """Where a background job stands (also for jobs started by another server process).

    A job whose process is gone without a final state ended either with an error (``failed``, its
    ``error:`` line) or without one (``killed``: by a signal, the OOM killer or a reboot).
    """
    path = Path(run_path)
    try:
        job = json.loads((path / "job.json").read_text())
        pid = int(job["pid"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise DrvizError(f"{path.name} was not started from the app (no job.json)") from None
    try:
        prog = json.loads((path / "progress.json").read_text())
    except (OSError, json.JSONDecodeError):
        prog = {}
    state = prog.get("state", "running")
    error = prog.get("error")
    if state in ACTIVE and not _alive(path, pid):
        error = _last_error_line(path)
        if error is not None:
            state = "failed"
        else:
            state = "killed"
            kept = "its last checkpoint is kept" if (path / "model.pt").exists() else "before its first checkpoint"
            error = f"the training process was killed (no error message); {kept}"
    total = int(prog.get("total") or _config_steps(path))
    return JobStatus(path.name, path, state, int(prog.get("step", 0)), total, prog.get("loss"), prog.get("recon"),
                     prog.get("kl"), prog.get("images_per_s"), prog.get("eta_s"), error, prog.get("history", []))


def _config_steps(path: Path) -> int:
    try:
        return int(json.loads((path / "job_config.json").read_text())["steps"])
    except (OSError, ValueError, KeyError):
        return 0


def _is_job_process(path: Path, pid: int) -> bool:
    """Whether ``pid`` is still this job's trainer (a pid can be reused by any process once the
    job has ended): its command line names the run folder."""
    proc = _PROCS.get(str(path))
    if proc is not None:
        return proc.pid == pid and proc.poll() is None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"drviz" in cmdline and str(path).encode() in cmdline


def cancel_job(run_path: str | Path) -> None:
    """Ask the job to stop; it saves a checkpoint at its current step and exits (a queued job
    just leaves the queue)."""
    path = Path(run_path)
    status = job_status(path)
    if status.state not in ACTIVE:
        return
    pid = int(json.loads((path / "job.json").read_text())["pid"])
    if not _is_job_process(path, pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def delete_run(run_path: str | Path) -> None:
    """Remove a run folder and its stored results (refused while its job is queued or running:
    cancel it first)."""
    path = Path(run_path)
    if (path / "job.json").exists():
        try:
            if job_status(path).state in ACTIVE:
                raise DrvizError(f"{path.name} is still training; cancel its job first")
        except DrvizError as exc:
            if "still training" in str(exc):
                raise
    ckpt.delete_run(path)
    store.clear_run(path)


def active_jobs(root: Path | None = None) -> list[JobStatus]:
    """Jobs under ``root`` that are queued or running (from any browser session)."""
    root = Path(root or ckpt.runs_root())
    out = []
    for job in sorted(root.glob("*/job.json")):
        try:
            status = job_status(job.parent)
        except DrvizError:
            continue
        if status.state in ACTIVE:
            out.append(status)
    return out
