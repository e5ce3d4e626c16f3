"""One study job, run in a worker process (a loky process of joblib, or a Dask worker).

Every job is idempotent and resumable, so that a job run twice (a lost Dask worker's task rerun,
a study restarted after Ctrl+C or ``kill -9``) neither loses work nor duplicates it:
- a train / transfer job whose run folder says ``finished`` at its step count is skipped; one
  with a ``train_state.pt`` resumes from it (``training.train(..., resume=True)``: at most one
  checkpoint interval is lost, and the weights end as an uninterrupted run's);
- an evaluation writes ``evals/<run>@<dataset>.json`` by an atomic rename once it is complete,
  and is skipped when that file exists; ``results.csv`` is rebuilt from those files, one row
  each, so a row can never appear twice;
- while it runs, a job holds an exclusive ``flock`` on ``locks/<job>.lock`` (a second copy of the
  same job waits, then finds the work done), and ``jobs/<job>.json`` records its state
  (running / done / failed), pid, host and times: what ``study status`` and the Study page show.
Workers share the study folder (one filesystem). Threads: torch's intra-op pool and the BLAS
pools (threadpoolctl) are set to ``threads``, so equal thread counts give equal numbers on
joblib and on Dask.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import time
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from drviz.atomic import atomic_write_json
from drviz.errors import DrvizError
from drviz.study.plan import Job
from drviz.study.spec import Evaluation

RUNS, EVALS, JOBS, LOCKS = "runs", "evals", "jobs", "locks"


def job_file_name(job_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in job_id)


def eval_path(study_dir: Path, job: Job) -> Path:
    return Path(study_dir) / EVALS / f"{job_file_name(job.run + '@' + job.dataset)}.json"


@lru_cache(maxsize=1)
def provenance() -> dict:
    """Host, drviz version and git commit (``unknown`` outside a git checkout)."""
    import drviz

    repo = Path(drviz.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, capture_output=True,
                                text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {"host": socket.gethostname(), "drviz_version": drviz.__version__, "git_commit": commit}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _record(study_dir: Path, job: Job, **state) -> None:
    atomic_write_json(Path(study_dir) / JOBS / f"{job_file_name(job.id)}.json",
                      {"id": job.id, "kind": job.kind, "updated": _now(), **state})


@contextlib.contextmanager
def _locked(study_dir: Path, job: Job):
    path = Path(study_dir) / LOCKS / f"{job_file_name(job.id)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released by the kernel however the process ends
        yield


def _set_threads(threads: int | None):
    """torch and BLAS pools at ``threads`` (None: one per core of this worker's share)."""
    import torch
    from threadpoolctl import threadpool_limits

    if threads is None:
        threads = 1
        with contextlib.suppress(ImportError, ValueError):
            from distributed import get_worker

            threads = max(1, (os.cpu_count() or 1) // max(1, get_worker().state.nthreads))
    torch.set_num_threads(threads)
    return threadpool_limits(threads), threads


def run_job(study_dir: str | Path, job: Job, evaluation: Evaluation, threads: int | None = None,
            *_deps) -> dict:
    """Run ``job`` inside ``study_dir`` (idempotent; see the module docstring).

    ``_deps``: the results of the jobs it waits for (Dask passes them to order the graph).
    Returns {"id", "status": done | skipped, "seconds"}; raises on failure (after recording it).
    """
    study_dir = Path(study_dir)
    start = time.time()
    with _locked(study_dir, job):
        limits, threads = _set_threads(threads)
        with limits:
            if _done(study_dir, job):
                _record(study_dir, job, state="done", skipped=True, pid=os.getpid(), **provenance())
                return {"id": job.id, "status": "skipped", "seconds": 0.0}
            _record(study_dir, job, state="running", pid=os.getpid(), started=_now(), threads=threads, **provenance())
            try:
                if job.kind == "evaluate":
                    _evaluate(study_dir, job, evaluation, threads)
                else:
                    _train(study_dir, job, threads)
            except BaseException as exc:
                _record(study_dir, job, state="failed", pid=os.getpid(), error=str(exc).splitlines()[0] if str(exc)
                        else type(exc).__name__, **provenance())
                raise
            seconds = time.time() - start
            _record(study_dir, job, state="done", pid=os.getpid(), seconds=round(seconds, 2), threads=threads,
                    **provenance())
    return {"id": job.id, "status": "done", "seconds": seconds}


def _done(study_dir: Path, job: Job) -> bool:
    if job.kind == "evaluate":
        return eval_path(study_dir, job).is_file()
    state = study_dir / RUNS / job.run / "state.json"
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return False
    return bool(data.get("finished")) and int(data.get("step", 0)) >= job.config.steps


def _train(study_dir: Path, job: Job, threads: int) -> None:
    from drviz.training import train

    runs = study_dir / RUNS
    out = runs / job.run
    resume = (out / "train_state.pt").is_file()
    res = train(job.config, out, resume=resume, threads=threads, root=runs, device="cpu" if _cpu_only() else None)
    if not res.finished:
        raise DrvizError(f"{job.run} stopped at step {res.step} of {job.config.steps}")


def _cpu_only() -> bool:
    return os.environ.get("DRVIZ_STUDY_DEVICE", "") == "cpu"


def elbo_terms(model, dataset, n: int, seed: int, device=None, batch_size: int = 256) -> dict:
    """Mean per-image negative ELBO (beta 1), reconstruction loss and KL of ``model`` on ``n``
    i.i.d. images of ``dataset`` (its own seeded stream). Returns {"elbo", "recon", "kl"} (nats)."""
    import torch

    from drviz.imaging import match_channels
    from drviz.models.objectives import bernoulli_recon, kl_to_prior

    rng = np.random.default_rng([seed, 16])
    factors = dataset.sample_factors(n, rng)
    dev = next(model.parameters()).device if device is None else torch.device(device)
    recon = kl = 0.0
    with torch.no_grad():
        for i in range(0, n, batch_size):
            x = torch.from_numpy(match_channels(dataset.render(factors[i:i + batch_size], rng), model.spec.channels)).to(dev)
            mu, logvar = model.encode(x)
            recon += float(bernoulli_recon(model.decode(mu), x).sum())
            kl += float(kl_to_prior(mu, logvar).sum())
    return {"elbo": (recon + kl) / n, "recon": recon / n, "kl": kl / n}


# registry score label -> results.csv column
SCORE_COLUMNS = {
    "OMES": "omes", "OS": "os", "MES": "mes", "DCI D": "dci", "DCI C": "dci_c", "DCI I": "dci_i", "MIG": "mig",
    "SAP": "sap", "Modularity": "modularity", "Explicitness": "explicitness", "InfoM": "infom", "InfoC": "infoc",
    "InfoE": "infoe", "BetaVAE": "betavae", "FactorVAE": "factorvae",
}


def _evaluate(study_dir: Path, job: Job, ev: Evaluation, threads: int) -> None:
    import dataclasses

    from drviz import checkpoints as ckpt
    from drviz import store
    from drviz.data import get_dataset
    from drviz.evaluation import default_pool, headline_scores, intervention_scores, score_representation
    from drviz.representations import encode_line_sampled
    from drviz.study.spec import INTERVENTION_METRICS, OTHER_METRICS

    t0 = time.time()
    run = ckpt.load_run(study_dir / RUNS / job.run, device="cpu" if _cpu_only() else None)
    ds = get_dataset(job.dataset)
    # The one store of computed results: the app's pages find these rows encoded already.
    rep = store.cached_representation(run.path, job.dataset, ev.n, ev.seed,
                                      lambda: encode_line_sampled(run.model, ds, ev.n, ev.seed))
    res = score_representation(rep, seed=ev.seed, n_train=ev.n_train, n_test=ev.n_test,
                               classifiers=tuple(ev.classifiers), n_jobs=threads,
                               others=any(m in ev.metrics for m in OTHER_METRICS), gbt_estimators=ev.gbt_estimators)
    wanted = tuple(m for m in INTERVENTION_METRICS if m in ev.metrics)
    if wanted:
        try:
            res = dataclasses.replace(res, **intervention_scores(run.model, ds, pool=default_pool(ev.n, ds),
                                                                 seed=ev.seed, which=wanted))
        except DrvizError as exc:
            res = dataclasses.replace(res, notes=res.notes + (f"BetaVAE / FactorVAE not measurable: {exc}",))
    res = dataclasses.replace(res, dataset=ds.name, representation=None)
    metrics = res.to_json(ev.alpha)
    if ev.pooling != "avg":  # the headline follows the study's pooling
        metrics["omes"]["omes"] = metrics["omes"][ev.pooling]["omes"]
    ckpt.save_metrics(run.path, metrics, job.dataset)
    losses = elbo_terms(run.model, ds, ev.elbo_images, ev.seed)
    scores = headline_scores(metrics)
    if ev.pooling != "avg":
        per = metrics["omes"][ev.pooling]["per_factor"]
        for label in ("OS", "MES"):
            vals = [f[label.lower()] for f in per.values() if f.get("measurable")]
            scores[label] = round(float(np.mean(vals)), 4) if vals else float("nan")
    down = res.downstream
    info = ckpt.read_run(run.path)
    cfg = info.config
    row = {
        "run": job.run, "source": job.source, "target": job.target or "", "method": cfg.method if job.role != "after"
        else ckpt.read_run(study_dir / RUNS / job.source).config.method,
        "beta": cfg.beta, "seed": cfg.seed, "dataset": job.dataset, "role": job.role,
        **{col: scores.get(label, float("nan")) for label, col in SCORE_COLUMNS.items()},
        **{f"{c}_{v}": (down.mean(f"{c}_{v}") if down.mean(f"{c}_{v}") is not None else float("nan"))
           for c in ("gbt", "mlp") for v in ("full", "pruned")},
        "elbo": losses["elbo"], "recon": losses["recon"], "kl": losses["kl"],
        "n": ev.n, "eval_seed": ev.seed, "alpha": ev.alpha, "pooling": ev.pooling,
        "steps": info.step, "precision": info.precision, "config": json.dumps(cfg.to_json(), sort_keys=True),
        "train_wall_s": round(ckpt.wall_seconds(ckpt.read_history(run.path)), 2),
        "eval_wall_s": round(time.time() - t0, 2), "threads": threads, **provenance(),
    }
    per_pool = metrics["omes"][ev.pooling]["per_factor"]
    fov = []
    for f in down.factors:
        o = per_pool.get(f.name, {})
        fov.append({"run": job.run, "dataset": job.dataset, "role": job.role, "source": job.source,
                    "method": row["method"], "seed": cfg.seed, "fov": f.name, "dim": f.dim,
                    "omes": o.get("omes"), "os": o.get("os"), "mes": o.get("mes"),
                    "gbt_full": f.gbt_full, "gbt_pruned": f.gbt_pruned, "mlp_full": f.mlp_full, "mlp_pruned": f.mlp_pruned})
    atomic_write_json(eval_path(study_dir, job), _jsonable({"row": row, "fov": fov}))


def _jsonable(obj):
    """NaN and inf as null (strict JSON)."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj


__all__ = ["SCORE_COLUMNS", "elbo_terms", "eval_path", "job_file_name", "provenance", "run_job"]
