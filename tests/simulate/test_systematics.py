"""The simulator's optional systematics (the `systematics:` options whose shape differs from
the reduction's model): each appears in the data with the configured size, off by default."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from astropy.table import Table

from exolrs.errors import ExolrsError
from exolrs.simulate import scene
from exolrs.simulate.config import NCOLS, NROWS, preset, with_overrides
from exolrs.simulate.detector import cosmic_rays, read_noise_draws, telegraph_states


def _cfg(**systematics):
    cfg = preset("medium", seed=5)
    cfg.systematics = dataclasses.replace(cfg.systematics, **systematics)
    return cfg


def test_defaults_leave_every_option_off():
    cfg = preset("program2783")
    s = cfg.systematics
    assert (s.red_noise_ppm, s.glow_fraction_11um, s.read_noise_tail_dof) == (0, 0, 0)
    assert (s.telegraph_fraction, s.shower_rate_per_int, s.second_ramp_amplitude) == (0, 0, 0)
    assert not scene.glow_rate(cfg).any() and not scene.red_noise(100, 15.9, cfg, None).any()


def test_ramp_time_constant_changes_with_wavelength_and_a_second_ramp_adds():
    cfg = _cfg(ramp_tau_ratio_12um=2.0, second_ramp_amplitude=0.001, second_ramp_tau_hours=3.0)
    s = cfg.systematics
    s.shadow_amplitude = s.ramp_amplitude  # no shadowed region: one amplitude everywhere
    tau = s.ramp_tau_hours
    s.linear_ppm_per_hour = 0.0
    r = scene.systematic_ramp(np.array([2 * tau]), np.array([5.0, 12.0]), cfg)[0] - 1
    second = 0.001 * np.exp(-2 * tau / 3.0)
    np.testing.assert_allclose(r - second, s.ramp_amplitude * np.exp([-2.0, -1.0]), rtol=1e-9)


def test_red_noise_has_the_asked_rms_and_correlation_time():
    cfg = _cfg(red_noise_ppm=400.0, red_noise_tau_minutes=10.0)
    x = scene.red_noise(40000, 15.9, cfg, np.random.default_rng(1))
    assert np.std(x) == pytest.approx(400e-6, rel=0.1)
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert lag1 == pytest.approx(np.exp(-15.9 / 600.0), abs=0.01)


def test_glow_lies_left_of_the_trace_with_the_asked_share_of_the_star():
    cfg = _cfg(glow_fraction_11um=0.01, glow_scale_px=8.0)
    glow = scene.glow_rate(cfg)
    y = np.arange(NROWS, dtype=float)
    x0 = scene.trace_center(y, cfg)
    right = np.arange(NCOLS)[None, :] > x0[:, None] - 1
    assert not glow[right].any()
    for lam in (6.0, 11.0):  # a share of the row's star ∝ λ⁴
        row = int(scene.row_of_wavelength(lam))
        share = 0.01 * (scene.wavelength_of_row(float(row)) / 11.0) ** 4
        star = scene.star_rate(np.array([float(row)]), cfg)[0]
        assert glow[row].sum() == pytest.approx(share * star, rel=1e-6)


def test_heavy_tailed_read_noise_keeps_its_rms():
    rng = np.random.default_rng(2)
    t = read_noise_draws((400000,), 4.5, rng).astype(float)
    g = read_noise_draws((400000,), 0, rng).astype(float)
    assert np.std(t) == pytest.approx(1.0, rel=0.03) and np.std(g) == pytest.approx(1.0, rel=0.01)
    assert np.mean(np.abs(t) > 5) > 20 * max(np.mean(np.abs(g) > 5), 1e-6)
    with pytest.raises(ValueError, match="> 2"):
        read_noise_draws((3,), 2.0, rng)


def test_telegraph_pixels_switch_with_the_asked_dwell_time():
    cfg = _cfg(telegraph_fraction=0.01, telegraph_dwell_ints=20.0)
    ys, _xs, states = telegraph_states(4000, cfg, np.random.default_rng(3))
    assert len(ys) == round(0.01 * NROWS * NCOLS) and states.shape == (4000, len(ys))
    switches = np.abs(np.diff(states.astype(int), axis=0)).sum()
    assert 4000 * len(ys) / switches == pytest.approx(20.0, rel=0.1)


def test_showers_saturate_a_core_and_light_a_halo():
    cfg = _cfg(shower_rate_per_int=1.0)
    cfg.detector = dataclasses.replace(cfg.detector, cr_rate_per_pixel_s=0.0)
    charge, hits = cosmic_rays(6, 20, 0, cfg, np.random.default_rng(4))
    assert len(hits) >= 2
    i, g, y, x, core = hits[0]
    assert core == cfg.systematics.shower_core_dn and charge[i, -1, y, x] >= core
    assert charge[i, g - 1, y, x] < core  # before the hit group: nothing
    ring = [
        charge[i, -1, y + dy, x + dx]
        for dy, dx in ((2, 0), (-2, 0), (0, 2), (0, -2))
        if 0 <= y + dy < NROWS and 0 <= x + dx < NCOLS
    ]
    assert 20 < np.median(ring) < 400  # a halo two pixels out


def test_an_observation_with_every_option_records_them_in_its_truth(tmp_path):
    from exolrs.simulate import simulate_tso

    cfg = with_overrides(
        preset("tiny", seed=9),
        {
            "systematics": {
                "red_noise_ppm": 500,
                "glow_fraction_11um": 0.01,
                "read_noise_tail_dof": 5,
                "telegraph_fraction": 0.002,
                "shower_rate_per_int": 0.5,
                "ramp_tau_ratio_12um": 2,
                "second_ramp_amplitude": 0.001,
            }
        },
    )
    out = simulate_tso(tmp_path, config=cfg)
    truth = json.loads(out["truth"].read_text())
    assert len(truth["telegraph_pixels"]) == round(0.002 * NROWS * NCOLS)
    assert truth["config"]["systematics"]["red_noise_ppm"] == 500
    pointing = Table.read(tmp_path / "truth_pointing.ecsv")
    assert np.std(pointing["red_noise"]) > 0
    rows = Table.read(tmp_path / "truth_rows.ecsv")
    assert rows["background"].max() > 0


def test_overrides_name_what_is_wrong():
    cfg = preset("tiny")
    assert with_overrides(cfg, {"nints": 30}).nints == 30
    with pytest.raises(ExolrsError, match=r"unknown key `systematics\.red_nois`"):
        with_overrides(cfg, {"systematics": {"red_nois": 1}}, "sys.yaml")
    with pytest.raises(ExolrsError, match=r"`detector\.poisson` = 'yes' must be bool"):
        with_overrides(cfg, {"detector": {"poisson": "yes"}})
    with pytest.raises(ExolrsError, match=r"unknown key `colour`"):
        with_overrides(cfg, {"colour": 1})
    with pytest.raises(ExolrsError, match=r"`nints` = 2\.5 must be int"):
        with_overrides(cfg, {"nints": 2.5})


def test_references_differ_from_the_truth_by_the_asked_error():
    from exolrs.simulate.core import _Model, reference_arrays

    cfg = preset("tiny", seed=2)
    exact = reference_arrays(_Model(cfg))
    cfg.systematics.reference_error = 0.02
    off = reference_arrays(_Model(cfg))
    np.testing.assert_allclose(off["dark"], exact["dark"] * 1.02, rtol=1e-6)
    np.testing.assert_allclose(off["linearity"][2:], exact["linearity"][2:] * 1.02, rtol=1e-6)
    np.testing.assert_array_equal(off["linearity"][:2], exact["linearity"][:2])
    assert np.std(off["flat"] / exact["flat"] - 1) == pytest.approx(0.02, rel=0.05)
    # the flat's ERR states its error: the real flat's 0.2 % and the one put in, in quadrature
    np.testing.assert_allclose(exact["flat_err"] / exact["flat"], 0.002, rtol=1e-5)
    np.testing.assert_allclose(off["flat_err"] / off["flat"], np.hypot(0.002, 0.02), rtol=1e-5)


def test_rscd_can_depend_on_the_signal():
    from exolrs.simulate.detector import rscd_fraction

    prev = np.array([1e3, 1e4, 4e4])
    assert rscd_fraction(prev, 0.01, 0.0) == 0.01
    np.testing.assert_allclose(rscd_fraction(prev, 0.01, 0.5), [0.01 * 0.1**0.5, 0.01, 0.02])
