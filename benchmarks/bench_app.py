"""App benchmark (not a timed test): cold start to the first rendered page, and the browser round
trip of one alpha-slider step (key press to the updated OMES metric), each the median of several runs.

    .venv/bin/python benchmarks/bench_app.py [--runs 5] [--steps 12] [--root DIR] [--compare-fragments]

- cold start: launch ``streamlit run app.py`` (a fresh Python process), open ``/`` in Chromium and
  stop the clock when the home page's title is rendered and the script run has finished;
  reported with its two parts (server up / first page after the server answers).
- new session: a new browser tab on the already running server, to the rendered home page.
- alpha round trip: on the OMES explorer (its representation already cached), press ArrowRight on
  the alpha view's slider and stop the clock when the view shows the backend's averaged OMES for
  the new alpha, to 4 decimals (redrawn in the browser, no rerun: issue 15); one press at a time,
  0.2 s apart. Also timed: the "report" path, key press to the server having heard the new alpha
  (the link holds it and the script is idle: the view's 0.8 s debounce plus one fragment rerun),
  and with ``--compare-fragments`` the same on a server without ``st.fragment``
  (``DRVIZ_APP_FRAGMENTS=0``: the whole page and app.py's sidebar rerun), in alternating order.
  Each mode also reports Chromium's main-thread time per step. (Before the in-browser view, the
  round trip was key press to the server-drawn metric after a rerun per move.)
- latent map first render: a new session opening the Latent map page, to the scatter drawn by
  plotly.js; "cold" on a server with an empty result store (the encoding included), "warm" in a
  second tab of the same server (both include the browser loading Streamlit's plotly.js chunk,
  most of a new tab's time here), and "in session": from the OMES page (a chart drawn already)
  through the navigation to the Latent map.

Runs on the runs in ``--root`` (default: ``$DRVIZ_CHECKPOINTS`` or ``checkpoints/``) when it holds
a usable run, else on a tiny fixture run. Writes ``benchmarks/results/app.json`` and prints a table.
Targets (from the issue): first page under 5 s on this machine, alpha round trip under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from drviz.testing import ALPHA_VIEW_TEXT_JS, REPO, launch_chromium, make_fixture_runs, streamlit_server, wait_idle

TARGETS = {"cold_start_s": 5.0, "alpha_round_trip_ms": 100.0}  # alpha: issue 17's target (median)


def pick_root(arg: str | None) -> tuple[Path, str, str]:
    """(runs root, active run name, how it was chosen)."""
    from drviz.catalog import default_run
    from drviz.checkpoints import list_runs, runs_root

    root = Path(arg) if arg else runs_root()
    runs = list_runs(root) if root.is_dir() else []
    if runs:
        return root, default_run([r.name for r in runs]), "shipped/user runs"
    tmp = Path(tempfile.mkdtemp(prefix="drviz-bench-"))
    make_fixture_runs(tmp)
    return tmp, "fixture-source", "tiny fixture run (no usable run in checkpoints/)"


def cold_start(root: Path, p) -> dict:
    t0 = time.perf_counter()
    with streamlit_server(root) as url:
        t_up = time.perf_counter()
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            t_nav = time.perf_counter()
            page.goto(url)
            page.locator("h1").first.wait_for(timeout=60_000)
            wait_idle(page)
            t_done = time.perf_counter()
            # a second session on the warm server
            page2 = browser.new_page(viewport={"width": 1400, "height": 900})
            t2 = time.perf_counter()
            page2.goto(url)
            page2.locator("h1").first.wait_for(timeout=60_000)
            wait_idle(page2)
            t2_done = time.perf_counter()
        finally:
            browser.close()
    return {"total_s": t_done - t0 - (t_nav - t_up), "server_up_s": t_up - t0, "first_page_s": t_done - t_nav,
            "new_session_s": t2_done - t2}


def alpha_round_trips(root: Path, run: str, p, steps: int, path: str = "view",
                      fragments: bool = True) -> tuple[list[float], float]:
    """(seconds per alpha step, browser main-thread ms per step) on the OMES page.

    path "view": ArrowRight to the alpha view showing the backend's averaged OMES for the new alpha
    (redrawn in the browser, no rerun); 0.2 s between presses, under the view's report debounce.
    path "report": ArrowRight to the server having heard it (the link holds the new alpha and the
    script is idle): the debounce (0.8 s in alpha_bars.js) plus one fragment rerun, or a whole-page
    rerun on a server started with ``DRVIZ_APP_FRAGMENTS=0`` (``fragments=False``).
    Browser time: Chromium's TaskDuration (main-thread tasks, from the DevTools protocol) over the
    timed steps, divided by their number.
    """
    from drviz.checkpoints import load_run, read_run
    from drviz.evaluation import INTERACTIVE_N, encode_labelled, omes_components_of

    info = read_run(run, root)
    model = load_run(info.path, "cpu").model
    comps = omes_components_of(encode_labelled(model, info.config.dataset, INTERACTIVE_N, 0), 0)
    shown_js = f"v => ({ALPHA_VIEW_TEXT_JS})('[data-testid=alphaViewScore]') === v"
    times = []
    with streamlit_server(root, env={"DRVIZ_APP_FRAGMENTS": "1" if fragments else "0"}) as url:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(f"{url}/omes?alpha=0")
            page.wait_for_function(shown_js, arg=f"{comps.score(0.0, 'avg'):.4f}", timeout=120_000)
            wait_idle(page)
            slider = page.get_by_role("slider").first
            slider.focus()
            busy0 = task_s(cdp)
            alpha = 0.0
            for _ in range(steps):
                alpha = round(alpha + 0.05, 2)
                t0 = time.perf_counter()
                slider.press("ArrowRight")
                if path == "view":
                    page.wait_for_function(shown_js, arg=f"{comps.score(alpha, 'avg'):.4f}", polling="raf",
                                           timeout=30_000)
                else:
                    page.wait_for_function("v => new URLSearchParams(location.search).get('alpha') === v",
                                           arg=f"{alpha:g}", timeout=30_000)
                    wait_idle(page)
                times.append(time.perf_counter() - t0)
                time.sleep(0.2)
            browser_ms = 1000 * (task_s(cdp) - busy0) / steps
        finally:
            browser.close()
    return times, browser_ms


def task_s(cdp) -> float:
    """Chromium's main-thread task time so far, in seconds."""
    return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")


