"""The OMES page's alpha view: slider, averaged OMES and per-FoV OS / MES / OMES bars, redrawn in
the browser on every move (``st.components.v2``; its JS and CSS are ``alpha_bars.js`` and
``alpha_bars.css`` beside this file, inlined: no build step, nothing downloaded).

The browser recombines the pooled OS and MES vectors (``drviz.alpha_view.payload``) itself, so a
move costs no Streamlit rerun and no plotly redraw (under load each rerun plus plotly redraw cost
250-580 ms of browser CPU, issue 15). The server hears of alpha once the user stops moving (state
value ``alpha``) and of a clicked FoV bar (trigger value ``fov``); each is one rerun of the page's
fragment.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from drviz import alpha_view

HERE = Path(__file__).resolve().parent
NAME = "drviz_alpha_bars"

_mount = st.components.v2.component(NAME, css=(HERE / "alpha_bars.css").read_text(),
                                    js=(HERE / "alpha_bars.js").read_text())


def _heard() -> None:
    """A no-op: Streamlit keeps a component's state value only when it has an on_*_change callback."""


def show(data: dict, key: str) -> tuple[float, tuple[int, int] | None]:
    """Mount the view; returns (alpha, clicked).

    Args:
        data: ``drviz.alpha_view.payload(...)``; its ``alpha`` is the slider's initial value.
        key: the element's key (one per tab): a fixed key keeps the element, and so the user's
            slider position, across the reruns that its own reports cause.

    Returns:
        alpha: the last value the browser reported, checked (``data["alpha"]`` before any report).
        clicked: (panel index, FoV index) of a bar clicked in this run's event, else None.
    """
    result = _mount(key=key, data=data, default={"alpha": data["alpha"]},
                    on_alpha_change=_heard, on_fov_change=_heard)
    alpha = alpha_view.reported_alpha(result.get("alpha"), data["alpha"])
    clicked = alpha_view.clicked_fov(result.get("fov"), len(data["panels"]),
                                     [len(p["fovs"]) for p in data["panels"]])
    return alpha, clicked
