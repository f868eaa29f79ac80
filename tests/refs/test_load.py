"""Loaders return the simulator's truth, cut to the subarray, with clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import exolrs.refs as R
from exolrs.errors import ExolrsError
from exolrs.simulate.config import NCOLS, NROWS


@pytest.fixture(scope="module")
def header(tiny_sim):
    return dict(fits.getheader(tiny_sim["uncal"][0]))


@pytest.fixture(scope="module")
def refs(tiny_sim):
    return tiny_sim["refs"]


def test_shapes_and_types(refs, header):
    shape = (NROWS, NCOLS)
    assert R.load_mask(refs["mask"], header).dtype == np.uint32
    sat, _ = R.load_saturation(refs["saturation"], header)
    assert sat.shape == shape and 40000 < np.median(sat) < 70000
    lin, _ = R.load_linearity(refs["linearity"], header)
    assert lin.shape == (4, *shape) and np.allclose(lin[1], 1.0)
    dark, _ = R.load_dark(refs["dark"], header)
    assert dark.shape == (2, 10, *shape)
    assert R.load_reset(refs["reset"], header)[0].shape == (2, 10, *shape)
    assert 4 < np.median(R.load_gain(refs["gain"], header)) < 7
    assert 3 < np.median(R.load_readnoise(refs["readnoise"], header)) < 10
    flat, _, _ = R.load_flat(refs["flat"], header)
    assert 0.9 < np.median(flat) < 1.1


def test_specwcs_in_subarray_coordinates(refs, header):
    w = R.load_specwcs(refs["specwcs"], header)
    assert np.all(np.diff(w["y_center"]) > 0)
    # the in-flight solution, placed as jwst places it (rows 7–394; 5 µm near row 386)
    assert (w["y_center"][0], w["y_center"][-1]) == (7.0, 394.0)
    row_5 = np.interp(5.0, w["wavelength"][::-1], w["y_center"][::-1])
    assert 384 < row_5 < 388
    assert np.all(np.abs(w["x_center"] - 37.2) < 1)


def test_emicorr_waveforms(refs, header):
    emi = R.load_emicorr(refs["emicorr"], header)
    assert list(emi) == ["Hz390"]
    freq, wave = emi["Hz390"]
    assert freq == pytest.approx(390.625) and wave.ndim == 1
    assert R.load_emicorr(refs["emicorr"], {**header, "SUBARRAY": "SUB64"}) == {}


def test_full_frame_reference_is_cut(tmp_path, header):
    full = np.arange(1024 * 1032, dtype=np.float32).reshape(1024, 1032)
    primary = fits.PrimaryHDU()
    primary.header.update(SUBSTRT1=1, SUBSTRT2=1, SUBSIZE1=1032, SUBSIZE2=1024)
    path = tmp_path / "gain_full.fits"
    fits.HDUList([primary, fits.ImageHDU(full, name="SCI")]).writeto(path)
    cut = R.load_gain(path, header)
    np.testing.assert_array_equal(cut, full[528 : 528 + 416, 0:72])


def test_reference_not_covering_subarray(tmp_path, header):
    primary = fits.PrimaryHDU()
    primary.header.update(SUBSTRT1=1, SUBSTRT2=1, SUBSIZE1=64, SUBSIZE2=64)
    path = tmp_path / "gain_sub64.fits"
    fits.HDUList([primary, fits.ImageHDU(np.ones((64, 64), np.float32), name="SCI")]).writeto(path)
    with pytest.raises(ExolrsError, match="give a reference for subarray SLITLESSPRISM"):
        R.load_gain(path, header)


def test_dark_with_too_few_groups(refs, header):
    with pytest.raises(ExolrsError, match="has 10 groups but the exposure has 40"):
        R.load_dark(refs["dark"], {**header, "NGROUPS": 40})


def test_unreadable_reference(tmp_path, header):
    bad = tmp_path / "bad.fits"
    bad.write_text("garbage")
    with pytest.raises(ExolrsError, match="cannot read reference file"):
        R.load_mask(bad, header)


def test_reference_of_another_reftype_is_refused(refs, header):
    with pytest.raises(ExolrsError, match="is a MASK reference but was given as the 'dark'"):
        R.load_dark(refs["mask"], header)
    with pytest.raises(ExolrsError, match="references: flat:"):
        R.load_specwcs(refs["flat"], header)
