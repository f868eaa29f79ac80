"""Spectral drift measurement on synthetic spectra with known shifts and stretches."""

from __future__ import annotations

import numpy as np

from exolrs.stage3.align import measure_drift, resample


def spectra(shifts, stretches, noise=0.002, seed=0):
    rng = np.random.default_rng(seed)
    k = np.arange(300, dtype=float)
    kc = 149.5

    def ref(x):
        return 1000 * (1 + 0.3 * np.sin(x / 7.0) + 0.2 * np.exp(-0.5 * ((x - 120) / 3) ** 2))

    flux = np.stack([ref(k - s - e * (k - kc)) for s, e in zip(shifts, stretches, strict=True)])
    err = noise * flux
    return flux + rng.standard_normal(flux.shape) * err, err, ref(k)


def test_shifts_and_stretches_recovered_with_honest_errors():
    rng = np.random.default_rng(1)
    shifts = 0.05 * rng.standard_normal(200)
    stretches = 2e-4 * rng.standard_normal(200)
    flux, err, ref = spectra(shifts, stretches)
    d = measure_drift(flux, err, reference=ref, fit_stretch=True)
    assert np.std(d.shift - shifts) < 0.01
    assert np.std(d.stretch - stretches) < 5e-5
    pull = (d.shift - shifts) / d.shift_err
    assert 0.7 < np.std(pull) < 1.3


def test_no_drift_measures_zero_and_resampling_changes_nothing():
    flux, err, ref = spectra(np.zeros(50), np.zeros(50))
    d = measure_drift(flux, err, reference=ref, fit_stretch=False)
    assert abs(np.mean(d.shift)) < 3 * np.median(d.shift_err) / np.sqrt(50)
    moved, _ = resample(flux, err, d)
    inner = slice(5, -5)
    assert np.nanmax(np.abs(moved[:, inner] - flux[:, inner]) / flux[:, inner]) < 0.01


def test_resampling_aligns_shifted_spectra():
    flux, err, ref = spectra(np.array([0.4, -0.3]), np.zeros(2), noise=1e-5)
    d = measure_drift(flux, err, reference=ref, fit_stretch=False)
    moved, _ = resample(flux, err, d)
    inner = slice(10, -10)
    assert np.max(np.abs(moved[:, inner] - ref[inner]) / ref[inner]) < 1e-3


def test_align_step_on_a_spectra_object(tmp_path):
    from exolrs import stage3
    from exolrs.io.spectra import Spectra, read_spectra

    shifts = np.array([0.0, 0.3, -0.2, 0.1])
    flux, err, _ref = spectra(shifts, np.zeros(4), noise=1e-4)
    wave = np.linspace(5, 12, flux.shape[1])
    spec = Spectra(wave, np.full(len(wave), 0.01), flux, err, np.arange(4.0) / 1440)
    step = stage3.AlignSpectraStep(spec, output_dir=tmp_path)
    out = step.run(resample=True, fit_stretch=False, do_plot=True)
    # y shift is minus the index shift (spectra run towards shorter rows)
    np.testing.assert_allclose(
        out.y_shift - out.y_shift.mean(), -(shifts - shifts.mean()), atol=0.01
    )
    inner = slice(10, -10)
    spread = np.std(out.flux[:, inner] / out.flux[0, inner], axis=0).max()
    assert spread < 2e-3  # aligned onto one grid
    assert (tmp_path / "spectra_aligned.fits").exists() and step.figures[0].exists()
    saved = read_spectra(tmp_path / "spectra_aligned.fits")
    np.testing.assert_allclose(saved.y_shift, out.y_shift)


def test_stage3_align_modes(tmp_path, tiny_sim):
    from exolrs.config import Stage1Config
    from exolrs.io.spectra import read_spectra
    from exolrs.stage1.engine import run_stage1
    from exolrs.stage2.engine import run_stage2
    from exolrs.stage3.engine import run_stage3

    rate = run_stage1(
        tiny_sim["uncal"],
        tmp_path / "s1",
        params=Stage1Config(miri_drop_groups=2),
        references=tiny_sim["refs"],
    )
    s2 = run_stage2(rate, tmp_path / "s2", target="T", references=tiny_sim["refs"], do_plot=False)
    off = run_stage3(s2.calints, s2.deep_frame, tmp_path / "off", target="T", align="off")
    assert read_spectra(off.spectra).y_shift is None
    res = run_stage3(s2.calints, s2.deep_frame, tmp_path / "res", target="T", align="resample")
    assert (tmp_path / "res" / "T_optimal_spectra_fullres_unaligned.fits").exists()
    assert (tmp_path / "res" / "T_drift.png").exists()
    assert read_spectra(res.spectra).y_shift is not None


def _edge_spectra(shifts, noise, seed=3):
    """A spectrum whose steepest, brightest part is its first rows (MIRI/LRS's blue end),
    shifted by `shifts` (px), with Gaussian noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(200, dtype=float)

    def ref(x):
        return 2000 * np.exp(-x / 1.5) + 300 * np.exp(-x / 150.0)

    flux = np.stack([ref(k - s) for s in shifts])
    err = noise * np.sqrt(flux)
    return flux + rng.standard_normal(flux.shape) * err, err, ref(k)


def test_the_bright_first_rows_are_used_for_the_shift():
    """Most of the shift's information is in the first three rows here: left out (as
    before), the shifts' scatter would be over twice what using them gives."""
    rng = np.random.default_rng(2)
    shifts = 0.01 * rng.standard_normal(300)
    flux, err, ref = _edge_spectra(shifts, noise=0.3)  # 0.01 px rms precision
    d = measure_drift(flux, err, reference=ref)
    used = np.std(d.shift - shifts)
    inner = slice(3, None)  # what a solve on the rows from the fourth on achieves
    without = measure_drift(flux[:, inner], err[:, inner], reference=ref[inner])
    assert used < 0.4 * np.std(without.shift - shifts)
    assert 0.7 < np.std((d.shift - shifts) / d.shift_err) < 1.3


def test_a_drift_of_pixels_keeps_its_spline_off_the_ends():
    shifts = np.array([0.0, 2.4, -2.1, 1.0])
    flux, err, ref = spectra(shifts, np.zeros(4), noise=1e-4)
    d = measure_drift(flux, err, reference=ref)
    assert np.max(np.abs(d.shift - shifts)) < 0.01
