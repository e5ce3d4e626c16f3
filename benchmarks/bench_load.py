"""Load benchmark (not a test): N concurrent browser sessions using the app as a user does.

    .venv/bin/python benchmarks/bench_load.py [--sessions 1 4 8] [--alpha-moves 10] [--root DIR]
                                               [--with-training] [--label before] [--alpha-path view]

Loopback only, bounded (every wait has a timeout, each level a wall-clock cap) and stops by
itself. For each N: a fresh ``streamlit run app.py`` on the runs in ``--root`` (default: the
shipped ``checkpoints/``), one headless Chromium with N contexts (separate sessions), after one
untimed session has visited every page (``--cold`` skips it). Every timed session, all at once:
home -> OMES explorer -> ``--alpha-moves`` presses of the alpha slider (round trip: key press to
the alpha view redrawn in the browser; ``--alpha-path report``: to the server having heard the new
alpha, see ``alpha_moves``) -> traversals (with one image upload) -> transfer -> models. Before the
in-browser alpha view (issue 15) the round trip was key press to the server-drawn OMES metric
after a rerun per move: ``report`` is the closer comparison to those numbers, ``view`` is what a
user waits for now. ``--with-training`` runs a one-thread training job beside the server
throughout (in a temporary folder). A page's time runs from navigation until the script run is
idle and the browser has drawn every chart and image (``painted``); the alpha presses start on
the page so drawn, as a user's would. (Before 2026-12-06 page times stopped at the idle script
run, and the first alpha presses then waited for the browser to finish drawing the page.)

Prints per N: first-page time, per-page times (median / max over sessions), alpha round trip
median / p95, errors (exceptions or error boxes on a page, timeouts), and the server's peak RSS;
writes ``benchmarks/results/load[-LABEL].json``. The machine's other work shares the cores: pause
trainings for a clean measure (the JSON records the load average).

Targets (issue 15, 2 cores shared with the browsers): 4 sessions: alpha p95 < 1 s, every page of
the shipped runs < 5 s once warm; 8 sessions: no error, alpha p95 < 3 s, server RSS < 2 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from drviz.testing import ALPHA_VIEW_TEXT_JS, CHROMIUM, CHROMIUM_ARGS, REPO, streamlit_server

PAGES = ("omes", "traversals", "transfer", "models")
TARGETS = {"4": {"alpha_p95_s": 1.0, "page_s": 5.0}, "8": {"errors": 0, "alpha_p95_s": 3.0, "rss_mb": 2048}}
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def server_pid(url: str) -> int | None:
    """The pid of the ``streamlit run`` serving ``url`` (found by its port on the command line)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
            return int(entry.name)
    return None


class RssSampler(threading.Thread):
    """Peak resident memory of a process tree root, sampled every 0.25 s."""

    def __init__(self, pid: int | None):
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()

    def run(self):
        while self.pid and not self._stop.wait(0.25):
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
            except OSError:
                return

    def stop(self):
        self._stop.set()


def test_image() -> bytes:
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((96, 96, 3)) * 255).astype("uint8")).save(buf, "PNG")
    return buf.getvalue()


async def idle(page, timeout_s: float) -> None:
    await page.wait_for_selector(IDLE, timeout=timeout_s * 1000)


async def page_errors(page) -> int:
    return await page.locator("[data-testid=stException], [data-testid=stAlertContentError]").count()


# Every plotly chart drawn and every image decoded: the browser has finished the page, not only the
# server's script run (under load the browsers' drawing, not the server, is most of a page's time).
PAINTED_JS = """() => {
    for (const c of document.querySelectorAll('[data-testid=stPlotlyChart]'))
        if (!c.querySelector('.main-svg')) return false;
    for (const img of document.images) if (!img.complete) return false;
    return true;
}"""


async def painted(page, timeout_s: float) -> None:
    await page.wait_for_function(PAINTED_JS, timeout=timeout_s * 1000)
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def visit(page, url: str, timeout_s: float) -> float:
    """Seconds from navigation to the page shown in full: the script run idle, then every chart and
    image drawn (a user moves alpha on a page they can see)."""
    t0 = time.perf_counter()
    await page.goto(url, timeout=timeout_s * 1000)
    await page.locator("h1").first.wait_for(timeout=timeout_s * 1000)
    await asyncio.sleep(0.3)  # the script run starts after the first paint
    await idle(page, timeout_s)
    await painted(page, timeout_s)
    return time.perf_counter() - t0


ALPHA_SHOWN = "[data-testid=alphaViewValue]"  # app_pages/alpha_bars.js: the alpha the view shows


