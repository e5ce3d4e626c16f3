"""One training loop for source training and source-to-target fine-tuning (docs/architecture.md).

- Data: batch ``s`` is a pure function of (seed, s) (``drviz.data.samplers.batch_rng``), rendered
  in a background thread; the reparameterisation noise of step ``s`` is seeded the same way. So a
  run resumed from its last checkpoint, even after ``kill -9``, ends with the weights the
  uninterrupted run would have had (on the same machine).
- Progress goes to an ``on_progress(Progress)`` callback; ``cancel`` (a ``threading.Event``) stops
  the run cooperatively after the current step, saving a checkpoint first.
- A non-finite loss stops the run before the bad step touches the weights on disk: the last
  good checkpoint stays, and the error names the step.
- Transfer (``config.init_from``): the source run's weights initialise the model; a grayscale
  source on a colour target (or the reverse) gets its first and last layers adapted explicitly.
  A continuation (``config.init_step > 0``, ``train --init-from``) also starts from a run's
  weights, with a fresh optimizer, but keeps counting steps (and drawing batches) from there.
- Precision: bf16 autocast runs the network in bf16 where the hardware has it (CPUs with
  AVX512-BF16 or AMX, where it is about 1.6x faster, and CUDA); the loss terms are computed in
  fp32 from fp32 casts. A CPU without native bf16 (an AVX2-only Zen 3, measured) emulates it about
  10x slower, so ``auto`` picks fp32 there (``benchmarks/bench_training.py`` shows both).
- lr schedule: constant, or torch's ReduceLROnPlateau on the mean loss of fixed step windows; its
  state and the partial window are checkpointed, so a resume stays exact.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import torch

from drviz import checkpoints as ckpt
from drviz.config import RunConfig
from drviz.data import get_dataset
from drviz.data.base import GroundTruthDataset
from drviz.data.samplers import batches
from drviz.errors import DrvizError
from drviz.models import VAE, ModelSpec
from drviz.models.objectives import (
    adaptive_shared_mask,
    aggregate,
    bernoulli_recon,
    kl_between,
    kl_to_prior,
    label_shared_mask,
)


@dataclass(frozen=True)
class Progress:
    """A training step's report. Losses are per image, averaged since the previous report."""

    step: int
    total: int
    loss: float
    recon: float
    kl: float
    images_per_s: float
    elapsed_s: float  # since this (possibly resumed) session started, at step ``start``
    start: int = 0

    @property
    def eta_s(self) -> float:
        per_step = self.elapsed_s / max(self.step - self.start, 1)
        return per_step * (self.total - self.step)

    @property
    def fraction(self) -> float:
        return self.step / self.total


@dataclass(frozen=True)
class TrainResult:
    path: Path
    step: int
    finished: bool
    cancelled: bool
    history: list[dict]


class TrainingDiverged(DrvizError):
    """The loss became NaN or inf; the last good checkpoint was kept."""


def bf16_supported(device: torch.device) -> bool:
    """Fast bf16 on this device: CUDA with bf16, or a CPU whose oneDNN has bf16 kernels (AVX512-BF16, AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # a private oneDNN probe: absent means no
            return False
    return False


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto`` -> bf16 where :func:`bf16_supported`, else fp32; an explicit bf16 the device lacks is refused."""
    if requested == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    if requested == "bf16" and not bf16_supported(device) and device.type != "cpu":
        raise DrvizError(f"{device} has no bf16 support; use --precision fp32 (or auto)")
    return requested


