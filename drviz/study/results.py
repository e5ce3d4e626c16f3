"""A study's results table, the paper's transfer table, and the findings computed from them.

``results.csv``: one row per (run, dataset) evaluation (``drviz.study.execute``): ``run``,
``source``, ``target``, ``method``, ``beta``, ``seed``, ``dataset``, ``role`` (``source``: a
source on its own dataset; ``before``: a source on a target; ``after``: its transfer on that
target), the scores (``omes``, ``os``, ``mes``, ``dci`` = DCI disentanglement, ``dci_c``,
``dci_i``, ``mig``, any of ``sap``, ``modularity``, ``explicitness``, ``infom``, ``infoc``,
``infoe``, ``betavae``, ``factorvae``), the mean per-FoV accuracies (``gbt_full``,
``gbt_pruned``, ``mlp_full``, ``mlp_pruned``), the final ``elbo`` / ``recon`` / ``kl`` on the
row's dataset, and provenance (``n``, ``eval_seed``, ``alpha``, ``pooling``, ``steps``,
``precision``, ``config``, ``train_wall_s``, ``eval_wall_s``, ``threads``, ``host``,
``drviz_version``, ``git_commit``). ``results_fov.csv`` holds the per-FoV scores in long format
(one row per (run, dataset, FoV)).

The findings (Dapueto et al. 2024, sections 5-6) are plain functions of those tables (pandas,
scipy's Spearman with its p-value, ``drviz.metrics.agreement`` for the agreement matrices).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from drviz.atomic import atomic_write_bytes
from drviz.errors import DrvizError

RESULTS, FOV_RESULTS = "results.csv", "results_fov.csv"
WEAK = ("ada_gvae", "gvae_labels")
# results.csv column -> the label drviz.metrics.agreement / the registry uses
AGREEMENT_LABELS = {"omes": "OMES", "os": "OS", "mes": "MES", "dci": "DCI D", "mig": "MIG",
                    "sap": "SAP", "modularity": "Modularity", "explicitness": "Explicitness", "infom": "InfoM",
                    "infoe": "InfoE", "infoc": "InfoC", "betavae": "BetaVAE", "factorvae": "FactorVAE",
                    "elbo": "ELBO", "recon": "recon loss", "gbt_full": "GBT accuracy", "mlp_full": "MLP accuracy"}
PAPER_METRICS = ("OMES", "OS", "MES", "DCI D", "MIG")
# The other metrics (issue 14) join the agreement matrix when the study computed them.
OTHER_METRICS = ("SAP", "Modularity", "Explicitness", "InfoM", "InfoE", "InfoC", "BetaVAE", "FactorVAE")


def _csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


def collect(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of every finished evaluation under ``out/evals`` (sorted by run, dataset)."""
    rows, fov = [], []
    for path in sorted((Path(out) / "evals").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a file being renamed into place is never half-written; anything else is not ours
        if isinstance(data, dict) and isinstance(data.get("row"), dict):
            rows.append(data["row"])
            fov.extend(data.get("fov") or [])
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values(["run", "dataset"], kind="stable").reset_index(drop=True)
    fv = pd.DataFrame(fov)
    if len(fv):
        fv = fv.sort_values(["run", "dataset"], kind="stable").reset_index(drop=True)
    return df, fv


def write_results(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild ``results.csv`` and ``results_fov.csv`` from the evaluations (atomic writes)."""
    df, fv = collect(out)
    atomic_write_bytes(Path(out) / RESULTS, _csv_bytes(df))
    atomic_write_bytes(Path(out) / FOV_RESULTS, _csv_bytes(fv))
    return df, fv


def load_results(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``results.csv`` and ``results_fov.csv`` of a study folder (empty frames when not written yet)."""
    def read(name):
        path = Path(out) / name
        try:
            return pd.read_csv(path) if path.is_file() and path.stat().st_size else pd.DataFrame()
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DrvizError(f"{path} is not a results table: {str(exc).splitlines()[0]}") from None

    return read(RESULTS), read(FOV_RESULTS)


# -- the paper's transfer table ----------------------------------------------------------------
TRANSFER_COLUMNS = ("gbt_full", "gbt_pruned", "os", "mes", "omes", "dci", "mig")


def transfer_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (source run, target): each of ``TRANSFER_COLUMNS`` before (the source on the
    target) and after (its transfer on the target), as the paper's transfer tables."""
    if df.empty or "role" not in df:
        return pd.DataFrame()
    keys = ["source", "target"]
    before = df[df.role == "before"].set_index(keys)
    after = df[df.role == "after"].set_index(keys)
    idx = before.index.union(after.index)
    out = pd.DataFrame(index=idx)
    meta = pd.concat([before, after])[["method", "seed"]]
    meta = meta[~meta.index.duplicated()]
    out["method"], out["seed"] = meta["method"], meta["seed"]
    for col in TRANSFER_COLUMNS:
        if col in df:
            out[f"{col} before"] = before[col].reindex(idx)
            out[f"{col} after"] = after[col].reindex(idx)
    return out.reset_index()


# -- findings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Correlation:
    x: str
    y: str
    rho: float
    p: float
    n: int


@dataclass(frozen=True)
class Findings:
    """The study's four findings (see ``findings``); ``lines`` states them in words."""

    weak_vs_unsupervised: pd.DataFrame  # dataset, seed, beta, weak, unsupervised, difference
    transfer: pd.DataFrame  # transfer_table
    fov_transfer: pd.DataFrame  # per (target, FoV): mean before / after accuracies and OMES
    correlations: tuple[Correlation, ...]
    agreement: object | None  # drviz.metrics.agreement.Agreement
    lines: tuple[str, ...] = field(default=())
    holds: dict = field(default_factory=dict)  # finding -> True / False / None (not measurable)


def _own_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each run on the dataset it trained on (sources on theirs, transfers on their target)."""
    return df[df.role.isin(["source", "after"])]


def spearman(df: pd.DataFrame, x: str, y: str) -> Correlation:
    from scipy.stats import spearmanr

    pair = df[[x, y]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(pair) < 3 or pair[x].nunique() < 2 or pair[y].nunique() < 2:
        return Correlation(x, y, float("nan"), float("nan"), len(pair))
    res = spearmanr(pair[x], pair[y])
    return Correlation(x, y, float(res.statistic), float(res.pvalue), len(pair))


def findings(df: pd.DataFrame, fov: pd.DataFrame | None = None, min_rho: float = 0.5) -> Findings:
    """The paper's claims, measured on a study's results.

    1. Weak vs unsupervised sources on OMES (own dataset), per (dataset, beta, seed): in how many
       the weakly supervised source wins and by how much.
    2. Transfer: before / after on each target (mean over source runs), full and pruned GBT
       accuracy and OMES; per FoV from ``fov``.
    3. OMES vs DCI and OMES vs MIG: Spearman rho and p-value over every run on its own dataset.
    4. The agreement matrices (``drviz.metrics.agreement.metric_agreement``) between OMES, OS,
       MES, DCI, MIG, and each against ELBO, reconstruction loss, GBT and MLP accuracy.
    ``holds``: 1 -> weak wins in every seed; 3 -> both rho >= ``min_rho`` (None: not measurable).
    """
    from drviz.metrics.agreement import metric_agreement

    lines: list[str] = []
    holds: dict = {}
    if df.empty:
        return Findings(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), (), None, ("no results yet",), {})
    own = _own_rows(df)
    src = own[own.role == "source"]
    # 1
    weak = src[src.method.isin(WEAK)].groupby(["dataset", "beta", "seed"])["omes"].mean()
    unsup = src[src.method == "beta_vae"].groupby(["dataset", "beta", "seed"])["omes"].mean()
    wv = pd.concat({"weak": weak, "unsupervised": unsup}, axis=1).dropna().reset_index()
    if len(wv):
        wv["difference"] = wv["weak"] - wv["unsupervised"]
        wins = int((wv["difference"] > 0).sum())
        holds[1] = wins == len(wv)
        lines.append(f"1. Weakly supervised sources beat unsupervised ones on OMES in {wins} of {len(wv)} "
                     f"(dataset, beta, seed) pairs, by {wv['difference'].mean():+.3f} on average "
                     f"(from {wv['difference'].min():+.3f} to {wv['difference'].max():+.3f}).")
    else:
        holds[1] = None
        lines.append("1. Not measurable: the study has no weak and unsupervised sources with the same seed.")
    # 2
    tt = transfer_table(df)
    fov_tt = pd.DataFrame()
    if len(tt):
        for target, part in tt.groupby("target"):
            def ba(col):
                b, a = part.get(f"{col} before"), part.get(f"{col} after")
                return (float(b.mean()) if b is not None else float("nan"), float(a.mean()) if a is not None else float("nan"))

            o, gf, gp = ba("omes"), ba("gbt_full"), ba("gbt_pruned")
            lines.append(f"2. On {target} ({len(part)} sources): OMES {o[0]:.3f} before -> {o[1]:.3f} after "
                         f"fine-tuning; GBT accuracy full {gf[0]:.3f} -> {gf[1]:.3f}, OMES-pruned "
                         f"{gp[0]:.3f} -> {gp[1]:.3f}.")
        if fov is not None and len(fov) and "role" in fov:
            f2 = fov[fov.role.isin(["before", "after"])]
            if len(f2):
                fov_tt = (f2.pivot_table(index=["dataset", "fov"], columns="role",
                                         values=["omes", "gbt_full", "gbt_pruned"], aggfunc="mean"))
                fov_tt.columns = [f"{v} {r}" for v, r in fov_tt.columns]
                fov_tt = fov_tt.reset_index()
    else:
        lines.append("2. Not measurable: the study has no transfers.")
    # 3
    corr = tuple(spearman(own, "omes", other) for other in ("dci", "mig"))
    for c in corr:
        if math.isnan(c.rho):
            lines.append(f"3. OMES vs {c.y.upper()}: not measurable over {c.n} runs (needs 3 with varying scores).")
        else:
            lines.append(f"3. OMES vs {c.y.upper()} over {c.n} runs (each on its own dataset): Spearman rho "
                         f"{c.rho:.2f} (p = {c.p:.2g}).")
    holds[3] = None if any(math.isnan(c.rho) for c in corr) else all(c.rho >= min_rho for c in corr)
    # 4
    frame = own.rename(columns=AGREEMENT_LABELS)
    agreement = None
    present = [m for m in PAPER_METRICS + OTHER_METRICS if m in frame and frame[m].notna().any()]
    if len(own) >= 3 and present:
        agreement = metric_agreement(frame, metrics=present)
        ag = agreement.rho
        if "DCI D" in ag and "MIG" in ag:
            lines.append(f"4. Across {len(own)} runs: rho(OMES, DCI) {ag.loc['OMES', 'DCI D']:.2f}, "
                         f"rho(OMES, MIG) {ag.loc['OMES', 'MIG']:.2f}, rho(DCI, MIG) {ag.loc['DCI D', 'MIG']:.2f}; "
                         + ", ".join(f"rho(OMES, {a}) {ag.loc['OMES', a]:.2f}" for a in agreement.against) + ".")
    else:
        lines.append("4. Not measurable: fewer than 3 runs.")
    return Findings(wv, tt, fov_tt, corr, agreement, tuple(lines), holds)


def findings_json(f: Findings) -> dict:
    """What ``study findings --json`` prints and ``findings.json`` holds."""
    def frame(d):
        return json.loads(d.to_json(orient="records")) if isinstance(d, pd.DataFrame) and len(d) else []

    return {
        "lines": list(f.lines),
        "holds": {str(k): v for k, v in f.holds.items()},
        "weak_vs_unsupervised": frame(f.weak_vs_unsupervised),
        "correlations": [{"x": c.x, "y": c.y, "rho": None if math.isnan(c.rho) else c.rho,
                          "p": None if math.isnan(c.p) else c.p, "n": c.n} for c in f.correlations],
        "agreement": None if f.agreement is None else json.loads(f.agreement.rho.to_json()),
    }


def fov_matrix(fov: pd.DataFrame, value: str = "omes", roles=("source", "after")) -> pd.DataFrame:
    """Runs x FoVs of ``value`` (rows ``run@dataset``), for the per-FoV heatmap across runs."""
    if fov.empty:
        return pd.DataFrame()
    part = fov[fov.role.isin(roles)].copy()
    part["row"] = part["run"] + " @ " + part["dataset"]
    return part.pivot_table(index="row", columns="fov", values=value, aggfunc="mean", sort=False)


__all__ = ["AGREEMENT_LABELS", "Correlation", "FOV_RESULTS", "Findings", "RESULTS", "TRANSFER_COLUMNS", "collect",
           "findings", "findings_json", "fov_matrix", "load_results", "spearman", "transfer_table", "write_results"]

