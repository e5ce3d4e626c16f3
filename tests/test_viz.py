"""Figure builders (drviz.viz), on hand-built inputs."""

from __future__ import annotations

import numpy as np
import pytest

from drviz import tables, viz
from drviz.metrics.omes import components_from_matrix

from conftest import HAND_A as A, HAND_NAMES as NAMES  # conftest also gives its `comps` fixture


# -- heatmap --------------------------------------------------------------------------------------
def test_heatmap_annotates_values_marks_inactive_dims_and_the_associated_cells(comps):
    fig = viz.association_heatmap(A, NAMES, [2], comps.dims, (100, 200, 300), title="A")
    grey, main = fig.data  # the grey layer paints inactive rows, the main one the values
    z = np.array(main.z, dtype=float)
    assert np.isnan(z[2]).all() and np.allclose(z[[0, 1, 3]], A[[0, 1, 3]])
    assert np.array(grey.z, dtype=float)[2].tolist() == [0.0, 0.0, 0.0]
    assert main.text[0][0] == "0.90" and main.text[3][2] == "0.95"
    assert list(main.y)[2] == "dim 2 (inactive)"
    assert "inactive" in main.customdata[2][1] and "over 200 pairs" in main.customdata[1][1]
    assert "changes strongly when shape changes" in main.customdata[0][0]
    # one red box per FoV with a dim, on that dim's row
    boxes = [(s.x0 + 0.5, s.y0 + 0.5) for s in fig.layout.shapes]
    assert boxes == [(f, d) for f, d in enumerate(comps.dims)]
    assert comps.dims == (0, 1, 3)


def test_heatmap_without_inactive_dims_has_one_trace():
    fig = viz.association_heatmap(A[[0, 1, 3]], NAMES)
    assert len(fig.data) == 1 and not fig.layout.shapes


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_heatmap_colour_scale_is_fixed_when_every_value_is_equal(value):
    """Without bounds plotly stretches a constant matrix's colour scale around its one value; A is
    always read on [0, 1], so 0.5 everywhere is mid-scale and 1 is the top colour."""
    fig = viz.association_heatmap(np.full((3, 2), value), ("a", "b"), inactive_dims=[1])
    for trace in fig.data:
        assert (trace.zmin, trace.zmax) == (0.0, 1.0)
        assert trace.zauto is None or trace.zauto is False


# -- numeric-looking FoV names (issue 12, section 4) ----------------------------------------------------
NUMERIC = ("0", "3", "5")  # pd.DataFrame(y).to_csv(index=False) writes the FoV names 0, 1, 2, ...


def test_heatmap_axes_are_categorical_whatever_the_template():
    """The figure itself says "category": Streamlit's chart theme replaces the template, and
    plotly.js's own default would turn "0", "3", "5" into x = 0, 3, 5."""
    comps = components_from_matrix(A[:, :3], NUMERIC, inactive_dims=[2])
    fig = viz.association_heatmap(A[:, :3], NUMERIC, [2], comps.dims)
    fig.update_layout(template=None)  # what st.plotly_chart's theme does to it
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.type == "category"
    assert list(fig.layout.xaxis.categoryarray) == list(NUMERIC)
    assert list(fig.layout.yaxis.categoryarray) == ["dim 0", "dim 1", "dim 2 (inactive)", "dim 3"]
    for trace in fig.data:
        assert list(trace.x) == list(NUMERIC)
    # box f sits on category f (index f on a category axis), on the row of its dim
    boxes = [(s.x0 + 0.5, s.y0 + 0.5) for s in fig.layout.shapes]
    assert boxes == [(0, 0), (1, 1), (2, 3)] and comps.dims == (0, 1, 3)


def test_bar_charts_have_categorical_x_axes():
    bars = viz.omes_bars(NUMERIC, [0.9, 0.2, 0.5], [0.8, 0.3, 0.3], [0.85, 0.25, 0.4], 0.5, "avg", score=0.5)
    pair = viz.before_after_bars(NUMERIC, [0.1, 0.2, 0.3], [0.5, 0.6, 0.7])
    for fig in (bars, pair):
        fig.update_layout(template=None)
        assert fig.layout.xaxis.type == "category" and list(fig.layout.xaxis.categoryarray) == list(NUMERIC)


