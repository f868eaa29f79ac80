"""FlatField against jwst's own `apply_flat_field` (CubeModel and FlatModel, same arrays):
data, ERR, VAR_POISSON, VAR_RNOISE, VAR_FLAT and DQ; and the flat's error kept out of the
per-integration errors the extraction uses."""

from __future__ import annotations

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm

from exolrs.io.products import calibrated_errors, per_integration_error
from exolrs.stage2 import flat_field


def _inputs(seed=5):
    rng = np.random.default_rng(seed)
    shape = (4, 10, 6)
    sci = rng.normal(500, 50, shape).astype(np.float32)
    vp = (sci / 5.5).astype(np.float32)
    vr = np.full(shape, 30.0, np.float32)
    err = np.sqrt(vp + vr).astype(np.float32)
    flat = rng.normal(1.0, 0.05, shape[1:]).astype(np.float32)
    flat[2, 3] = np.nan
    flat[5, 1] = 0.0
    flat_err = np.full(shape[1:], 0.01, np.float32)  # 1 % calibration error
    flat_dq = np.zeros(shape[1:], np.uint32)
    flat_dq[7, 4] = 1  # DO_NOT_USE: not applied
    dq = np.zeros(shape, np.uint32)
    return sci, err, dq, vp, vr, flat, flat_dq, flat_err


def test_flat_equals_jwst_apply_flat_field():
    from jwst.flatfield.flat_field import apply_flat_field

    sci, err, dq, vp, vr, flat, flat_dq, flat_err = _inputs()
    cube = dm.CubeModel(data=sci.copy(), err=err.copy(), dq=dq.copy())
    cube.var_poisson, cube.var_rnoise = vp.copy(), vr.copy()
    ref = dm.FlatModel(data=flat.copy(), dq=flat_dq.copy(), err=flat_err.copy())
    for model in (cube, ref):
        model.meta.instrument.name = "MIRI"
        model.meta.subarray.xstart, model.meta.subarray.ystart = 1, 1
        model.meta.subarray.xsize, model.meta.subarray.ysize = 6, 10
    apply_flat_field(cube, ref)

    out, e, q = flat_field.apply_flat(
        sci, err, dq, flat, flat_dq, flat_err, include_flat_error=False
    )
    f2 = flat_field.usable_flat(flat, flat_dq)[0] ** 2
    var_flat = flat_field.flat_variance(out, flat, flat_err, flat_dq)
    full_err, var_p, var_r = calibrated_errors(e, vp / f2, vr / f2, var_flat)
    good = np.isfinite(cube.data)  # jwst sets DO_NOT_USE pixels to NaN
    np.testing.assert_allclose(out[good], cube.data[good], rtol=1e-6)
    np.testing.assert_allclose(var_flat[good], cube.var_flat[good], rtol=1e-5)
    np.testing.assert_allclose(var_p[good], cube.var_poisson[good], rtol=1e-5)
    np.testing.assert_allclose(var_r[good], cube.var_rnoise[good], rtol=1e-5)
    np.testing.assert_allclose(full_err[good], cube.err[good], rtol=1e-5)
    np.testing.assert_array_equal(q, cube.dq)
    # the default (all in ERR) is jwst's ERR as well
    _, e_all, _ = flat_field.apply_flat(sci, err, dq, flat, flat_dq, flat_err)
    np.testing.assert_allclose(e_all[good], cube.err[good], rtol=1e-5)


def test_flat_error_stays_out_of_the_per_integration_error():
    sci, err, dq, vp, vr, flat, flat_dq, flat_err = _inputs()
    sci, vp = 40 * sci, 40 * vp  # a trace pixel: 20 000 DN/s
    err = np.sqrt(vp + vr)
    out, e, _ = flat_field.apply_flat(
        sci, err, dq, flat, flat_dq, flat_err, include_flat_error=False
    )
    var_flat = flat_field.flat_variance(out, flat, flat_err, flat_dq)
    full_err, _, _ = calibrated_errors(e, vp, vr, var_flat)
    # with a 1 % flat error a bright pixel's ERR is several times its photon noise ...
    assert np.median(full_err / e) > 2.5
    # ... but what the extraction uses is the per-integration part
    np.testing.assert_allclose(per_integration_error(full_err, var_flat), e, rtol=1e-4)
    assert per_integration_error(e, None) is e


@pytest.mark.parametrize("bad", ["nan", "zero", "dq"])
def test_flat_not_applied_where_jwst_does_not(bad):
    sci, err, dq, *_ = _inputs()
    flat = np.full(sci.shape[1:], 2.0, np.float32)
    fdq = np.zeros(flat.shape, np.uint32)
    if bad == "nan":
        flat[1, 1] = np.nan
    elif bad == "zero":
        flat[1, 1] = 0.0
    else:
        fdq[1, 1] = 1
    out, _, q = flat_field.apply_flat(sci, err, dq, flat, fdq)
    np.testing.assert_array_equal(out[:, 1, 1], sci[:, 1, 1])
    assert (q[:, 1, 1] & 1).all()
