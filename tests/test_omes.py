"""OMES: hand-computed matrices, constructed representations, edge cases, and agreement with the
paper's reference implementation on its own example (docs/omes.md)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest

from drviz.errors import DrvizError
from drviz.metrics.omes import (
    SYNTHETIC_KINDS,
    association_from_pairs,
    association_matrix,
    components_from_matrix,
    compute_omes,
    inactive_dims,
    omes_components,
    per_dim_scores,
    synthetic_association_matrix,
    table_pairs,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference_example"

# A hand-worked example: 3 dims x 2 FoVs; dim 2 responds to nothing.
A = np.array([[0.8, 0.1], [0.2, 0.6], [0.0, 0.0]])
# OS(d, f) = 1 - (1/2) sum_g |delta(f, g) - A[d, g]|
OS = np.array([[0.85, 0.15], [0.30, 0.70], [0.50, 0.50]])
# MES(d, f) = 1 - (1/3) sum_e |delta(d, e) - A[e, f]|
MES = np.array([[1 - 0.4 / 3, 0.5], [1 - 1.6 / 3, 1 - 0.5 / 3], [1 - 2.0 / 3, 1 - 1.7 / 3]])


def grid(sizes):
    """Every combination of the factor values: (prod(sizes), K) int64."""
    return np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64)


# -- hand-computed matrices -----------------------------------------------------------------
def test_per_dim_scores_by_hand():
    os_, mes = per_dim_scores(A)
    np.testing.assert_allclose(os_, OS, atol=1e-12)
    np.testing.assert_allclose(mes, MES, atol=1e-12)


def test_poolings_by_hand():
    c = components_from_matrix(A, ["a", "b"])
    # max: max_d A[d, f] * S(d, f)
    np.testing.assert_allclose(c.max.os, [0.8 * 0.85, 0.6 * 0.70])
    np.testing.assert_allclose(c.max.mes, [0.8 * MES[0, 0], 0.6 * MES[1, 1]])
    # avg weights twice: sum_d A^2 S / sum_d A
    np.testing.assert_allclose(c.avg.os, [(0.64 * 0.85 + 0.04 * 0.30) / 1.0, (0.01 * 0.15 + 0.36 * 0.70) / 0.7])
    np.testing.assert_allclose(c.avg.mes, [0.64 * MES[0, 0] + 0.04 * MES[1, 0], (0.01 * 0.5 + 0.36 * MES[1, 1]) / 0.7])
    assert c.dims == (0, 1)
    assert c.measurable == (True, True)


def test_alpha_is_a_linear_recombination():
    c = components_from_matrix(A, ["a", "b"])
    for pooling in ("avg", "max"):
        p = c.pooled(pooling)
        assert c.omes(1.0, pooling)["a"].omes == pytest.approx(p.os[0])
        assert c.omes(0.0, pooling)["b"].omes == pytest.approx(p.mes[1])
        r = c.omes(0.3, pooling)
        for f, fo in enumerate(r.factors):
            assert fo.omes == pytest.approx(0.3 * p.os[f] + 0.7 * p.mes[f])
        assert r.score == round(np.mean([0.3 * p.os[f] + 0.7 * p.mes[f] for f in range(2)]), 4)
    # max pooling, alpha 0.5: ((0.68 + 0.6933) / 2 + (0.42 + 0.5) / 2) / 2
    assert c.score(0.5, "max") == round((0.68 + 0.8 * MES[0, 0] + 0.42 + 0.5) / 4, 4) == 0.5733
    with pytest.raises(DrvizError):
        c.omes(1.5)


def test_inactive_dims_are_removed_before_scoring():
    c = components_from_matrix(A, ["a", "b"], inactive_dims=[2])
    # MES now averages over 2 active dims: f0 column [0.8, 0.2] -> MES(0, a) = 1 - 0.4 / 2
    assert c.max.mes[0] == pytest.approx(0.8 * 0.8)
    assert c.max.mes[1] == pytest.approx(0.6 * 0.75)
    assert c.max.os[0] == pytest.approx(0.8 * 0.85)  # OS only looks at the row: unchanged
    assert np.isnan(c.os_dim[2]).all()
    payload = c.to_json()
    assert payload["matrix"][2] is None and payload["inactive_dims"] == [2]


def test_association_report_uses_original_dim_indices():
    a = np.array([[0.0, 0.0], [0.9, 0.0], [0.0, 0.0], [0.0, 0.8]])
    c = components_from_matrix(a, ["a", "b"], inactive_dims=[0, 2])
    assert c.dims == (1, 3)
    assert c.omes()["b"].dim == 3


def test_alpha_recombination_is_fast():
    c = components_from_matrix(synthetic_association_matrix("partial", 10, 6, 0))
    t = time.perf_counter()
    for alpha in np.linspace(0, 1, 101):
        c.omes(float(alpha), "avg")
    assert (time.perf_counter() - t) / 101 < 1e-3


# -- constructed representations ------------------------------------------------------------
@pytest.mark.parametrize("estimator", ["expected", "sampled"])
def test_ceiling_for_a_perfectly_encoded_fov(estimator):
    sizes = (3, 5, 9)
    f = grid(sizes)
    assoc = association_matrix(f.astype(float), f, estimator=estimator, rng=1)
    expected = [1 - 1 / (n - 1) for n in sizes]
    tol = 1e-4 if estimator == "expected" else 0.05
    np.testing.assert_allclose(np.diag(assoc.matrix), expected, atol=tol)
    off = assoc.matrix[~np.eye(3, dtype=bool)]
    np.testing.assert_allclose(off, 0.0, atol=1e-12)  # a dim never moves when another FoV changes


def test_binary_fov_is_invisible_and_reported_not_measurable():
    f = grid((2, 6, 6))
    c = omes_components(association_matrix(f.astype(float), f))
    assert c.measurable == (False, True, True)
    assert "binary" in c.reasons[0]
    res = c.omes(0.5, "avg")
    assert res["factor_0"].omes is None and res.score == round(np.mean([x.omes for x in res.factors[1:]]), 4)


def test_identity_beats_a_rotation():
    """One dim per FoV beats rotations of it. A rotation close to a signed permutation can score
    about as high (a dim slightly contaminated by other FoVs can even exceed the ceiling: the
    shared variance pushes the pair correlation towards 0), so compare with the mean over random
    rotations, and with the Hadamard rotation that mixes every dim with every FoV."""
    f = grid((6, 7, 8, 5))
    z = (f - f.mean(0)) / f.std(0)
    ident = omes_components(association_matrix(z, f))
    assert ident.dims == (0, 1, 2, 3)
    rotations = [np.linalg.qr(np.random.default_rng(s).normal(size=(4, 4)))[0] for s in range(10)]
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2
    mixed = omes_components(association_matrix(z @ hadamard, f))
    for pooling in ("avg", "max"):
        rot = np.mean([omes_components(association_matrix(z @ q, f)).score(0.5, pooling) for q in rotations])
        assert ident.score(0.5, pooling) > rot + 0.05
        assert ident.score(0.5, pooling) > mixed.score(0.5, pooling) + 0.5


def test_duplicated_latent_lowers_mes_not_os():
    f = grid((6, 7, 8))
    z = f.astype(float)
    dup = np.c_[z, z[:, 0]]  # FoV 0 encoded twice
    a, b = omes_components(association_matrix(z, f)), omes_components(association_matrix(dup, f))
    assert b.max.os[0] == pytest.approx(a.max.os[0])
    assert b.max.mes[0] < a.max.mes[0] - 0.1
    assert b.avg.mes[0] < a.avg.mes[0] - 0.1


def test_noise_dims_associate_with_every_fov_and_lower_scores():
    f = grid((6, 7, 8))
    z = f.astype(float)
    noisy = np.c_[z, np.random.default_rng(0).normal(size=(len(z), 2))]
    assoc = association_matrix(noisy, f)
    assert (assoc.matrix[3:] > 0.9).all()  # an active pure-noise dim: A ~ 1 everywhere
    assert omes_components(assoc).score() < omes_components(association_matrix(z, f)).score() - 0.1


def test_inactive_dim_detection():
    rng = np.random.default_rng(0)
    z = np.c_[rng.normal(size=500), 0.01 * rng.normal(size=500), np.zeros(500)]
    np.testing.assert_array_equal(inactive_dims(z, rng), [False, True, True])
    f = grid((5, 10, 10))
    z = np.c_[f.astype(float), np.zeros(len(f))]
    assoc = association_matrix(z, f)
    assert assoc.inactive_dims == (3,)
    assert omes_components(assoc).score() == omes_components(association_matrix(z[:, :3], f)).score()


# -- pairs from a table -----------------------------------------------------------------------
def test_table_pairs_follow_the_reference_distribution():
    rng = np.random.default_rng(0)
    f = rng.integers(0, 4, size=(300, 3))
    pairs = table_pairs(f, rng=0)
    for k, (a, b) in enumerate(pairs):
        diff = f[a] != f[b]
        assert diff[:, k].all() and not np.delete(diff, k, axis=1).any()
    # the count is sum over lines of m * floor(m / 2), m = distinct points on the line
    uniq = np.unique(f, axis=0)
    for k in range(3):
        _, m = np.unique(np.delete(uniq, k, axis=1), axis=0, return_counts=True)
        assert len(pairs[k][0]) == int((m * (m // 2)).sum())
    # duplicates of a label vector: only the first row in file order is used
    dup = np.r_[f, f[:10]]
    used = np.unique(np.concatenate([np.r_[a, b] for a, b in table_pairs(dup, rng=0)]))
    assert used.max() < 300
    # at most max_pairs per FoV, and the same seed gives the same pairs
    capped = table_pairs(f, rng=3, max_pairs=50)
    assert all(len(a) == 50 for a, _ in capped)
    again = table_pairs(f, rng=3, max_pairs=50)
    assert all((a1 == a2).all() and (b1 == b2).all() for (a1, b1), (a2, b2) in zip(capped, again))


def test_expected_estimator_is_the_limit_of_sampled():
    """"expected" is the correlation of the pair distribution; single draws scatter around it,
    except that a finite draw's |r| is biased upwards where the correlation is near 0."""
    rng = np.random.default_rng(0)
    f = np.unique(rng.integers(0, 6, size=(800, 3)), axis=0)
    z = np.c_[f + 0.3 * rng.normal(size=(len(f), 3)), rng.normal(size=len(f))]  # dim 3: noise
    exp = association_matrix(z, f, estimator="expected").matrix
    draws = np.array([association_matrix(z, f, rng=s, repeats=1).matrix for s in range(200)])
    np.testing.assert_allclose(draws.mean(0)[:3], exp[:3], atol=0.01)
    assert (exp[3] > 0.97).all() and (draws.mean(0)[3] < exp[3]).all()
    # the default averages draws: closer to their mean than one draw is
    assert np.abs(association_matrix(z, f, rng=1).matrix - draws.mean(0)).max() < np.abs(draws[1] - draws.mean(0)).max()


