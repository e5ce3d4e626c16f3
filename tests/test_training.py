"""Training, transfer, determinism, resume (also after kill -9), divergence and bad settings."""

from __future__ import annotations

import json
from dataclasses import replace
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from drviz import checkpoints as ckpt
from drviz import training
from drviz.config import RunConfig
from drviz.errors import DrvizError
from drviz.training import TrainingDiverged, adapt_channels, train, transfer_config
from drviz.models import VAE, ModelSpec

from conftest import REPO

pytestmark = pytest.mark.slow


def _weights(path):
    return ckpt.load_tensors(path / "model.pt")


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("method", ["beta_vae", "ada_gvae", "gvae_labels"])
def test_short_training_lowers_the_loss(tmp_path, method):
    cfg = RunConfig(dataset="dsprites", method=method, beta=1.0, steps=80, batch_size=32, lr=1e-3, seed=1)
    result = train(cfg, tmp_path / "r", device="cpu", log_every=4)
    losses = [row["loss"] for row in result.history]
    assert result.finished and result.step == 80 and len(losses) == 20
    assert np.mean(losses[-4:]) < 0.6 * np.mean(losses[:4])
    state = json.loads((tmp_path / "r" / "state.json").read_text())
    assert state["finished"] is True and state["step"] == 80


def test_same_seed_same_weights_and_different_seed_differs(tmp_path):
    cfg = RunConfig(dataset="dsprites", steps=6, batch_size=8, seed=3)
    train(cfg, tmp_path / "a", device="cpu")
    train(cfg, tmp_path / "b", device="cpu")
    train(RunConfig(dataset="dsprites", steps=6, batch_size=8, seed=4), tmp_path / "c", device="cpu")
    assert _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "c"))


def test_cancel_then_resume_matches_uninterrupted_run(tmp_path):
    cfg = RunConfig(dataset="color_dsprites", method="ada_gvae", steps=12, batch_size=8, seed=2, checkpoint_every=100)
    train(cfg, tmp_path / "full", device="cpu")
    cancel = threading.Event()

    def stop_at_5(p):
        if p.step == 5:
            cancel.set()

    part = train(cfg, tmp_path / "part", device="cpu", on_progress=stop_at_5, cancel=cancel, log_every=1)
    assert part.cancelled and part.step == 5 and not part.finished
    assert json.loads((tmp_path / "part" / "state.json").read_text())["cancelled"] is True
    resumed = train(cfg, tmp_path / "part", device="cpu", resume=True, log_every=1)
    assert resumed.finished and resumed.step == 12
    assert [r["step"] for r in resumed.history] == list(range(1, 13))
    assert _same(_weights(tmp_path / "full"), _weights(tmp_path / "part"))


def test_resume_after_kill_9(tmp_path):
    cfg = RunConfig(dataset="dsprites", steps=400, batch_size=8, seed=5, checkpoint_every=10)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_json()))
    out = tmp_path / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "drviz", "train", "--config", str(tmp_path / "cfg.json"),
                             "--out", str(out), "--threads", "1"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if json.loads((out / "state.json").read_text())["step"] >= 20:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = json.loads((out / "state.json").read_text())["step"]
    assert 20 <= saved < 400 and saved % 10 == 0
    ckpt.load_run(out, device="cpu")  # whatever was on disk at the kill is a complete checkpoint
    short = RunConfig(**{**cfg.to_json(), "steps": saved + 10})
    train(short, out, device="cpu", resume=True)
    assert ckpt.read_run(out).config.steps == saved + 10  # config.json follows the extended run
    assert not list(out.glob(".*.tmp"))  # a write cut short by the kill is cleaned up on resume
    train(short, tmp_path / "straight", device="cpu")
    assert _same(_weights(out), _weights(tmp_path / "straight"))


def test_nan_loss_stops_keeps_last_checkpoint_and_names_the_step(tmp_path, monkeypatch):
    real = training.step_loss
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        loss, recon, kl = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 8:
            return loss * float("nan"), recon, kl
        return loss, recon, kl

    monkeypatch.setattr(training, "step_loss", flaky)
    cfg = RunConfig(dataset="dsprites", steps=20, batch_size=8, checkpoint_every=5)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 8; kept the last good checkpoint \(step 5\)"):
        train(cfg, tmp_path / "r", device="cpu")
    run = ckpt.load_run(tmp_path / "r", device="cpu")
    assert run.info.step == 5 and not run.info.finished
    assert all(torch.isfinite(v).all() for v in run.model.state_dict().values())


