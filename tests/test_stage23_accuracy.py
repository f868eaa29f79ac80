"""Stages 2 and 3 on the `small` simulation against the injected truth."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from astropy.table import Table

from exolrs.io import read_hot_pixel_map, read_integrations_product
from exolrs.io.spectra import read_deep_frame, read_spectra
from exolrs.simulate import scene
from exolrs.simulate.config import preset
from exolrs.simulate.core import _Model
from exolrs.stage2.background import background_columns
from exolrs.stage3.extract_box import aperture_weights


@pytest.fixture(scope="module")
def reduced(small_stage23):
    s2, s3 = small_stage23
    return s2, s3, _Model(preset("small", seed=2))


def test_products_exist(reduced):
    s2, s3, _ = reduced
    assert len(s2.calints) == 3 and all(p.exists() for p in s2.calints)
    assert s3["box"].spectra.name == "W_box_spectra_fullres.fits"
    assert s3["box"].centroids.exists() and s2.figures and s3["box"].figures
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm = pytest.importorskip("stdatamodels.jwst.datamodels")
        with dm.open(s2.calints[0]) as model:
            assert model.data.shape[1:] == (416, 72)


def test_wavelengths_match_the_reference(reduced, small_sim):
    s2, _, _ = reduced
    _, wl = read_deep_frame(s2.deep_frame)
    rows = Table.read(small_sim["outdir"] / "truth_rows.ecsv")
    ok = np.isfinite(wl)
    assert np.flatnonzero(ok)[[0, -1]].tolist() == [7, 394]  # jwst's rows for SPECWCS 0006
    # the simulator interpolates the table (PCHIP), jwst's WCS smooths it (spline, s = 0.002):
    # two models of the same table, which agree to a few nm over 5–12 µm
    band = ok & (rows["wavelength"] >= 5) & (rows["wavelength"] <= 12)
    diff = np.abs(wl[band] - rows["wavelength"][band])
    assert diff.max() < 0.005 and np.median(diff) < 0.002


def test_new_hot_pixels_found(reduced, small_sim):
    s2, _, _ = reduced
    truth = json.loads((small_sim["outdir"] / "truth.json").read_text())
    hot = read_hot_pixel_map(s2.hot_pixel_map)
    new = np.zeros(hot.shape, bool)
    new[tuple(np.array(truth["hot_pixels_new"]).T)] = True
    known = np.zeros(hot.shape, bool)
    for key in ("hot_pixels_known", "dead_pixels"):
        known[tuple(np.array(truth[key]).T)] = True
    assert new.sum() >= 20
    assert (hot & new).sum() >= 0.95 * new.sum()
    assert (hot & ~new & ~known).sum() < 0.005 * (~new & ~known).sum()


def test_background_leaves_only_the_stars_own_wings(reduced):
    s2, _, model = reduced
    cube = read_integrations_product(s2.calints)
    cols = background_columns(s2.trace_x, 72)
    star = scene.star_rate_cube(model.lc, model.dx, model.dy, model.cfg)
    leak = np.median(star[..., cols], axis=-1, keepdims=True)  # PSF wings under the sky
    resid = cube.sci[..., cols] - star[..., cols] + leak
    sem = np.nanstd(resid) / np.sqrt(np.isfinite(resid).sum())
    assert abs(np.nanmean(resid)) < 0.02 + 5 * sem


def test_trace_centroids_and_drift(reduced, small_sim):
    _, s3, model = reduced
    rows = Table.read(small_sim["outdir"] / "truth_rows.ecsv")
    cen = np.loadtxt(s3["box"].centroids, delimiter=",", skiprows=1)[:, 1]
    signal = rows["star_rate"] * rows["subarray_fraction"]
    bright = signal > 0.2 * signal.max()
    expected = rows["trace_x"] + np.median(model.dx)
    assert np.max(np.abs(cen - expected)[bright]) < 0.05
    spec = read_spectra(s3["box"].spectra)
    assert np.std(spec.x_shift - (model.dx - np.median(model.dx))) < 0.01


def test_extracted_spectrum_matches_the_injected_one(reduced):
    s2, s3, model = reduced
    spec = read_spectra(s3["box"].spectra)
    _deep, wl = read_deep_frame(s2.deep_frame)
    cen = np.loadtxt(s3["box"].centroids, delimiter=",", skiprows=1)[:, 1]
    star = scene.star_rate_cube(model.lc, model.dx, model.dy, model.cfg)
    w = aperture_weights(cen, 6.0, 72)
    # what the tutorial's background method leaves: the star's wings under the sky columns
    # are removed along with the sky, from every column of the aperture
    leak = np.median(star[..., background_columns(s2.trace_x, 72)], axis=-1)
    expected = np.einsum("iyx,yx->iy", star, w) - leak * w.sum(axis=1)
    order = np.argsort(wl)
    order = order[np.isin(wl[order], spec.wave)]
    exp_rows = expected[:, order][5:]
    bright = np.median(exp_rows, axis=0) > 100
    rel = (spec.flux[5:, bright] - exp_rows[:, bright]) / exp_rows[:, bright]
    assert abs(np.median(rel)) < 1e-3
    # per wavelength, the time-averaged deviation is consistent with the noise
    sem = np.std(rel, axis=0) / np.sqrt(rel.shape[0])
    assert np.median(np.abs(rel.mean(axis=0)) / sem) < 2


def test_optimal_extraction_is_at_least_as_quiet_as_box(reduced, small_sim):
    _, s3, _ = reduced
    truth = Table.read(small_sim["outdir"] / "truth_pointing.ecsv")
    model_lc = np.asarray(truth["transit_white"] * truth["systematics_white"])

    def scatter(path):
        s = read_spectra(path)
        sel = (s.wave > 5) & (s.wave < 12)
        white = s.flux[:, sel].sum(axis=1) / model_lc
        white /= np.median(white)
        return np.std(np.diff(white[5:])) / np.sqrt(2)

    assert scatter(s3["optimal"].spectra) <= 1.01 * scatter(s3["box"].spectra)


def test_measured_y_drift_matches_the_injected_one(reduced, small_sim):
    """Per integration the y shift is photon-limited: its error against the truth matches the
    reported uncertainty; the slow drift (means over 25 integrations) is good to < 0.01 px."""
    _, s3, _ = reduced
    spec = read_spectra(s3["box"].spectra)
    truth = Table.read(small_sim["outdir"] / "truth_pointing.ecsv")
    dy = np.asarray(truth["dy"])
    # the shift is relative to the median spectrum: compare after removing the mean
    err = (spec.y_shift - spec.y_shift.mean()) - (dy - dy.mean())
    from exolrs.stage3.align import measure_drift

    sigma = measure_drift(spec.flux, spec.flux_err).shift_err
    assert np.corrcoef(spec.y_shift[5:], dy[5:])[0, 1] > 0.5
    assert 0.8 < np.std(err / sigma) < 1.25
    blocks = err[: len(err) // 25 * 25].reshape(-1, 25).mean(axis=1)
    assert np.std(blocks) < 0.01
    assert np.ptp(dy) > 0.04  # the injected drift is there to be measured
