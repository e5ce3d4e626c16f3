"""Study: a study's results (transfer table, methods across seeds, OMES vs DCI / MIG, metric
agreement, per-FoV OMES across runs), its findings, and the progress of a running study."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import streamlit as st

from app_pages import widgets
from app_pages.errors import guard
from drviz.study import background, figures, results, runner
from drviz.study.spec import presets_root, studies_root

st.title("Study")
st.caption("A study is a declared grid (sources x methods x seeds, each transferred to every target, all "
           "evaluated), run as resumable jobs: `python -m drviz study run PRESET` on this machine (joblib) or a "
           "Dask cluster (`--scheduler`). Its folder under `studies/` holds results.csv, one row per (run, dataset).")


@st.cache_data(show_spinner=False)
def _load(folder: str, stamp: tuple) -> tuple:
    df, fov = results.load_results(folder)
    return df, fov, results.findings(df, fov)


def _stamp(folder: Path) -> tuple:
    return tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None
                 for p in (folder / results.RESULTS, folder / results.FOV_RESULTS))


root = studies_root()
folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "study.toml").is_file()) if root.is_dir() else []
presets = sorted(p.stem for p in presets_root().glob("*.toml"))

with st.expander("Run a preset", expanded=not folders):
    with guard("start the study"):
        c1, c2 = st.columns([3, 1])
        preset = c1.selectbox("Preset", presets, key="study_preset",
                              help="smoke: a minute, checks the pipeline; paper-mini: about an hour on 2 cores; "
                                   "paper: the official budgets, for a GPU cluster")
        c2.write("")
        if c2.button("Run", key="study_start", icon=":material/play_arrow:"):
            out = background.start_study(preset)
            st.session_state["study_folder"] = out.name
            st.success(f"Started {preset} in {out} (queued with the training jobs; resumes where it stopped).")
            folders = sorted(set(folders) | {out})

if not folders:
    st.info(f"No study folder under {root} yet: run a preset above, or `python -m drviz study run smoke`.")
    st.stop()

names = [p.name for p in folders]
default = names.index(st.session_state["study_folder"]) if st.session_state.get("study_folder") in names else (
    names.index("paper-mini") if "paper-mini" in names else 0)
name = st.selectbox("Study folder", names, index=default, key="study_folder")
folder = root / name


def _progress() -> None:
    with guard("read the study's progress"):
        states = runner.study_status(folder)
        counts = Counter(s.state for s in states)
        running = counts.get("running", 0) or background.study_running(folder)
        frac = runner.progress_fraction(states)
        text = (f"{counts.get('done', 0)} of {len(states)} jobs done, {counts.get('running', 0)} running, "
                f"{counts.get('pending', 0)} pending" + (f", {counts['failed']} failed" if counts.get("failed") else ""))
        if frac < 1 or running:
            st.progress(frac, text=text)
            tail = background.log_tail(folder)
            if tail:
                st.code(tail, language=None)
        else:
            st.caption(f"All {len(states)} jobs done.")
        for s in states:
            if s.state == "failed":
                st.warning(f"{s.job.id} failed: {s.detail.get('error', 'see study.log')}")


_progress()

with guard("load the study's results"):
    df, fov, found = _load(str(folder), _stamp(folder))
    if df.empty:
        st.info("No rows yet: they appear as evaluations finish.")
        st.stop()

    st.subheader("Findings")
    for i, line in enumerate(found.lines):
        claim = {"1": 1, "3": 3}.get(line[:1])
        ok = found.holds.get(claim) if claim else None
        if claim and ok is False:
            st.warning(line + " The claim does not hold in this study (see the study file for the budget it used).",
                       icon=":material/warning:")
        elif claim and ok is None:
            st.info(line, icon=":material/info:")
        else:
            st.markdown(f"- {line}")

    st.subheader("Transfer: before and after fine-tuning")
    st.caption("One row per (source run, target): the source on the target (before) and its fine-tuned copy on the "
               "target (after). GBT accuracy per FoV averaged, on the full code and on the FoV's OMES dim (pruned).")
    tt = results.transfer_table(df)
    if tt.empty:
        st.caption("This study has no transfers.")
    else:
        st.dataframe(tt.round(3), hide_index=True, width="stretch")
        widgets.download_table(tt, f"{name}-transfer", "study-transfer")
        if not found.fov_transfer.empty:
            st.markdown("**Per FoV** (mean over the sources): OMES and GBT accuracy, full and pruned, before / after")
            st.dataframe(found.fov_transfer.round(3), hide_index=True, width="stretch")
            widgets.download_table(found.fov_transfer, f"{name}-transfer-fov", "study-transfer-fov")

    st.subheader("Methods across seeds")
    score = st.selectbox("Score", ["omes", "os", "mes", "dci", "mig", "gbt_full", "gbt_pruned"], key="study_score",
                         format_func=lambda c: figures.LABELS.get(c, c))
    fig = figures.method_strip(df, score)
    st.plotly_chart(fig, key="study-strip")
    widgets.download_figure(fig, f"{name}-{score}-by-method", "study-strip", data=df[["run", "method", "seed",
                                                                                        "dataset", "role", score]])

    st.subheader("OMES against DCI and MIG")
    own = df[df.role.isin(["source", "after"])]
    st.caption(f"{len(own)} runs, each on the dataset it trained on; Spearman's rank correlation and its p-value.")
    c1, c2 = st.columns(2)
    for col, other in ((c1, "dci"), (c2, "mig")):
        with col:
            fig = figures.score_scatter(own, other, "omes")
            st.plotly_chart(fig, key=f"study-scatter-{other}")
            widgets.download_figure(fig, f"{name}-omes-vs-{other}", f"study-scatter-{other}")

    st.subheader("Metric agreement")
    if found.agreement is None:
        st.caption("Needs at least 3 runs.")
    else:
        ag = found.agreement
        c1, c2 = st.columns(2)
        with c1:
            m = ag.rho.loc[list(ag.metrics), list(ag.metrics)]
            fig = figures.agreement_heatmap(m, "Spearman rho between metrics")
            st.plotly_chart(fig, key="study-agreement")
            widgets.download_figure(fig, f"{name}-agreement", "study-agreement", data=m)
        with c2:
            if ag.against:
                a = ag.against_table()
                fig = figures.agreement_heatmap(a, "Each metric against ELBO, reconstruction, accuracy")
                st.plotly_chart(fig, key="study-against")
                widgets.download_figure(fig, f"{name}-against", "study-against", data=a)
        for note in ag.notes:
            st.caption(note)

    st.subheader("Per-FoV OMES across runs")
    mat = results.fov_matrix(fov)
    if mat.empty:
        st.caption("No per-FoV scores yet.")
    else:
        fig = figures.fov_heatmap(mat)
        st.plotly_chart(fig, key="study-fov")
        widgets.download_figure(fig, f"{name}-fov-omes", "study-fov", data=mat)

    st.subheader("Tables")
    st.dataframe(df.drop(columns=["config"], errors="ignore"), hide_index=True, width="stretch")
    with st.container(horizontal=True, gap="small"):
        widgets.download("results.csv", df.to_csv(index=False).encode(), f"{name}-results.csv", "text/csv",
                         "study-results-csv")
        widgets.download("results_fov.csv", fov.to_csv(index=False).encode(), f"{name}-results_fov.csv", "text/csv",
                         "study-fovtable-csv")
