"""Figure builders: arrays in, plotly ``Figure`` out (STYLE conventions 10-11).

The same functions serve the app, the CLI and the tests; none computes a score. The OMES figures
follow the paper's (Dapueto et al., NeurIPS 2024): the association matrix as a dims x FoVs heatmap
and per-FoV bars of OS, MES and OMES at a given alpha.

Every axis of names (FoVs, dims, metrics) is typed ``category`` explicitly. FoV names that look
like numbers (``"0"``, ``"3"``, as ``pd.DataFrame(y).to_csv(index=False)`` writes them) would
otherwise make plotly.js place the columns at x = 0, 3 and the associated-dim boxes on the wrong
cells: plotly.py's default template says ``autotypenumbers: "strict"``, but Streamlit's chart
theme replaces the template, and plotly.js's own default converts numeric strings. Colour scales
have explicit bounds, so a matrix whose values are all equal keeps its colours.
"""

from __future__ import annotations

import base64
import concurrent.futures
import shutil
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from drviz.imaging import png_bytes

OS_COLOR, MES_COLOR, OMES_COLOR = "#7fa7d6", "#f2b06b", "#2b6a4f"
BEFORE_COLOR, AFTER_COLOR = "#a9a9a9", "#2b6a4f"
_FONT = dict(family="Source Sans Pro, sans-serif", size=13)
MEAN_LABEL_MARGIN = 64  # px right of the bars for the "mean OMES" label


EXPORT_TEMPLATE = "plotly_white"


def _layout_dict(title: str | None, height: int | None = None) -> dict:
    """The layout every figure shares, as a plain dict (a builder merges its own keys in)."""
    # No template: Streamlit's chart theme replaces it in the app, and a named template costs a
    # deep copy per figure (about 3/4 of its build time, measured under load) and ~10 KB per chart
    # sent to every browser; exported files get one in ``for_export``.
    # ({} is plotly's empty "none" template; None would mean plotly's default one.)
    return dict(title=dict(text=title or "", x=0.0, xanchor="left"), font=_FONT,
                margin=dict(l=10, r=10, t=48 if title else 16, b=10), height=height, template={})


