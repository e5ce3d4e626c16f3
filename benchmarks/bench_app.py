"""App benchmark (not a timed test): cold start to the first rendered page, and the browser round
trip of one alpha-slider step (key press to the updated OMES metric), each the median of several runs.

    .venv/bin/python benchmarks/bench_app.py [--runs 5] [--steps 12] [--root DIR]

- cold start: launch ``streamlit run app.py`` (a fresh Python process), open ``/`` in Chromium and
  stop the clock when the home page's title is rendered and the script run has finished;
  reported with its two parts (server up / first page after the server answers).
- new session: a new browser tab on the already running server, to the rendered home page.
- alpha round trip: on the OMES explorer (its representation already cached), press ArrowRight on
  the alpha slider and stop the clock when the metric shows the backend's OMES for the new alpha,
  to 4 decimals. One press at a time, the app idle in between.

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

from drviz.testing import REPO, launch_chromium, make_fixture_runs, streamlit_server, wait_idle

expect = None  # playwright's, imported in main()
TARGETS = {"cold_start_s": 5.0, "alpha_round_trip_ms": 300.0}


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


def alpha_round_trips(root: Path, run: str, p, steps: int) -> list[float]:
    from drviz.checkpoints import load_run, read_run
    from drviz.evaluation import INTERACTIVE_N, encode_labelled, omes_components_of

    info = read_run(run, root)
    model = load_run(info.path, "cpu").model
    comps = omes_components_of(encode_labelled(model, info.config.dataset, INTERACTIVE_N, 0), 0)
    times = []
    with streamlit_server(root) as url:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(f"{url}/omes")
            metric = page.get_by_test_id("stMetricValue").first
            metric.wait_for(timeout=120_000)
            wait_idle(page)
            slider = page.get_by_role("slider").first
            slider.focus()
            slider.press("Home")  # alpha 0
            expect(slider).to_have_attribute("aria-valuetext", "0.00", timeout=30_000)
            wait_idle(page)
            alpha = 0.0
            for _ in range(steps):
                before = metric.inner_text()
                alpha = round(alpha + 0.05, 2)
                expected = f"{comps.score(alpha, 'avg'):.4f}"
                if expected == before:
                    slider.press("ArrowRight")
                    wait_idle(page)
                    continue
                t0 = time.perf_counter()
                slider.press("ArrowRight")
                page.wait_for_function(
                    "v => document.querySelector('[data-testid=stMetricValue]').innerText.trim() === v",
                    arg=expected, polling="raf", timeout=30_000)
                times.append(time.perf_counter() - t0)
                wait_idle(page)
                time.sleep(0.2)
        finally:
            browser.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="cold starts to time")
    ap.add_argument("--steps", type=int, default=12, help="alpha steps to time")
    ap.add_argument("--root", default=None)
    args = ap.parse_args()
    if not os.path.exists("/usr/bin/chromium"):
        print("benchmark needs /usr/bin/chromium (Debian's chromium); skipped")
        return 0
    global expect
    from playwright.sync_api import expect, sync_playwright

    root, run, chosen = pick_root(args.root)
    with sync_playwright() as p:
        colds = [cold_start(root, p) for _ in range(args.runs)]
        trips = alpha_round_trips(root, run, p, args.steps)
    med = {k: statistics.median(c[k] for c in colds) for k in colds[0]}
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": os.getloadavg()[0]},
        "runs_root": str(root), "active_run": run, "runs_used": chosen,
        "cold_start": {"median": med, "runs": colds},
        "alpha_round_trip_ms": {"median": 1000 * statistics.median(trips), "min": 1000 * min(trips),
                                "max": 1000 * max(trips), "samples": [1000 * t for t in trips]},
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
    print(f"{'alpha step round trip (ms)':44s} {result['alpha_round_trip_ms']['median']:10.0f} "
          f"{TARGETS['alpha_round_trip_ms']:10.0f}")
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
