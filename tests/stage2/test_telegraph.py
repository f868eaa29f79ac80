"""Telegraph: wandering pixels found against a transit, ramps, jitter and noise (known truth)."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.stage2 import telegraph


def _block(
    nt=1800,
    ny=24,
    nx=40,
    seed=1,
    telegraph_px=(),
    amplitude=1.0,
    dwell=30,
    bend=0.0,
    chromatic=0.0,
):
    """Background-subtracted slopes of a block of rows: a Gaussian trace (σ 1.2 px) whose
    column jitters (0.02 px rms, red) and drifts, a 2 % transit, a per-row exponential ramp
    whose time constant changes with the row, photon + background noise; `telegraph_px` get
    a two-state level of `amplitude` × their white σ switching every `dwell` ints on average.
    `bend`: the trace's column moves by this many pixels from the first row to the last;
    `chromatic`: a slow ramp of this relative amplitude, rising in the first half of the
    rows and falling in the second (as MIRI's 10–11 µm region does)."""
    rng = np.random.default_rng(seed)
    t = np.arange(nt)
    x = np.arange(nx)
    jitter = np.convolve(rng.standard_normal(nt + 19), np.ones(20) / np.sqrt(20), "valid")
    x0 = nx / 2 + 0.02 * jitter + 0.05 * t / nt
    x0 = x0[:, None] + bend * np.linspace(-0.5, 0.5, ny)[None, :]  # (nt, ny)
    peak = np.linspace(400.0, 4000.0, ny)  # DN/s at the trace's centre per row
    profile = np.exp(-0.5 * ((x[None, None, :] - x0[..., None]) / 1.2) ** 2)  # (nt, ny, nx)
    transit = 1 - 0.02 * ((t > 700) & (t < 1100))
    tau = np.linspace(60.0, 120.0, ny)
    ramp = 1 - 0.004 * np.exp(-t[:, None] / tau[None, :])  # (nt, ny)
    sign = np.where(np.arange(ny) < ny // 2, 1.0, -1.0)
    ramp = ramp * (1 + chromatic * sign[None, :] * t[:, None] / nt)
    signal = peak[None, :, None] * profile * (transit[:, None] * ramp)[..., None]
    sigma = np.sqrt(signal / 10.0 + 30.0**2)  # photon noise over a 10 s gain·time, + background
    cube = (signal + sigma * rng.standard_normal(signal.shape)).astype(np.float32)
    for y, xx in telegraph_px:
        flips = rng.random(nt) < 1.0 / dwell
        state = (np.cumsum(flips) + rng.integers(2)) % 2
        cube[:, y, xx] += amplitude * sigma[:, y, xx].mean() * state
    return cube


def test_white_block_has_excess_one_and_no_wandering_pixel():
    cube = _block()
    excess, n_bins = telegraph.excess_variance(cube, 8)
    assert n_bins == 225
    assert np.nanmedian(excess) == pytest.approx(1.0, abs=0.05)
    assert not telegraph.wandering_pixels(cube).any()


@pytest.mark.parametrize("where", [(5, 20), (12, 19), (20, 23), (3, 2)])  # centre, flanks, off
def test_telegraph_pixel_found_on_the_trace_and_off_it(where):
    cube = _block(telegraph_px=[where], amplitude=1.0)
    found = telegraph.wandering_pixels(cube)
    assert found[where]
    assert found.sum() == 1


def test_weak_telegraph_below_the_sensitivity_is_left_alone():
    cube = _block(telegraph_px=[(12, 20)], amplitude=0.2)
    assert not telegraph.wandering_pixels(cube)[12, 20]


def test_short_series_is_never_flagged():
    cube = _block(nt=40, telegraph_px=[(12, 20)], amplitude=5.0)
    assert not telegraph.wandering_pixels(cube, bin_ints=8).any()


def test_nan_values_and_dead_pixels_do_not_break_the_search():
    cube = _block(telegraph_px=[(8, 21)])
    cube[100, 4, 10] = np.nan
    cube[:, 6, 30] = np.nan
    found = telegraph.wandering_pixels(cube)
    assert found[8, 21] and not found[6, 30] and found.sum() == 1


def test_a_row_without_flux_in_one_integration_leaves_the_sums_finite():
    cube = _block(nt=400)
    cube[50, 12] = 0.0  # the row has no flux in one integration (e.g. saturated, zeroed)
    sums = telegraph.shared_sums(cube)
    assert np.isfinite(sums).all()
    _lc, column = telegraph.shared_series(sums)
    assert np.isfinite(column).all() and abs(column[50]) < 0.1


def test_white_variance_ignores_a_cosmic_ray():
    rng = np.random.default_rng(3)
    series = rng.standard_normal((2000, 1, 1))
    series[500] += 200.0
    assert telegraph.white_variance(series)[0, 0] == pytest.approx(1.0, rel=0.1)


def test_blocks_of_rows_with_the_frames_sums_give_the_frames_verdict():
    cube = _block(telegraph_px=[(3, 19), (17, 22)], amplitude=1.2)
    whole = telegraph.wandering_pixels(cube)
    sums = sum(telegraph.shared_sums(cube[:, r : r + 5]) for r in range(0, 24, 5))
    np.testing.assert_allclose(sums, telegraph.shared_sums(cube), rtol=1e-9)
    rows = np.concatenate(
        [telegraph.wandering_pixels(cube[:, r : r + 1], sums=sums) for r in range(24)]
    )
    np.testing.assert_array_equal(rows, whole)
    assert whole[3, 19] and whole[17, 22] and whole.sum() == 2


def _motion(nt=1800, seed=1):
    """The trace's column motion in `_block` (its jitter is the generator's first draw)."""
    rng = np.random.default_rng(seed)
    jitter = np.convolve(rng.standard_normal(nt + 19), np.ones(20) / np.sqrt(20), "valid")
    return 0.02 * jitter + 0.05 * np.arange(nt) / nt


def test_shared_series_follow_the_transit_and_the_trace():
    cube = _block(nt=1800)
    lc, column = telegraph.shared_series(telegraph.shared_sums(cube))
    assert lc[750:1050].mean() / lc[200:650].mean() == pytest.approx(0.98, abs=0.001)
    assert np.corrcoef(column, _motion())[0, 1] > 0.95
    flat_lc, zero = telegraph.shared_series(np.zeros((3, 5)))
    assert (flat_lc == 1).all() and (zero == 0).all()


def test_a_bent_trace_with_chromatic_ramps_still_gives_the_traces_motion():
    """A frame-wide flux-weighted column moves with the rows' changing fluxes when the trace
    bends (here by more than the jitter: correlation 0.61 and a flank pixel flagged);
    each row's column against its own median does not."""
    cube = _block(nt=1800, bend=15.0, chromatic=0.02)
    cube[:, 5, 34] += 300.0  # a bright pixel far from the trace: no share in its motion
    _lc, column = telegraph.shared_series(telegraph.shared_sums(cube))
    assert np.corrcoef(column, _motion())[0, 1] > 0.95
    assert not telegraph.wandering_pixels(cube).any()