def test_transfer_records_source_and_adapts_channels(tmp_path):
    src = tmp_path / "src"
    train(RunConfig(dataset="dsprites", steps=3, batch_size=8, beta=3.0), src, device="cpu")
    cfg = transfer_config(src, "color_dsprites", steps=3, root=tmp_path)
    assert cfg.init_from == "src" and cfg.beta == 3.0 and cfg.lr == 1e-4 and cfg.method == "beta_vae"
    train(cfg, tmp_path / "dst", device="cpu", root=tmp_path)
    info = ckpt.read_run(tmp_path / "dst")
    assert info.config.init_from == "src" and info.spec.channels == 3
    assert any("initialised from src" in n for n in info.notes)
    assert any("first conv from 1 to 3" in n for n in info.notes)
    assert ckpt.lineage(info, tmp_path) == ["src", "dst"]


def test_adapted_first_and_last_layers_preserve_gray_behaviour():
    torch.manual_seed(0)
    gray, color = ModelSpec(channels=1), ModelSpec(channels=3)
    src = VAE(gray).eval()
    state, notes = adapt_channels(src.state_dict(), gray, color)
    dst = VAE(color).eval()
    dst.load_state_dict(state)
    x = torch.rand(4, 1, 64, 64)
    with torch.no_grad():
        mu_src, _ = src.encode(x)
        mu_dst, _ = dst.encode(x.repeat(1, 3, 1, 1))  # the same gray image in all three channels
        assert torch.allclose(mu_src, mu_dst, atol=1e-5)
        out = dst.decode(mu_src)
        assert torch.allclose(out[:, 0], src.decode(mu_src)[:, 0], atol=1e-5)
        assert torch.allclose(out[:, 0], out[:, 2])
    back, _ = adapt_channels(state, color, gray)
    assert back["encoder.0.weight"].shape[1] == 1 and len(notes) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "vae_plus"}, "method"),
    ({"beta": -1.0}, "beta"),
    ({"beta": float("nan")}, "beta"),
    ({"latent_dim": 0}, "latent_dim"),
    ({"steps": 0}, "steps"),
    ({"batch_size": 1}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"seed": -1}, "seed"),
    ({"latent_dim": True}, "latent_dim"),
])
def test_bad_settings_are_refused_in_one_line(kwargs, message):
    with pytest.raises(DrvizError, match=message) as err:
        RunConfig(dataset="dsprites", **kwargs)
    assert "\n" not in str(err.value)


def test_incompatible_method_and_dataset(tmp_path):
    with pytest.raises(DrvizError, match="latent_dim must be >= 6"):
        train(RunConfig(dataset="color_dsprites", method="gvae_labels", latent_dim=4, steps=2), tmp_path / "r")
    with pytest.raises(DrvizError, match="unknown dataset"):
        train(RunConfig(dataset="no_such_set", steps=2), tmp_path / "r2")


def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path):
    cfg = RunConfig(dataset="dsprites", steps=2, batch_size=4)
    train(cfg, tmp_path / "r", device="cpu")
    with pytest.raises(DrvizError, match="already holds a run"):
        train(cfg, tmp_path / "r", device="cpu")
    with pytest.raises(DrvizError, match="nothing to resume"):
        train(cfg, tmp_path / "empty", device="cpu", resume=True)
    with pytest.raises(DrvizError, match="differs"):
        train(RunConfig(dataset="dsprites", steps=2, batch_size=4, beta=2.0), tmp_path / "r", device="cpu", resume=True)


# -- precision ----------------------------------------------------------------------------------
def test_auto_precision_follows_the_hardware_and_config_json_records_both(tmp_path):
    cpu = torch.device("cpu")
    expected = "bf16" if training.bf16_supported(cpu) else "fp32"
    assert training.resolve_precision("auto", cpu) == expected
    assert training.resolve_precision("fp32", cpu) == "fp32"
    train(RunConfig(dataset="dsprites", steps=2, batch_size=4), tmp_path / "r", device="cpu")
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["config"]["precision"] == "auto" and saved["precision"] == expected
    assert ckpt.read_run(tmp_path / "r").precision == expected


