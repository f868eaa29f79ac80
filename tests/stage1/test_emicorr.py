"""EmiCorr recovers injected 390 Hz EMI (and harmonics) from the simulator's read timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from exolrs.simulate.config import preset
from exolrs.simulate.core import _Model
from exolrs.simulate.detector import simulate_ramps
from exolrs.stage1.emicorr import correct_emi, frequency_list


def _simulate(amps, ngroups=30, seed=3):
    cfg = preset("tiny", seed=seed)
    cfg.ngroups = ngroups
    cfg.detector = dataclasses.replace(
        cfg.detector, emi_amplitudes_dn=amps, cr_rate_per_pixel_s=0.0
    )
    m = _Model(cfg)
    raw = simulate_ramps(m.rate(1, 4), m.rate(0, 1)[0], 1, m.maps, cfg, np.random.default_rng(0))
    return raw[0].astype(np.float32)


@pytest.mark.parametrize("ngroups", [8, 30])
def test_removes_injected_emi_to_the_rounding_floor(ngroups):
    on = _simulate((3.0, 1.0, 0.5), ngroups)
    off = _simulate((0.0, 0.0, 0.0), ngroups)  # same noise, no EMI
    corrected, amps = correct_emi(on, np.zeros(on.shape, np.uint8), (390.625,), 3, skip_groups=2)
    before = np.std(on - off)
    after = np.std(corrected - off)
    assert before > 2.0
    assert after < 0.45  # two independent roundings to integer DN: sqrt(2/12) = 0.41
    np.testing.assert_allclose(np.abs(amps).mean(axis=0), [3.0, 1.0, 0.5], atol=0.05)


def test_no_emi_changes_nothing_beyond_noise():
    off = _simulate((0.0, 0.0, 0.0))
    corrected, amps = correct_emi(off, np.zeros(off.shape, np.uint8), (390.625,), 3)
    assert np.abs(amps).max() < 0.1  # noise floor; injected amplitudes are 3, 1, 0.5 DN
    assert np.std(corrected - off) < 0.05


def test_frequency_list_and_short_ramps():
    assert frequency_list([390.625], 3) == [390.625, 781.25, 1171.875]
    assert frequency_list([390.625, 781.25], 2) == [390.625, 781.25, 1562.5]
    data = np.ones((1, 3, 416, 72), np.float32)
    out, _amps = correct_emi(data, np.zeros(data.shape, np.uint8))
    np.testing.assert_array_equal(out, data)
    with pytest.raises(ValueError, match="no EMI read timing"):
        correct_emi(
            np.ones((1, 5, 8, 8), np.float32), np.zeros((1, 5, 8, 8), np.uint8), subarray="FULL"
        )


def test_groups_flagged_everywhere_are_left_out_not_fatal():
    on = _simulate((3.0, 1.0, 0.5))
    off = _simulate((0.0, 0.0, 0.0))
    gdq = np.zeros(on.shape, np.uint8)
    gdq[:, [0, -1]] = 1  # DQInit's first/last group DO_NOT_USE
    corrected, _ = correct_emi(on, gdq, (390.625,), 3, skip_groups=2)
    assert np.std(corrected - off) < 0.45


def test_emi_power_reduced_more_than_tenfold():
    on = _simulate((3.0, 1.0, 0.5))
    off = _simulate((0.0, 0.0, 0.0))
    gdq = np.zeros(on.shape, np.uint8)
    corrected, _ = correct_emi(on, gdq, (390.625,), 3, skip_groups=2)
    # power left at each frequency: fit the residual pattern (corrected − no-EMI truth)
    _, before = correct_emi(on - off, gdq, (390.625,), 3)
    _, after = correct_emi(corrected - off, gdq, (390.625,), 3)
    ratio = (np.abs(before) ** 2).mean(axis=0) / (np.abs(after) ** 2).mean(axis=0)
    assert np.all(ratio > 10), ratio