LATENT_DRAWN_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].some(gd =>
  (gd._fullData || []).some(t => t.type === 'scatter' && t.x && t.x.length > 100)
  && gd.querySelector('.scatterlayer .point'))"""


def latent_map_first_render(root: Path, p) -> dict:
    """Seconds from opening the Latent map page in a new session to its scatter drawn: on a server
    whose result store is empty (cold: encoding included), then in a second tab (warm)."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="drviz-bench-store-") as store, \
            streamlit_server(root, env={"DRVIZ_CACHE_DIR": store}) as url:
        browser = launch_chromium(p)
        try:
            for name in ("cold_s", "warm_s"):
                page = browser.new_page(viewport={"width": 1400, "height": 1200})
                t0 = time.perf_counter()
                page.goto(f"{url}/latent")
                page.wait_for_function(LATENT_DRAWN_JS, polling="raf", timeout=180_000)
                out[name] = time.perf_counter() - t0
                wait_idle(page)
            # in a session that has drawn a chart already (plotly.js loaded): the OMES page, then the
            # Latent map from the navigation; its representation is the one the OMES page encoded
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(f"{url}/omes")
            page.get_by_test_id("alphaViewScore").first.wait_for(timeout=180_000)
            wait_idle(page)
            t0 = time.perf_counter()
            page.get_by_test_id("stSidebarNav").get_by_text("Latent map & interpolation").click()
            page.wait_for_function(LATENT_DRAWN_JS, polling="raf", timeout=180_000)
            out["in_session_s"] = time.perf_counter() - t0
        finally:
            browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="cold starts to time")
    ap.add_argument("--steps", type=int, default=12, help="alpha steps to time")
    ap.add_argument("--root", default=None)
    ap.add_argument("--compare-fragments", action="store_true",
                    help="also time the report path on a server without st.fragment (a whole-page rerun)")
    args = ap.parse_args()
    if not os.path.exists("/usr/bin/chromium"):
        print("benchmark needs /usr/bin/chromium (Debian's chromium); skipped")
        return 0
    from playwright.sync_api import sync_playwright

    root, run, chosen = pick_root(args.root)
    with sync_playwright() as p:
        colds = [cold_start(root, p) for _ in range(args.runs)]
        modes = ["view", "report"] + (["report_no_fragment"] if args.compare_fragments else [])
        trips_by = {m: [] for m in modes}
        busy_by = {m: [] for m in modes}
        for rnd in range(2):  # alternate, so that a change in the machine's load hits all alike
            for mode in (modes if rnd == 0 else modes[::-1]):
                ts, busy = alpha_round_trips(root, run, p, max(1, args.steps // 2), mode.split("_")[0],
                                             mode != "report_no_fragment")
                trips_by[mode] += ts
                busy_by[mode].append(busy)
        latent = latent_map_first_render(root, p)
    trips = trips_by["view"]
    med = {k: statistics.median(c[k] for c in colds) for k in colds[0]}
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": os.getloadavg()[0]},
        "runs_root": str(root), "active_run": run, "runs_used": chosen,
        "cold_start": {"median": med, "runs": colds},
        "alpha_round_trip_ms": {"median": 1000 * statistics.median(trips), "min": 1000 * min(trips),
                                "max": 1000 * max(trips), "samples": [1000 * t for t in trips]},
        "alpha_round_trip_ms_by_mode": {
            mode: {"median": 1000 * statistics.median(ts), "min": 1000 * min(ts), "max": 1000 * max(ts),
                   "samples": [1000 * t for t in ts], "browser_ms_per_step": statistics.mean(busy_by[mode])}
            for mode, ts in trips_by.items()},
        "latent_map_first_render_s": latent,
        "targets": TARGETS,
    }
    out = REPO / "benchmarks" / "results" / "app.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"runs: {chosen} ({run}); load average {result['machine']['load_avg_1m']:.2f} on {os.cpu_count()} CPUs")
    print(f"{'measure':44s} {'median':>10s} {'target':>10s}")
    print(f"{'cold start -> first rendered page (s)':44s} {med['total_s']:10.2f} {TARGETS['cold_start_s']:10.1f}")
    print(f"{'  of which: server process up (s)':44s} {med['server_up_s']:10.2f}")
    print(f"{'  of which: first page after it answers (s)':44s} {med['first_page_s']:10.2f}")
    print(f"{'new session on a running server (s)':44s} {med['new_session_s']:10.2f}")
    by = result["alpha_round_trip_ms_by_mode"]
    by = result["alpha_round_trip_ms_by_mode"]
    print(f"{'alpha step, key to the view redrawn (ms)':44s} {by['view']['median']:10.0f} "
          f"{TARGETS['alpha_round_trip_ms']:10.0f}")
    print(f"{'alpha step, key to the server heard it (ms)':44s} {by['report']['median']:10.0f}")
    if "report_no_fragment" in by:
        print(f"{'  the same, whole-page rerun (ms)':44s} {by['report_no_fragment']['median']:10.0f}")
    for mode, v in by.items():
        print(f"{'  browser main-thread time per step, ' + mode + ' (ms)':44s} {v['browser_ms_per_step']:10.1f}")
    print(f"{'latent map first render, cold store (s)':44s} {latent['cold_s']:10.2f}")
    print(f"{'latent map first render, warm, new tab (s)':44s} {latent['warm_s']:10.2f}")
    print(f"{'latent map first render, from another page (s)':44s} {latent['in_session_s']:10.2f}")
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
