"""The shared selection: the sidebar's pickers (active run, comparison run, evaluation dataset,
sample count and seed) and what pages read from them, and the view as the URL's query parameters.

The widgets are drawn by ``sidebar()``, which app.py calls on every rerun before the page, so
their values survive page switches (Streamlit keeps a widget's value only while it is drawn).

Shareable links (issue 17): on a session's first run ``sidebar()`` reads ``run``, ``run2``,
``dataset``, ``alpha``, ``pooling``, ``seed`` and ``n`` from ``st.query_params`` through
``drviz.viewstate.parse_view`` (outside input: anything invalid falls back to the default with a
one-line notice), and on every run writes the current view back, so the address bar always holds
a link to what is on screen. alpha and pooling belong to the OMES page (pooling a widget, alpha
reported by its in-browser view): Streamlit forgets a widget's value on pages that do not draw it,
so their last values are kept in ``VIEW``.
"""

from __future__ import annotations

import streamlit as st

from drviz import checkpoints as ckpt
from drviz.catalog import default_run, run_label
from drviz.data import available_datasets
from drviz.errors import DrvizError
from drviz.evaluation import INTERACTIVE_N
from drviz.viewstate import Allowed, parse_view, view_params

# Keys of the shared sidebar widgets.
RUN, RUN2, DATASET, EVAL_N, EVAL_SEED = "run", "run2", "dataset", "eval_n", "eval_seed"
OWN_DATASET = "(the run's own dataset)"
NO_RUN = "(none)"
JUST_FINISHED = "_just_finished"  # a run this session's job just finished: pages may pre-select it
ALPHA, POOLING = "alpha", "pooling"  # the OMES page's view (``VIEW`` keys; pooling is also a widget key)
VIEW = "_view"  # alpha and pooling as last set, kept across pages (and read from a link)
_URL_READ, _URL_NOTICE = "_url_read", "_url_notice"
DEFAULT_ALPHA, DEFAULT_POOLING = 0.5, "avg"


def sidebar() -> None:
    """Render the shared pickers; called by app.py on every rerun, before the page."""
    infos = ckpt.list_runs()
    names = [r.name for r in infos]
    labels = {r.name: run_label(r) for r in infos}
    sb = st.sidebar
    sb.markdown("### Runs")
    if not names:
        sb.info("No trained runs yet: open **Models** to train one.")
        return
    datasets = available_datasets()
    _read_url(names, datasets)
    if RUN not in st.session_state or st.session_state[RUN] not in names:
        st.session_state[RUN] = default_run(names)
    sb.selectbox("Active run", names, key=RUN, format_func=lambda n: labels.get(n, n),
                 help="The model every page shows. Runs appear here once they have weights.")
    sb.selectbox("Compare with", [NO_RUN] + names, key=RUN2, format_func=lambda n: labels.get(n, n),
                 help="A second run shown side by side (e.g. a source and its transfer).")
    sb.selectbox("Evaluate on", [OWN_DATASET] + datasets, key=DATASET,
                 help="Dataset used to encode samples for OMES, traversals and reconstructions.")
    st.session_state.setdefault(EVAL_N, INTERACTIVE_N)  # set here, not as the widgets' value: a link may set them
    st.session_state.setdefault(EVAL_SEED, 0)
    with sb.expander("Evaluation settings"):
        st.number_input("Samples encoded", 500, 50_000, step=500, key=EVAL_N,
                        help="Rows encoded per (run, dataset) for OMES; more is steadier and slower "
                             "(about 2,000 images/s on one CPU core).")
        st.number_input("Seed", 0, 10_000, key=EVAL_SEED)
    notice = st.session_state.pop(_URL_NOTICE, None)
    if notice:
        st.warning(notice, icon=":material/link_off:")
    write_url()


# -- the view as query parameters -----------------------------------------------------------------
def _read_url(names: list[str], datasets: list[str]) -> None:
    """Once per session: the link's parameters into the widgets' session state (before they are drawn)."""
    if st.session_state.get(_URL_READ):
        return
    st.session_state[_URL_READ] = True
    view, notice = parse_view(st.query_params.to_dict(), Allowed(runs=names, datasets=datasets))
    targets = {"run": RUN, "run2": RUN2, "dataset": DATASET, "n": EVAL_N, "seed": EVAL_SEED}
    for name, key in targets.items():
        if name in view:
            st.session_state[key] = NO_RUN if view[name] is None else view[name]
    kept = st.session_state.setdefault(VIEW, {})
    kept.update({k: view[k] for k in (ALPHA, POOLING) if k in view})
    if notice:
        st.session_state[_URL_NOTICE] = notice


def current_view() -> dict:
    """The view on screen as ``drviz.viewstate`` parameters (None: not set)."""
    ss = st.session_state
    kept = ss.get(VIEW, {})
    run2 = ss.get(RUN2)
    dataset = ss.get(DATASET)
    return {"run": ss.get(RUN), "run2": None if run2 in (None, NO_RUN) else run2,
            "dataset": None if dataset in (None, OWN_DATASET) else dataset,
            ALPHA: kept.get(ALPHA), POOLING: kept.get(POOLING),
            "seed": ss.get(EVAL_SEED), "n": ss.get(EVAL_N)}


def write_url() -> None:
    """Put the current view in the address bar (only when it changed: each write is a message)."""
    params = view_params(current_view())
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def restore_view() -> float:
    """Before the OMES page draws pooling and its alpha view: give the pooling radio its last (or
    linked) value; returns the alpha to open the view on (alpha is no widget: the browser holds it
    and reports it, see app_pages/alpha_bars.py)."""
    kept = st.session_state.setdefault(VIEW, {})
    if POOLING not in st.session_state:
        st.session_state[POOLING] = kept.get(POOLING, DEFAULT_POOLING)
    return kept.get(ALPHA, DEFAULT_ALPHA)


def remember_view(alpha: float, pooling: str) -> None:
    """After the OMES page read alpha and pooling: keep them and update the link."""
    kept = st.session_state.setdefault(VIEW, {})
    if kept.get(ALPHA) != round(float(alpha), 2) or kept.get(POOLING) != pooling:
        kept.update({ALPHA: round(float(alpha), 2), POOLING: pooling})
        write_url()


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
    return int(st.session_state.get(EVAL_N, INTERACTIVE_N))


def eval_seed() -> int:
    return int(st.session_state.get(EVAL_SEED, 0))


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
