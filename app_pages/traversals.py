"""Traversals & reconstructions: latent traversals, per-FoV traversals, reconstructions, your image."""

from __future__ import annotations

from functools import partial

import streamlit as st

from app_pages import cache, state, widgets
from app_pages.errors import guard
from drviz import checkpoints as ckpt
from drviz import viz
from drviz.data import available_datasets, get_dataset
from drviz.imaging import tile
from drviz.inspection import grid_png, inspect_image, stack_rows, traversal_gif, traversal_values

st.title("Traversals & reconstructions")
info = state.require_run()
key = cache.key_of(info)
dataset = state.dataset_of(info)
st.caption(f"Run **{info.name}** ({info.config.method}, beta {info.config.beta:g}), images from **{dataset}** "
           "(change both in the sidebar).")

c1, c2, c3 = st.columns(3)
steps = c1.slider("Traversal steps", 3, 15, 8, key="tr_steps")
limit = c2.slider("Traversal range (+- in prior std units)", 0.5, 4.0, 2.0, 0.25, key="tr_limit")
seed = c3.number_input("Anchor image (seed)", 0, 10_000, 0, key="tr_seed")
value_labels = [f"{v:+.1f}" for v in traversal_values(steps, limit)]

# -- every latent dim ------------------------------------------------------------------------------
st.subheader("Every latent dim")
with guard("traverse the latent dims"):
    grid, labels = cache.latent_traversal(*key, dataset, int(seed), steps, float(limit))
    fig = viz.image_grid(tile(grid), grid.shape[0], steps, labels, value_labels,
                         title="Each row sweeps one dim of the anchor's code; the others stay fixed")
    st.plotly_chart(fig, key="tr-latent")
    widgets.download_images(partial(grid_png, grid), partial(traversal_gif, grid), f"{info.name}-traversal",
                            "tr-latent")
    st.caption("KL is each dim's mean KL to the prior over 256 images: dims near 0 are unused and do nothing.")

# -- each FoV along its dim -----------------------------------------------------------------------
st.subheader("Each FoV along its associated dim")
with guard("traverse each FoV"):
    if not get_dataset(dataset).labelled:
        st.info(f"{dataset} has no factor labels: the FoV -> dim association needs them.")
    else:
        grid, labels = cache.fov_traversals(*key, dataset, state.eval_n(), state.eval_seed(), steps, float(limit))
        fig = viz.image_grid(tile(grid), grid.shape[0], steps, labels, None,
                             title="For each FoV: the data with only that FoV changing, then the model's "
                                   "traversal of the FoV's OMES dim")
        st.plotly_chart(fig, key="tr-fov")
        widgets.download_images(partial(grid_png, grid), partial(traversal_gif, grid[1::2]), f"{info.name}-fov-traversal",
                           "tr-fov")
        st.caption("The dim of each FoV comes from the OMES explorer's association (argmax of OS).")

# -- reconstructions --------------------------------------------------------------------------------
st.subheader("Reconstructions")
with guard("reconstruct images"):
    lineage = ckpt.lineage(info)
    source_ds = ckpt.read_run(lineage[0]).config.dataset if len(lineage) > 1 else info.config.dataset
    datasets = available_datasets()
    default_target = (info.config.dataset if info.config.init_from
                      else dataset if dataset != source_ds else "real_objects")
    c1, c2 = st.columns(2)
    src_ds = c1.selectbox("Source dataset", datasets, index=datasets.index(source_ds) if source_ds in datasets else 0,
                          key="rec_source")
    tgt_ds = c2.selectbox("Target dataset", datasets,
                          index=datasets.index(default_target) if default_target in datasets else 0, key="rec_target")
    n = 8
    rows, row_labels = [], []
    for ds_name in dict.fromkeys([src_ds, tgt_ds]):
        pair = cache.reconstructions(*key, ds_name, n, int(seed))
        rows += [pair[0], pair[1]]
        row_labels += [f"{ds_name}: original", f"{ds_name}: reconstruction"]
    grid = stack_rows(rows)
    fig = viz.image_grid(tile(grid), grid.shape[0], n, row_labels, None, title="Originals and reconstructions")
    st.plotly_chart(fig, key="tr-recon")
    widgets.download_images(partial(grid_png, grid), None, f"{info.name}-reconstructions", "tr-recon")

# -- your image -------------------------------------------------------------------------------------
st.subheader("Your image")
with guard("encode the uploaded image"):
    upload = st.file_uploader("A PNG or JPEG (centre-cropped to a square, resized to 64x64)",
                              type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="tr_upload")
    if upload is None:
        st.caption("Upload an image to see it encoded, reconstructed and traversed by the active run.")
    else:
        result = inspect_image(cache.model(*key), upload.getvalue(), steps, float(limit))
        left, right = st.columns([1, 4])
        with left:
            pair = result.pair
            fig = viz.image_grid(tile(pair), 2, 1, ["yours", "reconstruction"], None)
            st.plotly_chart(fig, key="tr-up-recon")
        with right:
            grid = result.traversal
            fig = viz.image_grid(tile(grid), grid.shape[0], steps, [f"dim {d}" for d in range(grid.shape[0])],
                                 value_labels, title="Traversal of your image's code")
            st.plotly_chart(fig, key="tr-up-trav")
        widgets.download_images(partial(grid_png, grid), partial(traversal_gif, grid), "your-image-traversal", "tr-up")
