"""A view of the app as query parameters, for links that reproduce it (issue 17, part 5).

The page is the URL's path (``st.navigation``); the rest of the view lives in the parameters
``run``, ``run2``, ``dataset``, ``alpha``, ``pooling``, ``seed`` and ``n``. They are outside input
(``drviz.limits``): ``parse_view`` keeps each value only when it is valid here (a listed run, an
allowed dataset, alpha in [0, 1], n within the app's range and ``DRVIZ_MAX_ROWS``) and names the
others in one line, so a bad link falls back to the defaults with a notice, never an error page.
Unknown parameters are ignored silently (other tools add their own, e.g. ``utm_*``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drviz import limits

PARAMS = ("run", "run2", "dataset", "alpha", "pooling", "seed", "n")
POOLINGS = ("avg", "max")
N_RANGE = (500, 50_000)  # the sidebar's "Samples encoded" range
SEED_RANGE = (0, 10_000)  # the sidebar's seed range
_SHOWN = 40  # characters of a refused value quoted back


@dataclass(frozen=True)
class Allowed:
    """What the parameters may name on this server."""

    runs: Sequence[str]
    datasets: Sequence[str]
    n_range: tuple[int, int] = N_RANGE
    seed_range: tuple[int, int] = SEED_RANGE

    def max_n(self) -> int:
        return min(self.n_range[1], limits.limit("rows"))


def _one(value) -> str:
    """A parameter's value as one string (a repeated parameter keeps its last value)."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return str(value)


def _quote(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


def parse_view(params: Mapping[str, object], allowed: Allowed) -> tuple[dict[str, object], str | None]:
    """The valid part of a link's query parameters, and one line naming what was refused.

    Returns ({name: value} for the valid parameters among ``PARAMS``, typed: alpha float, seed and
    n int, the others str; a notice or None).
    """
    view: dict[str, object] = {}
    refused: list[str] = []
    for name in PARAMS:
        if name not in params:
            continue
        raw = _one(params[name]).strip()
        value, why = _check(name, raw, allowed)
        if why is None:
            view[name] = value
        else:
            refused.append(f"{name}={_quote(raw)} ({why})")
    notice = None
    if refused:
        notice = "Link: ignored " + "; ".join(refused) + "; showing the default instead."
    return view, notice


def _check(name: str, raw: str, allowed: Allowed) -> tuple[object, str | None]:
    if name in ("run", "run2"):
        if name == "run2" and raw == "":
            return None, None
        return (raw, None) if raw in allowed.runs else (None, "no such run here")
    if name == "dataset":
        return (raw, None) if raw in allowed.datasets else (None, "not a dataset this server offers")
    if name == "pooling":
        return (raw, None) if raw in POOLINGS else (None, "use avg or max")
    if name == "alpha":
        try:
            alpha = float(raw)
        except ValueError:
            return None, "not a number"
        if not math.isfinite(alpha) or not 0.0 <= alpha <= 1.0:
            return None, "alpha must be in [0, 1]"
        return round(alpha, 2), None
    lo, hi = allowed.seed_range if name == "seed" else (allowed.n_range[0], allowed.max_n())
    if not raw.isdigit() or len(raw) > 9:
        return None, "not a whole number"
    value = int(raw)
    if not lo <= value <= hi:
        return None, f"{name} must be between {lo:,} and {hi:,}"
    return value, None


def view_params(view: Mapping[str, object], defaults: Mapping[str, object] | None = None) -> dict[str, str]:
    """Query parameters for ``view`` (name -> value, None for unset), in ``PARAMS`` order;
    values equal to ``defaults`` are left out so links stay short."""
    defaults = defaults or {}
    out: dict[str, str] = {}
    for name in PARAMS:
        value = view.get(name)
        if value is None or (name in defaults and defaults[name] == value):
            continue
        out[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


__all__ = ["PARAMS", "Allowed", "parse_view", "view_params"]
