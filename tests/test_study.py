"""Studies: the smoke preset under joblib and under a 2-worker Dask LocalCluster on loopback (with a
worker killed mid-job), giving the same rows; idempotent re-runs; resumed partial runs; the study
file's validation; the plan; the findings on hand-built tables.

The two smoke runs share one module-scoped folder each (about a minute together on a loaded
2-core machine); everything else is instant.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drviz.cli import main
from drviz.errors import DrvizError
from drviz.study import load_study, parse_study
from drviz.study.execute import run_job
from drviz.study.plan import expand, levels
from drviz.study.results import findings, load_results, transfer_table
from drviz.study.runner import run_study, study_status

SMOKE = load_study("smoke")
KEY = ["run", "dataset"]
VALUES = ["omes", "os", "mes", "dci", "dci_c", "dci_i", "mig", "gbt_full", "gbt_pruned", "elbo", "recon", "kl", "steps"]


@pytest.fixture(scope="module")
def joblib_study(tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("smoke-joblib")
    t0 = time.perf_counter()
    assert main(["study", "run", "smoke", "--out", str(out), "--jobs", "2"]) == 0
    return out, time.perf_counter() - t0


def test_smoke_under_joblib_has_one_row_per_run_and_dataset(joblib_study):
    out, seconds = joblib_study
    df, fov = load_results(out)
    plan = expand(SMOKE)
    evals = [j for j in plan if j.kind == "evaluate"]
    assert len(df) == len(evals) == 6
    assert not df.duplicated(KEY).any()
    assert sorted(df.role) == ["after", "after", "before", "before", "source", "source"]
    assert set(df.method) == {"ada_gvae", "beta_vae"}  # an "after" row carries its source's method
    for col in ("run", "method", "seed", "dataset", "role", "omes", "os", "mes", "dci", "mig", "gbt_full",
                "gbt_pruned", "elbo", "recon", "config", "steps", "precision", "train_wall_s", "host",
                "drviz_version", "git_commit"):
        assert col in df, col
    assert df.omes.notna().all() and df.dci.between(0, 1).all()
    assert (df[df.role == "after"].steps == SMOKE.transfers.steps).all()
    assert len(fov) == 2 * 6 + 4 * 5  # per FoV: color_dsprites has 6, noisy_dsprites 5
    print(f"smoke under joblib (2 jobs): {seconds:.1f} s")


def test_rerun_skips_everything_and_duplicates_nothing(joblib_study, capsys):
    out, _ = joblib_study
    before = (out / "results.csv").read_bytes()
    t0 = time.perf_counter()
    assert main(["study", "run", "smoke", "--out", str(out), "--jobs", "1"]) == 0
    assert time.perf_counter() - t0 < 60
    text = capsys.readouterr()
    assert text.err.count("skipped") + text.out.count("skipped") == len(expand(SMOKE))
    assert (out / "results.csv").read_bytes() == before
    assert main(["study", "status", str(out)]) == 0
    assert "10 jobs: 10 done, 0 running, 0 failed, 0 pending; 100%" in capsys.readouterr().out


def test_dask_localcluster_with_a_killed_worker_gives_the_same_rows(joblib_study, tmp_path):
    """2 single-threaded workers on loopback; the first job seen running has its worker SIGKILLed;
    the nanny restarts it, the scheduler reruns the job, and the study ends with joblib's rows."""
    out = tmp_path / "smoke-dask"
    killed: list[str] = []
    stop = threading.Event()

    def killer():
        while not stop.is_set() and not killed:
            for path in (out / "jobs").glob("*.json") if (out / "jobs").is_dir() else ():
                try:
                    rec = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                if rec.get("state") == "running" and rec.get("pid") not in (None, os.getpid()):
                    try:
                        os.kill(rec["pid"], signal.SIGKILL)
                        killed.append(rec["id"])
                    except ProcessLookupError:
                        continue
                    break
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        run_study(SMOKE, out, scheduler="local:2", timeout_s=240)
    finally:
        stop.set()
        thread.join(5)
    seconds = time.perf_counter() - t0
    assert killed, "no job was caught running"
    dask_df, dask_fov = load_results(out)
    job_df, job_fov = load_results(joblib_study[0])
    assert len(dask_df) == len(job_df) and not dask_df.duplicated(KEY).any()
    a, b = (d.set_index(KEY).sort_index() for d in (job_df, dask_df))
    assert list(a.index) == list(b.index)
    # one thread per job on both: the same numbers (a killed training resumed exactly)
    pd.testing.assert_frame_equal(a[VALUES], b[VALUES], check_exact=False, rtol=1e-6)
    assert len(dask_fov) == len(job_fov)
    assert all(s.state == "done" for s in study_status(out))
    print(f"smoke on a 2-worker LocalCluster: {seconds:.1f} s (killed {killed[0]})")


