"""OMES explorer: association heatmap, per-FoV OS / MES / OMES bars that follow alpha (in the browser) and pooling."""

from __future__ import annotations

import streamlit as st

from app_pages import alpha_bars, cache, explorer_views, state, widgets
from app_pages.errors import guard
from drviz import alpha_view, tables, viz
from drviz.metrics.registry import FAMILY_TEXT

st.title("OMES explorer")
st.markdown(
    "**A[d, f] = 1 - |corr(z_d(x), z_d(y))|** over pairs of images that differ only in FoV *f*: 1 means dim *d* "
    "changes whenever *f* changes. **OS** (overlap score, modularity) asks whether each dim encodes one FoV only; "
    "**MES** (multiple-encoding score, compactness) whether each FoV lives in one dim only. "
    "**OMES = alpha * OS + (1 - alpha) * MES**, per FoV, then averaged."
)


def pooling_control() -> tuple[float, str]:
    """(alpha to open the view on, pooling); their last (or linked) values come from ``state``."""
    alpha = state.restore_view()
    pooling = st.radio("Pooling over dims", ["avg", "max"], key="pooling", horizontal=True,
                       help="avg: weighted average over dims, weight A[d, f] entering twice (the paper's reference "
                            "and its published numbers). max: the best dim.")
    return alpha, pooling


def every_metric_block(info, key: str) -> None:
    """Every stored score of a run (``drviz evaluate``'s metrics.json), grouped by family, with the
    property each measures; the paper's metric table below it."""
    table = tables.run_scores_table(info.metrics)
    where = (info.metrics or {}).get("dataset")
    with st.expander(f"Every metric of {info.name}, by family" + (f" (stored, on {where})" if where else ""),
                     expanded=False):
        if table["value"].isna().all():
            st.caption(f"No stored scores: run `python -m drviz evaluate {info.name}` to compute every metric.")
        elif table["value"].isna().any():
            st.caption("'None': not in this run's metrics.json (evaluated before that metric existed); "
                       f"`python -m drviz evaluate {info.name}` computes them all.")
        st.caption(" ".join(FAMILY_TEXT.values()))
        st.dataframe(table, hide_index=True, width="stretch")
        widgets.download_table(table, f"{info.name}-every-metric", f"{key}-every-metric")


def scores_block(view: dict, alpha: float, pooling: str) -> None:
    """What follows the reported alpha for one representation, below the alpha view: the FoV
    flags, the per-FoV table and the downloads (table, and the bars as a figure), at ``alpha``.
    ``view``: comps, n_values, name, key and an optional markdown heading."""
    comps, n_values, name, key = view["comps"], view["n_values"], view["name"], view["key"]
    if view.get("heading"):
        st.markdown(view["heading"])
    table = tables.fov_table(comps, alpha, pooling, n_values)
    capped, missing = tables.fov_flags(comps, n_values)
    if missing:
        st.warning("Not measurable, left out of the average: " + "; ".join(missing), icon=":material/block:")
    if capped:
        st.info("Capped by few values: " + ", ".join(capped) + ". A dim that encodes an n-valued FoV perfectly "
                "only reaches A = 1 - 1/(n - 1), so these FoVs cannot score near 1.",
                icon=":material/vertical_align_top:")
    st.markdown(f"**Per FoV** (alpha {alpha:.2f}, {pooling} pooling)")
    st.dataframe(table, hide_index=True, width="stretch")
    widgets.download_table(table, f"{name}-per-fov", f"{key}-table")
    st.caption("The bars as a figure:")
    bars = viz.omes_bars(table["FoV"].tolist(), table["OS"].tolist(), table["MES"].tolist(),
                         table["OMES"].tolist(), alpha, pooling, comps.score(alpha, pooling), table["note"].tolist(),
                         title="Per-FoV OS, MES and OMES")
    widgets.download_figure(bars, f"{name}-omes-bars", f"{key}-bars")


