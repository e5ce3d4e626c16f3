"""drviz.alpha_view: the payload the OMES page's in-browser alpha view gets, and the checks on what
it reports. The browser's arithmetic on this payload is tested against Python in
tests/test_browser.py (test_the_views_averaging_rule_is_the_servers)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import HAND_A, HAND_NAMES
from drviz import alpha_view, tables
from drviz.metrics.omes import components_from_matrix


def test_panel_carries_the_pooled_vectors_dims_and_notes(comps):
    notes = tables.fov_notes(comps, [3, 40, 40])
    p = alpha_view.panel(comps, "max", notes, title="hand", clickable=True, highlight=2)
    assert p["title"] == "hand" and p["clickable"] and p["highlight"] == 2
    assert [f["name"] for f in p["fovs"]] == list(HAND_NAMES)
    assert [f["os"] for f in p["fovs"]] == [float(v) for v in comps.max.os]
    assert [f["mes"] for f in p["fovs"]] == [float(v) for v in comps.max.mes]
    assert [f["dim"] for f in p["fovs"]] == [0, 1, 3]  # original indices (dim 2 is inactive)
    assert [f["note"] for f in p["fovs"]] == ["capped", "", ""]  # a 3-valued FoV tops out at A = 0.5
    # what the browser averages at alpha 0.3 is the backend's score, in the same arithmetic
    os_, mes = np.array([f["os"] for f in p["fovs"]]), np.array([f["mes"] for f in p["fovs"]])
    assert round(float(np.mean(0.3 * os_ + 0.7 * mes)), 4) == comps.score(0.3, "max")


def test_a_not_measurable_fov_is_none_and_the_payload_is_plain_json():
    a = HAND_A.copy()
    a[[0, 1, 3], 1] = np.nan  # FoV "scale": its column could not be computed
    comps = components_from_matrix(a, HAND_NAMES, inactive_dims=[2])
    data = alpha_view.payload(0.25, "avg", [alpha_view.panel(comps, "avg", tables.fov_notes(comps, None))])
    fov = data["panels"][0]["fovs"][1]
    assert fov == {"name": "scale", "os": None, "mes": None, "measurable": False, "dim": None,
                   "note": "not measurable"}
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # no NaN: JSON.parse would reject it
    assert data["alpha"] == 0.25 and data["summary"] is None


def test_summary_rows_hold_each_presets_vectors():
    presets = {k: tables.preset_components(k) for k in tables.PRESETS}
    rows = alpha_view.summary_rows(presets, "avg")
    assert [r["label"] for r in rows] == ["underfitting", "partial", "near-perfect"]
    for row, comps in zip(rows, presets.values()):
        os_, mes = np.array(row["os"]), np.array(row["mes"])
        # the view's OS and MES columns are the averages at alpha 1 and 0, as tables.preset_summary's
        assert round(float(np.mean(1.0 * os_ + 0.0 * mes)), 4) == comps.score(1.0, "avg")
        assert round(float(np.mean(0.0 * os_ + 1.0 * mes)), 4) == comps.score(0.0, "avg")


@pytest.mark.parametrize("value, expected", [
    (0.65, 0.65), (0, 0.0), (1, 1.0), ("0.3", 0.3), (0.123, 0.12),
    (None, 0.5), (-0.1, 0.5), (1.5, 0.5), (float("nan"), 0.5), ("x", 0.5), (True, 0.5), ({"a": 1}, 0.5),
])
def test_a_reported_alpha_is_checked(value, expected):
    assert alpha_view.reported_alpha(value, fallback=0.5) == expected


@pytest.mark.parametrize("value, expected", [
    ({"panel": 1, "fov": 2}, (1, 2)), ({"panel": 0, "fov": 0}, (0, 0)),
    (None, None), ({"panel": 2, "fov": 0}, None), ({"panel": 0, "fov": 6}, None), ({"panel": 0, "fov": -1}, None),
    ({"panel": "0", "fov": 1}, None), ({"panel": True, "fov": 1}, None), ([0, 1], None),
])
def test_a_clicked_bar_is_checked(value, expected):
    assert alpha_view.clicked_fov(value, 2, [6, 3]) == expected
