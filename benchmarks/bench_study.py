"""The smoke study's wall time on joblib with 1 and 2 jobs and on a 2-worker Dask LocalCluster,
measured in one run (each in a fresh temp folder and store), and the Study page's load time.

    python benchmarks/bench_study.py [--preset smoke]

Prints one line per engine and the ratios to joblib with 1 job. On a machine busy with other
work the absolute times grow; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="smoke")
    args = parser.parse_args()
    from drviz.study import load_study
    from drviz.study.runner import run_study

    study = load_study(args.preset)
    times = {}
    for label, kw in (("joblib, 1 job", dict(jobs=1)), ("joblib, 2 jobs", dict(jobs=2)),
                      ("Dask LocalCluster, 2 workers", dict(scheduler="local:2"))):
        with tempfile.TemporaryDirectory(prefix="drviz-bench-study-") as tmp:
            os.environ["DRVIZ_CACHE_DIR"] = str(Path(tmp) / "cache")
            t0 = time.perf_counter()
            run_study(study, Path(tmp) / study.name, **kw)
            times[label] = time.perf_counter() - t0
            if label.startswith("Dask"):
                page_s = _page_load(Path(tmp))
        print(f"{study.name} on {label}: {times[label]:.1f} s", flush=True)
    base = times["joblib, 1 job"]
    print("ratios to joblib with 1 job: " + ", ".join(f"{k} {v / base:.2f}" for k, v in times.items()))
    print(f"Study page on its results (AppTest, first run): {page_s:.2f} s")
    return 0


def _page_load(studies: Path) -> float:
    from streamlit.testing.v1 import AppTest

    os.environ["DRVIZ_STUDIES"] = str(studies)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.run()
    t0 = time.perf_counter()
    at.switch_page("app_pages/study.py").run()
    return time.perf_counter() - t0


if __name__ == "__main__":
    raise SystemExit(main())