def alpha_data(views: list[dict], alpha: float, pooling: str, summary: dict | None = None) -> dict:
    """The alpha view's payload: per view its pooled OS / MES, notes, and (for a run) the FoV whose
    dim the matrix outlines; ``summary``: presets whose averages the view shows too."""
    panels = []
    for view in views:
        highlight = st.session_state.get(f"{view['key']}-highlight")
        panels.append(alpha_view.panel(view["comps"], pooling, tables.fov_notes(view["comps"], view["n_values"]),
                                       title=view.get("title", ""), clickable=view.get("linked") is not None,
                                       highlight=None if highlight is None else highlight[0]))
    rows = None if summary is None else alpha_view.summary_rows(summary, pooling)
    return alpha_view.payload(alpha, pooling, panels, rows)


@explorer_views.fragment
def scores_view(views: list[dict], tab: str, extra=None, summary: dict | None = None) -> None:
    """Everything that follows alpha, as a fragment. A slider move reruns nothing: the alpha view
    (app_pages/alpha_bars.py) redraws itself in the browser and reports alpha once the user stops,
    which reruns this fragment alone (the link, tables and downloads follow), not the matrices,
    traversals and tables drawn outside it. A clicked bar reruns the page (the matrix outlines its
    FoV's dim). ``extra(alpha, pooling)`` draws more alpha-dependent content after the view (the
    presets' downloads); ``summary``: preset components whose averages the view shows."""
    alpha0, pooling = pooling_control()
    alpha, clicked = alpha_bars.show(alpha_data(views, alpha0, pooling, summary), key=f"alpha-{tab}")
    state.remember_view(alpha, pooling)
    if clicked is not None:
        view, f = views[clicked[0]], clicked[1]
        hl_key, d = f"{view['key']}-highlight", view["comps"].dims[f]
        # a second click on the outlined FoV takes the outline away
        st.session_state[hl_key] = None if d is None or st.session_state.get(hl_key) == (f, d) else (f, int(d))
        st.rerun(scope="app")  # the matrix is outside this fragment: redraw the page
    if extra is not None:
        extra(alpha, pooling)
    cols = st.columns(len(views)) if len(views) > 1 else [st.container()]
    for col, view in zip(cols, views):
        with col:
            scores_block(view, alpha, pooling)


def matrix_block(view: dict, wide: bool) -> None:
    """What does not follow alpha: the association matrix (a run's is clickable: a cell opens the
    dim's traversal on the FoV's line), the FoV -> dim table. The figure is built once per
    ``view["token"]`` (run, weights, dataset, n, seed; or the preset)."""
    comps, name, key, linked, token = view["comps"], view["name"], view["key"], view.get("linked"), view.get("token")
    a = comps.association
    left, right = st.columns(2) if wide else (st.container(), st.container())
    with left:
        if linked is None:
            heat = explorer_views.memo_figure(
                None if token is None else f"heat|{token}",
                lambda: viz.association_heatmap(a.matrix, a.factor_names, a.inactive_dims, comps.dims, a.n_pairs,
                                                title="Association matrix A (red box: the FoV's dim)"))
            st.plotly_chart(heat, key=f"{key}-heat")
        else:
            heat, cell = explorer_views.linked_matrix(comps, f"{key}-heat", "Association matrix A (red box: the "
                                                      "FoV's dim; click a cell)",
                                                      st.session_state.get(f"{key}-highlight"), token)
        widgets.download_figure(heat, f"{name}-association", f"{key}-heat", data=tables.matrix_frame(comps))
        if a.inactive_dims:
            st.caption(f"Grey rows: inactive dims (std < 0.05), left out of the scores: "
                       f"{', '.join(map(str, a.inactive_dims))}.")
        for note in a.notes:
            st.caption(note)
    with right:
        st.markdown("**FoV -> dim association** (used to prune the representation)")
        assoc = tables.association_table(comps)
        st.dataframe(assoc, hide_index=True, width="stretch")
        widgets.download_table(assoc, f"{name}-fov-to-dim", f"{key}-assoc")
    if linked is not None:
        explorer_views.linked_traversal(*linked, comps, key, cell)


TABS = ("Runs", "Synthetic matrices", "Upload a representation")


