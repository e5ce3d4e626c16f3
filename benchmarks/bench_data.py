"""Rendering throughput per dataset: images/s at batch 256 on one core.

Run: ``python benchmarks/bench_data.py [--repeats 7] [--out benchmarks/results/data.json]``.
Each repeat renders enough batches of 256 (fresh random factors, drawn beforehand) to last
about 0.3 s; the table reports the median over repeats. Template / shading-map caches are
built first and their one-off cost is reported separately. Targets (issue 2): every synthetic
dataset >= 7,000 images/s (10x what training consumes, ~700/s), dSprites family >= 20,000/s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, set before numpy is imported

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from drviz.data import dataset_names, get_dataset

BATCH = 256
DSPRITES_FAMILY = {"dsprites", "color_dsprites", "noisy_dsprites", "noisy_color_dsprites"}


def target_for(name: str, synthetic: bool) -> int | None:
    if name in DSPRITES_FAMILY:
        return 20_000
    return 7_000 if synthetic else None


def bench(name: str, repeats: int) -> dict:
    t0 = time.perf_counter()
    ds = get_dataset(name)
    rng = np.random.default_rng(0)
    ds.render(ds.sample_factors(BATCH, rng), rng)  # builds any cached templates
    setup_s = time.perf_counter() - t0
    # Calibrate the number of batches per repeat to ~0.3 s.
    t = time.perf_counter()
    ds.render(ds.sample_factors(BATCH, rng), rng)
    per_batch = max(time.perf_counter() - t, 1e-5)
    n_batches = max(3, int(0.3 / per_batch))
    factors = [ds.sample_factors(BATCH, rng) for _ in range(n_batches)]
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for f in factors:
            ds.render(f, rng)
        rates.append(n_batches * BATCH / (time.perf_counter() - t))
    target = target_for(name, ds.synthetic)
    median = float(np.median(rates))
    return {
        "dataset": name,
        "kind": ds.info.kind,
        "images_per_s": round(median),
        "min_images_per_s": round(min(rates)),
        "max_images_per_s": round(max(rates)),
        "setup_s": round(setup_s, 2),
        "target_images_per_s": target,
        "meets_target": None if target is None else bool(median >= target),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "data.json"))
    parser.add_argument("--datasets", nargs="*", default=None, help="default: every registered dataset")
    args = parser.parse_args()
    rows = [bench(n, args.repeats) for n in (args.datasets or dataset_names())]
    head = f"{'dataset':22} {'kind':20} {'images/s':>10} {'min..max':>17} {'setup s':>8} {'target':>8}  ok"
    print(f"rendering throughput, batch {BATCH}, one thread, median of {args.repeats}")
    print(head)
    for r in rows:
        target = f"{r['target_images_per_s']:,}" if r["target_images_per_s"] else "-"
        ok = {True: "yes", False: "NO", None: "-"}[r["meets_target"]]
        span = f"{r['min_images_per_s']:,}..{r['max_images_per_s']:,}"
        print(f"{r['dataset']:22} {r['kind']:20} {r['images_per_s']:>10,} {span:>17} {r['setup_s']:>8} {target:>8}  {ok}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "batch": BATCH,
                "threads": 1,
                "repeats": args.repeats,
                "machine": {"python": platform.python_version(), "numpy": np.__version__, "processor": platform.machine(), "cpus": os.cpu_count()},
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0 if all(r["meets_target"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
