"""SAP: Separated Attribute Predictability (Kumar et al., ICLR 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations"), as google-research/disentanglement_lib
computes it (``evaluation/metrics/sap_score.py``, with its published settings: discrete FoVs).

Predictor-based; measures compactness: each FoV should be predictable from one dim far better
than from any other. Score matrix S (D x K): for discrete FoVs (the default, as the reference's
configs), S[d, f] is the test accuracy of a linear SVM (sklearn ``LinearSVC(C=0.01,
class_weight="balanced")``) trained on dim d alone to predict FoV f; for continuous FoVs
(``continuous=True``), S[d, f] = cov(z_d, y_f)^2 / (var z_d * var y_f) on the training rows
(0 when var z_d <= 1e-12). SAP = mean over FoVs of the gap between the largest and the second
largest entry of the FoV's column.

Units and range: a difference of accuracies (or of squared correlations), in [0, 1]; 0 when
two dims predict each FoV equally well (a random or rotated code), near 1 for a perfectly
disentangled code of many-valued FoVs. Note that a discrete FoV's gap is capped by chance: a dim
that carries nothing still predicts about 1 / n_f of the rows. Shapes: codes (N, D), labels
(N, K). D x K classifiers.

What differs: arrays are (samples, dims); the train/test split of one table is a seeded shuffle
by default (``drviz.metrics.split``; the reference draws two fresh samples of 10,000 and 5,000);
a FoV with a single value in the training part is not measurable and left out of the mean; with
a single dim the gap is its score (no runner-up); a dim that carries no information (a constant,
``drviz.metrics.numerics``) is 0 for the classifiers; rows are put in one canonical order before
the split, so any row order gives the same result.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.metrics.numerics import classifier_inputs, clip01, json_num
from drviz.metrics.split import TRAIN_FRACTION, Split, table_split, unseen_classes_note

SVC_C = 0.01  # disentanglement_lib's


@dataclass(frozen=True)
class SAPResult:
    """SAP and its score matrix.

    Attributes:
        sap: mean gap over measurable FoVs, in [0, 1] (None when none is measurable).
        score_matrix: (D, K) per-dim predictability (NaN columns for FoVs not measurable).
        per_factor: (K,) gaps (NaN when not measurable).
        factor_names, measurable, reasons: per FoV.
        continuous: whether the FoVs were treated as continuous.
        n_train, n_test, split, notes.
    """

    sap: float | None
    score_matrix: np.ndarray
    per_factor: np.ndarray
    factor_names: tuple[str, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]
    continuous: bool
    n_train: int
    n_test: int
    split: Split | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "sap": json_num(self.sap),
            "per_factor": {n: json_num(v) for n, v in zip(self.factor_names, self.per_factor)},
            "score_matrix": [[json_num(v) for v in row] for row in self.score_matrix],
            "factors": list(self.factor_names),
            "reasons": {n: r for n, r in zip(self.factor_names, self.reasons) if r is not None},
            "continuous": self.continuous,
            "n_train": self.n_train, "n_test": self.n_test,
            "split": None if self.split is None else self.split.to_json(),
            "notes": list(self.notes),
        }


def score_matrix(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray,
                 continuous: bool = False) -> np.ndarray:
    """(D, K) SAP score matrix (see the module docstring); FoVs must be measurable."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    d, k = z_train.shape[1], y_train.shape[1]
    out = np.zeros((d, k))
    if continuous:
        for j in range(k):
            for i in range(d):
                c = np.cov(z_train[:, i], y_train[:, j], ddof=1)
                out[i, j] = c[0, 1] ** 2 / (c[0, 0] * c[1, 1]) if c[0, 0] > 1e-12 else 0.0
        return out
    for i in range(d):
        for j in range(k):
            clf = LinearSVC(C=SVC_C, class_weight="balanced")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the reference's settings, as they are
                clf.fit(z_train[:, i:i + 1], y_train[:, j])
            out[i, j] = np.mean(clf.predict(z_test[:, i:i + 1]) == y_test[:, j])
    return out


def top_two_gap(matrix: np.ndarray) -> np.ndarray:
    """(K,) largest minus second largest entry of each column (the largest when D = 1)."""
    top = np.sort(matrix, axis=0)[::-1]
    return top[0] - (top[1] if len(top) > 1 else 0.0)


def compute_sap(z: np.ndarray, factors: np.ndarray, *, factor_names: Sequence[str] | None = None,
                split: str | Split = "shuffled", seed: int = 0, train_fraction: float = TRAIN_FRACTION,
                max_train: int | None = None, max_test: int | None = None, continuous: bool = False) -> SAPResult:
    """SAP of codes ``z`` (N, D) against integer labels ``factors`` (N, K) on one table.

    Args:
        split: "shuffled" (a seeded permutation, default), "head" or a ``Split`` already made.
        seed: the split's seed. max_train, max_test: caps of the two parts.
        continuous: treat FoVs as continuous (squared correlations, no classifier).
    """
    z, y, names, sp, notes = table_split(z, factors, factor_names, split=split, seed=seed,
                                         train_fraction=train_fraction, max_train=max_train, max_test=max_test)
    tr, te = sp.train, sp.test
    k = y.shape[1]
    reasons: list[str | None] = [None] * k
    for f in range(k):
        if len(tr) < 2 or (not continuous and len(te) < 1):
            reasons[f] = f"too few rows (train {len(tr)}, test {len(te)})"
        elif np.unique(y[tr, f]).size < 2:
            reasons[f] = "takes a single value in the training split: nothing to predict"
    todo = [f for f in range(k) if reasons[f] is None]
    matrix = np.full((z.shape[1], k), np.nan)
    if todo:
        x_tr, x_te, _ = classifier_inputs(z[tr], z[te])
        matrix[:, todo] = score_matrix(x_tr, y[tr][:, todo], x_te, y[te][:, todo], continuous)
    per = np.full(k, np.nan)
    if todo:
        per[todo] = clip01(top_two_gap(matrix[:, todo]))
    if not continuous:
        unseen = unseen_classes_note(y[tr], y[te], names, sp.mode, todo)
        notes = notes + ((unseen,) if unseen else ())
    return SAPResult(float(np.mean(per[todo])) if todo else None, matrix, per, names,
                     tuple(r is None for r in reasons), tuple(reasons), continuous, len(tr), len(te), sp, notes)


__all__ = ["SAPResult", "SVC_C", "compute_sap", "score_matrix", "top_two_gap"]
