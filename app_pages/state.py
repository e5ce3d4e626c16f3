"""The shared selection: the sidebar's pickers (active run, comparison run, evaluation dataset,
sample count and seed) and what pages read from them.

The widgets are drawn by ``sidebar()``, which app.py calls on every rerun before the page, so
their values survive page switches (Streamlit keeps a widget's value only while it is drawn).
"""

from __future__ import annotations

import streamlit as st

from drviz import checkpoints as ckpt
from drviz.catalog import default_run, run_label
from drviz.data import available_datasets
from drviz.errors import DrvizError
from drviz.evaluation import INTERACTIVE_N

# Keys of the shared sidebar widgets.
RUN, RUN2, DATASET, EVAL_N, EVAL_SEED = "run", "run2", "dataset", "eval_n", "eval_seed"
OWN_DATASET = "(the run's own dataset)"
NO_RUN = "(none)"
JUST_FINISHED = "_just_finished"  # a run this session's job just finished: pages may pre-select it


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
    if RUN not in st.session_state or st.session_state[RUN] not in names:
        st.session_state[RUN] = default_run(names)
    sb.selectbox("Active run", names, key=RUN, format_func=lambda n: labels.get(n, n),
                 help="The model every page shows. Runs appear here once they have weights.")
    sb.selectbox("Compare with", [NO_RUN] + names, key=RUN2, format_func=lambda n: labels.get(n, n),
                 help="A second run shown side by side (e.g. a source and its transfer).")
    datasets = available_datasets()
    sb.selectbox("Evaluate on", [OWN_DATASET] + datasets, key=DATASET,
                 help="Dataset used to encode samples for OMES, traversals and reconstructions.")
    with sb.expander("Evaluation settings"):
        st.number_input("Samples encoded", 500, 50_000, INTERACTIVE_N, step=500, key=EVAL_N,
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