def test_labels_may_be_arbitrary_integers_or_integer_floats():
    f = grid((4, 5))
    z = f.astype(float)
    base = association_matrix(z, f).matrix
    np.testing.assert_array_equal(association_matrix(z, f * 7 - 3).matrix, base)
    np.testing.assert_array_equal(association_matrix(z, f.astype(float)).matrix, base)
    with pytest.raises(DrvizError):
        association_matrix(z, f + 0.5)


def test_pairs_from_a_generated_dataset():
    rng = np.random.default_rng(0)
    n = 2000
    pairs = []
    for f in range(2):  # dim f follows FoV f (8 values); the other dim does not move
        a = rng.integers(0, 8, size=(n, 2)).astype(float)
        b = a.copy()
        b[:, f] = (a[:, f] + rng.integers(1, 8, n)) % 8
        pairs.append((a, b))
    assoc = association_from_pairs(pairs, factor_names=["x", "y"], rng=0)
    assert assoc.matrix[0, 0] == pytest.approx(1 - 1 / 7, abs=0.05)
    assert assoc.matrix[1, 0] == 0.0 and assoc.matrix[0, 1] == 0.0
    assert omes_components(assoc).dims == (0, 1)
    capped = association_from_pairs(pairs, rng=0, max_pairs=100)
    assert capped.n_pairs == (100, 100)


