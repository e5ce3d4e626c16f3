"""CLI for moving runs between machines: ``export RUN --out RUN.zip`` and ``import RUN.zip``.

The same code and limits as the Models page's download and import (``drviz.archive``). The owner
runs the CLI, so an imported run may train on a file dataset anywhere (the app allows those only
under ``DRVIZ_DATA_ROOT``).
"""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("export", help="write a run folder as a zip (for `import` on another machine)")
    p.add_argument("run", help="run name under checkpoints/ or a run folder")
    p.add_argument("--out", help="zip to write (default: RUN.zip in the current folder)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="add a run from a zip made by `export` (validated, never overwrites)")
    p.add_argument("zip", help="the zip file")
    p.add_argument("--name", help="folder name for the run (default: the zip's top folder; -2, -3 ... if taken)")
    p.set_defaults(func=cmd_import)


def cmd_export(args) -> int:
    from drviz.archive import export_zip
    from drviz.atomic import atomic_write_bytes
    from drviz.checkpoints import resolve_run

    out = Path(args.out or f"{resolve_run(args.run).name}.zip")
    data = export_zip(args.run)
    atomic_write_bytes(out, data)
    print(f"wrote {out} ({len(data) / 2**20:.1f} MB)")
    return 0


def cmd_import(args) -> int:
    from drviz.archive import import_zip

    info = import_zip(Path(args.zip), name=args.name, trusted=True)
    print(f"imported {info.name}: {info.config.dataset}, {info.config.method}, step {info.step} ({info.path})")
    return 0
