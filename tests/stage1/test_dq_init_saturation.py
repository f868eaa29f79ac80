"""DQInit and Saturation, the latter against stcal's flag_saturated_pixels."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.dq import AD_FLOOR, DO_NOT_USE, GROUP, HOT, JUMP_DET, PIXEL, SATURATED
from exolrs.stage1.dq_init import init_dq
from exolrs.stage1.saturation import NO_SAT_CHECK, flag_saturation


def test_init_dq_combines_mask_hot_map_and_first_last_groups():
    gdq = np.zeros((2, 6, 4, 5), np.uint8)
    gdq[0, 2, 1, 1] = JUMP_DET
    mask = np.zeros((4, 5), np.uint32)
    mask[0, 0] = DO_NOT_USE | PIXEL["DEAD"]
    hot = np.zeros((4, 5), bool)
    hot[3, 4] = True
    pdq, out = init_dq(gdq, mask, pixeldq=np.full((4, 5), 0, np.uint32), hot_pixel_map=hot)
    assert pdq[0, 0] == DO_NOT_USE | PIXEL["DEAD"]
    assert pdq[3, 4] == HOT | DO_NOT_USE
    assert pdq[1, 1] == 0
    assert np.all(out[:, 0] & DO_NOT_USE) and np.all(out[:, -1] & DO_NOT_USE)
    assert not np.any(out[:, 1:-1] & DO_NOT_USE)
    assert out[0, 2, 1, 1] == JUMP_DET  # existing flags kept
    assert gdq[0, 0, 0, 0] == 0  # input untouched
    with pytest.raises(ValueError, match="hot-pixel map shape"):
        init_dq(gdq, mask, hot_pixel_map=np.zeros((3, 3), bool))


def _stcal_saturation(data, gdq, pdq, sat, sat_dq):
    from stcal.saturation.saturation import flag_saturated_pixels

    flags = dict(PIXEL)
    flags.update(GROUP)
    return flag_saturated_pixels(
        data.copy(),
        gdq.copy(),
        pdq.copy(),
        sat.copy(),
        sat_dq.copy(),
        65535,
        flags,
        n_pix_grow_sat=0,
    )


def test_saturation_matches_stcal():
    rng = np.random.default_rng(4)
    n, ng, ny, nx = 3, 12, 20, 16
    rate = rng.uniform(0, 9000, (ny, nx))
    data = (rate * np.arange(ng)[:, None, None])[None].repeat(n, 0).astype(np.float32)
    data += rng.normal(0, 50, data.shape).astype(np.float32)
    np.clip(data, 0, 65535, out=data)  # what a 16-bit ADC delivers
    data[1, 5, 3, 3] = 0.0  # A/D floor
    sat = rng.uniform(40000, 60000, (ny, nx)).astype(np.float32)
    sat[2, 2] = np.nan
    sat_dq = np.zeros((ny, nx), np.uint32)
    sat_dq[4, 4] = NO_SAT_CHECK
    gdq = np.zeros(data.shape, np.uint8)
    pdq = np.zeros((ny, nx), np.uint32)
    ours_g, ours_p = flag_saturation(data, gdq, pdq, sat, sat_dq)
    ref_g, ref_p = _stcal_saturation(data, gdq, pdq, sat, sat_dq)[:2]
    assert (ours_g & SATURATED).any()
    np.testing.assert_array_equal(ours_g, ref_g)
    np.testing.assert_array_equal(ours_p, ref_p)
    assert ours_g[1, 5, 3, 3] & (AD_FLOOR | DO_NOT_USE)


def test_saturation_flags_first_saturated_group_and_all_later():
    data = np.array([10, 20, 30, 25, 40], np.float32)[None, :, None, None]
    gdq = np.zeros(data.shape, np.uint8)
    out, _ = flag_saturation(
        data, gdq, np.zeros((1, 1), np.uint32), None, saturation_threshold=28.0
    )
    assert list(out[0, :, 0, 0] & SATURATED) == [0, 0, SATURATED, SATURATED, SATURATED]
    with pytest.raises(ValueError):
        flag_saturation(data, gdq, np.zeros((1, 1), np.uint32), None)


def test_init_dq_into_a_given_buffer_and_drop_groups_in_place():
    from exolrs.stage1.linearity import drop_groups

    gdq_in = np.zeros((2, 6, 3, 4), np.uint8)
    gdq_in[1, 2, 0, 0] = 4
    want_pdq, want = init_dq(gdq_in, None)
    out = np.full(gdq_in.shape, 255, np.uint8)
    pdq, got = init_dq(gdq_in, None, out=out)
    assert got is out
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(pdq, want_pdq)
    with pytest.raises(ValueError, match="out must be"):
        init_dq(gdq_in, None, out=np.zeros((2, 6, 3, 4), np.uint16))
    copy = drop_groups(got, 2)
    same = drop_groups(got, 2, inplace=True)
    assert same is got and copy is not got
    np.testing.assert_array_equal(copy, same)
    assert (same[:, :2] & 1).all()
