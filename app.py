"""drviz in the browser: `streamlit run app.py` (or `make run`).

The entry file sets the page config, the shared sidebar pickers (active run, comparison run,
evaluation dataset: widgets defined here keep their values on every page) and the navigation.
Pages only lay out widgets and call ``drviz`` (STYLE convention 10).
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="drviz", page_icon=":material/grid_view:", layout="wide")

# `streamlit run` puts this file's folder on sys.path, so the pages' helpers import as a package.
from app_pages.errors import guard, show_error  # noqa: E402
from app_pages.state import sidebar  # noqa: E402


def _server_threads() -> None:
    # One torch thread: training jobs run beside the server (docs/architecture.md, "Threads and processes").
    from drviz.training import set_threads_for_server

    set_threads_for_server()


PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("app_pages/transfer.py", title="Transfer", icon=":material/swap_horiz:"),
    st.Page("app_pages/omes.py", title="OMES explorer", icon=":material/grid_on:"),
    st.Page("app_pages/traversals.py", title="Traversals & reconstructions", icon=":material/animation:"),
    st.Page("app_pages/latent.py", title="Latent map & interpolation", icon=":material/scatter_plot:"),
    st.Page("app_pages/study.py", title="Study", icon=":material/science:"),
]

page = st.navigation(PAGES)
with guard("set up the app"):
    _server_threads()
with guard("list the runs"):
    sidebar()
try:
    page.run()
except Exception as exc:  # noqa: BLE001 - last line of defence: a message, never a traceback
    show_error(exc, f"show the {page.title} page")