# -- edge cases: never a crash, never a NaN ---------------------------------------------------
def _assert_clean(c):
    for pooling in ("avg", "max"):
        for alpha in (0.0, 0.5, 1.0):
            r = c.omes(alpha, pooling)
            assert r.score is None or np.isfinite(r.score)
            for fo in r.factors:
                assert fo.measurable == (fo.omes is not None)
                assert fo.measurable or fo.reason
                assert fo.omes is None or np.isfinite(fo.omes)
    json.dumps(c.to_json(), allow_nan=False)


def test_fov_with_too_few_pairs_and_single_valued_fov():
    f = grid((5, 6))
    f = np.c_[f, f[:, 0], np.zeros(len(f), np.int64)]  # FoV 2 copies FoV 0: no line has 2 points
    z = np.c_[f[:, :2].astype(float), np.random.default_rng(0).normal(size=len(f))]
    c = omes_components(association_matrix(z, f))
    assert c.measurable == (False, True, False, False)  # FoV 0 moves with FoV 2: no pairs either
    assert "fewer than 2" in c.reasons[2] and "single value" in c.reasons[3]
    assert c.score() == round(float(c.omes_vector()[1]), 4)  # the mean over measurable FoVs
    _assert_clean(c)
    # the pairs path: a FoV with a single pair
    one = association_from_pairs([(z[:1], z[1:2]), (z[:15], z[15:30])], activity_z=z)
    assert "fewer than 2" in omes_components(one).reasons[0]
    _assert_clean(omes_components(one))


