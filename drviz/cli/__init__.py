"""``python -m drviz``: one subcommand per pipeline stage.

Each stage's module (``drviz.cli.data``, ``.train``, ``.metrics``) exposes ``register(sub)``,
which adds its subparsers with ``set_defaults(func=...)``. Heavy imports (torch) happen inside
the command functions so that ``--help`` and ``datasets`` stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from drviz.errors import DrvizError

STAGES = ("drviz.cli.data", "drviz.cli.train", "drviz.cli.inspection", "drviz.cli.metrics", "drviz.cli.archive", "drviz.cli.study", "drviz.cli.report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drviz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STAGES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:  # a stage not built yet must not break the others
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


SIGPIPE_EXIT = 128 + 13  # what a shell reports for a Unix tool ended by SIGPIPE


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:  # --help, or a usage error: flush here too, so a closed pipe is caught
            sys.stdout.flush()
            raise
        try:
            code = int(args.func(args) or 0)
        except DrvizError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except BrokenPipeError:
        # `python -m drviz ... | head`: the reader has gone, so end quietly as Unix tools do. Point
        # stdout at /dev/null so that Python's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return SIGPIPE_EXIT
