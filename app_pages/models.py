"""Models: every run (config, lineage, loss curve, scores), training in the background, import/export."""

from __future__ import annotations

import streamlit as st

from app_pages import cache, jobs_panel, state, widgets
from app_pages.errors import guard
from drviz import archive, jobs, tables, viz
from drviz import checkpoints as ckpt
from drviz.catalog import run_status, runs_table
from drviz.config import LR_SCHEDULES, METHODS, PRECISIONS, RunConfig
from drviz.data import available_datasets
from drviz.metrics.registry import FAMILY_TEXT

st.title("Models")

# -- every run -----------------------------------------------------------------------------------
st.subheader("Runs")
with guard("list the runs"):
    infos, damaged = ckpt.scan_runs()
    if damaged:
        with st.expander(f":material/warning: {len(damaged)} run folder(s) cannot be read and are left out"):
            for bad in damaged:
                st.text(bad.reason)  # plain text: a folder's files are outside input
    if not infos:
        state.no_runs_message()
    else:
        table = runs_table(infos)
        st.dataframe(table, hide_index=True, width="stretch")
        widgets.download_table(table, "runs", "runs-table")

        names = [r.name for r in infos]
        active = st.session_state.get(state.RUN)
        pick = st.selectbox("Inspect a run", names, index=names.index(active) if active in names else 0,
                            key="models_inspect")
        info = ckpt.read_run(pick)
        left, right = st.columns([3, 2])
        with left:
            with guard("draw the loss curve"):
                hist = cache.history(*cache.key_of(info))
                if hist:
                    fig = viz.loss_curve(hist, title=f"{info.name}: training loss")
                    st.plotly_chart(fig, key="models-loss")
                    widgets.download_figure(fig, f"{info.name}-loss", "models-loss")
                else:
                    st.caption("No loss history recorded for this run.")
        with right:
            st.markdown(f"**Lineage**: {' -> '.join(ckpt.lineage(info))}")
            st.markdown(f"**Status**: {run_status(info)}")
            for note in info.notes:
                st.text(note)  # plain text, never markdown: an imported run's notes are outside input
            # every stored score, grouped by family (intervention, information, predictor)
            every = tables.run_scores_table(info.metrics)
            for family, part in every[every["value"].notna()].groupby("family", sort=False):
                st.caption(FAMILY_TEXT[family])
                items = list(zip(part["score"], part["value"], part["measures"]))
                for row in range(0, len(items), 3):  # three per row: more side by side get truncated
                    for col, (label, value, measures) in zip(st.columns(3), items[row:row + 3]):
                        col.metric(label, f"{value:.4f}", help=f"measures {measures}")
            if every["value"].isna().any():
                with st.expander("Every metric (including those not stored for this run)"):
                    st.caption(f"'None': not in metrics.json; `python -m drviz evaluate {info.name}` computes them all.")
                    st.dataframe(every, hide_index=True, width="stretch")
            with st.expander("Metric families (the paper's table)"):
                st.dataframe(tables.metric_table(), hide_index=True, width="stretch")
            with st.expander("Config", expanded=False):
                config = {"config": info.config.to_json(), "model": info.spec.to_json(), "notes": list(info.notes)}
                st.json(config)
                widgets.download("config.json", widgets.json_bytes(config), f"{info.name}-config.json",
                                 "application/json", "models-config")
            if info.metrics:
                with st.expander("Stored scores (metrics.json)"):
                    st.json(info.metrics)
                    widgets.download("metrics.json", widgets.json_bytes(info.metrics), f"{info.name}-metrics.json",
                                     "application/json", "models-metrics")
            widgets.download("Download run (zip)", lambda: archive.export_zip(info.path), f"{info.name}.zip",
                             "application/zip", "models-export", type="secondary")
            with st.popover("Delete this run", icon=":material/delete:"):
                st.caption(f"Removes the folder {info.name} and its stored scores; this cannot be undone.")
                sure = st.checkbox(f"Yes, delete {info.name}", key=f"models-delete-sure-{info.name}")
                if st.button("Delete", type="primary", disabled=not sure, key=f"models-delete-{info.name}"):
                    jobs.delete_run(info.path)
                    st.rerun()

# -- train a new source model --------------------------------------------------------------------
st.subheader("Train a new source model")
st.caption("Training runs in the background (one CPU thread): it keeps going when you switch pages or "
           "close the tab, and the run shows up in the sidebar when done. On CPU, 2,000 steps take a few "
           "minutes; weak methods (Ada-GVAE, GVAE-labels) need a labelled dataset.")
with guard("prepare the training form"):
    datasets = available_datasets()
    with st.form("train_form"):
        c1, c2, c3 = st.columns(3)
        dataset = c1.selectbox("Dataset", datasets,
                               index=datasets.index("color_dsprites") if "color_dsprites" in datasets else 0)
        method = c2.selectbox("Method", METHODS, index=list(METHODS).index("ada_gvae"),
                              help="beta_vae: unsupervised. ada_gvae / gvae_labels: weakly supervised on pairs.")
        beta = c3.number_input("beta", 0.0, 100.0, 1.0, step=0.5)
        c4, c5, c6 = st.columns(3)
        latent = c4.number_input("Latent dim", 1, 64, 10)
        steps = c5.number_input("Steps", 10, 1_000_000, 2000, step=500)
        seed = c6.number_input("Seed", 0, 100_000, 0)
        c7, c8 = st.columns(2)
        precision = c7.selectbox("Precision", PRECISIONS, help=widgets.PRECISION_HELP)
        schedule = c8.selectbox("lr schedule", LR_SCHEDULES,
                                help="constant, or plateau: halve the lr after 5 windows of 1,000 steps without "
                                     "a 0.1% loss improvement (the paper's Adam with reduce-on-plateau)")
        name = st.text_input("Run name (optional)", placeholder="generated from dataset, method, seed and time")
        submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if submitted:
        config = RunConfig(dataset=dataset, method=method, beta=float(beta), latent_dim=int(latent),
                           steps=int(steps), seed=int(seed), checkpoint_every=max(50, min(500, int(steps) // 4)),
                           precision=precision, lr_schedule=schedule)
        path = jobs.start_job(config, name.strip() or None)
        jobs_panel.remember_job(path)
        st.success(f"Started {path.name}; its progress is below.")

st.subheader("Training jobs")
jobs_panel.show("models")

# -- import -------------------------------------------------------------------------------------
st.subheader("Import a run")
with guard("import the run"):
    upload = st.file_uploader("A run folder as a zip (from *Download run (zip)*)", type=["zip"], key="import_zip")
    if upload is not None:
        done = st.session_state.setdefault("_imported", {})
        if upload.file_id not in done:
            info = archive.import_zip(upload.getvalue())
            done[upload.file_id] = info.name
            st.rerun()  # refresh the sidebar's pickers
        st.success(f"Imported as **{done[upload.file_id]}**; pick it in the sidebar.")