async def alpha_moves(page, moves: int, path: str, timeout_s: float, out: dict) -> None:
    """``moves`` arrow-key presses (up to alpha 1, then down) on the OMES page's alpha slider, each
    timed into ``out["alpha_s"]``.

    path "view" (default): key press to the alpha view showing the new alpha, its averaged OMES and
    bars (one synchronous redraw in the browser, no rerun), on the next painted frame; 0.2 s between
    presses, then the one report's rerun (the link holds the last alpha) is awaited untimed.
    path "report": key press to the server having heard it (the link holds the new alpha, the
    script idle): the debounce (0.8 s) plus a fragment rerun, the closest to the old slider's
    rerun per move.
    """
    slider = page.get_by_role("slider").first
    await page.locator(ALPHA_SHOWN).first.wait_for(timeout=timeout_s * 1000)
    await slider.focus()
    alpha = round(float((await page.locator(ALPHA_SHOWN).first.inner_text()).strip()), 2)
    for _ in range(moves):
        alpha = round(alpha + 0.05, 2) if alpha < 1.0 else round(alpha - 0.05, 2)
        key = "ArrowRight" if alpha > float(await slider.input_value()) else "ArrowLeft"
        t0 = time.perf_counter()
        await slider.press(key)
        try:
            if path == "view":
                await page.wait_for_function(f"v => ({ALPHA_VIEW_TEXT_JS})({ALPHA_SHOWN!r}) === v",
                                             arg=f"{alpha:.2f}", polling="raf", timeout=timeout_s * 1000)
            else:
                await page.wait_for_function("v => new URLSearchParams(location.search).get('alpha') === v",
                                             arg=f"{alpha:g}", timeout=timeout_s * 1000)
                await idle(page, timeout_s)
            out["alpha_s"].append(time.perf_counter() - t0)
        except Exception:  # noqa: BLE001 - a timeout is a result here
            out["errors"].append("alpha: no new value within the timeout")
        if path == "view":
            await asyncio.sleep(0.2)
    if path == "view":  # the report once the user is still: its rerun is part of the load
        try:
            await page.wait_for_function("v => new URLSearchParams(location.search).get('alpha') === v",
                                         arg=f"{alpha:g}", timeout=timeout_s * 1000)
        except Exception:  # noqa: BLE001
            out["errors"].append("alpha: the link never held the last alpha")
    await idle(page, timeout_s)


async def session(browser, url: str, moves: int, image: bytes, timeout_s: float, alpha_path: str = "view") -> dict:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1200})
    page = await ctx.new_page()
    out = {"pages": {}, "alpha_s": [], "errors": [], "first_page_s": None}
    try:
        out["first_page_s"] = await visit(page, url, timeout_s)
        for name in PAGES:
            try:
                out["pages"][name] = await visit(page, f"{url}/{name}", timeout_s)
                if await page_errors(page):
                    out["errors"].append(f"{name}: an error on the page")
                if name == "omes":
                    await alpha_moves(page, moves, alpha_path, timeout_s, out)
                if name == "traversals":
                    t0 = time.perf_counter()
                    await page.locator("input[type=file]").first.set_input_files(timeout=timeout_s * 1000, files=
                        {"name": "me.png", "mimeType": "image/png", "buffer": image})
                    await asyncio.sleep(0.3)
                    await idle(page, timeout_s)
                    out["upload_s"] = time.perf_counter() - t0
                    if await page_errors(page):
                        out["errors"].append("upload: an error on the page")
            except Exception as exc:  # noqa: BLE001
                out["errors"].append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    finally:
        await ctx.close()
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else (values[0] if values else float("nan"))


async def level(url: str, n: int, moves: int, timeout_s: float, cap_s: float, warm: bool,
                alpha_path: str = "view") -> dict:
    from playwright.async_api import async_playwright

    image = test_image()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if warm:  # one session visits every page first (untimed): the numbers are "once warm"
                await asyncio.wait_for(session(browser, url, 1, image, 3 * timeout_s, alpha_path), cap_s)
            t0 = time.perf_counter()
            runs = await asyncio.wait_for(
                asyncio.gather(*(session(browser, url, moves, image, timeout_s, alpha_path) for _ in range(n))), cap_s)
            wall = time.perf_counter() - t0
        finally:
            await browser.close()
    alpha = [t for r in runs for t in r["alpha_s"]]
    pages = {name: [r["pages"][name] for r in runs if name in r["pages"]] for name in PAGES}
    return {
        "sessions": n, "wall_s": wall,
        "first_page_s": {"median": statistics.median(r["first_page_s"] for r in runs if r["first_page_s"]),
                         "max": max(r["first_page_s"] or 0 for r in runs)},
        "pages_s": {k: {"median": statistics.median(v), "max": max(v)} for k, v in pages.items() if v},
        "upload_s": {"median": statistics.median([r["upload_s"] for r in runs if "upload_s" in r] or [float("nan")])},
        "alpha_s": {"median": statistics.median(alpha) if alpha else float("nan"), "p95": p95(alpha),
                    "n": len(alpha), "per_session": [r["alpha_s"] for r in runs]},
        "errors": [e for r in runs for e in r["errors"]],
    }


