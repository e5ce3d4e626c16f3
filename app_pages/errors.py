"""Errors on a page: a one-line message, never a traceback."""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

from drviz.errors import DrvizError

log = logging.getLogger("drviz.app")


def show_error(exc: BaseException, what: str) -> None:
    """A ``DrvizError``'s own message; for anything else a short note (the log has the traceback)."""
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
