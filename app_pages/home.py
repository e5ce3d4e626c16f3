"""Home: what each page does and the active run's headline numbers."""

from __future__ import annotations

import streamlit as st

from app_pages import cache, state
from app_pages.errors import guard
from drviz import checkpoints as ckpt
from drviz.catalog import run_status
from drviz.evaluation import headline_scores

st.title("drviz")
st.markdown(
    "Explore **disentangled representations** and how they **transfer from synthetic to real images** "
    "(Dapueto, Noceti, Odone, NeurIPS 2024). A VAE trained on a synthetic source (e.g. Color-dSprites) is "
    "fine-tuned on a target; **OMES** = alpha * OS + (1 - alpha) * MES reads, from a dims x FoVs "
    "association matrix, how cleanly each factor of variation (FoV) lives in one latent dim."
)

with guard("show the active run"):
    info = state.active_run()
    if info is None:
        state.no_runs_message()
    else:
        st.subheader(f"Active run: {info.name}")
        c = info.config
        lineage = ckpt.lineage(info)
        st.markdown(f"Trained on **{c.dataset}** with **{c.method}** (beta {c.beta:g}, {c.latent_dim} latent dims)"
                    f" · lineage: {' -> '.join(lineage)} · {run_status(info)}")
        loss = info.state.get("loss")
        numbers = {"Steps": f"{info.step:,}", "Final loss": "-" if loss is None else f"{loss:.1f}"}
        numbers.update({label: f"{value:.4f}" for label, value in headline_scores(info.metrics).items()})
        for col, (label, value) in zip(st.columns(max(len(numbers), 4)), numbers.items()):
            col.metric(label, value)
        if info.metrics:  # say where the stored numbers come from: other pages encode their own samples
            m = info.metrics
            scored = m.get("step")
            st.caption(f"Scores stored by `drviz evaluate`: {m.get('n', 0):,} samples of {m.get('dataset', '?')}, "
                       f"seed {m.get('seed', 0)}"
                       + (f", at step {scored:,} (the run is now at {info.step:,})" if isinstance(scored, int)
                          and scored != info.step else "")
                       + f". The OMES page encodes {state.eval_n():,} samples (sidebar): its numbers differ from "
                         "these by sampling noise.")
        if len(numbers) == 2:
            asked = st.session_state.setdefault("_home_omes", set())
            dataset = state.dataset_of(info)
            job = (info.name, dataset, state.eval_n(), state.eval_seed())
            if job in asked:
                with guard("compute OMES"):
                    comps, _ = cache.omes(*cache.key_of(info), dataset, state.eval_n(), state.eval_seed())
                    score = comps.score(0.5, "avg")
                    st.metric(f"OMES on {dataset} (alpha 0.5, avg pooling)", "n/a" if score is None else f"{score:.4f}")
            else:
                st.caption("No stored scores for this run yet.")
                if st.button("Compute OMES (a few seconds)", key="home-omes", icon=":material/calculate:"):
                    asked.add(job)
                    st.rerun()

st.subheader("Pages")
GUIDE = (
    ("app_pages/models.py", "Models",
     "Every run with its config, lineage, loss curve and scores. Train a new source model in the background, "
     "import a run (zip) or download one."),
    ("app_pages/transfer.py", "Transfer",
     "Fine-tune a source run on a target dataset, then compare before and after: per-FoV accuracy on the full "
     "and the pruned representation, OS, MES, OMES, DCI, MIG and reconstructions."),
    ("app_pages/omes.py", "OMES explorer",
     "The association-matrix heatmap and per-FoV OS / MES / OMES bars that follow the alpha slider; two runs "
     "side by side, synthetic matrices that teach the metric, and uploads in the reference format."),
    ("app_pages/traversals.py", "Traversals & reconstructions",
     "Every latent dim traversed, each FoV along its associated dim, reconstructions of source and target "
     "images, and your own image encoded, reconstructed and traversed; PNG and GIF downloads."),
)
for path, title, text in GUIDE:
    with st.container(border=True):
        st.page_link(path, label=f"**{title}**")
        st.caption(text)

st.caption("Pick the active run, a second run to compare and the evaluation dataset in the sidebar; "
           "they stay selected on every page.")
