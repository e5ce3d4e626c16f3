"""Transfer: fine-tune a source run on a target dataset, then compare before and after."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import streamlit as st

from app_pages import cache, jobs_panel, state, widgets
from app_pages.errors import guard
from drviz import checkpoints as ckpt
from drviz import evaluation, jobs, viz
from drviz.catalog import run_status, source_moved_on, transfer_map
from drviz.config import METHODS, PRECISIONS
from drviz.data import available_datasets, get_dataset
from drviz.imaging import tile
from drviz.inspection import grid_png, stack_rows
from drviz.tables import transfer_notes, transfer_tables
from drviz.training import transfer_config

st.title("Transfer")
st.markdown("Fine-tune a model trained on a synthetic source on a target dataset (the paper: unsupervised, "
            "lr 1e-4, the source's beta), then see what the transfer kept: per-FoV accuracy on the full and the "
            "OMES-pruned representation, OS, MES, OMES, DCI and MIG, and the target's reconstructions.")

info = state.require_run()
infos = ckpt.list_runs()
names = [r.name for r in infos]
default_source = info.config.init_from if info.config.init_from else info.name
default_source = default_source if default_source in names else names[0]

# -- fine-tune -----------------------------------------------------------------------------------
st.subheader("Fine-tune")
with guard("prepare the fine-tuning form"):
    datasets = available_datasets()
    with st.form("transfer_form"):
        c1, c2 = st.columns(2)
        source = c1.selectbox("Source run", names, index=names.index(default_source))
        target = c2.selectbox("Target dataset", datasets,
                              index=datasets.index("real_objects") if "real_objects" in datasets else 0)
        c3, c4, c5, c6 = st.columns(4)
        steps = c3.number_input("Steps", 10, 1_000_000, 1000, step=250)
        lr = c4.selectbox("Learning rate", [1e-5, 3e-5, 1e-4, 3e-4, 1e-3], index=2, format_func=lambda v: f"{v:.0e}")
        method = c5.selectbox("Objective", METHODS, index=0,
                              help="beta_vae (the paper's choice) needs no labels; the weak methods need a "
                                   "labelled target.")
        seed = c6.number_input("Seed", 0, 100_000, 0)
        precision = st.selectbox("Precision", PRECISIONS, help=widgets.PRECISION_HELP)
        submitted = st.form_submit_button("Start fine-tuning", type="primary", icon=":material/play_arrow:")
    if submitted:
        config = transfer_config(source, target, steps=int(steps), lr=float(lr), method=method, seed=int(seed),
                                 precision=precision)
        config = replace(config, checkpoint_every=max(50, min(500, int(steps) // 4)))
        path = jobs.start_job(config, f"{source}-to-{target}-s{int(seed)}")
        jobs_panel.remember_job(path)
        st.success(f"Started {path.name}; its progress is below. It appears under *Transfer run* when done.")

jobs_panel.show("transfer")

# -- before / after -------------------------------------------------------------------------------
st.subheader("Before and after")
with guard("pick the runs to compare"):
    by_source = transfer_map(infos)
    sources = [n for n in names if n in by_source]
    done = st.session_state.pop(state.JUST_FINISHED, None)
    for src_name, tr_names in by_source.items():
        if done in tr_names:  # a fine-tuning job of this session just finished: show it
            st.session_state["ba_source"], st.session_state["ba_transfer"] = src_name, done
    if not sources:
        st.info("No transfer run yet: fine-tune one above. When it is done, this section compares the source "
                "model and the fine-tuned one on the target dataset.", icon=":material/info:")
        st.stop()
    if st.session_state.get("ba_source") not in sources:
        st.session_state.pop("ba_source", None)
    c1, c2 = st.columns(2)
    src_name = c1.selectbox("Source run", sources,
                            index=sources.index(default_source) if default_source in sources else 0, key="ba_source")
    transfers = by_source[src_name]
    if st.session_state.get("ba_transfer") not in transfers:
        st.session_state.pop("ba_transfer", None)  # chosen for another source: start from the default
    tr_default = info.name if info.name in transfers else transfers[-1]
    tr_name = c2.selectbox("Transfer run", transfers, index=transfers.index(tr_default), key="ba_transfer")
    src, tr = ckpt.read_run(src_name), ckpt.read_run(tr_name)
    target = tr.config.dataset
    st.caption(f"{src.name} ({src.config.dataset}) -> {tr.name}: fine-tuned on **{target}**, "
               f"{run_status(tr)}. Both models are evaluated on {target}.")
    moved = source_moved_on(src, tr)
    if moved:
        st.caption(f":material/info: {moved}.")

with guard("reconstruct target images"):
    seed = state.eval_seed()
    before = cache.reconstructions(*cache.key_of(src), target, 8, seed)
    after = cache.reconstructions(*cache.key_of(tr), target, 8, seed)
    grid = stack_rows([before[0], before[1], after[1]])
    fig = viz.image_grid(tile(grid), 3, grid.shape[1], ["target images", "before (source model)",
                                                        "after (fine-tuned)"], title=f"Reconstructions of {target}")
    st.plotly_chart(fig, key="ba-recon")
    widgets.download_images(partial(grid_png, grid), None, f"{tr.name}-reconstructions", "ba-recon")

with guard("score the representations before and after"):
    if not get_dataset(target).labelled:
        st.info(f"{target} has no factor labels, so only reconstructions can be compared.")
        st.stop()
    found = evaluation.stored_before_after(src.path, tr.path, target, state.eval_n(), seed)
    if found is None:
        job = (str(src.path), str(tr.path), target, state.eval_n(), seed)
        asked = st.session_state.setdefault("_scored", set())
        if job not in asked:
            st.caption("Accuracy and DCI train gradient-boosted classifiers per FoV: on CPU this takes up to a "
                       "minute for both models, once: the scores are stored for every later visit. "
                       f"`python -m drviz evaluate {src.name} --dataset {target}` and `... evaluate {tr.name}` "
                       "store the reference's settings instead.")
            if st.button("Compute before/after scores", type="primary", key="ba-compute", icon=":material/calculate:"):
                asked.add(job)
                st.rerun()
            st.stop()
        s_before = cache.scores(*cache.key_of(src), target, state.eval_n(), seed)
        s_after = cache.scores(*cache.key_of(tr), target, state.eval_n(), seed)
        origin = evaluation.stored_before_after(src.path, tr.path, target, state.eval_n(), seed)[2]
    else:
        s_before, s_after, origin = found
    per_fov, summary = transfer_tables(s_before, s_after, 0.5, "avg")
    st.caption(f"Scores {origin}.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Summary** (OMES at alpha 0.5, avg pooling)")
        st.dataframe(summary, hide_index=True, width="stretch")
        widgets.download_table(summary, f"{tr.name}-summary", "ba-summary")
    with right:
        fig = viz.before_after_bars(per_fov["FoV"].tolist(), per_fov["OMES before"].tolist(),
                                    per_fov["OMES after"].tolist(), title="Per-FoV OMES", y_title="OMES")
        st.plotly_chart(fig, key="ba-omes")
        widgets.download_figure(fig, f"{tr.name}-omes", "ba-omes")
    c1, c2 = st.columns(2)
    with c1:
        fig = viz.before_after_bars(per_fov["FoV"].tolist(), per_fov["acc full before"].tolist(),
                                    per_fov["acc full after"].tolist(), title="GBT accuracy, full representation",
                                    y_title="test accuracy")
        st.plotly_chart(fig, key="ba-acc-full")
        widgets.download_figure(fig, f"{tr.name}-acc-full", "ba-acc-full")
    with c2:
        fig = viz.before_after_bars(per_fov["FoV"].tolist(), per_fov["acc pruned before"].tolist(),
                                    per_fov["acc pruned after"].tolist(),
                                    title="GBT accuracy, pruned to the FoV's OMES dim", y_title="test accuracy")
        st.plotly_chart(fig, key="ba-acc-pruned")
        widgets.download_figure(fig, f"{tr.name}-acc-pruned", "ba-acc-pruned")
    st.markdown("**Per FoV**")
    st.dataframe(per_fov, hide_index=True, width="stretch")
    notes = transfer_notes(s_before, s_after)
    if notes:  # e.g. a test class never seen in training: its accuracy is not comparable
        st.caption(" ".join(notes))
    widgets.download_table(per_fov, f"{tr.name}-per-fov", "ba-per-fov")
