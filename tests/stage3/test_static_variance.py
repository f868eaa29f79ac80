"""A static per-pixel variance (the flat's error on the background) through the extraction
weights: Σ w² · var, checked against offsets drawn and extracted."""

from __future__ import annotations

import numpy as np

from exolrs.stage3 import extract_box, extract_optimal


def _scene(ny=6, nx=24, seed=3):
    rng = np.random.default_rng(seed)
    centres = 11.3 + 0.2 * np.arange(ny)
    x = np.arange(nx)
    deep = 500.0 * np.exp(-0.5 * ((x[None] - centres[:, None]) / 1.4) ** 2) + 5.0
    var_map = rng.uniform(0.5, 2.0, (ny, nx)) ** 2
    err = np.sqrt(deep + 20.0)
    return rng, centres, deep, var_map, err


def _drawn(rng, var_map, n=20000):
    """n images of static offsets with the map's variance."""
    return rng.standard_normal((n, *var_map.shape)) * np.sqrt(var_map)


def test_box_static_variance_is_what_the_box_sums():
    rng, centres, _, var_map, _ = _scene()
    offsets = _drawn(rng, var_map)
    flux, _ = extract_box.box_extract(offsets, np.ones_like(offsets), centres, width=6.4)
    expected = extract_box.box_static_variance(var_map, centres, 6.4)
    np.testing.assert_allclose(flux.var(axis=0), expected, rtol=0.05)


def test_optimal_static_variance_is_what_the_weights_sum():
    rng, centres, deep, var_map, err = _scene()
    profile = extract_optimal.spatial_profile(deep, centres, 8.0)
    offsets = _drawn(rng, var_map)
    # no rejection: the offsets are not outliers, and the weights stay those of `err`
    flux, _, rejected = extract_optimal.optimal_extract(offsets, err, profile, sigma_clip=1e9)
    assert rejected == 0
    expected = extract_optimal.optimal_static_variance(var_map, profile, err)
    np.testing.assert_allclose(flux.var(axis=0), expected, rtol=0.05)
    assert np.all(expected < extract_box.box_static_variance(var_map, centres, 8.0))
