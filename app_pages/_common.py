"""Shared page helpers: the sidebar selection, cached calls into drviz, error guards, downloads
and the live view of background training jobs.

Pages hold widgets and call ``drviz``; the caching lives here so that every page shares it:
models in ``st.cache_resource`` (one object per run version), arrays and scores in
``st.cache_data``, keyed by the run folder, its weights' version, the dataset, n and the seed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

import streamlit as st

from drviz import checkpoints as ckpt
from drviz import explore, viz
from drviz.errors import DrvizError

log = logging.getLogger("drviz.app")

# Keys of the shared sidebar widgets (defined in app.py, so they keep their values on every page).
RUN, RUN2, DATASET, EVAL_N, EVAL_SEED = "run", "run2", "dataset", "eval_n", "eval_seed"
OWN_DATASET = "(the run's own dataset)"
NO_RUN = "(none)"
MY_JOBS = "my_jobs"
JUST_FINISHED = "_just_finished"  # a run this session's job just finished: pages may pre-select it
PRECISION_HELP = ("auto: bf16 autocast where the machine has fast bf16 (CPUs with AVX512-BF16 or AMX, most "
                  "CUDA GPUs; about 1.6x faster there), fp32 elsewhere. bf16 on a CPU without it is emulated "
                  "and several times slower.")
DEFAULT_RUNS = ("color_dsprites-ada_gvae", "color_dsprites-gvae_labels", "color_dsprites-beta_vae")


# ---------------------------------------------------------------------------------------------
# Errors: a message on the page, never a traceback
# ---------------------------------------------------------------------------------------------
def show_error(exc: BaseException, what: str) -> None:
    if isinstance(exc, DrvizError):
        st.error(str(exc), icon=":material/error:")
        return
    log.exception("unexpected error while trying to %s", what)
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    st.error(f"Could not {what}: {type(exc).__name__}{': ' + first if first else ''}. "
             "This is a bug in drviz, not in your input; the server log has the details.",
             icon=":material/error:")


@contextlib.contextmanager
def guard(what: str):
    """Run a page section; a DrvizError shows its one-line message, anything else a short note.

    Streamlit's own control flow (st.rerun, st.stop) derives from BaseException and passes through.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the user must never see a traceback
        show_error(exc, what)


# ---------------------------------------------------------------------------------------------
# The sidebar: active run, comparison run, evaluation dataset (widgets live in app.py)
# ---------------------------------------------------------------------------------------------
def runs() -> list:
    return explore.usable_runs()


def sidebar() -> None:
    """Render the shared pickers; called by app.py on every rerun, before the page."""
    infos = runs()
    names = [r.name for r in infos]
    labels = {r.name: explore.run_label(r) for r in infos}
    sb = st.sidebar
    sb.markdown("### Runs")
    if not names:
        sb.info("No trained runs yet: open **Models** to train one.")
        return
    if RUN not in st.session_state or st.session_state[RUN] not in names:
        st.session_state[RUN] = next((n for n in DEFAULT_RUNS if n in names), names[0])
    sb.selectbox("Active run", names, key=RUN, format_func=lambda n: labels.get(n, n),
                 help="The model every page shows. Runs appear here once they have weights.")
    sb.selectbox("Compare with", [NO_RUN] + names, key=RUN2, format_func=lambda n: labels.get(n, n),
                 help="A second run shown side by side (e.g. a source and its transfer).")
    datasets = explore.available_datasets()
    sb.selectbox("Evaluate on", [OWN_DATASET] + datasets, key=DATASET,
                 help="Dataset used to encode samples for OMES, traversals and reconstructions.")
    with sb.expander("Evaluation settings"):
        st.number_input("Samples encoded", 500, 50_000, explore.DEFAULT_N, step=500, key=EVAL_N,
                        help="Rows encoded per (run, dataset) for OMES; more is steadier and slower "
                             "(about 2,000 images/s on one CPU core).")
        st.number_input("Seed", 0, 10_000, 0, key=EVAL_SEED)


def _by_name(name: str | None):
    if not name or name == NO_RUN:
        return None
    try:
        return ckpt.read_run(name)
    except DrvizError:
        return None


def active_run():
    return _by_name(st.session_state.get(RUN))


