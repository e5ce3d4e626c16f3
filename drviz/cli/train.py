"""CLI for the learning stage: ``train``, ``transfer`` (with ``--resume`` and ``--init-from``), ``runs``."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from drviz.cli.types import int_in
from drviz.config import LR_SCHEDULES, METHODS, PRECISIONS


# Flags that map onto RunConfig fields. Their argparse default is None ("not given"), so that a
# resume or a continuation changes only what was asked for; RunConfig holds the real defaults.
_FIELDS = {"steps": int, "batch_size": int, "lr": float, "seed": int, "kl_warmup": int, "grad_clip": float,
           "checkpoint_every": int, "precision": str, "lr_schedule": str, "plateau_every": int,
           "plateau_patience": int, "plateau_factor": float}
_SOURCE_FIELDS = {"dataset": str, "method": str, "beta": float, "latent_dim": int, "width": int, "k": int}


def _add_training_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="total steps the run ends at (default 2000)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="Adam learning rate (train: 5e-4, transfer: 1e-4, the paper's)")
    p.add_argument("--seed", type=int)
    p.add_argument("--kl-warmup", type=int, help="steps over which beta ramps up from 0")
    p.add_argument("--grad-clip", type=float, help="max gradient norm (0: off)")
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--precision", choices=PRECISIONS,
                   help="auto (bf16 autocast where the device supports it, else fp32), fp32 or bf16")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, help="constant (default) or plateau (reduce-on-plateau)")
    p.add_argument("--plateau-every", type=int, help="steps per loss window the plateau schedule compares (1000)")
    p.add_argument("--plateau-patience", type=int, help="windows without improvement before the lr drops (5)")
    p.add_argument("--plateau-factor", type=float, help="lr multiplier at a plateau (0.5)")
    p.add_argument("--out", help="run folder (default: checkpoints/<generated name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint (its settings; --steps may extend it)")
    p.add_argument("--threads", type=int_in(1, 1024), default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--progress-file", default=None, help="also write live progress as JSON here (used by the app)")
    p.add_argument("--queue", default=None, metavar="DIR",
                   help="wait for one of DRVIZ_MAX_JOBS slots (lock files in DIR) before training (used by the app)")


def _given(args, fields: dict) -> dict:
    return {name: getattr(args, name) for name in fields if getattr(args, name, None) is not None}


def register(sub) -> None:
    p = sub.add_parser("train", help="train a source VAE on a dataset")
    p.add_argument("--dataset", help="dataset name (see `python -m drviz datasets`)")
    p.add_argument("--config", help="a RunConfig JSON file; replaces the other settings (used by the app)")
    p.add_argument("--init-from", help="continue this run's weights under new settings (a branch; fresh optimizer)")
    p.add_argument("--method", help=f"one of {', '.join(METHODS)} (default beta_vae)")
    p.add_argument("--beta", type=float, help="KL weight (default 1)")
    p.add_argument("--latent-dim", type=int, help="default 10")
    p.add_argument("--width", type=int, help="channel multiplier (default 1)")
    p.add_argument("--k", type=int, help="factors redrawn per weak pair (default 1)")
    _add_training_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("transfer", help="fine-tune a source run on a target dataset (unsupervised by default)")
    p.add_argument("--source", required=True, help="source run name or folder")
    p.add_argument("--target", required=True, help="target dataset")
    p.add_argument("--method", help="beta_vae (default), or a weak method if the target has labels")
    p.add_argument("--beta", type=float, help="default: the source's beta")
    _add_training_args(p)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("runs", help="list runs with their config and headline numbers")
    p.add_argument("--root", default=None, help="runs folder (default: checkpoints/)")
    p.add_argument("--markdown", action="store_true", help="a markdown table (what checkpoints/README.md shows)")
    p.set_defaults(func=cmd_runs)


def _run(config, args) -> int:
    import signal
    import threading

    from tqdm import tqdm

    from drviz.checkpoints import runs_root
    from drviz.jobs import ProgressWriter
    from drviz.training import default_run_name, train

    from drviz.data import get_dataset
    from drviz.training import check_compatible

    check_compatible(config, get_dataset(config.dataset))  # fail before drawing a progress bar
    out = Path(args.out) if args.out else runs_root() / default_run_name(config)
    bar = None  # created at the first report, so that a resumed run's rate counts from its start step
    writer = ProgressWriter(Path(args.progress_file)) if args.progress_file else None
    # SIGTERM (the app's Cancel) and Ctrl+C stop cooperatively: the run saves a checkpoint first.
    cancel = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: cancel.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    if args.queue:
        from drviz.jobs import max_jobs, wait_for_slot

        on_wait = writer.queued if writer else (lambda: print(f"queued: waiting for one of {max_jobs()} job slots"))
        if wait_for_slot(Path(args.queue), max_jobs(), cancel, on_wait) is None:
            if writer:
                writer.finish("cancelled")
            print("cancelled while queued; nothing was trained")
            return 0

    def on_progress(p):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=config.steps, initial=p.start, unit="step", dynamic_ncols=True)
        bar.n = p.step
        bar.set_postfix(loss=f"{p.loss:.1f}", kl=f"{p.kl:.1f}", img_s=f"{p.images_per_s:.0f}", refresh=False)
        bar.refresh()
        if writer:
            writer.update(p)

    try:
        result = train(config, out, resume=args.resume, on_progress=on_progress, cancel=cancel,
                       device=args.device, threads=args.threads)
    except Exception as exc:
        if writer:
            writer.finish("failed", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    finally:
        if bar is not None:
            bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if writer:
        writer.finish("cancelled" if result.cancelled else "finished")
    if result.cancelled:
        print(f"cancelled at step {result.step}; continue with --resume --out {out}")
    last = result.history[-1] if result.history else {}
    print(f"run {out} at step {result.step}: loss {last.get('loss', float('nan')):.2f} "
          f"(recon {last.get('recon', float('nan')):.2f}, kl {last.get('kl', float('nan')):.2f})")
    return 0


def _resume_config(args):
    """With --resume: the run folder's own config, with only the flags given changed."""
    from drviz.checkpoints import read_config
    from drviz.errors import DrvizError

    if not args.out:
        raise DrvizError("--resume needs --out RUN_FOLDER (the run to continue)")
    saved = read_config(Path(args.out))[0]
    return replace(saved, **_given(args, _FIELDS), **_given(args, _SOURCE_FIELDS))


