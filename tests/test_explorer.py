"""The explorer's pure functions (drviz.explorer, drviz.viewstate) and figures (drviz.viz), on
hand-built inputs, and its model helpers on the tiny shared run."""

from __future__ import annotations

import numpy as np
import pytest

from drviz import explorer, viz
from drviz.errors import DrvizError
from drviz.viewstate import Allowed, parse_view, view_params

from conftest import HAND_A as A, HAND_NAMES as NAMES  # conftest also gives its `comps` fixture


# -- latent map --------------------------------------------------------------------------------
def test_pca_finds_the_direction_of_largest_variance_with_a_fixed_sign():
    rng = np.random.default_rng(0)
    t = rng.normal(size=500)
    z = np.c_[3 * t, -3 * t, 0.1 * rng.normal(size=500), np.zeros(500)]
    proj = explorer.pca_2d(z)
    assert np.allclose(np.abs(proj.components[0]), [2**-0.5, 2**-0.5, 0, 0], atol=1e-3)
    assert proj.components[0][np.argmax(np.abs(proj.components[0]))] > 0  # sign fixed
    assert proj.explained[0] > 0.99 and proj.explained.sum() <= 1 + 1e-9
    assert np.allclose(proj.coords[:, 0], (z - z.mean(0)) @ proj.components[0], atol=1e-4)
    assert np.allclose(explorer.pca_2d(-z).coords[:, 0], -proj.coords[:, 0], atol=1e-4)  # same picture, mirrored data


def test_project_on_dims_and_pcs_and_refuses_unknown_axes():
    z = np.arange(12, dtype=np.float32).reshape(4, 3) ** 2
    x, y = explorer.project(z, "dim 2", "dim 0")
    assert x.tolist() == z[:, 2].tolist() and y.tolist() == z[:, 0].tolist()
    x, y = explorer.project(z, "PC 1", "dim 1")
    assert np.allclose(x, explorer.pca_2d(z).coords[:, 0])
    assert explorer.axis_options(3) == ["PC 1", "PC 2", "dim 0", "dim 1", "dim 2"]
    for bad in ("dim 3", "dim -1", "x"):
        with pytest.raises(DrvizError, match="unknown latent-map axis"):
            explorer.project(z, bad, "dim 0")
    with pytest.raises(DrvizError):
        explorer.pca_2d(np.zeros((1, 3)))


def test_shown_rows_caps_the_points_reproducibly():
    assert explorer.shown_rows(10, cap=20).tolist() == list(range(10))
    rows = explorer.shown_rows(10_000, cap=500, seed=3)
    assert len(rows) == 500 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, explorer.shown_rows(10_000, cap=500, seed=3))


# -- interpolation and swaps -------------------------------------------------------------------
def test_interpolation_is_linear_with_both_ends():
    a, b = np.array([0.0, 2.0, -1.0]), np.array([4.0, 2.0, 1.0])
    path = explorer.interpolate(a, b, 5)
    assert path.shape == (5, 3)
    assert np.allclose(path[0], a) and np.allclose(path[-1], b) and np.allclose(path[2], (a + b) / 2)
    assert np.allclose(np.diff(path, axis=0), (b - a) / 4)
    with pytest.raises(DrvizError):
        explorer.interpolate(a, b, 1)
    with pytest.raises(DrvizError):
        explorer.interpolate(a, b[:2], 4)


def test_swap_moves_exactly_one_dim_each_way():
    a, b = np.array([0.0, 1.0, 2.0]), np.array([10.0, 11.0, 12.0])
    out = explorer.swap_dims(a, b, [2, 0])
    assert out.shape == (2, 2, 3)
    assert out[0].tolist() == [[0, 1, 12], [10, 1, 2]]  # A with B's dim 2, A with B's dim 0
    assert out[1].tolist() == [[10, 11, 2], [0, 11, 12]]
    assert explorer.swap_dims(a, b).shape == (2, 3, 3)
    with pytest.raises(DrvizError):
        explorer.swap_dims(a, b, [3])


