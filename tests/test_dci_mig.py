"""DCI and MIG: exact values on hand-built matrices (as disentanglement_lib's dci_test.py), and
constructed representations (identity beats rotation, duplicated latents, single-valued FoVs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from drviz.errors import DrvizError
from drviz.metrics.dci import (
    completeness,
    completeness_per_factor,
    compute_dci,
    dci_from_table,
    disentanglement,
    disentanglement_per_dim,
    split_train_test,
)
from drviz.metrics.mig import compute_mig, discretize, entropies, mutual_info, mutual_info_matrix


def grid(sizes):
    return np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64)


HADAMARD = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2


# -- DCI on hand-built importance matrices ----------------------------------------------------
def test_diagonal_importance_is_perfect():
    r = np.diag([5.0, 2.0, 1.0, 3.0])
    assert disentanglement(r) == pytest.approx(1.0)
    assert completeness(r) == pytest.approx(1.0)


def test_one_code_for_two_factors():
    r = np.array([[1.0, 1.0], [0.0, 0.0]])
    # dim 0 splits evenly between 2 FoVs: entropy (base 2) 1 -> 0; dim 1 has no weight
    np.testing.assert_allclose(disentanglement_per_dim(r)[0], 0.0, atol=1e-9)
    assert disentanglement(r) == pytest.approx(0.0, abs=1e-9)
    assert completeness(r) == pytest.approx(1.0, abs=1e-9)  # each FoV lives in dim 0 only


def test_two_codes_per_factor():
    r = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert disentanglement(r) == pytest.approx(1.0)
    # each FoV spread evenly over 2 of 4 dims: entropy base 4 = log 2 / log 4 = 0.5
    np.testing.assert_allclose(completeness_per_factor(r), [0.5, 0.5], atol=1e-9)
    assert completeness(r) == pytest.approx(0.5, abs=1e-9)


def test_zero_importance_does_not_divide_by_zero():
    r = np.zeros((3, 2))
    assert np.isfinite(disentanglement(r)) and np.isfinite(completeness(r))


def test_split_is_first_two_thirds():
    tr, te = split_train_test(10)
    np.testing.assert_array_equal(tr, np.arange(7))
    np.testing.assert_array_equal(te, np.arange(7, 10))
    tr, te = split_train_test(10, rng=np.random.default_rng(0))
    assert sorted(np.r_[tr, te]) == list(range(10)) and len(tr) == 7
    with pytest.raises(DrvizError):
        split_train_test(10, 1.5)


# -- DCI on constructed representations ---------------------------------------------------------
@pytest.fixture(scope="module")
def table():
    f = grid((3, 4, 3, 4))
    z = (f - f.mean(0)) / f.std(0)
    return z, f


def test_dci_identity_beats_rotation(table):
    z, f = table
    ident = dci_from_table(z, f, seed=0)
    rot = dci_from_table(z @ HADAMARD, f, seed=0)
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]  # a random rotation
    rand = dci_from_table(z @ q, f, seed=0)
    assert ident.disentanglement > rand.disentanglement + 0.3 and ident.completeness > rand.completeness + 0.3
    assert ident.informativeness_test == pytest.approx(1.0)
    assert ident.disentanglement > 0.9 and ident.completeness > 0.9
    assert ident.disentanglement > rot.disentanglement + 0.3
    assert ident.completeness > rot.completeness + 0.3
    assert ident.importance_matrix.shape == (4, 4)
    np.testing.assert_allclose(ident.importance_matrix.sum(axis=0), 1.0)
    assert np.argmax(ident.importance_matrix, axis=0).tolist() == [0, 1, 2, 3]
    payload = ident.to_json()
    assert set(payload) >= {"disentanglement", "completeness", "informativeness_train",
                            "informativeness_test", "importance_matrix"}


def test_dci_parallel_equals_serial(table):
    z, f = table
    a = dci_from_table(z, f, n_jobs=1)
    b = dci_from_table(z, f, n_jobs=2)
    np.testing.assert_allclose(a.importance_matrix, b.importance_matrix)


def test_dci_single_valued_factor_and_nan_rows(table):
    z, f = table
    f = np.c_[f, np.zeros(len(f), np.int64)]
    z = z.copy()
    z[5, 0] = np.nan
    res = compute_dci(z[:100], f[:100], z[100:], f[100:], factor_names=list("abcde"))
    assert res.measurable == (True, True, True, True, False)
    assert "single value" in res.reasons[4]
    assert np.isnan(res.accuracy_test[4]) and np.isfinite(res.informativeness_test)
    assert res.n_train == 99


# -- MIG ---------------------------------------------------------------------------------------
def test_mutual_info_equals_sklearn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, 500)
    b = (a + rng.integers(0, 3, 500)) % 8
    assert mutual_info(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    codes = discretize(rng.normal(size=(500, 3)), 20)
    assert codes.min() >= 1 and codes.max() <= 20
    m = mutual_info_matrix(codes, np.c_[a, b])
    for i, j in itertools.product(range(3), range(2)):
        assert m[i, j] == pytest.approx(mutual_info_score(codes[:, i], np.c_[a, b][:, j]), abs=1e-12)
    h = entropies(np.c_[a, b])
    assert h[0] == pytest.approx(mutual_info_score(a, a))


def test_mig_identity_is_one_and_duplicates_halve_it():
    f = grid((5, 6, 7))
    ident = compute_mig(f.astype(float), f)
    assert ident.mig == pytest.approx(1.0)
    np.testing.assert_allclose(ident.per_factor, 1.0)
    # FoV 0 in two dims: the gap for FoV 0 is 0
    dup = compute_mig(np.c_[f, f[:, 0]].astype(float), f)
    assert dup.per_factor[0] == pytest.approx(0.0, abs=1e-12)
    assert dup.mig == pytest.approx(2 / 3)
    assert dup.mi_matrix.shape == (4, 3)


def test_mig_identity_beats_rotation():
    f = grid((6, 7, 8, 5))
    z = (f - f.mean(0)) / f.std(0)
    rotations = [np.linalg.qr(np.random.default_rng(s).normal(size=(4, 4)))[0] for s in range(5)]
    ident = compute_mig(z, f).mig
    assert ident > max(compute_mig(z @ q, f).mig for q in rotations) + 0.2
    assert ident > compute_mig(z @ HADAMARD, f).mig + 0.5


def test_mig_edge_cases():
    f = grid((4, 5))
    f = np.c_[f, np.zeros(len(f), np.int64)]
    z = f[:, :2].astype(float)
    z[3, 1] = np.inf
    res = compute_mig(z[:, :1], f, factor_names=["a", "b", "c"])  # one dim: the gap is its MI
    assert res.measurable == (True, True, False) and "single value" in res.reasons[2]
    assert np.isfinite(res.mig)
    assert compute_mig(np.zeros((0, 2)), np.zeros((0, 2), np.int64)).mig is None
    with pytest.raises(DrvizError):
        compute_mig(np.zeros((5, 2)), np.zeros((4, 2)))


def test_mig_is_fast():
    import time

    rng = np.random.default_rng(0)
    f = rng.integers(0, 10, size=(10_000, 6))
    z = f @ rng.normal(size=(6, 10)) + rng.normal(size=(10_000, 10))
    t = time.perf_counter()
    compute_mig(z, f)
    assert time.perf_counter() - t < 1.0


# -- degenerate dims (issue 12, section 1): a dim that cannot hold 20 finite bins is one bin ----------
def issue_table(dead: np.ndarray | float, n: int = 400, seed: int = 0):
    """The issue's input: FoVs of sizes 4, 5, 6 drawn uniformly, dims 0-2 = the FoVs plus small
    noise, dim 3 = ``dead`` (a constant or per-row values)."""
    rng = np.random.default_rng(seed)
    f = np.stack([rng.integers(0, s, n) for s in (4, 5, 6)], axis=1)
    z = np.c_[f + 0.05 * rng.normal(size=f.shape), np.broadcast_to(dead, (n,))]
    return z, f


def sklearn_mig(z: np.ndarray, f: np.ndarray, one_bin: set[int]) -> float:
    """disentanglement_lib's MIG from numpy's bins and sklearn's mutual information; the dims in
    ``one_bin`` are a single bin."""
    codes = [np.zeros(len(z), np.int64) if d in one_bin else np.digitize(z[:, d], np.histogram(z[:, d], 20)[1][:-1])
             for d in range(z.shape[1])]
    mi = np.array([[mutual_info_score(c, f[:, j]) for j in range(f.shape[1])] for c in codes])
    h = np.array([mutual_info_score(f[:, j], f[:, j]) for j in range(f.shape[1])])
    top = np.sort(mi, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / h))


ROUNDING = np.where(np.random.default_rng(1).random(400) < 0.5, 0.1 + 0.2, 0.3)  # 0.30000000000000004 or 0.3


@pytest.mark.parametrize("dead", [1e16, float(np.float32(1e16)), 1e300, -1e300, ROUNDING],
                         ids=["1e16", "1e16-float32", "1e300", "-1e300", "0.1+0.2-vs-0.3"])
def test_mig_dim_that_cannot_hold_the_bins_is_one_bin(dead):
    z, f = issue_table(dead)
    with pytest.raises(ValueError, match="Too many bins|not finite"):  # what disentanglement_lib's binning does
        np.histogram(z[:, 3], 20)
    res = compute_mig(z, f)
    zero = z.copy()
    zero[:, 3] = 0.0
    expected = sklearn_mig(z, f, one_bin={3})
    assert res.mig == pytest.approx(expected, abs=1e-12)
    assert res.mig == pytest.approx(compute_mig(zero, f).mig, abs=1e-12)
    assert res.mig == pytest.approx(sklearn_mig(zero, f, one_bin=set()), abs=1e-12)
    np.testing.assert_array_equal(res.mi_matrix[3], 0.0)  # no information
    assert (discretize(z)[:, 3] == 1).all()


def test_discretize_is_numpys_binning_bit_for_bit():
    rng = np.random.default_rng(0)
    # ordinary codes, a range wider than the largest float, and tiny values near the subnormals
    z = np.c_[rng.normal(size=(500, 2)), 1.5e308 * rng.uniform(-1, 1, 500), 1e-300 * rng.normal(size=500)]
    codes = discretize(z)
    for d in (0, 1, 3):
        np.testing.assert_array_equal(codes[:, d], np.digitize(z[:, d], np.histogram(z[:, d], 20)[1][:-1]))
    # numpy cannot bin dim 2 (its range overflows); halving it (exact) keeps every bin
    np.testing.assert_array_equal(codes[:, 2], np.digitize(z[:, 2] / 2, np.histogram(z[:, 2] / 2, 20)[1][:-1]))
    assert len(np.unique(codes[:, 2])) == 20


def test_entropy_and_mig_are_never_negative_zero():
    f = np.c_[grid((4, 5)), np.zeros(20, np.int64)]  # FoV 2 takes a single value: entropy 0
    res = compute_mig(f[:, :2].astype(float), f)
    assert res.entropy[2] == 0.0 and not np.signbit(res.entropy[2])
    assert not np.signbit(res.mi_matrix).any() and not np.signbit(res.per_factor[:2]).any()


@pytest.mark.parametrize("dead", [1e16, 1e300, ROUNDING], ids=["1e16", "1e300", "0.1+0.2-vs-0.3"])
def test_dci_dim_without_information_is_that_of_a_zero_dim(dead):
    z, f = issue_table(dead)
    zero = z.copy()
    zero[:, 3] = 0.0
    res, ref = dci_from_table(z, f), dci_from_table(zero, f)  # 1e300 crashed sklearn's float32 trees
    np.testing.assert_array_equal(res.importance_matrix, ref.importance_matrix)
    np.testing.assert_array_equal(res.accuracy_test, ref.accuracy_test)
    assert (res.disentanglement, res.completeness) == (ref.disentanglement, ref.completeness)
    np.testing.assert_array_equal(res.importance_matrix[3], 0.0)


def test_dci_informative_dim_beyond_float32_is_rescaled_exactly():
    z, f = issue_table(0.0)
    big = z.copy()
    big[:, 0] *= 2.0**1000  # exact; beyond float32, where scikit-learn's trees raised
    ref, res = dci_from_table(z, f), dci_from_table(big, f)
    assert res.accuracy_test[0] == ref.accuracy_test[0] == 1.0
    np.testing.assert_allclose(res.importance_matrix, ref.importance_matrix, atol=1e-12)


def test_dci_scores_are_clipped_to_the_unit_interval():
    # uniform importances: 1 - entropy is 0, up to rounding (-2.2e-16 for these shapes before clipping)
    for r in (np.ones((3, 5)), np.ones((5, 3)), np.zeros((5, 5))):
        for v in (disentanglement(r), completeness(r)):
            assert 0.0 <= v < 1e-12 and not np.signbit(v) and f"{v:.4f}" == "0.0000"
        assert (disentanglement_per_dim(r) >= 0).all() and (completeness_per_factor(r) >= 0).all()


# -- row order (issue 12, section 3): one seeded shuffle by default, the reference's head split on request
@pytest.fixture(scope="module")
def sorted_table():
    """Every FoV perfectly encoded (one dim each, small noise), two copies of the (4, 5, 3) grid,
    rows sorted by FoV a: rows 0-29 have a = 0, ..., rows 90-119 have a = 3."""
    f = grid((4, 5, 3))
    f = np.r_[f, f]
    f = f[np.argsort(f[:, 0], kind="stable")]
    z = f + 0.05 * np.random.default_rng(0).normal(size=f.shape)
    return z, f


def sklearn_dci(z_train, y_train, z_test, y_test):
    """DCI as disentanglement_lib computes it, from scikit-learn and scipy directly."""
    from scipy.stats import entropy
    from sklearn.ensemble import GradientBoostingClassifier

    imp, acc = [], []
    for f in range(y_train.shape[1]):
        model = GradientBoostingClassifier(random_state=0).fit(z_train, y_train[:, f])
        imp.append(np.abs(model.feature_importances_))
        acc.append(np.mean(model.predict(z_test) == y_test[:, f]))
    r = np.array(imp).T  # (dims, FoVs)
    d = 1 - entropy(r.T + 1e-11, base=r.shape[1])
    c = 1 - entropy(r + 1e-11, base=r.shape[0])
    return r, np.array(acc), np.sum(d * r.sum(1) / r.sum()), np.sum(c * r.sum(0) / r.sum())


def test_head_split_is_the_references_split_exactly(sorted_table):
    z, f = sorted_table
    res = dci_from_table(z, f, factor_names=list("abc"), split="head")
    r, acc, d, c = sklearn_dci(z[:80], f[:80], z[80:], f[80:])
    np.testing.assert_array_equal(res.importance_matrix, r)
    np.testing.assert_array_equal(res.accuracy_test, acc)
    assert res.disentanglement == pytest.approx(d, abs=1e-12) and res.completeness == pytest.approx(c, abs=1e-12)
    # a = 3 only in the test part (rows 90-119): its 30 rows are always wrong, a = 2's 10 right
    assert res.accuracy_test[0] == 10 / 40 and res.accuracy_test[1] == res.accuracy_test[2] == 1.0
    assert res.split.mode == "head" and res.split.seed is None
    assert res.notes == ("test classes never seen in training, so always misclassified: a = 3 (30 test rows); "
                         "the rows look ordered: the shuffled split avoids this",)


def test_shuffled_split_scores_sorted_rows_as_random_ones(sorted_table):
    z, f = sorted_table
    perm = np.random.default_rng(7).permutation(len(f))
    srt, rnd = dci_from_table(z, f, seed=0), dci_from_table(z[perm], f[perm], seed=0)
    for res in (srt, rnd):
        np.testing.assert_array_equal(res.accuracy_test, 1.0)  # perfectly encoded: 1.0 whatever the order
        assert res.notes == () and res.split.mode == "shuffled" and res.split.seed == 0
        assert res.to_json()["split"] == {"mode": "shuffled", "seed": 0, "train_fraction": 2 / 3,
                                          "n_train": 80, "n_test": 40}
    assert abs(srt.disentanglement - rnd.disentanglement) < 0.05 and abs(srt.completeness - rnd.completeness) < 0.05


def test_splits():
    from drviz.metrics.split import as_split, make_split, unseen_classes_note

    head = make_split(10, "head")
    np.testing.assert_array_equal(head.train, np.arange(7))
    shuffled = make_split(10, "shuffled", seed=4)
    perm = np.random.default_rng(4).permutation(10)
    np.testing.assert_array_equal(np.r_[shuffled.train, shuffled.test], perm)
    assert len(shuffled.train) == 7 and shuffled.capped(3, 2).train.tolist() == perm[:3].tolist()
    assert as_split(shuffled, 10) is shuffled
    with pytest.raises(DrvizError, match="unknown split 'random'; choose shuffled"):
        make_split(10, "random")
    with pytest.raises(DrvizError, match="beyond the table"):
        as_split(shuffled, 5)
    y_train, y_test = np.array([[0, 0], [1, 0]]), np.array([[2, 0], [2, 1], [3, 1], [1, 0]])
    assert unseen_classes_note(y_train, y_test, ["a", "b"], "shuffled") == (
        "test classes never seen in training, so always misclassified: a = 2, 3 (3 test rows); b = 1 (2 test rows); "
        "those values have too few rows to reach both parts")
    assert unseen_classes_note(y_train, y_test[3:], ["a", "b"]) is None