def cmd_train(args) -> int:
    from drviz.config import RunConfig
    from drviz.errors import DrvizError
    from drviz.training import continue_config

    if args.resume:
        return _run(_resume_config(args), args)
    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DrvizError(f"cannot read --config {args.config}: {exc}") from None
        return _run(RunConfig.from_json(data), args)
    given = {**_given(args, _SOURCE_FIELDS), **_given(args, _FIELDS)}
    if args.init_from:
        return _run(continue_config(args.init_from, **given), args)
    if not args.dataset:
        raise DrvizError("give --dataset (or --config FILE, or --init-from RUN)")
    return _run(RunConfig(**given), args)


def cmd_transfer(args) -> int:
    from drviz.training import transfer_config

    if args.resume:
        return _run(_resume_config(args), args)
    config = transfer_config(args.source, args.target, method=args.method or "beta_vae", beta=args.beta)
    config = replace(config, **_given(args, _FIELDS))
    print(f"transfer {args.source} -> {args.target} ({config.method}, beta {config.beta}, lr {config.lr})")
    return _run(config, args)


def cmd_runs(args) -> int:
    from drviz.checkpoints import list_runs, read_history, runs_root, wall_seconds
    from drviz.evaluation import headline_scores

    root = Path(args.root) if args.root else runs_root()
    runs = list_runs(root)
    if not runs:
        print(f"no runs under {root}; train one with `drviz train --dataset color_dsprites`")
        return 0
    rows = []
    for r in runs:
        c = r.config
        scores = headline_scores(r.metrics)
        loss = r.state.get("loss")
        rows.append({
            "run": r.name, "dataset": c.dataset, "method": c.method, "beta": f"{c.beta:g}",
            "step": f"{r.step}/{c.steps}", "prec": r.precision,
            "wall": f"{wall_seconds(read_history(r.path)) / 3600:.1f}h",
            "loss": f"{loss:.1f}" if isinstance(loss, (int, float)) and not isinstance(loss, bool) else "",
            **{k: f"{scores[k]:.3f}" if k in scores else "" for k in ("OMES", "OS", "MES", "DCI D", "MIG")},
            "from": (f"{c.init_from} at {c.init_step}" if c.continued else c.init_from) or "",
        })
    columns = list(rows[0])
    if args.markdown:
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for row in rows:
            print("| " + " | ".join(f"`{v}`" if k == "run" else v for k, v in row.items()) + " |")
        return 0
    widths = {k: max(len(k), *(len(row[k]) for row in rows)) for k in columns}
    right = {"beta", "step", "wall", "loss", "OMES", "OS", "MES", "DCI D", "MIG"}
    cell = lambda k, v: v.rjust(widths[k]) if k in right else v.ljust(widths[k])  # noqa: E731
    header = " ".join(cell(k, k) for k in columns)
    print(header.rstrip())
    print("-" * len(header.rstrip()))
    for row in rows:
        print(" ".join(cell(k, v) for k, v in row.items()).rstrip())
    return 0
