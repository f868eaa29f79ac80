"""Synthetic ramps with known rates, noise and cosmic rays for the Stage 1 step tests."""

from __future__ import annotations

import numpy as np
import pytest

TGROUP = 0.15904
READ_NOISE = 6.0  # per read
READ_NOISE_CDS = READ_NOISE * 2**0.5  # what a JWST READNOISE reference holds
GAIN = 5.5


def make_ramps(n=30, ng=20, ny=24, nx=16, seed=0, n_crs=40, cr_dn=300.0):
    """Linearised ramps (n, ng, ny, nx) with Poisson + read noise and injected jumps.

    Returns data, true rates (ny, nx) DN/s, and the jumps as (int, group, y, x)."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(5, 3000, (ny, nx))
    inc = rate * TGROUP
    steps = rng.normal(inc, np.sqrt(inc / GAIN), (n, ng, ny, nx))
    steps[:, 0] = 0.0
    data = 2000.0 + np.cumsum(steps, axis=1) + rng.normal(0, READ_NOISE, (n, ng, ny, nx))
    flat = rng.choice(n * (ng - 1) * ny * nx, n_crs, replace=False)
    i, g, y, x = np.unravel_index(flat, (n, ng - 1, ny, nx))
    g = g + 1
    crs = sorted(set(zip(i.tolist(), g.tolist(), y.tolist(), x.tolist(), strict=True)))
    for ii, gg, yy, xx in crs:
        data[ii, gg:, yy, xx] += cr_dn
    return data.astype(np.float32), rate.astype(np.float32), crs


@pytest.fixture
def ramps():
    return make_ramps()


@pytest.fixture
def detector_maps():
    shape = (24, 16)
    return np.full(shape, READ_NOISE_CDS, np.float32), np.full(shape, GAIN, np.float32)
