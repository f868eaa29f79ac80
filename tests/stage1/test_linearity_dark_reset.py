"""Linearity against stcal, dropped groups, and the per-integration dark/reset planes."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.dq import DO_NOT_USE, GROUP, NO_LIN_CORR, PIXEL, SATURATED
from exolrs.stage1.dark import integration_planes, subtract_dark
from exolrs.stage1.linearity import correct_linearity, drop_groups
from exolrs.stage1.reset import subtract_reset


@pytest.fixture
def ramps():
    rng = np.random.default_rng(7)
    n, ng, ny, nx = 2, 8, 10, 12
    data = (11000 + rng.uniform(0, 5000, (ny, nx)) * np.arange(ng)[:, None, None])[None]
    data = data.repeat(n, 0).astype(np.float32)
    coeffs = np.stack(
        [
            np.zeros((ny, nx)),
            np.ones((ny, nx)),
            rng.normal(1.2e-6, 1e-7, (ny, nx)),
            rng.normal(3e-12, 3e-13, (ny, nx)),
        ]
    ).astype(np.float32)
    coeffs[:, 1, 2] = np.nan
    lin_dq = np.zeros((ny, nx), np.uint32)
    lin_dq[3, 3] = NO_LIN_CORR
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, 6:, 5, 5] = SATURATED
    return data, gdq, np.zeros((ny, nx), np.uint32), coeffs, lin_dq


def test_linearity_matches_stcal(ramps):
    from stcal.linearity.linearity import linearity_correction

    data, gdq, pdq, coeffs, lin_dq = ramps
    ours, _, ours_pdq = correct_linearity(data, gdq, pdq, coeffs, lin_dq)
    flags = dict(PIXEL)
    flags.update(GROUP)
    ref, ref_pdq, _ = linearity_correction(
        data.astype(np.float64).copy(),
        gdq.copy(),
        pdq.copy(),
        coeffs.copy(),
        lin_dq.copy(),
        flags,
    )
    np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=0.05)
    np.testing.assert_array_equal(ours_pdq & NO_LIN_CORR, ref_pdq & NO_LIN_CORR)
    assert ours_pdq[1, 2] & NO_LIN_CORR and ours_pdq[3, 3] & NO_LIN_CORR
    np.testing.assert_array_equal(ours[:, :, 1, 2], data[:, :, 1, 2])  # left as is
    np.testing.assert_array_equal(ours[0, 6:, 5, 5], data[0, 6:, 5, 5])  # saturated kept
    assert np.all(ours[0, 1:6, 5, 5] > data[0, 1:6, 5, 5])  # corrected (c2 > 0)


def test_drop_groups():
    gdq = np.zeros((2, 10, 3, 3), np.uint8)
    out = drop_groups(gdq, 4)
    assert np.all(out[:, :4] & DO_NOT_USE) and not np.any(out[:, 4:])
    assert drop_groups(gdq, 0) is gdq
    with pytest.raises(ValueError, match="at most 7"):
        drop_groups(gdq, 8)


def test_dark_uses_first_then_later_integration_planes():
    dark = np.stack([np.full((4, 2, 2), 5.0), np.full((4, 2, 2), 1.0)]).astype(np.float32)
    assert list(integration_planes(dark, 0, 3)) == [0, 1, 1]
    assert list(integration_planes(dark, 5, 2)) == [1, 1]
    data = np.zeros((3, 4, 2, 2), np.float32)
    out = subtract_dark(data, dark, int_start=0)
    assert out[0].max() == -5.0 and out[1].max() == -1.0 and out[2].max() == -1.0
    out = subtract_dark(data[:1], dark, int_start=7)
    assert out.max() == -1.0
    with pytest.raises(ValueError):
        subtract_dark(np.zeros((1, 6, 2, 2), np.float32), dark)


def test_reset_is_benign_when_zero_and_applied_when_not():
    data = np.ones((2, 3, 2, 2), np.float32)
    assert subtract_reset(data, np.zeros((2, 3, 2, 2), np.float32)) is data
    out = subtract_reset(data, np.full((2, 3, 2, 2), 0.5, np.float32), int_start=1)
    assert np.allclose(out, 0.5)


def test_average_dark_current_is_the_later_integrations_slope():
    from exolrs.stage1.dark import average_dark_current

    ng, tg = 50, 0.15904
    rate = np.array([[0.3, 2.0], [0.0, 7.5]], np.float32)
    g = np.arange(ng, dtype=np.float32)[:, None, None]
    anomaly = 120.0 * np.exp(-g / 3.0)  # the reset anomaly, decayed by mid-ramp
    later = rate * tg * g + anomaly
    first = 2 * later
    dark = np.stack([first, later]).astype(np.float32)
    np.testing.assert_allclose(average_dark_current(dark, tg), rate, atol=0.01)
    falling = np.stack([-rate * tg * g] * 2).astype(np.float32)
    assert np.all(average_dark_current(falling, tg) == 0)  # a rate, never a negative one