def test_a_partial_source_resumes_from_its_checkpoint(tmp_path):
    from dataclasses import replace

    from drviz.checkpoints import read_history, read_run
    from drviz.training import train

    job = expand(SMOKE)[0]
    runs = tmp_path / "runs"
    half = replace(job.config, steps=job.config.checkpoint_every)
    train(half, runs / job.run, threads=1, device="cpu")  # as if killed after the first checkpoint
    (tmp_path / "study.toml").write_text(SMOKE.source.read_text())
    res = run_job(tmp_path, job, SMOKE.evaluation, 1)
    assert res["status"] == "done"
    info = read_run(runs / job.run)
    assert info.step == job.config.steps and info.state["finished"]
    steps = [row["step"] for row in read_history(runs / job.run)]
    assert steps == sorted(set(steps)) and steps[-1] == job.config.steps
    assert run_job(tmp_path, job, SMOKE.evaluation, 1)["status"] == "skipped"


# -- the study file, the plan ---------------------------------------------------------------------
def test_expand_orders_jobs_and_dependencies():
    plan = expand(SMOKE)
    assert [j.kind for j in plan].count("train") == 2 and [j.kind for j in plan].count("transfer") == 2
    waves = levels(plan)
    assert [sorted({j.kind for j in w}) for w in waves] == [["train"], ["evaluate", "transfer"], ["evaluate"]]
    ids = {j.id for j in plan}
    for j in plan:
        assert set(j.deps) <= ids
    tr = next(j for j in plan if j.kind == "transfer")
    assert tr.config.init_from == tr.source and tr.config.dataset == "noisy_dsprites"
    assert tr.config.beta == next(j for j in plan if j.id == f"train:{tr.source}").config.beta


@pytest.mark.parametrize("text, message", [
    ("[sources]\ndatasets = ['color_dsprites']\nmethods = ['vae']", "methods"),
    ("[sources]\ndatasets = ['color_dsprites']\nstepz = 3", "unknown key"),
    ("[sources]\nmethods = ['beta_vae']", "needs datasets"),
    ("[sources]\ndatasets = ['color_dsprites']\n[evaluation]\nn = 5", "n = 5"),
    ("[sources]\ndatasets = ['color_dsprites']\nsteps = 0", "steps"),
    ("name = '../x'\n[sources]\ndatasets = ['d']", "plain folder name"),
    ("[sources\n", "not valid TOML"),
    ("[runs]\n", "unknown key"),
])
def test_bad_study_files_are_one_line_errors(text, message):
    with pytest.raises(DrvizError, match=message) as err:
        parse_study(text, "x")
    assert "\n" not in str(err.value)


def test_unknown_preset_names_the_presets():
    with pytest.raises(DrvizError, match="presets: .*smoke"):
        load_study("no-such-study")


def test_a_folder_holding_another_study_is_refused(tmp_path):
    (tmp_path / "study.toml").write_text(SMOKE.source.read_text().replace("steps = 12", "steps = 13"))
    with pytest.raises(DrvizError, match="holds another study"):
        run_study(SMOKE, tmp_path)


