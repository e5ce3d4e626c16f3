"""Training and encoding throughput of the real loop in fp32 and bf16, against matmul ceilings.

Measures, in one run: fp32 and bf16 matmul GFLOP/s (2048x2048: each precision's ceiling), FLOPs
per training image (torch's FlopCounterMode on a real forward+backward), steps/s and images/s of
``drviz.training.train`` on real data for beta-VAE and Ada-GVAE (pairs: twice the images per
step) in each precision (channels_last, as the trainer uses on a CPU), the same step on fixed
random tensors ("bare loop": the real loop's ratio to it shows what data and bookkeeping cost),
the bf16/fp32 ratio, and encode images/s (no grad, batch 256).
``--quality N`` also trains the same N-step Ada-GVAE run in both precisions and compares the final
loss (mean of the last 10% of the history) and OMES (alpha 0.5, avg pooling, 8,000 line-sampled
images): bf16 must not cost quality (issue target: losses within 2%, OMES within 0.05).
Prints tables and writes benchmarks/results/training.json. Run on an idle machine:
    .venv/bin/python benchmarks/bench_training.py [--steps 200] [--threads 2] [--quality 3000 [--quality-only]] [--compile]
On a CPU without native bf16 (no AVX512-BF16 / AMX) bf16 is emulated and far slower: the table
then says why ``precision=auto`` picks fp32 there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from drviz import training
from drviz.config import RunConfig
from drviz.models import VAE, ModelSpec

OUT = Path(__file__).resolve().parent / "results" / "training.json"


def matmul_gflops(n: int = 2048, repeats: int = 10, dtype=torch.float32) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
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


def train_throughput(method: str, steps: int, channels_last: bool, precision: str) -> dict:
    cfg = RunConfig(dataset="color_dsprites", method=method, steps=steps, batch_size=64, checkpoint_every=10**6,
                    precision=precision)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result = training.train(cfg, Path(tmp) / "r", device="cpu", log_every=max(1, steps // 10),
                                channels_last=channels_last)
        wall = time.perf_counter() - t
    rates = [row["images_per_s"] for row in result.history[2:]]  # skip the warm-up windows
    img_s = statistics.median(rates)
    per_step = 64 * (2 if cfg.weak else 1)
    return {"images_per_s": img_s, "steps_per_s": img_s / per_step, "wall_s": wall}


def bare_loop_throughput(method: str, channels_last: bool, precision: str, steps: int = 40,
                         compiled: bool = False) -> float:
    """The same model and loss on fixed random tensors: what the real loop would reach if data
    and bookkeeping cost nothing (images/s, median step after warm-up). ``compiled``: the network
    under ``torch.compile`` (inductor), to see whether the trainer should use it."""
    cfg = RunConfig(dataset="color_dsprites", method=method, batch_size=64)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = VAE(ModelSpec(channels=3)).to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    if compiled:  # compile the two halves step_loss calls; the warm-up steps below absorb compilation
        model.encode, model.decode = torch.compile(model.encode), torch.compile(model.decode)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, 64, 64).contiguous(memory_format=fmt)
    batch = (x, torch.rand_like(x), torch.zeros(64, dtype=torch.long)) if cfg.weak else (x,)
    amp = lambda: training.autocast(torch.device("cpu"), precision)  # noqa: E731
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        loss, _, _ = training.step_loss(model, cfg, batch, 1.0, gen, amp)
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


def quality(steps: int) -> dict:
    """The same Ada-GVAE run in fp32 and bf16: final loss and OMES of each."""
    from drviz.checkpoints import load_run
    from drviz.evaluation import omes_of

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "bf16"):
            cfg = RunConfig(dataset="color_dsprites", method="ada_gvae", beta=4.0, steps=steps, batch_size=64,
                            seed=0, checkpoint_every=10**6, precision=precision)
            t = time.perf_counter()
            result = training.train(cfg, Path(tmp) / precision, device="cpu")
            tail = result.history[-max(1, len(result.history) // 10):]
            run = load_run(Path(tmp) / precision, device="cpu")
            out[precision] = {"final_loss": float(np.mean([r["loss"] for r in tail])),
                              "omes": omes_of(run.model, "color_dsprites", n=8000).score,
                              "wall_s": time.perf_counter() - t}
    out["loss_rel_diff"] = abs(out["bf16"]["final_loss"] - out["fp32"]["final_loss"]) / out["fp32"]["final_loss"]
    out["omes_diff"] = abs(out["bf16"]["omes"] - out["fp32"]["omes"])
    return out


def print_quality(steps: int, q: dict) -> None:
    print(f"quality, {steps}-step Ada-GVAE: final loss fp32 {q['fp32']['final_loss']:.1f} vs bf16 "
          f"{q['bf16']['final_loss']:.1f} ({q['loss_rel_diff']:.1%} apart); OMES {q['fp32']['omes']:.3f} vs "
          f"{q['bf16']['omes']:.3f} ({q['omes_diff']:.3f} apart); wall {q['fp32']['wall_s'] / 60:.1f} vs "
          f"{q['bf16']['wall_s'] / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200, help="steps per fp32 throughput run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quality", type=int, default=0, help="also compare an N-step run in fp32 and bf16")
    parser.add_argument("--quality-only", action="store_true",
                        help="run only the --quality comparison (writes training_quality.json)")
    parser.add_argument("--compile", action="store_true",
                        help="also time the bare bf16 loop under torch.compile (the trainer uses eager mode)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.quality_only:
        if not args.quality:
            parser.error("--quality-only needs --quality N")
        q = quality(args.quality)
        print_quality(args.quality, q)
        out = OUT.with_name("training_quality.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"threads": args.threads, "quality": q}, indent=2))
        print(f"wrote {out}")
        return

    native_bf16 = training.bf16_supported(torch.device("cpu"))
    # Without native bf16 a 2048x2048 bf16 matmul takes minutes (no oneDNN kernel): measure a smaller one.
    ceilings = {"fp32": matmul_gflops(),
                "bf16": matmul_gflops(dtype=torch.bfloat16) if native_bf16 else matmul_gflops(512, 3, torch.bfloat16)}
    rows = []
    for method in ("beta_vae", "ada_gvae"):
        flops = flops_per_training_image(method)
        for precision in ("fp32", "bf16"):
            # Emulated bf16 is ~10x slower: fewer steps keep the bench short, the median rate is the same.
            steps = args.steps if precision == "fp32" or native_bf16 else max(10, args.steps // 10)
            r = train_throughput(method, steps, True, precision)
            bare = bare_loop_throughput(method, True, precision, steps=40 if steps >= 40 else 8)
            achieved = r["images_per_s"] * flops / 1e9
            rows.append({"method": method, "precision": precision, "mflop_per_image": flops / 1e6, **r,
                         "bare_loop_images_per_s": bare, "real_over_bare": r["images_per_s"] / bare,
                         "gflops": achieved, "fraction_of_ceiling": achieved / ceilings[precision]})
    compiled = {}
    if args.compile:
        for method in ("beta_vae", "ada_gvae"):
            eager = next(r for r in rows if r["method"] == method and r["precision"] == "bf16")["bare_loop_images_per_s"]
            fast = bare_loop_throughput(method, True, "bf16", steps=60, compiled=True)
            compiled[method] = {"eager_images_per_s": eager, "compiled_images_per_s": fast, "ratio": fast / eager}
    enc = encode_throughput()
    ratios = {m: next(r for r in rows if r["method"] == m and r["precision"] == "bf16")["steps_per_s"]
              / next(r for r in rows if r["method"] == m and r["precision"] == "fp32")["steps_per_s"]
              for m in ("beta_vae", "ada_gvae")}

    print(f"matmul ceilings ({args.threads} threads): fp32 {ceilings['fp32']:.1f} GFLOP/s (2048x2048), "
          f"bf16 {ceilings['bf16']:.1f} GFLOP/s ({'2048' if native_bf16 else '512'}^2); native bf16: {native_bf16} "
          f"(precision=auto -> {training.resolve_precision('auto', torch.device('cpu'))})")
    print(f"{'method':10} {'precision':>9} {'MFLOP/img':>10} {'steps/s':>8} {'img/s':>8} {'bare img/s':>10} "
          f"{'real/bare':>9} {'GFLOP/s':>8} {'of ceiling':>10}")
    for r in rows:
        print(f"{r['method']:10} {r['precision']:>9} {r['mflop_per_image']:10.1f} {r['steps_per_s']:8.2f} "
              f"{r['images_per_s']:8.0f} {r['bare_loop_images_per_s']:10.0f} {r['real_over_bare']:9.0%} "
              f"{r['gflops']:8.1f} {r['fraction_of_ceiling']:10.0%}")
    print("bf16 / fp32 steps/s: " + ", ".join(f"{m} {v:.2f}x" for m, v in ratios.items()))
    for m, c in compiled.items():
        print(f"torch.compile, bare bf16 loop, {m}: {c['compiled_images_per_s']:.0f} vs eager "
              f"{c['eager_images_per_s']:.0f} images/s ({c['ratio']:.2f}x)")
    print(f"encode (no grad, batch 256, fp32): {enc:.0f} images/s")
    result = {"threads": args.threads, "steps": args.steps, "native_bf16": native_bf16, "matmul_gflops": ceilings,
              "training": rows, "bf16_over_fp32": ratios, "compiled": compiled, "encode_images_per_s": enc}
    if args.quality:
        q = quality(args.quality)
        result["quality"] = q
        print_quality(args.quality, q)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
