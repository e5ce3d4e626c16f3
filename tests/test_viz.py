"""Figure builders (drviz.viz) and the page-facing helpers (drviz.explore), on hand-built inputs."""

from __future__ import annotations

import io

import numpy as np
import pytest

from drviz import explore, viz
from drviz.errors import DrvizError
from drviz.metrics.omes import components_from_matrix
from drviz.representations import Representation, save_representation

NAMES = ("shape", "scale", "posX")
A = np.array([
    [0.90, 0.02, 0.01],
    [0.03, 0.70, 0.05],
    [0.00, 0.00, 0.00],  # will be inactive
    [0.01, 0.04, 0.95],
])


@pytest.fixture
def comps():
    return components_from_matrix(A, NAMES, inactive_dims=[2])


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
        table = explore.fov_table(comps, alpha, "max")
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
    assert np.asarray(fig.data[0].z).shape == img.shape
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


# -- explore: the page-facing helpers ---------------------------------------------------------------
def test_fov_table_is_the_backend_recombination(comps):
    table = explore.fov_table(comps, 0.25, "avg", n_values=(3, 6, 32))
    res = comps.omes(0.25, "avg")
    assert list(table["OMES"]) == [round(f.omes, 4) for f in res.factors]
    assert list(table["dim"]) == [0, 1, 3]
    assert table["note"][0].startswith("capped") and table["note"][2] == ""


def test_ceiling_and_flags(comps):
    assert explore.ceiling(2) == 0.0 and explore.ceiling(3) == 0.5 and explore.ceiling(41) == pytest.approx(0.975)
    capped, missing = explore.fov_flags(comps, (3, 40, 2))
    assert capped == ["shape (3 values: A <= 0.50)", "posX (2 values: A <= 0.00)"] and missing == []
    zero = components_from_matrix(np.array([[0.9, 0.0], [0.1, 0.0]]), ("a", "b"))
    capped, missing = explore.fov_flags(zero, None)
    assert capped == [] and len(missing) == 1 and missing[0].startswith("b: no active dim responds")


def test_association_table_lists_the_dim_and_other_responding_dims():
    a = np.array([[0.9, 0.1], [0.5, 0.8], [0.1, 0.05]])
    table = explore.association_table(components_from_matrix(a, ("f", "g")))
    row = table.iloc[0]
    assert row["FoV"] == "f" and row["dim"] == 0 and row["A[dim, FoV]"] == 0.9
    assert row["other dims with A >= 0.3"] == "1 (0.50)"


def test_presets_order_underfitting_partial_near_perfect():
    scores = [explore.preset_components(k).score(0.5, "max") for k in explore.PRESETS]
    assert scores == sorted(scores)


def test_uploaded_representation_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, (50, 2))
    rep = Representation(rng.normal(size=(50, 3)).astype(np.float32), None, factors, ("a", "b"))
    folder = save_representation(rep, tmp_path / "rep")
    npz, csv = (folder / "representations.npz").read_bytes(), (folder / "classes.csv").read_bytes()
    back = explore.uploaded_representation(npz, csv)
    assert np.array_equal(back.factors, factors) and back.factor_names == ("a", "b")
    with pytest.raises(DrvizError, match="rows"):
        explore.uploaded_representation(npz, b"a,b\n0,1\n")
    with pytest.raises(DrvizError):
        explore.uploaded_representation(b"junk", csv)
    with pytest.raises(DrvizError, match="upload both"):
        explore.uploaded_representation(npz, b"")