def test_active_dim_constant_within_a_fovs_pairs():
    # lines along FoV 1 exist only where FoV 0 == 0, so dim 0 (= FoV 0) is constant in its pairs
    f = np.r_[np.c_[np.arange(6), np.zeros(6)], np.c_[np.zeros(5), np.arange(1, 6)]].astype(np.int64)
    z = np.c_[f.astype(float), np.random.default_rng(0).normal(size=len(f))]
    c = omes_components(association_matrix(z, f, estimator="sampled"))
    assert not c.measurable[1] and "constant" in c.reasons[1]
    _assert_clean(c)
    _assert_clean(omes_components(association_matrix(z, f)))


def test_all_zero_weights_do_not_crash_avg_pooling():
    a = np.array([[0.9, 0.0, 0.1], [0.0, 0.0, 0.8]])
    c = components_from_matrix(a)
    assert c.measurable == (True, False, True)
    _assert_clean(c)
    assert c.score(0.5, "avg") == round(float(np.mean(c.omes_vector(0.5, "avg")[[0, 2]])), 4)


def test_nan_and_inf_in_the_representation():
    f = grid((5, 6, 7))
    z = f.astype(float)
    z[[3, 50, 100], 1] = np.nan
    z[7, 2] = np.inf
    assoc = association_matrix(z, f)
    assert any("4 of 210 rows" in n for n in assoc.notes)
    c = omes_components(assoc)
    assert all(c.measurable)
    _assert_clean(c)
    z2 = np.c_[f.astype(float), np.full(len(f), np.nan)]
    c2 = omes_components(association_matrix(z2, f))
    assert 3 in c2.association.inactive_dims and all(c2.measurable)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_n(n):
    f = grid((2, 3))[:n]
    z = np.random.default_rng(0).normal(size=(n, 4))
    c = omes_components(association_matrix(z, f, factor_names=["a", "b"]))
    _assert_clean(c)
    assert c.score() is None


