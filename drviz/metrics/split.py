"""Train/test splits for the classifier-based metrics (DCI, downstream GBT / MLP accuracy).

disentanglement_lib's ``split_train_test`` trains on the first two thirds of the rows and tests
on the rest. That is a random split only when the rows are in random order (what ``drviz encode``
writes); on a table sorted by a FoV (a grid dumped in order, a table sorted before saving) a
class can occur only in the test part, where it is always misclassified, and DCI's
informativeness and the accuracies drop with no sign of why.

Two modes:
- ``shuffled`` (the default): one seeded permutation of the rows, shared by every FoV (and by
  DCI and the downstream classifiers, so "GBT, full" is DCI's own accuracy), then the first two
  thirds train. The mode and the seed are recorded with the results.
- ``head``: the reference's split, the first two thirds of the rows as they are: exact parity
  with disentanglement_lib and with drviz before splits were shuffled.

Whichever the mode, a FoV value that occurs in the test part but never in the training part is
reported in one line (``unseen_classes_note``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError

SPLITS = ("shuffled", "head")
TRAIN_FRACTION = 2 / 3


@dataclass(frozen=True)
class Split:
    """Row indices of a train/test split and how they were chosen.

    Attributes:
        train, test: (N_train,), (N_test,) int64 row indices.
        mode: "shuffled" or "head".
        seed: the permutation's seed ("shuffled"), None for "head".
        train_fraction: share of the rows that train before any cap.
    """

    train: np.ndarray
    test: np.ndarray
    mode: str
    seed: int | None
    train_fraction: float = TRAIN_FRACTION

    def capped(self, max_train: int | None = None, max_test: int | None = None) -> Split:
        """The first ``max_train`` / ``max_test`` rows of each part (still the same shuffle)."""
        return Split(self.train[:max_train], self.test[:max_test], self.mode, self.seed, self.train_fraction)

    def to_json(self) -> dict:
        return {"mode": self.mode, "seed": self.seed, "train_fraction": self.train_fraction,
                "n_train": int(len(self.train)), "n_test": int(len(self.test))}


def split_train_test(n: int, train_fraction: float = TRAIN_FRACTION, rng: np.random.Generator | None = None):
    """Row indices (train, test): the first ``train_fraction`` of the rows train, the rest test
    (disentanglement_lib's ``split_train_test``); shuffled first when ``rng`` is given."""
    if not 0.0 < train_fraction < 1.0:
        raise DrvizError(f"train fraction must be in (0, 1); got {train_fraction}")
    idx = rng.permutation(n) if rng is not None else np.arange(n)
    cut = int(np.ceil(n * train_fraction))
    return idx[:cut], idx[cut:]


def make_split(n: int, mode: str = "shuffled", seed: int = 0, train_fraction: float = TRAIN_FRACTION) -> Split:
    """The split of ``n`` rows: ``shuffled`` (a permutation seeded by ``seed``) or ``head``."""
    if mode not in SPLITS:
        raise DrvizError(f"unknown split {mode!r}; choose shuffled (seeded shuffle, the default) or head "
                         "(first two thirds train, the reference's)")
    rng = np.random.default_rng(seed) if mode == "shuffled" else None
    tr, te = split_train_test(n, train_fraction, rng)
    return Split(tr, te, mode, int(seed) if mode == "shuffled" else None, float(train_fraction))


def as_split(split: str | Split, n: int, seed: int = 0, train_fraction: float = TRAIN_FRACTION) -> Split:
    """A ``Split`` as given, or made from a mode name."""
    if isinstance(split, Split):
        if len(split.train) + len(split.test) > n or (len(split.train) and split.train.max() >= n) \
                or (len(split.test) and split.test.max() >= n):
            raise DrvizError(f"the given split indexes rows beyond the table's {n}")
        return split
    return make_split(n, split, seed, train_fraction)


def unseen_classes_note(y_train: np.ndarray, y_test: np.ndarray, names: Sequence[str],
                        mode: str | None = None, columns: Sequence[int] | None = None) -> str | None:
    """One line naming every FoV value that occurs in the test part but never in training (its
    test rows cannot be classified correctly), or None when there is none.

    Args:
        y_train, y_test: (N_train, K), (N_test, K) integer labels.
        names: K FoV names. mode: the split's mode (the hint differs). columns: FoVs to check.
    """
    parts, rows = [], 0
    for f in range(y_train.shape[1]) if columns is None else columns:
        unseen = np.setdiff1d(np.unique(y_test[:, f]), np.unique(y_train[:, f]))
        if unseen.size:
            n = int(np.isin(y_test[:, f], unseen).sum())
            rows += n
            shown = ", ".join(map(str, unseen[:5].tolist())) + (f" and {unseen.size - 5} more" if unseen.size > 5 else "")
            parts.append(f"{names[f]} = {shown} ({n} test row{'s' if n != 1 else ''})")
    if not parts:
        return None
    hint = ("the rows look ordered: the shuffled split avoids this" if mode == "head"
            else "those values have too few rows to reach both parts")
    return (f"test classes never seen in training, so always misclassified: {'; '.join(parts)}; {hint}")





def table_split(z, factors, factor_names=None, *, split: str | Split = "shuffled", seed: int = 0,
                train_fraction: float = TRAIN_FRACTION, max_train: int | None = None, max_test: int | None = None):
    """The checked rows of a table and their train/test split, for the scores that train on one
    part and test on the other (SAP, explicitness).

    A mode name ("shuffled", "head") splits the rows after putting them in one canonical order
    (``numerics.canonical_rows``), so any row order gives the same parts; a ``Split`` already
    made indexes the rows as given. ``max_train`` / ``max_test`` cap the parts.

    Returns:
        (z float64 (N, D), labels int64 (N, K), names, split, notes).
    """
    from drviz.metrics.numerics import canonical_rows, check_table

    z, factors, names, dropped = check_table(z, factors, factor_names)
    if not isinstance(split, Split):
        z, factors = canonical_rows(z, factors)
    sp = as_split(split, len(z), seed, train_fraction).capped(max_train, max_test)
    notes = (f"{dropped} rows with NaN/inf codes dropped",) if dropped else ()
    return z, factors, names, sp, notes


__all__ = ["SPLITS", "TRAIN_FRACTION", "Split", "as_split", "make_split", "split_train_test", "table_split",
           "unseen_classes_note"]
