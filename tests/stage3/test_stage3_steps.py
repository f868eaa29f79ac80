"""Stage 3 pure functions on synthetic traces with known centres and fluxes."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.stage3 import extract_box, extract_optimal, trace


def curved_trace(ny=300, nx=72, sigma=1.4, amp=2000.0):
    rows = np.arange(ny, dtype=float)
    centre = 36.3 + 0.4 * ((rows - 150) / 150) ** 2 - 0.2 * (rows - 150) / 150
    x = np.arange(nx)[None, :]
    # integrate the Gaussian over each pixel (what a detector sees)
    from scipy.special import erf

    edges = (
        (x - 0.5 - centre[:, None]) / (np.sqrt(2) * sigma),
        (x + 0.5 - centre[:, None]) / (np.sqrt(2) * sigma),
    )
    frac = 0.5 * (erf(edges[1]) - erf(edges[0]))
    flux = amp * (1 + 0.5 * np.sin(rows / 40))
    return (flux[:, None] * frac).astype(np.float32), centre, flux


def test_find_trace_subpixel():
    frame, centre, _ = curved_trace()
    rng = np.random.default_rng(0)
    noisy = frame + 5.0 + rng.normal(0, 1.0, frame.shape).astype(np.float32)
    smooth, raw = trace.find_trace(noisy)
    assert np.max(np.abs(smooth - centre)) < 0.02
    assert np.median(np.abs(raw - centre)) < 0.05
    edge = trace.edgetrigger(frame)
    assert np.median(np.abs(edge - centre)) < 0.1


def test_trace_shift_per_integration():
    frame, centre, _ = curved_trace()
    shifts = np.array([0.0, 0.05, -0.03])
    cube = np.stack([np.roll(frame, 0, axis=1) for _ in shifts])
    # shift by interpolation
    x = np.arange(frame.shape[1])
    for i, s in enumerate(shifts):
        cube[i] = np.array([np.interp(x - s, x, r) for r in frame])
    got = trace.trace_shift_per_integration(cube, centre, np.arange(50, 250))
    np.testing.assert_allclose(got, shifts, atol=0.01)


def test_box_weights_and_flux():
    w = extract_box.aperture_weights(np.array([36.3]), 6.0, 72)
    assert w.sum() == pytest.approx(6.0)
    assert w[0, 33] == pytest.approx(0.2) and w[0, 39] == pytest.approx(0.8)
    cube = np.ones((2, 1, 72), np.float32)
    flux, err = extract_box.box_extract(cube, cube, np.array([36.3]), 6.0)
    assert flux[0, 0] == pytest.approx(6.0) and err[0, 0] == pytest.approx(np.sqrt(w[0] @ w[0]))


def test_optimal_is_unbiased_rejects_outliers_and_beats_a_wide_box():
    frame, centre, _flux_true = curved_trace(amp=300.0)
    rng = np.random.default_rng(2)
    n = 200
    read = 8.0
    var = frame + read**2
    cube = frame[None] + rng.normal(0, 1, (n, *frame.shape)).astype(np.float32) * np.sqrt(var)
    cube[5, 100, 36] += 5000.0  # a cosmic ray left in
    err = np.sqrt(var).astype(np.float32)
    profile = extract_optimal.spatial_profile(frame, centre, 12.0)
    f_opt, e_opt, rejected = extract_optimal.optimal_extract(cube, err, profile)
    assert rejected >= 1
    inside = (profile > 0).sum(axis=1)
    expected = np.array([frame[r][profile[r] > 0].sum() for r in range(frame.shape[0])])
    rel = (np.median(f_opt, axis=0) - expected) / expected
    assert abs(np.median(rel)) < 2e-3 and inside.min() > 0
    assert abs(f_opt[5, 100] - expected[100]) < 5 * e_opt[5, 100]
    f_box, _ = extract_box.box_extract(cube, err, centre, 12.0)
    assert np.std(f_opt[:, 150]) < np.std(f_box[:, 150])
    pull = (f_opt[:, 150] - expected[150]) / e_opt[:, 150]
    assert 0.85 < np.std(pull) < 1.15


def test_a_static_residual_under_the_trace_does_not_dilute_the_optimal_transit():
    """A flat wrong by 2 % per pixel leaves −ε·B of a 100 DN/s background under a faint
    trace (11 µm-like: 60 DN/s per row).  A profile taken from the deep frame as it is
    carries that residual into the weights, Σ P·r / V gains a positive-definite Σ r² / V,
    and the flux a static offset: depths 3 % too shallow.  Smoothed along the rows the
    profile no longer follows the pixels' residuals and the mean depth is right."""
    frame, centre, _ = curved_trace(amp=60.0)
    rng = np.random.default_rng(5)
    resid = (-0.02 * 100.0 * rng.standard_normal(frame.shape)).astype(np.float32)
    depth = 0.02
    cube = np.stack([frame + resid, (1 - depth) * frame + resid])  # out of, in transit
    err = np.sqrt(frame + 100.0 + 8.0**2).astype(np.float32)

    def mean_depth(smooth_rows):
        profile = extract_optimal.spatial_profile(cube[0], centre, 6.0, smooth_rows)
        flux, _, _ = extract_optimal.optimal_extract(cube, err, profile, sigma_clip=1e9)
        measured = 1 - flux[1] / flux[0]
        return measured.mean() / depth, measured.std() / np.sqrt(measured.size) / depth

    raw, _ = mean_depth(None)
    smoothed, sem = mean_depth(extract_optimal.SMOOTH_ROWS)
    assert raw < 1 - 4 * sem
    assert abs(smoothed - 1) < 2 * sem


