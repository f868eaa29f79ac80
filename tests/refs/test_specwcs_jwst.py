"""SPECWCS read as jwst reads it: the real in-flight reference, and jwst's own WCS as oracle.

jwst's `AssignWcsStep` (run offline in a subprocess, `tests/oracles/jwst_assign_wcs.py`) on
a calints written by exolrs' Stage 2 with the real SPECWCS 0006 and the real imager
DISTORTION gives the wavelength of every pixel; the calints' WAVELENGTH image must match it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import exolrs.refs as R
from exolrs.errors import ExolrsError
from exolrs.stage2.wavelength import row_wavelengths, wavelength_map

DATA = Path(__file__).parents[1] / "data"
SPECWCS = DATA / "jwst_miri_specwcs_0006.fits"
DISTORTION = DATA / "jwst_miri_imager_distortion_flt1.asdf"
ORACLE = Path(__file__).parents[1] / "oracles" / "jwst_assign_wcs.py"
SLITLESSPRISM = {
    "EXP_TYPE": "MIR_LRS-SLITLESS",
    "SUBARRAY": "SLITLESSPRISM",
    "SUBSTRT1": 1,
    "SUBSTRT2": 529,
    "SUBSIZE1": 72,
    "SUBSIZE2": 416,
}


def test_real_specwcs_lands_on_the_rows_jwst_gives():
    table = R.load_specwcs(SPECWCS, SLITLESSPRISM)
    assert (table["y_center"][0], table["y_center"][-1]) == (7.0, 394.0)
    lam = row_wavelengths(table, 416)
    assert np.flatnonzero(np.isfinite(lam))[[0, -1]].tolist() == [7, 394]
    assert lam[100] == pytest.approx(12.6657, abs=2e-4)  # jwst's WCS: 12.66574 µm
    wave = wavelength_map(table, 416, 72)
    assert np.isnan(wave[200, :4]).all() and np.isfinite(wave[200, 4:]).all()


def test_velosys_shifts_to_the_barycentre():
    table = R.load_specwcs(SPECWCS, SLITLESSPRISM)
    rest = row_wavelengths(table, 416)
    moving = row_wavelengths(table, 416, velosys=29_979.2458)  # v/c = 1e-4
    np.testing.assert_allclose(moving[7:395], rest[7:395] / 1.0001, rtol=1e-12)


def test_a_table_without_its_reference_position_is_refused(tmp_path):
    with fits.open(SPECWCS) as hdul:
        del hdul[0].header["IMXSLTL"]
        hdul.writeto(tmp_path / "old.fits")
    with pytest.raises(ExolrsError, match="IMXSLTL/IMYSLTL"):
        R.load_specwcs(tmp_path / "old.fits", SLITLESSPRISM)


@pytest.fixture(scope="module")
def calints_real_specwcs(tiny_sim, tmp_path_factory):
    from exolrs.config import Stage1Config
    from exolrs.stage1.engine import run_stage1
    from exolrs.stage2.engine import run_stage2

    out = tmp_path_factory.mktemp("real_specwcs")
    refs = {**tiny_sim["refs"], "specwcs": SPECWCS}
    rate = run_stage1(
        tiny_sim["uncal"], out / "S1", params=Stage1Config(miri_drop_groups=2), references=refs
    )
    return run_stage2(rate, out / "S2", target="T", references=refs, do_plot=False)


def test_calints_wavelength_equals_jwst_wcs(calints_real_specwcs, tmp_path):
    product = calints_real_specwcs.calints[0]
    out = tmp_path / "jwst_lambda.npy"
    run = subprocess.run(
        [sys.executable, str(ORACLE), str(product), str(SPECWCS), str(DISTORTION), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    jwst = np.load(out)
    ours = fits.getdata(product, "WAVELENGTH")
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(jwst))
    diff = np.abs(ours - jwst)[np.isfinite(jwst)]
    assert diff.max() <= 0.01 and np.median(diff) <= 0.002  # the bound
    assert diff.max() < 1e-5  # what is measured: float32 rounding
    # the deep frame's per-row wavelengths (Stage 3's) are the same
    deep_wave = fits.getdata(calints_real_specwcs.deep_frame, "WAVELENGTH")
    np.testing.assert_allclose(deep_wave, np.fmax.reduce(jwst, axis=1), atol=1e-5)


def test_stage3_on_the_real_specwcs(calints_real_specwcs, tmp_path):
    from exolrs.io.spectra import read_spectra
    from exolrs.stage3.engine import run_stage3

    s2 = calints_real_specwcs
    r3 = run_stage3(s2.calints, s2.deep_frame, tmp_path, target="T", do_plot=False)
    spec = read_spectra(r3.spectra)
    assert spec.wave[0] < 5.0 and spec.wave[-1] > 12.0  # the calibrated range is covered
    assert np.all(np.diff(spec.wave) > 0)
    band = (spec.wave > 5) & (spec.wave < 12)
    assert np.isfinite(spec.flux[:, band]).all() and (np.median(spec.flux[:, band]) > 0)
