"""Downstream accuracy: full vs pruned representation, with the OMES-associated dims."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from drviz.errors import DrvizError
from drviz.metrics.downstream import downstream_accuracy
from drviz.metrics.omes import association_matrix, omes_components


def grid(sizes):
    return np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64)


@pytest.fixture(scope="module")
def data():
    f = grid((3, 4, 5))
    f = np.r_[f, f]  # two copies, so every combination can appear in both splits
    rng = np.random.default_rng(0)
    z = np.c_[f + 0.05 * rng.normal(size=f.shape), rng.normal(size=len(f))]  # dim 3: noise
    return z, f


def test_pruned_on_the_omes_dim_keeps_accuracy(data):
    z, f = data
    dims = omes_components(association_matrix(z, f)).dims
    assert dims == (0, 1, 2)
    res = downstream_accuracy(z, f, dims, factor_names=["a", "b", "c"])
    for fa in res.factors:
        assert fa.gbt_full == pytest.approx(1.0) and fa.gbt_pruned == pytest.approx(1.0)
        assert fa.mlp_full is not None and fa.mlp_pruned is not None
    assert res.mean("gbt_pruned") == pytest.approx(1.0)
    assert res.n_train + res.n_test == len(z)
    payload = res.to_json()
    assert payload["per_factor"]["a"]["dim"] == 0 and "gbt_pruned" in payload["mean"]


def test_pruning_to_the_wrong_dim_drops_to_chance(data):
    z, f = data
    res = downstream_accuracy(z, f, [3, None, 2], classifiers=["gbt"])
    a, b, c = res.factors
    assert a.gbt_pruned < 0.6  # 3-valued FoV from pure noise
    assert b.gbt_pruned is None and b.dim is None  # no associated dim
    assert c.gbt_pruned == pytest.approx(1.0)
    assert a.mlp_full is None  # not requested


def test_union_pruning_uses_every_associated_dim(data):
    z, f = data
    res = downstream_accuracy(z, f, [0, 1, None], classifiers=["gbt"], prune="union")
    assert res.factors[2].gbt_pruned is not None  # dims 0 and 1 still carry nothing of FoV c ...
    assert res.factors[2].gbt_pruned < 0.5  # ... so it is near chance (1/5)
    assert res.factors[0].gbt_pruned == pytest.approx(1.0)


def test_caps_and_bad_input(data):
    z, f = data
    res = downstream_accuracy(z, f, [0, 1, 2], classifiers=["gbt"], max_train=30, max_test=20, n_jobs=2)
    assert (res.n_train, res.n_test) == (30, 20)
    with pytest.raises(DrvizError):
        downstream_accuracy(z, f, [0, 1], classifiers=["gbt"])
    with pytest.raises(DrvizError):
        downstream_accuracy(z, f, [0, 1, 9], classifiers=["gbt"])
    with pytest.raises(DrvizError):
        downstream_accuracy(z, f, [0, 1, 2], classifiers=["svm"])


def test_single_valued_factor_reports_none():
    f = np.c_[grid((4, 5)), np.zeros(20, np.int64)]
    z = f.astype(float)
    res = downstream_accuracy(z, f, [0, 1, 2], classifiers=["gbt"])
    assert res.factors[2].gbt_full is None and res.factors[0].gbt_full is not None


def test_gbt_full_is_dcis_test_accuracy(data):
    """drviz.evaluation reuses DCI's per-FoV GBT accuracy as "GBT, full": same model, same split."""
    from drviz.metrics.dci import dci_from_table

    z, f = data
    down = downstream_accuracy(z, f, [0, 1, 2], classifiers=["gbt"], random_state=3)
    dci = dci_from_table(z, f, random_state=3)
    np.testing.assert_allclose([fa.gbt_full for fa in down.factors], dci.accuracy_test)
    skipped = downstream_accuracy(z, f, [0, 1, 2], classifiers=["gbt"], skip_full=["gbt"])
    assert all(fa.gbt_full is None and fa.gbt_pruned is not None for fa in skipped.factors)


# -- degenerate dims (issue 12, section 1) ------------------------------------------------------------
@pytest.mark.parametrize("dead", [1e16, 1e300], ids=["1e16", "1e300"])
def test_dead_dim_of_any_magnitude_is_a_zero_dim_for_both_classifiers(dead):
    """A constant 1e16 used to stall the MLP at chance level (about 0.2), and 1e300 made the trees
    raise (float32 overflow); a dim without information must change nothing."""
    rng = np.random.default_rng(0)
    f = np.stack([rng.integers(0, s, 400) for s in (4, 5, 6)], axis=1)
    z = f + 0.05 * rng.normal(size=f.shape)
    big, zero = np.c_[z, np.full(len(z), dead)], np.c_[z, np.zeros(len(z))]
    res = downstream_accuracy(big, f, [0, 1, 2], n_jobs=1)
    ref = downstream_accuracy(zero, f, [0, 1, 2], n_jobs=1)
    assert [fa.to_json() for fa in res.factors] == [fa.to_json() for fa in ref.factors]
    assert all(fa.mlp_full > 0.6 and fa.gbt_full == 1.0 for fa in res.factors)


# -- row order (issue 12, section 3) ------------------------------------------------------------------
@pytest.fixture(scope="module")
def sorted_data():
    """Two copies of the (4, 5, 3) grid sorted by FoV a, each FoV in its own dim (small noise)."""
    f = grid((4, 5, 3))
    f = np.r_[f, f]
    f = f[np.argsort(f[:, 0], kind="stable")]
    return f + 0.05 * np.random.default_rng(0).normal(size=f.shape), f


def test_sorted_rows_score_as_random_ones_with_the_default_split(sorted_data):
    z, f = sorted_data
    perm = np.random.default_rng(7).permutation(len(f))
    for zz, ff in ((z, f), (z[perm], f[perm])):
        res = downstream_accuracy(zz, ff, [0, 1, 2], classifiers=["gbt"], n_jobs=1)
        assert [(fa.gbt_full, fa.gbt_pruned) for fa in res.factors] == [(1.0, 1.0)] * 3
        assert res.notes == () and res.to_json()["split"]["mode"] == "shuffled" and res.split.seed == 0


def test_head_split_reproduces_the_reference_and_says_why_a_class_fails(sorted_data):
    from sklearn.ensemble import GradientBoostingClassifier

    z, f = sorted_data
    res = downstream_accuracy(z, f, [0, 1, 2], classifiers=["gbt"], split="head", factor_names=list("abc"), n_jobs=1)
    for k, fa in enumerate(res.factors):  # the first 80 rows train, the last 40 test
        full = GradientBoostingClassifier(random_state=0).fit(z[:80], f[:80, k]).predict(z[80:])
        pruned = GradientBoostingClassifier(random_state=0).fit(z[:80, [k]], f[:80, k]).predict(z[80:, [k]])
        assert (fa.gbt_full, fa.gbt_pruned) == (np.mean(full == f[80:, k]), np.mean(pruned == f[80:, k]))
    assert res.factors[0].gbt_full == 10 / 40  # a = 3 never trains: its 30 test rows are wrong
    assert len(res.notes) == 1 and "a = 3 (30 test rows)" in res.notes[0] and "ordered" in res.notes[0]
