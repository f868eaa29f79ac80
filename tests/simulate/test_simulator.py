"""The simulator: layout, physics with known answers, independence from the reduction."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.timeseries import LombScargle

import exolrs.simulate as sim
from exolrs.errors import ExolrsError
from exolrs.simulate.config import FRAMECLOCKS, PIXEL_CLOCK_S, ROWCLOCKS, TFRAME, preset
from exolrs.simulate.core import _Model
from exolrs.simulate.detector import simulate_ramps


def quiet_config(**detector_changes):
    """`tiny` with every random or electronic term off unless re-enabled."""
    cfg = preset("tiny", seed=3)
    det = dict(
        poisson=False,
        read_noise_dn=0.0,
        cr_rate_per_pixel_s=0.0,
        emi_amplitudes_dn=(0.0, 0.0, 0.0),
        rscd_fraction=0.0,
        reset_anomaly_dn=0.0,
        reset_anomaly_first_int_dn=0.0,
    )
    det.update(detector_changes)
    cfg.detector = dataclasses.replace(cfg.detector, **det)
    return cfg


def test_tiny_files_have_the_level1b_layout(tiny_sim):
    files = tiny_sim["uncal"]
    assert [f.name for f in files] == [
        f"jw09999001001_04103_00001-seg{k:03d}_mirimage_uncal.fits" for k in (1, 2, 3)
    ]
    starts = []
    for k, path in enumerate(files, start=1):
        with fits.open(path) as hdul:
            h = hdul[0].header
            assert (h["INSTRUME"], h["DETECTOR"], h["FILTER"]) == ("MIRI", "MIRIMAGE", "P750L")
            assert (h["SUBARRAY"], h["EXP_TYPE"], h["READPATT"]) == (
                "SLITLESSPRISM",
                "MIR_LRS-SLITLESS",
                "FASTR1",
            )
            assert (h["NINTS"], h["NGROUPS"], h["EXSEGNUM"], h["EXSEGTOT"]) == (24, 10, k, 3)
            assert h["TFRAME"] == pytest.approx(0.15904)
            sci = hdul["SCI"]
            assert sci.data.dtype == np.uint16
            n = h["INTEND"] - h["INTSTART"] + 1
            assert sci.data.shape == (n, 10, 416, 72)
            assert hdul["PIXELDQ"].data.shape == (416, 72)
            assert hdul["GROUPDQ"].data.shape == (n, 10, 416, 72)
            it = hdul["INT_TIMES"].data
            assert list(it["integration_number"]) == list(range(h["INTSTART"], h["INTEND"] + 1))
            assert np.all(np.diff(it["int_mid_BJD_TDB"]) > 0)
            starts.append(h["INTSTART"])
    assert starts == [1, 11, 21]
    assert not list(Path(files[0]).parent.glob("*.part"))


def test_jwst_datamodels_open_the_segments(tiny_sim):
    datamodels = pytest.importorskip("stdatamodels.jwst.datamodels")
    with datamodels.RampModel(str(tiny_sim["uncal"][1])) as model:
        assert model.data.shape == (10, 10, 416, 72)
        assert model.meta.instrument.name == "MIRI"
        assert model.meta.exposure.integration_start == 11
        assert model.meta.subarray.name == "SLITLESSPRISM"


def test_truth_files(tiny_sim):
    out = tiny_sim["outdir"]
    truth = Table.read(out / "truth.ecsv")
    assert truth["wavelength"].min() <= 5 and truth["wavelength"].max() >= 12
    assert np.all((truth["depth"] > 0.015) & (truth["depth"] < 0.03))
    info = json.loads((out / "truth.json").read_text())
    assert info["nints"] == 24 and info["orbit"]["a_rs"] > 1
    assert len(info["hot_pixels_new"]) > 0 and len(info["hot_pixels_known"]) > 0
    rows = Table.read(out / "truth_rows.ecsv")
    assert len(rows) == 416
    assert np.all(np.diff(rows["wavelength"]) < 0)  # short wavelengths at high rows
    assert (out / "exolrs.yaml").read_text().startswith("# exolrs run file")


def test_noiseless_ramp_returns_injected_flux_through_the_linearity():
    cfg = quiet_config()
    model = _Model(cfg)
    rng = np.random.default_rng(0)
    raw = simulate_ramps(model.rate(2, 4), model.rate(1, 2)[0], 2, model.maps, cfg, rng)[0]
    c = model.maps.nonlin.astype(np.float64)
    r = raw.astype(np.float64)
    linear = c[0] + r * (c[1] + r * (c[2] + r * c[3]))
    g = np.arange(cfg.ngroups) * TFRAME
    slope = np.polyfit(g, linear.reshape(2, cfg.ngroups, -1)[0], 1)[0].reshape(416, 72)
    expected = model.rate(2, 3)[0] + model.maps.dark_rate
    bright = expected > 200.0
    assert bright.sum() > 150  # the trace core (in-flight dispersion: ~200 such pixels)
    rel = (slope[bright] - expected[bright]) / expected[bright]
    # Rounding to integer DN is the only error left: ±0.29 DN per read.
    assert np.median(np.abs(rel)) < 1e-3
    assert np.abs(rel).max() < 0.02


def test_noise_variance_matches_formula():
    cfg = quiet_config(poisson=True, read_noise_dn=6.0)
    cfg.nints, cfg.ngroups = 60, 10
    model = _Model(cfg)
    rng = np.random.default_rng(1)
    raw = simulate_ramps(model.rate(1, 61), model.rate(0, 1)[0], 1, model.maps, cfg, rng)[0]
    diff = np.diff(raw.astype(np.float64), axis=1)[:, 3:]  # skip nothing deterministic
    measured = diff.var(axis=0, ddof=1).mean(axis=0)  # per pixel, averaged over groups
    m = model.maps
    rate = model.rate(1, 61).mean(axis=0) + m.dark_rate
    mid = m.bias + rate * TFRAME * 6
    c = m.nonlin
    slope = 1.0 / (c[1] + 2 * c[2] * mid + 3 * c[3] * mid**2)  # d raw / d linear
    predicted = rate * TFRAME / m.gain * slope**2 + 2 * m.read_noise**2 + 1.0 / 6  # + rounding
    good = ~m.dead & ~m.hot_known & ~m.hot_new
    ratio = measured[good] / predicted[good]
    assert abs(np.median(ratio) - 1.0) < 0.02
    bright = good & (rate > 300)
    assert abs(np.median(measured[bright] / predicted[bright]) - 1.0) < 0.05


def test_emi_lines_in_the_periodogram_of_reads():
    cfg = quiet_config(read_noise_dn=6.0, emi_amplitudes_dn=(3.0, 1.0, 0.5))
    cfg.ngroups = 20
    model = _Model(cfg)
    rng = np.random.default_rng(2)
    raw = simulate_ramps(model.rate(1, 2), model.rate(0, 1)[0], 1, model.maps, cfg, rng)[0][0]
    # Background columns only; remove each pixel's ramp (linear fit) to keep the EMI.
    cols = np.r_[0:12, 60:72]
    data = raw[:, :, cols].astype(np.float64)
    g = np.arange(cfg.ngroups)
    coef = np.polyfit(g, data.reshape(cfg.ngroups, -1), 1)
    resid = data.reshape(cfg.ngroups, -1) - np.outer(g, coef[0]) - coef[1]
    y = np.arange(416)[None, :, None]
    k = (cols // 4)[None, None, :]
    clocks = (1 * (cfg.ngroups + 1) + g[:, None, None]) * FRAMECLOCKS + y * ROWCLOCKS + k
    t = (clocks * PIXEL_CLOCK_S).ravel()
    freqs = np.array([390.625, 781.25, 1171.875, 300.0, 500.0, 650.0, 900.0, 1050.0])
    power = LombScargle(t, resid.ravel()).power(freqs)
    lines, background = power[:3], power[3:]
    assert np.all(lines > 20 * background.max())
    assert lines[0] > lines[1] > lines[2]


def test_cosmic_ray_rate_matches_configuration():
    cfg = quiet_config(read_noise_dn=6.0, cr_rate_per_pixel_s=2e-4)
    cfg.nints = 40
    model = _Model(cfg)
    rng = np.random.default_rng(4)
    raw, hits = simulate_ramps(model.rate(0, 40), None, 0, model.maps, cfg, rng)
    expected = 2e-4 * cfg.ngroups * TFRAME * 416 * 72 * 40
    assert abs(len(hits) - expected) < 5 * np.sqrt(expected)
    # Each primary hit is a step in its pixel's ramp at the recorded group.
    jumps = np.diff(raw.astype(np.float64), axis=1)
    seen = [jumps[i, g - 1, y, x] > 0.5 * a for i, g, y, x, a in hits if a > 100]
    assert np.mean(seen) > 0.95


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ExolrsError, match=r"unknown simulation preset 'huge'.*tiny, small"):
        preset("huge")


def test_simulator_never_imports_reduction_code():
    pkg = Path(sim.__file__).parent
    allowed = ("exolrs.simulate", "exolrs.errors")
    for path in pkg.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("exolrs"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"


def test_same_seed_same_data(tmp_path, tiny_sim):
    again = sim.simulate_tso(tmp_path, "tiny", seed=1)
    a = fits.getdata(tiny_sim["uncal"][2], "SCI")
    b = fits.getdata(again["uncal"][2], "SCI")
    assert np.array_equal(a, b)


def test_reference_files_carry_the_simulated_detector(tiny_sim):
    """The calibration the reduction loads is the detector the simulator used."""
    from stdatamodels.jwst import datamodels as dm

    model = _Model(preset("tiny", seed=1))
    m, refs = model.maps, tiny_sim["refs"]
    with dm.open(refs["linearity"]) as lin:
        np.testing.assert_array_equal(lin.coeffs, m.nonlin)
    with dm.open(refs["saturation"]) as sat:
        np.testing.assert_array_equal(sat.data, m.saturation)
    with dm.open(refs["gain"]) as gain, dm.open(refs["readnoise"]) as rn:
        np.testing.assert_array_equal(gain.data, m.gain)
        np.testing.assert_allclose(rn.data, m.read_noise * np.sqrt(2), rtol=1e-6)  # CDS noise
    with dm.open(refs["mask"]) as mask:
        flagged = (mask.dq & 1).astype(bool)
        np.testing.assert_array_equal(flagged, m.hot_known | m.dead)
        assert not flagged[m.hot_new].any()  # new hot pixels are for BadPix to find
    with dm.open(refs["dark"]) as dark:
        assert dark.data.shape == (2, 10, 416, 72)
        # first integration's reset anomaly is larger than the later ones'
        assert np.median(dark.data[0, 0] - dark.data[1, 0]) > 0
        assert dark.meta.subarray.name == "SLITLESSPRISM"
    with dm.open(refs["specwcs"]) as wcs:
        # the in-flight table (SPECWCS 0006) in the CRDS convention: offsets from IMXSLTL/IMYSLTL
        assert wcs.wavetable["wavelength"].min() < 4 and wcs.wavetable["wavelength"].max() > 13.9
        assert (wcs.meta.x_ref_slitless, wcs.meta.y_ref_slitless) == (38.5, 829.0)
    with dm.open(refs["emicorr"]) as emi:
        assert emi.frequencies.Hz390.frequency == pytest.approx(390.625)
        assert list(emi.subarray_cases.SLITLESSPRISM.freqs.FAST) == ["Hz390"]


def test_dark_and_reset_references_carry_what_calwebb_detector1_reads(tiny_sim):
    """NINTS/NGROUPS in the headers and one DQ plane per dark integration plane (the jwst
    pipeline's reset and dark steps fail without them)."""
    from astropy.io import fits

    for reftype in ("dark", "reset"):
        with fits.open(tiny_sim["refs"][reftype]) as h:
            nints, ngroups = h["SCI"].data.shape[:2]
            assert (h[0].header["NINTS"], h[0].header["NGROUPS"]) == (nints, ngroups)
            if reftype == "dark":
                assert h["DQ"].data.shape == (nints, 1, *h["SCI"].data.shape[2:])


def test_segments_carry_the_asdf_extension_jwst_reads(tiny_sim):
    import warnings

    from astropy.io import fits

    stdatamodels = pytest.importorskip("stdatamodels.jwst.datamodels")
    path = tiny_sim["uncal"][0]
    with fits.open(path) as h:
        assert "ASDF" in h
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with stdatamodels.open(path) as model:
            assert type(model).__name__ == "Level1bModel"
            assert model.data.shape[0] == model.meta.exposure.integration_end - (
                model.meta.exposure.integration_start - 1
            )
