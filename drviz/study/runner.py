"""Run a study's jobs on joblib (this machine) or Dask distributed (a cluster), and say where it stands.

- **joblib** (loky processes, the default): ``jobs`` worker processes with the cores split between
  them (threads per job = cores // jobs). joblib's ``Parallel`` knows no dependencies between
  tasks, so the jobs go to its process pool (loky's executor) one by one: each starts when its
  dependencies are done and a worker is free, trainings first (``plan.priority``).
- **Dask** (``scheduler="local:N"`` starts a loopback ``LocalCluster`` of N single-threaded worker
  processes; ``"tcp://HOST:PORT"`` uses a running scheduler): one future per job, each depending
  on its dependencies' futures, so a transfer starts the moment its source is trained. A lost
  worker's task is rerun by the scheduler (the jobs are idempotent: ``drviz.study.execute``).
  ``resources`` (e.g. ``{"GPU": 1}``) is asked of a worker per job.
Either way the study folder holds ``study.toml`` (the file it runs), ``runs/``, ``evals/``,
``jobs/``, and ``results.csv`` / ``results_fov.csv``, rebuilt after every evaluation.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drviz.errors import DrvizError
from drviz.jobs import pid_alive
from drviz.study.execute import EVALS, JOBS, RUNS, eval_path, job_file_name, run_job
from drviz.study.plan import Job, expand, priority
from drviz.study.results import write_results
from drviz.study.spec import Study, parse_study, studies_root


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_out(study: Study) -> Path:
    return studies_root() / study.name


def prepare(study: Study, out: Path) -> None:
    """Create ``out`` with a copy of the study file; refuse a folder that holds another study."""
    out.mkdir(parents=True, exist_ok=True)
    copy = out / "study.toml"
    if copy.is_file():
        held = parse_study(copy.read_text(), study.name, copy)
        if held.to_json() != study.to_json():
            raise DrvizError(f"{out} holds another study ({held.name}, different settings); "
                             "pick another --out or delete that folder")
    elif study.source is not None and study.source.resolve() != copy.resolve():
        shutil.copyfile(study.source, copy)
    else:
        raise DrvizError("a study built in code needs its TOML file: write it and load_study(file)")
    for sub in (RUNS, EVALS, JOBS):
        (out / sub).mkdir(exist_ok=True)


@dataclass(frozen=True)
class Event:
    """A finished job as the runner reports it: its result ({"status", "seconds"}) and counts."""

    job: Job
    result: dict
    done: int
    total: int


def run_study(study: Study, out: str | Path | None = None, *, jobs: int = 1, scheduler: str | None = None,
              resources: dict[str, float] | None = None, on_event: Callable[[Event], None] | None = None,
              timeout_s: float | None = None) -> Path:
    """Run every job of ``study`` in ``out`` (default ``studies/<name>/``) and write its results.

    Args:
        jobs: joblib worker processes (ignored with ``scheduler``).
        scheduler: None (joblib), ``"local:N"`` or a Dask scheduler address ``tcp://HOST:PORT``.
        resources: Dask worker resources each job needs (e.g. {"GPU": 1}).
        on_event: called in this process after every job.
        timeout_s: Dask only: give up (DrvizError) when the study is not done by then.
    Returns the study folder. Raises DrvizError when a job fails (the others' work is kept).
    """
    out = Path(out) if out is not None else default_out(study)
    prepare(study, out)
    plan = expand(study)
    if scheduler:
        _run_dask(study, out, plan, scheduler, resources, on_event, timeout_s)
    else:
        _run_joblib(study, out, plan, jobs, on_event)
    write_results(out)
    return out


def _run_joblib(study: Study, out: Path, plan: list[Job], jobs: int, on_event) -> None:
    """Jobs on joblib's process pool (loky), each started as soon as its dependencies are done and
    a worker is free (ready jobs by ``plan.priority``): no worker waits for a wave's slowest job."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import get_reusable_executor

    if not 1 <= jobs <= 1024:
        raise DrvizError(f"--jobs must be between 1 and 1024; got {jobs}")
    threads = max(1, cores() // jobs)
    executor = get_reusable_executor(max_workers=jobs)
    waiting, running, finished = list(plan), {}, set()
    try:
        while waiting or running:
            ready = sorted((j for j in waiting if set(j.deps) <= finished), key=priority)
            for job in ready[:jobs - len(running)]:
                waiting.remove(job)
                running[executor.submit(run_job, str(out), job, study.evaluation, threads)] = job
            completed, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in completed:
                job = running.pop(future)
                result = future.result()  # a failed job raises here; finished jobs' work is kept
                finished.add(job.id)
                _after(out, job, result, len(finished), len(plan), on_event)
    except BaseException:
        executor.shutdown(wait=False, kill_workers=True)  # Ctrl+C or a failure: stop the other jobs now
        raise


def _after(out: Path, job: Job, result: dict, done: int, total: int, on_event) -> None:
    if job.kind == "evaluate" and result["status"] == "done":
        write_results(out)
    if on_event is not None:
        on_event(Event(job, result, done, total))


def _run_dask(study: Study, out: Path, plan: list[Job], scheduler: str, resources, on_event, timeout_s) -> None:
    import contextlib

    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise DrvizError("--scheduler needs dask and distributed (pip install -r requirements.txt)") from None

    with contextlib.ExitStack() as stack:
        if scheduler.startswith("local:"):
            try:
                n = int(scheduler.split(":", 1)[1])
            except ValueError:
                n = 0
            if not 1 <= n <= 256:
                raise DrvizError(f"--scheduler local:N needs N workers in [1, 256]; got {scheduler!r}")
            cluster = stack.enter_context(LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                       host="127.0.0.1", dashboard_address=None,
                                                       resources=resources or None))
            client = stack.enter_context(Client(cluster))
            threads = max(1, cores() // n)
        elif scheduler.startswith("tcp://"):
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except OSError as exc:
                raise DrvizError(f"no Dask scheduler answers at {scheduler}: {exc}") from None
            threads = None  # each worker: its cores over its task slots (execute._set_threads)
        else:
            raise DrvizError(f"--scheduler must be local:N or tcp://HOST:PORT; got {scheduler!r}")
        futures = {}
        for job in plan:  # topological: dependencies are submitted first
            futures[job.id] = client.submit(run_job, str(out), job, study.evaluation, threads,
                                            *(futures[d] for d in job.deps), key=f"drviz-{job.id}-{os.getpid()}",
                                            pure=False, retries=2, resources=resources or None)
        by_key = {f.key: jid for jid, f in futures.items()}
        jobs_by_id = {j.id: j for j in plan}
        done = 0
        try:
            for future in as_completed(list(futures.values()), timeout=timeout_s):
                result = future.result()
                done += 1
                _after(out, jobs_by_id[by_key[future.key]], result, done, len(plan), on_event)
        except TimeoutError:
            raise DrvizError(f"the study was not done after {timeout_s:g} s; run it again to resume") from None


# -- where a study stands ---------------------------------------------------------------------
@dataclass(frozen=True)
class JobState:
    job: Job
    state: str  # done | running | failed | pending
    detail: dict


def study_status(out: str | Path) -> list[JobState]:
    """Every job of the study in ``out`` with its state: done (its output exists), running (a
    live process holds it), failed, or pending; a job whose process died reads as pending."""
    out = Path(out)
    copy = out / "study.toml"
    if not copy.is_file():
        raise DrvizError(f"{out} is not a study folder (no study.toml); run `drviz study run` first")
    study = parse_study(copy.read_text(), out.name, copy)
    states = []
    for job in expand(study):
        try:
            detail = json.loads((out / JOBS / f"{job_file_name(job.id)}.json").read_text())
        except (OSError, ValueError):
            detail = {}
        if job.kind == "evaluate":
            finished = eval_path(out, job).is_file()
        else:
            try:
                s = json.loads((out / RUNS / job.run / "state.json").read_text())
                finished = bool(s.get("finished")) and int(s.get("step", 0)) >= job.steps
                detail = {**detail, "step": s.get("step", 0), "steps": job.steps}
            except (OSError, ValueError):
                finished = False
        if finished:
            state = "done"
        elif detail.get("state") == "running" and _alive(detail):
            state = "running"
        elif detail.get("state") == "failed":
            state = "failed"
        else:
            state = "pending"
        states.append(JobState(job, state, detail))
    return states


def _alive(detail: dict) -> bool:
    """A running job's process still exists (on this host; another host's job is trusted)."""
    import socket

    if detail.get("host") not in (None, socket.gethostname()):
        return True
    return pid_alive(detail.get("pid"))


def progress_fraction(states: list[JobState]) -> float:
    """Work done in [0, 1]: finished jobs, plus the trained fraction of running runs' steps."""
    if not states:
        return 0.0
    total = 0.0
    for s in states:
        if s.state == "done":
            total += 1
        elif s.job.kind != "evaluate" and s.detail.get("steps"):
            total += min(1.0, float(s.detail.get("step", 0)) / float(s.detail["steps"]))
    return total / len(states)


__all__ = ["Event", "JobState", "cores", "default_out", "prepare", "progress_fraction", "run_study", "study_status"]