def autocast(device: torch.device, precision: str):
    """The network's autocast context (a no-op for fp32)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


# -- transfer ---------------------------------------------------------------------------------
def adapt_channels(state: dict, spec_from: ModelSpec, spec_to: ModelSpec) -> tuple[dict, list[str]]:
    """Adapt a source state_dict's first conv and last deconv to a different channel count.

    Grayscale -> colour: the encoder sees the three channels' mean (weights / 3 per channel, so a
    gray image gives the source's activations) and the decoder emits its gray logits in every
    channel. Colour -> grayscale: the encoder's three kernels are summed (a gray image feeds all
    three), the decoder's three outputs are averaged. Returns the new state and what was done.
    """
    if spec_from.channels == spec_to.channels:
        return state, []
    c_from, c_to = spec_from.channels, spec_to.channels
    state = dict(state)
    first, last_w, last_b = "encoder.0.weight", "decoder.6.weight", "decoder.6.bias"
    w = state[first]  # (out, c_from, 4, 4)
    gray = w.sum(dim=1, keepdim=True)  # response to an image equal in every channel
    state[first] = gray.repeat(1, c_to, 1, 1) / c_to
    lw, lb = state[last_w], state[last_b]  # (in, c_from, 4, 4), (c_from,)
    state[last_w] = lw.mean(dim=1, keepdim=True).repeat(1, c_to, 1, 1)
    state[last_b] = lb.mean().repeat(c_to)
    notes = [
        f"adapted the first conv from {c_from} to {c_to} input channels (kernels summed over the "
        f"source channels, spread evenly over the target's)",
        f"adapted the last deconv from {c_from} to {c_to} output channels (source outputs averaged, "
        f"then copied to each target channel)",
    ]
    return state, notes


def transfer_config(source: str | Path, target: str, *, steps: int = 2000, lr: float = 1e-4,
                    method: str = "beta_vae", seed: int = 0, batch_size: int | None = None,
                    beta: float | None = None, precision: str = "auto", root: Path | None = None) -> RunConfig:
    """Fine-tuning config: the source's architecture and beta, unsupervised by default."""
    info = ckpt.read_run(source, root)
    src = info.config
    return RunConfig(
        dataset=target, method=method, beta=src.beta if beta is None else beta,
        latent_dim=src.latent_dim, width=src.width, steps=steps,
        batch_size=batch_size or src.batch_size, lr=lr, seed=seed, init_from=ckpt.run_ref(info, root),
        checkpoint_every=src.checkpoint_every, precision=precision,
    )


def continue_config(source: str | Path, root: Path | None = None, **changes) -> RunConfig:
    """A branch of run ``source``: its settings with ``changes``, continuing from its current step.

    ``steps`` is the total the branch ends at (more than the source's step). The dataset and
    architecture stay the source's (a new dataset is a transfer: :func:`transfer_config`).
    """
    info = ckpt.read_run(source, root)
    if info.step < 1:
        raise DrvizError(f"run {info.name} has no trained step to continue from")
    for fixed in ("dataset", "latent_dim", "width"):
        if fixed in changes and changes[fixed] != getattr(info.config, fixed):
            raise DrvizError(f"a continuation keeps the run's {fixed} ({getattr(info.config, fixed)!r}); "
                             f"use transfer for another dataset, or train a new run")
    steps = changes.pop("steps", None) or info.config.steps
    if steps <= info.step:
        raise DrvizError(f"run {info.name} is at step {info.step}: give --steps above it (the total the branch ends at)")
    return replace(info.config, init_from=ckpt.run_ref(info, root), init_step=info.step, steps=steps, **changes)


def check_compatible(config: RunConfig, ds: GroundTruthDataset) -> None:
    if config.weak and not ds.labelled:
        raise DrvizError(f"{config.method} needs weak pairs, but {ds.name} has no factor labels; use --method beta_vae")
    if config.method == "gvae_labels" and config.latent_dim < ds.num_factors:
        raise DrvizError(
            f"gvae_labels ties factor i to dim i: latent_dim must be >= {ds.num_factors} "
            f"(the factors of {ds.name}); got {config.latent_dim}"
        )
    if config.weak and config.k > sum(s > 1 for s in ds.factor_sizes):
        raise DrvizError(f"k={config.k} exceeds the number of varying factors of {ds.name}")


