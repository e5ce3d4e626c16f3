"""Measured costs for ``study plan``: training steps per second and seconds per evaluation here.

A few steps of each method the study trains are timed on this machine (after warm-up steps, so
start-up does not count) at the study's batch size with ``threads`` torch threads, and the tiny
run they leave is evaluated once with the study's evaluation settings. The cost of every job is
then its steps over the measured rate (``plan.estimate``).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from drviz.config import RunConfig
from drviz.study.plan import Job
from drviz.study.spec import Study


@dataclass(frozen=True)
class Measured:
    """steps/s per method (method -> rate), seconds per evaluation, and how they were measured."""

    steps_per_s: dict[str, float]
    eval_s: float
    threads: int
    note: str


def measure(study: Study, *, threads: int = 1, warmup: int = 3, steps: int = 10, eval_s: float | None = None) -> Measured:
    """Time ``steps`` training steps of each method of ``study`` (after ``warmup``) and one evaluation."""
    import torch

    from drviz.study.execute import _evaluate
    from drviz.training import train

    s = study.sources
    methods = sorted(set(s.methods) | ({study.transfers.method} if study.transfers.targets else set()))
    rates: dict[str, float] = {}
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="drviz-plan-") as tmp:
        runs = Path(tmp) / "runs"
        last = None
        for method in methods:
            marks: dict[int, float] = {}
            cfg = RunConfig(dataset=s.datasets[0], method=method, beta=float(s.betas[0]), latent_dim=s.latent_dim,
                            steps=warmup + steps, batch_size=s.batch_size, lr=s.lr, seed=0, k=s.k,
                            checkpoint_every=warmup + steps, precision=s.precision)
            train(cfg, runs / method, threads=threads, log_every=1,
                  on_progress=lambda p: marks.__setitem__(p.step, time.perf_counter()))
            rates[method] = steps / max(marks[warmup + steps] - marks[warmup], 1e-9)
            last = method
        if eval_s is None:
            job = Job(f"evaluate:{last}@{s.datasets[0]}", "evaluate", last, dataset=s.datasets[0], role="source",
                      source=last)
            (Path(tmp) / "evals").mkdir()
            t0 = time.perf_counter()
            _evaluate(Path(tmp), job, study.evaluation, threads)
            eval_s = time.perf_counter() - t0
            how = "one evaluation timed"
        else:
            how = "evaluation seconds given"
    return Measured(rates, float(eval_s), threads,
                    f"{steps} steps per method timed after {warmup} warm-up steps, {threads} thread(s), "
                    f"batch {s.batch_size}, {s.precision}; {how}")


__all__ = ["Measured", "measure"]
