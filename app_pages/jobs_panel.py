"""The live view of background training jobs: this session's (with Cancel) and others' running ones."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.errors import guard
from app_pages.state import JUST_FINISHED
from drviz import jobs, viz
from drviz.errors import DrvizError

MY_JOBS = "my_jobs"  # session state: run folders of the jobs this session started


def remember_job(path: Path) -> None:
    st.session_state.setdefault(MY_JOBS, [])
    st.session_state[MY_JOBS] = st.session_state[MY_JOBS] + [str(path)]


def _fmt_eta(seconds) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


def _job_card(status, own: bool, key: str) -> None:
    with st.container(border=True):
        head = {"queued": ":material/hourglass_empty:", "running": ":material/autorenew:",
                "finished": ":material/check_circle:", "cancelled": ":material/cancel:",
                "failed": ":material/error:", "killed": ":material/error:"}[status.state]
        st.markdown(f"{head} **{status.run}**: {status.state}")
        text = f"step {status.step:,} of {status.total:,}"
        if status.state == "queued":
            text += f" · queued: {jobs.max_jobs()} job(s) train at once (DRVIZ_MAX_JOBS); it starts when one ends"
        elif status.state == "running" and status.step == 0:
            text += " · starting (loading torch and rendering the first batches)"
        if status.loss is not None:
            text += f" · loss {status.loss:.2f} (recon {status.recon:.2f}, KL {status.kl:.2f})"
        if status.images_per_s:
            text += f" · {status.images_per_s:,.0f} images/s"
        if status.state == "running" and status.step:
            text += f" · ETA {_fmt_eta(status.eta_s)}"
        st.progress(min(max(status.fraction, 0.0), 1.0), text=text)
        if status.error:
            st.error(status.error)
        if status.history and len(status.history) > 1:
            st.plotly_chart(viz.loss_curve(status.history, height=220), key=f"{key}-curve",
                            config={"displayModeBar": False})
        if status.state in jobs.ACTIVE and own:
            if st.button("Cancel", key=f"{key}-cancel", icon=":material/stop_circle:"):
                jobs.cancel_job(status.path)
                st.toast(f"Cancelling {status.run}: it saves a checkpoint and stops.")
        elif status.state == "finished":
            st.caption("Done: the run is now in the sidebar's pickers.")
        elif status.state == "cancelled":
            st.caption("Cancelled: its last checkpoint is kept and can be used like any run.")


def _job_statuses():
    mine = []
    for path in st.session_state.get(MY_JOBS, []):
        try:
            mine.append(jobs.job_status(path))
        except DrvizError:
            continue
    own = {str(s.path) for s in mine}
    others = [s for s in jobs.active_jobs() if str(s.path) not in own]
    return mine, others


def _render_jobs(section: str) -> None:
    mine, others = _job_statuses()
    running_before = st.session_state.get(f"_running_{section}", set())
    running_now = {str(s.path) for s in mine if s.state in jobs.ACTIVE}
    for status in reversed(mine):
        _job_card(status, True, f"{section}-{status.run}")
    for status in others:
        _job_card(status, False, f"{section}-{status.run}")
    if others:
        st.caption("Jobs without a Cancel button were started from another browser session.")
    st.session_state[f"_running_{section}"] = running_now
    ended = running_before - running_now
    if ended:
        for status in mine:
            if str(status.path) in ended and status.state == "finished":
                st.session_state[JUST_FINISHED] = status.run
        st.rerun()  # a job ended: refresh the whole app so that its run shows up in the pickers


@st.fragment(run_every=1.0)
def _live_jobs(section: str) -> None:
    with guard("show the training progress"):
        _render_jobs(section)


def show(section: str) -> None:
    """Progress of this session's jobs (and others' running ones), live while any is running."""
    with guard("read the training jobs"):
        mine, others = _job_statuses()
        if not mine and not others:
            st.caption("No training jobs yet in this session.")
            return
        if any(s.state in jobs.ACTIVE for s in mine + others):
            _live_jobs(section)
        else:
            _render_jobs(section)
