"""Linked views shared by the explorer's pages (issue 17): the association matrix whose cells are
clickable (a clicked per-FoV bar of the alpha view, app_pages/alpha_bars.py, outlines its FoV's dim
in it), and the traversal a cell opens.

``fragment`` is ``st.fragment``: the OMES view reruns alone when the alpha view reports alpha.
Setting the environment variable ``DRVIZ_APP_FRAGMENTS=0`` turns it into a plain function, so that
``benchmarks/bench_app.py --compare-fragments`` times that report with and without it.
"""

from __future__ import annotations

import os

import streamlit as st

from app_pages import cache, state
from drviz import viz
from drviz.imaging import tile
from drviz.inspection import traversal_values

LINK_STEPS, LINK_LIMIT = 8, 2.0


@st.cache_resource(max_entries=64, show_spinner=False)
def _memo(token: str, _build):
    return _build()


def memo_figure(token: str | None, build):
    """``build()``'s figure, built once per ``token`` (a string naming everything it shows) and
    shared: an alpha move then rebuilds only the alpha-dependent bars, not the matrix nor the
    linked traversal (plotly's validation made each 30-50 ms). Charts and downloads only read a
    figure (``st.plotly_chart`` takes ``to_dict()``, exports copy it), so sharing is safe."""
    return build() if token is None else _memo(token, build)


def fragment(func):
    return func if os.environ.get("DRVIZ_APP_FRAGMENTS", "1") == "0" else st.fragment(func)


def clicked(event) -> list[dict]:
    """The selected points of a ``st.plotly_chart(on_select=...)`` event (empty when none)."""
    try:
        return list(event.selection.points or [])
    except AttributeError:
        return []


def linked_matrix(comps, key: str, title: str, highlight: tuple[int, int] | None, token: str | None = None):
    """The association matrix as clickable cells; returns (figure, selection event).
    ``token``: names the matrix (run, weights, dataset, n, seed) so its figure is built once."""
    a = comps.association
    fig = memo_figure(None if token is None else f"cells|{token}|{highlight}|{title}",
                      lambda: viz.association_cells(a.matrix, a.factor_names, a.inactive_dims, comps.dims, a.n_pairs,
                                                    title=title, highlight=highlight))
    event = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points")
    if highlight is not None:
        f, d = highlight
        st.caption(f":orange[Dotted row]: dim {d}, the dim OMES associates with {a.factor_names[f]} (clicked bar).")
    return fig, event


def linked_traversal(run, dataset: str, comps, key: str, event) -> None:
    """The traversal a clicked cell opens: the FoV's line in the data above the model's traversal
    of the dim, from the same anchor. The two pickers show (and change) the cell."""
    names = list(comps.factor_names)
    n_dims = comps.association.matrix.shape[0]
    dim_key, fov_key, seen_key = f"{key}-link-dim", f"{key}-link-fov", f"{key}-link-seen"
    points = [p for p in clicked(event) if p.get("customdata") is not None]
    if points:  # a new click: its cell into the pickers, before they are drawn
        d, f = (int(v) for v in points[-1]["customdata"][:2])
        if st.session_state.get(seen_key) != (d, f) and 0 <= d < n_dims and 0 <= f < len(names):
            st.session_state[seen_key] = (d, f)
            st.session_state[dim_key], st.session_state[fov_key] = d, names[f]
    if st.session_state.get(fov_key) not in names:
        st.session_state[fov_key] = names[0]
    if st.session_state.get(dim_key) not in range(n_dims):
        first = comps.dims[0] if comps.dims and comps.dims[0] is not None else 0
        st.session_state[dim_key] = int(first)
    st.markdown("**Linked traversal**: click a cell of the matrix to traverse its dim along its FoV's line")
    c1, c2 = st.columns(2)
    fov = c1.selectbox("FoV (its line in the data)", names, key=fov_key)
    dim = c2.selectbox("Latent dim (traversed by the model)", list(range(n_dims)), key=dim_key,
                       format_func=lambda d: f"dim {d}" + (" (inactive)" if d in comps.association.inactive_dims else ""))
    f = names.index(fov)
    run_key = cache.key_of(run)
    value = comps.association.matrix[int(dim), f]

    def build():
        grid = cache.dim_on_line(*run_key, dataset, f, int(dim), LINK_STEPS, LINK_LIMIT, state.eval_seed())
        values = [f"{v:+.1f}" for v in traversal_values(LINK_STEPS, LINK_LIMIT)]
        return viz.image_grid(tile(grid), 2, LINK_STEPS, [f"data: {fov} changes", f"model: dim {dim}"], values,
                              title=f"dim {dim} on the line of {fov} (A = {value:.2f})", cell_px=56)

    fig = memo_figure(f"link|{run_key}|{dataset}|{f}|{dim}|{state.eval_n()}|{state.eval_seed()}", build)
    st.plotly_chart(fig, key=f"{key}-link-grid")
    assoc = comps.dims[f]
    st.caption(f"Top row: images where only {fov} changes. Bottom row: the model's dim {dim} swept over "
               f"+-{LINK_LIMIT:g} from the same anchor's code. "
               + (f"OMES associates {fov} with dim {assoc}." if assoc is not None else f"{fov} has no associated dim."))
