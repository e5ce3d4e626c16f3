"""Modularity and Explicitness (Ridgeway & Mozer, NeurIPS 2018, "Learning Deep Disentangled
Embeddings With the F-Statistic Loss"), as google-research/disentanglement_lib computes them
(``evaluation/metrics/modularity_explicitness.py``).

- **Modularity** (information-based; measures modularity): I (D x K) is the mutual information
  (nats) between each dim, discretised into 20 equal-width bins (as MIG: ``drviz.metrics.mig``),
  and each FoV, on the training rows. Per dim, with theta = max_f I[d, f]:
  delta_d = sum_{f != argmax} I[d, f]^2 / (theta^2 (K - 1)); modularity_d = 1 - delta_d (0 for a
  dim with no information at all). Modularity is the mean over all dims, in [0, 1]: 1 when every
  dim informs about one FoV only (a rotated code mixes FoVs into every dim and scores lower; a
  dead dim scores 0 and lowers the mean, as in the reference).
- **Explicitness** (predictor-based; measures explicitness): per FoV, a logistic regression
  (sklearn defaults, as the reference) on all dims, standardised with the training rows' mean
  and std, predicts the FoV; its one-vs-rest ROC-AUC (macro average over the FoV's values) on the
  test rows. Explicitness is the mean over FoVs, in [0, 1] (0.5: chance, 1: the FoV is linearly
  decodable). An invertible linear map of the code (a rotation) leaves it unchanged up to the
  classifier's regularisation. K classifiers.

Shapes: codes (N, D), labels (N, K). The train/test split of one table is a seeded shuffle by
default (``drviz.metrics.split``; the reference draws two fresh samples of 10,000 and 5,000).

What differs: a FoV with a single value in the training part is not measurable: it is left out
of the MI matrix (the reference would count it in K - 1) and of explicitness; with one measurable
FoV a dim that informs about it is trivially modular (1; the reference divides by K - 1 = 0); a
dim that carries no information (a constant, ``drviz.metrics.numerics``) is one bin for the MI
and 0 for the classifier (the reference divides by its zero std); the ROC-AUC skips a FoV value
that is absent from the test rows or fills all of them (the reference's binariser would then
mismatch the classifier's columns or raise); rows are put in one canonical order first, so any
row order gives the same result.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.metrics.mig import discretize, mutual_info_matrix
from drviz.metrics.numerics import classifier_inputs, clip01, json_num
from drviz.metrics.split import TRAIN_FRACTION, Split, table_split


@dataclass(frozen=True)
class ModularityResult:
    """Modularity, explicitness and what they come from.

    Attributes:
        modularity: mean over dims, in [0, 1] (None when no FoV is measurable).
        explicitness_test, explicitness_train: mean ROC-AUC over measurable FoVs, in [0, 1].
        per_dim_modularity: (D,). per_factor_explicitness: (K,) test ROC-AUC (NaN if not measurable).
        mi_matrix: (D, K) mutual information in nats (zeros for FoVs not measurable).
        factor_names, measurable, reasons, n_train, n_test, split, notes.
    """

    modularity: float | None
    explicitness_test: float | None
    explicitness_train: float | None
    per_dim_modularity: np.ndarray
    per_factor_explicitness: np.ndarray
    mi_matrix: np.ndarray
    factor_names: tuple[str, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]
    n_train: int
    n_test: int
    split: Split | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "modularity": json_num(self.modularity),
            "explicitness": json_num(self.explicitness_test),
            "explicitness_train": json_num(self.explicitness_train),
            "per_dim_modularity": [json_num(v) for v in self.per_dim_modularity],
            "per_factor_explicitness": {n: json_num(v) for n, v in zip(self.factor_names, self.per_factor_explicitness)},
            "mi_matrix": [[float(v) for v in row] for row in self.mi_matrix],
            "factors": list(self.factor_names),
            "reasons": {n: r for n, r in zip(self.factor_names, self.reasons) if r is not None},
            "n_train": self.n_train, "n_test": self.n_test,
            "split": None if self.split is None else self.split.to_json(),
            "notes": list(self.notes),
        }


def modularity_per_dim(mi: np.ndarray) -> np.ndarray:
    """(D,) 1 - delta_d from a (D, K) mutual-information matrix (see the module docstring)."""
    sq = np.square(np.asarray(mi, np.float64))
    top = sq.max(axis=1)
    k = sq.shape[1]
    out = np.zeros(len(sq))
    ok = top > 0
    if k == 1:
        out[ok] = 1.0
        return out
    out[ok] = 1.0 - (sq[ok].sum(axis=1) - top[ok]) / (top[ok] * (k - 1))
    return clip01(out)


def roc_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Macro one-vs-rest ROC-AUC of ``proba`` (n, C) over the columns where the class is neither
    absent from nor all of ``y`` (NaN when no column qualifies)."""
    from sklearn.metrics import roc_auc_score

    truth = (y[:, None] == classes[None, :]).astype(np.int64)  # the reference's MultiLabelBinarizer
    pos = truth.sum(axis=0)
    cols = np.flatnonzero((pos > 0) & (pos < len(y)))
    if cols.size == 0:
        return float("nan")
    return float(roc_auc_score(truth[:, cols], proba[:, cols], average="macro"))


