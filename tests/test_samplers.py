"""Samplers: intervention pairs, weak pairs and batches, on full grids and stored (sparse) rows."""

import numpy as np
import pytest

from drviz.data import get_dataset
from drviz.data.files import StoredDataset
from drviz.data.samplers import batch_rng, batches, intervention_pairs, make_batch, weak_pairs
from drviz.errors import DrvizError


def sparse_table() -> StoredDataset:
    """A 3 x 4 x 2 grid with holes: 14 of 24 combinations stored, plus one duplicate row."""
    grid = np.stack(np.meshgrid(np.arange(3), np.arange(4), np.arange(2), indexing="ij"), -1).reshape(-1, 3)
    keep = np.random.default_rng(0).permutation(len(grid))[:14]
    labels = np.concatenate([grid[np.sort(keep)], grid[np.sort(keep)][:1]])
    images = np.zeros((len(labels), 1, 64, 64), np.uint8)
    images[:, 0, 0, :3] = labels * 60  # the labels written into the pixels
    images[-1, 0, 1, 0] = 255  # the duplicate differs elsewhere
    return StoredDataset("sparse", images, labels, ("a", "b", "c"), (3, 4, 2))


def test_intervention_pairs_differ_in_exactly_the_named_fov():
    ds = get_dataset("dsprites")
    a, b = intervention_pairs(ds, "orientation", 500, np.random.default_rng(0))
    assert a.shape == b.shape == (500, 5)
    assert np.all(a[:, 2] != b[:, 2])
    assert np.array_equal(np.delete(a, 2, 1), np.delete(b, 2, 1))
    a2, b2 = intervention_pairs(ds, 2, 500, np.random.default_rng(0))
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    with pytest.raises(DrvizError, match="unknown factor 'colour'"):
        intervention_pairs(ds, "colour", 5, np.random.default_rng(0))


def test_redraw_is_uniform_over_the_other_values():
    ds = get_dataset("dsprites")
    base = np.zeros((6000, 5), np.int64)
    new = ds.redraw(base, 0, np.random.default_rng(1))
    counts = np.bincount(new[:, 0], minlength=3)
    assert counts[0] == 0 and abs(counts[1] - 3000) < 250 and abs(counts[2] - 3000) < 250


@pytest.mark.parametrize("k", [1, 2, 3])
def test_weak_pairs_change_k_factors(k):
    ds = get_dataset("shapes3d")
    wp = weak_pairs(ds, 400, np.random.default_rng(2), k=k)
    assert wp.a.shape == wp.b.shape == (400, 6) and wp.mask.shape == (400, 6)
    assert np.all(wp.mask.sum(axis=1) == k)
    assert np.array_equal(wp.mask, wp.a != wp.b)
    assert np.all(wp.mask[np.arange(400), wp.changed])
    if k == 1:
        assert np.array_equal(wp.mask, np.eye(6, dtype=bool)[wp.changed])
        assert set(np.unique(wp.changed)) == set(range(6))  # every factor gets chosen
    again = weak_pairs(ds, 400, np.random.default_rng(2), k=k)
    assert np.array_equal(again.b, wp.b) and np.array_equal(again.changed, wp.changed)


def test_weak_pairs_bad_k():
    with pytest.raises(DrvizError, match="k must be between 1 and 5"):
        weak_pairs(get_dataset("dsprites"), 4, np.random.default_rng(0), k=6)


def test_stored_rows_pairs_stay_on_stored_rows():
    ds = sparse_table()
    stored = {tuple(r) for r in ds.labels}
    rng = np.random.default_rng(3)
    for f in range(3):
        a, b = intervention_pairs(ds, f, 300, rng)
        assert len(a) > 0
        assert np.all(a[:, f] != b[:, f]) and np.array_equal(np.delete(a, f, 1), np.delete(b, f, 1))
        assert {tuple(r) for r in b} <= stored
    wp = weak_pairs(ds, 200, rng)
    assert len(wp.a) == 200 and np.all(wp.mask.sum(axis=1) == 1)
    assert {tuple(r) for r in wp.b} <= stored
    # Rendering looks the rows up: the first pixels hold the labels.
    img = ds.render(wp.b)
    assert np.array_equal(np.round(img[:, 0, 0, :3] * 255 / 60).astype(int), wp.b)


def test_stored_rows_redraw_keeps_lonely_rows_and_values_along():
    ds = sparse_table()
    rng = np.random.default_rng(4)
    for f in range(3):
        new = ds.redraw(ds.labels, f, rng)
        for row, moved in zip(ds.labels, new):
            partners = [r for r in ds.labels if np.array_equal(np.delete(r, f), np.delete(row, f)) and r[f] != row[f]]
            if partners:
                assert moved[f] != row[f] and any(np.array_equal(moved, p) for p in partners)
            else:
                assert np.array_equal(moved, row)
            along = ds.factor_values_along(row, f)
            assert sorted({int(p[f]) for p in partners} | {int(row[f])}) == along.tolist()


def test_stored_rows_missing_combination_and_duplicates():
    ds = sparse_table()
    grid = np.stack(np.meshgrid(np.arange(3), np.arange(4), np.arange(2), indexing="ij"), -1).reshape(-1, 3)
    absent = [r for r in grid if not any(np.array_equal(r, s) for s in ds.labels)][0]
    with pytest.raises(DrvizError, match=r"no stored image has a=\d, b=\d, c=\d"):
        ds.render(absent[None])
    assert ds.has_duplicates
    dup = np.repeat(ds.labels[-1:], 64, axis=0)
    assert ds.render(dup)[:, 0, 1, 0].max() == 0  # no rng: the first stored row
    picks = ds.render(dup, np.random.default_rng(0))[:, 0, 1, 0]
    assert set(np.unique(picks)) == {0.0, 1.0}


def test_batches_are_deterministic_and_shaped():
    ds = get_dataset("dsprites")
    it = batches(ds, 16, 5)
    first = [next(it)[0] for _ in range(3)]
    it.close()
    assert first[0].shape == (16, 1, 64, 64) and first[0].dtype == np.float32
    for step in range(3):  # batch s is a pure function of (seed, s), whatever the prefetching
        assert np.array_equal(first[step], make_batch(ds, 16, batch_rng(5, step))[0])
    resumed = batches(ds, 16, 5, start=2)
    assert np.array_equal(next(resumed)[0], first[2])
    resumed.close()
    pairs = batches(ds, 8, 5, pairs=True)
    xa, xb, changed = next(pairs)
    pairs.close()
    assert xa.shape == xb.shape == (8, 1, 64, 64) and changed.shape == (8,)
    assert np.all(np.abs(xa - xb).reshape(8, -1).max(axis=1) > 0)