def test_bad_shapes_are_one_line_errors():
    with pytest.raises(DrvizError):
        association_matrix(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(DrvizError):
        association_matrix(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(DrvizError):
        association_matrix(np.zeros((5, 2)), np.zeros((5, 2)), factor_names=["a"])
    with pytest.raises(DrvizError):
        components_from_matrix(np.array([[1.5]]))


# -- synthetic matrices for the app --------------------------------------------------------
def test_synthetic_presets_rank_as_their_names_say():
    scores = {kind: components_from_matrix(synthetic_association_matrix(kind, 10, 5, 0)).score(0.5, "max")
              for kind in SYNTHETIC_KINDS}
    assert scores["near_perfect"] > scores["partial"] > scores["underfitting"]
    assert scores["near_perfect"] > scores["overlap"] and scores["near_perfect"] > scores["multiple_encoding"]
    ov = components_from_matrix(synthetic_association_matrix("overlap", 10, 4, 0))
    me = components_from_matrix(synthetic_association_matrix("multiple_encoding", 10, 4, 0))
    # overlap hurts OS (a dim encodes two FoVs), multiple encoding hurts MES (a FoV in two dims)
    assert ov.max.os.mean() < me.max.os.mean() and me.max.mes.mean() < ov.max.mes.mean()
    with pytest.raises(DrvizError):
        synthetic_association_matrix("nope")


# -- the paper's reference implementation on its own example ---------------------------------
@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} not found (the shared folder sits beside the repository)")
    import pandas as pd

    z = np.load(REFERENCE / "representations.npz")["mean"]
    table = pd.read_csv(REFERENCE / "classes.csv")
    expected = json.loads((REFERENCE / "expected_omes.json").read_text())
    return z, table.to_numpy(), list(table.columns), expected


def _check_reference(c, names, expected, factor_floor):
    assert list(c.association.inactive_dims) == expected["inactive_dims"]
    for pooling, by_alpha in expected["omes"].items():
        for alpha, stat in by_alpha.items():
            assert abs(c.score(float(alpha), pooling) - stat["mean"]) <= 3 * stat["std"], (pooling, alpha)
    for pooling, by_factor in expected["per_factor_alpha_0.5"].items():
        res = c.omes(0.5, pooling)
        for name, stat in by_factor.items():
            assert abs(res[name].omes - stat["mean"]) <= max(3 * stat["std"], factor_floor), (pooling, name)
    assert dict(zip(names, c.dims)) == expected["factor_to_dim"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_example_default(reference, seed):
    """Every averaged score within 3 std of the reference's 5-seed mean. Per FoV the reference's
    5-seed std is itself noisy (0.0002 for shape, while 30 replications of its procedure spread by
    0.0008), so per FoV the tolerance is 3 std but at least 0.003."""
    z, f, names, expected = reference
    _check_reference(omes_components(association_matrix(z, f, factor_names=names, rng=seed)), names, expected, 0.003)


def test_reference_example_expected_estimator(reference):
    z, f, names, expected = reference
    c = omes_components(association_matrix(z, f, factor_names=names, estimator="expected"))
    _check_reference(c, names, expected, 0.0)


def test_reference_example_single_draws_like_the_reference(reference):
    """One draw per run, as the reference: the mean of 5 seeds agrees as its own 5 seeds do, and
    every seed finds the same FoV -> dim association."""
    z, f, names, expected = reference
    runs = [omes_components(association_matrix(z, f, factor_names=names, rng=s, repeats=1)) for s in range(5)]
    for c in runs:
        assert dict(zip(names, c.dims)) == expected["factor_to_dim"]
    for pooling, by_alpha in expected["omes"].items():
        for alpha, stat in by_alpha.items():
            mean = np.mean([c.score(float(alpha), pooling) for c in runs])
            assert abs(mean - stat["mean"]) <= 3 * stat["std"], (pooling, alpha)
    for pooling, by_factor in expected["per_factor_alpha_0.5"].items():
        for name, stat in by_factor.items():
            mean = np.mean([c.omes(0.5, pooling)[name].omes for c in runs])
            assert abs(mean - stat["mean"]) <= max(3 * stat["std"], 0.005), (pooling, name)


def test_compute_omes_one_call(reference):
    z, f, names, expected = reference
    r = compute_omes(z, f, factor_names=names, alpha=0.5, pooling="max")
    assert abs(r.score - expected["omes"]["max"]["0.5"]["mean"]) <= 3 * expected["omes"]["max"]["0.5"]["std"]


def test_lines_when_label_codes_overflow_int64():
    """With more combinations than an int64 key can hold, lines are grouped with np.unique rows."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 1000, size=(400, 9)) * 1000 + np.arange(400)[:, None]  # 400 values each
    f = np.r_[base, base.copy()]
    from drviz.metrics.pairing import factor_codes as _codes

    assert float(np.prod(_codes(f)[1].astype(float))) > 2.0**62
    f[400:, 2] = (f[400:, 2] + 1)  # each row gets a partner differing in FoV 2 only
    pairs = table_pairs(f, rng=0)
    a, b = pairs[2]
    assert len(a) == 800  # 400 lines of 2 points, each pair used twice
    diff = f[a] != f[b]
    assert diff[:, 2].all() and not np.delete(diff, 2, axis=1).any()


# -- degenerate dims (issue 12, section 1) ------------------------------------------------------------
ROUNDING = np.where(np.random.default_rng(1).random(400) < 0.5, 0.1 + 0.2, 0.3)  # 0.30000000000000004 or 0.3


def issue_table(dead, n: int = 400, seed: int = 0):
    """FoVs of sizes 4, 5, 6 drawn uniformly, dims 0-2 = the FoVs plus small noise, dim 3 = ``dead``."""
    rng = np.random.default_rng(seed)
    f = np.stack([rng.integers(0, s, n) for s in (4, 5, 6)], axis=1)
    return np.c_[f + 0.05 * rng.normal(size=f.shape), np.broadcast_to(dead, (n,))], f


@pytest.mark.parametrize("dead", [1e16, float(np.float32(1e16)), 1e300, -1e300, ROUNDING],
                         ids=["1e16", "1e16-float32", "1e300", "-1e300", "0.1+0.2-vs-0.3"])
@pytest.mark.parametrize("estimator", ["sampled", "expected"])
def test_dead_dim_of_any_magnitude_is_inactive_and_scores_as_a_zero_dim(dead, estimator):
    z, f = issue_table(dead)
    zero = z.copy()
    zero[:, 3] = 0.0
    assoc, ref = association_matrix(z, f, estimator=estimator), association_matrix(zero, f, estimator=estimator)
    assert assoc.inactive_dims == ref.inactive_dims == (3,)  # std 0: 1e300's mean overflowed into NaN "std"
    np.testing.assert_array_equal(assoc.matrix[:3], ref.matrix[:3])
    assert assoc.column_reasons == (None, None, None)
    res, expected = omes_components(assoc), omes_components(ref)
    assert res.dims == expected.dims == (0, 1, 2)
    for pooling in ("avg", "max"):
        assert res.score(0.5, pooling) == expected.score(0.5, pooling)


def test_correlations_are_exact_under_power_of_two_scaling():
    """Pearson's r ignores scale; scaling by 2^k is exact in floating point, so A must not change by
    a bit, even where the raw sums of squares overflow (2^1000: the dims used to come out NaN)."""
    z, f = issue_table(0.0)
    z = z[:, :3]
    ref = association_matrix(z, f)
    for k in (10, 500, 1000):
        scaled = association_matrix(z * 2.0**k, f)
        np.testing.assert_array_equal(scaled.matrix, ref.matrix)
        assert scaled.inactive_dims == () and scaled.column_reasons == ref.column_reasons
    pairs = [(z[a], z[b]) for a, b in table_pairs(f)]
    ref = association_from_pairs(pairs)
    big = association_from_pairs([(a * 2.0**1000, b * 2.0**1000) for a, b in pairs])
    np.testing.assert_array_equal(big.matrix, ref.matrix)


def test_inactive_test_measures_the_spread_not_the_magnitude():
    rng = np.random.default_rng(0)
    z = np.c_[np.full(1000, 1e300), 1e16 + 4 * rng.normal(size=1000), 1e16 + 0.01 * rng.normal(size=1000)]
    # dim 0: constant (its raw mean overflows); dim 1: std 4 around 1e16 (float64 steps of 2 there);
    # dim 2: a variation below float64's resolution at 1e16, so every stored value is 1e16
    assert inactive_dims(z).tolist() == [True, False, True]