def test_mean_omes_label_sits_outside_the_bars():
    """The label of the mean line lives in the right margin (x >= 1 in paper coordinates: right of
    the plot area), so it cannot cover a bar or its value, whatever the last FoV scores."""
    fig = viz.omes_bars(NUMERIC, [0.9, 0.9, 0.62], [0.8, 0.8, 0.62], [0.85, 0.85, 0.62], 0.5, "avg", score=0.7734)
    (label,) = [a for a in fig.layout.annotations if "mean" in a.text]
    assert label.xref == "paper" and label.x >= 1.0 and label.xanchor == "left"
    assert label.yref == "y" and label.y == 0.7734 and "0.7734" in label.text
    assert fig.layout.margin.r >= viz.MEAN_LABEL_MARGIN > 50  # room for the label's widest line
    assert fig.layout.shapes[0].y0 == 0.7734  # the line itself still spans the bars
    assert not viz.omes_bars(NUMERIC, [0.9] * 3, [0.8] * 3, [0.85] * 3, 0.5, "avg").layout.annotations


# -- OMES bars ------------------------------------------------------------------------------------
def test_omes_bars_show_the_per_fov_values_and_not_measurable_as_gaps():
    fig = viz.omes_bars(NAMES, [0.9, None, 0.5], [0.8, None, 0.3], [0.85, None, 0.4], 0.5, "avg", score=0.625,
                        notes=["", "not measurable: no pairs", "capped: 3 values"])
    names = [t.name for t in fig.data]
    assert names == ["OS", "MES", "OMES"]
    omes = fig.data[2]
    assert list(omes.y) == [0.85, None, 0.4]
    assert list(omes.text) == ["0.85", "n/a", "0.40"]
    assert "capped" in omes.x[2] and "not measurable" in omes.x[1]
    assert fig.layout.shapes[0].y0 == 0.625  # the mean OMES line


def test_omes_bars_follow_alpha_exactly(comps):
    for alpha in (0.0, 0.3, 1.0):
        res = comps.omes(alpha, "max")
        table = tables.fov_table(comps, alpha, "max")
        fig = viz.omes_bars(table["FoV"], table["OS"], table["MES"], table["OMES"], alpha, "max", res.score)
        assert list(fig.data[2].y) == [round(f.omes, 4) for f in res.factors]
        if alpha == 1.0:
            assert list(fig.data[2].y) == list(fig.data[0].y)  # OMES = OS at alpha 1


# -- other figures ---------------------------------------------------------------------------------
def test_loss_curve_puts_kl_on_its_own_axis():
    hist = [{"step": s, "loss": 10.0 / s, "recon": 9.0 / s, "kl": 1.0} for s in (1, 2, 3)]
    fig = viz.loss_curve(hist, title="t")
    assert [t.name for t in fig.data] == ["loss", "recon", "kl"]
    assert fig.data[2].yaxis == "y2" and list(fig.data[0].x) == [1, 2, 3]


def test_image_grid_labels_rows_and_columns():
    grid = np.random.default_rng(0).random((3, 4, 3, 64, 64)).astype(np.float32)
    from drviz.imaging import tile

    img = tile(grid)
    fig = viz.image_grid(img, 3, 4, ["a", "b", "c"], ["-1", "0", "1", "2"])
    import base64
    import io

    from PIL import Image

    head, _, data = fig.data[0].source.partition(",")
    assert head == "data:image/png;base64" and fig.data[0].z is None
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))), img)  # lossless
    assert list(fig.layout.yaxis.ticktext) == ["a", "b", "c"] and list(fig.layout.xaxis.ticktext)[-1] == "2"


def test_before_after_bars():
    fig = viz.before_after_bars(["a", "b"], [0.1, None], [0.5, 0.6])
    assert [t.name for t in fig.data] == ["before", "after"]
    assert list(fig.data[0].text) == ["0.10", "n/a"]


@pytest.mark.skipif(not viz.png_export_available(), reason="PNG export needs kaleido and Debian's chromium")
def test_figure_png_renders_in_a_worker_thread():
    png = viz.figure_png(viz.before_after_bars(["a"], [0.1], [0.2]), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_figure_html_fallback():
    assert b"plotly" in viz.figure_html(viz.before_after_bars(["a"], [0.1], [0.2]))


def test_figures_carry_no_template_and_exports_get_one():
    """Resolving a named template deep-copies it on every figure: the app's figures have none
    (Streamlit's chart theme styles them) and the exported files get it on a copy."""
    fig = viz.before_after_bars(["a"], [0.1], [0.2])
    assert fig.layout.template.layout.to_plotly_json() == {}  # plotly's empty "none" template
    assert len(fig.to_json()) < 2000
    exported = viz.for_export(fig)
    assert exported.layout.template.layout.plot_bgcolor == "white"
    assert fig.layout.template.layout.to_plotly_json() == {}  # the original is untouched
    assert exported.data[0].y == fig.data[0].y