def runs_tab() -> None:
    with guard("compute OMES for the selected runs"):
        info = state.active_run()
        if info is None:
            state.no_runs_message()
            return
        other = state.compare_run()
        shown = [info] + ([other] if other is not None else [])
        views = []
        for run, key in zip(shown, ("run1", "run2")):
            dataset = state.dataset_of(run)
            comps, n_values = cache.omes(*cache.key_of(run), dataset, state.eval_n(), state.eval_seed())
            views.append(dict(comps=comps, n_values=n_values, name=f"{run.name}-{dataset}", key=key,
                              linked=(run, dataset), run=run, title=f"{run.name} on {dataset}",
                              token=f"{cache.key_of(run)}|{dataset}|{state.eval_n()}|{state.eval_seed()}",
                              heading=f"#### {run.name}\n{run.config.method}, beta {run.config.beta:g}, "
                                      f"encoded on **{dataset}** ({state.eval_n():,} samples)"))
        scores_view(views, "runs")
        cols = st.columns(len(views)) if len(views) > 1 else [st.container()]
        for col, view in zip(cols, views):
            with col, guard(f"draw the association matrix of {view['run'].name}"):
                matrix_block(view, wide=len(views) == 1)
                every_metric_block(view["run"], view["key"])
    with st.expander("The metrics OMES is compared with: families, classifiers, properties"):
        metric_table = tables.metric_table()
        st.dataframe(metric_table, hide_index=True, width="stretch")
        widgets.download_table(metric_table, "metric-families", "metric-families")
    if state.compare_run() is None:
        st.caption("Pick a second run under *Compare with* in the sidebar to see two runs side by side "
                   "(e.g. a source model and its transfer, or a weakly-supervised and a beta-VAE model).")


def presets_tab() -> None:
    with guard("show the synthetic matrices"):
        st.markdown("Synthetic association matrices (10 dims x 5 FoVs) show how OMES reads typical cases. "
                    "Move alpha: MES-heavy scores punish FoVs spread over dims, OS-heavy ones dims shared by FoVs.")
        kind = st.radio("Matrix", tables.PRESETS, horizontal=True, key="preset_kind",
                        format_func=lambda k: k.replace("_", "-"))

        presets = {k: cache.preset(k, 10, 5, 0) for k in tables.PRESETS}

        def summary(alpha: float, pooling: str) -> None:  # the view shows the table; its files at the reported alpha
            table = tables.preset_summary(presets, alpha, pooling)
            st.caption(f"The presets' averages above, as files (alpha {alpha:.2f}, {pooling} pooling):")
            widgets.download_table(table, "presets-omes", "presets-summary")
            st.caption(tables.PRESET_TEXT[kind])

        view = dict(comps=presets[kind], n_values=None, name=f"preset-{kind}", key="preset",
                    title=kind.replace("_", "-"), token=f"preset|{kind}")
        scores_view([view], "preset", summary, summary=presets)
        matrix_block(view, wide=True)


def upload_tab() -> None:
    with guard("read the uploaded representation"):
        st.markdown("A representation in the reference format (JacopoDapueto/transfer_disentanglement): "
                    "`representations.npz` with a `mean` array (N x D) and `classes.csv` with one integer "
                    "column per FoV, N rows.")
        u1, u2 = st.columns(2)
        npz = u1.file_uploader("representations.npz", type=["npz"], key="up_npz")
        csv = u2.file_uploader("classes.csv", type=["csv"], key="up_csv")
        if npz is None or csv is None:
            st.caption("Upload both files to score them.")
            return
        comps, n_values, n, d = cache.uploaded_omes(npz.getvalue(), csv.getvalue(), state.eval_seed())
        view = dict(comps=comps, n_values=n_values, name="uploaded", key="upload",
                    heading=f"#### Uploaded representation\n{n:,} samples, {d} dims, {len(n_values)} FoVs")
        scores_view([view], "upload")
        matrix_block(view, wide=True)


# Lazy tabs: only the open tab runs (``.open``); switching tabs reruns the page.
for tab, draw in zip(st.tabs(list(TABS), key="omes_tab", on_change="rerun"), (runs_tab, presets_tab, upload_tab)):
    if tab.open:
        with tab:
            draw()