def test_bf16_autocasts_the_network_but_computes_the_loss_in_fp32():
    torch.manual_seed(0)
    model = VAE(ModelSpec(channels=1))
    x = torch.rand(4, 1, 64, 64).round()
    cfg = RunConfig(dataset="dsprites", steps=1)
    gen = torch.Generator().manual_seed(0)
    cast = lambda: training.autocast(torch.device("cpu"), "bf16")  # noqa: E731
    loss16, recon16, _ = training.step_loss(model, cfg, (x,), 1.0, gen, cast)
    gen.manual_seed(0)
    loss32, recon32, _ = training.step_loss(model, cfg, (x,), 1.0, gen)
    assert loss16.dtype == torch.float32  # the loss is not a bf16 sum over 4,096 pixels
    assert abs(recon16 - recon32) / recon32 < 0.01  # bf16 network, same loss within 1%
    loss16.backward()
    assert all(p.grad.dtype == torch.float32 for p in model.parameters())


def test_a_resume_keeps_the_runs_precision(tmp_path):
    cfg = RunConfig(dataset="dsprites", steps=2, batch_size=4, precision="fp32")
    train(cfg, tmp_path / "r", device="cpu")
    with pytest.raises(DrvizError, match="trains in fp32; a resume cannot switch it to bf16") as err:
        train(replace(cfg, steps=3, precision="bf16"), tmp_path / "r", device="cpu", resume=True)
    assert "--init-from r" in str(err.value)
    train(replace(cfg, steps=3, precision="auto"), tmp_path / "r", device="cpu", resume=True)  # auto: the run's own
    assert ckpt.read_run(tmp_path / "r").step == 3


# -- lr schedule --------------------------------------------------------------------------------
def _flat_loss(monkeypatch):
    """A loss that never improves (same value every step, gradients still flow)."""
    real = training.step_loss

    def flat(*args, **kwargs):
        loss, recon, kl = real(*args, **kwargs)
        return loss * 0 + 100.0, recon, kl

    monkeypatch.setattr(training, "step_loss", flat)


def test_plateau_schedule_halves_the_lr_when_the_loss_stops_improving(tmp_path, monkeypatch):
    _flat_loss(monkeypatch)
    cfg = RunConfig(dataset="dsprites", steps=8, batch_size=4, lr=1e-3, lr_schedule="plateau",
                    plateau_every=2, plateau_patience=0, plateau_factor=0.5)
    result = train(cfg, tmp_path / "r", device="cpu", log_every=1)
    # window means at steps 2, 4, 6, 8: the first sets the best; each later one fails to improve
    assert [row["lr"] for row in result.history] == [1e-3] * 3 + [5e-4] * 2 + [2.5e-4] * 2 + [1.25e-4]
    constant = train(replace(cfg, lr_schedule="constant"), tmp_path / "c", device="cpu", log_every=1)
    assert {row["lr"] for row in constant.history} == {1e-3}


def test_plateau_schedule_resumes_exactly_from_the_middle_of_a_window(tmp_path):
    cfg = RunConfig(dataset="dsprites", steps=12, batch_size=4, lr=1e-3, seed=4, lr_schedule="plateau",
                    plateau_every=4, plateau_patience=0, plateau_factor=0.5, checkpoint_every=100)
    full = train(cfg, tmp_path / "full", device="cpu", log_every=1)
    cancel = threading.Event()
    part = train(cfg, tmp_path / "part", device="cpu", log_every=1, cancel=cancel,
                 on_progress=lambda p: cancel.set() if p.step == 6 else None)  # 2 steps into the 2nd window
    assert part.cancelled and part.step == 6
    resumed = train(cfg, tmp_path / "part", device="cpu", log_every=1, resume=True)
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in full.history]
    assert _same(_weights(tmp_path / "full"), _weights(tmp_path / "part"))


