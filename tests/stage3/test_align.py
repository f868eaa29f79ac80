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
    d = measure_drift(flux, err, reference=ref)
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
