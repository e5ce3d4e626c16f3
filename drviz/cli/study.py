"""CLI for studies: ``study run``, ``study status``, ``study plan``, ``study findings``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drviz.cli.types import float_in, int_in


def _resources(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"give resources as NAME=NUMBER[,NAME=NUMBER], e.g. GPU=1; got {text!r}") from None
        if not name.strip():
            raise argparse.ArgumentTypeError(f"a resource needs a name, e.g. GPU=1; got {text!r}")
    return out


def _rates(text: str) -> dict[str, float] | float:
    """One steps/s for every method, or METHOD=RATE pairs."""
    if "=" not in text:
        value = float_in(1e-6, 1e9)(text)
        return value
    rates = _resources(text)
    if any(not 0 < v <= 1e9 for v in rates.values()):
        raise argparse.ArgumentTypeError(f"rates must be positive steps/s; got {text!r}")
    return rates


def register(sub) -> None:
    p = sub.add_parser("study", help="declared grids of runs: train, transfer, evaluate (joblib or Dask)")
    ssub = p.add_subparsers(dest="study_command", required=True, metavar="ACTION")

    r = ssub.add_parser("run", help="run (or resume) a study file or preset; rows go to DIR/results.csv")
    r.add_argument("study", help="a study TOML file, or a preset name (studies/<name>.toml)")
    r.add_argument("--out", default=None, help="study folder (default studies/<name>/)")
    r.add_argument("--jobs", type=int_in(1, 1024), default=1,
                   help="joblib worker processes; the cores are split between them (default 1)")
    r.add_argument("--scheduler", default=None, metavar="local:N|tcp://HOST:PORT",
                   help="run on Dask: a LocalCluster of N workers, or an existing scheduler")
    r.add_argument("--resources", type=_resources, default=None, metavar="GPU=1",
                   help="Dask worker resources each job needs (e.g. GPU=1: one GPU per job)")
    r.add_argument("--queue", default=None, metavar="DIR",
                   help="wait for one of DRVIZ_MAX_JOBS slots (lock files in DIR) first (used by the app)")
    r.set_defaults(func=cmd_run)

    s = ssub.add_parser("status", help="done / running / pending jobs of a study folder")
    s.add_argument("dir", help="study folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    pl = ssub.add_parser("plan", help="a study's jobs and their cost estimated from steps/s measured here")
    pl.add_argument("study", help="a study TOML file or preset name")
    pl.add_argument("--jobs", type=int_in(1, 100_000), default=1, help="parallel workers for the wall-time estimate")
    pl.add_argument("--threads", type=int_in(1, 1024), default=1, help="torch threads per job while measuring (default 1)")
    pl.add_argument("--steps-per-s", type=_rates, default=None, metavar="RATE|METHOD=RATE,...",
                    help="training rates instead of measuring: one for every method, or per method "
                         "(e.g. ada_gvae=3.3,beta_vae=6.5; a GPU's)")
    pl.add_argument("--measure-steps", type=int_in(2, 100_000), default=20,
                    help="steps timed per method when measuring (after 3 warm-up steps; default 20)")
    pl.add_argument("--eval-s", type=float_in(0, 1e9), default=None,
                    help="seconds per evaluation instead of timing one")
    pl.add_argument("--list", action="store_true", help="one line per job")
    pl.set_defaults(func=cmd_plan)

    f = ssub.add_parser("findings", help="the paper's findings computed from a study's results.csv")
    f.add_argument("dir", help="study folder")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_findings)


def cmd_run(args) -> int:
    import signal
    import threading

    from tqdm import tqdm

    from drviz.study import load_study
    from drviz.study.plan import expand
    from drviz.study.runner import default_out, run_study

    study = load_study(args.study)
    out = Path(args.out) if args.out else default_out(study)
    if args.queue:
        from drviz.jobs import max_jobs, wait_for_slot

        cancel = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: cancel.set())
        try:
            if wait_for_slot(Path(args.queue), max_jobs(), cancel,
                             lambda: print(f"queued: waiting for one of {max_jobs()} job slots", flush=True)) is None:
                print("cancelled while queued; nothing was run")
                return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
    total = len(expand(study))
    where = args.scheduler or f"joblib, {args.jobs} job(s)"
    print(f"study {study.name}: {total} jobs -> {out} ({where})", flush=True)
    with tqdm(total=total, unit="job", dynamic_ncols=True) as bar:
        def on_event(e):
            bar.write(f"{e.result['status']:7} {e.job.id} ({e.result['seconds']:.1f} s)")
            bar.update(1)

        run_study(study, out, jobs=args.jobs, scheduler=args.scheduler, resources=args.resources, on_event=on_event)
    print(f"wrote {out / 'results.csv'}; `drviz study findings {out}` states the findings")
    return 0


def cmd_status(args) -> int:
    from collections import Counter

    from drviz.study.runner import progress_fraction, study_status

    states = study_status(args.dir)
    counts = Counter(s.state for s in states)
    if args.json:
        print(json.dumps({"counts": dict(counts), "progress": progress_fraction(states),
                          "jobs": [{"id": s.job.id, "state": s.state, **{k: s.detail[k] for k in ("step", "steps", "host")
                                                                         if k in s.detail}} for s in states]}, indent=2))
        return 0
    for s in states:
        extra = f" (step {s.detail['step']}/{s.detail['steps']})" if s.job.kind != "evaluate" and s.detail.get("steps") else ""
        err = f": {s.detail['error']}" if s.state == "failed" and s.detail.get("error") else ""
        print(f"{s.state:8} {s.job.id}{extra}{err}")
    print(f"{len(states)} jobs: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("done", "running", "failed", "pending"))
          + f"; {100 * progress_fraction(states):.0f}% of the work done")
    return 0


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def cmd_plan(args) -> int:
    from collections import defaultdict

    from drviz.errors import DrvizError
    from drviz.study import load_study
    from drviz.study.cost import Measured, measure
    from drviz.study.plan import estimate, expand, wall_estimate

    study = load_study(args.study)
    jobs = expand(study)
    methods = set(study.sources.methods) | ({study.transfers.method} if study.transfers.targets else set())
    given = None
    if args.steps_per_s is not None:
        given = args.steps_per_s if isinstance(args.steps_per_s, dict) else {k: args.steps_per_s for k in methods}
        missing = sorted(methods - set(given))
        if missing:
            raise DrvizError(f"--steps-per-s names no rate for {', '.join(missing)}")
    if given is not None and args.eval_s is not None:
        m = Measured(given, args.eval_s, args.threads, "rates given on the command line")
    else:
        print("measuring steps/s and one evaluation here ...", flush=True)
        m = measure(study, threads=args.threads, steps=args.measure_steps, eval_s=args.eval_s)
        if given is not None:
            m = Measured(given, m.eval_s, m.threads, m.note + "; steps/s given")
    costs = estimate(jobs, m.steps_per_s, m.eval_s)
    if args.list:
        for c in costs:
            print(f"{c.job.kind:9} {c.job.run + ('@' + c.job.dataset if c.job.kind == 'evaluate' else ''):70} "
                  f"{c.job.steps:>9,} steps  {_hours(c.seconds):>10}")
    by_kind = defaultdict(lambda: [0, 0, 0.0])
    for c in costs:
        k = by_kind[c.job.kind]
        k[0] += 1
        k[1] += c.job.steps
        k[2] += c.seconds
    print(f"study {study.name}: {study.description}")
    print("measured: " + ", ".join(f"{k} {v:.2f} steps/s" for k, v in sorted(m.steps_per_s.items()))
          + f", {m.eval_s:.1f} s per evaluation ({m.note})")
    for kind in ("train", "transfer", "evaluate"):
        if kind in by_kind:
            n, steps, sec = by_kind[kind]
            print(f"  {n:5} {kind:9} jobs  {steps:>13,} steps  {_hours(sec):>10} of one worker")
    total = sum(c.seconds for c in costs)
    print(f"total: {len(jobs)} jobs, {_hours(total)} of one worker; wall time on {args.jobs} worker(s): "
          f"{_hours(wall_estimate(costs, args.jobs))}")
    return 0


def cmd_findings(args) -> int:
    from drviz.study.results import findings, findings_json, load_results

    df, fov = load_results(args.dir)
    f = findings(df, fov)
    if args.json:
        print(json.dumps(findings_json(f), indent=2))
        return 0
    for line in f.lines:
        print(line)
    return 0
