"""A transfer's before / after scores are computed once and found again: in the runs' metrics
files (``drviz evaluate``) or in the result store (the app's quick scores)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from drviz import checkpoints as ckpt
from drviz.evaluation import omes_components_of, quick_scores_json, stored_before_after
from drviz.representations import Representation
from drviz.tables import transfer_tables


def perfect(n: int = 300, seed: int = 0) -> Representation:
    """Two FoVs with 4 values each, each read off one of three dims (the third is noise)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, (n, 2))
    z = np.column_stack([y[:, 0], y[:, 1], np.zeros(n)]).astype(np.float32) + 0.01 * rng.normal(size=(n, 3))
    return Representation(z.astype(np.float32), None, y, ("shape", "scale"))


@pytest.fixture
def pair(tiny_run_root, tmp_path):
    """A source and a "transfer" (copies of one tiny run: only their folders matter here)."""
    src, tr = tmp_path / "src", tmp_path / "tr"
    shutil.copytree(tiny_run_root / "tiny", src)
    shutil.copytree(tiny_run_root / "tiny", tr)
    return src, tr


def test_quick_scores_are_computed_once_and_found_by_the_next_visit(pair):
    src, tr = pair
    assert stored_before_after(src, tr, "noisy_dsprites", 300, 0) is None  # nothing yet: the app offers a button
    calls = []

    def rep():
        calls.append(1)
        return perfect()

    first = quick_scores_json(src, "noisy_dsprites", 300, 0, rep)
    assert quick_scores_json(src, "noisy_dsprites", 300, 0, rep) == first and len(calls) == 1
    assert stored_before_after(src, tr, "noisy_dsprites", 300, 0) is None  # the transfer's side is missing
    quick_scores_json(tr, "noisy_dsprites", 300, 0, rep)
    before, after, origin = stored_before_after(src, tr, "noisy_dsprites", 300, 0)
    assert before == first and "computed in the app" in origin and "300 samples" in origin
    assert stored_before_after(src, tr, "noisy_dsprites", 500, 0) is None  # another n is another entry
    _, summary = transfer_tables(before, after)
    rows = summary.set_index("metric")
    assert rows.loc["OMES (alpha 0.5, avg)", "before"] == omes_components_of(perfect(), 0).score(0.5, "avg")
    assert rows.loc["GBT accuracy, full", "before"] == pytest.approx(1.0)
    assert rows.loc["GBT accuracy, full", "change"] == 0.0


def test_metrics_files_from_evaluate_come_first_and_stale_ones_are_ignored(pair):
    src, tr = pair
    data = quick_scores_json(src, "noisy_dsprites", 300, 0, perfect)
    ckpt.save_metrics(src, {**data, "n": 10_000}, "noisy_dsprites")  # the source scored on the target
    assert (src / "metrics-noisy_dsprites.json").exists()
    assert stored_before_after(src, tr, "noisy_dsprites", 300, 0) is None  # the transfer is not evaluated yet
    ckpt.save_metrics(tr, {**data, "n": 10_000}, "noisy_dsprites")
    before, after, origin = stored_before_after(src, tr, "noisy_dsprites", 300, 0)
    assert "stored with the runs" in origin and "10,000 samples" in origin and before["n"] == 10_000
    # the transfer trains on: its stored scores describe older weights and are not shown
    state = json.loads((tr / "state.json").read_text())
    (tr / "state.json").write_text(json.dumps({**state, "step": state["step"] + 100}))
    assert ckpt.read_metrics(tr, "noisy_dsprites") is None
    assert stored_before_after(src, tr, "noisy_dsprites", 300, 0) is None
    # metrics written before the step stamp existed are trusted; damaged ones are not
    path = ckpt.metrics_file(tr, "noisy_dsprites")
    path.write_text(json.dumps(data))
    assert ckpt.read_metrics(tr, "noisy_dsprites") == data
    path.write_text("{not json")
    assert ckpt.read_metrics(tr, "noisy_dsprites") is None
