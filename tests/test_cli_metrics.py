"""``python -m drviz omes | dci | mig | encode | evaluate``: JSON contents, readable tables, and a
one-line error with exit code 2 for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write_reference_folder
from drviz.cli import main
from drviz.representations import Representation, save_representation

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference_example"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def expected():
    if not REFERENCE.is_dir():
        pytest.skip("shared/reference_example not found beside the repository")
    return json.loads((REFERENCE / "expected_omes.json").read_text())


@pytest.fixture
def small(tmp_path):
    """A constructed representation: one dim per FoV plus an inactive dim."""
    import itertools

    f = np.array(list(itertools.product(range(4), range(5), range(3))), dtype=np.int64)
    f = np.r_[f, f]
    z = np.c_[f + 0.05 * np.random.default_rng(0).normal(size=f.shape), np.zeros(len(f))].astype(np.float32)
    return save_representation(Representation(z, z + 0.1, f, ("a", "b", "c")), tmp_path / "rep")


# -- omes -----------------------------------------------------------------------------------------
def test_omes_json_on_the_reference_example(capsys, expected):
    code, out, _ = run_cli(capsys, "omes", REFERENCE, "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("omes", "alpha", "pooling", "factors", "per_factor", "inactive_dims", "matrix"):
        assert key in data
    assert data["factors"] == expected["factors"] and data["pooling"] == "avg" and data["alpha"] == 0.5
    stat = expected["omes"]["avg"]["0.5"]
    assert abs(data["omes"] - stat["mean"]) <= 3 * stat["std"] and data["omes"] == round(data["omes"], 4)
    assert data["inactive_dims"] == [] and len(data["matrix"]) == 10 and len(data["matrix"][0]) == 6
    for name, dim in expected["factor_to_dim"].items():
        entry = data["per_factor"][name]
        assert set(entry) == {"omes", "os", "mes", "dim", "measurable", "reason"}
        assert entry["dim"] == dim and entry["measurable"] and entry["reason"] is None


def test_omes_options(capsys, expected):
    code, out, _ = run_cli(capsys, "omes", REFERENCE, "--json", "--pooling", "max", "--alpha", "1", "--seed", "3")
    data = json.loads(out)
    stat = expected["omes"]["max"]["1.0"]
    assert code == 0 and abs(data["omes"] - stat["mean"]) <= 3 * stat["std"]
    assert all(abs(v["omes"] - v["os"]) < 1e-12 for v in data["per_factor"].values())  # alpha 1 = OS
    code, out, _ = run_cli(capsys, "omes", REFERENCE, "--json", "--key", "sampled")
    assert code == 0 and json.loads(out)["key"] == "sampled"
    code, out, _ = run_cli(capsys, "omes", REFERENCE, "--json", "--estimator", "expected")
    stat = expected["omes"]["avg"]["0.5"]
    assert abs(json.loads(out)["omes"] - stat["mean"]) <= 3 * stat["std"]


def test_omes_table_and_inactive_dims(capsys, small):
    code, out, _ = run_cli(capsys, "omes", small)
    assert code == 0
    assert "OMES" in out and "inactive dims (std < 0.05): 3" in out and "(inactive)" in out
    for name in ("a", "b", "c"):
        assert f"\n{name} " in out
    code, out, _ = run_cli(capsys, "omes", small, "--json")
    data = json.loads(out)
    assert data["inactive_dims"] == [3] and data["matrix"][3] is None
    assert [data["per_factor"][n]["dim"] for n in "abc"] == [0, 1, 2]


def test_omes_entry_point_as_a_subprocess(small):
    """The real ``python -m drviz`` (what a user types): JSON on stdout, exit 0."""
    proc = subprocess.run([sys.executable, "-m", "drviz", "omes", str(small), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["factors"] == ["a", "b", "c"]


@pytest.mark.parametrize("command", ["omes", "dci", "mig"])
@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "nowhere", "is not a folder"),
        (lambda p: write_reference_folder(p, "a,b\n0,1\n"), "missing representations.npz"),
        (lambda p: write_reference_folder(p, None, mean=np.zeros((1, 2))), "missing classes.csv"),
        (lambda p: write_reference_folder(p, "a,b\n0,1\n", sampled=np.zeros((1, 2))), "no 'mean' array"),
        (lambda p: write_reference_folder(p, "a,b\n0,1\n", mean=np.zeros((2, 2))), "has 1 rows but representations.npz has 2"),
        (lambda p: write_reference_folder(p, "a,b\n0,cat\n", mean=np.zeros((1, 2))), "is not numeric"),
        (lambda p: write_reference_folder(p, "a,b\n0,1\n", mean=np.zeros(2)), "2-D array"),
    ],
)
def test_bad_input_one_line_error_exit_2(capsys, tmp_path, command, setup, message):
    code, out, err = run_cli(capsys, command, setup(tmp_path))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_bad_options(capsys, small):
    for argv, name in ((["--alpha", "1.5"], "--alpha"), (["--key", "sampled", "--repeats", "0"], "--repeats")):
        with pytest.raises(SystemExit) as done:  # out of range: argparse's one-line usage error
            main(["omes", str(small), *argv])
        assert done.value.code == 2 and f"argument {name}" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse rejects an unknown pooling itself
        main(["omes", str(small), "--pooling", "median"])


# -- dci / mig ------------------------------------------------------------------------------------
def test_dci_json_records_its_split(capsys, small):
    code, out, _ = run_cli(capsys, "dci", small, "--json", "--n-jobs", "1")
    assert code == 0
    data = json.loads(out)
    for key in ("disentanglement", "completeness", "informativeness_train", "informativeness_test", "importance_matrix"):
        assert key in data
    assert (data["n_train"], data["n_test"]) == (80, 40)
    assert data["split"] == {"mode": "shuffled", "seed": 0, "train_fraction": 2 / 3, "n_train": 80, "n_test": 40}
    assert data["informativeness_test"] > 0.9 and data["disentanglement"] > 0.8
    assert np.asarray(data["importance_matrix"]).shape == (4, 3)
    code, out, _ = run_cli(capsys, "dci", small, "--split", "head", "--seed", "3", "--n-jobs", "1")
    assert code == 0 and "disentanglement" in out and "split head (first two thirds train)" in out
    with pytest.raises(SystemExit):  # --split replaced --shuffle
        main(["dci", str(small), "--shuffle"])


def test_mig_json(capsys, expected):
    code, out, _ = run_cli(capsys, "mig", REFERENCE, "--json")
    assert code == 0
    data = json.loads(out)
    assert 0 < data["mig"] < 1 and list(data["per_factor"]) == expected["factors"]
    assert np.asarray(data["mi_matrix"]).shape == (10, 6)
    code, out, _ = run_cli(capsys, "mig", REFERENCE)
    assert code == 0 and "MIG" in out


# -- encode / evaluate a run ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch = pytest.importorskip("torch")
    try:
        from drviz.checkpoints import atomic_torch_save, write_config
        from drviz.config import RunConfig
        from drviz.models import VAE, ModelSpec
    except ImportError as exc:  # pragma: no cover - the run modules are written in parallel
        pytest.skip(f"run checkpoints not available yet: {exc}")
    path = tmp_path_factory.mktemp("runs") / "tiny"
    path.mkdir()
    torch.manual_seed(0)
    spec = ModelSpec(channels=3, latent_dim=4)
    write_config(path, RunConfig(dataset="shapes3d", latent_dim=4, steps=1), spec, ["untrained, for tests"], "fp32")
    atomic_torch_save(VAE(spec).state_dict(), path / "model.pt")
    return path


@pytest.mark.slow
def test_encode_writes_the_reference_format(capsys, tmp_path, tiny_run):
    from drviz.representations import load_representation

    code, out, _ = run_cli(capsys, "encode", tiny_run, "--dataset", "shapes3d", "--n", 120, "--out", tmp_path / "enc")
    assert code == 0 and "anchors" in out and "wrote" in out
    rep = load_representation(tmp_path / "enc")
    assert rep.mean.shape == (120, 4) and rep.factor_names[0] == "floor_hue"
    code, out, _ = run_cli(capsys, "omes", tmp_path / "enc", "--json")
    assert code == 0 and json.loads(out)["factors"][0] == "floor_hue"
    code, _, err = run_cli(capsys, "encode", tiny_run, "--dataset", "nope", "--n", 10, "--out", tmp_path / "x")
    assert code == 2 and err.startswith("error: unknown dataset")


@pytest.mark.slow
def test_evaluate_writes_metrics_json(capsys, tiny_run):
    code, out, _ = run_cli(capsys, "evaluate", tiny_run, "--n", 150, "--n-train", 40, "--n-test", 20, "--n-jobs", 1)
    assert code == 0
    assert "avg pooling" in out and "max pooling" in out and "DCI" in out and "MIG" in out and "GBT" in out
    data = json.loads((tiny_run / "metrics.json").read_text())
    assert data["dataset"] == "shapes3d" and data["n"] == 150
    assert set(data["omes"]) >= {"omes", "avg", "max", "matrix", "inactive_dims"}
    assert set(data) >= {"dci", "mig", "downstream", "timings", "sampling"}
    assert set(data["downstream"]["per_factor"]["floor_hue"]) == {"dim", "gbt_full", "gbt_pruned", "mlp_full", "mlp_pruned"}
    code, _, err = run_cli(capsys, "evaluate", tiny_run, "--dataset", "lfw_faces", "--n", 50)
    assert code == 2 and "no factor labels" in err
    # Scored on another dataset (a source on a transfer target): beside, never over, its own scores.
    code, out, _ = run_cli(capsys, "evaluate", tiny_run, "--dataset", "real_objects", "--n", 120, "--n-train", 40,
                           "--n-test", 20, "--n-jobs", 1)
    assert code == 0 and f"wrote {tiny_run / 'metrics-real_objects.json'}" in out
    assert json.loads((tiny_run / "metrics-real_objects.json").read_text())["dataset"] == "real_objects"
    assert json.loads((tiny_run / "metrics.json").read_text())["dataset"] == "shapes3d"


@pytest.mark.slow
def test_evaluate_function_progress_and_json(tiny_run):
    from drviz.checkpoints import load_run
    from drviz.evaluation import evaluate

    run = load_run(tiny_run, device="cpu")
    seen = []
    res = evaluate(run.model, "shapes3d", n=120, seed=1, n_train=30, n_test=20, classifiers=("gbt",),
                   on_progress=lambda stage, frac: seen.append((stage, frac)))
    fracs = [f for _, f in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and seen[0][0] == "encoding"
    assert res.representation.mean.shape == (120, 4)
    assert res.omes.omes(0.5, "max").pooling == "max"  # both poolings, any alpha, from one matrix
    data = json.loads(json.dumps(res.to_json(), allow_nan=False))
    assert data["omes"]["omes"] == data["omes"]["avg"]["omes"]
    got = [data["downstream"]["per_factor"][n]["gbt_full"] for n in data["omes"]["factors"]]
    want = [data["dci"]["per_factor"][n]["accuracy_test"] for n in data["omes"]["factors"]]
    assert got == want  # GBT-full reuses DCI's classifier
    assert data["split"] == data["dci"]["split"] == data["downstream"]["split"]  # one split, recorded
    assert data["split"]["mode"] == "shuffled" and data["split"]["seed"] == 1 and data["split"]["n_train"] == 30
    assert all(v["mlp_full"] is None for v in data["downstream"]["per_factor"].values())


# -- degenerate dims (issue 12, section 1) ------------------------------------------------------------
def issue_folder(folder: Path, dead: float) -> Path:
    """The issue's folder: FoVs of sizes 4, 5, 6 drawn uniformly (400 rows), mean = the FoVs plus
    small noise in dims 0-2 and dim 3 = ``dead`` (stored as float32, as drviz and the reference do)."""
    rng = np.random.default_rng(0)
    f = np.stack([rng.integers(0, s, 400) for s in (4, 5, 6)], axis=1)
    z = np.c_[f + 0.05 * rng.normal(size=f.shape), np.full(400, dead)].astype(np.float32)
    return save_representation(Representation(z, None, f, ("a", "b", "c")), folder)


def test_mig_of_a_folder_with_a_constant_1e16_dim(capsys, tmp_path):
    from sklearn.metrics import mutual_info_score

    big, zero = issue_folder(tmp_path / "big", 1e16), issue_folder(tmp_path / "zero", 0.0)
    code, out, err = run_cli(capsys, "mig", big, "--json")  # was a "Too many bins" traceback
    assert code == 0 and err == ""
    data = json.loads(out)
    code, out, _ = run_cli(capsys, "mig", zero, "--json")
    assert data["mig"] == pytest.approx(json.loads(out)["mig"], abs=1e-12)
    # independently: numpy's bins for dims 0-2, dim 3 one bin, sklearn's mutual information
    with np.load(big / "representations.npz") as npz:
        z = npz["mean"].astype(np.float64)
    f = np.loadtxt(big / "classes.csv", delimiter=",", skiprows=1, dtype=np.int64)
    codes = [np.digitize(z[:, d], np.histogram(z[:, d], 20)[1][:-1]) for d in range(3)] + [np.zeros(len(z))]
    mi = np.array([[mutual_info_score(c, f[:, j]) for j in range(3)] for c in codes])
    h = np.array([mutual_info_score(f[:, j], f[:, j]) for j in range(3)])
    top = np.sort(mi, axis=0)[::-1]
    assert data["mig"] == pytest.approx(float(np.mean((top[0] - top[1]) / h)), abs=1e-12)
    assert data["mi_matrix"][3] == [0.0, 0.0, 0.0]


def test_degenerate_folder_scores_and_never_prints_negative_zero(capsys, tmp_path):
    """A constant 1e16 dim and a single-valued FoV (entropy 0): every command runs, and nothing
    prints as -0.0000."""
    rng = np.random.default_rng(0)
    f = np.c_[np.stack([rng.integers(0, s, 300) for s in (4, 5)], axis=1), np.zeros(300, np.int64)]
    z = np.c_[f[:, :2] + 0.05 * rng.normal(size=(300, 2)), np.full(300, 1e16)].astype(np.float32)
    folder = save_representation(Representation(z, None, f, ("a", "b", "const")), tmp_path / "rep")
    for command in ("omes", "dci", "mig"):
        code, out, err = run_cli(capsys, command, folder, *(["--n-jobs", "1"] if command == "dci" else []))
        assert code == 0 and err == "" and "-0.0000" not in out
    assert "const" in out and "   0.0000  not measurable" in out  # MIG's table: H = 0.0000


# -- a closed pipe (issue 12, section 4) -------------------------------------------------------------
@pytest.mark.parametrize(("argv", "status"), [(["mig", "{folder}"], 141), (["omes", "{folder}", "--json"], 141),
                                             (["--help"], 0)])  # argparse swallows the error itself
def test_closed_pipe_ends_quietly(tmp_path, argv, status):
    """``python -m drviz ... | head``: the reader is gone before drviz writes; drviz ends as Unix
    tools do (status 141, as for SIGPIPE), with nothing on stderr; it used to print a
    BrokenPipeError traceback."""
    import os

    folder = issue_folder(tmp_path / "rep", 0.0)
    read, write = os.pipe()
    os.close(read)  # the reader has gone: every write to the pipe fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "drviz", *(a.format(folder=folder) for a in argv)], cwd=ROOT,
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.stderr == "" and proc.returncode == status


def test_head_of_the_output(tmp_path):
    """The same through a shell pipe into ``head -n 1``, as a user types it."""
    folder = issue_folder(tmp_path / "rep", 0.0)
    proc = subprocess.run(f"{sys.executable} -m drviz omes {folder} | head -n 1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith(str(folder)) and proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr


# -- classes.csv as pandas writes it (issue 12, section 2) ---------------------------------------------
@pytest.fixture
def pandas_pair(tmp_path):
    """The same representation twice: classes.csv written by df.to_csv(index=False), and by
    df.to_csv() (pandas' default, with its index column)."""
    import shutil

    import pandas as pd

    clean = issue_folder(tmp_path / "clean", 0.0)
    indexed = tmp_path / "indexed"
    shutil.copytree(clean, indexed)
    pd.read_csv(clean / "classes.csv").to_csv(indexed / "classes.csv")
    return clean, indexed


@pytest.mark.parametrize("command", ["omes", "mig", "dci"])
def test_pandas_index_column_scores_as_the_table_without_it(capsys, pandas_pair, command):
    """It used to be a FoV 'Unnamed: 0': OMES found no measurable FoV, MIG averaged it in, DCI
    fitted one class per row."""
    clean, indexed = pandas_pair
    extra = ["--n-jobs", "1"] if command == "dci" else []
    code, out, err = run_cli(capsys, command, clean, "--json", *extra)
    assert code == 0 and err == ""
    want = json.loads(out)
    code, out, err = run_cli(capsys, command, indexed, "--json", *extra)
    assert code == 0 and json.loads(out) == want
    assert err == ("note: classes.csv: dropped column 1 (no header, pandas' 'Unnamed: 0'): it holds the row numbers "
                   "0..399, a row index (as df.to_csv() writes one), not a factor\n")


# -- rows sorted by a FoV (issue 12, section 3) ----------------------------------------------------------
@pytest.fixture
def sorted_folder(tmp_path):
    """Two copies of the (4, 5, 3) grid sorted by FoV a, each FoV perfectly encoded in one dim."""
    import itertools

    f = np.array(list(itertools.product(range(4), range(5), range(3))) * 2, dtype=np.int64)
    f = f[np.argsort(f[:, 0], kind="stable")]
    z = (f + 0.05 * np.random.default_rng(0).normal(size=f.shape)).astype(np.float32)
    return save_representation(Representation(z, None, f, ("a", "b", "c")), tmp_path / "sorted"), z, f


def test_dci_split_head_is_the_reference_and_shuffled_the_default(capsys, sorted_folder):
    from sklearn.ensemble import GradientBoostingClassifier

    folder, z, f = sorted_folder
    code, out, _ = run_cli(capsys, "dci", folder, "--json", "--n-jobs", "1", "--split", "head")
    head = json.loads(out)
    z = z.astype(np.float64)
    for k, name in enumerate("abc"):
        model = GradientBoostingClassifier(random_state=0).fit(z[:80], f[:80, k])
        assert head["per_factor"][name]["accuracy_test"] == np.mean(model.predict(z[80:]) == f[80:, k])
        assert [row[k] for row in head["importance_matrix"]] == np.abs(model.feature_importances_).tolist()
    assert head["per_factor"]["a"]["accuracy_test"] == 0.25 and head["split"]["mode"] == "head"
    assert len(head["notes"]) == 1 and "a = 3 (30 test rows)" in head["notes"][0]
    code, out, _ = run_cli(capsys, "dci", folder, "--json", "--n-jobs", "1")  # default: shuffled, seed 0
    data = json.loads(out)
    assert [v["accuracy_test"] for v in data["per_factor"].values()] == [1.0, 1.0, 1.0]
    assert data["notes"] == [] and data["split"]["mode"] == "shuffled" and data["split"]["seed"] == 0
    code, out, _ = run_cli(capsys, "dci", folder, "--n-jobs", "1", "--split", "head")
    assert code == 0 and "note: test classes never seen in training, so always misclassified: a = 3" in out