def compare_run():
    info = _by_name(st.session_state.get(RUN2))
    return None if info is None or info.name == st.session_state.get(RUN) else info


def dataset_of(info) -> str:
    """The evaluation dataset: the sidebar's choice, or the run's own dataset."""
    choice = st.session_state.get(DATASET, OWN_DATASET)
    return info.config.dataset if choice in (None, OWN_DATASET) else choice


def eval_n() -> int:
    return int(st.session_state.get(EVAL_N, explore.DEFAULT_N))


def eval_seed() -> int:
    return int(st.session_state.get(EVAL_SEED, 0))


def key_of(info) -> tuple[str, int]:
    """(run folder, weights version): the cache key of a run's model."""
    return str(info.path), explore.weights_version(info.path)


def no_runs_message() -> None:
    st.info(
        "There are no trained runs in `checkpoints/` yet, so there is nothing to show here. "
        "Open **Models** and train a source model from the browser (a few hundred steps take a "
        "minute or two on CPU), or on the command line:\n\n"
        "```\npython -m drviz train --dataset color_dsprites --method ada_gvae --steps 2000\n```\n"
        "Runs appear in the sidebar as soon as their first checkpoint is written.",
        icon=":material/info:",
    )


def require_run():
    """The active run, or an explanation and a stop when there is none."""
    info = active_run()
    if info is None:
        no_runs_message()
        st.stop()
    return info


# ---------------------------------------------------------------------------------------------
# Cached calls into drviz
# ---------------------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner="Loading the model ...")
def model(path: str, version: int):
    return ckpt.load_run(path).model


@st.cache_data(max_entries=16, show_spinner="Encoding samples ...")
def representation(path: str, version: int, dataset: str, n: int, seed: int):
    return explore.representation(model(path, version), dataset, n, seed)


@st.cache_data(max_entries=32, show_spinner="Computing the association matrix ...")
def omes(path: str, version: int, dataset: str, n: int, seed: int):
    """(OMES components, values per FoV): the expensive, alpha-independent part."""
    rep = representation(path, version, dataset, n, seed)
    return explore.omes_of(rep, seed), explore.value_counts(rep)


@st.cache_data(max_entries=8, show_spinner="Reading the uploaded representation ...")
def uploaded_omes(npz_bytes: bytes, csv_bytes: bytes, seed: int):
    rep = explore.uploaded_representation(npz_bytes, csv_bytes)
    return explore.omes_of(rep, seed), explore.value_counts(rep), rep.n_samples, rep.n_dims


@st.cache_data(max_entries=16, show_spinner=False)
def preset(kind: str, n_dims: int, n_factors: int, seed: int):
    return explore.preset_components(kind, n_dims, n_factors, seed)


@st.cache_data(max_entries=8, show_spinner="Training the GBT classifiers for accuracy and DCI (CPU: up to a minute) ...")
def scores(path: str, version: int, dataset: str, n: int, seed: int):
    return explore.scores_of(representation(path, version, dataset, n, seed), seed)


@st.cache_data(max_entries=16, show_spinner="Reconstructing ...")
def reconstructions(path: str, version: int, dataset: str, n: int, seed: int):
    return explore.reconstructions(model(path, version), dataset, n, seed)


@st.cache_data(max_entries=16, show_spinner="Traversing the latent space ...")
def latent_traversal(path: str, version: int, dataset: str, seed: int, steps: int, limit: float):
    mdl = model(path, version)
    anchor = explore.samples(dataset, 1, seed, mdl.spec.channels)[0]
    kl = explore.dim_activity(mdl, dataset, 256, seed)
    return explore.latent_traversal(mdl, anchor, steps, limit), explore.dim_labels(kl)


@st.cache_data(max_entries=16, show_spinner="Traversing each FoV ...")
def fov_traversals(path: str, version: int, dataset: str, n: int, seed: int, steps: int, limit: float):
    comps, _ = omes(path, version, dataset, n, seed)
    return explore.fov_traversals(model(path, version), dataset, comps.dims, steps, limit, seed)


@st.cache_data(max_entries=8, show_spinner=False)
def history(path: str, version: int):
    return ckpt.read_history(Path(path))


