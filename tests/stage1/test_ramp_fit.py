"""RampFit on ramps with known slopes: exact when noiseless, honest errors, jumps split."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.dq import DO_NOT_USE, JUMP_DET, SATURATED
from exolrs.stage1.ramp_fit import fit_ramps
from tests.stage1.conftest import GAIN, READ_NOISE_CDS, TGROUP, make_ramps


def _fit(data, gdq):
    shape = data.shape[-2:]
    return fit_ramps(
        data,
        gdq,
        np.zeros(shape, np.uint32),
        np.full(shape, READ_NOISE_CDS, np.float32),
        np.full(shape, GAIN, np.float32),
        TGROUP,
    )


def test_noiseless_ramp_is_exact():
    rate = np.linspace(1, 5000, 12, dtype=np.float32).reshape(3, 4)
    data = (100 + rate * TGROUP * np.arange(15)[:, None, None])[None].astype(np.float32)
    fit = _fit(data, np.zeros(data.shape, np.uint8))
    np.testing.assert_allclose(fit.slope[0], rate, rtol=1e-5)


def test_errors_describe_the_scatter():
    data, rate, _ = make_ramps(n=40, n_crs=0, seed=3)
    fit = _fit(data, np.zeros(data.shape, np.uint8))
    pull = (fit.slope - rate) / fit.err
    assert abs(np.mean(pull)) < 0.05
    assert 0.9 < np.std(pull) < 1.1
    np.testing.assert_allclose(fit.err**2, fit.var_poisson + fit.var_rnoise, rtol=1e-4)


def test_flagged_jump_splits_the_ramp_and_dnu_groups_are_ignored():
    data, rate, _ = make_ramps(n=2, n_crs=0, seed=5)
    gdq = np.zeros(data.shape, np.uint8)
    data[:, 10:, 4, 4] += 5000.0  # a big jump at group 10
    gdq[:, 10, 4, 4] = JUMP_DET
    data[:, :3, 6, 6] = 60000.0  # garbage in the first groups, flagged
    gdq[:, :3, 6, 6] = DO_NOT_USE
    fit = _fit(data, gdq)
    for y, x in ((4, 4), (6, 6)):
        assert np.all(np.abs(fit.slope[:, y, x] - rate[y, x]) < 5 * fit.err[:, y, x])
    unflagged = _fit(data, np.zeros(data.shape, np.uint8))
    assert np.all(unflagged.slope[:, 4, 4] - rate[4, 4] > 100)


def test_fully_saturated_pixel_is_nan_and_flagged():
    data, _, _ = make_ramps(n=1, n_crs=0)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[0, :, 2, 3] = SATURATED
    fit = _fit(data, gdq)
    assert np.isnan(fit.slope[0, 2, 3])
    assert fit.dq[0, 2, 3] & (SATURATED | DO_NOT_USE)


def test_vectorised_path_reproduces_stcal_ols_c():
    """Mixed pixels: clean ramps (fast path), jumps, saturation, dropped groups, bad pixels."""
    from exolrs.stage1.ramp_fit import _fit_one

    data, _, crs = make_ramps(n=3, ng=30, n_crs=60, seed=11)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, :5] = DO_NOT_USE  # miri_drop_groups
    gdq[:, -1] = DO_NOT_USE
    for i, g, y, x in crs:
        gdq[i, g, y, x] |= JUMP_DET
    gdq[1, 20:, 3, 3] |= SATURATED
    pdq = np.zeros(data.shape[-2:], np.uint32)
    pdq[7, 7] = DO_NOT_USE
    shape = data.shape[-2:]
    args = (
        pdq,
        np.full(shape, READ_NOISE_CDS, np.float32),
        np.full(shape, GAIN, np.float32),
        TGROUP,
    )
    dark = np.random.default_rng(2).uniform(0.0, 2.0, shape).astype(np.float32)
    fast = fit_ramps(data, gdq, *args, avg_dark=dark)
    for i in range(data.shape[0]):
        ref = _fit_one(data[i : i + 1], gdq[i : i + 1], *args, None, dark)
        for field in ("slope", "err", "var_poisson", "var_rnoise"):
            np.testing.assert_allclose(
                getattr(fast, field)[i],
                getattr(ref, field)[0],
                rtol=2e-6,
                atol=1e-6,
                equal_nan=True,
            )
        np.testing.assert_array_equal(fast.dq[i], ref.dq[0])


def test_stcal_engine_call_equals_stcals_public_ramp_fit_data():
    """`_fit_one` calls stcal's OLS driver directly (importing `ramp_fit_data` costs every
    worker 2 s): its products are bit-identical to the public entry point's."""
    from stcal.ramp_fitting import ramp_fit_class
    from stcal.ramp_fitting.ramp_fit import ramp_fit_data

    from exolrs.stage1.ramp_fit import _dqflags, _fit_one

    data, _, crs = make_ramps(n=1, ng=30, n_crs=40, seed=5)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, :5] = DO_NOT_USE
    for i, g, y, x in crs:
        gdq[i, g, y, x] |= JUMP_DET
    gdq[0, 18:, 2, 4] |= SATURATED
    shape = data.shape[-2:]
    rng = np.random.default_rng(3)
    pdq = np.zeros(shape, np.uint32)
    pdq[5, 5] = DO_NOT_USE
    rn = rng.uniform(0.8, 1.2, shape).astype(np.float32) * READ_NOISE_CDS
    gain = rng.uniform(0.9, 1.1, shape).astype(np.float32) * GAIN
    dark = rng.uniform(0.0, 2.0, shape).astype(np.float32)
    ours = _fit_one(data, gdq, pdq, rn, gain, TGROUP, None, dark)

    ramp = ramp_fit_class.RampData()
    ramp.set_arrays(data.astype(np.float32), gdq, pdq, dark)
    ramp.set_meta(
        name="MIRI",
        frame_time=TGROUP,
        group_time=TGROUP,
        groupgap=0,
        nframes=1,
        drop_frames1=None,
    )
    ramp.set_dqflags(_dqflags())
    ramp.start_row, ramp.num_rows = 0, shape[0]
    ramp.suppress_one_group_ramps = False
    _, integ, _ = ramp_fit_data(ramp, False, rn.copy(), gain.copy(), "OLS_C", "optimal", "none")
    for field in ("slope", "err", "dq", "var_poisson", "var_rnoise"):
        np.testing.assert_array_equal(getattr(ours, field), np.asarray(integ[field]))