# -- ranked dims ---------------------------------------------------------------------------------
def test_dims_ranked_by_kl_labelled_with_their_fovs_and_badged():
    kl = [0.5, 2.0, 0.001, 1.0, 0.3]
    dims = explorer.rank_dims(kl, fov_dims=(1, 3, 1, None), factor_names=("shape", "scale", "posX", "posY"),
                              inactive_dims=[4])
    assert [d.dim for d in dims] == [1, 3, 0, 4, 2]
    assert dims[0].label == "dim 1 · shape, posX · KL 2.00"
    assert dims[1].fovs == ("scale",) and dims[2].label == "dim 0 · no FoV · KL 0.50"
    assert dims[3].inactive and "inactive" in dims[3].label  # removed by OMES
    assert dims[4].inactive  # KL below 0.01: unused
    assert [d.dim for d in explorer.rank_dims([1.0, 1.0, 2.0])] == [2, 0, 1]  # ties by index


# -- query parameters ----------------------------------------------------------------------------
ALLOWED = Allowed(runs=("src", "src-to-real"), datasets=("color_dsprites", "real_objects"))


def test_valid_parameters_are_kept_typed():
    view, notice = parse_view({"run": "src", "run2": "src-to-real", "dataset": "real_objects", "alpha": "0.2",
                               "pooling": "max", "seed": "7", "n": "1500", "utm_source": "x"}, ALLOWED)
    assert notice is None
    assert view == {"run": "src", "run2": "src-to-real", "dataset": "real_objects", "alpha": 0.2, "pooling": "max",
                    "seed": 7, "n": 1500}
    assert view_params(view) == {"run": "src", "run2": "src-to-real", "dataset": "real_objects", "alpha": "0.2",
                                 "pooling": "max", "seed": "7", "n": "1500"}
    assert parse_view(view_params(view), ALLOWED)[0] == view  # a written link reads back the same
    assert view_params({"run": "src", "run2": None, "alpha": 1.0}) == {"run": "src", "alpha": "1"}


@pytest.mark.parametrize("params, why", [
    ({"run": "nope"}, "no such run here"),
    ({"run": "../../etc"}, "no such run here"),
    ({"dataset": "folder:/etc"}, "not a dataset this server offers"),
    ({"alpha": "1.5"}, "alpha must be in [0, 1]"),
    ({"alpha": "-0.1"}, "alpha must be in [0, 1]"),
    ({"alpha": "nan"}, "alpha must be in [0, 1]"),
    ({"alpha": "half"}, "not a number"),
    ({"pooling": "sum"}, "use avg or max"),
    ({"n": "10000000"}, "n must be between 500 and 50,000"),
    ({"n": "12"}, "n must be between"),
    ({"n": "1e4"}, "not a whole number"),
    ({"seed": "-1"}, "not a whole number"),
])
def test_invalid_parameters_fall_back_with_a_one_line_notice(params, why):
    view, notice = parse_view(params, ALLOWED)
    assert view == {}
    assert notice.startswith("Link: ignored ") and why in notice and "\n" not in notice


def test_n_is_capped_by_the_rows_limit_and_long_values_are_shortened(monkeypatch):
    monkeypatch.setenv("DRVIZ_MAX_ROWS", "1000")
    view, notice = parse_view({"n": "2000", "alpha": "0.3", "run": "x" * 500}, ALLOWED)
    assert view == {"alpha": 0.3}
    assert "n must be between 500 and 1,000" in notice and len(notice) < 200
    assert parse_view({"run": ["src-to-real", "src"]}, ALLOWED)[0] == {"run": "src"}  # the last one wins


