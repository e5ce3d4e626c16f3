"""A study expanded into jobs with dependencies, and what they cost.

Jobs (``Job``), with ids that name what they produce inside the study folder:
- ``train:<run>``: a source run ``runs/<dataset>-<method>-b<beta>-s<seed>``;
- ``transfer:<run>``: the source fine-tuned on a target, ``runs/<source>--<target>`` (waits for
  its source);
- ``evaluate:<run>@<dataset>``: one row of ``results.csv`` (waits for the run): each source on
  its own dataset (role ``source``) and on each target (``before``), each transfer on its target
  (``after``).
The order of ``expand``'s list is a topological order; ``levels`` groups it into waves whose jobs
only depend on earlier waves (what joblib runs; Dask follows the dependencies themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drviz.config import RunConfig
from drviz.study.spec import Study


@dataclass(frozen=True)
class Job:
    """One unit of work. ``config`` is the run's (train / transfer); ``dataset`` and ``role`` an
    evaluation's; ``deps`` the ids of the jobs it waits for."""

    id: str
    kind: str  # train | transfer | evaluate
    run: str
    deps: tuple[str, ...] = ()
    config: RunConfig | None = None
    dataset: str = ""
    role: str = ""  # source | before | after (evaluations)
    source: str = ""  # the source run (for every job of its lineage)
    target: str = ""  # the target dataset (transfers, before / after rows)

    @property
    def steps(self) -> int:
        return self.config.steps if self.config is not None else 0


def source_name(dataset: str, method: str, beta: float, seed: int) -> str:
    safe = dataset.replace(":", "_").replace("/", "_")
    return f"{safe}-{method}-b{beta:g}-s{seed}"


def transfer_name(source: str, target: str) -> str:
    return f"{source}--{target.replace(':', '_').replace('/', '_')}"


def expand(study: Study) -> list[Job]:
    """Every job of ``study``, dependencies first (see the module docstring)."""
    s, t = study.sources, study.transfers
    trains, transfers, evals = [], [], []
    for dataset in s.datasets:
        for method in s.methods:
            for beta in s.betas:
                for seed in s.seeds:
                    run = source_name(dataset, method, beta, seed)
                    cfg = RunConfig(dataset=dataset, method=method, beta=float(beta), latent_dim=s.latent_dim,
                                    steps=s.steps, batch_size=s.batch_size, lr=s.lr, seed=seed, k=s.k,
                                    kl_warmup=s.kl_warmup, checkpoint_every=s.checkpoint_every, precision=s.precision)
                    trains.append(Job(f"train:{run}", "train", run, config=cfg, source=run))
                    evals.append(Job(f"evaluate:{run}@{dataset}", "evaluate", run, (f"train:{run}",),
                                     dataset=dataset, role="source", source=run))
                    for target in t.targets:
                        tr = transfer_name(run, target)
                        # what training.transfer_config gives: the source's architecture and beta
                        tcfg = RunConfig(dataset=target, method=t.method, beta=float(beta), latent_dim=s.latent_dim,
                                         steps=t.steps, batch_size=t.batch_size or s.batch_size, lr=t.lr, seed=seed,
                                         init_from=run, checkpoint_every=min(s.checkpoint_every, t.steps),
                                         precision=s.precision)
                        transfers.append(Job(f"transfer:{tr}", "transfer", tr, (f"train:{run}",), config=tcfg,
                                             source=run, target=target))
                        evals.append(Job(f"evaluate:{run}@{target}", "evaluate", run, (f"train:{run}",),
                                         dataset=target, role="before", source=run, target=target))
                        evals.append(Job(f"evaluate:{tr}@{target}", "evaluate", tr, (f"transfer:{tr}",),
                                         dataset=target, role="after", source=run, target=target))
    return trains + transfers + evals


def levels(jobs: list[Job]) -> list[list[Job]]:
    """``jobs`` in waves: each job's dependencies all sit in earlier waves."""
    depth: dict[str, int] = {}
    for job in jobs:  # expand's order is topological
        depth[job.id] = 1 + max((depth[d] for d in job.deps), default=-1)
    waves: list[list[Job]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for job in jobs:
        waves[depth[job.id]].append(job)
    return waves


@dataclass(frozen=True)
class Cost:
    """Estimated seconds of one job (on one worker with ``threads`` threads)."""

    job: Job
    seconds: float


def estimate(jobs: list[Job], steps_per_s: Mapping[str, float], eval_s: float) -> list[Cost]:
    """Seconds per job: training steps over the measured steps/s of its method (``steps_per_s``:
    method -> steps per second, weak methods counting their pairs), evaluations ``eval_s`` each."""
    out = []
    for job in jobs:
        if job.kind == "evaluate":
            out.append(Cost(job, eval_s))
        else:
            out.append(Cost(job, job.steps / steps_per_s[job.config.method]))
    return out


KIND_ORDER = {"train": 0, "transfer": 1, "evaluate": 2}


def priority(job: Job) -> int:
    """Among jobs ready to start, trainings first, then transfers, then evaluations: the long
    jobs that unlock others start early, so no worker waits at the end."""
    return KIND_ORDER.get(job.kind, len(KIND_ORDER))


def wall_estimate(costs: list[Cost], workers: int) -> float:
    """Wall seconds on ``workers`` parallel workers, scheduled as the runners do: a job starts as
    soon as its dependencies are done and a worker is free, ready jobs by ``priority``."""
    seconds = {c.job.id: c.seconds for c in costs}
    waiting = [c.job for c in costs]  # expand's order is topological
    running: list[tuple[float, str]] = []  # (end time, job id)
    done: set[str] = set()
    now = 0.0
    while waiting or running:
        ready = sorted((j for j in waiting if set(j.deps) <= done), key=priority)
        for job in ready[:max(1, workers) - len(running)]:
            waiting.remove(job)
            running.append((now + seconds[job.id], job.id))
        if not running:  # a dependency outside ``costs``: nothing can start
            break
        running.sort()
        now, finished = running.pop(0)
        done.add(finished)
    return now


__all__ = ["Cost", "Job", "estimate", "expand", "levels", "priority", "source_name", "transfer_name", "wall_estimate"]
