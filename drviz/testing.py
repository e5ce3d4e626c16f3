"""Helpers shared by the app tests and the app benchmark (a fixture run root, a server, a browser).

- ``make_fixture_runs(root)``: a 3-step colour source and its 2-step transfer, trained with a high
  learning rate so that their latent dims are active (OMES has a value), in about 5 s.
- ``streamlit_server(root)``: ``streamlit run app.py`` on a free port with ``DRVIZ_CHECKPOINTS=root``,
  polled on /_stcore/health until it answers, stopped by its PID at the end.
- ``launch_chromium(p)``: Debian's Chromium through Playwright, never ``playwright install``.
- ``alpha_view_data(at)`` / ``report_alpha(at, alpha)``: the OMES page's in-browser alpha view under
  AppTest: the payload it was sent, and alpha reported as the browser reports it (its state value).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def make_fixture_runs(root: Path) -> Path:
    """``fixture-source`` (color_dsprites, 3 steps) and ``fixture-transfer`` (to real_objects, 2 steps)."""
    from drviz.config import RunConfig
    from drviz.training import train, transfer_config

    root = Path(root)
    train(RunConfig(dataset="color_dsprites", steps=3, batch_size=8, latent_dim=10, lr=5e-3, seed=0),
          root / "fixture-source", device="cpu", threads=1)
    cfg = transfer_config("fixture-source", "real_objects", steps=2, batch_size=8, lr=5e-3, root=root)
    train(cfg, root / "fixture-transfer", device="cpu", threads=1, root=root)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(root: Path, log_path: Path | None = None, timeout_s: float = 60.0, env: dict | None = None):
    """Yield the base URL of a fresh ``streamlit run app.py`` serving the runs under ``root``
    (``env``: more environment variables for the server, e.g. ``DRVIZ_APP_FRAGMENTS=0``)."""
    port = free_port()
    env = dict(os.environ, DRVIZ_CHECKPOINTS=str(root), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **(env or {}))
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"streamlit did not start (exit code {proc.poll()})") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()


def launch_chromium(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the app has finished its current script run."""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms)


def wait_rerun(page, start_ms: int = 5_000, timeout_ms: int = 120_000) -> None:
    """Wait for the script run an action (an upload, a click) triggers: until it has started, or
    ``start_ms`` passed (it may already be over), then until it ends. ``wait_idle`` alone can
    return before a loaded server starts the run, and the next action then races it."""
    try:
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=running]", timeout=start_ms)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: the run came and went, or never came
        pass
    wait_idle(page, timeout_ms)


def open_page(page, url: str, path: str) -> None:
    """Open ``url/path`` in a Playwright ``page`` and wait until the app is drawn and idle."""
    page.goto(f"{url}/{path}")
    page.get_by_test_id("stSidebar").wait_for(timeout=60_000)
    page.locator("h1").first.wait_for(timeout=60_000)
    wait_idle(page)


ALPHA_VIEW = "drviz_alpha_bars"  # app_pages/alpha_bars.py's component name
# The text of the alpha view's element ``sel`` (e.g. "[data-testid=alphaViewScore]"), in its shadow
# root, or null: cheap enough for page.wait_for_function(..., polling="raf").
ALPHA_VIEW_TEXT_JS = """(sel) => {
  for (const host of document.querySelectorAll('[data-testid=stBidiComponentIsolated]')) {
    const e = host.shadowRoot && host.shadowRoot.querySelector(sel);
    if (e) return e.textContent;
  }
  return null;
}"""


def alpha_view_data(at) -> dict:
    """The payload (``drviz.alpha_view.payload``) of the one alpha view an AppTest run drew."""
    views = [e for e in at.get("bidi_component") if e.proto.component_name == ALPHA_VIEW]
    assert len(views) == 1, f"{len(views)} alpha views on the page"
    return json.loads(views[0].proto.json)


def report_alpha(at, alpha: float, tab: str = "runs"):
    """Run ``at`` as after the alpha view of ``tab`` reported ``alpha``: AppTest cannot run the
    component's JS, so the component's state value ({"alpha": ...}, what the browser's
    ``setStateValue`` sends) is set through session state under the key the page mounts it with,
    ``alpha-<tab>``."""
    at.session_state[f"alpha-{tab}"] = {"alpha": alpha}
    return at.run()