# -- the loss -----------------------------------------------------------------------------------
def step_loss(model: VAE, config: RunConfig, batch: tuple[torch.Tensor, ...], beta: float,
              gen: torch.Generator, amp=contextlib.nullcontext) -> tuple[torch.Tensor, float, float]:
    """Loss of one batch (mean per image) and its recon / KL parts.

    ``amp``: a factory of the network's autocast context (:func:`autocast`); only the encoder and
    decoder run inside it, the loss terms are computed in fp32 (bf16 sums over 12,288 pixels
    would lose the small KL differences Ada-GVAE's mask compares).
    """
    def encode(x):
        with amp():
            mu, logvar = model.encode(x)
        return mu.float(), logvar.float()

    def elbo(x, mu, logvar, eps):
        z = mu + eps * (0.5 * logvar).exp()
        with amp():
            logits = model.decode(z)
        return bernoulli_recon(logits.float(), x), kl_to_prior(mu, logvar).sum(1)

    if not config.weak:
        (x,) = batch
        mu, logvar = encode(x)
        eps = torch.randn(mu.shape, generator=gen, device=mu.device)
        recon, kl = elbo(x, mu, logvar, eps)
    else:
        x1, x2, changed = batch
        mu, logvar = encode(torch.cat([x1, x2]))  # one pass over both images of every pair
        mu1, mu2 = mu.chunk(2)
        lv1, lv2 = logvar.chunk(2)
        if config.method == "ada_gvae":
            shared = adaptive_shared_mask(kl_between(mu1, lv1, mu2, lv2))
        else:
            shared = label_shared_mask(changed, mu.shape[1])
        mu1, lv1, mu2, lv2 = aggregate(mu1, lv1, mu2, lv2, shared)
        eps = torch.randn((2 * mu1.shape[0], mu1.shape[1]), generator=gen, device=mu.device)
        recon, kl = elbo(torch.cat([x1, x2]), torch.cat([mu1, mu2]), torch.cat([lv1, lv2]), eps)
    recon, kl = recon.mean(), kl.mean()
    return recon + beta * kl, float(recon.detach()), float(kl.detach())


# -- the loop -----------------------------------------------------------------------------------
def _build(config: RunConfig, ds: GroundTruthDataset, root: Path | None) -> tuple[VAE, ModelSpec, list[str], list[dict]]:
    """The initial network, its spec, lineage notes and inherited history (a continuation's)."""
    spec = ModelSpec(channels=ds.image_shape[0], latent_dim=config.latent_dim, width=config.width)
    torch.manual_seed(config.seed)
    model = VAE(spec)
    notes: list[str] = []
    history: list[dict] = []
    if config.init_from:
        src = ckpt.read_run(config.init_from, root)
        if (src.spec.latent_dim, src.spec.width) != (spec.latent_dim, spec.width):
            raise DrvizError(
                f"source run {src.name} has latent_dim={src.spec.latent_dim}, width={src.spec.width}; "
                f"the new run must use the same (got {spec.latent_dim}, {spec.width})"
            )
        state = ckpt.load_tensors(src.path / "model.pt")
        state, adapted = adapt_channels(state, src.spec, spec)
        ckpt.load_weights(model, state, f"{src.name}/model.pt")
        # The source's own lineage first: the chain stays readable once an intermediate run is retired.
        notes += src.notes
        if config.continued:
            if config.init_step != src.step:
                raise DrvizError(f"run {src.name} is at step {src.step}, not {config.init_step}: continue it from its own step")
            c = src.config
            notes.append(f"continued from {src.name} at step {src.step} ({c.dataset}, {c.method}, beta {c.beta:g}, "
                         f"lr {c.lr:g}, {src.precision}); fresh optimizer")
            history = [row for row in ckpt.read_history(src.path) if row["step"] <= src.step]
        else:
            notes.append(f"initialised from {src.name} at step {src.step} ({src.config.dataset}, {src.config.method})")
        notes += adapted
    return model, spec, notes, history


