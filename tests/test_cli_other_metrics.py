"""``python -m drviz sap | modularity | infomec | betavae | factorvae``: the headline score is the
JSON's first key, readable tables, and a one-line error with exit code 2 for bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from conftest import write_reference_folder
from drviz.cli import main
from drviz.representations import Representation, save_representation

HEADLINE = {"sap": "sap", "modularity": "modularity", "infomec": "infom", "betavae": "betavae", "factorvae": "factorvae"}


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """One dim per FoV (plus a dead dim), 1,200 rows: every group of a FoV's value has >= 64 rows."""
    f = np.tile(np.array(list(itertools.product(range(4), range(5), range(3))), dtype=np.int64), (20, 1))
    z = np.c_[f + 0.05 * np.random.default_rng(0).normal(size=f.shape), np.zeros(len(f))].astype(np.float32)
    return save_representation(Representation(z, z + 0.1, f, ("a", "b", "c")), tmp_path_factory.mktemp("rep"))


@pytest.mark.parametrize("verb", list(HEADLINE))
def test_json_first_key_is_the_headline(capsys, folder, verb):
    code, out, err = run_cli(capsys, verb, folder, "--json")
    assert code == 0, err
    data = json.loads(out)
    key = HEADLINE[verb]
    assert next(iter(data)) == key and isinstance(data[key], float)
    assert data["factors"] == ["a", "b", "c"]
    code, text, _ = run_cli(capsys, verb, folder)
    assert code == 0 and text.split()[0].lower() in (key, "sap", "infom")


def test_values_of_a_disentangled_folder(capsys, folder):
    read = {v: json.loads(run_cli(capsys, v, folder, "--json")[1]) for v in HEADLINE}
    assert read["betavae"]["betavae"] == 1.0 and read["factorvae"]["factorvae"] == 1.0
    assert read["factorvae"]["active_dims"] == [0, 1, 2]
    assert read["modularity"]["explicitness"] > 0.99 and read["modularity"]["per_dim_modularity"][3] == 0.0
    assert read["infomec"]["infom"] > 0.95 and read["infomec"]["infoc"] > 0.95
    assert read["sap"]["sap"] > 0.3
    assert "rows sharing the fixed FoV's value" in read["betavae"]["notes"][-1]


def test_options(capsys, folder):
    a = json.loads(run_cli(capsys, "sap", folder, "--json", "--continuous")[1])
    assert a["continuous"] and a["sap"] > 0.9
    b = json.loads(run_cli(capsys, "modularity", folder, "--json", "--split", "head", "--seed", "4")[1])
    assert b["split"]["mode"] == "head"
    c = json.loads(run_cli(capsys, "infomec", folder, "--json", "--discrete-latents", "--key", "sampled")[1])
    assert c["discrete_latents"] is True
    d1 = run_cli(capsys, "betavae", folder, "--json", "--seed", "3")[1]
    assert json.loads(d1)["seed"] == 3 and run_cli(capsys, "betavae", folder, "--json", "--seed", "3")[1] == d1


@pytest.mark.parametrize("verb", list(HEADLINE))
@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "nowhere", None),
        (lambda p: write_reference_folder(p, "a,b\n0,1\n", mean=np.zeros((2, 2))), "has 1 rows but representations.npz has 2"),
    ],
)
def test_bad_input_one_line_error_exit_2(capsys, tmp_path, verb, setup, message):
    code, out, err = run_cli(capsys, verb, setup(tmp_path))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    if message:
        assert message in err


def test_intervention_scores_say_where_rows_cannot(capsys, tmp_path, folder):
    small = save_representation(Representation(np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32), None,
                                               np.tile([[0, 1], [1, 0], [1, 1]], (10, 1)), ("a", "b")), tmp_path / "s")
    code, _, err = run_cli(capsys, "factorvae", small)
    assert code == 2 and "no value has the 64 rows" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "betavae", folder, "--dataset", "dsprites")
    assert code == 2 and "apply to a run" in err


def test_betavae_and_factorvae_of_a_run(capsys, tiny_run_root, monkeypatch):
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tiny_run_root))
    for verb in ("betavae", "factorvae"):
        code, out, err = run_cli(capsys, verb, "tiny", "--pool", "300", "--json")
        assert code == 0, err
        data = json.loads(out)
        assert next(iter(data)) == verb and 0.0 <= data[verb] <= 1.0
        assert data["source"] == "table" and data["n_images"] == 300
        assert any("pool of 300 i.i.d. images of color_dsprites" in n for n in data["notes"])
