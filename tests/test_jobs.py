"""The app's background jobs (issue 15): a cap on how many train at once (the rest queue), cancel
that checks the pid is still the job's, and a job killed without a message reported as killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from drviz import jobs
from drviz.config import RunConfig
from drviz.errors import DrvizError


def wait_until(predicate, timeout=120.0, poll=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_jobs_over_the_cap_queue_and_a_killed_job_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("DRVIZ_MAX_JOBS", "1")
    long = RunConfig(dataset="dsprites", steps=100_000, batch_size=8, checkpoint_every=5)
    short = RunConfig(dataset="dsprites", steps=4, batch_size=8, checkpoint_every=2)
    a = jobs.start_job(long, "long", root=tmp_path)
    # a holds the one slot once it trains (its first checkpoint written); b and c then wait in the queue
    wait_until(lambda: jobs.job_status(a).state == "running" and (a / "model.pt").exists(), timeout=180)
    b = jobs.start_job(short, "short", root=tmp_path)
    c = jobs.start_job(short, "cancelled-in-queue", root=tmp_path)
    wait_until(lambda: jobs.job_status(b).state == "queued" and jobs.job_status(c).state == "queued", timeout=120)
    assert jobs.job_status(a).state == "running"
    assert {s.run for s in jobs.active_jobs(tmp_path)} == {"long", "short", "cancelled-in-queue"}

    jobs.cancel_job(c)  # leaves the queue without training
    assert wait_until(lambda: jobs.job_status(c).state in jobs.FINAL) and jobs.job_status(c).state == "cancelled"
    assert not (c / "model.pt").exists()

    with pytest.raises(DrvizError, match="still training"):
        jobs.delete_run(a)
    os.kill(json.loads((a / "job.json").read_text())["pid"], signal.SIGKILL)  # frees the slot
    jobs._PROCS[str(a)].wait(30)
    killed = jobs.job_status(a)
    assert killed.state == "killed" and "killed" in killed.error and "checkpoint is kept" in killed.error

    assert wait_until(lambda: jobs.job_status(b).state in jobs.FINAL, timeout=180)
    assert jobs.job_status(b).state == "finished", jobs.job_status(b).error
    jobs.delete_run(a)
    assert not a.exists()


def test_cancel_never_signals_a_process_that_is_not_the_job(tmp_path):
    """The pid in job.json may belong to another process once the job has ended."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = tmp_path / "old-job"
        run.mkdir()
        (run / "job.json").write_text(json.dumps({"pid": other.pid, "command": []}))
        (run / "progress.json").write_text(json.dumps({"state": "running", "step": 3, "total": 10}))
        assert jobs.job_status(run).state == "running"  # the pid is alive ...
        jobs.cancel_job(run)  # ... but it is not this job's trainer
        time.sleep(0.3)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_job_that_died_with_an_error_reports_its_line(tmp_path):
    run = tmp_path / "crashed"
    run.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run / "job.json").write_text(json.dumps({"pid": dead.pid, "command": []}))
    (run / "job.log").write_text(" 10%|#  | 3/30 [00:01<00:09]\rerror: the dataset went away\n")
    status = jobs.job_status(run)
    assert status.state == "failed" and status.error == "error: the dataset went away"
    (run / "job.log").write_text(" 10%|#  | 3/30 [00:01<00:09]\r")
    status = jobs.job_status(run)
    assert status.state == "killed" and "before its first checkpoint" in status.error


def test_app_jobs_only_train_on_files_inside_the_data_root(tmp_path, monkeypatch):
    monkeypatch.delenv("DRVIZ_DATA_ROOT", raising=False)
    with pytest.raises(DrvizError, match="DRVIZ_DATA_ROOT"):
        jobs.start_job(RunConfig(dataset=f"folder:{tmp_path}"), root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
