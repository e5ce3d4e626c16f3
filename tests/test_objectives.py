"""The weak-supervision aggregation functions on hand-made tensors (docs/architecture.md)."""

import math

import torch

from drviz.models.objectives import (
    adaptive_shared_mask,
    aggregate,
    bernoulli_recon,
    kl_between,
    kl_to_prior,
    label_shared_mask,
)


def test_kl_to_prior_zero_at_prior_and_known_value():
    mu = torch.tensor([[0.0, 1.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    kl = kl_to_prior(mu, logvar)
    # dim 0 is the prior itself; dim 1: 0.5 * (1 + 4 - ln 4 - 1)
    assert kl[0, 0].item() == 0.0
    assert math.isclose(kl[0, 1].item(), 0.5 * (4 - math.log(4.0)), rel_tol=1e-6)


def test_kl_between_matches_closed_form():
    mu1, lv1 = torch.tensor([[0.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    mu2, lv2 = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    kl = kl_between(mu1, lv1, mu2, lv2)
    assert kl[0, 0].item() == 0.0
    # KL(N(2,1) || N(0,2)) = 0.5 * (ln 2 + (1 + 4) / 2 - 1)
    assert math.isclose(kl[0, 1].item(), 0.5 * (math.log(2.0) + 2.5 - 1), rel_tol=1e-6)


def test_adaptive_mask_threshold_is_mid_range_per_pair():
    delta = torch.tensor([
        [0.0, 0.1, 4.0, 0.2],  # tau = 2.0: only dim 2 differs
        [1.0, 3.0, 2.0, 5.0],  # tau = 3.0: dims 0 and 2 shared (strictly below), 1 and 3 not
    ])
    shared = adaptive_shared_mask(delta)
    assert shared.tolist() == [[True, True, False, True], [True, False, True, False]]


def test_label_mask_leaves_only_changed_dim_unshared():
    shared = label_shared_mask(torch.tensor([0, 3]), 5)
    assert shared.tolist() == [[False, True, True, True, True], [True, True, True, False, True]]


def test_aggregate_averages_means_and_variances_on_shared_dims_only():
    mu1, mu2 = torch.tensor([[0.0, 2.0]]), torch.tensor([[4.0, 6.0]])
    lv1, lv2 = torch.log(torch.tensor([[1.0, 1.0]])), torch.log(torch.tensor([[3.0, 5.0]]))
    shared = torch.tensor([[True, False]])
    a_mu1, a_lv1, a_mu2, a_lv2 = aggregate(mu1, lv1, mu2, lv2, shared)
    assert a_mu1.tolist() == [[2.0, 2.0]] and a_mu2.tolist() == [[2.0, 6.0]]
    # variances averaged (1 and 3 -> 2), not log-variances
    assert torch.allclose(a_lv1.exp(), torch.tensor([[2.0, 1.0]]))
    assert torch.allclose(a_lv2.exp(), torch.tensor([[2.0, 5.0]]))


def test_bernoulli_recon_sums_pixels():
    x = torch.ones(2, 1, 2, 2)
    logits = torch.zeros(2, 1, 2, 2)  # p = 0.5 -> ln 2 per pixel
    assert torch.allclose(bernoulli_recon(logits, x), torch.full((2,), 4 * math.log(2.0)))
