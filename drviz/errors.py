"""One exception type for every user mistake drviz can explain in a line.

The CLI prints ``error: <message>`` and exits non-zero; the app shows the message in an
``st.error``. Anything else that escapes is a bug in drviz, not in the user's input.
"""


class DrvizError(Exception):
    """A problem with the user's input or files, explained in one line (what is wrong and how to fix it)."""