def for_export(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` with the export template (white background, light grid), for PNG, HTML
    and JSON files: outside the app there is no chart theme."""
    return go.Figure(fig).update_layout(template=EXPORT_TEMPLATE)


def _opt(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


# ---------------------------------------------------------------------------------------------
# OMES
# ---------------------------------------------------------------------------------------------
def _matrix_parts(matrix: np.ndarray, factor_names: Sequence[str], inactive_dims: Sequence[int],
                  dims: Sequence[int | None] | None, n_pairs: Sequence[int] | None, title: str | None) -> dict:
    """What the heatmap and the clickable cells share: row labels, cell texts and hovers, the red
    boxes and the layout (plain dicts: one ``go.Figure`` call validates them once)."""
    a = np.asarray(matrix, dtype=np.float64)
    n_dims, k = a.shape
    names = list(factor_names)
    dead = {int(d) for d in inactive_dims}
    rows = [f"dim {d}" + (" (inactive)" if d in dead else "") for d in range(n_dims)]
    text = [["" if not np.isfinite(v) else f"{v:.2f}" for v in row] for row in a]
    hover = []
    for d in range(n_dims):
        line = []
        for f in range(k):
            v = a[d, f]
            pairs = f" over {n_pairs[f]:,} pairs" if n_pairs is not None and n_pairs[f] else ""
            if d in dead:
                msg = f"dim {d} is inactive (std < 0.05): left out of OS, MES and OMES"
            elif not np.isfinite(v):
                msg = f"not computed for {names[f]} (too few pairs or a constant dim)"
            else:
                strength = ("changes strongly" if v >= 0.6 else "changes somewhat" if v >= 0.25
                            else "barely changes")
                msg = f"dim {d} {strength} when {names[f]} changes"
            assoc = " (the FoV's associated dim)" if dims is not None and dims[f] == d else ""
            val = "n/a" if not np.isfinite(v) else f"{v:.4f}"
            line.append(f"<b>dim {d} x {names[f]}</b>: A = {val}{assoc}<br>{msg}<br>"
                        f"A = 1 - |corr(z_d(x), z_d(y))|{pairs},<br>x, y differing only in {names[f]}")
        hover.append(line)
    # categories in the given order; boxes at x = f, y = d are then exactly the cells of (FoV f, dim d)
    boxes = [dict(type="rect", x0=f - 0.5, x1=f + 0.5, y0=d - 0.5, y1=d + 0.5, line=dict(color="#d62728", width=3))
             for f, d in enumerate(dims or ()) if d is not None]
    layout = _layout_dict(title, height=max(260, 34 * n_dims + 110))
    layout["margin"]["t"] = 80 if title else 40
    layout["title"].update(y=0.98, yanchor="top")
    layout.update(
        shapes=boxes,
        yaxis=dict(type="category", categoryorder="array", categoryarray=rows, autorange="reversed",
                   tickmode="array", tickvals=rows, ticktext=rows),
        xaxis=dict(type="category", categoryorder="array", categoryarray=names, side="top", tickangle=0),
    )
    return dict(a=a, names=names, dead=dead, rows=rows, text=text, hover=hover, layout=layout)


def association_heatmap(matrix: np.ndarray, factor_names: Sequence[str], inactive_dims: Sequence[int] = (),
                        dims: Sequence[int | None] | None = None, n_pairs: Sequence[int] | None = None,
                        title: str | None = None) -> go.Figure:
    """The association matrix A (dims x FoVs) as an annotated heatmap.

    Args:
        matrix: (D, K) values in [0, 1]; NaN where a cell could not be computed.
        factor_names: K column names.
        inactive_dims: dims removed before scoring: drawn grey, labelled "inactive".
        dims: per FoV its associated dim (or None): the cell gets a dark outline.
        n_pairs: per FoV the number of intervention pairs (shown on hover).
    """
    m = _matrix_parts(matrix, factor_names, inactive_dims, dims, n_pairs, title)
    a, dead, rows, names = m["a"], m["dead"], m["rows"], m["names"]
    n_dims, k = a.shape
    shown = a.copy()
    shown[list(dead), :] = np.nan  # inactive rows are painted by the grey layer below
    data = []
    if dead:
        grey = np.where(np.isin(np.arange(n_dims), list(dead))[:, None], 0.0, np.nan) * np.ones((1, k))
        data.append(dict(type="heatmap", z=grey, x=names, y=rows, colorscale=[[0, "#e6e6e6"], [1, "#e6e6e6"]],
                         zmin=0.0, zmax=1.0, showscale=False, hoverinfo="skip", xgap=2, ygap=2))
    data.append(dict(
        type="heatmap", z=shown, x=names, y=rows, zmin=0.0, zmax=1.0, colorscale="Viridis",
        text=m["text"], texttemplate="%{text}", textfont=dict(size=12), customdata=m["hover"],
        hovertemplate="%{customdata}<extra></extra>", xgap=2, ygap=2,
        colorbar=dict(title=dict(text="A"), thickness=12),
    ))
    return go.Figure(data=data, layout=m["layout"])


def omes_bars(factor_names: Sequence[str], os: Sequence[float | None], mes: Sequence[float | None],
              omes: Sequence[float | None], alpha: float, pooling: str, score: float | None = None,
              notes: Sequence[str] | None = None, title: str | None = None) -> go.Figure:
    """Per-FoV bars of OS, MES and OMES (= alpha OS + (1 - alpha) MES); None for not measurable.

    ``notes`` (per FoV, may be empty) are added under the FoV names (e.g. "capped", "n/a").
    """
    labels = list(factor_names)
    if notes is not None:
        labels = [f"{n}<br><sub>{note.split(':')[0]}</sub>" if note else n for n, note in zip(factor_names, notes)]
    traces = []
    for name, vals, color in (("OS", os, OS_COLOR), ("MES", mes, MES_COLOR), ("OMES", omes, OMES_COLOR)):
        y = [_opt(v) for v in vals]
        # Only the OMES bars carry their value (three labels per FoV collide on a narrow chart).
        text = ["n/a" if v is None else f"{v:.2f}" for v in y] if name == "OMES" else ["n/a" if v is None else "" for v in y]
        traces.append(dict(type="bar", x=labels, y=y, name=name, marker=dict(color=color), text=text,
                           textposition="outside", cliponaxis=False,
                           hovertemplate=f"{name} %{{x}}: %{{y:.4f}}<extra></extra>"))
    layout = _layout_dict(title, height=380)
    layout.update(barmode="group", legend=dict(orientation="h", y=-0.18),
                  xaxis=dict(type="category", categoryorder="array", categoryarray=labels),
                  yaxis=dict(range=[0, 1.12], title=dict(text=f"score (alpha {alpha:.2f}, {pooling} pooling)")))
    if score is not None:
        # The label sits in the right margin, outside the plot area, so it can never cover a bar
        # or its value (inside, at "top right", it sat on the last FoV's bars).
        layout["shapes"] = [dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=score, y1=score,
                                 line=dict(color=OMES_COLOR, dash="dot", width=1.5))]
        layout["annotations"] = [dict(x=1.0, xref="paper", xanchor="left", xshift=4, y=score, yref="y",
                                      yanchor="middle", text=f"mean<br>OMES<br>{score + 0.0:.4f}", showarrow=False,
                                      align="left", font=dict(color=OMES_COLOR, size=11))]
        layout["margin"]["r"] = MEAN_LABEL_MARGIN
    # One constructor call: plotly's update_* and add_hline paths cost ~10x more (270 vs 25 ms
    # measured here), and this figure is rebuilt on every alpha move.
    return go.Figure(data=traces, layout=layout)


HIGHLIGHT_COLOR = "#ff9f1c"


def association_cells(matrix: np.ndarray, factor_names: Sequence[str], inactive_dims: Sequence[int] = (),
                      dims: Sequence[int | None] | None = None, n_pairs: Sequence[int] | None = None,
                      title: str | None = None, highlight: tuple[int, int] | None = None) -> go.Figure:
    """``association_heatmap``'s matrix drawn as a scatter of square markers, one per cell, so that
    a click selects a cell: Streamlit's ``st.plotly_chart(on_select=...)`` returns no selection for
    ``go.Heatmap``. Same axes, colours, labels, hover texts and red boxes as the heatmap.

    Each point's ``customdata`` is ``[dim, FoV index, hover text]``. The active cells (coloured by A)
    are two traces, dark cells with white values and light ones with black values (a selection
    would otherwise grey every other cell's value: each trace fixes its own); the inactive or not
    computed cells (grey) are the last trace, when there are any.
    ``highlight``: (FoV f, dim d) to outline the whole row of dim d (a clicked per-FoV bar).
    """
    m = _matrix_parts(matrix, factor_names, inactive_dims, dims, n_pairs, title)
    a, dead, rows, names, layout = m["a"], m["dead"], m["rows"], m["names"], m["layout"]
    n_dims, k = a.shape
    size = max(8, int((layout["height"] - 90) / max(n_dims, 1)) - 6)  # the heatmap's row pitch, less a gap
    live = [(d, f) for d in range(n_dims) for f in range(k) if d not in dead and np.isfinite(a[d, f])]
    grey = [(d, f) for d in range(n_dims) for f in range(k) if (d, f) not in set(live)]

    def cells(pairs, text_color: str):
        keep = dict(marker=dict(opacity=1.0), textfont=dict(color=text_color))  # a selection fades nothing
        return dict(type="scatter", x=[names[f] for _, f in pairs], y=[rows[d] for d, _ in pairs],
                    customdata=[[d, f, m["hover"][d][f]] for d, f in pairs],
                    text=[m["text"][d][f] for d, f in pairs], mode="markers+text",
                    hovertemplate="%{customdata[2]}<extra></extra>", selected=keep, unselected=keep,
                    textposition="middle center", showlegend=False, textfont=dict(size=12, color=text_color))

    dark = [(d, f) for d, f in live if a[d, f] < 0.6]  # Viridis is dark below about 0.6
    light = [(d, f) for d, f in live if a[d, f] >= 0.6]
    data = [dict(**cells(pairs, text_color), name="A",
                 marker=dict(symbol="square", size=size, color=[a[d, f] for d, f in pairs], cmin=0.0, cmax=1.0,
                             colorscale="Viridis", line=dict(width=0), showscale=i == 0,
                             colorbar=dict(title=dict(text="A"), thickness=12)))
            for i, (pairs, text_color) in enumerate(((dark, "white"), (light, "black")))]
    if grey:
        data.append(dict(**cells(grey, "#555555"), name="inactive",
                         marker=dict(symbol="square", size=size, color="#e6e6e6", line=dict(width=0))))
    if highlight is not None:
        _, d = highlight
        layout["shapes"] = layout["shapes"] + [dict(type="rect", x0=-0.5, x1=k - 0.5, y0=d - 0.5, y1=d + 0.5,
                                                    layer="above", line=dict(color=HIGHLIGHT_COLOR, width=3, dash="dot"))]
    layout.update(clickmode="event+select", dragmode=False)
    layout["xaxis"].update(range=[-0.5, k - 0.5], showgrid=False, zeroline=False)
    layout["yaxis"].update(range=[n_dims - 0.5, -0.5], autorange=False, showgrid=False, zeroline=False)
    return go.Figure(data=data, layout=layout)


# ---------------------------------------------------------------------------------------------
# Latent map
# ---------------------------------------------------------------------------------------------
def latent_scatter(x: np.ndarray, y: np.ndarray, color: np.ndarray, color_name: str, axis_names: tuple[str, str],
                   rows: np.ndarray | None = None, title: str | None = None) -> go.Figure:
    """Encoded samples on two axes, coloured by a FoV's value; box and lasso select points.

    ``rows``: each point's row in the representation (``customdata``), so a selection maps back.
    """
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    trace = dict(
        type="scatter", x=np.asarray(x, np.float64).round(4), y=np.asarray(y, np.float64).round(4), mode="markers",
        customdata=rows, name="samples", showlegend=False,
        marker=dict(size=5, color=np.asarray(color), colorscale="Viridis", opacity=0.8,
                    colorbar=dict(title=dict(text=color_name), thickness=12)),
        hovertemplate=f"row %{{customdata}}<br>{color_name} %{{marker.color}}<extra></extra>",
        unselected=dict(marker=dict(opacity=0.15)))
    layout = _layout_dict(title, height=520)
    layout.update(dragmode="lasso", xaxis=dict(title=dict(text=axis_names[0]), zeroline=False),
                  yaxis=dict(title=dict(text=axis_names[1]), zeroline=False))
    return go.Figure(data=[trace], layout=layout)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def loss_curve(history: Sequence[dict], title: str | None = None, height: int = 300) -> go.Figure:
    """Loss, reconstruction and KL per step from a history (rows with step/loss/recon/kl)."""
    steps = [row.get("step") for row in history]
    data = []
    for key, color, dash in (("loss", "#2b6a4f", None), ("recon", "#7fa7d6", "dot"), ("kl", "#f2b06b", "dash")):
        ys = [row.get(key) for row in history]
        if any(v is not None for v in ys):
            data.append(dict(type="scatter", x=steps, y=ys, name=key, mode="lines", line=dict(color=color, dash=dash),
                             yaxis="y2" if key == "kl" else "y"))
    layout = _layout_dict(title, height=height)
    # log scale: the first steps' loss is 10-100x the rest, which would flatten the curve
    layout.update(xaxis=dict(title=dict(text="step")),
                  yaxis=dict(title=dict(text="loss / recon (per image, log)"), type="log"),
                  yaxis2=dict(title=dict(text="KL"), overlaying="y", side="right", showgrid=False),
                  legend=dict(orientation="h", y=-0.25))
    return go.Figure(data=data, layout=layout)


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------
def image_grid(image: np.ndarray, n_rows: int, n_cols: int, row_labels: Sequence[str] | None = None,
               col_labels: Sequence[str] | None = None, pad: int = 2, title: str | None = None,
               cell_px: int = 64) -> go.Figure:
    """A tiled uint8 image (H, W, 3) from ``drviz.imaging.tile`` with row / column labels."""
    img = np.asarray(image, dtype=np.uint8)
    h, w = img.shape[:2]
    ch, cw = (h + pad) / n_rows, (w + pad) / n_cols
    scale = cell_px / 64
    layout = _layout_dict(title, height=int(h * scale) + (60 if title else 30) + (20 if col_labels else 0))
    layout.update(
        width=None, margin=dict(l=10, r=10, t=(60 if title else 30), b=5),
        xaxis=dict(showgrid=False, zeroline=False, tickmode="array",
                   tickvals=[cw * (c + 0.5) - pad / 2 for c in range(n_cols)] if col_labels else [],
                   ticktext=list(col_labels or []), side="top"),
        yaxis=dict(showgrid=False, zeroline=False, tickmode="array",
                   tickvals=[ch * (r + 0.5) - pad / 2 for r in range(n_rows)] if row_labels else [],
                   ticktext=list(row_labels or [])),
    )
    # The pixels travel as one PNG data URI, not as ``z``: a JSON array of every channel value is
    # ~5x the bytes, slow to serialise (180 ms for a 10 x 8 traversal) and slow for plotly.js to paint.
    source = "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")
    return go.Figure(data=[dict(type="image", source=source, hoverinfo="skip")], layout=layout)


# ---------------------------------------------------------------------------------------------
# Before / after a transfer
# ---------------------------------------------------------------------------------------------
def before_after_bars(names: Sequence[str], before: Sequence[float | None], after: Sequence[float | None],
                      title: str | None = None, y_title: str = "", y_range: tuple[float, float] | None = (0, 1.1),
                      labels: tuple[str, str] = ("before", "after")) -> go.Figure:
    """Paired bars (before vs after fine-tuning) per name (FoV or metric)."""
    data = []
    for label, vals, color in ((labels[0], before, BEFORE_COLOR), (labels[1], after, AFTER_COLOR)):
        y = [_opt(v) for v in vals]
        data.append(dict(type="bar", x=list(names), y=y, name=label, marker=dict(color=color),
                         text=["n/a" if v is None else f"{v:.2f}" for v in y], textposition="outside",
                         textfont=dict(size=10), cliponaxis=False))
    layout = _layout_dict(title, height=340)
    layout.update(barmode="group", legend=dict(orientation="h", y=-0.2),
                  xaxis=dict(type="category", categoryorder="array", categoryarray=list(names)),
                  yaxis=dict(title=dict(text=y_title), **({"range": list(y_range)} if y_range else {})))
    return go.Figure(data=data, layout=layout)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------
def png_export_available() -> bool:
    """PNG export needs kaleido (>= 1) and a Chrome/Chromium binary (Debian's /usr/bin/chromium here)."""
    import importlib.util

    return importlib.util.find_spec("kaleido") is not None and any(
        shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome", "chrome"))


def figure_png(fig: go.Figure, scale: float = 2.0, timeout_s: float = 60.0) -> bytes:
    """The figure as PNG bytes (kaleido). Run in a worker thread: kaleido drives its own asyncio
    loop, which must not meet a caller's running loop (the Streamlit server's)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        for attempt in (1, 2):
            try:
                return pool.submit(for_export(fig).to_image, format="png", scale=scale).result(timeout=timeout_s)
            except Exception as exc:  # noqa: BLE001 - only kaleido's own errors are retried
                # On a loaded machine kaleido can call into its page before the page's scripts ran
                # ("ReferenceError: kaleido_scopes is not defined", seen in CI); a second call works.
                if attempt == 2 or not type(exc).__module__.startswith("kaleido"):
                    raise


def figure_html(fig: go.Figure) -> bytes:
    """A standalone HTML file of the figure (plotly.js from the CDN), the fallback export."""
    return for_export(fig).to_html(include_plotlyjs="cdn", full_html=True).encode()


__all__ = ["EXPORT_TEMPLATE", "HIGHLIGHT_COLOR", "association_cells", "association_heatmap", "latent_scatter", "before_after_bars", "figure_html", "figure_png", "for_export",
           "image_grid", "loss_curve",
           "omes_bars", "png_export_available"]