# -- figures ---------------------------------------------------------------------------------------
def test_association_cells_keep_the_heatmaps_look_and_carry_their_cell(comps):
    heat = viz.association_heatmap(A, NAMES, [2], comps.dims, (100, 200, 300), title="A")
    cells = viz.association_cells(A, NAMES, [2], comps.dims, (100, 200, 300), title="A")
    dark, light, grey = cells.data
    assert {t.type for t in cells.data} == {"scatter"} and dark.marker.symbol == "square"
    assert (dark.marker.cmin, dark.marker.cmax, dark.marker.colorscale) == (0.0, 1.0, heat.data[-1].colorscale)
    assert (light.marker.cmin, light.marker.cmax) == (0.0, 1.0) and dark.marker.showscale and not light.marker.showscale
    # one point per cell: active ones coloured by A, the inactive row grey; customdata = [dim, FoV, hover]
    assert len(dark.x) + len(light.x) == 9 and len(grey.x) == 3
    for trace, ink in ((dark, "white"), (light, "black")):
        assert trace.textfont.color == ink and trace.unselected.textfont.color == ink  # a selection greys nothing
        assert trace.unselected.marker.opacity == 1.0
        for (d, f, hover), value, text in zip(trace.customdata, trace.marker.color, trace.text):
            assert value == A[d, f] and text == f"{A[d, f]:.2f}" and hover == heat.data[-1].customdata[d][f]
            assert (value < 0.6) == (trace is dark)
    assert {tuple(c[:2]) for c in grey.customdata} == {(2, 0), (2, 1), (2, 2)}
    assert list(grey.y) == ["dim 2 (inactive)"] * 3
    # the same axes, boxes and size as the heatmap; a selection fades nothing
    assert cells.layout.shapes == heat.layout.shapes and cells.layout.height == heat.layout.height
    assert list(cells.layout.yaxis.categoryarray) == list(heat.layout.yaxis.categoryarray)
    assert cells.layout.xaxis.type == "category"
    lit = viz.association_cells(A, NAMES, [2], comps.dims, highlight=(2, 3))
    extra = lit.layout.shapes[-1]
    assert len(lit.layout.shapes) == len(heat.layout.shapes) + 1
    assert (extra.y0, extra.y1, extra.x0, extra.x1) == (2.5, 3.5, -0.5, 2.5)


def test_latent_scatter_maps_points_back_to_rows():
    fig = viz.latent_scatter(np.array([0.0, 1.0]), np.array([1.0, 0.0]), np.array([0, 2]), "shape",
                             ("PC 1", "PC 2"), rows=np.array([5, 9]))
    assert list(fig.data[0].customdata) == [5, 9] and list(fig.data[0].marker.color) == [0, 2]
    assert fig.layout.xaxis.title.text == "PC 1" and fig.layout.dragmode == "lasso"


# -- through a model -------------------------------------------------------------------------------
def test_model_helpers_on_the_tiny_run(tiny_run_root):
    from drviz.checkpoints import load_run
    from drviz.inspection import decode, encode, samples, traversal_values

    model = load_run(tiny_run_root / "tiny", "cpu").model
    line = explorer.fov_dim_traversal(model, "color_dsprites", fov=4, dim=3, steps=5, seed=2)
    assert line.shape == (2, 5, 3, 64, 64)
    assert not np.allclose(line[0, 0], line[0, -1])  # the data row moves along posX
    x_a, x_b = samples("color_dsprites", 2, 0, 3)
    interp = explorer.interpolation_grid(model, x_a, x_b, 4)
    assert interp.shape == (1, 6, 3, 64, 64) and np.array_equal(interp[0, 0], x_a) and np.array_equal(interp[0, -1], x_b)
    mu = encode(model, np.stack([x_a, x_b]))[0]
    assert np.allclose(interp[0, 1], decode(model, mu[:1])[0], atol=1e-5)  # t = 0 decodes A's code
    swaps = explorer.swap_grid(model, x_a, x_b, [0, 5])
    assert swaps.shape == (2, 3, 3, 64, 64) and np.array_equal(swaps[1, 0], x_b)
    expected = mu[0].copy()
    expected[5] = mu[1][5]
    assert np.allclose(swaps[0, 2], decode(model, expected[None])[0], atol=1e-5)
    rows = explorer.row_images(model, "color_dsprites", np.array([[0, 1, 2, 3, 4, 5], [1, 0, 0, 0, 0, 0]]))
    assert rows.shape == (2, 2, 3, 64, 64)
    with pytest.raises(DrvizError):
        explorer.fov_dim_traversal(model, "color_dsprites", fov=9, dim=0)
    assert len(traversal_values(5)) == 5
