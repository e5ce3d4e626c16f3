"""A study's figures (plotly), from its results tables: the Study page and ``study figures`` use them.

- ``method_strip``: a score per method across seeds (box + every point), one panel per dataset role;
- ``score_scatter``: OMES against another score over the runs, Spearman rho in the title;
- ``agreement_heatmap``: a Spearman matrix (``drviz.metrics.agreement.Agreement.rho`` or its
  ``against_table``), annotated;
- ``fov_heatmap``: runs x FoVs of per-FoV OMES (``results.fov_matrix``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from drviz.study.results import spearman

LABELS = {"omes": "OMES", "os": "OS", "mes": "MES", "dci": "DCI (disentanglement)", "mig": "MIG",
          "gbt_full": "GBT accuracy, full", "gbt_pruned": "GBT accuracy, pruned"}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
    return fig


def method_strip(df: pd.DataFrame, score: str = "omes") -> go.Figure:
    """Box and points of ``score`` per method, one panel per row kind (source / before / after)."""
    part = df[["method", "role", "dataset", "seed", "run", score]].dropna(subset=[score])
    fig = px.box(part, x="method", y=score, color="method", points="all", facet_col="role",
                 hover_data=["run", "dataset", "seed"], category_orders={"role": ["source", "before", "after"]})
    fig.update_yaxes(title=LABELS.get(score, score))
    return _layout(fig, f"{LABELS.get(score, score)} by method across seeds")


def score_scatter(df: pd.DataFrame, x: str = "dci", y: str = "omes") -> go.Figure:
    """``y`` against ``x`` over the rows of ``df`` coloured by method; Spearman rho (p) in the title."""
    c = spearman(df, y, x)
    part = df.dropna(subset=[x, y])
    fig = px.scatter(part, x=x, y=y, color="method", symbol="role", hover_data=["run", "dataset", "seed"])
    fig.update_xaxes(title=LABELS.get(x, x))
    fig.update_yaxes(title=LABELS.get(y, y))
    rho = "not measurable" if math.isnan(c.rho) else f"Spearman rho {c.rho:.2f} (p = {c.p:.2g}, {c.n} runs)"
    return _layout(fig, f"{LABELS.get(y, y)} vs {LABELS.get(x, x)}: {rho}")


def agreement_heatmap(matrix: pd.DataFrame, title: str) -> go.Figure:
    """An annotated Spearman matrix in [-1, 1] (NaN cells blank)."""
    z = matrix.to_numpy(dtype=float)
    text = np.where(np.isfinite(z), np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(z)), "")
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index],
                               zmin=-1, zmax=1, colorscale="RdBu", text=text, texttemplate="%{text}",
                               colorbar=dict(title="rho")))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(300, 60 * len(matrix) + 120))


def fov_heatmap(matrix: pd.DataFrame, title: str = "Per-FoV OMES across runs") -> go.Figure:
    """Runs (rows) x FoVs (columns) in [0, 1], annotated."""
    z = matrix.to_numpy(dtype=float)
    text = np.where(np.isfinite(z), np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(z)), "")
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index],
                               zmin=0, zmax=1, colorscale="Viridis", text=text, texttemplate="%{text}",
                               colorbar=dict(title="OMES")))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(300, 28 * len(matrix) + 140))


__all__ = ["agreement_heatmap", "fov_heatmap", "method_strip", "score_scatter"]
