"""CLI for the learning stage: ``train``, ``transfer``, ``runs``, ``recon``, ``traverse``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from drviz.config import METHODS


def _add_training_args(p: argparse.ArgumentParser, *, source: bool) -> None:
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=None if not source else 64)
    p.add_argument("--lr", type=float, default=5e-4 if source else 1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kl-warmup", type=int, default=0, help="steps over which beta ramps up from 0")
    p.add_argument("--grad-clip", type=float, default=0.0, help="max gradient norm (0: off)")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--out", help="run folder (default: checkpoints/<generated name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--progress-file", default=None, help="also write live progress as JSON here (used by the app)")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a source VAE on a dataset")
    p.add_argument("--dataset", help="dataset name (see `python -m drviz datasets`)")
    p.add_argument("--config", help="a RunConfig JSON file; replaces the other settings (used by the app)")
    p.add_argument("--method", default="beta_vae", help=f"one of {', '.join(METHODS)}")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--width", type=int, default=1)
    p.add_argument("--k", type=int, default=1, help="factors redrawn per weak pair")
    _add_training_args(p, source=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("transfer", help="fine-tune a source run on a target dataset (unsupervised by default)")
    p.add_argument("--source", required=True, help="source run name or folder")
    p.add_argument("--target", required=True, help="target dataset")
    p.add_argument("--method", default="beta_vae", help="beta_vae (default), or a weak method if the target has labels")
    p.add_argument("--beta", type=float, default=None, help="default: the source's beta")
    _add_training_args(p, source=False)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("runs", help="list runs with their config and headline numbers")
    p.add_argument("--root", default=None, help="runs folder (default: checkpoints/)")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("recon", help="originals (top) vs reconstructions (bottom) as a PNG")
    p.add_argument("run")
    p.add_argument("--dataset", default=None, help="default: the run's dataset")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_recon)

    p = sub.add_parser("traverse", help="traversal grid of every latent dim as a PNG")
    p.add_argument("run")
    p.add_argument("--dataset", default=None, help="dataset of the anchor image (default: the run's)")
    p.add_argument("--steps", type=int, default=9)
    p.add_argument("--limit", type=float, default=2.0, help="traverse each dim over [-limit, limit]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_traverse)


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
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    signal.signal(signal.SIGINT, lambda *_: cancel.set())

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
    if writer:
        writer.finish("cancelled" if result.cancelled else "finished")
    if result.cancelled:
        print(f"cancelled at step {result.step}; continue with --resume --out {out}")
    last = result.history[-1] if result.history else {}
    print(f"run {out} at step {result.step}: loss {last.get('loss', float('nan')):.2f} "
          f"(recon {last.get('recon', float('nan')):.2f}, kl {last.get('kl', float('nan')):.2f})")
    return 0


def cmd_train(args) -> int:
    from drviz.config import RunConfig
    from drviz.errors import DrvizError

    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DrvizError(f"cannot read --config {args.config}: {exc}") from None
        return _run(RunConfig.from_json(data), args)
    if not args.dataset:
        raise DrvizError("give --dataset (or --config FILE)")
    config = RunConfig(
        dataset=args.dataset, method=args.method, beta=args.beta, latent_dim=args.latent_dim, width=args.width,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, k=args.k,
        kl_warmup=args.kl_warmup, grad_clip=args.grad_clip, checkpoint_every=args.checkpoint_every,
    )
    return _run(config, args)


def cmd_transfer(args) -> int:
    from dataclasses import replace

    from drviz.training import transfer_config

    config = transfer_config(args.source, args.target, steps=args.steps, lr=args.lr, method=args.method,
                             seed=args.seed, batch_size=args.batch_size, beta=args.beta)
    config = replace(config, kl_warmup=args.kl_warmup, grad_clip=args.grad_clip, checkpoint_every=args.checkpoint_every)
    print(f"transfer {args.source} -> {args.target} ({config.method}, beta {config.beta}, lr {config.lr})")
    return _run(config, args)


def cmd_runs(args) -> int:
    from drviz.checkpoints import list_runs, runs_root

    root = Path(args.root) if args.root else runs_root()
    runs = list_runs(root)
    if not runs:
        print(f"no runs under {root}; train one with `python -m drviz train --dataset color_dsprites`")
        return 0
    header = f"{'run':34} {'dataset':22} {'method':12} {'beta':>5} {'dim':>4} {'step':>12} {'loss':>9} {'OMES':>7}  source"
    print(header)
    print("-" * len(header))
    for r in runs:
        c = r.config
        omes = (r.metrics or {}).get("omes", {})
        omes_val = omes.get("avg", {}).get("omes") if isinstance(omes.get("avg"), dict) else omes.get("avg")
        loss = r.state.get("loss")
        print(f"{r.name[:34]:34} {c.dataset[:22]:22} {c.method:12} {c.beta:5g} {c.latent_dim:4d} "
              f"{r.step:>6}/{c.steps:<5} {loss if loss is None else f'{loss:9.1f}':>9} "
              f"{'' if omes_val is None else f'{omes_val:7.3f}':>7}  {c.init_from or ''}")
    return 0


def _anchor_images(run, dataset: str | None, n: int, seed: int):
    import numpy as np

    from drviz.data import get_dataset
    from drviz.errors import DrvizError

    ds = get_dataset(dataset or run.config.dataset)
    if ds.image_shape[0] != run.info.spec.channels:
        raise DrvizError(
            f"{ds.name} has {ds.image_shape[0]} channels but run {run.name} takes {run.info.spec.channels}; "
            "pick a dataset with matching channels"
        )
    rng = np.random.default_rng(seed)
    return ds.sample(n, rng)[0]


def cmd_recon(args) -> int:
    import numpy as np

    from drviz.checkpoints import load_run
    from drviz.imaging import save_png, tile
    from drviz.inspect import reconstruct

    run = load_run(args.run, device="cpu")
    images = _anchor_images(run, args.dataset, args.n, args.seed)
    grid = np.stack([images, reconstruct(run.model, images)])
    save_png(tile(grid), args.out, scale=2)
    print(f"wrote {args.out}: originals (top) and reconstructions (bottom) of {args.n} images")
    return 0


def cmd_traverse(args) -> int:
    from drviz.checkpoints import load_run
    from drviz.imaging import save_png, tile
    from drviz.inspect import encode, traversal_values, traverse

    run = load_run(args.run, device="cpu")
    images = _anchor_images(run, args.dataset, 1, args.seed)
    z0 = encode(run.model, images)[0][0]
    grid = traverse(run.model, z0, values=traversal_values(args.steps, args.limit))
    save_png(tile(grid), args.out, scale=2)
    print(f"wrote {args.out}: one row per latent dim (0..{len(z0) - 1}), {args.steps} steps over +-{args.limit}")
    return 0