# -- branching ----------------------------------------------------------------------------------
def test_a_continuation_keeps_counting_from_the_source_step_with_new_settings(tmp_path):
    src = tmp_path / "src"
    train(RunConfig(dataset="dsprites", steps=4, batch_size=4, beta=4.0), src, device="cpu", log_every=1)
    cfg = training.continue_config(src, root=tmp_path, steps=7, beta=2.0, lr=1e-4)
    assert (cfg.init_from, cfg.init_step, cfg.beta, cfg.lr, cfg.steps) == ("src", 4, 2.0, 1e-4, 7)
    assert cfg.continued and not cfg.is_transfer
    result = train(cfg, tmp_path / "branch", device="cpu", root=tmp_path, log_every=1)
    assert [row["step"] for row in result.history] == list(range(1, 8))  # the source's 4 rows, then 5..7
    info = ckpt.read_run(tmp_path / "branch")
    assert info.step == 7 and info.notes[0].startswith("continued from src at step 4 (dsprites, beta_vae, beta 4")
    assert ckpt.lineage(info, tmp_path) == ["src", "branch"]
    # a branch of the branch inherits its lineage notes, so retiring the middle run keeps the chain
    train(training.continue_config(tmp_path / "branch", root=tmp_path, steps=8), tmp_path / "twig", device="cpu",
          root=tmp_path)
    twig = ckpt.read_run(tmp_path / "twig")
    assert [n.split(" (")[0] for n in twig.notes] == ["continued from src at step 4", "continued from branch at step 7"]
    shutil.rmtree(tmp_path / "branch")
    assert ckpt.lineage(twig, tmp_path) == ["src", "branch", "twig"]
    still = train(training.continue_config(src, root=tmp_path, steps=5, lr=1e-12), tmp_path / "still", device="cpu",
                  root=tmp_path)
    assert still.step == 5  # one step at lr 1e-12 from the source's weights leaves them in place
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(_weights(src).values(), _weights(tmp_path / "still").values()))
    with pytest.raises(DrvizError, match="is at step 4: give --steps above it"):
        training.continue_config(src, root=tmp_path, steps=4)
    with pytest.raises(DrvizError, match="keeps the run's dataset"):
        training.continue_config(src, root=tmp_path, steps=9, dataset="shapes3d")
    with pytest.raises(DrvizError, match="init_step"):
        RunConfig(dataset="dsprites", steps=5, init_step=2)


def test_cli_resume_reads_the_run_folder_and_names_a_conflicting_setting(tmp_path, capsys):
    from drviz.cli import main

    out = tmp_path / "r"
    assert main(["train", "--dataset", "dsprites", "--steps", "2", "--batch-size", "4", "--beta", "2",
                 "--out", str(out), "--device", "cpu"]) == 0
    assert main(["train", "--resume", "--out", str(out), "--steps", "3", "--device", "cpu"]) == 0
    assert ckpt.read_run(out).step == 3 and ckpt.read_run(out).config.beta == 2.0
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(out), "--steps", "4", "--beta", "3", "--device", "cpu"]) == 2
    assert "beta=3.0 (the run's: 2.0)" in capsys.readouterr().err
    assert main(["train", "--init-from", str(out), "--steps", "5", "--lr", "1e-4", "--out", str(tmp_path / "b"),
                 "--device", "cpu"]) == 0
    branch = ckpt.read_run(tmp_path / "b")
    assert branch.config.init_step == 3 and branch.config.beta == 2.0 and branch.config.lr == 1e-4


def test_cli_runs_lists_scores_precision_wall_time_and_the_branch_point(tmp_path, capsys):
    from drviz.cli import main

    root = tmp_path / "runs"
    train(RunConfig(dataset="dsprites", steps=2, batch_size=4, precision="fp32"), root / "src", device="cpu")
    train(training.continue_config("src", root=root, steps=3), root / "branch", device="cpu", root=root)
    ckpt.save_metrics(root / "src", {"omes": {"omes": 0.5, "avg": {"per_factor": {
        "a": {"os": 0.6, "mes": 0.4, "measurable": True}, "b": {"os": None, "mes": None, "measurable": False}}}},
        "dci": {"disentanglement": 0.25}, "mig": {"mig": 0.125}})
    capsys.readouterr()
    assert main(["runs", "--root", str(root), "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| run | dataset | method | beta | step | prec | wall | loss | OMES | OS | MES | DCI D | MIG | from |"
    branch, src = lines[2], lines[3]
    assert branch.startswith("| `branch` | dsprites | beta_vae | 1 | 3/3 | fp32 |") and branch.endswith("| src at 2 |")
    assert "| 0.500 | 0.600 | 0.400 | 0.250 | 0.125 |  |" in src
