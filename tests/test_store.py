"""The one store of computed results (issue 15): keyed by weights version, dataset, n, seed and
definition version; shared across processes; cleared with its run."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from drviz import store
from drviz.representations import Representation


@pytest.fixture
def run(tmp_path):
    path = tmp_path / "runs" / "r"
    path.mkdir(parents=True)
    (path / "model.pt").write_bytes(b"weights v1")
    return path


def rep(seed=0):
    rng = np.random.default_rng(seed)
    return Representation(rng.normal(size=(20, 3)).astype(np.float32), None, rng.integers(0, 4, (20, 2)), ("a", "b"),
                          description="20 rows", notes=("a note",))


def test_a_representation_is_computed_once_then_read_back(run):
    calls = []

    def compute():
        calls.append(1)
        return rep()

    first = store.cached_representation(run, "dsprites", 20, 0, compute)
    again = store.cached_representation(run, "dsprites", 20, 0, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.mean, again.mean)
    np.testing.assert_array_equal(first.factors, again.factors)
    assert again.factor_names == ("a", "b") and again.sampled is None
    assert again.description == "20 rows" and again.notes == ("a note",)
    # another dataset, n or seed is another entry
    store.cached_representation(run, "dsprites", 20, 1, compute)
    store.cached_representation(run, "dsprites", 21, 0, compute)
    store.cached_representation(run, "shapes3d", 20, 0, compute)
    assert len(calls) == 4


def test_new_weights_or_a_new_definition_is_a_new_entry(run, monkeypatch):
    k1 = store.Key.of(run, "omes", "dsprites", 100, 0)
    (run / "model.pt").write_bytes(b"weights v2, longer")
    k2 = store.Key.of(run, "omes", "dsprites", 100, 0)
    before = k2.digest()
    assert k1.digest() != before
    assert store.Key.of(run, "omes", "dsprites", 100, 0, alpha=0.3).digest() != before
    monkeypatch.setitem(store.DEFINITIONS, "omes", store.DEFINITIONS["omes"] + 1)
    assert store.Key.of(run, "omes", "dsprites", 100, 0).digest() != before
    with pytest.raises(Exception, match="unknown stored result"):
        store.Key.of(run, "nonsense", "dsprites", 100, 0)


def test_json_entries_damaged_entries_and_clearing(run, tmp_path):
    key = store.Key.of(run, "dci", "dsprites", 100, 0)
    assert store.cached_json(key, lambda: {"d": 0.5}) == {"d": 0.5}
    assert store.cached_json(key, lambda: {"d": -1.0}) == {"d": 0.5}
    key.path("json").write_text("{half")
    assert store.cached_json(key, lambda: {"d": 0.7}) == {"d": 0.7}  # unreadable: recomputed

    twin = tmp_path / "elsewhere" / "r"  # same name, another folder: its own entries
    shutil.copytree(run, twin)
    os.utime(twin / "model.pt", ns=((run / "model.pt").stat().st_mtime_ns,) * 2)
    assert store.run_slot(twin) != store.run_slot(run)
    assert store.get_json(store.Key.of(twin, "dci", "dsprites", 100, 0)) is None

    assert store.clear_run(run) > 0
    assert store.get_json(key) is None


def test_deleting_a_run_clears_its_stored_results(run):
    from drviz import jobs

    store.cached_representation(run, "dsprites", 20, 0, rep)
    slot = store.results_dir() / store.run_slot(run)
    assert slot.is_dir()
    jobs.delete_run(run)
    assert not run.exists() and not slot.exists()
