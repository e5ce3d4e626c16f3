"""Training objectives: beta-VAE and the weakly-supervised group VAEs.

- beta-VAE (Higgins et al. 2017): Bernoulli reconstruction + beta * KL(q(z|x) || N(0, I)).
- Ada-GVAE and GVAE with labels (Locatello et al. 2020, "Weakly-Supervised Disentanglement
  Without Compromises"): a pair (x1, x2) differing in a few factors is encoded; the dims deemed
  *shared* get both posteriors replaced by their average (mean of means, mean of variances, as
  disentanglement_lib's ``aggregate_argmax``/``aggregate_labels``); the ELBO of both images is
  then optimised. The methods differ only in the pure mask function below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-dim KL(N(mu, var) || N(0, 1)): (n, d) -> (n, d)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def kl_between(mu1, logvar1, mu2, logvar2) -> torch.Tensor:
    """Per-dim KL(q1 || q2) between diagonal Gaussians: (n, d) -> (n, d)."""
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mu1 - mu2).pow(2)) / logvar2.exp() - 1.0)


def bernoulli_recon(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image Bernoulli negative log-likelihood summed over pixels: (n, C, H, W) -> (n,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def adaptive_shared_mask(delta: torch.Tensor) -> torch.Tensor:
    """Ada-GVAE ("argmax") mask: dims whose KL delta is below the per-pair threshold
    tau = (max_j delta_j + min_j delta_j) / 2 are shared.

    delta: (n, d) per-dim KL between the pair's posteriors -> (n, d) bool, True = shared.
    """
    tau = 0.5 * (delta.amax(dim=1, keepdim=True) + delta.amin(dim=1, keepdim=True))
    return delta < tau


def label_shared_mask(changed: torch.Tensor, latent_dim: int) -> torch.Tensor:
    """GVAE with labels: every dim is shared except the one indexed by the changed factor.

    changed: (n,) int64 factor index (< latent_dim) -> (n, latent_dim) bool, True = shared.
    """
    return F.one_hot(changed, latent_dim) == 0


def aggregate(mu1, logvar1, mu2, logvar2, shared: torch.Tensor):
    """Replace shared dims of both posteriors by their average (means averaged, variances averaged).

    All tensors (n, d); ``shared`` (n, d) bool. Returns (mu1, logvar1, mu2, logvar2) aggregated.
    """
    mu_avg = 0.5 * (mu1 + mu2)
    logvar_avg = torch.log(0.5 * (logvar1.exp() + logvar2.exp()))
    return (
        torch.where(shared, mu_avg, mu1),
        torch.where(shared, logvar_avg, logvar1),
        torch.where(shared, mu_avg, mu2),
        torch.where(shared, logvar_avg, logvar2),
    )