def training_job(folder: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", DRVIZ_CHECKPOINTS=str(folder))
    return subprocess.Popen([sys.executable, "-m", "drviz", "train", "--dataset", "color_dsprites", "--method",
                             "ada_gvae", "--steps", "100000", "--threads", "1", "--out", str(folder / "bench-job")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)


def profiler(pid: int | None, n: int, label: str) -> subprocess.Popen | None:
    """py-spy sampling the server (all threads, native frames off) into a folded-stacks file."""
    import shutil

    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if pid is None or not Path(exe).exists():
        print("--profile needs py-spy (pip install py-spy); not profiling")
        return None
    out = REPO / "benchmarks" / "results" / f"load{'-' + label if label else ''}-{n}.folded"
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([exe, "record", "-p", str(pid), "-r", "50", "-f", "raw", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--alpha-moves", type=int, default=10)
    ap.add_argument("--root", default=None, help="runs folder (default: checkpoints/)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds any one wait may take")
    ap.add_argument("--cap", type=float, default=600.0, help="seconds one level may take in all")
    ap.add_argument("--with-training", action="store_true", help="a one-thread training job beside the server")
    ap.add_argument("--cold", action="store_true",
                    help="time the first visits of a fresh server (default: after one untimed warm-up session)")
    ap.add_argument("--label", default="", help="suffix of the JSON file (e.g. before / after)")
    ap.add_argument("--alpha-path", choices=("view", "report"), default="view",
                    help="alpha round trip: key press to the view redrawn in the browser (view), or to the "
                         "server having heard the new alpha (report: debounce + rerun)")
    ap.add_argument("--profile", action="store_true",
                    help="record the server with py-spy (pip install py-spy) into benchmarks/results/load-N.folded")
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"benchmark needs {CHROMIUM} (Debian's chromium); skipped")
        return 0
    root = Path(args.root) if args.root else REPO / "checkpoints"
    results, job, tmp = [], None, None
    if args.with_training:
        tmp = Path(tempfile.mkdtemp(prefix="drviz-load-"))
        job = training_job(tmp)
    try:
        for n in args.sessions:
            with streamlit_server(root) as url:
                pid = server_pid(url)
                sampler = RssSampler(pid)
                sampler.start()
                spy = profiler(pid, n, args.label) if args.profile else None
                try:
                    res = asyncio.run(level(url, n, args.alpha_moves, args.timeout, args.cap, not args.cold,
                                            args.alpha_path))
                except asyncio.TimeoutError:
                    res = {"sessions": n, "errors": [f"level over its cap of {args.cap:.0f} s"]}
                sampler.stop()
                if spy is not None:
                    spy.send_signal(2)  # py-spy writes its file on Ctrl+C
                    spy.wait(60)
                res["server_peak_rss_mb"] = sampler.peak_mb
                results.append(res)
                print_level(res)
    finally:
        if job is not None:
            job.terminate()
            job.wait(30)
    out = REPO / "benchmarks" / "results" / f"load{'-' + args.label if args.label else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": os.getloadavg()[0]},
        "root": str(root), "with_training": args.with_training, "alpha_moves": args.alpha_moves,
        "alpha_path": args.alpha_path,
        "warm": not args.cold,
        "levels": results, "targets": TARGETS}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def print_level(r: dict) -> None:
    if "alpha_s" not in r:
        print(f"N={r['sessions']}: {r['errors']}")
        return
    pages = " ".join(f"{k} {v['median']:.1f}/{v['max']:.1f}" for k, v in r["pages_s"].items())
    print(f"N={r['sessions']:<2d} first page {r['first_page_s']['median']:.1f}s (max {r['first_page_s']['max']:.1f}) | "
          f"alpha median {r['alpha_s']['median']:.2f}s p95 {r['alpha_s']['p95']:.2f}s (n={r['alpha_s']['n']}) | "
          f"pages median/max s: {pages} | upload {r['upload_s']['median']:.1f}s | errors {len(r['errors'])} | "
          f"server RSS {r['server_peak_rss_mb']:.0f} MB")
    for e in r["errors"][:5]:
        print(f"    {e}")


if __name__ == "__main__":
    raise SystemExit(main())
