"""Traversals & reconstructions: latent traversals, per-FoV traversals, reconstructions, your image,
for the active run and, side by side, a run to compare it with (by default a transfer's source, or
a source's most recent transfer): what did fine-tuning keep?"""

from __future__ import annotations

from functools import partial

import streamlit as st

from app_pages import cache, state, widgets
from app_pages.errors import guard
from drviz import checkpoints as ckpt
from drviz import viz
from drviz.data import available_datasets, get_dataset
from drviz.explorer import default_partner
from drviz.imaging import tile
from drviz.inspection import grid_png, inspect_image, stack_rows, traversal_gif, traversal_values

st.title("Traversals & reconstructions")
info = state.require_run()
dataset = state.dataset_of(info)

# -- the run to compare with ------------------------------------------------------------------------
infos = ckpt.list_runs()
names = [r.name for r in infos if r.name != info.name]
partner = state.compare_run().name if state.compare_run() is not None else default_partner(info, infos)
options = [state.NO_RUN] + names
if st.session_state.get("tr_compare") not in options or st.session_state.get("_tr_compare_for") != info.name:
    st.session_state["tr_compare"] = partner if partner in names else state.NO_RUN  # the default for this run
    st.session_state["_tr_compare_for"] = info.name
c0, c1, c2, c3 = st.columns([2, 1, 1, 1])
other_name = c0.selectbox("Compare with", options, key="tr_compare",
                          help="Shown side by side with the active run: by default a transfer's source, or a "
                               "source's most recent transfer.")
other = None if other_name == state.NO_RUN else ckpt.read_run(other_name)
shown = [info] + ([other] if other is not None else [])
st.caption(f"Run **{info.name}** ({info.config.method}, beta {info.config.beta:g})"
           + (f" and **{other.name}** ({other.config.method}, beta {other.config.beta:g})" if other else "")
           + f", images from **{dataset}** (change them in the sidebar). Dims are ranked by KL and labelled with "
             "the FoV OMES assigns them.")

steps = c1.slider("Traversal steps", 3, 15, 8, key="tr_steps")
limit = c2.slider("Traversal range (+- in prior std units)", 0.5, 4.0, 2.0, 0.25, key="tr_limit")
seed = c3.number_input("Anchor image (seed)", 0, 10_000, 0, key="tr_seed")
value_labels = [f"{v:+.1f}" for v in traversal_values(steps, limit)]


def side_by_side():
    """One column per shown run (one full-width container when alone)."""
    return st.columns(len(shown)) if len(shown) > 1 else [st.container()]


def ranked(run):
    """The run's dims, highest KL first, labelled (``drviz.explorer.rank_dims``)."""
    return cache.ranked_dims(*cache.key_of(run), dataset, state.eval_n(), state.eval_seed())


# -- every latent dim ------------------------------------------------------------------------------
st.subheader("Every latent dim")
for col, run in zip(side_by_side(), shown):
    with col, guard(f"traverse the latent dims of {run.name}"):
        grid, _ = cache.latent_traversal(*cache.key_of(run), dataset, int(seed), steps, float(limit))
        dims = ranked(run)
        grid = grid[[d.dim for d in dims]]
        fig = viz.image_grid(tile(grid), grid.shape[0], steps, [d.label for d in dims], value_labels,
                             title=f"{run.name}: each row sweeps one dim of the anchor's code")
        st.plotly_chart(fig, key=f"tr-latent-{run.name}")
        widgets.download_images(partial(grid_png, grid), partial(traversal_gif, grid), f"{run.name}-traversal",
                                f"tr-latent-{run.name}")
st.caption("Rows: highest mean KL to the prior (over 256 images) first; each dim is labelled with the FoV(s) "
           "OMES associates with it on the evaluation dataset; 'inactive' dims (std < 0.05, or KL near 0) do nothing.")

# -- each FoV along its dim -----------------------------------------------------------------------
st.subheader("Each FoV along its associated dim")
if not get_dataset(dataset).labelled:
    st.info(f"{dataset} has no factor labels: the FoV -> dim association needs them.")
else:
    for col, run in zip(side_by_side(), shown):
        with col, guard(f"traverse each FoV for {run.name}"):
            grid, labels = cache.fov_traversals(*cache.key_of(run), dataset, state.eval_n(), state.eval_seed(), steps,
                                                float(limit))
            fig = viz.image_grid(tile(grid), grid.shape[0], steps, labels, None,
                                 title=f"{run.name}: each FoV in the data, then its OMES dim traversed")
            st.plotly_chart(fig, key=f"tr-fov-{run.name}")
            widgets.download_images(partial(grid_png, grid), partial(traversal_gif, grid[1::2]),
                                    f"{run.name}-fov-traversal", f"tr-fov-{run.name}")
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
        for i, run in enumerate(shown):
            pair = cache.reconstructions(*cache.key_of(run), ds_name, n, int(seed))
            if i == 0:
                rows.append(pair[0])
                row_labels.append(f"{ds_name}: original")
            rows.append(pair[1])
            row_labels.append(f"{ds_name}: {run.name}" if other else f"{ds_name}: reconstruction")
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
        st.caption("Upload an image to see it encoded, reconstructed and traversed by "
                   + ("both runs." if other else "the active run."))
    else:
        results = [inspect_image(cache.model(*cache.key_of(run)), upload.getvalue(), steps, float(limit))
                   for run in shown]
        pair = stack_rows([results[0].pair[0]] + [r.pair[1] for r in results])
        labels = ["yours"] + [f"{run.name}" if other else "reconstruction" for run in shown]
        left, right = st.columns([1, 4])
        with left:
            st.plotly_chart(viz.image_grid(tile(pair), pair.shape[0], 1, labels, None), key="tr-up-recon")
        with right:
            for run, result in zip(shown, results):
                dims = ranked(run)
                grid = result.traversal[[d.dim for d in dims]]
                fig = viz.image_grid(tile(grid), grid.shape[0], steps, [d.label for d in dims], value_labels,
                                     title=f"Your image's code traversed by {run.name}")
                st.plotly_chart(fig, key=f"tr-up-trav-{run.name}")
                widgets.download_images(partial(grid_png, grid), partial(traversal_gif, grid),
                                        f"your-image-{run.name}-traversal", f"tr-up-{run.name}")

# -- a report to send -------------------------------------------------------------------------------
st.subheader("Report")
with guard("prepare the report"):
    from drviz.report import report_html

    st.caption("One self-contained HTML file (figures, images and plotly.js inside; opens offline in any browser) "
               "with the run's card, association matrix, per-FoV bars at alpha 0, 0.5 and 1, traversals and "
               "reconstructions" + (f", and {other.name} beside it." if other else "."))
    widgets.download("Report (HTML)", partial(report_html, info.name, other.name if other else None, dataset=dataset,
                                              n=state.eval_n(), seed=state.eval_seed(), scores=False),
                     f"{info.name}-report.html", "text/html", "tr-report", type="secondary")
