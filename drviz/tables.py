"""Scores as tables: per-FoV OMES, the FoV -> dim association, the teaching presets, before/after a transfer.

Each function turns results (``OMESComponents``, ``EvaluationResult.to_json``) into the
``pandas.DataFrame`` the app shows and offers as CSV, with values rounded to 4 decimals. Only
recombinations happen here: ``fov_table`` at a new alpha reuses the cached components, which is all
the alpha slider triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from drviz.evaluation import headline_scores
from drviz.metrics.registry import FAMILIES, PROPERTIES, REGISTRY, properties_of
from drviz.metrics.omes import OMESComponents, components_from_matrix
from drviz.metrics.synthetic import SYNTHETIC_KINDS, synthetic_association_matrix

CAP_BELOW = 0.9  # a FoV whose ceiling (1 - 1/(n_f - 1)) is below this is flagged "capped"
PRESETS = ("underfitting", "partial", "near_perfect")
assert set(PRESETS) <= set(SYNTHETIC_KINDS)

PRESET_TEXT = {
    "underfitting": "Every association is low: the model barely reacts to any FoV. OS and MES are both "
                    "low whatever alpha is.",
    "partial": "Half the FoVs live cleanly in one dim each; the others are weakly spread over two dims. "
               "OMES separates the two groups; alpha moves the weak ones the most.",
    "near_perfect": "Each FoV lives in exactly one dim and each dim encodes one FoV: OS, MES and OMES "
                    "are all close to 1 at every alpha.",
}


def rounded(v, digits: int = 4) -> float | None:
    """``v`` rounded for a table (+ 0.0: a value that rounds to zero never shows as -0.0), None if
    it is not a finite number."""
    return round(float(v), digits) + 0.0 if isinstance(v, (int, float)) and np.isfinite(v) else None


# ---------------------------------------------------------------------------------------------
# One representation's OMES
# ---------------------------------------------------------------------------------------------
def ceiling(n_values: int) -> float:
    """The highest association a dim that encodes an ``n_values``-valued FoV perfectly can get:
    the pearson correlation of two distinct uniformly drawn values is -1/(n - 1)."""
    return 0.0 if n_values <= 2 else 1.0 - 1.0 / (n_values - 1)


def fov_notes(comps: OMESComponents, n_values: Sequence[int] | None) -> list[str]:
    """Per FoV, what a reader must know: not measurable (why) or capped by few values."""
    notes = []
    for f, name in enumerate(comps.factor_names):
        if not comps.measurable[f]:
            notes.append(f"not measurable: {comps.reasons[f]}")
        elif n_values is not None and ceiling(n_values[f]) < CAP_BELOW:
            n = n_values[f]
            notes.append(f"capped: only {n} values, so A <= {ceiling(n):.2f} even when perfectly encoded")
        else:
            notes.append("")
    return notes


def fov_flags(comps: OMESComponents, n_values: Sequence[int] | None) -> tuple[list[str], list[str]]:
    """(capped, not measurable), each a list of short phrases for the page:
    ``"color (7 values: A <= 0.83)"`` and ``"orientation, posX: <reason>"`` (FoVs sharing a reason
    are named together)."""
    capped = []
    reasons: dict[str, list[str]] = {}
    for f, name in enumerate(comps.factor_names):
        if not comps.measurable[f]:
            reasons.setdefault(str(comps.reasons[f]), []).append(name)
        elif n_values is not None and ceiling(n_values[f]) < CAP_BELOW:
            capped.append(f"{name} ({n_values[f]} values: A <= {ceiling(n_values[f]):.2f})")
    missing = [f"{', '.join(names)}: {reason}" for reason, names in reasons.items()]
    return capped, missing


def fov_table(comps: OMESComponents, alpha: float, pooling: str,
              n_values: Sequence[int] | None = None) -> pd.DataFrame:
    """Per-FoV OS, MES and OMES at (alpha, pooling), the associated dim and a note.

    Cheap: a recombination of the cached pooled vectors (what the alpha slider re-runs).
    """
    res = comps.omes(alpha, pooling)
    rows = []
    for f, fac in enumerate(res.factors):
        rows.append({
            "FoV": fac.name,
            "values": None if n_values is None else int(n_values[f]),
            "dim": fac.dim,
            "OS": rounded(fac.os),
            "MES": rounded(fac.mes),
            "OMES": rounded(fac.omes),
        })
    df = pd.DataFrame(rows)
    df["note"] = fov_notes(comps, n_values)
    if n_values is None:
        df = df.drop(columns="values")
    return df


def association_table(comps: OMESComponents, threshold: float = 0.3) -> pd.DataFrame:
    """FoV -> dim: the associated dim (argmax of the unweighted OS), its association, and the
    other active dims that also respond to the FoV (A >= ``threshold``)."""
    a = comps.association
    active = set(a.active_dims)
    rows = []
    for f, name in enumerate(a.factor_names):
        d = comps.dims[f]
        col = a.matrix[:, f]
        others = [int(e) for e in np.argsort(-np.nan_to_num(col, nan=-1.0))
                  if e in active and e != d and np.isfinite(col[e]) and col[e] >= threshold]
        rows.append({
            "FoV": name,
            "dim": d,
            "A[dim, FoV]": None if d is None else rounded(col[d]),
            "OS(dim, FoV)": None if d is None else rounded(comps.os_dim[d, f]),
            f"other dims with A >= {threshold}": ", ".join(f"{e} ({col[e]:.2f})" for e in others) or "none",
            "pairs": int(a.n_pairs[f]),
        })
    return pd.DataFrame(rows)


def matrix_frame(comps: OMESComponents) -> pd.DataFrame:
    """The association matrix as a table (rows ``dim d``, inactive ones marked), for CSV export."""
    a = comps.association
    dead = set(a.inactive_dims)
    index = [f"dim {d}" + (" (inactive)" if d in dead else "") for d in range(a.n_dims)]
    return pd.DataFrame(a.matrix, index=index, columns=list(a.factor_names))


# ---------------------------------------------------------------------------------------------
# Synthetic matrices that teach the metric
# ---------------------------------------------------------------------------------------------
def preset_components(kind: str, n_dims: int = 10, n_factors: int = 5, seed: int = 0) -> OMESComponents:
    """OMES components of a synthetic association matrix (``underfitting``, ``partial``, ...)."""
    matrix = synthetic_association_matrix(kind, n_dims, n_factors, rng=seed)
    return components_from_matrix(matrix, [f"FoV {f}" for f in range(n_factors)])


def preset_summary(presets: dict[str, OMESComponents], alpha: float, pooling: str) -> pd.DataFrame:
    """Averaged OS, MES and OMES of each preset at (alpha, pooling)."""
    rows = []
    for kind, comps in presets.items():
        rows.append({"matrix": kind.replace("_", "-"), "OS": comps.score(1.0, pooling), "MES": comps.score(0.0, pooling),
                     "OMES": comps.score(alpha, pooling)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Every metric: the paper's table of families, and a run's scores grouped by family
# ---------------------------------------------------------------------------------------------
def metric_table() -> pd.DataFrame:
    """The paper's comparison of metric families, generated from ``drviz.metrics.registry``: one row
    per metric (grouped by family), its classifier and how many, "yes" under each property it
    measures, its scores and its source."""
    rows = []
    for m in sorted(REGISTRY, key=lambda m: FAMILIES.index(m.family)):
        rows.append({"metric": m.name, "family": m.family, "classifier": m.classifier, "classifiers": m.n_classifiers,
                     **{p: "yes" if p in m.properties else "" for p in PROPERTIES},
                     "scores": ", ".join(dict.fromkeys(s.label for s in m.scores)), "paper": m.paper})
    return pd.DataFrame(rows)


def run_scores_table(metrics: dict | None) -> pd.DataFrame:
    """Every headline score of a run's metrics.json, grouped by family (registry order): family,
    score label, value (None where not computed), the properties it measures and its metric."""
    scores = headline_scores(metrics)
    rows = []
    for family in FAMILIES:
        for m in (m for m in REGISTRY if m.family == family):
            for label in dict.fromkeys(s.label for s in m.scores):
                rows.append({"family": family, "score": label, "value": scores.get(label),
                             "measures": ", ".join(properties_of(label)), "metric": m.name})
    df = pd.DataFrame(rows, columns=["family", "score", "value", "measures", "metric"])
    df["value"] = pd.Series([r["value"] for r in rows], dtype=object)  # None stays None: "not computed"
    return df


# ---------------------------------------------------------------------------------------------
# Before / after a transfer
# ---------------------------------------------------------------------------------------------
def transfer_tables(before: dict, after: dict, alpha: float = 0.5,
                    pooling: str = "avg") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The before/after view: (per-FoV table, summary table).

    ``before`` and ``after`` are scores in ``EvaluationResult.to_json`` form (a run's
    metrics.json, ``evaluation.quick_scores_json``). Per FoV: GBT accuracy on the full and the
    pruned representation, OS, MES, OMES (``alpha * OS + (1 - alpha) * MES``: OS and MES do not
    depend on alpha), before and after fine-tuning. Summary: averaged OS, MES, OMES (over
    measurable FoVs), DCI (D, C, I) and MIG, before and after.
    """
    def per_factor(res: dict) -> dict[str, dict]:
        out = {}
        for name, f in res["omes"][pooling]["per_factor"].items():
            ok = f.get("measurable", True) and f.get("os") is not None and f.get("mes") is not None
            out[name] = {**f, "omes": alpha * f["os"] + (1 - alpha) * f["mes"] if ok else None}
        return out

    ob, oa = per_factor(before), per_factor(after)
    acc_b, acc_a = (r.get("downstream", {}).get("per_factor", {}) for r in (before, after))
    rows = []
    for name, fb in ob.items():
        fa, b, a = oa.get(name, {}), acc_b.get(name, {}), acc_a.get(name, {})
        rows.append({
            "FoV": name,
            "acc full before": rounded(b.get("gbt_full")), "acc full after": rounded(a.get("gbt_full")),
            "acc pruned before": rounded(b.get("gbt_pruned")), "acc pruned after": rounded(a.get("gbt_pruned")),
            "dim before": fb.get("dim"), "dim after": fa.get("dim"),
            "OS before": rounded(fb.get("os")), "OS after": rounded(fa.get("os")),
            "MES before": rounded(fb.get("mes")), "MES after": rounded(fa.get("mes")),
            "OMES before": rounded(fb.get("omes")), "OMES after": rounded(fa.get("omes")),
        })

    def mean_of(table: dict, field: str) -> float | None:
        vals = [f[field] for f in table.values() if f.get("omes") is not None]
        return rounded(np.mean(vals)) if vals else None

    def at(res: dict, section: str, field: str) -> float | None:
        return rounded((res.get(section) or {}).get(field))

    summary = []
    for label, fn in (
        ("OS", lambda r, t: mean_of(t, "os")),
        ("MES", lambda r, t: mean_of(t, "mes")),
        (f"OMES (alpha {alpha:g}, {pooling})", lambda r, t: mean_of(t, "omes")),
        ("DCI disentanglement", lambda r, t: at(r, "dci", "disentanglement")),
        ("DCI completeness", lambda r, t: at(r, "dci", "completeness")),
        ("DCI informativeness", lambda r, t: at(r, "dci", "informativeness_test")),
        ("MIG", lambda r, t: at(r, "mig", "mig")),
        ("GBT accuracy, full", lambda r, t: rounded(r.get("downstream", {}).get("mean", {}).get("gbt_full"))),
        ("GBT accuracy, pruned", lambda r, t: rounded(r.get("downstream", {}).get("mean", {}).get("gbt_pruned"))),
    ):
        vb, va = fn(before, ob), fn(after, oa)
        summary.append({"metric": label, "before": vb, "after": va,
                        "change": None if vb is None or va is None else round(va - vb, 4) + 0.0})  # never -0.0
    return pd.DataFrame(rows), pd.DataFrame(summary)


def transfer_notes(before: dict, after: dict) -> list[str]:
    """The classifiers' notes of both sides (e.g. a test class never seen in training), once each."""
    return list(dict.fromkeys(n for r in (before, after) for sec in ("dci", "downstream")
                              for n in (r.get(sec) or {}).get("notes", [])))


__all__ = [
    "CAP_BELOW", "PRESETS", "PRESET_TEXT", "association_table", "ceiling", "fov_flags", "fov_notes", "fov_table",
    "matrix_frame", "metric_table", "preset_components", "preset_summary", "rounded", "run_scores_table",
    "transfer_notes", "transfer_tables",
]
