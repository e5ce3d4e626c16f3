"""BetaVAE and FactorVAE scores: through a hand-built encoder on a procedural dataset (the answer is
known: an identity-like encoder scores 1, a rotated one less), on fixed tables (rows sharing a
FoV's value), the vote arithmetic, seeds, row order and degenerate input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from drviz.data.base import IMAGE_SIZE, GroundTruthDataset
from drviz.errors import DrvizError
from drviz.evaluation import intervention_scores, intervention_source
from drviz.metrics.betavae import betavae_from_table, betavae_score
from drviz.metrics.factorvae import factorvae_from_table, factorvae_score, majority_accuracy, votes_of


class Blocks(GroundTruthDataset):
    """A 12x12 square at one of 8 x 8 positions, in one of 4 grey levels: three independent FoVs."""

    name = "toy_blocks"
    factor_names = ("posX", "posY", "brightness")
    factor_sizes = (8, 8, 4)
    image_shape = (1, IMAGE_SIZE, IMAGE_SIZE)

    def render(self, factors, rng=None):
        f = self.check_factors(factors)
        yy, xx = np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE]
        x0, y0 = (f[:, 0] * 7 + 2)[:, None, None], (f[:, 1] * 7 + 2)[:, None, None]
        inside = (xx >= x0) & (xx < x0 + 12) & (yy >= y0) & (yy < y0 + 12)
        return (inside * (0.25 + 0.25 * f[:, 2])[:, None, None]).astype(np.float32)[:, None]


class MomentEncoder(torch.nn.Module):
    """Hand-built encoder: the square's centre (x, y) and grey level, times ``mix``, plus a dead dim."""

    def __init__(self, mix=None):
        super().__init__()
        self.mix = torch.as_tensor(np.eye(3) if mix is None else mix, dtype=torch.float32)
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # encode_factors asks the model for its device

    def encode(self, x):
        img = x[:, 0]
        mass = img.sum(dim=(1, 2))
        grid = torch.arange(IMAGE_SIZE, dtype=torch.float32)
        cx = (img.sum(dim=1) * grid).sum(dim=1) / mass / 7
        cy = (img.sum(dim=2) * grid).sum(dim=1) / mass / 7
        level = img.amax(dim=(1, 2)) * 4
        mu = torch.stack([cx, cy, level], dim=1) @ self.mix.T
        mu = torch.cat([mu, torch.zeros(len(mu), 1)], dim=1)
        return mu, torch.zeros_like(mu)


ROT45 = np.array([[1, 1, 0], [1, -1, 0], [0, 0, np.sqrt(2)]]) / np.sqrt(2)  # mixes posX and posY


@pytest.fixture(scope="module")
def ds():
    return Blocks()


def test_identity_like_encoder_scores_one_with_fresh_images(ds):
    src = intervention_source(MomentEncoder(), ds, paper_settings=True)
    assert src.kind == "generated"
    b = betavae_score(src, n_train=200, n_eval=100, seed=0)
    f = factorvae_score(src, n_train=200, n_eval=100, n_variance=1000, seed=0)
    assert b.score == 1.0 and f.score == 1.0
    assert f.active_dims == (0, 1, 2)  # the dead dim is pruned (std < 0.05)
    assert src.n_images == 300 * 64 * 2 + 300 * 64 + 1000  # every point encoded fresh images
    assert f.eval_votes[:, 3].sum() == 0 and (np.diag(f.eval_votes[:, :3]) == f.eval_votes[:, :3].sum(axis=1)).all()


def test_rotated_encoder_scores_lower(ds):
    src = intervention_source(MomentEncoder(ROT45), ds, paper_settings=True)
    b = betavae_score(src, n_train=300, n_eval=300, seed=0)
    f = factorvae_score(src, n_train=300, n_eval=300, n_variance=1000, seed=0)
    # holding posX or posY fixed shrinks both mixed dims alike: the two cannot be told apart
    assert b.score < 0.85 and f.score < 0.85
    assert b.score > 0.5 and f.score > 0.5  # brightness still can


