"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams, ICLR 2018), as
google-research/disentanglement_lib defines it (``evaluation/metrics/dci.py``).

One gradient-boosted classifier (sklearn's ``GradientBoostingClassifier`` with its defaults, as
disentanglement_lib) per FoV predicts the FoV from the whole code; the absolute feature
importances form the importance matrix R (dims x FoVs).
- disentanglement: per dim, 1 - entropy_K(R[d] / sum R[d]) (base K), averaged with weights
  sum_f R[d, f] / sum R;
- completeness: per FoV, 1 - entropy_D(R[:, f] / sum R[:, f]) (base D), averaged with weights
  sum_d R[d, f] / sum R;
- informativeness: mean classification accuracy on the train and on the test split.
A small 1e-11 is added before the entropies, as in disentanglement_lib, so a zero row scores as
uniform. On a 2/3 - 1/3 split of a fixed table: the reference trains on the first two thirds
(``split="head"`` here); the default is one seeded shuffle of the rows (``drviz.metrics.split``),
so a table sorted by a FoV scores as the same rows in random order.

What differs: arrays are (samples, dims), not (dims, samples); the per-FoV classifiers run in
parallel with joblib (threads: the tree building releases the GIL); a FoV that takes a single
value in the training split cannot be learned and is reported as not measurable (its importance
column is 0 and it is left out of D, C and the accuracies) instead of crashing; rows with NaN/inf
are dropped; a dim that carries no information (its range cannot hold MIG's 20 bins, e.g. a
constant 1e16) is 0 for the classifiers and a dim beyond float32's range is rescaled exactly
(``drviz.metrics.numerics.classifier_inputs``: scikit-learn's trees cast to float32); D and C
are clipped to [0, 1]; test classes never seen in training are named in ``notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

from drviz.errors import DrvizError
from drviz.metrics.numerics import classifier_inputs, clip01, json_num
from drviz.metrics.split import TRAIN_FRACTION, Split, as_split, split_train_test, unseen_classes_note

EPS = 1e-11


@dataclass(frozen=True)
class DCIResult:
    """DCI scores and the importance matrix behind them.

    Attributes:
        disentanglement, completeness: in [0, 1].
        informativeness_train, informativeness_test: mean accuracy over measurable FoVs.
        importance_matrix: (D, K) absolute GBT feature importances (each column sums to 1 for a
            measurable FoV; zeros for the others).
        per_dim_disentanglement: (D,) 1 - entropy of each dim's row.
        per_factor_completeness: (K,) 1 - entropy of each FoV's column (NaN if not measurable).
        accuracy_train, accuracy_test: (K,) per-FoV accuracies (NaN if not measurable).
        factor_names, measurable, reasons: per FoV.
        n_train, n_test: split sizes.
        split: how the rows were split (mode, seed), when DCI made the split itself.
        notes: one line each, e.g. test classes never seen in training.
    """

    disentanglement: float
    completeness: float
    informativeness_train: float | None
    informativeness_test: float | None
    importance_matrix: np.ndarray
    per_dim_disentanglement: np.ndarray
    per_factor_completeness: np.ndarray
    accuracy_train: np.ndarray
    accuracy_test: np.ndarray
    factor_names: tuple[str, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]
    n_train: int
    n_test: int
    split: Split | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "disentanglement": json_num(self.disentanglement),
            "completeness": json_num(self.completeness),
            "informativeness_train": json_num(self.informativeness_train),
            "informativeness_test": json_num(self.informativeness_test),
            "importance_matrix": [[float(v) for v in row] for row in self.importance_matrix],
            "factors": list(self.factor_names),
            "per_factor": {
                name: {"completeness": json_num(self.per_factor_completeness[f]),
                       "accuracy_train": json_num(self.accuracy_train[f]), "accuracy_test": json_num(self.accuracy_test[f]),
                       "measurable": self.measurable[f], "reason": self.reasons[f]}
                for f, name in enumerate(self.factor_names)
            },
            "n_train": self.n_train,
            "n_test": self.n_test,
            "split": None if self.split is None else self.split.to_json(),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# The math on an importance matrix
# ---------------------------------------------------------------------------------------------
def _entropy(p: np.ndarray, base: int, axis: int) -> np.ndarray:
    """Entropy (base ``base``) of ``p`` normalised along ``axis``: ``scipy.stats.entropy``, as
    disentanglement_lib computes it; a single outcome (base 1) has entropy 0."""
    if base <= 1:
        return np.zeros(np.delete(p.shape, axis))
    return scipy.stats.entropy(p, base=base, axis=axis)


def disentanglement_per_dim(importance: np.ndarray) -> np.ndarray:
    """(D,) 1 - entropy over FoVs (base K) of each dim's importances."""
    r = np.asarray(importance, np.float64)
    return clip01(1.0 - _entropy(r + EPS, r.shape[1], axis=1))


def completeness_per_factor(importance: np.ndarray) -> np.ndarray:
    """(K,) 1 - entropy over dims (base D) of each FoV's importances."""
    r = np.asarray(importance, np.float64)
    return clip01(1.0 - _entropy(r + EPS, r.shape[0], axis=0))


def disentanglement(importance: np.ndarray) -> float:
    """Weighted mean of the per-dim disentanglement (weights: each dim's share of importance)."""
    r = np.asarray(importance, np.float64)
    per_dim = disentanglement_per_dim(r)
    if r.sum() == 0.0:
        r = np.ones_like(r)
    return clip01(np.sum(per_dim * r.sum(axis=1) / r.sum()))


def completeness(importance: np.ndarray) -> float:
    """Weighted mean of the per-FoV completeness (weights: each FoV's share of importance)."""
    r = np.asarray(importance, np.float64)
    per_factor = completeness_per_factor(r)
    if r.sum() == 0.0:
        r = np.ones_like(r)
    return clip01(np.sum(per_factor * r.sum(axis=0) / r.sum()))


# ---------------------------------------------------------------------------------------------
# Classifiers
# ---------------------------------------------------------------------------------------------
def _fit_one(x_train, y_train, x_test, y_test, random_state, n_estimators=100):
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(random_state=random_state, n_estimators=n_estimators)
    model.fit(x_train, y_train)
    return (np.abs(model.feature_importances_),
            float(np.mean(model.predict(x_train) == y_train)),
            float(np.mean(model.predict(x_test) == y_test)))


def compute_dci(
    z_train: np.ndarray,
    y_train: np.ndarray,
    z_test: np.ndarray,
    y_test: np.ndarray,
    *,
    factor_names: Sequence[str] | None = None,
    n_jobs: int | None = None,
    random_state: int = 0,
    split: Split | None = None,
    gbt_estimators: int = 100,
) -> DCIResult:
    """DCI from train and test splits of codes and labels.

    Args:
        z_train, z_test: (N_train, D), (N_test, D) codes.
        y_train, y_test: (N_train, K), (N_test, K) integer labels.
        factor_names: K names.
        n_jobs: joblib workers for the per-FoV classifiers (threads; None: 1, -1: all cores).
        random_state: seed of the classifiers.
        split: the split these parts come from, recorded with the result (None: not known).
        gbt_estimators: boosting stages per classifier (sklearn's default 100; studies size it down).
    """
    z_train, y_train = _clean(z_train, y_train, "train")
    z_test, y_test = _clean(z_test, y_test, "test")
    if z_train.shape[1] != z_test.shape[1] or y_train.shape[1] != y_test.shape[1]:
        raise DrvizError("train and test splits must have the same dims and FoVs")
    n_dims, k = z_train.shape[1], y_train.shape[1]
    names = tuple(factor_names) if factor_names is not None else tuple(f"factor_{i}" for i in range(k))
    if len(names) != k:
        raise DrvizError(f"{len(names)} factor names for {k} FoVs")
    reasons: list[str | None] = [None] * k
    if len(z_train) < 2 or len(z_test) < 1:
        reasons = [f"too few rows (train {len(z_train)}, test {len(z_test)})"] * k
    else:
        for f in range(k):
            if np.unique(y_train[:, f]).size < 2:
                reasons[f] = "takes a single value in the training split: nothing to classify"
    todo = [f for f in range(k) if reasons[f] is None]
    importance = np.zeros((n_dims, k))
    acc_train, acc_test = np.full(k, np.nan), np.full(k, np.nan)
    unseen = unseen_classes_note(y_train, y_test, names, None if split is None else split.mode, todo)
    if todo:
        from joblib import Parallel, delayed

        x_train, x_test, _ = classifier_inputs(z_train, z_test)
        out = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_fit_one)(x_train, y_train[:, f], x_test, y_test[:, f], random_state, gbt_estimators)
            for f in todo)
        for f, (imp, a_tr, a_te) in zip(todo, out):
            importance[:, f], acc_train[f], acc_test[f] = imp, a_tr, a_te
    cols = np.array(todo, dtype=np.int64)
    r = importance[:, cols]
    comp = np.full(k, np.nan)
    if cols.size:
        comp[cols] = completeness_per_factor(r)
    return DCIResult(
        disentanglement=disentanglement(r) if cols.size else 0.0,
        completeness=completeness(r) if cols.size else 0.0,
        informativeness_train=float(np.mean(acc_train[cols])) if cols.size else None,
        informativeness_test=float(np.mean(acc_test[cols])) if cols.size else None,
        importance_matrix=importance,
        per_dim_disentanglement=disentanglement_per_dim(r) if cols.size else np.zeros(n_dims),
        per_factor_completeness=comp,
        accuracy_train=acc_train,
        accuracy_test=acc_test,
        factor_names=names,
        measurable=tuple(x is None for x in reasons),
        reasons=tuple(reasons),
        n_train=len(z_train),
        n_test=len(z_test),
        split=split,
        notes=() if unseen is None else (unseen,),
    )


