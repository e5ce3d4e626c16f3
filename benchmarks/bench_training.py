"""Training and encoding throughput of the real loop, against the machine's matmul ceiling.

Measures, in one run: float32 matmul GFLOP/s (2048x2048, the ceiling), FLOPs per training image
(counted by torch's FlopCounterMode on a real forward+backward), steps/s and images/s of
``drviz.training.train`` on real data for beta-VAE and Ada-GVAE (pairs: twice the images per
step), with and without channels_last, the same step on fixed random tensors ("bare loop": the
real loop's ratio to it shows what data and bookkeeping cost), and encode images/s (no grad,
batch 256).
Prints a table and writes benchmarks/results/training.json. Run on an idle machine:
    .venv/bin/python benchmarks/bench_training.py [--steps 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from drviz import training  # noqa: E402
from drviz.config import RunConfig  # noqa: E402
from drviz.models import VAE, ModelSpec  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "training.json"


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def flops_per_training_image(method: str, batch: int = 64) -> float:
    cfg = RunConfig(dataset="color_dsprites", method=method, batch_size=batch)
    model = VAE(ModelSpec(channels=3))
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, 64, 64)
    b = (x, torch.rand(batch, 3, 64, 64), torch.zeros(batch, dtype=torch.long)) if cfg.weak else (x,)
    with FlopCounterMode(display=False) as counter:
        loss, _, _ = training.step_loss(model, cfg, b, 1.0, gen)
        loss.backward()
    return counter.get_total_flops() / (batch * (2 if cfg.weak else 1))


def train_throughput(method: str, steps: int, channels_last: bool) -> dict:
    cfg = RunConfig(dataset="color_dsprites", method=method, steps=steps, batch_size=64, checkpoint_every=10**6)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result = training.train(cfg, Path(tmp) / "r", device="cpu", log_every=10, channels_last=channels_last)
        wall = time.perf_counter() - t
    rates = [row["images_per_s"] for row in result.history[2:]]  # skip warm-up windows
    img_s = statistics.median(rates)
    per_step = 64 * (2 if cfg.weak else 1)
    return {"images_per_s": img_s, "steps_per_s": img_s / per_step, "wall_s": wall}


def bare_loop_throughput(method: str, channels_last: bool, steps: int = 40) -> float:
    """The same model and loss on fixed random tensors: what the real loop would reach if data
    and bookkeeping cost nothing (images/s, median step after warm-up)."""
    cfg = RunConfig(dataset="color_dsprites", method=method, batch_size=64)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = VAE(ModelSpec(channels=3)).to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, 64, 64).contiguous(memory_format=fmt)
    batch = (x, torch.rand_like(x), torch.zeros(64, dtype=torch.long)) if cfg.weak else (x,)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        loss, _, _ = training.step_loss(model, cfg, batch, 1.0, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return 64 * (2 if cfg.weak else 1) / statistics.median(times[5:])


@torch.no_grad()
def encode_throughput(repeats: int = 5) -> float:
    model = VAE(ModelSpec(channels=3)).eval()
    x = torch.rand(256, 3, 64, 64)
    model.encode(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.encode(x)
        times.append(time.perf_counter() - t)
    return 256 / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ceiling = matmul_gflops()
    rows = []
    for method in ("beta_vae", "ada_gvae"):
        flops = flops_per_training_image(method)
        for cl in (True, False):
            r = train_throughput(method, args.steps, cl)
            bare = bare_loop_throughput(method, cl)
            achieved = r["images_per_s"] * flops / 1e9
            rows.append({"method": method, "channels_last": cl, "mflop_per_image": flops / 1e6, **r,
                         "bare_loop_images_per_s": bare, "real_over_bare": r["images_per_s"] / bare,
                         "gflops": achieved, "fraction_of_ceiling": achieved / ceiling})
    enc = encode_throughput()

    print(f"float32 matmul 2048x2048: {ceiling:.1f} GFLOP/s ({args.threads} threads)")
    print(f"{'method':10} {'ch_last':>7} {'MFLOP/img':>10} {'steps/s':>8} {'img/s':>8} {'bare img/s':>10} "
          f"{'real/bare':>9} {'GFLOP/s':>8} {'of ceiling':>10}")
    for r in rows:
        print(f"{r['method']:10} {str(r['channels_last']):>7} {r['mflop_per_image']:10.1f} {r['steps_per_s']:8.2f} "
              f"{r['images_per_s']:8.0f} {r['bare_loop_images_per_s']:10.0f} {r['real_over_bare']:9.0%} "
              f"{r['gflops']:8.1f} {r['fraction_of_ceiling']:10.0%}")
    print(f"encode (no grad, batch 256): {enc:.0f} images/s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"threads": args.threads, "steps": args.steps, "matmul_gflops": ceiling,
                               "training": rows, "encode_images_per_s": enc}, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
