"""Representations: the reference folder format (round trip, every bad input), line sampling,
and encoding with a tiny untrained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_reference_folder as write
from drviz.errors import DrvizError
from drviz.representations import (
    Representation,
    line_sampled_factors,
    load_representation,
    read_representation_bytes,
    save_representation,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference_example"


def make_rep(n=12, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return Representation(rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=(n, d)).astype(np.float32),
                          rng.integers(0, 4, size=(n, k)), ("a", "b"))


def test_round_trip(tmp_path):
    rep = make_rep()
    save_representation(rep, tmp_path / "out")
    back = load_representation(tmp_path / "out")
    np.testing.assert_array_equal(back.mean, rep.mean)
    np.testing.assert_array_equal(back.sampled, rep.sampled)
    np.testing.assert_array_equal(back.factors, rep.factors)
    assert back.factor_names == ("a", "b") and back.factors.dtype == np.int64
    assert not list((tmp_path / "out").glob("*.tmp"))  # temp files renamed away


def test_reference_example_loads():
    if not REFERENCE.is_dir():
        pytest.skip("shared/reference_example not found beside the repository")
    rep = load_representation(REFERENCE)
    assert rep.mean.shape == (15008, 10) and rep.sampled.shape == (15008, 10)
    assert rep.factor_names == ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    assert rep.factors.dtype == np.int64 and rep.factors[0].tolist() == [9, 9, 6, 2, 0, 1]


def test_sampled_is_optional(tmp_path):
    rep = load_representation(write(tmp_path, mean=np.zeros((2, 3))))
    assert rep.sampled is None
    assert rep.z("mean").shape == (2, 3)
    with pytest.raises(DrvizError, match="no 'sampled'"):
        rep.z("sampled")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "missing", "is not a folder"),
        (lambda p: write(p, csv="a,b\n0,1\n"), "missing representations.npz"),
        (lambda p: write(p, csv=None, mean=np.zeros((2, 3))), "missing classes.csv"),
        (lambda p: write(p, sampled=np.zeros((2, 3))), "no 'mean' array"),
        (lambda p: write(p, mean=np.zeros((3, 3))), "has 2 rows but representations.npz has 3"),
        (lambda p: write(p, csv="a,b\n0,x\n1,2\n", mean=np.zeros((2, 3))), "column 'b' is not numeric"),
        (lambda p: write(p, csv="a,b\n0,1.5\n1,2\n", mean=np.zeros((2, 3))), "not an integer"),
        (lambda p: write(p, csv="a,b\n0,\n1,2\n", mean=np.zeros((2, 3))), "missing label in column 'b' on line 2"),
        (lambda p: write(p, csv="", mean=np.zeros((2, 3))), "cannot read classes.csv"),
        (lambda p: write(p, mean=np.zeros(2)), "must be a 2-D array"),
        (lambda p: write(p, mean=np.zeros((2, 3, 1))), "must be a 2-D array"),
        (lambda p: write(p, mean=np.zeros((2, 0))), "has no dims"),
        (lambda p: write(p, mean=np.array([["a", "b"], ["c", "d"]])), "real numbers"),
        (lambda p: write(p, mean=np.zeros((2, 3)), sampled=np.zeros((2, 4))), "'sampled' has shape"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, setup, message):
    with pytest.raises(DrvizError, match=message) as err:
        load_representation(setup(tmp_path))
    assert "\n" not in str(err.value)


def test_corrupt_npz(tmp_path):
    write(tmp_path)
    (tmp_path / "representations.npz").write_bytes(b"not a zip")
    with pytest.raises(DrvizError, match="cannot read representations.npz"):
        load_representation(tmp_path)


def test_n_values_counts_distinct_labels_per_fov():
    factors = np.array([[0, 5], [1, 5], [2, 5], [0, 7]])
    assert Representation(np.zeros((4, 2)), None, factors, ("a", "b")).n_values == (3, 2)


def test_read_representation_bytes_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, (50, 2))
    rep = Representation(rng.normal(size=(50, 3)).astype(np.float32), None, factors, ("a", "b"))
    folder = save_representation(rep, tmp_path / "rep")
    npz, csv = (folder / "representations.npz").read_bytes(), (folder / "classes.csv").read_bytes()
    back = read_representation_bytes(npz, csv)
    assert np.array_equal(back.factors, factors) and back.factor_names == ("a", "b")
    with pytest.raises(DrvizError, match="rows"):
        read_representation_bytes(npz, b"a,b\n0,1\n")
    with pytest.raises(DrvizError):
        read_representation_bytes(b"junk", csv)
    with pytest.raises(DrvizError, match="upload both"):
        read_representation_bytes(npz, b"")


def test_representation_validates_shapes():
    with pytest.raises(DrvizError):
        Representation(np.zeros((3, 2)), None, np.zeros((2, 1), np.int64), ("a",))
    with pytest.raises(DrvizError):
        Representation(np.zeros((3, 2)), np.zeros((3, 3)), np.zeros((3, 1), np.int64), ("a",))
    with pytest.raises(DrvizError):
        Representation(np.zeros((3, 2)), None, np.zeros((3, 1), np.int64), ("a", "b"))


# -- line sampling -------------------------------------------------------------------------------
def test_line_sampling_gives_full_lines_and_many_pairs():
    from drviz.metrics.omes import table_pairs

    sizes = (10, 10, 10, 8, 4, 15)  # Shapes3D: 480,000 combinations
    rng = np.random.default_rng(0)
    f, how = line_sampled_factors(sizes, 5000, rng)
    assert f.shape == (5000, 6) and f.dtype == np.int64
    assert (f >= 0).all() and (f < np.array(sizes)).all()
    per_anchor = 1 + sum(s - 1 for s in sizes)
    assert f"{per_anchor} rows per anchor" in how and "anchors" in how
    pairs = [len(a) for a, _ in table_pairs(f, rng=0)]
    random = (rng.random((5000, 6)) * np.array(sizes)).astype(np.int64)
    plain = [len(a) for a, _ in table_pairs(random, rng=0)]
    for k, s in enumerate(sizes):
        assert pairs[k] >= 0.9 * (5000 // per_anchor) * s * (s // 2)  # a full line per anchor
        assert pairs[k] > 5 * max(plain[k], 1)
    # marginals are uniform in expectation (uniform anchors, full lines); check on many anchors
    f, _ = line_sampled_factors(sizes, 50_000, rng)
    for k, s in enumerate(sizes):
        counts = np.bincount(f[:, k], minlength=s)
        assert counts.min() > 0.6 * 50_000 / s


def test_line_sampling_edge_cases():
    rng = np.random.default_rng(0)
    f, _ = line_sampled_factors((3, 1, 4), 7, rng)  # single-valued FoV: no line along it
    assert f.shape == (7, 3) and (f[:, 1] == 0).all()
    f, _ = line_sampled_factors((5,), 3, rng)
    assert len(np.unique(f)) == 3
    with pytest.raises(DrvizError):
        line_sampled_factors((3, 0), 5, rng)
    with pytest.raises(DrvizError):
        line_sampled_factors((3, 4), 0, rng)
    a, _ = line_sampled_factors((6, 7), 50, np.random.default_rng(3))
    b, _ = line_sampled_factors((6, 7), 50, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


# -- encoding with a model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    torch = pytest.importorskip("torch")
    from drviz.data import get_dataset
    from drviz.models import VAE, ModelSpec

    torch.manual_seed(0)
    return VAE(ModelSpec(channels=1, latent_dim=4)).eval(), get_dataset("dsprites")


def test_encode_factors(tiny):
    from drviz.representations import encode_factors

    model, ds = tiny
    factors, how = line_sampled_factors(ds.factor_sizes, 40, np.random.default_rng(0))
    seen = []
    rep = encode_factors(model, ds, factors, batch_size=16, rng=np.random.default_rng(0),
                         on_progress=lambda done, total: seen.append((done, total)), description=how)
    assert rep.mean.shape == (40, 4) and rep.sampled.shape == (40, 4)
    assert seen == [(16, 40), (32, 40), (40, 40)]
    assert rep.factor_names == tuple(ds.factor_names) and rep.description == how
    assert not np.allclose(rep.mean, rep.sampled)
    again = encode_factors(model, ds, factors, batch_size=7, rng=np.random.default_rng(0))
    np.testing.assert_allclose(again.mean, rep.mean, atol=1e-5)  # batching does not change codes
    np.testing.assert_array_equal(again.sampled, encode_factors(model, ds, factors, batch_size=7,
                                                                rng=np.random.default_rng(0)).sampled)
    with pytest.raises(DrvizError):
        encode_factors(model, ds, factors[:, :2], rng=np.random.default_rng(0))


def test_encode_adapts_channels(tiny):
    import torch

    from drviz.data import get_dataset
    from drviz.models import VAE, ModelSpec
    from drviz.representations import encode_factors

    model, _ = tiny
    colour = get_dataset("color_dsprites")
    factors = colour.sample_factors(5, np.random.default_rng(0))
    rep = encode_factors(model, colour, factors, rng=np.random.default_rng(0))  # gray model, colour data
    assert rep.mean.shape == (5, 4)
    torch.manual_seed(0)
    rgb = VAE(ModelSpec(channels=3, latent_dim=4)).eval()
    gray = get_dataset("dsprites")
    rep = encode_factors(rgb, gray, gray.sample_factors(5, np.random.default_rng(0)), rng=np.random.default_rng(0))
    assert rep.mean.shape == (5, 4)


def test_encode_line_sampled_is_line_sampling_then_encoding(tiny):
    from drviz.representations import encode_factors, encode_line_sampled

    model, ds = tiny
    rep = encode_line_sampled(model, ds, 60, seed=4)
    rng = np.random.default_rng(4)
    factors, how = line_sampled_factors(ds.factor_sizes, 60, rng)
    ref = encode_factors(model, ds, factors, rng=rng, description=how)
    assert np.array_equal(rep.factors, factors) and rep.description == how
    np.testing.assert_array_equal(rep.mean, ref.mean)
    np.testing.assert_array_equal(rep.sampled, ref.sampled)


def test_encode_intervention_pairs(tiny):
    from drviz.metrics.omes import association_from_pairs
    from drviz.representations import encode_intervention_pairs

    model, ds = tiny
    pairs = encode_intervention_pairs(model, ds, 20, rng=np.random.default_rng(0))
    assert len(pairs) == len(ds.factor_names)
    assert all(a.shape == b.shape == (20, 4) for a, b in pairs)
    assoc = association_from_pairs(pairs, factor_names=ds.factor_names)
    assert assoc.matrix.shape == (4, 5)


# -- labels tables as pandas and numpy users write them (issue 12, section 2) ------------------------------
def labels_frame(n: int = 60):
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.integers(0, [3, 4], size=(n, 2)), columns=["a", "b"])


def index_then_saved_again(df, path):
    """Read a df.to_csv() file back and save it with index=False: the index is now a column
    literally named 'Unnamed: 0'."""
    import pandas as pd

    df.to_csv(path)
    pd.read_csv(path).to_csv(path, index=False)


PERM = np.random.default_rng(3).permutation(60)


@pytest.mark.parametrize(
    ("write", "rows", "notice"),
    [
        (lambda df, p: df.to_csv(p), np.arange(60),  # pandas' default: index=True
         "classes.csv: dropped column 1 (no header, pandas' 'Unnamed: 0'): it holds the row numbers 0..59"),
        (index_then_saved_again, np.arange(60),
         "classes.csv: dropped column 1 (header 'Unnamed: 0'): it holds the row numbers 0..59"),
        (lambda df, p: df.iloc[PERM].to_csv(p), PERM,  # rows reordered: the index is a permutation
         "classes.csv: dropped column 1 (no header, pandas' 'Unnamed: 0'): it holds a different value in every row"),
        (lambda df, p: p.write_text("a,b\n" + df.to_csv(header=False)), np.arange(60),  # no header cell at all
         "classes.csv: dropped column 1 (no header, pandas' 'Unnamed: 0'): it holds the row numbers 0..59"),
    ],
    ids=["to_csv", "saved-again", "reordered", "header-cell-missing"],
)
def test_pandas_index_column_is_dropped_with_a_notice(tmp_path, write, rows, notice):
    df = labels_frame()
    write(df, tmp_path / "classes.csv")
    np.savez(tmp_path / "representations.npz", mean=np.zeros((60, 3)))
    rep = load_representation(tmp_path)
    assert rep.factor_names == ("a", "b")
    np.testing.assert_array_equal(rep.factors, df.to_numpy()[rows])
    assert len(rep.notes) == 1 and rep.notes[0].startswith(notice) and "\n" not in rep.notes[0]


def test_numpy_and_pandas_tables_without_index(tmp_path):
    df = labels_frame()
    np.savez(tmp_path / "representations.npz", mean=np.zeros((60, 3)))
    np.savetxt(tmp_path / "classes.csv", df.to_numpy(), delimiter=",", header="a,b", comments="", fmt="%d")
    rep = load_representation(tmp_path)
    assert rep.factor_names == ("a", "b") and rep.notes == ()
    (tmp_path / "classes.csv").write_text(df.astype(float).to_csv(index=False))  # the reference's 9.0
    np.testing.assert_array_equal(load_representation(tmp_path).factors, df.to_numpy())
    (tmp_path / "classes.csv").write_text(labels_frame().set_axis(["0", "1"], axis=1).to_csv(index=False))
    assert load_representation(tmp_path).factor_names == ("0", "1")  # numeric-looking names stay names


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        # a named column with one value per row: an id, not a FoV
        ("id,a\n" + "".join(f"{i},{i % 3}\n" for i in range(10)),
         r"^classes.csv: column 'id' has a different value in every row \(10 rows\), so it is not a factor of variation"),
        (labels_frame(10).reset_index().to_csv(index=False), "column 'index' has a different value in every row"),
        # an unnamed column that is not an index
        (",a\n" + "".join(f"{i % 2},{i % 3}\n" for i in range(10)),
         r"column 1 has no header, pandas' 'Unnamed: 0' and is not a row index; give it the name of its FoV"),
        ("a,a\n0,1\n1,0\n", "two columns are named 'a'"),
        ("a,b\n0,1\n1,2,3\n", "line 3 has 3 fields, the header has 2"),
    ],
)
def test_columns_that_are_not_factors_are_one_line_errors(tmp_path, csv, message):
    with pytest.raises(DrvizError, match=message) as err:
        load_representation(write(tmp_path, csv=csv, mean=np.zeros((csv.count("\n") - 1, 2))))
    assert "\n" not in str(err.value)


def test_image_key_only_where_a_loader_declares_one(tmp_path):
    """Coil100-Augmented's classes.csv names the image in its first column; a table read without
    that declaration (classes.csv of a representation) refuses the column."""
    from drviz.data.labels import read_labels_table

    path = tmp_path / "classes.csv"
    path.write_text("image,object,pose\n" + "".join(f"obj{i % 4}__{5 * (i // 4)}.png,{i % 4},{i // 4}\n" for i in range(12)))
    table = read_labels_table(path, key=0)
    assert table.names == ("object", "pose") and table.keys[5] == "obj1__5.png" and table.notes == ()
    np.testing.assert_array_equal(table.values[:, 0], np.arange(12) % 4)
    assert read_labels_table(path.read_bytes(), name="upload.csv", key="image").names == ("object", "pose")
    with pytest.raises(DrvizError, match=r"column 'image' is not numeric \('obj0__0.png' on line 2\)"):
        read_labels_table(path)
    with pytest.raises(DrvizError, match="no 'file' column"):
        read_labels_table(path, key="file")
