"""SAP, Modularity / Explicitness, InfoMEC, the metric registry and the agreement matrix: known
answers on constructed representations (a perfect code at the top, a random one near the bottom,
a rotated one in between on the modularity / compactness scores while explicitness stays high),
closed-form cases, degenerate input, seeds and row order."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_selection import mutual_info_classif

from drviz.errors import DrvizError
from drviz.metrics.agreement import AGAINST, metric_agreement, scores_frame
from drviz.metrics.infomec import compute_infomec, infom_infoc, mi_continuous_discrete
from drviz.metrics.modularity import compute_modularity, modularity_per_dim
from drviz.metrics.registry import FAMILIES, PROPERTIES, REGISTRY, metric, properties_of, score_labels
from drviz.metrics.sap import compute_sap, top_two_gap
from drviz.metrics.split import Split

HADAMARD = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2  # orthogonal, mixes all


def grid(sizes, repeat=1):
    return np.tile(np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64), (repeat, 1))


@pytest.fixture(scope="module")
def codes():
    """Four FoVs on a full grid (independent, uniform): identity, Hadamard-rotated and random codes."""
    f = grid((6, 5, 4, 3), repeat=3)  # 1,080 rows
    rng = np.random.default_rng(0)
    z = (f - f.mean(0)) / f.std(0) + 0.02 * rng.normal(size=f.shape)
    return {"factors": f, "identity": z, "rotated": z @ HADAMARD, "random": rng.normal(size=f.shape)}


# -- SAP ------------------------------------------------------------------------------------------
def test_sap_continuous_closed_form():
    f = grid((5, 4))
    every_row = Split(np.arange(len(f)), np.arange(0), "head", None)  # the whole grid trains: exact covariances
    assert compute_sap(f.astype(float), f, continuous=True, split=every_row).sap == pytest.approx(1.0)
    # 45 degrees between two FoVs of equal variance: each dim explains half of each FoV, no gap
    g = grid((4, 4))
    z = np.c_[g[:, 0] + g[:, 1], g[:, 0] - g[:, 1]] / np.sqrt(2)
    assert compute_sap(z, g, continuous=True, split=Split(np.arange(16), np.arange(0), "head", None)).sap == \
        pytest.approx(0.0, abs=1e-12)


def test_sap_top_two_gap():
    m = np.array([[0.9, 0.2], [0.3, 0.6], [0.1, 0.5]])
    np.testing.assert_allclose(top_two_gap(m), [0.6, 0.1])
    np.testing.assert_allclose(top_two_gap(m[:1]), [0.9, 0.2])  # one dim: no runner-up


def test_sap_perfect_binary_code_is_half_and_beats_rotation_and_noise():
    f = grid((2, 2, 2, 2), repeat=40)
    rng = np.random.default_rng(1)
    z = f + 0.05 * rng.normal(size=f.shape)
    ident = compute_sap(z, f).sap
    assert ident == pytest.approx(0.5, abs=0.05)  # own dim: accuracy 1; any other dim: chance 0.5
    rot = compute_sap(z @ HADAMARD, f).sap
    rand = compute_sap(rng.normal(size=f.shape), f).sap
    assert ident > rot + 0.2 and rand < 0.06


def test_sap_orders_codes(codes):
    s = {k: compute_sap(codes[k], codes["factors"]).sap for k in ("identity", "rotated", "random")}
    assert s["identity"] > s["rotated"] > s["random"] and s["random"] < 0.05


# -- Modularity / Explicitness ---------------------------------------------------------------------
def test_modularity_closed_form():
    np.testing.assert_allclose(modularity_per_dim(np.eye(3)), [1, 1, 1])
    np.testing.assert_allclose(modularity_per_dim([[1.0, 1.0]]), [0.0])  # two FoVs equally: delta 1
    np.testing.assert_allclose(modularity_per_dim([[2.0, 1.0, 0.0]]), [1 - 1 / (4 * 2)])
    np.testing.assert_allclose(modularity_per_dim([[0.0, 0.0]]), [0.0])  # no information: 0, as the reference
    np.testing.assert_allclose(modularity_per_dim([[0.3], [0.0]]), [1.0, 0.0])  # one FoV: trivially modular


def test_modularity_and_explicitness_on_constructed_codes(codes):
    f = codes["factors"]
    res = {k: compute_modularity(codes[k], f) for k in ("identity", "rotated", "random")}
    assert res["identity"].modularity > 0.95
    assert res["rotated"].modularity < res["identity"].modularity - 0.3  # every dim mixes every FoV
    assert res["identity"].explicitness_test > 0.97
    # a rotation is invertible: a linear read-out recovers the FoVs as well as from the identity
    assert res["rotated"].explicitness_test == pytest.approx(res["identity"].explicitness_test, abs=0.01)
    assert res["random"].explicitness_test == pytest.approx(0.5, abs=0.05)


# -- InfoMEC ---------------------------------------------------------------------------------------------
def test_ross_mutual_information_equals_sklearns():
    rng = np.random.default_rng(2)
    y = rng.integers(5, size=700)
    y[0] = 9  # a label seen once is ignored, as sklearn
    x = np.c_[y + rng.normal(size=700), rng.normal(size=700), np.round(rng.normal(size=700), 1), np.zeros(700)]
    np.testing.assert_allclose(mi_continuous_discrete(x, y, 10, 4),
                               mutual_info_classif(x, y, discrete_features=False, n_neighbors=10, random_state=4),
                               rtol=0, atol=1e-12)


def test_infom_infoc_closed_form():
    assert infom_infoc(np.eye(3), np.ones(3, bool)) == (1.0, 1.0)
    m, c = infom_infoc(np.ones((3, 3)), np.ones(3, bool))
    assert m == pytest.approx(0.0) and c == pytest.approx(0.0)
    # dim 2 inactive: left out; dim 1 encodes both FoVs equally
    m, c = infom_infoc(np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 1.0]]), np.array([True, True, False]))
    assert m == pytest.approx((np.mean([1.0, 0.5]) - 0.5) / 0.5)
    assert c == pytest.approx((np.mean([1 / 1.5, 0.5 / 0.5]) - 0.5) / 0.5)


def test_infomec_on_constructed_codes(codes):
    f = codes["factors"]
    res = {k: compute_infomec(codes[k], f) for k in ("identity", "rotated", "random")}
    ident, rot, rand = res["identity"], res["rotated"], res["random"]
    assert ident.infom > 0.9 and ident.infoc > 0.9 and ident.infoe > 0.9
    assert rot.infom < ident.infom - 0.4 and rot.infoc < ident.infoc - 0.4
    assert rot.infoe == pytest.approx(ident.infoe, abs=0.02)  # invertible: as explicit as the identity
    # a random code carries no information: InfoE and every NMI entry near 0 (InfoM / InfoC are then
    # ratios of the estimator's noise, as in the reference: see the module docstring)
    assert rand.infoe < 0.05 and np.nanmax(rand.nmi) < 0.05
    assert ident.nmi.shape == (4, 4) and ident.active_dims == (0, 1, 2, 3)


# -- degenerate input, seeds, row order --------------------------------------------------------------
@pytest.mark.parametrize("score", ["sap", "modularity", "infomec"])
def test_constant_dim_single_valued_fov_and_row_order(codes, score):
    f = np.c_[codes["factors"], np.zeros(len(codes["factors"]), np.int64)]  # a single-valued FoV
    z = np.c_[codes["identity"], np.full(len(f), 1e16)]  # a constant dim
    fn = {"sap": lambda z, f: compute_sap(z, f, seed=3),
          "modularity": lambda z, f: compute_modularity(z, f, seed=3),
          "infomec": lambda z, f: compute_infomec(z, f, seed=3)}[score]
    res = fn(z, f)
    assert res.measurable == (True, True, True, True, False) and "single value" in res.reasons[4]
    perm = np.random.default_rng(5).permutation(len(f))
    again = fn(z[perm], f[perm])
    assert res.to_json() == again.to_json()  # rows in any order: the same result
    data = res.to_json()
    if score == "sap":
        assert data["score_matrix"][4][:4] == pytest.approx([1 / n for n in (6, 5, 4, 3)], abs=0.15)  # chance
    elif score == "modularity":
        assert data["per_dim_modularity"][4] == 0.0 and data["modularity"] == pytest.approx(0.8 * 1.0, abs=0.02)
    else:
        assert data["active_dims"] == [0, 1, 2, 3] and data["nmi"][4][:4] == [0.0] * 4
        assert data["infom"] > 0.9


@pytest.mark.parametrize("fn", [compute_sap, compute_modularity, compute_infomec])
def test_bad_shapes_one_line_error(fn):
    with pytest.raises(DrvizError, match="need"):
        fn(np.zeros((5, 2)), np.zeros((4, 1), np.int64))
    with pytest.raises(DrvizError, match="integers"):
        fn(np.zeros((5, 2)), np.full((5, 1), 0.5))


def test_infomec_too_few_active_dims_says_why():
    f = grid((4, 3), repeat=5)
    res = compute_infomec(np.c_[f[:, 0], np.zeros(len(f))], f)
    assert res.infoc is None and any("InfoC needs 2 active dims" in n for n in res.notes)
    assert res.infom is not None and res.infoe is not None


# -- registry and the paper's table --------------------------------------------------------------------
def test_registry_is_complete_and_consistent():
    names = {m.name for m in REGISTRY}
    assert {"OMES", "BetaVAE score", "FactorVAE score", "DCI", "MIG", "SAP", "Modularity", "Explicitness",
            "InfoMEC"} <= names
    for m in REGISTRY:
        assert m.family in FAMILIES and set(m.properties) <= set(PROPERTIES) and m.properties
    assert metric("InfoE").family == "information" and properties_of("InfoE") == ("explicitness",)
    assert properties_of("FactorVAE") == ("modularity", "compactness")
    assert metric("SAP").classifier == "linear SVM" and metric("DCI I").family == "predictor"
    labels = score_labels()
    assert len(labels) == len(set(labels)) and {"InfoM", "InfoC", "InfoE", "BetaVAE", "FactorVAE", "SAP"} <= set(labels)


def test_metric_table_is_generated_from_the_registry():
    from drviz.tables import metric_table, run_scores_table

    t = metric_table()
    assert list(t["metric"]) == [m.name for m in sorted(REGISTRY, key=lambda m: FAMILIES.index(m.family))]
    row = t.set_index("metric").loc["DCI"]
    assert row["family"] == "predictor" and row["modularity"] == row["compactness"] == row["explicitness"] == "yes"
    assert t.set_index("metric").loc["MIG", "modularity"] == ""
    scores = run_scores_table({"omes": {"omes": 0.61}, "sap": {"sap": 0.2}, "infomec": {"infom": 0.5}})
    assert list(scores.columns) == ["family", "score", "value", "measures", "metric"]
    assert scores.set_index("score").loc["SAP", "value"] == 0.2
    assert scores.set_index("score").loc["InfoE", "value"] is None  # missing: shown as not computed
    assert list(dict.fromkeys(scores["family"])) == list(FAMILIES)


# -- agreement ---------------------------------------------------------------------------------------
def test_agreement_matrix():
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    df = pd.DataFrame({"OMES": x, "MIG": np.exp(x), "SAP": -x ** 3, "InfoM": rng.normal(size=12),
                       "ELBO": 2 * x, "GBT accuracy": [np.nan] * 10 + [0.5, 0.6], "notes": ["a"] * 12})
    a = metric_agreement(df)
    assert a.metrics == ("OMES", "MIG", "InfoM", "SAP") and a.against == ("ELBO", "GBT accuracy")
    assert a.rho.loc["OMES", "MIG"] == pytest.approx(1.0) and a.rho.loc["OMES", "SAP"] == pytest.approx(-1.0)
    assert a.rho.loc["SAP", "ELBO"] == pytest.approx(-1.0)
    assert np.isnan(a.rho.loc["OMES", "GBT accuracy"]) and a.n_runs.loc["OMES", "GBT accuracy"] == 2  # < 3 runs
    assert list(a.against_table().columns) == ["ELBO", "GBT accuracy"]
    assert any("recon loss" in n for n in a.notes)
    assert set(AGAINST) == {"ELBO", "recon loss", "GBT accuracy", "MLP accuracy"}
    with pytest.raises(DrvizError, match="no column 'DCI D'"):
        metric_agreement(df, metrics=["DCI D"])
    with pytest.raises(DrvizError, match="DataFrame"):
        metric_agreement({"OMES": [1, 2, 3]})


def test_scores_frame_from_metrics_json():
    df = scores_frame({"a": {"omes": {"omes": 0.5}, "sap": {"sap": 0.1}}, "b": {"omes": {"omes": 0.7}}},
                      extra={"a": {"ELBO": -100.0}})
    assert df.loc["a", "SAP"] == 0.1 and np.isnan(df.loc["b", "SAP"]) and df.loc["a", "ELBO"] == -100.0
