"""CLI for looking at a model: ``recon`` (originals vs reconstructions) and ``traverse`` (every
latent dim traversed), as PNGs. A dataset with another channel count than the run's is adapted
as the app does it (``drviz.data.channels.with_channels``: gray repeated, colour averaged)."""

from __future__ import annotations

from drviz.cli.types import float_in, int_in, seed


def register(sub) -> None:
    p = sub.add_parser("recon", help="originals (top) vs reconstructions (bottom) as a PNG")
    p.add_argument("run")
    p.add_argument("--dataset", default=None, help="default: the run's dataset")
    p.add_argument("--n", type=int_in(1, 256), default=10, help="images (1-256; default 10)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--scale", type=int_in(1, 16), default=2, help="enlarge the PNG by this integer factor (default 2)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_recon)

    p = sub.add_parser("traverse", help="traversal grid of every latent dim as a PNG")
    p.add_argument("run")
    p.add_argument("--dataset", default=None, help="dataset of the anchor image (default: the run's)")
    p.add_argument("--steps", type=int_in(2, 64), default=9, help="values per dim (2-64; default 9)")
    p.add_argument("--limit", type=float_in(0, 10, open_low=True), default=2.0, help="traverse each dim over [-limit, limit]")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--scale", type=int_in(1, 16), default=2, help="enlarge the PNG by this integer factor (default 2)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_traverse)


def _anchor_images(run, dataset: str | None, n: int, seed: int):
    import sys

    import numpy as np

    from drviz.data import get_dataset
    from drviz.data.channels import with_channels

    ds = get_dataset(dataset or run.config.dataset)
    channels = run.info.spec.channels
    if ds.image_shape[0] != channels:
        print(f"note: {ds.name} has {ds.image_shape[0]} channels, run {run.name} takes {channels}: "
              f"images {'repeated to colour' if channels == 3 else 'averaged to gray'}", file=sys.stderr)
    return with_channels(ds, channels).sample(n, np.random.default_rng(seed))[0]


def cmd_recon(args) -> int:
    import numpy as np

    from drviz.checkpoints import load_run
    from drviz.imaging import save_png, tile
    from drviz.inspection import reconstruct

    run = load_run(args.run, device="cpu")
    images = _anchor_images(run, args.dataset, args.n, args.seed)
    grid = np.stack([images, reconstruct(run.model, images)])
    path = save_png(tile(grid), args.out, scale=args.scale)
    print(f"wrote {path}: originals (top) and reconstructions (bottom) of {args.n} images")
    return 0


def cmd_traverse(args) -> int:
    from drviz.checkpoints import load_run
    from drviz.imaging import save_png, tile
    from drviz.inspection import encode, traversal_values, traverse

    run = load_run(args.run, device="cpu")
    images = _anchor_images(run, args.dataset, 1, args.seed)
    z0 = encode(run.model, images)[0][0]
    grid = traverse(run.model, z0, values=traversal_values(args.steps, args.limit))
    path = save_png(tile(grid), args.out, scale=args.scale)
    print(f"wrote {path}: one row per latent dim (0..{len(z0) - 1}), {args.steps} steps over +-{args.limit}")
    return 0
