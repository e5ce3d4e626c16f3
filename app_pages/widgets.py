"""Download buttons (every table, figure and image grid) and texts shared by forms."""

from __future__ import annotations

import json
import logging

import streamlit as st

from drviz import viz

log = logging.getLogger("drviz.app")

PRECISION_HELP = ("auto: bf16 autocast where the machine has fast bf16 (CPUs with AVX512-BF16 or AMX, most "
                  "CUDA GPUs; about 1.6x faster there), fp32 elsewhere. bf16 on a CPU without it is emulated "
                  "and several times slower.")


def download(label: str, data, file_name: str, mime: str, key: str, *, help: str | None = None,
             type: str = "tertiary") -> None:
    """One download button as the app shows them all: the download icon, no rerun on click.

    ``data``: bytes, or a function that makes them when the button is clicked.
    """
    st.download_button(label, data, file_name, mime, key=key, help=help, icon=":material/download:",
                       on_click="ignore", type=type)


def _png_or_html(fig):
    def make():
        try:
            return viz.figure_png(fig)
        except Exception:  # noqa: BLE001 - the download then holds the HTML; see the button's help
            log.exception("PNG export failed")
            return viz.figure_html(fig)
    return make


def _row():
    return st.container(horizontal=True, gap="small")


def download_figure(fig, name: str, key: str, data=None) -> None:
    """PNG (rendered on click) and JSON buttons for a figure; ``data`` (a DataFrame) adds CSV.
    Every file is made when its button is clicked, never on a rerun."""
    with _row():
        if viz.png_export_available():
            download("PNG", _png_or_html(fig), f"{name}.png", "image/png", f"{key}-png")
        else:
            download("HTML", lambda: viz.figure_html(fig), f"{name}.html", "text/html", f"{key}-html",
                     help="PNG export needs Chromium on the server; this is the interactive figure.")
        download("JSON", lambda: viz.for_export(fig).to_json(), f"{name}.json", "application/json", f"{key}-json")
        if data is not None:
            download("CSV", lambda: data.to_csv(index=True).encode(), f"{name}.csv", "text/csv", f"{key}-csv")


def download_table(df, name: str, key: str, index: bool = False) -> None:
    """CSV and JSON (one record per row) buttons for a table."""
    with _row():
        download("CSV", lambda: df.to_csv(index=index).encode(), f"{name}.csv", "text/csv", f"{key}-csv")
        download("JSON", lambda: df.to_json(orient="records", indent=2).encode(), f"{name}.json",
                 "application/json", f"{key}-json")


def download_images(png, gif, name: str, key: str) -> None:
    """PNG and GIF buttons for an image grid (each left out when None). Each is bytes or, better, a
    function making them: encoding a GIF on every rerun was a visible share of a page's time."""
    with _row():
        if png is not None:
            download("PNG", png, f"{name}.png", "image/png", f"{key}-png")
        if gif is not None:
            download("GIF", gif, f"{name}.gif", "image/gif", f"{key}-gif")


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, default=str) + "\n").encode()
