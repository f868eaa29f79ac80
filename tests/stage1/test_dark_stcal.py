"""Dark subtraction and the dark's DQ, against stcal's `dark_sub` (the engine of jwst's
DarkCurrentStep) on the same ramps and the same MIRI 4-D dark."""

from __future__ import annotations

import numpy as np
from stcal.dark_current import dark_sub
from stcal.dark_current.dark_class import DarkData, ScienceData

from exolrs.stage1.dark import dark_pixel_dq, subtract_dark


def test_dark_data_and_dq_equal_stcal():
    rng = np.random.default_rng(4)
    nints, ngroups, ny, nx = 3, 6, 8, 5
    ramps = rng.normal(1000, 30, (nints, ngroups, ny, nx)).astype(np.float32)
    dark = rng.normal(5, 1, (2, ngroups, ny, nx)).astype(np.float32)  # first / later ints
    dark_dq = np.zeros((2, 1, ny, nx), np.uint32)  # one DQ plane per integration plane
    dark_dq[0, 0, 1, 2] = 1  # DO_NOT_USE in the first plane only
    dark_dq[1, 0, 4, 3] = 2048  # WARM in the later plane

    sci = ScienceData()
    sci.data, sci.groupdq = ramps.copy(), np.zeros(ramps.shape, np.uint8)
    sci.pixeldq = np.zeros((ny, nx), np.uint32)
    sci.pixeldq[0, 0] = 4
    sci.exp_nframes, sci.exp_groupgap, sci.exp_intstart = 1, 0, 1
    drk = DarkData()
    drk.data, drk.groupdq = dark.copy(), dark_dq
    drk.exp_nframes, drk.exp_ngroups, drk.exp_groupgap = 1, ngroups, 0
    out, _ = dark_sub.do_correction_data(sci, drk)

    ours = subtract_dark(ramps, dark, int_start=0)
    np.testing.assert_allclose(ours, out.data, rtol=0, atol=1e-4)
    pdq = np.zeros((ny, nx), np.uint32)
    pdq[0, 0] = 4
    pdq |= dark_pixel_dq(dark_dq, (ny, nx))
    np.testing.assert_array_equal(pdq, out.pixeldq)


def test_placeholder_or_missing_dark_dq_adds_nothing():
    assert not dark_pixel_dq(None, (3, 4)).any()
    assert not dark_pixel_dq(np.zeros((1, 1), np.uint32), (3, 4)).any()
