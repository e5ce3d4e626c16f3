"""CLI for the data stage: ``datasets`` (list), ``datasets show NAME --out FILE.png`` and
``datasets cache SPEC`` (decode a file dataset's images once into the memory-mapped cache)."""

from __future__ import annotations

import argparse
import sys

from drviz.cli.types import int_in, seed


def register(sub) -> None:
    p = sub.add_parser(
        "datasets",
        help="list datasets with their FoVs, or show one as a traversal grid",
        description="List every dataset (FoV names and sizes, image shape, kind); "
        "`datasets show NAME --out FILE.png` writes one row per FoV traversed while the others stay fixed.",
    )
    p.set_defaults(func=cmd_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    s = actions.add_parser("show", help="write a grid of samples: one row per FoV traversed, the others fixed")
    s.add_argument("name", help="a dataset name, or kind:PATH for files (dsprites_npz:, coil100:, folder:, shapes3d_h5:, "
                                "mpi3d_npz:, isaac3d:, coil100_augmented:, coil100_augmented_binary:, rgbd_objects:)")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--seed", type=seed, default=0, help="seed of the fixed factors (and of any noise)")
    s.add_argument("--steps", type=int_in(2, 64), default=10, help="images per row (default 10)")
    s.set_defaults(func=cmd_show)
    c = actions.add_parser("cache", help="decode a file dataset's images once into the memory-mapped cache (size stated first)",
                           description="Decode every image of a compressed or encoded file dataset (HDF5 chunks, a compressed "
                           ".npz, image folders) once, resized to 64x64, into a uint8 cache under $DRVIZ_CACHE_DIR "
                           "(default ~/.cache/drviz), which training and encoding then read.")
    c.add_argument("name", help="kind:PATH of a file dataset")
    c.set_defaults(func=cmd_cache)


def format_table(infos) -> str:
    """A plain-text table of DatasetInfo rows."""
    rows = [("name", "kind", "image", "combinations", "factors (name=size)")]
    for i in infos:
        rows.append(
            (
                i.name,
                i.kind,
                "x".join(str(s) for s in i.image_shape),
                f"{i.n_combinations:,}",
                " ".join(f"{n}={s}" for n, s in zip(i.factor_names, i.factor_sizes)),
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows
    )


def cmd_list(args: argparse.Namespace) -> int:
    from drviz.data import dataset_names, get_dataset

    from drviz.data.discovery import ENV_VAR, data_root, discover

    print(format_table(get_dataset(n).info for n in dataset_names()))
    root = data_root()
    if root is not None:
        found = discover(root)
        print(f"\nfound under {ENV_VAR} ({root}): " + (", ".join(found) if found else "none"))
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from drviz.data import get_dataset
    from drviz.data.cache import human_bytes, tqdm_progress

    ds = get_dataset(args.name)
    store = getattr(ds, "store", None)
    if store is None:
        print(f"{ds.name}: rendered or held in memory; it needs no cache")
        return 0
    if not store.encoded:
        print(f"{ds.name}: its pixels are memory-mapped in place; it needs no cache")
        return 0
    if store.cached():
        print(f"{ds.name}: already cached at {store.cache_path()} ({human_bytes(store.nbytes)})")
        return 0
    print(store.announce(), flush=True)
    path = store.build(tqdm_progress("caching"))
    print(f"wrote {path}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import numpy as np

    from drviz.data import get_dataset
    from drviz.data.grid import traversal_grid
    from drviz.imaging import save_png

    ds = get_dataset(args.name)
    for note in getattr(ds, "notes", ()):  # e.g. an index column the labels reader dropped
        print(f"note: {note}", file=sys.stderr)
    grid = traversal_grid(ds, np.random.default_rng(args.seed), steps=args.steps)
    path = save_png(grid, args.out)
    print(f"wrote {path} ({ds.name}: rows {', '.join(ds.factor_names)}; {args.steps} steps)")
    return 0