def test_default_pool_matches_the_fresh_image_protocol(ds):
    res = intervention_scores(MomentEncoder(), ds, pool=1500, seed=1)
    assert res["betavae"].score == 1.0 and res["factorvae"].score == 1.0
    assert res["betavae"].source == "table" and res["betavae"].n_images == 1500
    assert res["betavae"].n_train == 10_000 and res["betavae"].n_eval == 5_000  # the published point counts
    assert "pool of 1,500 i.i.d. images" in res["factorvae"].notes[-1]
    rot = intervention_scores(MomentEncoder(ROT45), ds, pool=1500, seed=1)
    assert rot["betavae"].score < 0.85 and rot["factorvae"].score < 0.85


def test_votes_and_majority_vote():
    batches = np.array([[[0.0, 1.0], [0.0, -1.0]], [[1.0, 0.0], [-1.0, 0.0]], [[2.0, 0.0], [-2.0, 0.0]]])
    votes = votes_of(batches, np.array([0, 1, 1]), np.array([1.0, 1.0]), np.array([True, True]), 2)
    np.testing.assert_array_equal(votes, [[1, 0], [0, 2]])  # FoV 0 fixed: dim 0 still; FoV 1: dim 1
    assert majority_accuracy(votes, votes) == 1.0
    assert majority_accuracy(votes, np.array([[1, 1], [1, 1]])) == 0.5
    # an inactive dim is never voted for, even when it has the smallest variance
    v = votes_of(batches, np.array([0, 1, 1]), np.array([1.0, 1.0]), np.array([False, True]), 2)
    assert v[:, 0].sum() == 0


@pytest.fixture(scope="module")
def table():
    f = np.tile(np.array(list(itertools.product(range(5), range(4), range(3)))), (30, 1))
    rng = np.random.default_rng(0)
    return f + 0.05 * rng.normal(size=f.shape), f


def test_tables_seeds_and_row_order(table):
    z, f = table
    b, fv = betavae_from_table(z, f, seed=2, n_train=500, n_eval=300), factorvae_from_table(z, f, seed=2, n_train=500, n_eval=300)
    assert b.score == 1.0 and fv.score == 1.0
    perm = np.random.default_rng(3).permutation(len(f))
    assert betavae_from_table(z[perm], f[perm], seed=2, n_train=500, n_eval=300).to_json() == b.to_json()
    assert factorvae_from_table(z[perm], f[perm], seed=2, n_train=500, n_eval=300).to_json() == fv.to_json()
    rng = np.random.default_rng(1)
    noise = rng.normal(size=z.shape)
    r1 = betavae_from_table(noise, f, seed=5, n_train=500, n_eval=300)
    assert r1.to_json() == betavae_from_table(noise, f, seed=5, n_train=500, n_eval=300).to_json()
    assert r1.score < 0.6  # chance is 1/3
    assert factorvae_from_table(noise, f, seed=5, n_train=500, n_eval=300).score < 0.6


def test_degenerate_tables(table):
    z, f = table
    one = np.c_[f, np.zeros(len(f), np.int64)]  # a single-valued FoV: never fixed, reported
    res = betavae_from_table(z, one, n_train=300, n_eval=100)
    assert res.measurable == (True, True, True, False) and "single value" in res.reasons[3] and res.score == 1.0
    few = f[:40]  # 40 rows: no value has the 64 rows a FactorVAE batch needs
    with pytest.raises(DrvizError, match="no FoV can be held fixed .*64 rows") as err:
        factorvae_from_table(z[:40], few)
    assert "\n" not in str(err.value)
    # value 4 of the first FoV keeps 20 rows: FactorVAE's points fix its other values only, and say so
    keep = (f[:, 0] != 4) | (np.cumsum(f[:, 0] == 4) <= 20)
    part = factorvae_from_table(z[keep], f[keep], n_train=200, n_eval=100)
    assert part.score == 1.0 and any("only 4 of its 5 values have the 64 rows" in n for n in part.notes)
    dead = factorvae_from_table(np.zeros_like(z), f, n_train=50, n_eval=50)  # constant dims: no information
    assert dead.score == 0.0 and dead.active_dims == () and "no active dim" in dead.notes[-1]
    with pytest.raises(DrvizError, match="at least 2 FoVs"):
        betavae_from_table(z, np.c_[f[:, :1], np.zeros((len(f), 2), np.int64)])
    with pytest.raises(DrvizError, match="need"):
        betavae_from_table(z, f[:10])
