"""The explorer's controls under AppTest (issue 17): compare runs on the traversal page, the linked
traversal's pickers, the latent map and interpolation, shareable links (a query-parameter round
trip, and bad links falling back with a notice). Chart clicks need a browser:
tests/test_browser_explorer.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from drviz.testing import REPO, alpha_view_data, make_fixture_runs, report_alpha  # noqa: E402

APP = str(REPO / "app.py")
N = 600


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory) -> Path:
    return make_fixture_runs(tmp_path_factory.mktemp("explorer_runs"))


@pytest.fixture
def runs(fixture_root, monkeypatch) -> Path:
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(fixture_root))
    return fixture_root


def start(params: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(params or {"n": str(N)})
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def clean(at: AppTest, where: str) -> None:
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
    assert not at.error, f"{where}: {[e.value for e in at.error]}"


def titles(at: AppTest) -> list[str]:
    out = []
    for el in at.get("plotly_chart"):
        title = json.loads(el.proto.spec)["layout"].get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def values(v) -> np.ndarray:
    """A figure JSON's array: a list, or plotly's typed array ({"dtype", "bdata": base64})."""
    import base64

    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def components(root: Path, run: str, dataset: str, n: int = N, seed: int = 0):
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled, omes_components_of

    return omes_components_of(encode_labelled(load_run(root / run, "cpu").model, dataset, n, seed), seed)


def png(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(seed).random((70, 90, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


# -- part 1: source vs fine-tuned ---------------------------------------------------------------------
def test_traversal_page_compares_with_the_transfer_by_default(runs):
    at = start(page="app_pages/traversals.py")
    clean(at, "traversals")
    assert at.selectbox(key="tr_compare").value == "fixture-transfer"  # the source's most recent transfer
    shown = titles(at)
    assert any(t.startswith("fixture-source: each row") for t in shown)
    assert any(t.startswith("fixture-transfer: each row") for t in shown)
    # rows ranked by KL and labelled with the FoV OMES gives them
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    labels = spec["layout"]["yaxis"]["ticktext"]
    kls = [float(label.rsplit("KL ", 1)[1]) for label in labels]
    assert kls == sorted(kls, reverse=True) and len(labels) == 10
    comps = components(runs, "fixture-source", "color_dsprites")
    for f, d in enumerate(comps.dims):
        if d is not None:
            assert any(label.startswith(f"dim {d} · ") and comps.factor_names[f] in label for label in labels)
    n_both = len(at.get("plotly_chart"))
    at.file_uploader(key="tr_upload").set_value(("me.png", png(0), "image/png")).run()
    clean(at, "upload, two runs")
    assert len(at.get("plotly_chart")) == n_both + 3  # yours + both reconstructions, then each run's traversal
    at.selectbox(key="tr_compare").set_value("(none)").run()
    clean(at, "no compare")
    assert not any(t.startswith("fixture-transfer") for t in titles(at))
    assert at.get("download_button")  # the report among the downloads
    assert any(b.proto.label == "Report (HTML)" for b in at.get("download_button"))


def test_a_transfer_compares_with_its_source(runs):
    at = start({"n": str(N), "run": "fixture-transfer"}, page="app_pages/traversals.py")
    clean(at, "transfer traversals")
    assert at.selectbox(key="tr_compare").value == "fixture-source"


# -- part 2: the linked traversal's pickers -------------------------------------------------------------
def test_linked_traversal_follows_its_pickers(runs):
    at = start(page="app_pages/omes.py")
    clean(at, "omes")
    comps = components(runs, "fixture-source", "color_dsprites")
    first = next(t for t in titles(at) if " on the line of " in t)
    d0 = comps.dims[0] if comps.dims[0] is not None else 0
    assert first.startswith(f"dim {d0} on the line of {comps.factor_names[0]}")
    at.selectbox(key="run1-link-dim").set_value(7)
    at.selectbox(key="run1-link-fov").set_value("posX").run()
    clean(at, "linked pickers")
    shown = next(t for t in titles(at) if " on the line of " in t)
    assert shown == f"dim 7 on the line of posX (A = {comps.association.matrix[7, 4]:.2f})"
    # the matrix is the clickable scatter of cells
    spec = next(json.loads(el.proto.spec) for el in at.get("plotly_chart")
                if "click a cell" in str(json.loads(el.proto.spec)["layout"].get("title")))
    assert spec["data"][0]["type"] == "scatter" and spec["data"][0]["marker"]["symbol"] == "square"


# -- part 3 and 4: latent map, interpolation -----------------------------------------------------------
def test_latent_map_and_interpolation_controls(runs):
    at = start(page="app_pages/latent.py")
    clean(at, "latent page")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "scatter" and len(values(spec["data"][0]["x"])) == N
    assert spec["layout"]["xaxis"]["title"]["text"].startswith("PC 1 (")
    at.selectbox(key="lm_x").set_value("dim 3")
    at.selectbox(key="lm_y").set_value("dim 5")
    at.selectbox(key="lm_color").set_value("posX").run()
    clean(at, "latent axes")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "dim 3"
    assert spec["data"][0]["marker"]["colorbar"]["title"]["text"] == "posX"
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled

    rep = encode_labelled(load_run(runs / "fixture-source", "cpu").model, "color_dsprites", N, 0)
    assert np.allclose(values(spec["data"][0]["x"]), rep.mean[:, 3].round(4), atol=1e-4)
    assert values(spec["data"][0]["marker"]["color"]).tolist() == rep.factors[:, 4].tolist()
    # interpolation: linear (default), then swaps, then two uploads
    grid_title = titles(at)[-1]
    assert grid_title.startswith("From A to B")
    at.slider(key="ip_steps").set_value(5).run()
    assert len(json.loads(at.get("plotly_chart")[-1].proto.spec)["layout"]["xaxis"]["ticktext"]) == 7
    at.number_input(key="ip_a").set_value(9).run()
    at.radio(key="ip_mode").set_value("Swap single dims").run()
    clean(at, "swaps")
    assert titles(at)[-1].startswith("Single-dim swaps")
    at.radio(key="ip_source").set_value("Uploaded").run()
    clean(at, "uploads awaited")
    at.file_uploader(key="ip_up_a").set_value(("a.png", png(1), "image/png"))
    at.file_uploader(key="ip_up_b").set_value(("b.png", png(2), "image/png")).run()
    clean(at, "uploaded pair")
    assert titles(at)[-1].startswith("Single-dim swaps")


# -- part 5: shareable links --------------------------------------------------------------------------------
def test_a_link_reproduces_the_view_and_moving_a_control_updates_it(runs):
    at = start({"run": "fixture-source", "dataset": "color_dsprites", "alpha": "0.2", "pooling": "max",
                "seed": "1", "n": str(N)}, page="app_pages/omes.py")
    clean(at, "linked omes")
    assert at.selectbox(key="run").value == "fixture-source"
    assert at.selectbox(key="dataset").value == "color_dsprites"
    assert alpha_view_data(at)["alpha"] == 0.2 and at.radio(key="pooling").value == "max"  # the view opens on it
    assert at.number_input(key="eval_seed").value == 1 and at.number_input(key="eval_n").value == N
    comps = components(runs, "fixture-source", "color_dsprites", seed=1)
    assert [f["os"] for f in alpha_view_data(at)["panels"][0]["fovs"]] == [float(v) for v in comps.max.os]
    assert per_fov_omes(at) == [round(f.omes, 4) for f in comps.omes(0.2, "max").factors]
    # move controls (alpha as the browser reports it): the URL follows
    report_alpha(at, 0.65)
    at.radio(key="pooling").set_value("avg").run()
    at.selectbox(key="run2").set_value("fixture-transfer").run()
    link = dict(at.query_params)
    assert link["alpha"] == "0.65" and link["pooling"] == "avg" and link["run2"] == "fixture-transfer"
    shown = per_fov_omes(at)
    assert shown == [round(f.omes, 4) for f in comps.omes(0.65, "avg").factors]
    # reload from the link: the same view
    again = start({k: v for k, v in link.items()}, page="app_pages/omes.py")
    clean(again, "reloaded")
    assert alpha_view_data(again)["alpha"] == 0.65 and again.selectbox(key="run2").value == "fixture-transfer"
    assert per_fov_omes(again) == shown
    # alpha survives a trip to another page
    again.switch_page("app_pages/traversals.py").run()
    assert dict(again.query_params)["alpha"] == "0.65"
    again.switch_page("app_pages/omes.py").run()
    assert alpha_view_data(again)["alpha"] == 0.65 and per_fov_omes(again) == shown


def per_fov_omes(at: AppTest) -> list[float]:
    """The first per-FoV table's OMES column (the fixture's FoVs are all measurable)."""
    return next(df.value for df in at.dataframe if "OMES" in df.value.columns)["OMES"].tolist()


def test_a_bad_link_falls_back_to_the_defaults_with_one_notice(runs):
    at = start({"run": "no-such-run", "dataset": "folder:/etc", "alpha": "7", "n": "99999999", "seed": "x"})
    clean(at, "bad link")
    assert at.selectbox(key="run").value == "fixture-source"
    assert at.selectbox(key="dataset").value == "(the run's own dataset)"
    assert at.number_input(key="eval_n").value == 3000 and at.number_input(key="eval_seed").value == 0
    assert "alpha" not in at.session_state["_view"]  # the OMES page then opens on its default
    notices = [w.value for w in at.warning if w.value.startswith("Link: ignored")]
    assert len(notices) == 1 and all(p in notices[0] for p in ("run=", "dataset=", "alpha=", "n=", "seed="))
    assert "\n" not in notices[0]
    at.run()
    assert not [w for w in at.warning if w.value.startswith("Link: ignored")]  # said once
    assert dict(at.query_params).get("run") == "fixture-source"  # the URL now says what is shown


def test_an_unlabelled_dataset_keeps_the_pictures_and_explains_the_rest(runs):
    """lfw_faces has no FoV labels: no latent map colouring, no FoV rows; traversals (dims ranked
    by KL only), interpolation and swaps still work."""
    at = start({"n": str(N), "dataset": "lfw_faces"}, page="app_pages/latent.py")
    clean(at, "latent, unlabelled")
    assert any("no factor labels" in i.value for i in at.info)
    assert titles(at)[-1].startswith("From A to B")
    at.radio(key="ip_mode").set_value("Swap single dims").run()
    clean(at, "swaps, unlabelled")
    at.switch_page("app_pages/traversals.py").run()
    clean(at, "traversals, unlabelled")
    labels = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["ticktext"]
    assert all(" · no FoV · " in label or " · inactive · " in label for label in labels)