# ---------------------------------------------------------------------------------------------
# Downloads (every table and figure)
# ---------------------------------------------------------------------------------------------
def _png_or_none(fig):
    def make():
        try:
            return viz.figure_png(fig)
        except Exception:  # noqa: BLE001 - the download then holds the HTML; see the button's help
            log.exception("PNG export failed")
            return viz.figure_html(fig)
    return make


def _row():
    return st.container(horizontal=True, gap="small")


def download_figure(fig, name: str, key: str, data=None) -> None:
    """PNG (rendered on click) and JSON buttons for a figure; ``data`` (a DataFrame) adds CSV."""
    with _row():
        if viz.png_export_available():
            st.download_button("PNG", _png_or_none(fig), f"{name}.png", "image/png", key=f"{key}-png",
                               icon=":material/download:", on_click="ignore", type="tertiary")
        else:
            st.download_button("HTML", viz.figure_html(fig), f"{name}.html", "text/html", key=f"{key}-html",
                               icon=":material/download:", on_click="ignore", type="tertiary",
                               help="PNG export needs Chromium on the server; this is the interactive figure.")
        st.download_button("JSON", fig.to_json, f"{name}.json", "application/json", key=f"{key}-json",
                           icon=":material/download:", on_click="ignore", type="tertiary")
        if data is not None:
            st.download_button("CSV", data.to_csv(index=True).encode(), f"{name}.csv", "text/csv",
                               key=f"{key}-csv", icon=":material/download:", on_click="ignore", type="tertiary")


def download_table(df, name: str, key: str, index: bool = False) -> None:
    with _row():
        st.download_button("CSV", df.to_csv(index=index).encode(), f"{name}.csv", "text/csv", key=f"{key}-csv",
                           icon=":material/download:", on_click="ignore", type="tertiary")
        st.download_button("JSON", df.to_json(orient="records", indent=2).encode(), f"{name}.json",
                           "application/json", key=f"{key}-json", icon=":material/download:", on_click="ignore",
                           type="tertiary")


def download_images(png: bytes | None, gif: bytes | None, name: str, key: str) -> None:
    with _row():
        if png is not None:
            st.download_button("PNG", png, f"{name}.png", "image/png", key=f"{key}-png",
                               icon=":material/download:", on_click="ignore", type="tertiary")
        if gif is not None:
            st.download_button("GIF", gif, f"{name}.gif", "image/gif", key=f"{key}-gif",
                               icon=":material/download:", on_click="ignore", type="tertiary")


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, default=str) + "\n").encode()


# ---------------------------------------------------------------------------------------------
# Background jobs
# ---------------------------------------------------------------------------------------------
def remember_job(path: Path) -> None:
    st.session_state.setdefault(MY_JOBS, [])
    st.session_state[MY_JOBS] = st.session_state[MY_JOBS] + [str(path)]


def _fmt_eta(seconds) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


def _job_card(status, own: bool, key: str) -> None:
    from drviz import jobs

    with st.container(border=True):
        head = {"running": ":material/autorenew:", "finished": ":material/check_circle:",
                "cancelled": ":material/cancel:", "failed": ":material/error:"}[status.state]
        st.markdown(f"{head} **{status.run}**: {status.state}")
        text = f"step {status.step:,} of {status.total:,}"
        if status.state == "running" and status.step == 0:
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
        if status.state == "running" and own:
            if st.button("Cancel", key=f"{key}-cancel", icon=":material/stop_circle:"):
                jobs.cancel_job(status.path)
                st.toast(f"Cancelling {status.run}: it saves a checkpoint and stops.")
        elif status.state == "finished":
            st.caption("Done: the run is now in the sidebar's pickers.")
        elif status.state == "cancelled":
            st.caption("Cancelled: its last checkpoint is kept and can be used like any run.")


def _job_statuses():
    from drviz import jobs

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
    running_now = {str(s.path) for s in mine if s.state == "running"}
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


def jobs_panel(section: str) -> None:
    """Progress of this session's jobs (and others' running ones), live while any is running."""
    with guard("read the training jobs"):
        mine, others = _job_statuses()
        if not mine and not others:
            st.caption("No training jobs yet in this session.")
            return
        if any(s.state == "running" for s in mine + others):
            _live_jobs(section)
        else:
            _render_jobs(section)
