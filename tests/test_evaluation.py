"""drviz.evaluation: metrics.json read back by what wrote it, OMES of a representation (with the
notes of its files), the explorer's encoding and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from drviz.errors import DrvizError
from drviz.evaluation import (
    HEADLINES,
    encode_labelled,
    headline_scores,
    omes_components_of,
    omes_of,
    score_representation,
)
from drviz.models import VAE, ModelSpec
from drviz.representations import (
    Representation,
    encode_line_sampled,
    read_representation_bytes,
    save_representation,
)


def _identity(n: int = 240, seed: int = 0) -> Representation:
    """Each FoV in its own dim (plus a little noise): every score is high and finite."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, s, n) for s in (3, 4)], axis=1)
    return Representation(factors + 0.05 * rng.normal(size=factors.shape), None, factors, ("a", "b"))


def test_headline_scores_read_what_to_json_writes():
    res = score_representation(_identity(), n_train=120, n_test=60, classifiers=("gbt",))
    stored = json.loads(json.dumps(res.to_json()))  # as metrics.json holds it
    scores = headline_scores(stored)
    # every headline but BetaVAE / FactorVAE (they need a model's fresh images), then OS and MES
    assert list(scores) == [label for label, _ in HEADLINES if label not in ("BetaVAE", "FactorVAE")] + ["OS", "MES"]
    assert scores["OMES"] == round(res.omes.score(0.5, "avg"), 4)
    measurable = [f for f in res.omes.omes(0.5, "avg").factors if f.measurable]
    assert scores["OS"] == round(float(np.mean([f.os for f in measurable])), 4)
    assert scores["MES"] == round(float(np.mean([f.mes for f in measurable])), 4)
    assert scores["DCI D"] == round(res.dci.disentanglement, 4)
    assert scores["DCI C"] == round(res.dci.completeness, 4)
    assert scores["DCI I"] == round(res.dci.informativeness_test, 4)
    assert scores["MIG"] == round(res.mig.mig, 4)


def test_headline_scores_leave_out_what_is_missing_or_not_a_number():
    assert headline_scores({"omes": {"omes": 0.71234, "alpha": 0.5}, "mig": {"mig": 0.2}}) == \
        {"OMES": 0.7123, "MIG": 0.2}
    assert headline_scores({"omes": {"omes": None}, "dci": {"disentanglement": True}, "mig": 0.3}) == {}
    assert headline_scores(None) == {} and headline_scores([1, 2]) == {}


def test_uploaded_pandas_index_is_dropped_and_the_explorer_says_so(tmp_path):
    """The upload tab reads classes.csv with the same reader: pandas' index column is dropped, and
    the notice leads the matrix's notes, which the explorer shows under the heatmap."""
    rep = _identity(50)
    folder = save_representation(rep, tmp_path / "rep")
    npz = (folder / "representations.npz").read_bytes()
    clean = read_representation_bytes(npz, (folder / "classes.csv").read_bytes())
    indexed = read_representation_bytes(npz, pd.DataFrame(rep.factors, columns=["a", "b"]).to_csv().encode())
    assert indexed.factor_names == ("a", "b") and np.array_equal(indexed.factors, rep.factors)
    comps, ref = omes_components_of(indexed), omes_components_of(clean)
    assert comps.association.notes[0].startswith("classes.csv: dropped column 1 (no header, pandas' 'Unnamed: 0')")
    assert ref.association.notes == () and comps.score() == ref.score()


def test_score_representation_uses_the_explorers_omes():
    rep = _identity()
    res = score_representation(rep, seed=3, n_train=120, n_test=60, classifiers=("gbt",))
    ref = omes_components_of(rep, seed=3)
    assert np.array_equal(res.omes.association.matrix, ref.association.matrix) and res.omes.dims == ref.dims


def test_encode_labelled_refuses_unlabelled_and_bad_sizes():
    model = VAE(ModelSpec(channels=3)).eval()
    with pytest.raises(DrvizError, match="between 100"):
        encode_labelled(model, "color_dsprites", n=5)
    with pytest.raises(DrvizError, match="no factor labels"):
        encode_labelled(model, "lfw_faces", n=120)
    rep = encode_labelled(model, "dsprites", n=120)  # grayscale data, colour model: adapted
    assert rep.mean.shape == (120, 10) and rep.factor_names[0] == "shape"


def test_quick_omes_is_the_explorers_omes_of_the_same_rows():
    from drviz.data import get_dataset

    model = VAE(ModelSpec(channels=3)).eval()
    rep = encode_line_sampled(model, get_dataset("color_dsprites"), 150, seed=1)
    res = omes_of(model, "color_dsprites", n=150, seed=1, alpha=0.3, pooling="max")
    assert res == omes_components_of(rep, seed=1).omes(0.3, "max")
