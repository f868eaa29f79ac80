"""benchmarks/flat_dilution.py: the depth shift a flat's pixel errors predict."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("flat_dilution")


def test_shift_is_depth_times_residual_background_over_star(bench):
    ny, nx = 8, 20
    rows = Table(
        {
            "wavelength": np.linspace(5.0, 5.7, ny),
            "star_rate": np.full(ny, 100.0),
            "background": np.full(ny, 50.0),
            # the 6-column box spans 7.0–13.0: pixels 8–12 whole, halves of 7 and 13
            # (pixel j spans j − ½ … j + ½, as Stage 3's box)
            "trace_x": np.full(ny, 10.0),
        }
    )
    eps = np.zeros((ny, nx))
    eps[:, 8:13] = 0.02  # five whole columns inside the box
    eps[:, 7] = 0.02  # half of this one is inside (13 is too, with no error)
    eps[:, 14] = 1.0  # outside: no effect
    spectrum = Table(
        {"wavelength": [5.2, 5.55], "bin_half_width": [0.2, 0.15], "depth": [0.02, 0.03]}
    )
    got = bench.predicted_shift(rows, eps, spectrum, aperture=6.0)
    # per row 50 × 0.02 × 5.5 = 5.5 DN/s of residual background on 100 of star
    np.testing.assert_allclose(got, [0.02 * 0.055, 0.03 * 0.055])
