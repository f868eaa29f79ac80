"""MASK, RESET, GAIN and READNOISE read and applied as jwst does: jwst's own step functions
(dq_init, reset) and reference-model subarray extraction on the same inputs and files."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

import exolrs.refs as R
from exolrs.stage1.dark import dark_pixel_dq
from exolrs.stage1.dq_init import init_dq
from exolrs.stage1.reset import subtract_reset

SUB = {"SUBSTRT1": 1, "SUBSTRT2": 529, "SUBSIZE1": 72, "SUBSIZE2": 416, "NGROUPS": 8}


def _ramp_model(data, gdq=None):
    m = dm.RampModel(data=data.copy())
    if gdq is not None:
        m.groupdq = gdq.copy()
    m.pixeldq = np.zeros(data.shape[-2:], np.uint32)
    m.meta.instrument.name, m.meta.instrument.detector = "MIRI", "MIRIMAGE"
    m.meta.exposure.type = "MIR_LRS-SLITLESS"
    m.meta.exposure.nints, m.meta.exposure.ngroups = data.shape[:2]
    m.meta.exposure.integration_start, m.meta.exposure.integration_end = 1, data.shape[0]
    m.meta.subarray.name = "SLITLESSPRISM"
    m.meta.subarray.xstart, m.meta.subarray.ystart = 1, 529
    m.meta.subarray.xsize, m.meta.subarray.ysize = 72, 416
    return m


def _full_frame(path, model):
    """Write `model` as a full-frame reference (1032 × 1024), as CRDS MIRI ones are."""
    model.meta.instrument.name, model.meta.instrument.detector = "MIRI", "MIRIMAGE"
    model.meta.subarray.name = "FULL"
    model.meta.subarray.xstart, model.meta.subarray.ystart = 1, 1
    model.meta.subarray.xsize, model.meta.subarray.ysize = 1032, 1024
    model.save(path)
    return path


def test_mask_as_jwst_dq_init(tmp_path):
    from jwst.dq_init.dq_initialization import do_dqinit

    rng = np.random.default_rng(2)
    mask = (rng.random((1024, 1032)) < 0.01).astype(np.uint32) * np.uint32(1 | 2048)
    path = _full_frame(tmp_path / "mask.fits", dm.MaskModel(dq=mask))
    data = np.zeros((2, 8, 416, 72), np.float32)
    jw = do_dqinit(_ramp_model(data, np.zeros(data.shape, np.uint8)), dm.MaskModel(path))
    ours, _ = init_dq(np.zeros(data.shape, np.uint8), R.load_mask(path, SUB), flag_first_last=False)
    np.testing.assert_array_equal(ours, jw.pixeldq)
    # jwst also marks every group of a DO_NOT_USE pixel; exolrs keeps that in the pixel DQ,
    # which the ramp fit ORs into the rateints DQ: the same pixels end up DO_NOT_USE
    flagged = (jw.groupdq & 1).all(axis=(0, 1))
    np.testing.assert_array_equal(flagged, (ours & 1).astype(bool))


def test_reset_as_jwst_reset_sub(tmp_path):
    from jwst.reset.reset_sub import do_correction

    rng = np.random.default_rng(3)
    ref = rng.normal(0, 5, (2, 5, 1024, 1032)).astype(np.float32)  # fewer groups than data
    ref_dq = np.zeros((1024, 1032), np.uint32)
    ref_dq[600, 10] = 4
    model = dm.ResetModel(data=ref, dq=ref_dq, err=np.zeros_like(ref))
    model.meta.exposure.nints, model.meta.exposure.ngroups = 2, 5
    path = _full_frame(tmp_path / "reset.fits", model)
    data = rng.normal(1000, 10, (3, 8, 416, 72)).astype(np.float32)
    from jwst.lib.reffile_utils import get_subarray_model

    sci = _ramp_model(data)
    jw = do_correction(sci, get_subarray_model(sci, dm.ResetModel(path)))  # as ResetStep
    reset, dq = R.load_reset(path, SUB)
    ours = subtract_reset(data, reset, int_start=0)
    np.testing.assert_allclose(ours, jw.data, atol=1e-3)
    np.testing.assert_array_equal(dark_pixel_dq(dq, (416, 72)), jw.pixeldq)


@pytest.mark.parametrize("reftype", ["gain", "readnoise"])
def test_gain_and_readnoise_cut_as_jwst(tmp_path, reftype):
    from jwst.lib.reffile_utils import get_subarray_model

    rng = np.random.default_rng(4)
    data = rng.normal(5.5 if reftype == "gain" else 8.5, 0.2, (1024, 1032)).astype(np.float32)
    model = dm.GainModel(data=data) if reftype == "gain" else dm.ReadnoiseModel(data=data)
    path = _full_frame(tmp_path / f"{reftype}.fits", model)
    cls = dm.GainModel if reftype == "gain" else dm.ReadnoiseModel
    with cls(path) as ref:
        jw = get_subarray_model(_ramp_model(np.zeros((1, 2, 416, 72), np.float32)), ref).data
    ours = (R.load_gain if reftype == "gain" else R.load_readnoise)(path, SUB)
    np.testing.assert_array_equal(ours, jw)
    assert fits.getheader(path)["SUBSTRT2"] == 1


@pytest.mark.parametrize(
    "subarray, readpatt", [("SLITLESSPRISM", "FASTR1"), ("FULL", "FASTR1"), ("SUB64", "SLOWR1")]
)
def test_emicorr_frequencies_selected_as_jwst(tmp_path, subarray, readpatt):
    from jwst.emicorr.emicorr import get_frequency_info, get_subarcase

    waves = {
        n: np.sin(np.linspace(0, 2 * np.pi, 500)) * (k + 1)
        for k, n in enumerate(("Hz390", "Hz218a", "Hz10"))
    }
    tree = {
        "frequencies": {
            n: {"frequency": f, "phase_amplitudes": waves[n]}
            for n, f in (("Hz390", 390.625), ("Hz218a", 218.52), ("Hz10", 10.039))
        },
        "subarray_cases": {
            "SLITLESSPRISM": {
                "rowclocks": 28,
                "frameclocks": 15904,
                "freqs": {"FAST": ["Hz390"], "SLOW": {"MIRIMAGE": ["Hz10"]}},
            },
            "FULL_FAST": {
                "rowclocks": 271,
                "frameclocks": 277504,
                "freqs": {"FAST": ["Hz390", "Hz218a"]},
            },
        },
    }
    model = dm.EmiModel()
    model.frequencies = tree["frequencies"]
    model.subarray_cases = tree["subarray_cases"]
    model.meta.instrument.name, model.meta.reftype = "MIRI", "EMICORR"
    path = tmp_path / "emicorr.asdf"
    model.save(path)
    with dm.EmiModel(path) as ref:
        _, _, _, names = get_subarcase(ref, subarray, readpatt, "MIRIMAGE")
        jw = {n: get_frequency_info(ref, n) for n in (names or [])}
        jw = {n: (f, np.array(w)) for n, (f, w) in jw.items()}
    ours = R.load_emicorr(
        path, {"SUBARRAY": subarray, "READPATT": readpatt, "DETECTOR": "MIRIMAGE"}
    )
    assert list(ours) == list(jw)
    for name, (freq, wave) in jw.items():
        assert ours[name][0] == freq
        np.testing.assert_allclose(ours[name][1], wave, rtol=1e-6)
