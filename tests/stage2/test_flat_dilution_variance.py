"""The flat's error on the subtracted background: a static offset under the trace whose
variance Stage 2 writes beside the deep frame (FLAT_VAR)."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.table import Table

from exolrs.stage2 import engine
from exolrs.stage2.flat_field import dilution_variance


def test_dilution_variance_is_background_times_the_relative_flat_error_squared():
    background = np.array([[100.0, 100.0, 50.0, 7.0]])
    flat = np.array([[2.0, 0.0, 1.0, np.nan]])  # a flat of 0 or NaN is not applied
    flat_err = np.array([[0.02, 0.02, 0.03, 0.01]])
    var = dilution_variance(background, flat, flat_err)
    np.testing.assert_allclose(var, [[1.0, 0.0, 2.25, 0.0]], rtol=1e-6)
    dq = np.array([[1, 0, 0, 0]], np.uint32)  # DO_NOT_USE in the flat's DQ: not applied
    assert dilution_variance(background, flat, flat_err, dq)[0, 0] == 0.0
    assert dilution_variance(background, flat, None) is None


def test_stage2_writes_the_flat_variance_of_the_background_it_subtracted(
    tiny_rateints, tiny_sim, tmp_path
):
    result = engine.run_stage2(
        tiny_rateints, tmp_path, target="T", references=tiny_sim["refs"], do_plot=False
    )
    with fits.open(result.deep_frame) as hdul:
        var = hdul["FLAT_VAR"].data
    truth = Table.read(tiny_sim["outdir"] / "truth_rows.ecsv")
    rows, background = np.asarray(truth["row"]), np.asarray(truth["background"])
    x0 = round(result.trace_x)
    # the simulated flat reference states a 0.2 % error per pixel: under the trace
    # sqrt(FLAT_VAR) / 0.002 is the background there
    measured = np.median(np.sqrt(var[rows, x0 - 3 : x0 + 4]), axis=1) / 0.002
    bright = background > np.percentile(background, 50)
    ratio = np.median(measured[bright] / background[bright])
    assert 0.8 < ratio < 1.2
    skipped = engine.run_stage2(
        tiny_rateints,
        tmp_path / "no_bkg",
        target="T",
        references=tiny_sim["refs"],
        do_plot=False,
        skip_steps=["background"],
    )
    with fits.open(skipped.deep_frame) as hdul:
        assert "FLAT_VAR" not in hdul  # nothing subtracted, no offset left


def test_relative_flat_error_is_zero_where_the_flat_is_not_applied():
    from exolrs.stage2.flat_field import relative_flat_error

    flat = np.array([[2.0, 0.0, 4.0, 1.0]])
    flat_err = np.array([[0.02, 0.02, 0.08, np.nan]])
    rel = relative_flat_error(flat, flat_err)
    assert rel.dtype == np.float32
    np.testing.assert_allclose(rel, [[0.01, 0.0, 0.02, 0.0]], rtol=1e-6)
    dq = np.array([[0, 0, 1, 0]], np.uint32)  # DO_NOT_USE in the flat's DQ
    np.testing.assert_allclose(relative_flat_error(flat, flat_err, dq), [[0.01, 0, 0, 0]])