def explicitness_per_factor(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                            y_test: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(train, test) ROC-AUC of a logistic regression predicting one FoV from standardised codes."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train, y_train)
    return (roc_auc(y_train, clf.predict_proba(x_train), clf.classes_),
            roc_auc(y_test, clf.predict_proba(x_test), clf.classes_))


def standardise(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both parts scaled by the training rows' mean and std (a zero std leaves the dim at 0)."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_test - mean) / std


def compute_modularity(z: np.ndarray, factors: np.ndarray, *, factor_names: Sequence[str] | None = None,
                       split: str | Split = "shuffled", seed: int = 0, train_fraction: float = TRAIN_FRACTION,
                       max_train: int | None = None, max_test: int | None = None) -> ModularityResult:
    """Modularity and explicitness of codes ``z`` (N, D) against integer labels ``factors`` (N, K).

    Args:
        split: "shuffled" (default), "head" or a ``Split``; seed: its seed and the classifiers'.
        max_train, max_test: caps of the two parts.
    """
    z, y, names, sp, notes = table_split(z, factors, factor_names, split=split, seed=seed,
                                         train_fraction=train_fraction, max_train=max_train, max_test=max_test)
    tr, te = sp.train, sp.test
    k, d = y.shape[1], z.shape[1]
    reasons: list[str | None] = [None] * k
    for f in range(k):
        if len(tr) < 2 or len(te) < 1:
            reasons[f] = f"too few rows (train {len(tr)}, test {len(te)})"
        elif np.unique(y[tr, f]).size < 2:
            reasons[f] = "takes a single value in the training split: carries no information"
    todo = [f for f in range(k) if reasons[f] is None]
    mi = np.zeros((d, k))
    per_dim = np.zeros(d)
    expl_tr, expl_te = np.full(k, np.nan), np.full(k, np.nan)
    if todo:
        mi[:, todo] = mutual_info_matrix(discretize(z[tr]), y[tr][:, todo])
        per_dim = modularity_per_dim(mi[:, todo])
        x_tr, x_te, _ = classifier_inputs(z[tr], z[te])
        x_tr, x_te = standardise(x_tr, x_te)
        for f in todo:
            expl_tr[f], expl_te[f] = explicitness_per_factor(x_tr, y[tr, f], x_te, y[te, f], seed)
    cols = [f for f in todo if np.isfinite(expl_te[f])]
    if len(cols) < len(todo):
        notes = notes + ("explicitness: no FoV value both present and absent among the test rows for "
                         + ", ".join(names[f] for f in todo if f not in cols),)
    return ModularityResult(
        modularity=float(np.mean(per_dim)) if todo else None,
        explicitness_test=float(np.mean(expl_te[cols])) if cols else None,
        explicitness_train=float(np.mean(expl_tr[cols])) if cols else None,
        per_dim_modularity=per_dim, per_factor_explicitness=expl_te, mi_matrix=mi, factor_names=names,
        measurable=tuple(r is None for r in reasons), reasons=tuple(reasons), n_train=len(tr), n_test=len(te),
        split=sp, notes=notes)


__all__ = ["ModularityResult", "compute_modularity", "explicitness_per_factor", "modularity_per_dim", "roc_auc",
           "standardise"]
