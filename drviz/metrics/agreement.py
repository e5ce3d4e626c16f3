"""Agreement between metrics across runs: Spearman rank correlations over a table of per-run scores.

The paper ranks OMES against the other metrics over many trained models (seeds, betas) and
correlates every metric with the ELBO, the reconstruction loss and the downstream accuracies
(GBT, MLP). ``metric_agreement`` does both on one ``pandas.DataFrame`` with a row per run and a
column per score (the labels of ``drviz.metrics.registry.score_labels()``, plus any of
``AGAINST``): the result is the square matrix of Spearman's rho between every pair of columns,
each over the runs where both have a finite value, with the number of those runs beside it.
``scores_frame`` builds such a table from runs' metrics.json contents.

Pure pandas; nothing is plotted here (the studies page plots the matrix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from drviz.errors import DrvizError
from drviz.metrics.registry import score_labels

AGAINST = ("ELBO", "recon loss", "GBT accuracy", "MLP accuracy")
MIN_RUNS = 3  # fewer shared runs than this leave a pair's rho undefined (NaN)


@dataclass(frozen=True)
class Agreement:
    """Spearman's rho between score columns across runs.

    Attributes:
        rho: (C, C) DataFrame of rank correlations in [-1, 1] (NaN: fewer than ``min_runs``
            shared runs, or a column constant over them).
        n_runs: (C, C) DataFrame of the number of runs each rho is computed over.
        metrics: the metric columns used (rows and columns of ``rho`` start with them).
        against: the reference columns used (ELBO, reconstruction loss, accuracies).
        notes: one line each, e.g. requested columns that were missing or held no number.
    """

    rho: pd.DataFrame
    n_runs: pd.DataFrame
    metrics: tuple[str, ...]
    against: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def against_table(self) -> pd.DataFrame:
        """Rows: metrics; columns: the reference columns (each metric against ELBO, ...)."""
        return self.rho.loc[list(self.metrics), list(self.against)]


def metric_agreement(scores: pd.DataFrame, metrics: Sequence[str] | None = None,
                     against: Sequence[str] = AGAINST, min_runs: int = MIN_RUNS) -> Agreement:
    """Spearman rank correlations between score columns across runs (rows).

    Args:
        scores: one row per run, one column per score; non-numeric cells count as missing.
        metrics: the metric columns (default: every registry score label present).
        against: reference columns to include when present (default ELBO, recon loss, GBT and MLP accuracy).
        min_runs: pairs with fewer shared finite runs get NaN.
    """
    if not isinstance(scores, pd.DataFrame):
        raise DrvizError(f"need a pandas DataFrame of per-run scores; got {type(scores).__name__}")
    if min_runs < 2:
        raise DrvizError(f"min_runs must be at least 2; got {min_runs}")
    notes = []
    wanted = list(metrics) if metrics is not None else [c for c in score_labels() if c in scores.columns]
    missing = [c for c in wanted if c not in scores.columns]
    if metrics is not None and missing:
        raise DrvizError(f"no column {', '.join(map(repr, missing))} in the scores table "
                         f"(it has: {', '.join(map(str, scores.columns))})")
    ref = [c for c in against if c in scores.columns and c not in wanted]
    skipped = [c for c in against if c not in scores.columns]
    if skipped:
        notes.append(f"not in the table, left out: {', '.join(skipped)}")
    cols = wanted + ref
    if not wanted:
        raise DrvizError("the scores table has no metric column: " + ", ".join(map(str, scores.columns)))
    values = scores[cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    values = values.where(np.isfinite(values))
    empty = [c for c in cols if values[c].notna().sum() == 0]
    if empty:
        notes.append(f"no numbers in: {', '.join(empty)}")
    rho = values.corr(method="spearman", min_periods=min_runs)
    present = values.notna().astype(np.int64)
    n_runs = present.T @ present
    return Agreement(rho, n_runs, tuple(wanted), tuple(ref), tuple(notes))


def scores_frame(metrics_by_run: Mapping[str, dict], extra: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
    """Per-run headline scores (``evaluation.headline_scores`` of each metrics.json) as a table,
    one row per run (index: run name), plus ``extra`` columns per run (e.g. ELBO)."""
    from drviz.evaluation import headline_scores

    rows = {}
    for name, m in metrics_by_run.items():
        row = dict(headline_scores(m))
        row.update((extra or {}).get(name, {}))
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


__all__ = ["AGAINST", "Agreement", "MIN_RUNS", "metric_agreement", "scores_frame"]
