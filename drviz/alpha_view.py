"""What the OMES page's in-browser alpha view needs: per-FoV OS and MES under one pooling.

Given the association matrix, OMES_f = alpha * OS_f + (1 - alpha) * MES_f is linear in alpha
(DESIGN.md section 7, step 6), so the two pooled vectors are all a browser needs to redraw the
per-FoV bars and the averaged OMES on every slider move without asking the server.
``app_pages/alpha_bars.js`` does that recombination; its averaged OMES follows the same rule as
``OMESComponents.score`` (mean over the measurable FoVs in numpy's summation order, then Python's
``round(x, 4)``) so that the number it shows equals the server's for the same alpha
(tests/test_browser.py checks it against Python in Chromium).

Plain JSON types only (NaN is not JSON: a not-measurable FoV's values are None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from drviz.metrics.omes import OMESComponents

ALPHA_DIGITS = 2  # alpha as the slider, the link and the server hold it (0.01 resolution)


def _num(v) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def short_note(note: str) -> str:
    """The tag shown under a FoV's name: the part of a ``tables.fov_notes`` note before its colon
    ("capped", "not measurable"), as the plotly bars showed it."""
    return note.split(":")[0] if note else ""


def panel(comps: OMESComponents, pooling: str, notes: Sequence[str] | None = None, title: str = "",
          clickable: bool = False, highlight: int | None = None) -> dict:
    """One representation's payload for the alpha view.

    Args:
        comps: the cached OMES components.
        pooling: "avg" or "max".
        notes: per FoV, ``tables.fov_notes`` (may be empty strings); None for none.
        title: shown above the averaged OMES (e.g. the run's name).
        clickable: a click on a FoV's bars reports it (the page then outlines its dim).
        highlight: the FoV index whose bars are outlined now, or None.

    Returns:
        ``{"title", "clickable", "highlight", "fovs": [{"name", "os", "mes", "measurable",
        "dim", "note"}]}``: K FoVs; os and mes are the pooled scores in [0, 1] (None when not
        measurable), dim the associated dim (original index) or None.
    """
    p = comps.pooled(pooling)
    fovs = []
    for f, name in enumerate(comps.factor_names):
        ok = bool(comps.measurable[f])
        fovs.append({"name": str(name), "os": _num(p.os[f]) if ok else None, "mes": _num(p.mes[f]) if ok else None,
                     "measurable": ok, "dim": comps.dims[f],
                     "note": short_note(notes[f]) if notes is not None else ""})
    return {"title": title, "clickable": clickable, "highlight": highlight, "fovs": fovs}


def summary_rows(presets: Mapping[str, OMESComponents], pooling: str) -> list[dict]:
    """The presets' summary as the alpha view recomputes it: per preset its label and pooled OS and
    MES vectors (the view shows their averages and the averaged OMES at the current alpha, the
    same numbers as ``tables.preset_summary``)."""
    rows = []
    for kind, comps in presets.items():
        fovs = panel(comps, pooling)["fovs"]
        rows.append({"label": kind.replace("_", "-"), "os": [f["os"] for f in fovs], "mes": [f["mes"] for f in fovs],
                     "measurable": [f["measurable"] for f in fovs]})
    return rows


def payload(alpha: float, pooling: str, panels: Sequence[dict], summary: Sequence[dict] | None = None) -> dict:
    """The component's data: ``alpha`` is its initial value (the link's or the last reported one;
    a mounted view keeps the value its user set), the panels side by side, the optional summary."""
    return {"alpha": round(float(alpha), ALPHA_DIGITS), "pooling": pooling, "panels": list(panels),
            "summary": list(summary) if summary is not None else None}


def reported_alpha(value, fallback: float) -> float:
    """The alpha the browser reported, checked (it is outside input): a finite number in [0, 1],
    rounded to ``ALPHA_DIGITS``; ``fallback`` for anything else (None before any report)."""
    try:
        a = float(value)
    except (TypeError, ValueError):
        return fallback
    if isinstance(value, bool) or not math.isfinite(a) or not 0.0 <= a <= 1.0:
        return fallback
    return round(a, ALPHA_DIGITS)


def clicked_fov(value, n_panels: int, n_fovs: Sequence[int]) -> tuple[int, int] | None:
    """(panel index, FoV index) of a reported bar click ``{"panel": i, "fov": f}``, or None when
    there was none or it is out of range."""
    if not isinstance(value, Mapping):
        return None
    i, f = value.get("panel"), value.get("fov")
    if not isinstance(i, int) or not isinstance(f, int) or isinstance(i, bool) or isinstance(f, bool):
        return None
    if not 0 <= i < n_panels or not 0 <= f < n_fovs[i]:
        return None
    return i, f


__all__ = ["ALPHA_DIGITS", "clicked_fov", "panel", "payload", "reported_alpha", "short_note", "summary_rows"]
