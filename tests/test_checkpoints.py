"""Run folders: exact round trip, atomic writes, and every kind of bad checkpoint."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from drviz import checkpoints as ckpt
from drviz.atomic import atomic_write
from drviz.errors import DrvizError
from drviz.models import VAE, ModelSpec


@pytest.fixture
def run(tiny_run_root, tmp_path):
    dst = tmp_path / "tiny"
    shutil.copytree(tiny_run_root / "tiny", dst)
    return dst


def test_round_trip_reproduces_outputs_exactly(run):
    a = ckpt.load_run(run, device="cpu").model
    b = ckpt.load_run(run, device="cpu").model
    x = torch.rand(5, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(a.encode(x)[0], b.encode(x)[0])
        assert torch.equal(a.decode(torch.ones(2, 10)), b.decode(torch.ones(2, 10)))
    info = ckpt.read_run(run)
    assert info.config.dataset == "color_dsprites" and info.spec == ModelSpec(channels=3, latent_dim=10)
    assert info.finished and info.step == 3 and len(ckpt.read_history(run)) == 3


def test_truncated_and_garbage_weights(run):
    data = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(DrvizError, match="truncated or corrupt"):
        ckpt.load_run(run, device="cpu")
    (run / "model.pt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(DrvizError, match="truncated or corrupt"):
        ckpt.load_run(run, device="cpu")


class Evil:
    def __reduce__(self):
        return (open, ("/tmp/drviz_pwned_by_pickle", "w"))


def test_pickle_smuggled_in_pt_is_refused_and_not_run(run, tmp_path):
    marker = tmp_path / "pwned"
    Evil.__reduce__ = lambda self: (open, (str(marker), "w"))
    state = dict(ckpt.load_tensors(run / "model.pt"))
    state["payload"] = Evil()
    torch.save(state, run / "model.pt")
    with pytest.raises(DrvizError, match="pickled Python objects") as err:
        ckpt.load_run(run, device="cpu")
    assert not marker.exists()
    assert "\n" not in str(err.value)


def test_other_architecture_or_latent_size(run):
    torch.save(VAE(ModelSpec(channels=3, latent_dim=6)).state_dict(), run / "model.pt")
    with pytest.raises(DrvizError, match=r"head.weight has shape \(12, 256\), the model expects \(20, 256\)"):
        ckpt.load_run(run, device="cpu")
    torch.save(torch.nn.Linear(3, 4).state_dict(), run / "model.pt")
    with pytest.raises(DrvizError, match="not a drviz VAE checkpoint"):
        ckpt.load_run(run, device="cpu")


def test_folder_without_config_or_with_broken_config(run, tmp_path):
    (run / "config.json").unlink()
    with pytest.raises(DrvizError, match="no config.json"):
        ckpt.load_run(run)
    (run / "config.json").write_text("{not json")
    with pytest.raises(DrvizError, match="not valid JSON"):
        ckpt.load_run(run)
    (run / "config.json").write_text(json.dumps({"config": {"dataset": "dsprites", "bogus": 1}, "model": {}}))
    with pytest.raises(DrvizError, match="unknown settings"):
        ckpt.load_run(run)
    with pytest.raises(DrvizError, match="not found"):
        ckpt.load_run(tmp_path / "does-not-exist")


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")

    def boom(fh):
        fh.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, boom)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_list_runs_skips_damaged_and_unfinished_folders(run, tmp_path):
    root = run.parent
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("{")
    (root / "broken" / "model.pt").write_bytes(b"")
    (root / "starting").mkdir()
    (root / "starting" / "config.json").write_text((run / "config.json").read_text())
    assert [r.name for r in ckpt.list_runs(root)] == ["tiny"]
    runs, damaged = ckpt.scan_runs(root)
    assert [d.name for d in damaged] == ["broken"] and "not valid JSON" in damaged[0].reason
