"""argparse types that refuse out-of-range values with a one-line usage error (never a traceback
from deep inside a command): ``--n 0``, ``--seed -1``, ``--limit nan``, ``--steps 100000``."""

from __future__ import annotations

import argparse
import math

SEED_MAX = 2**32 - 1  # numpy's and torch's seeds


def int_in(lo: int, hi: int | None = None, *, also: tuple[int, ...] = ()):
    """An integer in [lo, hi] (no upper bound when hi is None), or one of ``also`` (e.g. -1)."""
    span = f"in [{lo:,}, {hi:,}]" if hi is not None else f">= {lo:,}"
    extra = "".join(f" or {a}" for a in also)

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value in also or (value >= lo and (hi is None or value <= hi)):
            return value
        raise argparse.ArgumentTypeError(f"{value} is out of range: give an integer {span}{extra}")

    parse.__name__ = "integer"
    return parse


def float_in(lo: float, hi: float, *, open_low: bool = False):
    """A finite number in [lo, hi] (``(lo, hi]`` with ``open_low``)."""
    span = f"{'(' if open_low else '['}{lo:g}, {hi:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if math.isfinite(value) and (value > lo if open_low else value >= lo) and value <= hi:
            return value
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a number in {span}")

    parse.__name__ = "number"
    return parse


seed = int_in(0, SEED_MAX)
n_jobs = int_in(1, 1024, also=(-1,))  # joblib's -1: all cores
