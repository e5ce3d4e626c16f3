"""A study started from the app: ``python -m drviz study run`` as a subprocess, queued with the
app's training jobs (the same ``DRVIZ_MAX_JOBS`` flock slots, ``drviz.jobs``), its output in
``<study>/study.log`` and its pid in ``<study>/job.json``. Its progress is ``runner.study_status``
of the folder, so it shows the same whether this server, another one or a terminal started it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from drviz import checkpoints as ckpt
from drviz.atomic import atomic_write_json
from drviz.errors import DrvizError
from drviz.jobs import pid_alive
from drviz.study.spec import REPO, load_study, studies_root


def start_study(preset: str, out: str | Path | None = None, jobs: int = 1) -> Path:
    """Start ``drviz study run preset`` in the background (queued for a job slot); returns its folder."""
    from drviz.jobs import SLOTS_DIR

    study = load_study(preset)
    out = Path(out) if out is not None else studies_root() / study.name
    if study_running(out):
        raise DrvizError(f"study {study.name} is already running in {out}")
    out.mkdir(parents=True, exist_ok=True)
    slots = ckpt.runs_root() / SLOTS_DIR
    slots.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "drviz", "study", "run", str(study.source), "--out", str(out), "--jobs", str(jobs),
           "--queue", str(slots)]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(out / "study.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    atomic_write_json(out / "job.json", {"pid": proc.pid, "cmd": cmd})
    return out


def study_running(out: str | Path) -> bool:
    """A background study process started for ``out`` is alive."""
    try:
        pid = int(json.loads((Path(out) / "job.json").read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return pid_alive(pid, b"study")  # a pid reused by another program is not our study


def log_tail(out: str | Path, lines: int = 5) -> str:
    try:
        text = (Path(out) / "study.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(line.split("\r")[-1] for line in text.splitlines()[-lines:])


__all__ = ["log_tail", "start_study", "study_running"]