@pytest.mark.parametrize("method", ["median", "slope"])
def test_background_estimate_noise_is_in_the_extracted_errors(method):
    """Background-only rows: the subtracted estimate's noise is common to the aperture, so the
    extracted errors describe the scatter only with it (w² · bkg var)."""
    from exolrs.stage2.background import (
        estimate_variance,
        header_keywords,
        subtract_background,
        variance_from_header,
    )

    rng = np.random.default_rng(7)
    n, ny, nx, sigma = 400, 40, 72, 2.0
    cube = (5.0 + sigma * rng.standard_normal((n, ny, nx))).astype(np.float32)
    err = np.full(cube.shape, sigma, np.float32)
    sub, _ = subtract_background(cube, 36.0, method)
    centres = np.full(ny, 36.0)
    header = {"TRACE_X": 36.0, **{k: v[0] for k, v in header_keywords(method, 20, 14).items()}}
    bkg_var = variance_from_header(err, header)
    np.testing.assert_array_equal(bkg_var, estimate_variance(err, 36.0, method))
    for extract in ("box", "optimal"):
        if extract == "box":
            f0, e0 = extract_box.box_extract(sub, err, centres, 6.0)
            f1, e1 = extract_box.box_extract(sub, err, centres, 6.0, bkg_var=bkg_var)
        else:
            profile = np.zeros((ny, nx))
            profile[:, 33:40] = [0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05]
            f0, e0, _ = extract_optimal.optimal_extract(sub, err[0], profile)
            f1, e1, _ = extract_optimal.optimal_extract(sub, err[0], profile, bkg_var=bkg_var)
        np.testing.assert_array_equal(f0, f1)
        scatter = np.std(f1, axis=0)
        assert np.median(scatter / e1[0]) == pytest.approx(1.0, abs=0.05)
        assert np.median(scatter / e0[0]) > 1.06
    assert variance_from_header(err, {"TRACE_X": 36.0}) is None


def test_a_nan_pixel_in_one_integration_is_made_up_for_with_the_profile():
    """A pixel flagged in one integration alone must not read as missing flux (box extraction
    counted it as zero: a third of the row's flux at the trace's peak)."""
    from exolrs.stage3.extract_box import box_extract

    x = np.arange(72)
    profile = np.exp(-0.5 * ((x - 36.2) / 1.1) ** 2)[None, :].repeat(20, axis=0)
    cube = (1000.0 * profile[None] * np.ones((6, 1, 1))).astype(np.float32)
    err = np.ones_like(cube)
    centres = np.full(20, 36.2)
    cube[3, 5, 36] = np.nan
    naive, _ = box_extract(cube, err, centres, 6.0)
    assert naive[3, 5] / naive[0, 5] < 0.75  # the hole as it was
    flux, ferr = box_extract(cube, err, centres, 6.0, profile=profile)
    np.testing.assert_allclose(flux[3, 5], flux[0, 5], rtol=1e-5)
    assert ferr[3, 5] > ferr[0, 5]  # the made-up flux is less certain
    np.testing.assert_array_equal(flux[:, 6:], naive[:, 6:])  # rows without a hole unchanged
