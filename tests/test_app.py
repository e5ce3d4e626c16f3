"""The Streamlit app under AppTest (no browser): every page on a tiny fixture run, the OMES page's
alpha view's payload and reported alpha against the backend, empty checkpoints, bad uploads,
background training from the Models page.

The fixture runs are trained for 3 steps with a high learning rate, enough for their latent dims to
be active (so OMES has a value) and cheap enough for a test (about 5 s for both).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from drviz.testing import REPO, alpha_view_data, make_fixture_runs, report_alpha  # noqa: E402

APP = str(REPO / "app.py")
PAGES = ("app_pages/home.py", "app_pages/models.py", "app_pages/transfer.py", "app_pages/omes.py",
         "app_pages/traversals.py")
N = 600  # rows encoded per (run, dataset) in the tests: small and fast


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory) -> Path:
    return make_fixture_runs(tmp_path_factory.mktemp("app_runs"))


@pytest.fixture
def runs(fixture_root, monkeypatch) -> Path:
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(fixture_root))
    return fixture_root


def start(n: int = N) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.number_input(key="eval_n").set_value(n).run()
    return at


def assert_clean(at: AppTest, where: str) -> None:
    assert not at.exception, f"{where}: exception {[e.value for e in at.exception]}"
    assert not at.error, f"{where}: error {[e.value for e in at.error]}"


def backend_components(root: Path, run: str, dataset: str, n: int = N, seed: int = 0):
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled, omes_components_of

    model = load_run(root / run, "cpu").model
    return omes_components_of(encode_labelled(model, dataset, n, seed), seed)


# ---------------------------------------------------------------------------------------------
def test_every_page_runs_without_an_error(runs):
    at = start()
    assert_clean(at, "home")
    assert at.title[0].value == "drviz"
    assert [s.value for s in at.sidebar.selectbox][:1] == ["fixture-source"]
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert_clean(at, page)
        assert at.title, page
    # back home: the sidebar selection survived every page
    at.switch_page(PAGES[0]).run()
    assert at.selectbox(key="run").value == "fixture-source"


def assert_payload_is_backend(panel: dict, comps, pooling: str) -> None:
    """A panel of the alpha view carries the backend's pooled OS and MES exactly (JSON floats
    round-trip), None for not-measurable FoVs, and the FoV -> dim association."""
    pooled = comps.pooled(pooling)
    assert [f["name"] for f in panel["fovs"]] == list(comps.factor_names)
    for f, fov in enumerate(panel["fovs"]):
        assert fov["measurable"] == comps.measurable[f] and fov["dim"] == comps.dims[f]
        if comps.measurable[f]:
            assert (fov["os"], fov["mes"]) == (float(pooled.os[f]), float(pooled.mes[f]))
        else:
            assert fov["os"] is None and fov["mes"] is None


def per_fov(at: AppTest, k: int = 0):
    return [df.value for df in at.dataframe if "OMES" in df.value.columns and "FoV" in df.value.columns][k]


def test_omes_view_gets_the_backend_vectors_and_follows_reported_alpha_and_pooling(runs):
    """The alpha view gets OS and MES for the chosen pooling (the browser recombines them: see
    tests/test_browser.py); an alpha it reports updates the table and the link."""
    at = start()
    at.switch_page("app_pages/omes.py").run()
    assert_clean(at, "omes")
    comps = backend_components(runs, "fixture-source", "color_dsprites")
    assert comps.score(0.5, "avg") is not None, "the fixture must have active dims"
    data = alpha_view_data(at)
    assert data["alpha"] == 0.5 and data["pooling"] == "avg" and len(data["panels"]) == 1
    assert data["panels"][0]["clickable"] and data["panels"][0]["highlight"] is None
    assert_payload_is_backend(data["panels"][0], comps, "avg")
    for alpha, pooling in ((0.8, "avg"), (0.8, "max"), (0.0, "max"), (1.0, "avg")):
        report_alpha(at, alpha)
        at.radio(key="pooling").set_value(pooling).run()
        assert_clean(at, f"alpha {alpha} {pooling}")
        data = alpha_view_data(at)
        assert (data["alpha"], data["pooling"]) == (alpha, pooling)  # a remount would open on it
        assert_payload_is_backend(data["panels"][0], comps, pooling)
        table, expected = per_fov(at), comps.omes(alpha, pooling)
        for shown, fac in zip(table["OMES"], expected.factors):
            assert (shown is None or np.isnan(shown)) == (fac.omes is None)
            if fac.omes is not None:
                assert shown == pytest.approx(round(fac.omes, 4), abs=1e-9)
        assert dict(at.query_params)["alpha"] == f"{alpha:g}" and dict(at.query_params)["pooling"] == pooling
    # a report outside [0, 1] (the browser is outside input) keeps the last good alpha
    report_alpha(at, 7.0)
    assert_clean(at, "bad report")
    assert dict(at.query_params)["alpha"] == "1"


def test_two_runs_side_by_side_and_presets(runs):
    at = start()
    at.selectbox(key="run2").set_value("fixture-transfer").run()
    at.switch_page("app_pages/omes.py").run()
    assert_clean(at, "omes compare")
    source = backend_components(runs, "fixture-source", "color_dsprites")
    panels = alpha_view_data(at)["panels"]  # one view, one alpha: both runs side by side in it
    assert [p["title"] for p in panels] == ["fixture-source on color_dsprites", "fixture-transfer on real_objects"]
    assert_payload_is_backend(panels[0], source, "avg")
    assert_payload_is_backend(panels[1], backend_components(runs, "fixture-transfer", "real_objects"), "avg")
    report_alpha(at, 0.3)
    assert_clean(at, "omes compare, alpha 0.3")
    for k, comps in enumerate((source, backend_components(runs, "fixture-transfer", "real_objects"))):
        expected = [None if f.omes is None else round(f.omes, 4) for f in comps.omes(0.3, "avg").factors]
        assert [None if v is None or np.isnan(v) else v for v in per_fov(at, k)["OMES"]] == \
            [pytest.approx(v) if v is not None else None for v in expected]
    assert not [df for df in at.dataframe if "matrix" in df.value.columns]  # the hidden tabs do not run
    # the presets tab: the view shows their averages from the same vectors; the alpha carries over
    from drviz import tables

    at.session_state["omes_tab"] = "Synthetic matrices"
    at.run()
    assert_clean(at, "presets tab")
    data = alpha_view_data(at)
    assert data["alpha"] == 0.3 and [p["title"] for p in data["panels"]] == ["underfitting"]
    assert not data["panels"][0]["clickable"]
    assert [r["label"] for r in data["summary"]] == ["underfitting", "partial", "near-perfect"]
    for kind, row in zip(tables.PRESETS, data["summary"]):
        comps = tables.preset_components(kind)
        assert row["os"] == [float(v) for v in comps.pooled("avg").os]
        assert row["mes"] == [float(v) for v in comps.pooled("avg").mes]
        # what the view averages (numpy's mean, Python's round) is the backend's score
        os_, mes = np.array(row["os"]), np.array(row["mes"])
        assert round(float(np.mean(0.3 * os_ + 0.7 * mes)), 4) == comps.score(0.3, "avg")
    under, partial, near = (tables.preset_components(k).score(0.5, "max") for k in tables.PRESETS)
    assert near > partial > under


def test_capped_and_not_measurable_fovs_are_explained(runs):
    at = start()
    at.switch_page("app_pages/omes.py").run()
    infos = " ".join(i.value for i in at.info)
    assert "Capped by few values" in infos and "shape (3 values: A <= 0.50)" in infos


def test_empty_checkpoints_explain_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, f"empty {page}")
        if page.endswith(("home.py", "omes.py", "transfer.py", "traversals.py")):
            text = " ".join(i.value for i in at.info)
            assert "python -m drviz train" in text, page


def test_bad_uploads_show_a_message_not_a_traceback(runs, tmp_path):
    at = start()
    at.switch_page("app_pages/omes.py").run()
    at.session_state["omes_tab"] = "Upload a representation"
    at.run()
    # mismatched rows: 5 codes, 4 labels
    buf = io.BytesIO()
    np.savez(buf, mean=np.zeros((5, 3), np.float32))
    at.file_uploader(key="up_npz").set_value(("representations.npz", buf.getvalue(), "application/octet-stream"))
    at.file_uploader(key="up_csv").set_value(("classes.csv", b"a,b\n0,1\n1,0\n0,0\n1,1\n", "text/csv")).run()
    assert not at.exception
    assert any("4 rows" in e.value and "5" in e.value for e in at.error), [e.value for e in at.error]
    # not an npz at all
    at.file_uploader(key="up_npz").set_value(("representations.npz", b"not a zip", "application/octet-stream")).run()
    assert not at.exception and at.error

    # a zip that is not a drviz run, and a run whose weights are not ours
    at.switch_page("app_pages/models.py").run()
    at.file_uploader(key="import_zip").set_value(("x.zip", b"garbage", "application/zip")).run()
    assert not at.exception and any("not a zip" in e.value for e in at.error)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("run/config.json", json.dumps({"config": {"dataset": "color_dsprites"},
                                                   "model": {"channels": 3, "latent_dim": 10, "width": 1}}))
        zf.writestr("run/model.pt", b"\x00" * 64)
    at.file_uploader(key="import_zip").set_value(("run.zip", zbuf.getvalue(), "application/zip")).run()
    assert not at.exception and at.error

    # an upload that is not an image
    at.switch_page("app_pages/traversals.py").run()
    at.file_uploader(key="tr_upload").set_value(("me.png", b"not an image", "image/png")).run()
    assert not at.exception and any("not an image" in e.value for e in at.error)


def test_uploaded_image_is_encoded_and_traversed(runs):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((80, 100, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    at = start()
    at.switch_page("app_pages/traversals.py").run()
    n_charts = len(at.get("plotly_chart"))
    at.file_uploader(key="tr_upload").set_value(("me.png", buf.getvalue(), "image/png")).run()
    assert_clean(at, "uploaded image")
    # yours with both reconstructions, then each run's traversal: the page compares fixture-source
    # with its transfer by default (issue 17)
    assert len(at.get("plotly_chart")) == n_charts + 3


def test_import_a_run_zip_adds_it_to_the_pickers(runs, tmp_path, monkeypatch):
    from drviz.archive import export_zip

    data = export_zip(runs / "fixture-source")
    root = tmp_path / "other"
    root.mkdir()
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/models.py").run()
    at.file_uploader(key="import_zip").set_value(("fixture-source.zip", data, "application/zip")).run()
    assert_clean(at, "import")
    assert any("Imported as" in s.value for s in at.success)
    assert at.selectbox(key="run").options == ["fixture-source"]


@pytest.mark.slow
def test_transfer_before_after_scores(runs):
    at = start(n=500)
    at.switch_page("app_pages/transfer.py").run()
    assert_clean(at, "transfer")
    at.button(key="ba-compute").click().run()
    assert_clean(at, "transfer scores")
    summary = next(df.value for df in at.dataframe if "metric" in df.value.columns)
    assert {"OS", "MES", "DCI disentanglement", "MIG", "GBT accuracy, pruned"} <= set(summary["metric"])
    per_fov = next(df.value for df in at.dataframe if "acc pruned after" in df.value.columns)
    assert list(per_fov["FoV"]) == ["object", "rotation", "scale", "posX", "posY", "background"]
    # another session (a collaborator, a restart) finds the stored scores: no button, no wait
    again = start(n=500)
    again.switch_page("app_pages/transfer.py").run()
    assert_clean(again, "transfer, stored scores")
    assert not [b for b in again.button if b.key == "ba-compute"]
    assert any("computed in the app" in c.value for c in again.caption)
    stored = next(df.value for df in again.dataframe if "metric" in df.value.columns)
    assert stored.equals(summary)


@pytest.mark.slow
def test_training_from_the_browser_runs_in_the_background(tmp_path, monkeypatch):
    """Two sessions start the same training at once: two run folders, one queued while the other
    trains (one job at a time), both finish, both appear."""
    from drviz import jobs

    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv("DRVIZ_MAX_JOBS", "1")
    sessions = []
    for _ in range(2):
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page("app_pages/models.py").run()
        next(w for w in at.number_input if w.label == "Steps").set_value(12)
        next(w for w in at.selectbox if w.label == "Method").set_value("beta_vae")
        sessions.append(at)
    for at in sessions:
        next(b for b in at.button if "Start training" in b.label).click().run()
        assert_clean(at, "start training")
        assert any("Started" in s.value for s in at.success)
    paths = [at.session_state["my_jobs"] for at in sessions]
    assert all(len(p) == 1 for p in paths) and paths[0][0] != paths[1][0]
    deadline, seen = time.time() + 240, set()
    while any(jobs.job_status(p[0]).state in jobs.ACTIVE for p in paths) and time.time() < deadline:
        seen |= {jobs.job_status(p[0]).state for p in paths}
        time.sleep(0.5)
    for p in paths:
        status = jobs.job_status(p[0])
        assert status.state == "finished", status.error
    assert "queued" in seen
    at = sessions[0]
    at.run()
    assert {Path(p[0]).name for p in paths} <= set(at.selectbox(key="run").options)
    assert_clean(at, "after training")


def test_home_computes_omes_on_request(runs):
    at = start()
    assert not at.metric or all("OMES" not in m.label for m in at.metric)
    at.button(key="home-omes").click().run()
    assert_clean(at, "home omes")
    comps = backend_components(runs, "fixture-source", "color_dsprites")
    shown = next(m for m in at.metric if "OMES" in m.label)
    assert shown.value == f"{comps.score(0.5, 'avg'):.4f}"


def test_alpha_slider_recomputes_only_the_alpha_combination(runs, monkeypatch):
    """A reported alpha or a new pooling reruns the view, but the encoding and the association
    matrix come from st.cache_data: only ``OMESComponents.omes(alpha, pooling)`` runs again."""
    from drviz import evaluation

    calls = {"encode_labelled": 0, "omes_components_of": 0}
    for name in calls:
        original = getattr(evaluation, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(evaluation, name, counted)
    at = start(n=700)  # a sample size no other test uses: nothing cached yet
    at.switch_page("app_pages/omes.py").run()
    assert calls == {"encode_labelled": 1, "omes_components_of": 1}
    for alpha in (0.1, 0.35, 0.9):
        report_alpha(at, alpha)
    at.radio(key="pooling").set_value("max").run()
    assert_clean(at, "alpha moves")
    assert calls == {"encode_labelled": 1, "omes_components_of": 1}


def test_a_damaged_run_is_listed_with_its_reason_and_a_run_can_be_deleted(runs, tmp_path, monkeypatch):
    """One bad state.json never breaks the listing (issue 15); Delete asks for a confirmation."""
    import shutil

    root = tmp_path / "own"
    shutil.copytree(runs / "fixture-source", root / "keep")
    shutil.copytree(runs / "fixture-source", root / "doomed")
    shutil.copytree(runs / "fixture-source", root / "bad")
    (root / "bad" / "state.json").write_text(json.dumps({"step": "abc"}))
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/models.py").run()
    assert not at.exception
    assert at.selectbox(key="run").options == ["doomed", "keep"]
    assert any(t.value == "bad: state.json's 'step' must be an integer in [0, 1,000,000,000]" for t in at.text)
    at.selectbox(key="models_inspect").set_value("doomed").run()
    delete = at.button(key="models-delete-doomed")
    assert delete.disabled  # nothing happens until the box is ticked
    at.checkbox(key="models-delete-sure-doomed").check().run()
    at.button(key="models-delete-doomed").click().run()
    assert not at.exception and not (root / "doomed").exists() and (root / "keep").exists()
    assert at.selectbox(key="run").options == ["keep"]
