"""The Study page under AppTest, on a small study folder the test writes (no training): findings,
the transfer table, the strip / scatter / agreement / per-FoV figures, downloads, and progress."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from drviz.study import load_study
from drviz.study.results import FOV_RESULTS, RESULTS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
FOVS = ("shape", "scale", "posX")


def _write_study(folder: Path, weak_wins: bool = True) -> Path:
    """A smoke study folder holding hand-made rows: 2 methods x 3 seeds, one target."""
    folder.mkdir(parents=True)
    shutil.copyfile(load_study("smoke").source, folder / "study.toml")
    rows, fov = [], []
    rng = np.random.default_rng(0)
    for seed in range(3):
        for method, base in (("ada_gvae", 0.6 if weak_wins else 0.3), ("beta_vae", 0.4)):
            src = f"color_dsprites-{method}-b0-s{seed}"
            for run, dataset, role, o in ((src, "color_dsprites", "source", base + 0.03 * seed),
                                          (src, "noisy_dsprites", "before", base - 0.2),
                                          (f"{src}--noisy_dsprites", "noisy_dsprites", "after", base - 0.1 + 0.01 * seed)):
                rows.append(dict(run=run, source=src, target="" if role == "source" else "noisy_dsprites",
                                 method=method, beta=0.0, seed=seed, dataset=dataset, role=role, omes=o, os=o + 0.05,
                                 mes=o - 0.05, dci=o - 0.1 + rng.normal(0, 0.01), mig=o / 3 + rng.normal(0, 0.01),
                                 gbt_full=0.5 + 0.1 * (role == "after"), gbt_pruned=0.3, mlp_full=0.4,
                                 elbo=200 - 100 * o, recon=190 - 100 * o, config="{}"))
                for name in FOVS:
                    fov.append(dict(run=run, dataset=dataset, role=role, source=src, method=method, seed=seed, fov=name,
                                    dim=0, omes=o, os=o, mes=o, gbt_full=0.5, gbt_pruned=0.3))
    pd.DataFrame(rows).to_csv(folder / RESULTS, index=False)
    pd.DataFrame(fov).to_csv(folder / FOV_RESULTS, index=False)
    return folder


@pytest.fixture
def studies(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DRVIZ_STUDIES", str(tmp_path))
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tmp_path / "no-runs"))
    return tmp_path


def _open(study_name: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/study.py").run()
    if study_name is not None:
        at.selectbox(key="study_folder").set_value(study_name).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_the_page_shows_a_study(studies):
    _write_study(studies / "mini")
    at = _open()
    text = " ".join(m.value for m in at.markdown)
    assert "1. Weakly supervised sources beat unsupervised ones on OMES in 3 of 3" in text
    assert "Spearman rho" in text
    tables = [d.value for d in at.dataframe]
    transfer = tables[0]
    assert len(transfer) == 6 and {"omes before", "omes after", "gbt_full after"} <= set(transfer.columns)
    per_fov = tables[1]  # finding 2 per FoV: one row per (target, FoV)
    assert list(per_fov.fov) == sorted(FOVS) and {"gbt_full before", "gbt_full after"} <= set(per_fov.columns)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any(t.startswith("OMES vs DCI (disentanglement): Spearman rho") for t in titles)
    assert any(t.startswith("OMES vs MIG: Spearman rho") for t in titles)
    assert "Spearman rho between metrics" in titles and "Per-FoV OMES across runs" in titles
    heat = next(c for c in charts if c["layout"]["title"]["text"] == "Spearman rho between metrics")
    assert heat["data"][0]["x"] == ["OMES", "OS", "MES", "DCI D", "MIG"]
    fov = next(c for c in charts if c["layout"]["title"]["text"] == "Per-FoV OMES across runs")
    assert fov["data"][0]["x"] == list(FOVS) and len(fov["data"][0]["y"]) == 12
    labels = [b.proto.label for b in at.get("download_button")]
    assert "results.csv" in labels and "results_fov.csv" in labels and labels.count("CSV") >= 3
    # the study's jobs have not run here: the progress bar says so
    assert at.get("progress") and "0 of 10 jobs done" in at.get("progress")[0].proto.text


def test_a_claim_that_fails_is_said_plainly(studies):
    _write_study(studies / "a-first")
    _write_study(studies / "b-weak-loses", weak_wins=False)
    at = _open("b-weak-loses")
    warnings = " ".join(w.value for w in at.warning)
    assert "in 0 of 3" in warnings and "does not hold" in warnings


def test_no_study_yet_says_how_to_run_one(studies):
    at = _open()
    assert any("No study folder" in i.value for i in at.info)
    assert at.selectbox(key="study_preset").options == ["paper", "paper-mini", "smoke"]