def test_subtracted_dark_current_keeps_its_shot_noise():
    """Ramps of star + dark with the dark subtracted before the fit: the errors describe the
    scatter only when the dark's shot noise is given back (as calwebb_detector1 does)."""
    rng = np.random.default_rng(4)
    n, ng, shape = 400, 40, (6, 6)
    dark_rate, star_rate = 3.0, 0.5  # DN/s: a dark-dominated pixel
    lam = (dark_rate + star_rate) * TGROUP * GAIN  # e- per group
    e = np.cumsum(rng.poisson(lam, (n, ng, *shape)), axis=1) / GAIN
    rn = READ_NOISE_CDS / np.sqrt(2)
    data = (e + rn * rng.standard_normal(e.shape)).astype(np.float32)
    data -= (dark_rate * TGROUP * np.arange(ng))[None, :, None, None].astype(np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    args = (
        np.zeros(shape, np.uint32),
        np.full(shape, READ_NOISE_CDS, np.float32),
        np.full(shape, GAIN, np.float32),
        TGROUP,
    )
    without = fit_ramps(data, gdq, *args)
    with_dark = fit_ramps(data, gdq, *args, avg_dark=np.full(shape, dark_rate, np.float32))
    scatter = np.std(with_dark.slope, axis=0)
    assert np.median(scatter / np.median(with_dark.err, axis=0)) == pytest.approx(1.0, abs=0.06)
    assert np.median(scatter / np.median(without.err, axis=0)) > 1.15
