"""The runs shipped in checkpoints/: the app opens on one, each is complete for its status, and
``default_run`` picks the first of ``DEFAULT_RUNS`` that exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from drviz.catalog import DEFAULT_RUNS, default_run, transfer_map
from drviz.checkpoints import read_metrics, scan_runs

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
RUNS, DAMAGED = scan_runs(SHIPPED)
BY_NAME = {r.name: r for r in RUNS}


def test_default_run_prefers_the_shipped_order_then_the_first_name():
    assert default_run(["a", DEFAULT_RUNS[1], DEFAULT_RUNS[0]]) == DEFAULT_RUNS[0]
    assert default_run(["a", DEFAULT_RUNS[1]]) == DEFAULT_RUNS[1]
    assert default_run(["a", "b"]) == "a"
    assert default_run([]) is None


def test_every_shipped_run_reads_and_the_app_opens_on_a_final_scored_default():
    assert not DAMAGED, [d.reason for d in DAMAGED]
    assert all(name in BY_NAME for name in DEFAULT_RUNS), sorted(BY_NAME)
    first = BY_NAME[default_run(sorted(BY_NAME))]
    assert first.name == DEFAULT_RUNS[0] and first.state.get("finished")
    assert first.metrics is not None and first.metrics["omes"]["omes"] > 0.5


@pytest.mark.parametrize("run", RUNS, ids=[r.name for r in RUNS])
def test_a_shipped_run_is_complete_for_its_status(run):
    files = {p.name for p in run.path.iterdir()}
    if run.state.get("finished"):
        # final: scored and drawn (the card's pictures), optimizer state gone (the repo stays lean)
        assert {"metrics.json", "recon.png", "traversal.png"} <= files
        assert "train_state.pt" not in files
        assert run.metrics["step"] == run.state["step"], "metrics.json predates the final weights"
    else:
        # in progress: committed with its optimizer state so the campaign resumes exactly
        assert "train_state.pt" in files


TRANSFERS = [(source, BY_NAME[name]) for source, names in transfer_map(RUNS).items() for name in names
             if BY_NAME[name].state.get("finished")]


@pytest.mark.parametrize("source, transfer", TRANSFERS, ids=[t.name for _, t in TRANSFERS])
def test_a_final_transfer_has_its_shipped_sources_before_scores(source, transfer):
    before = read_metrics(BY_NAME[source].path, transfer.config.dataset)
    assert before is not None and before["dataset"] == transfer.config.dataset
