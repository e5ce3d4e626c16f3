"""Networks and losses: the conv VAE and its beta-VAE / Ada-GVAE / GVAE-labels objectives."""

from drviz.models.vae import VAE, ModelSpec

from drviz.config import METHODS, WEAK_METHODS

__all__ = ["METHODS", "WEAK_METHODS", "VAE", "ModelSpec"]
