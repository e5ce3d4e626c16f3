"""drviz.catalog: a run's status and label, the runs table, transfers by source, the weights' cache key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drviz.catalog import run_label, run_status, runs_table, transfer_map, weights_version
from drviz.checkpoints import RunInfo
from drviz.config import RunConfig
from drviz.models import ModelSpec


def info(name: str, root: Path, state: dict | None = None, metrics: dict | None = None, mtime: int = 0,
         **config) -> RunInfo:
    """A run description (not a run folder); its model.pt exists only when ``mtime`` is given."""
    path = root / name
    if mtime:
        path.mkdir(parents=True, exist_ok=True)
        (path / "model.pt").write_bytes(b"w")
        os.utime(path / "model.pt", (mtime, mtime))
    cfg = RunConfig(**{"dataset": "color_dsprites", "steps": 100, **config})
    return RunInfo(name, path, cfg, ModelSpec(channels=3), (), state if state is not None else {}, metrics)


@pytest.mark.parametrize("state, status, label", [
    ({"step": 100, "finished": True}, "finished", "r"),
    ({"step": 40, "cancelled": True}, "cancelled at step 40", "r  [cancelled at step 40]"),
    ({"step": 40}, "in progress (step 40 of 100)", "r  [in progress (step 40 of 100)]"),
    ({"step": 40, "steps": 300}, "in progress (step 40 of 300)", "r  [in progress (step 40 of 300)]"),
    ({}, "no progress recorded", "r  [no progress recorded]"),
])
def test_status_and_label(tmp_path, state, status, label):
    run = info("r", tmp_path, state)
    assert run_status(run) == status and run_label(run) == label


def test_transfer_map_lists_direct_transfers_oldest_first_without_continuations(tmp_path):
    runs = [
        info("src", tmp_path, mtime=1000),
        info("late", tmp_path, mtime=3000, init_from="src"),
        info("early", tmp_path, mtime=2000, init_from=str(tmp_path / "src")),  # a path names the run too
        info("branch", tmp_path, mtime=2500, init_from="src", init_step=50),  # a continuation
        info("orphan", tmp_path, mtime=2600, init_from="gone"),
        info("second", tmp_path, mtime=4000, init_from="early"),
    ]
    assert transfer_map(runs) == {"src": ["early", "late"], "early": ["second"]}


def test_runs_table_has_one_row_per_run_with_lineage_and_scores(tmp_path):
    metrics = {"omes": {"omes": 0.71234}, "dci": {"disentanglement": 0.5}, "mig": {"mig": None}}
    runs = [info("src", tmp_path, {"step": 100, "finished": True, "loss": -0.000001}, metrics),
            info("tr", tmp_path, {"step": 7, "loss": 12.345678}, init_from="src")]
    table = runs_table(runs, root=tmp_path)
    assert list(table["run"]) == ["src", "tr"] and list(table["steps"]) == [100, 7]
    assert list(table["status"]) == ["finished", "in progress (step 7 of 100)"]
    assert list(table["lineage"]) == ["src", "src -> tr"]
    assert table["final loss"].tolist() == [0.0, 12.3457]
    assert table.loc[0, "OMES"] == 0.7123 and table.loc[0, "DCI D"] == 0.5 and "MIG" not in table.columns


def test_weights_version_changes_when_the_weights_are_rewritten(tmp_path):
    run = info("r", tmp_path, mtime=1000)
    before = weights_version(run.path)
    assert weights_version(str(run.path)) == before
    os.utime(run.path / "model.pt", (2000, 2000))
    assert weights_version(run.path) != before


def test_source_moved_on_names_both_steps(tmp_path):
    from drviz.catalog import source_moved_on
    from drviz.checkpoints import read_run
    from drviz.config import RunConfig
    from drviz.training import train, transfer_config

    train(RunConfig(dataset="dsprites", steps=2, batch_size=4), tmp_path / "src", device="cpu")
    train(transfer_config(tmp_path / "src", "dsprites", steps=1, batch_size=4, root=tmp_path), tmp_path / "tr",
          device="cpu", root=tmp_path)
    src, tr = read_run(tmp_path / "src"), read_run(tmp_path / "tr")
    assert source_moved_on(src, tr) is None
    train(RunConfig(dataset="dsprites", steps=3, batch_size=4), tmp_path / "src", device="cpu", resume=True)
    assert source_moved_on(read_run(tmp_path / "src"), tr) == (
        "src has trained on since tr started from it (step 2 then, 3 now): 'before' shows its current weights")