def test_uploaded_pandas_index_is_dropped_and_the_explorer_says_so(tmp_path):
    """The upload tab reads classes.csv with the same reader: pandas' index column is dropped, and
    the notice leads the matrix's notes, which the explorer shows under the heatmap."""
    import pandas as pd

    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, (50, 2))
    rep = Representation(factors + 0.05 * rng.normal(size=(50, 2)), None, factors, ("a", "b"))
    folder = save_representation(rep, tmp_path / "rep")
    npz = (folder / "representations.npz").read_bytes()
    clean = explore.uploaded_representation(npz, (folder / "classes.csv").read_bytes())
    indexed = explore.uploaded_representation(npz, pd.DataFrame(factors, columns=["a", "b"]).to_csv().encode())
    assert indexed.factor_names == ("a", "b") and np.array_equal(indexed.factors, factors)
    comps, ref = explore.omes_of(indexed), explore.omes_of(clean)
    assert comps.association.notes[0].startswith("classes.csv: dropped column 1 (no header, pandas' 'Unnamed: 0')")
    assert ref.association.notes == () and comps.score() == ref.score()


def test_image_from_bytes_crops_resizes_and_matches_channels():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (120, 80), (255, 0, 0)).save(buf, "PNG")
    rgb = explore.image_from_bytes(buf.getvalue(), 3)
    gray = explore.image_from_bytes(buf.getvalue(), 1)
    assert rgb.shape == (3, 64, 64) and gray.shape == (1, 64, 64)
    assert rgb[0].min() == pytest.approx(1.0) and rgb[1].max() == 0.0
    assert gray.mean() == pytest.approx(1 / 3, abs=1e-6)
    with pytest.raises(DrvizError, match="not an image"):
        explore.image_from_bytes(b"nope", 3)


def test_match_channels_and_stack_rows():
    gray = np.full((2, 1, 4, 4), 0.5, np.float32)
    assert explore.match_channels(gray, 3).shape == (2, 3, 4, 4)
    grid = explore.stack_rows([gray, np.zeros((2, 3, 4, 4), np.float32)])
    assert grid.shape == (2, 2, 3, 4, 4)


def test_traversal_gif_has_one_frame_per_step_forward_and_back():
    from PIL import Image

    grid = np.random.default_rng(0).random((3, 5, 1, 64, 64)).astype(np.float32)
    gif = explore.traversal_gif(grid, scale=1)
    img = Image.open(io.BytesIO(gif))
    assert gif[:6] == b"GIF89a" and img.n_frames == 5 + 3  # forward, then back without the ends


def test_headline_scores_reads_nested_or_flat_metrics():
    assert explore.headline_scores({"omes": {"omes": 0.71234, "alpha": 0.5}, "mig": {"mig": 0.2}}) == \
        {"OMES": 0.7123, "MIG": 0.2}
    assert explore.headline_scores({"omes": 0.5, "disentanglement": 0.4}) == {"OMES": 0.5, "DCI D": 0.4}
    assert explore.headline_scores(None) == {} and explore.headline_scores({"omes": None}) == {}


def test_representation_refuses_unlabelled_and_bad_sizes():
    from drviz.models import VAE, ModelSpec

    model = VAE(ModelSpec(channels=3)).eval()
    with pytest.raises(DrvizError, match="between 100"):
        explore.representation(model, "color_dsprites", n=5)
    rep = explore.representation(model, "dsprites", n=120)  # grayscale data, colour model: adapted
    assert rep.mean.shape == (120, 10) and rep.factor_names[0] == "shape"


def test_transfer_table_change_is_never_negative_zero(comps):
    """A change that rounds to zero shows as 0.0, not -0.0 (e.g. DCI D 0.30001 -> 0.30000)."""
    from types import SimpleNamespace

    from drviz.metrics.downstream import DownstreamResult

    def scores(d):
        down = DownstreamResult((), ("gbt",), "factor", 0, 0)
        return explore.Scores(comps, down, SimpleNamespace(disentanglement=d, completeness=0.5, informativeness_test=0.5),
                              SimpleNamespace(mig=0.2))
    _, summary = explore.transfer_tables(scores(0.30001), scores(0.30000))
    change = summary.set_index("metric").loc["DCI disentanglement", "change"]
    assert change == 0.0 and not np.signbit(change)