def test_plan_prints_jobs_and_cost(capsys):
    assert main(["study", "plan", "paper", "--steps-per-s", "20", "--eval-s", "30", "--jobs", "8"]) == 0
    out = capsys.readouterr().out
    paper = load_study("paper")
    n_src = len(paper.sources.datasets) * len(paper.sources.methods) * len(paper.sources.betas) * len(paper.sources.seeds)
    assert f"{n_src:5} train" in out and "wall time on 8 worker(s)" in out
    assert paper.sources.steps == 400_000 and paper.transfers.steps == 50_000 and paper.sources.lr == 1e-4
    # per-method rates: paper-mini on two 1-thread workers of this machine, idle (README's estimate)
    assert main(["study", "plan", "paper-mini", "--steps-per-s", "ada_gvae=3.3,beta_vae=6.5", "--eval-s", "15",
                 "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "48 jobs" in out and "wall time on 2 worker(s): 47.3 min" in out  # 1.57 h of work: near 2 x 47.1 min
    assert main(["study", "plan", "paper-mini", "--steps-per-s", "ada_gvae=3.3", "--eval-s", "15"]) == 2
    assert "no rate for beta_vae" in capsys.readouterr().err


def test_presets_parse():
    mini = load_study("paper-mini")
    assert {"ada_gvae", "beta_vae"} <= set(mini.sources.methods) and len(mini.sources.seeds) >= 3
    assert set(mini.transfers.targets) == {"noisy_dsprites", "real_objects"}
    assert "mlp" in mini.evaluation.classifiers


# -- findings on hand-built tables ----------------------------------------------------------------
def _table() -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for seed in range(3):
        for method, base in (("ada_gvae", 0.6), ("beta_vae", 0.4)):
            src = f"{method}-s{seed}"
            o = base + 0.02 * seed
            rows.append(dict(run=src, source=src, target="", method=method, beta=1.0, seed=seed, dataset="d",
                             role="source", omes=o, os=o + 0.05, mes=o - 0.05, dci=o - 0.1, mig=o / 3,
                             gbt_full=0.8, gbt_pruned=0.5, mlp_full=0.7, elbo=100 - 50 * o, recon=90 - 40 * o))
            rows.append(dict(run=src, source=src, target="t", method=method, beta=1.0, seed=seed, dataset="t",
                             role="before", omes=o - 0.2, os=o, mes=o, dci=o - 0.3, mig=0.05, gbt_full=0.4,
                             gbt_pruned=0.2, mlp_full=0.4, elbo=300.0, recon=290.0))
            rows.append(dict(run=f"{src}--t", source=src, target="t", method=method, beta=1.0, seed=seed,
                             dataset="t", role="after", omes=o - 0.1 + rng.normal(0, 1e-3), os=o, mes=o,
                             dci=o - 0.2, mig=o / 4, gbt_full=0.6, gbt_pruned=0.3, mlp_full=0.5,
                             elbo=200 - 10 * o, recon=190 - 10 * o))
    return pd.DataFrame(rows)


def test_findings_state_the_four_claims_with_numbers():
    f = findings(_table())
    assert f.holds == {1: True, 3: True}
    assert len(f.weak_vs_unsupervised) == 3 and np.allclose(f.weak_vs_unsupervised["difference"], 0.2)
    assert f.lines[0].startswith("1. Weakly supervised sources beat unsupervised ones on OMES in 3 of 3")
    assert "GBT accuracy full 0.400 -> 0.600, OMES-pruned 0.200 -> 0.300" in f.lines[1]
    rho = {c.y: c for c in f.correlations}
    assert rho["dci"].rho == pytest.approx(1.0) and rho["dci"].n == 12 and rho["dci"].p < 1e-6
    ag = f.agreement.rho
    assert list(f.agreement.metrics) == ["OMES", "OS", "MES", "DCI D", "MIG"]
    assert ag.loc["OMES", "ELBO"] < -0.5 and ag.loc["OMES", "DCI D"] == pytest.approx(1.0)
    tt = transfer_table(_table())
    assert len(tt) == 6 and tt["gbt_full before"].eq(0.4).all() and tt["gbt_full after"].eq(0.6).all()


def test_the_agreement_matrix_includes_the_other_metrics_a_study_computed():
    table = _table()
    table["sap"] = table["omes"] / 10
    table["factorvae"] = 1 - table["omes"]
    table["infom"] = np.nan  # not computed: left out
    ag = findings(table).agreement
    assert list(ag.metrics) == ["OMES", "OS", "MES", "DCI D", "MIG", "SAP", "FactorVAE"]
    assert ag.rho.loc["OMES", "SAP"] == pytest.approx(1.0) and ag.rho.loc["OMES", "FactorVAE"] == pytest.approx(-1.0)


def test_findings_say_plainly_when_a_claim_fails_or_cannot_be_measured():
    df = _table()
    df.loc[(df.method == "ada_gvae") & (df.seed == 0) & (df.role == "source"), "omes"] = 0.1
    f = findings(df)
    assert f.holds[1] is False and "in 2 of 3" in f.lines[0]
    f = findings(df[df.method == "beta_vae"].head(2))
    assert f.holds[1] is None and f.lines[0].startswith("1. Not measurable")
    assert findings(pd.DataFrame()).lines == ("no results yet",)


def test_wall_estimate_schedules_by_dependencies_not_waves():
    """Two workers: b's long evaluation runs while a still trains. In waves (every training, then
    every evaluation) it would take 10 + 8 = 18 s; as the runners schedule, 11 s."""
    from drviz.study.plan import Cost, Job, wall_estimate

    jobs = [Job("train:a", "train", "a"), Job("train:b", "train", "b"),
            Job("evaluate:a", "evaluate", "a", deps=("train:a",)), Job("evaluate:b", "evaluate", "b", deps=("train:b",))]
    costs = [Cost(j, s) for j, s in zip(jobs, (10.0, 2.0, 1.0, 8.0))]
    assert wall_estimate(costs, 2) == 11.0
    assert wall_estimate(costs, 1) == 21.0
    assert wall_estimate(costs, 4) == 11.0
