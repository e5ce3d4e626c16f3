"""Rendering throughput per dataset: images/s at batch 256 on one core; file loaders too.

Run: ``python benchmarks/bench_data.py [--repeats 7] [--out benchmarks/results/data.json]``.
``--files`` instead writes a file in each official layout under a temporary folder (deleted
after), then, in a fresh process per loader, previews it as ``drviz datasets show`` does and
draws random training batches of 64 (``make_batch``, plain and weak pairs), printing images/s
and the peak RSS (issue 13's targets: >= 3,000 images/s; the preview of a ~2 GB uncompressed
MPI3D-style ``.npz`` under 1 GB). Encoded sources are cached first (build time reported).
Results go to ``benchmarks/results/data_files.json``.
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


# -- file loaders ---------------------------------------------------------------------------
FILE_BATCH = 64
FILE_TARGET = 3_000
RSS_LIMIT_MB = 1_000


def _blocky(rng, n, side=64, scale=1):
    small = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    return small.repeat(scale, axis=1).repeat(scale, axis=2)


def write_files(root: Path, big_gb: float) -> dict[str, str]:
    """One file per official layout under ``root``; returns label -> spec."""
    import itertools

    import h5py
    from PIL import Image

    rng = np.random.default_rng(0)
    specs = {}
    # Shapes3D: 9,600 rows (a 50th of the release), gzip chunks as in the release.
    sizes = (10, 10, 4, 2, 4, 3)
    g = np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.float64)
    with h5py.File(root / "3dshapes.h5", "w") as f:
        f.create_dataset("images", data=_blocky(rng, len(g)), chunks=(64, 64, 64, 3), compression="gzip")
        f.create_dataset("labels", data=g / 10)
    specs["shapes3d_h5 (gzip, 9,600)"] = f"shapes3d_h5:{root / '3dshapes.h5'}"
    # MPI3D, stored (uncompressed) and ~big_gb: written block by block, memory-mapped when read.
    last = max(1, int(round(big_gb * 1e9 / (6 * 6 * 2 * 3 * 3 * 10 * 64 * 64 * 3))))
    msizes = np.array([6, 6, 2, 3, 3, last, 10])
    n = int(np.prod(msizes))
    npy = root / "images.npy"
    mm = np.lib.format.open_memmap(npy, mode="w+", dtype=np.uint8, shape=(n, 64, 64, 3))
    block = _blocky(rng, 4096)
    for s0 in range(0, n, 4096):
        mm[s0 : s0 + 4096] = block[: min(4096, n - s0)]
    mm.flush()
    del mm
    import zipfile

    with zipfile.ZipFile(root / "mpi3d_real.npz", "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.write(npy, "images.npy")
        with z.open("factor_sizes.npy", "w") as fp:
            np.lib.format.write_array(fp, msizes)
    npy.unlink()
    size_gb = (root / "mpi3d_real.npz").stat().st_size / 1e9
    specs[f"mpi3d_npz (stored, {size_gb:.1f} GB)"] = f"mpi3d_npz:{root / 'mpi3d_real.npz'}"
    # MPI3D compressed, 14,400 rows.
    csizes = np.array([6, 6, 2, 1, 1, 20, 10])
    np.savez_compressed(root / "mpi3d_toy.npz", images=_blocky(rng, int(np.prod(csizes))), factor_sizes=csizes)
    specs["mpi3d_npz (deflated, 14,400)"] = f"mpi3d_npz:{root / 'mpi3d_toy.npz'}"
    # Isaac3D: 1,536 PNGs of 128x128.
    isizes = (3, 4, 2, 2, 2, 2, 2, 1, 1)
    ig = np.array(list(itertools.product(*[range(s) for s in isizes])), dtype=np.float64)
    (root / "Isaac3D_down128" / "images").mkdir(parents=True)
    pics = _blocky(rng, 64, scale=2)
    for i in range(len(ig)):
        Image.fromarray(pics[i % 64]).save(root / "Isaac3D_down128" / "images" / f"{i:06d}.png")
    np.save(root / "Isaac3D_down128" / "labels.npy", ig)
    specs[f"isaac3d ({len(ig):,} PNG)"] = f"isaac3d:{root / 'Isaac3D_down128'}"
    # Coil100-Augmented: 1,296 PNGs of 128x128 and classes.csv.
    csz = (6, 6, 6, 6)
    cg = list(itertools.product(*[range(s) for s in csz]))
    (root / "coil").mkdir()
    lines = ["image,object,pose,rotation,scale"]
    for i, row in enumerate(cg):
        Image.fromarray(pics[i % 64]).save(root / "coil" / f"{i}.png")
        lines.append(f"{i}.png," + ",".join(map(str, row)))
    (root / "coil" / "classes.csv").write_text("\n".join(lines) + "\n")
    specs[f"coil100_augmented ({len(cg):,} PNG)"] = f"coil100_augmented:{root / 'coil'}"
    # RGB-D Objects: 10 categories x 3 videos x 30 frames (some missing).
    mask = np.zeros((90, 120), np.uint8)
    mask[10:80, 20:100] = 255
    for c in range(10):
        d = root / "rgbd" / f"cat{c}" / f"cat{c}_1"
        d.mkdir(parents=True)
        for v in (1, 2, 4):
            for fr in range(1, 31):
                if (fr + c) % 7 == 0:
                    continue
                Image.fromarray(pics[fr % 64][:90, :120]).save(d / f"cat{c}_1_{v}_{fr}_crop.png")
                Image.fromarray(mask).save(d / f"cat{c}_1_{v}_{fr}_maskcrop.png")
    specs["rgbd_objects (incomplete)"] = f"rgbd_objects:{root / 'rgbd'}"
    return specs


def bench_loader(spec: str, seconds: float = 2.0) -> dict:
    """In this (fresh) process: preview, then cache if needed, then random batches of 64."""
    from drviz.data.cache import prepare
    from drviz.data.grid import traversal_grid
    from drviz.data.samplers import make_batch
    from drviz.imaging import save_png

    def rss_mb(field: str = "VmHWM") -> float:
        # VmHWM: this process's peak RSS (getrusage's ru_maxrss would carry the parent's over exec).
        # RssAnon: its anonymous memory now; the rest of the RSS of a memory-mapped file is page
        # cache mapped in by the pages sampling touched, which the kernel reclaims when needed.
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    t0 = time.perf_counter()
    ds = get_dataset(spec)
    open_s = time.perf_counter() - t0
    grid = traversal_grid(ds, np.random.default_rng(0), steps=10)  # what `drviz datasets show` does
    save_png(grid, Path(os.environ["DRVIZ_CACHE_DIR"]) / "preview.png")
    show_rss = rss_mb()
    t = time.perf_counter()
    prepare(ds)
    cache_s = time.perf_counter() - t
    rates = {}
    for pairs in (False, True):
        rng = np.random.default_rng(1)
        make_batch(ds, FILE_BATCH, rng, pairs=pairs)
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            out = make_batch(ds, FILE_BATCH, rng, pairs=pairs)
            n += FILE_BATCH * (2 if pairs else 1)
        rates["pairs" if pairs else "plain"] = n / (time.perf_counter() - t)
    return {
        "spec_kind": spec.partition(":")[0],
        "images": getattr(ds.store, "n", None),
        "open_s": round(open_s, 3),
        "preview_peak_rss_mb": round(show_rss),
        "cache_build_s": round(cache_s, 2),
        "images_per_s": round(rates["plain"]),
        "pair_images_per_s": round(rates["pairs"]),
        "peak_rss_mb": round(rss_mb()),
        "anon_rss_mb": round(rss_mb("RssAnon")),
        "meets_target": bool(min(rates.values()) >= FILE_TARGET and show_rss < RSS_LIMIT_MB),
    }


def bench_files(big_gb: float, out: Path) -> int:
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="drviz-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        specs = write_files(root, big_gb)
        print(f"wrote the test files in {time.perf_counter() - t:.0f} s under {root} (deleted after)")
        rows = []
        env = dict(os.environ, DRVIZ_CACHE_DIR=str(root / "cache"))
        for label, spec in specs.items():
            proc = subprocess.run([sys.executable, __file__, "--one-loader", spec], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"{label}: failed\n{proc.stderr[-2000:]}")
                return 1
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["loader"] = label
            rows.append(row)
    print(f"file loaders: random batches of {FILE_BATCH}, one thread, fresh process each; target >= {FILE_TARGET:,} images/s, "
          f"preview peak RSS < {RSS_LIMIT_MB:,} MB")
    print(f"{'loader':34} {'open s':>7} {'preview RSS MB':>15} {'cache s':>8} {'images/s':>9} {'pairs img/s':>12} {'peak RSS MB':>12} {'anon MB':>8}  ok")
    for r in rows:
        print(f"{r['loader']:34} {r['open_s']:>7} {r['preview_peak_rss_mb']:>15,} {r['cache_build_s']:>8} {r['images_per_s']:>9,} "
              f"{r['pair_images_per_s']:>12,} {r['peak_rss_mb']:>12,} {r['anon_rss_mb']:>8,}  {'yes' if r['meets_target'] else 'NO'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "batch": FILE_BATCH, "threads": 1, "target_images_per_s": FILE_TARGET, "preview_rss_limit_mb": RSS_LIMIT_MB,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "processor": platform.machine(), "cpus": os.cpu_count()},
        "results": rows,
    }, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(r["meets_target"] for r in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=None, help="default benchmarks/results/data.json (data_files.json with --files)")
    parser.add_argument("--datasets", nargs="*", default=None, help="default: every registered dataset")
    parser.add_argument("--files", action="store_true", help="benchmark the file loaders instead (writes temporary files)")
    parser.add_argument("--big-gb", type=float, default=2.0, help="size of the uncompressed MPI3D-style file (--files)")
    parser.add_argument("--one-loader", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    results = Path(__file__).parent / "results"
    if args.one_loader:
        print(json.dumps(bench_loader(args.one_loader)))
        return 0
    if args.files:
        return bench_files(args.big_gb, Path(args.out or results / "data_files.json"))
    args.out = args.out or str(results / "data.json")
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
