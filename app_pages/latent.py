"""Latent map & interpolation: encoded samples on two dims (or the first two principal components)
coloured by a FoV, a box / lasso selection's images and reconstructions; interpolation between two
images, linear and by single-dim swaps."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from app_pages import cache, explorer_views, state, widgets
from app_pages.errors import guard
from drviz import viz
from drviz.data import get_dataset
from drviz.explorer import PC_AXES, axis_options, interpolation_grid, swap_grid
from drviz.imaging import tile
from drviz.inspection import grid_png, image_from_bytes, samples, traversal_gif

STRIP = 12  # selected samples shown at most

st.title("Latent map & interpolation")
info = state.require_run()
key = cache.key_of(info)
dataset = state.dataset_of(info)
n, seed = state.eval_n(), state.eval_seed()
st.caption(f"Run **{info.name}**, samples of **{dataset}** ({n:,} encoded, seed {seed}; change them in the sidebar).")

# -- latent map -------------------------------------------------------------------------------------
st.subheader("Latent map")
with guard("draw the latent map"):
    if not get_dataset(dataset).labelled:
        st.info(f"{dataset} has no factor labels: the latent map colours samples by a FoV. Pick a labelled "
                "dataset under *Evaluate on*; interpolation below works on any images.")
    else:
        options = axis_options(info.config.latent_dim)
        c1, c2, c3 = st.columns(3)
        x_axis = c1.selectbox("x axis", options, index=0, key="lm_x")
        y_axis = c2.selectbox("y axis", options, index=1, key="lm_y")
        x, y, rows, factors, names, explained = cache.latent_map(*key, dataset, n, seed, x_axis, y_axis)
        fov = c3.selectbox("Colour by FoV", list(names), key="lm_color")
        axis_names = tuple(f"{a} ({explained[PC_AXES.index(a)]:.0%} of the variance)" if a in PC_AXES else a
                           for a in (x_axis, y_axis))
        fig = viz.latent_scatter(x, y, factors[:, list(names).index(fov)], fov, axis_names, rows,
                                 title=f"{len(rows):,} encoded samples: select some (box or lasso) to see them")
        event = st.plotly_chart(fig, key="lm-map", on_select="rerun", selection_mode=("box", "lasso"))
        picked = sorted({int(p["customdata"]) for p in explorer_views.clicked(event) if p.get("customdata") is not None})
        if not picked:
            st.caption("Drag a box or a lasso over the map: the selected samples' images and reconstructions "
                       f"appear here (the first {STRIP}).")
        else:
            strip = cache.selection_strip(*key, dataset, n, seed, tuple(picked[:STRIP]))
            st.markdown(f"**{len(picked):,} selected**" + (f", the first {STRIP} shown" if len(picked) > STRIP else ""))
            labels = [f"row {r}" for r in picked[:STRIP]]
            st.plotly_chart(viz.image_grid(tile(strip), 2, strip.shape[1], ["images", "reconstructions"], labels),
                            key="lm-strip")
            widgets.download_images(partial(grid_png, strip), None, f"{info.name}-selection", "lm-strip")

# -- interpolation ----------------------------------------------------------------------------------
st.subheader("Interpolation")
with guard("interpolate between two images"):
    model = cache.model(*key)
    channels = model.spec.channels
    source = st.radio("Images", ["From the dataset", "Uploaded"], horizontal=True, key="ip_source")
    c1, c2 = st.columns(2)
    if source == "From the dataset":
        a_seed = c1.number_input("Image A (seed)", 0, 10_000, 1, key="ip_a")
        b_seed = c2.number_input("Image B (seed)", 0, 10_000, 2, key="ip_b")
        x_a, x_b = samples(dataset, 1, int(a_seed), channels)[0], samples(dataset, 1, int(b_seed), channels)[0]
    else:
        up_a = c1.file_uploader("Image A", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="ip_up_a")
        up_b = c2.file_uploader("Image B", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="ip_up_b")
        if up_a is None or up_b is None:
            st.caption("Upload two images (centre-cropped to a square, resized to 64x64).")
            st.stop()
        x_a, x_b = image_from_bytes(up_a.getvalue(), channels), image_from_bytes(up_b.getvalue(), channels)
    c1, c2 = st.columns([1, 2])
    mode = c1.radio("How", ["Linear", "Swap single dims"], key="ip_mode",
                    help="Linear: decode (1 - t) z_A + t z_B. Swap: A's code with one dim taken from B (and "
                         "the reverse), one column per dim: in a disentangled code each swap moves one FoV.")
    if mode == "Linear":
        ip_steps = c2.slider("Steps", 3, 16, 8, key="ip_steps")
        grid = interpolation_grid(model, x_a, x_b, int(ip_steps))
        cols = ["A"] + [f"t={t:.2f}" for t in np.linspace(0, 1, int(ip_steps))] + ["B"]
        fig = viz.image_grid(tile(grid), 1, grid.shape[1], None, cols, title="From A to B, linear in latent space")
        gif = partial(traversal_gif, grid[:, 1:-1])
    else:
        dims = cache.ranked_dims(*key, dataset, n, seed)
        order = [d.dim for d in dims]
        grid = swap_grid(model, x_a, x_b, order)
        cols = ["original"] + [d.label.split(" · KL")[0] for d in dims]
        fig = viz.image_grid(tile(grid), 2, grid.shape[1], ["A with B's dim", "B with A's dim"], cols,
                             title="Single-dim swaps (dims ranked by KL)")
        fig.update_xaxes(tickangle=-30)
        gif = partial(traversal_gif, grid[:, 1:])
    st.plotly_chart(fig, key="ip-grid")
    widgets.download_images(partial(grid_png, grid), gif, f"{info.name}-interpolation", "ip")