def _resume_config(saved: RunConfig, given: RunConfig, out: Path, precision: str) -> RunConfig:
    """The saved config with ``steps`` from ``given``; any other difference is a one-line error."""
    if given.precision not in ("auto", saved.precision, precision):
        raise DrvizError(f"run {out.name} trains in {precision}; a resume cannot switch it to {given.precision}: "
                         f"leave --precision out, or branch a new run with train --init-from {out.name}")
    given = replace(given, precision=saved.precision)
    diffs = [f"{f}={getattr(given, f)!r} (the run's: {getattr(saved, f)!r})"
             for f in saved.to_json() if f != "steps" and getattr(given, f) != getattr(saved, f)]
    if diffs:
        raise DrvizError(f"--resume keeps the run's own settings; {out}/config.json differs in {', '.join(diffs)}")
    return replace(saved, steps=given.steps)


def train(config: RunConfig, out: str | Path, *, resume: bool = False,
          on_progress: Callable[[Progress], None] | None = None,
          cancel: threading.Event | None = None, device: str | torch.device | None = None,
          threads: int | None = None, root: Path | None = None, log_every: int | None = None,
          channels_last: bool | None = None) -> TrainResult:
    """Train (or fine-tune / continue, with ``config.init_from``) and write the run folder ``out``.

    Args:
        resume: continue ``out`` from its ``train_state.pt``; the config must match but for
            ``steps`` (which may grow: config.json then says so).
        threads: torch intra-op threads (1 beside a server: docs/architecture.md).
        root: where ``init_from`` names are looked up (default ``runs_root()``).
        channels_last: NHWC memory layout; None = on for CPU, where it speeds convolutions 5-25%.
    Returns a TrainResult; raises DrvizError for bad input and TrainingDiverged for NaN loss.
    """
    out = Path(out)
    ds = get_dataset(config.dataset)
    check_compatible(config, ds)
    dev = torch.device(device) if device is not None else ckpt.default_device()
    if threads:
        torch.set_num_threads(threads)

    if resume:
        state = ckpt.load_train_state(out)
        saved, spec, notes = ckpt.read_config(out)
        precision = ckpt.read_precision(out)
        config = _resume_config(saved, config, out, precision)
        if config.steps != saved.steps:  # resuming may extend (or shorten) the run: config.json says so
            ckpt.write_config(out, config, spec, notes, precision)
        for stale in out.glob(".*.tmp"):  # a write cut short by a kill: the target file is intact
            stale.unlink()
        model = VAE(spec)
        ckpt.load_weights(model, state["model"], f"{out.name}/train_state.pt")
        start = int(state["step"])
        history = [row for row in ckpt.read_history(out) if row["step"] <= start]
    else:
        if (out / "model.pt").exists() or (out / "train_state.pt").exists():
            raise DrvizError(f"run folder {out} already holds a run; pick another --out or pass --resume")
        precision = resolve_precision(config.precision, dev)
        model, spec, notes, history = _build(config, ds, root)
        start, state = config.init_step, None
        ckpt.write_config(out, config, spec, notes, precision)

    if channels_last is None:
        channels_last = dev.type == "cpu"
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(dev, memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    plateau = (torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=config.plateau_factor, patience=config.plateau_patience, threshold=1e-3)
        if config.lr_schedule == "plateau" else None)
    window_sum = window_n = 0.0  # the plateau window: loss summed since its last step
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        if plateau is not None:
            plateau.load_state_dict(state["plateau"])
            window_sum, window_n = float(state["plateau_window"][0]), float(state["plateau_window"][1])
    gen = torch.Generator(device=dev)
    amp = lambda: autocast(dev, precision)  # noqa: E731

    def save(step: int, finished: bool, cancelled: bool, last: dict) -> None:
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        train_state = {"model": weights, "optimizer": opt.state_dict(), "step": torch.tensor(step)}
        if plateau is not None:
            train_state["plateau"] = plateau.state_dict()
            train_state["plateau_window"] = torch.tensor([window_sum, window_n], dtype=torch.float64)
        ckpt.save_checkpoint(out, weights, train_state, history, {
            "step": step, "steps": config.steps, "finished": finished, "cancelled": cancelled,
            "device": str(dev), "precision": precision,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **{k: last[k] for k in ("loss", "recon", "kl", "lr", "images_per_s") if k in last},
        })

    log_every = log_every or max(1, (config.steps - start) // 500)
    images_per_step = config.batch_size * (2 if config.weak else 1)
    to_tensor = lambda a: torch.from_numpy(a).to(dev, non_blocking=True)  # noqa: E731
    data = batches(ds, config.batch_size, config.seed, start=start, pairs=config.weak, k=config.k)
    t0 = time.perf_counter()
    window = {"loss": 0.0, "recon": 0.0, "kl": 0.0, "n": 0, "t": t0}
    last: dict = {}
    step = start
    try:
        while step < config.steps:
            if cancel is not None and cancel.is_set():
                save(step, False, True, last)
                return TrainResult(out, step, False, True, history)
            arrays = next(data)
            batch = tuple(to_tensor(a) for a in arrays[:2]) if config.weak else (to_tensor(arrays[0]),)
            batch = tuple(b.contiguous(memory_format=fmt) for b in batch)
            if config.weak:
                batch = batch + (to_tensor(arrays[2]),)
            gen.manual_seed(config.seed * 1_000_003 + step)
            beta = config.beta * min(1.0, (step + 1) / config.kl_warmup) if config.kl_warmup else config.beta
            loss, recon, kl = step_loss(model, config, batch, beta, gen, amp)
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                saved_step = _saved_step(out)
                kept = f"kept the last good checkpoint (step {saved_step})" if saved_step else "no checkpoint had been written yet"
                raise TrainingDiverged(f"loss became {loss_value} at step {step + 1}; {kept}; lower --lr or set --grad-clip")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            step += 1
            if plateau is not None:
                window_sum, window_n = window_sum + loss_value, window_n + 1
                if step % config.plateau_every == 0:
                    plateau.step(window_sum / window_n)
                    window_sum = window_n = 0.0
            for key, value in (("loss", loss_value), ("recon", recon), ("kl", kl)):
                window[key] += value
            window["n"] += 1
            if step % log_every == 0 or step == config.steps:
                now = time.perf_counter()
                n = window["n"]
                last = {
                    "step": step, "loss": window["loss"] / n, "recon": window["recon"] / n, "kl": window["kl"] / n,
                    "lr": opt.param_groups[0]["lr"],
                    "images_per_s": n * images_per_step / max(now - window["t"], 1e-9), "elapsed_s": now - t0,
                }
                history.append(last)
                window = {"loss": 0.0, "recon": 0.0, "kl": 0.0, "n": 0, "t": now}
                if on_progress is not None:
                    on_progress(Progress(step, config.steps, last["loss"], last["recon"], last["kl"],
                                         last["images_per_s"], now - t0, start))
            if step % config.checkpoint_every == 0 and step < config.steps:
                save(step, False, False, last)
        save(step, True, False, last)
    finally:
        data.close()
    return TrainResult(out, step, True, False, history)


def _saved_step(out: Path) -> int:
    """Step of the checkpoint on disk (0 when none was written yet)."""
    try:
        return int(ckpt.read_run(out).state.get("step", 0))
    except DrvizError:
        return 0


def default_run_name(config: RunConfig) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    kind = "ft" if config.is_transfer else config.method
    return f"{Path(config.dataset).name.replace(':', '_')}-{kind}-s{config.seed}-{stamp}"


def set_threads_for_server() -> None:
    """One intra-op thread: a trainer beside the Streamlit server must not starve it."""
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


__all__ = ["Progress", "TrainResult", "TrainingDiverged", "adapt_channels", "autocast", "bf16_supported",
           "check_compatible", "continue_config", "default_run_name", "resolve_precision", "step_loss", "train",
           "transfer_config"]
