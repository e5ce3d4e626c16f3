"""Scores as tables (drviz.tables): per-FoV OMES, the FoV -> dim association, presets, before/after."""

from __future__ import annotations


import numpy as np
import pytest

from drviz import tables
from drviz.metrics.omes import components_from_matrix

from conftest import HAND_A as A, HAND_NAMES as NAMES  # conftest also gives its `comps` fixture


def test_rounded_never_shows_negative_zero_and_drops_what_is_not_finite():
    assert tables.rounded(0.123456) == 0.1235 and tables.rounded(3) == 3.0
    assert not np.signbit(tables.rounded(-0.00001))
    assert tables.rounded(None) is None and tables.rounded(float("nan")) is None and tables.rounded("0.5") is None


def test_fov_table_is_the_backend_recombination(comps):
    table = tables.fov_table(comps, 0.25, "avg", n_values=(3, 6, 32))
    res = comps.omes(0.25, "avg")
    assert list(table["OMES"]) == [round(f.omes, 4) for f in res.factors]
    assert list(table["dim"]) == [0, 1, 3]
    assert table["note"][0].startswith("capped") and table["note"][2] == ""
    assert "values" not in tables.fov_table(comps, 0.25, "avg").columns


def test_ceiling_and_flags(comps):
    assert tables.ceiling(2) == 0.0 and tables.ceiling(3) == 0.5 and tables.ceiling(41) == pytest.approx(0.975)
    capped, missing = tables.fov_flags(comps, (3, 40, 2))
    assert capped == ["shape (3 values: A <= 0.50)", "posX (2 values: A <= 0.00)"] and missing == []
    zero = components_from_matrix(np.array([[0.9, 0.0], [0.1, 0.0]]), ("a", "b"))
    capped, missing = tables.fov_flags(zero, None)
    assert capped == [] and len(missing) == 1 and missing[0].startswith("b: no active dim responds")


def test_association_table_lists_the_dim_and_other_responding_dims():
    a = np.array([[0.9, 0.1], [0.5, 0.8], [0.1, 0.05]])
    table = tables.association_table(components_from_matrix(a, ("f", "g")))
    row = table.iloc[0]
    assert row["FoV"] == "f" and row["dim"] == 0 and row["A[dim, FoV]"] == 0.9
    assert row["other dims with A >= 0.3"] == "1 (0.50)"


def test_matrix_frame_marks_inactive_dims(comps):
    frame = tables.matrix_frame(comps)
    assert list(frame.index) == ["dim 0", "dim 1", "dim 2 (inactive)", "dim 3"]
    assert list(frame.columns) == list(NAMES) and np.array_equal(frame.to_numpy(), A)


def test_presets_order_underfitting_partial_near_perfect():
    scores = [tables.preset_components(k).score(0.5, "max") for k in tables.PRESETS]
    assert scores == sorted(scores)
    summary = tables.preset_summary({k: tables.preset_components(k) for k in tables.PRESETS}, 0.5, "max")
    assert list(summary["matrix"]) == ["underfitting", "partial", "near-perfect"]
    assert list(summary["OMES"]) == scores


def _result(comps, d: float) -> dict:
    """Scores in metrics.json form, with no classifier results."""
    return {"omes": {p: comps.to_json(0.5, p) for p in ("avg", "max")},
            "dci": {"disentanglement": d, "completeness": 0.5, "informativeness_test": 0.5, "notes": []},
            "mig": {"mig": 0.2}, "downstream": {"per_factor": {}, "mean": {}, "notes": []}}


def test_transfer_table_change_is_never_negative_zero(comps):
    """A change that rounds to zero shows as 0.0, not -0.0 (e.g. DCI D 0.30001 -> 0.30000)."""
    _, summary = tables.transfer_tables(_result(comps, 0.30001), _result(comps, 0.30000))
    change = summary.set_index("metric").loc["DCI disentanglement", "change"]
    assert change == 0.0 and not np.signbit(change)


def test_transfer_tables_put_before_and_after_side_by_side(comps):
    worse = components_from_matrix(A[:, [1, 0, 2]], NAMES, inactive_dims=[2])  # shape and scale swap dims
    per_fov, summary = tables.transfer_tables(_result(comps, 0.6), _result(worse, 0.4), alpha=0.5, pooling="avg")
    assert list(per_fov["FoV"]) == list(NAMES)
    assert list(per_fov["dim before"]) == [0, 1, 3] and list(per_fov["dim after"]) == [1, 0, 3]
    assert per_fov["acc full before"].isna().all()  # no classifier results in these fixtures
    rows = summary.set_index("metric")
    assert rows.loc["DCI disentanglement", "change"] == pytest.approx(-0.2)
    assert rows.loc["OMES (alpha 0.5, avg)", "before"] == comps.score(0.5, "avg")
    assert rows.loc["OMES (alpha 0.5, avg)", "after"] == worse.score(0.5, "avg")


def test_transfer_tables_recombine_omes_at_any_alpha(comps):
    """OS and MES do not depend on alpha, so stored scores give OMES at any alpha."""
    for alpha in (0.0, 0.3, 1.0):
        per_fov, summary = tables.transfer_tables(_result(comps, 0.6), _result(comps, 0.6), alpha=alpha)
        assert summary.set_index("metric").loc[f"OMES (alpha {alpha:g}, avg)", "before"] == comps.score(alpha, "avg")
        expected = [f.omes for f in comps.omes(alpha, "avg").factors]
        assert per_fov["OMES before"].tolist() == pytest.approx([round(v, 4) for v in expected])
