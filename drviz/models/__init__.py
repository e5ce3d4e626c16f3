"""Networks and losses: the conv VAE and its beta-VAE / Ada-GVAE / GVAE-labels objectives."""

from drviz.models.vae import VAE, ModelSpec

METHODS = ("beta_vae", "ada_gvae", "gvae_labels")
WEAK_METHODS = ("ada_gvae", "gvae_labels")

__all__ = ["METHODS", "WEAK_METHODS", "VAE", "ModelSpec"]
