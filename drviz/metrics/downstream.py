"""Downstream accuracy per FoV on the full and the pruned representation (Dapueto et al.,
NeurIPS 2024, section 5: the before/after transfer tables).

For each FoV, a classifier predicts its label from the code on a held-out split:
- ``gbt``: sklearn ``GradientBoostingClassifier`` with its defaults (as the paper's reference
  code and disentanglement_lib's downstream task);
- ``mlp``: sklearn ``MLPClassifier`` with two hidden layers of 256 units (as the reference).
Each is trained on the full representation and on the **pruned** one: only the dim OMES
associates with that FoV (docs/architecture.md). Two thirds of the rows train and the rest test:
by default after one seeded shuffle shared by every FoV (``drviz.metrics.split``), or the first
two thirds as the rows are (``split="head"``, the reference's, for exact parity).

What differs: the reference's "pruned" representation is the union of all FoVs' associated dims,
used for every FoV; the default here is each FoV's own dim (``prune="factor"``), with
``prune="union"`` for the reference's variant. The MLP stops early on a 10% validation split
(the reference runs sklearn's 200 epochs), which costs a fraction of the time on CPU. The
per-FoV fits run in parallel with joblib threads. A FoV with a single training value, or no
associated dim for the pruned variant, reports None. A dim that carries no information (its range
cannot hold MIG's 20 bins, e.g. a constant 1e16, which stalls the MLP) is 0 for the classifiers,
and one beyond float32's range is rescaled exactly (``drviz.metrics.numerics``). Test classes
never seen in training are named in ``notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.numerics import classifier_inputs
from drviz.metrics.split import TRAIN_FRACTION, Split, as_split, unseen_classes_note

CLASSIFIERS = ("gbt", "mlp")


@dataclass(frozen=True)
class FactorAccuracy:
    """Test accuracies for one FoV (None where not computed)."""

    name: str
    dim: int | None  # the pruned representation's dim (original index)
    gbt_full: float | None
    gbt_pruned: float | None
    mlp_full: float | None
    mlp_pruned: float | None

    def to_json(self) -> dict:
        return {"dim": self.dim, "gbt_full": self.gbt_full, "gbt_pruned": self.gbt_pruned,
                "mlp_full": self.mlp_full, "mlp_pruned": self.mlp_pruned}


@dataclass(frozen=True)
class DownstreamResult:
    """Per-FoV downstream test accuracies, the split they come from and notes (one line each)."""

    factors: tuple[FactorAccuracy, ...]
    classifiers: tuple[str, ...]
    prune: str
    n_train: int
    n_test: int
    split: Split | None = None
    notes: tuple[str, ...] = ()

    def mean(self, column: str) -> float | None:
        """Mean of one column (e.g. ``"gbt_pruned"``) over the FoVs where it was computed."""
        vals = [getattr(f, column) for f in self.factors if getattr(f, column) is not None]
        return float(np.mean(vals)) if vals else None

    def to_json(self) -> dict:
        cols = [f"{c}_{v}" for c in self.classifiers for v in ("full", "pruned")]
        return {
            "per_factor": {f.name: f.to_json() for f in self.factors},
            "mean": {c: self.mean(c) for c in cols},
            "classifiers": list(self.classifiers),
            "prune": self.prune,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "split": None if self.split is None else self.split.to_json(),
            "notes": list(self.notes),
        }


def make_classifier(name: str, random_state: int = 0, gbt_estimators: int = 100):
    """A fresh sklearn classifier by name (``gbt`` with ``gbt_estimators`` stages, or ``mlp``)."""
    if name == "gbt":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(random_state=random_state, n_estimators=gbt_estimators)
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(256, 256), early_stopping=True, random_state=random_state)
    raise DrvizError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")


def _accuracy(name, x_train, y_train, x_test, y_test, random_state, gbt_estimators=100) -> float | None:
    import warnings

    if np.unique(y_train).size < 2 or x_train.shape[1] == 0:
        return None
    model = make_classifier(name, random_state, gbt_estimators)
    if name == "mlp":
        counts = np.bincount(np.unique(y_train, return_inverse=True)[1])
        if counts.min() < 2 or 0.1 * len(y_train) < len(counts):
            # the 10% validation split needs two of each class and one per class: too few rows
            model.set_params(early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny tests are expected
        model.fit(x_train, y_train)
    return float(np.mean(model.predict(x_test) == y_test))


def downstream_accuracy(
    z: np.ndarray,
    factors: np.ndarray,
    dims: Sequence[int | None],
    *,
    factor_names: Sequence[str] | None = None,
    classifiers: Sequence[str] = CLASSIFIERS,
    prune: str = "factor",
    split: str | Split = "shuffled",
    seed: int = 0,
    train_fraction: float = TRAIN_FRACTION,
    max_train: int | None = None,
    max_test: int | None = None,
    n_jobs: int | None = None,
    random_state: int = 0,
    skip_full: Sequence[str] = (),
    gbt_estimators: int = 100,
) -> DownstreamResult:
    """Per-FoV test accuracy of each classifier on the full and the pruned representation.

    Args:
        z: (N, D) codes. factors: (N, K) integer labels.
        dims: K associated dims (original indices, e.g. ``OMESComponents.dims``); None for a FoV
            without one (its pruned accuracy is None).
        classifiers: subset of ("gbt", "mlp").
        prune: "factor" (each FoV's own dim) or "union" (all associated dims, the reference's).
        split: "shuffled" (default: one permutation seeded by ``seed``, shared by every FoV),
            "head" (the first rows as they are, the reference's split) or a ``Split`` already made
            (``drviz.evaluation`` shares DCI's).
        train_fraction: share of the rows that train.
        max_train, max_test: cap the split sizes (classifiers on CPU are the slow part).
        n_jobs: joblib threads over (FoV, classifier, variant) fits.
        skip_full: classifiers whose full-representation accuracy the caller already has (left
            None here; ``drviz.evaluation`` reuses DCI's GBT, the same classifier on the same split).
        gbt_estimators: the GBT's boosting stages (sklearn's default 100; studies size it down).
    """
    z, factors = np.asarray(z, np.float64), np.asarray(factors)
    if z.ndim != 2 or factors.ndim != 2 or len(z) != len(factors):
        raise DrvizError(f"need (N, D) codes and (N, K) labels; got {z.shape} and {factors.shape}")
    k = factors.shape[1]
    names = tuple(factor_names) if factor_names is not None else tuple(f"factor_{i}" for i in range(k))
    if len(names) != k or len(dims) != k:
        raise DrvizError(f"need {k} factor names and {k} dims; got {len(names)} and {len(dims)}")
    for c in classifiers:
        make_classifier(c)  # validates the name
    if prune not in ("factor", "union"):
        raise DrvizError(f"unknown prune mode {prune!r}; choose factor or union")
    for d in dims:
        if d is not None and not 0 <= int(d) < z.shape[1]:
            raise DrvizError(f"dim {d} out of range for a {z.shape[1]}-dim representation")
    sp = as_split(split, len(z), seed, train_fraction).capped(max_train, max_test)
    # rows with NaN/inf are dropped after splitting, so every FoV and classifier shares one split
    tr = sp.train[np.isfinite(z[sp.train]).all(axis=1)]
    te = sp.test[np.isfinite(z[sp.test]).all(axis=1)]
    factors = factors.astype(np.int64)
    x_tr, x_te, _ = classifier_inputs(z[tr], z[te])
    union = sorted({int(d) for d in dims if d is not None})

    def pruned_cols(f: int) -> list[int] | None:
        if prune == "union":
            return union or None
        return None if dims[f] is None else [int(dims[f])]

    jobs = []
    for f in range(k):
        for c in classifiers:
            if c not in skip_full:
                jobs.append((f, c, "full", list(range(z.shape[1]))))
            cols = pruned_cols(f)
            if cols is not None:
                jobs.append((f, c, "pruned", cols))
    results: dict[tuple[int, str, str], float | None] = {}
    if len(tr) and len(te):
        from joblib import Parallel, delayed

        accs = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_accuracy)(c, x_tr[:, cols], factors[tr, f], x_te[:, cols], factors[te, f], random_state,
                                gbt_estimators)
            for f, c, _, cols in jobs)
        results = {(f, c, v): a for (f, c, v, _), a in zip(jobs, accs)}
    rows = []
    for f, name in enumerate(names):
        def get(c, v):
            return results.get((f, c, v))

        rows.append(FactorAccuracy(name, None if dims[f] is None else int(dims[f]),
                                   get("gbt", "full"), get("gbt", "pruned"), get("mlp", "full"), get("mlp", "pruned")))
    seen = [f for f in range(k) if np.unique(factors[tr, f]).size >= 2]
    unseen = unseen_classes_note(factors[tr], factors[te], names, sp.mode, seen) if len(tr) and len(te) else None
    return DownstreamResult(tuple(rows), tuple(classifiers), prune, len(tr), len(te), sp,
                            () if unseen is None else (unseen,))


__all__ = ["CLASSIFIERS", "DownstreamResult", "FactorAccuracy", "downstream_accuracy", "make_classifier"]
