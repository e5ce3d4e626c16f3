"""A dataset seen with another channel count (gray <-> colour), for a model trained on the other kind.

Grayscale images are repeated to three channels; colour images are averaged to one
(``drviz.imaging.match_channels``), the conventions ``drviz.training.adapt_channels`` uses for a
transferred network's first and last layers.
"""

from __future__ import annotations

import numpy as np

from drviz.data.base import GroundTruthDataset
from drviz.imaging import match_channels


class ChannelAdapter(GroundTruthDataset):
    """``ds`` with every rendered image converted to ``channels`` channels; factors unchanged."""

    def __init__(self, ds: GroundTruthDataset, channels: int):
        self.ds, self.channels = ds, channels
        self.name, self.factor_names, self.factor_sizes = ds.name, ds.factor_names, ds.factor_sizes
        self.image_shape = (channels,) + tuple(ds.image_shape[1:])
        self.labelled, self.synthetic = ds.labelled, ds.synthetic

    def render(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return match_channels(self.ds.render(factors, rng), self.channels)

    def factor_values_along(self, base: np.ndarray, factor: int) -> np.ndarray:
        return self.ds.factor_values_along(base, factor)


def with_channels(ds: GroundTruthDataset, channels: int) -> GroundTruthDataset:
    """``ds`` itself when its images have ``channels`` channels, else a ``ChannelAdapter``."""
    return ds if ds.image_shape[0] == channels else ChannelAdapter(ds, channels)


__all__ = ["ChannelAdapter", "with_channels"]
