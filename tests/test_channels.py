"""drviz.data.channels: a dataset seen with the other channel count keeps its factors."""

from __future__ import annotations

import numpy as np

from drviz.data import get_dataset
from drviz.data.channels import ChannelAdapter, with_channels


def test_gray_is_repeated_and_colour_averaged():
    gray, colour = get_dataset("dsprites"), get_dataset("color_dsprites")
    assert with_channels(gray, 1) is gray and with_channels(colour, 3) is colour

    as_rgb = with_channels(gray, 3)
    assert isinstance(as_rgb, ChannelAdapter) and as_rgb.image_shape == (3, 64, 64)
    factors = gray.sample_factors(4, np.random.default_rng(0))
    images = as_rgb.render(factors)
    assert images.shape == (4, 3, 64, 64)
    assert all(np.array_equal(images[:, c:c + 1], gray.render(factors)) for c in range(3))

    as_gray = with_channels(colour, 1)
    factors = colour.sample_factors(4, np.random.default_rng(0))
    np.testing.assert_allclose(as_gray.render(factors), colour.render(factors).mean(axis=1, keepdims=True))


def test_the_adapter_keeps_names_factors_and_traversal_values():
    colour = get_dataset("color_dsprites")
    seen = with_channels(colour, 1)
    assert (seen.name, seen.factor_names, seen.factor_sizes) == (colour.name, colour.factor_names, colour.factor_sizes)
    assert (seen.labelled, seen.synthetic) == (colour.labelled, colour.synthetic)
    base = colour.sample_factors(1, np.random.default_rng(0))[0]
    assert np.array_equal(seen.factor_values_along(base, 1), colour.factor_values_along(base, 1))