def dci_from_table(z: np.ndarray, factors: np.ndarray, *, factor_names: Sequence[str] | None = None,
                   split: str | Split = "shuffled", seed: int = 0, train_fraction: float = TRAIN_FRACTION,
                   n_jobs: int | None = None, random_state: int = 0) -> DCIResult:
    """DCI on one table, split into train and test rows.

    Args:
        z: (N, D) codes. factors: (N, K) integer labels.
        split: "shuffled" (default: one permutation seeded by ``seed``, then the first
            ``train_fraction`` trains), "head" (the first ``train_fraction`` of the rows as they
            are, the reference's split) or a ``Split`` already made.
        random_state: seed of the classifiers.
    """
    z, factors = np.asarray(z), np.asarray(factors)
    if z.ndim != 2 or factors.ndim != 2 or len(z) != len(factors):
        raise DrvizError(f"need (N, D) codes and (N, K) labels; got {z.shape} and {factors.shape}")
    sp = as_split(split, len(z), seed, train_fraction)
    tr, te = sp.train, sp.test
    return compute_dci(z[tr], factors[tr], z[te], factors[te], factor_names=factor_names, n_jobs=n_jobs,
                       random_state=random_state, split=sp)


def _clean(z, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    z, y = np.asarray(z, np.float64), np.asarray(y)
    if z.ndim != 2 or y.ndim != 2 or len(z) != len(y):
        raise DrvizError(f"{what}: need (N, D) codes and (N, K) labels; got {z.shape} and {y.shape}")
    ok = np.isfinite(z).all(axis=1)
    return z[ok], y[ok].astype(np.int64)


__all__ = ["DCIResult", "completeness", "completeness_per_factor", "compute_dci", "dci_from_table",
           "disentanglement", "disentanglement_per_dim", "split_train_test"]
