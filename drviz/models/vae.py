"""The standard disentanglement convolutional VAE for 64x64 images (docs/architecture.md).

Architecture of Locatello et al. 2019 / disentanglement_lib's ``conv_encoder`` and
``deconv_decoder``: four 4x4 stride-2 convolutions (32, 32, 64, 64 channels, times ``width``),
a 256-unit layer, mean and log-variance heads; the decoder mirrors it and outputs Bernoulli
logits. Channel count and latent size come from a ``ModelSpec`` stored with every checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from drviz.errors import DrvizError


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild the network (saved in config.json beside the weights)."""

    channels: int = 1
    latent_dim: int = 10
    width: int = 1  # channel multiplier of the conv stacks

    def __post_init__(self):
        for field, value, lo, hi in (("channels", self.channels, 1, 4), ("latent_dim", self.latent_dim, 1, 256), ("width", self.width, 1, 8)):
            if not isinstance(value, int) or not lo <= value <= hi:
                raise DrvizError(f"model {field} must be an integer in [{lo}, {hi}]; got {value!r}")

    def to_json(self) -> dict:
        return asdict(self)


class VAE(nn.Module):
    """Gaussian-posterior VAE: ``encode`` -> (mu, logvar), ``decode`` -> pixel logits."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        c, w, d = spec.channels, spec.width, spec.latent_dim
        ch = (32 * w, 32 * w, 64 * w, 64 * w)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, ch[0], 4, 2, 1), nn.ReLU(),  # 32x32
            nn.Conv2d(ch[0], ch[1], 4, 2, 1), nn.ReLU(),  # 16x16
            nn.Conv2d(ch[1], ch[2], 4, 2, 1), nn.ReLU(),  # 8x8
            nn.Conv2d(ch[2], ch[3], 4, 2, 1), nn.ReLU(),  # 4x4
            nn.Flatten(),
            nn.Linear(ch[3] * 16, 256), nn.ReLU(),
        )
        self.head = nn.Linear(256, 2 * d)  # [mu, logvar]
        self.decoder_fc = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, ch[3] * 16), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(ch[3], ch[2], 4, 2, 1), nn.ReLU(),  # 8x8
            nn.ConvTranspose2d(ch[2], ch[1], 4, 2, 1), nn.ReLU(),  # 16x16
            nn.ConvTranspose2d(ch[1], ch[0], 4, 2, 1), nn.ReLU(),  # 32x32
            nn.ConvTranspose2d(ch[0], c, 4, 2, 1),  # 64x64 logits
        )
        self._top = ch[3]

    # The first and last layers: what a grayscale <-> colour transfer must adapt.
    @property
    def first_conv(self) -> nn.Conv2d:
        return self.encoder[0]

    @property
    def last_deconv(self) -> nn.ConvTranspose2d:
        return self.decoder[-1]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (n, C, 64, 64) in [0, 1] -> mu, logvar: (n, latent_dim)."""
        mu, logvar = self.head(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (n, latent_dim) -> logits (n, C, 64, 64); ``torch.sigmoid`` gives the image."""
        h = self.decoder_fc(z).view(-1, self._top, 4, 4)
        return self.decoder(h)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction through the posterior mean, in [0, 1]."""
        return torch.sigmoid(self.decode(self.encode(x)[0]))
