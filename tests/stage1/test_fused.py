"""The compiled passes (exolrs.stage1.fused) against the step modules they replace, on ramps
with injected jumps, saturation, A/D-floor groups, bad reference values and EMI; and the whole
block against the step-by-step path on a simulated exposure."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.config import Stage1Config
from exolrs.dq import DO_NOT_USE, HOT, JUMP_DET, NO_LIN_CORR, SATURATED
from exolrs.stage1 import dark, emicorr, engine, fused, jump, linearity, ramp_fit, reset, saturation
from tests.stage1.conftest import GAIN, READ_NOISE_CDS, TGROUP, make_ramps


def _maps(shape):
    rn = np.full(shape, READ_NOISE_CDS, np.float32)
    gain = np.full(shape, GAIN, np.float32)
    gain[0, 0] = 0.0  # a pixel without gain
    return rn, gain


def _raw(n=14, ng=20, seed=4):
    """Raw-like ramps with saturating pixels, A/D-floor groups and flags."""
    data, _, crs = make_ramps(n=n, ng=ng, seed=seed, n_crs=30)
    data[:, :, 3, 4] += np.linspace(0, 70000, ng, dtype=np.float32)  # saturates mid-ramp
    data[2, 5:9, 6, 7] = 0.0  # A/D floor
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, 0] |= DO_NOT_USE
    gdq[:, -1] |= DO_NOT_USE
    gdq[1, 4, 5, 5] |= SATURATED
    return data, gdq, crs


def test_saturation_pass_equals_the_step_module():
    data, gdq, _ = _raw()
    level = np.full(data.shape[-2:], 40000.0, np.float32)
    level[2, 2] = np.nan  # not checked
    sat_dq = np.zeros(data.shape[-2:], np.uint32)
    want_gdq, want_pdq = saturation.flag_saturation(
        data, gdq, np.zeros(data.shape[-2:], np.uint32), level, sat_dq
    )
    lv, pdq = saturation.saturation_levels(
        data.shape[-2:], np.zeros(data.shape[-2:], np.uint32), level, sat_dq
    )
    got = gdq.copy()
    dn, frac = fused.flag_saturation(data, got, lv)
    assert dn is data
    assert (want_gdq & SATURATED).any() and (want_gdq & DO_NOT_USE)[2, 5:9, 6, 7].all()
    np.testing.assert_array_equal(got, want_gdq)
    np.testing.assert_array_equal(pdq, want_pdq)
    np.testing.assert_allclose(frac, ((want_gdq & DO_NOT_USE) != 0).mean(axis=(0, 2, 3)))


def test_saturation_pass_converts_the_stored_int16():
    rng = np.random.default_rng(0)
    dn = rng.integers(0, 65536, (3, 5, 6, 8)).astype(np.float32)
    dn[0, 0, 0, :3] = [0, 32768, 65535]
    stored = (dn - 32768).astype(">i2")  # as the uncal holds it (BZERO 32768)
    level = np.full((6, 8), 50000.0, np.float32)
    want_gdq = np.zeros(dn.shape, np.uint8)
    _, want_frac = fused.flag_saturation(dn, want_gdq, level)
    gdq = np.zeros(dn.shape, np.uint8)
    got, frac = fused.flag_saturation(stored, gdq, level)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, dn)
    np.testing.assert_array_equal(gdq, want_gdq)
    np.testing.assert_array_equal(frac, want_frac)
    with pytest.raises(TypeError):
        fused.flag_saturation(dn.astype(np.float64), gdq, level)


@pytest.mark.parametrize("ngroups", [12, 25])
def test_emi_passes_equal_correct_emi(ngroups):
    rng = np.random.default_rng(ngroups)
    n, ny, nx = 3, 40, 16
    tg, tp = emicorr.read_times(ngroups, ny, nx, 28, 15904)
    t = tg[:, None, None] + tp[None]
    emi = 4.0 * np.sin(2 * np.pi * 390.625 * t + 0.3) + 1.5 * np.cos(2 * np.pi * 781.25 * t)
    data = (1000 + 20 * np.arange(ngroups)[:, None, None] + emi)[None] + rng.normal(
        0, 2, (n, ngroups, ny, nx)
    )
    data = data.astype(np.float32)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, -1] |= DO_NOT_USE
    gdq[0, 5:, 3, 3] |= SATURATED
    want, _ = emicorr.correct_emi(data, gdq, (390.625,), 2, skip_groups=2)
    frac = ((gdq & DO_NOT_USE) != 0).mean(axis=(0, 2, 3))
    basis = emicorr.emi_basis((ngroups, ny, nx), frac, (390.625,), 2, "SLITLESSPRISM", 2)
    patterns = np.zeros((n, basis.v.shape[0], ngroups))
    for i in range(n):
        z, scatter, flagged = fused.emi_sums(data[i], gdq[i], basis)
        assert flagged[3 * nx + 3] == (i == 0)
        fit = emicorr.emi_fit(basis, z, scatter, flagged, 5.0)
        patterns[i] = fit.pattern
    identity = np.zeros((2, ny, nx), np.float32)
    identity[1] = 1.0
    got = data.copy()
    fused.correct(
        got, gdq, 0, emi_patterns=patterns, emi_v=basis.v, reset=None, coeffs=identity, dark=None
    )
    assert np.abs(data - want).max() > 1.0  # the EMI was there
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)


def test_correct_pass_equals_reset_linearity_dark():
    data, gdq, _ = _raw()
    gdq[:, 10:, 1, 1] |= SATURATED
    rng = np.random.default_rng(1)
    ny, nx = data.shape[-2:]
    coeffs = np.zeros((4, ny, nx), np.float32)
    coeffs[1] = 1.0
    coeffs[2] = rng.uniform(0, 1e-6, (ny, nx))
    coeffs[3] = rng.uniform(0, 1e-11, (ny, nx))
    coeffs[2, 4, 4] = np.nan  # not corrected
    lin_dq = np.zeros((ny, nx), np.uint32)
    lin_dq[5, 5] = NO_LIN_CORR
    reset_ref = rng.normal(0, 3, (2, 8, ny, nx)).astype(np.float32)
    reset_ref[1, 3, 2, 2] = np.nan
    dark_ref = rng.normal(5, 1, (2, data.shape[1] + 2, ny, nx)).astype(np.float32)
    pdq0 = np.zeros((ny, nx), np.uint32)
    want = reset.subtract_reset(data, reset_ref, int_start=1)
    want, _, want_pdq = linearity.correct_linearity(want, gdq, pdq0, coeffs, lin_dq)
    want = dark.subtract_dark(want, dark_ref, int_start=1)
    c, pdq = linearity.linearity_coefficients(coeffs, pdq0, lin_dq)
    got = data.copy()
    fused.correct(
        got, gdq, 1, emi_patterns=None, emi_v=None, reset=reset_ref, coeffs=c, dark=dark_ref
    )
    np.testing.assert_array_equal(pdq, want_pdq)
    assert want_pdq[4, 4] & NO_LIN_CORR and want_pdq[5, 5] & NO_LIN_CORR
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("window", "shower"), [(3, None), (5, None), (7, None), (5, 30.0)])
def test_time_jump_pass_equals_the_step_module(window, shower):
    data, _, _ = make_ramps(n=30, ng=12, seed=window)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, 0] |= DO_NOT_USE
    gdq[4, 6:, 2, 3] |= SATURATED
    data[7, 5, 1, 1] = np.nan
    data[9, 4:, 3, 2] += 30000.0  # a large event next to the saturated pixel
    data[12, 7:, 0, 15] += 30000.0  # and one in a corner
    rn, gain = _maps(data.shape[-2:])
    kw = dict(threshold=6.0, window=window, int_start=40, nints_total=100, core=slice(6, 24))
    if shower:
        kw.update(shower_sigma=shower, shower_radius=2.5)
    want = jump.flag_jumps_in_time(data, gdq, rn, gain, **kw)
    got = gdq.copy()
    fused.flag_jumps_in_time(data, got, rn, gain, **kw)
    assert (want & JUMP_DET).sum() >= 5
    if shower:  # the two large events' discs (21 pixels each, one cut by the corner)
        kw_off = {k: v for k, v in kw.items() if k != "shower_sigma"}
        plain = jump.flag_jumps_in_time(data, gdq, rn, gain, **kw_off)
        assert (want & JUMP_DET).sum() - (plain & JUMP_DET).sum() >= 25
    np.testing.assert_array_equal(got[6:24], want)
    np.testing.assert_array_equal(got[:6], gdq[:6])  # halo untouched
    with pytest.raises(ValueError, match="halo"):
        fused.flag_jumps_in_time(data, got, rn, gain, **{**kw, "core": slice(0, 24)})


@pytest.mark.parametrize("ngroups", [9, 10, 30])
def test_ramp_fit_pass_equals_the_step_module(ngroups):
    data, _, crs = make_ramps(n=5, ng=ngroups, seed=ngroups, n_crs=20)
    gdq = np.zeros(data.shape, np.uint8)
    gdq[:, :2] |= DO_NOT_USE
    gdq[:, -1] |= DO_NOT_USE
    for i, g, y, x in crs:
        gdq[i, g, y, x] |= JUMP_DET
    gdq[1, ngroups - 4 :, 3, 3] |= SATURATED
    gdq[2, :, 5, 5] |= SATURATED  # all saturated: NaN
    gdq[4, 4] |= JUMP_DET  # a jump in every pixel: the whole integration goes to stcal
    pdq = np.zeros(data.shape[-2:], np.uint32)
    pdq[6, 6] = HOT | DO_NOT_USE
    rn, gain = _maps(data.shape[-2:])
    avg_dark = np.full(data.shape[-2:], 0.5, np.float32)
    want = ramp_fit.fit_ramps(data, gdq, pdq, rn, gain, TGROUP, avg_dark=avg_dark)
    got = fused.fit_ramps(data, gdq, pdq, rn, gain, TGROUP, avg_dark=avg_dark)
    assert np.isnan(want.slope[2, 5, 5])
    for f in ("slope", "err", "var_poisson", "var_rnoise"):
        np.testing.assert_allclose(getattr(got, f), getattr(want, f), rtol=2e-7, equal_nan=True)
    np.testing.assert_array_equal(got.dq, want.dq)


def test_uint8_pattern_is_numpy_median():
    rng = np.random.default_rng(0)
    for npix in (7, 8, 1001):
        q = rng.choice(np.array([0, 1, 4, 5, 9], np.uint8), (6, npix))
        np.testing.assert_array_equal(fused._pattern(q), ramp_fit._common_pattern(q))


def test_only_supported_parameters_are_fused():
    assert engine.fusable(Stage1Config())
    assert engine.fusable(Stage1Config(skip_steps=["emicorr", "dark", "jump", "reset"]))
    assert not engine.fusable(Stage1Config(flag_up_ramp=True))
    assert not engine.fusable(Stage1Config(skip_steps=["linearity"]))


@pytest.mark.parametrize(
    "params",
    [
        Stage1Config(miri_drop_groups=2, time_rejection_threshold=5),
        Stage1Config(miri_drop_groups=1, skip_steps=["emicorr", "dark"], time_window=3),
        Stage1Config(miri_drop_groups=2, shower_sigma=20.0, shower_radius=2.0),
    ],
)
def test_fused_block_equals_the_step_modules(tiny_sim, params):
    from exolrs.io import discover_segments, read_integrations, read_pixeldq
    from exolrs.io.chunks import read_integrations_raw
    from exolrs.stage1.references import load_stage1_refs, resolve_stage1_refs

    exp = discover_segments(tiny_sim["uncal"])
    refs = load_stage1_refs(resolve_stage1_refs(exp.header, tiny_sim["refs"]).paths, exp.header)
    tg = float(exp.header["TGROUP"])
    out = {}
    # the engine hands the fused passes the stored int16; the step path gets DN either way
    for mode, read in (
        (False, read_integrations),
        (True, read_integrations_raw),
        (False, read_integrations_raw),
    ):
        data, gdq = read(exp, 0, exp.nints)
        out[mode, read] = engine.process_block(
            data,
            gdq,
            0,
            slice(0, exp.nints),
            refs,
            params,
            tg,
            nints_total=exp.nints,
            pixeldq=read_pixeldq(exp),
            fused=mode,
        )
    want = out[False, read_integrations]
    for got in (out[True, read_integrations_raw], out[False, read_integrations_raw]):
        np.testing.assert_array_equal(got.dq, want.dq)
        for f in ("slope", "err", "var_poisson", "var_rnoise"):
            np.testing.assert_allclose(
                getattr(got, f), getattr(want, f), rtol=1e-6, atol=1e-6, equal_nan=True
            )
    assert (want.dq & JUMP_DET).any()
    with pytest.raises(ValueError, match="fused"):
        engine.process_block(
            data,
            gdq,
            0,
            slice(0, exp.nints),
            refs,
            Stage1Config(flag_up_ramp=True),
            tg,
            nints_total=exp.nints,
            fused=True,
        )


@pytest.mark.parametrize("m", [1, 2, 5, 28, 86, 87])
def test_median_network_places_the_middle_order_statistics(m):
    rng = np.random.default_rng(m)
    net = fused.median_network(m)
    assert (net[:, 0] < net[:, 1]).all() and (net < m).all()
    for trial in range(50):
        x = rng.integers(-3, 3, m) if trial % 2 else rng.normal(size=m)
        y = x.astype(np.float32)
        for i, j in net:
            y[i], y[j] = min(y[i], y[j]), max(y[i], y[j])
        s = np.sort(x.astype(np.float32))
        assert y[(m - 1) // 2] == s[(m - 1) // 2] and y[m // 2] == s[m // 2]


def test_ramp_fit_pass_with_a_nan_difference_orders_it_last():
    data, _, _ = make_ramps(n=2, ng=14, seed=9, n_crs=0)
    data[1, 6, 2, 2] = np.nan
    gdq = np.zeros(data.shape, np.uint8)
    args = (np.zeros(data.shape[-2:], np.uint32), *_maps(data.shape[-2:]), TGROUP)
    want = ramp_fit.fit_ramps(data, gdq, *args)
    got = fused.fit_ramps(data, gdq, *args)
    for f in ("slope", "err", "var_poisson", "var_rnoise"):
        np.testing.assert_allclose(getattr(got, f), getattr(want, f), rtol=2e-7, equal_nan=True)


def test_saturation_pass_writes_into_a_given_array_and_checks_it():
    raw = (np.arange(2 * 5 * 3 * 4, dtype=np.int64).reshape(2, 5, 3, 4) * 500 - 32768).astype(">i2")
    level = np.full((3, 4), 20000, np.float32)
    want, frac = fused.flag_saturation(raw, gdq := np.zeros(raw.shape, np.uint8), level)
    out = np.full(raw.shape, np.nan, np.float32)
    got, frac2 = fused.flag_saturation(raw, gdq2 := np.zeros(raw.shape, np.uint8), level, out=out)
    assert got is out
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gdq2, gdq)
    np.testing.assert_array_equal(frac2, frac)
    with pytest.raises(ValueError, match="out must be"):
        fused.flag_saturation(raw, gdq, level, out=np.zeros((2, 5, 3, 4), np.float64))


def test_correct_refuses_more_linearity_terms_than_it_compiles():
    data = np.zeros((1, 4, 3, 4), np.float32)
    with pytest.raises(ValueError, match="linearity coefficients"):
        fused.correct(
            data,
            np.zeros(data.shape, np.uint8),
            0,
            emi_patterns=None,
            emi_v=None,
            reset=None,
            coeffs=np.zeros((7, 3, 4), np.float32),
            dark=None,
        )
