"""benchmarks/model_mismatch.py: the depth a white-light model's shape alone costs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.table import Table

from tests.conftest import load_benchmark

PERIOD, A, B, RP = 4.05528, 11.4, 0.4, 0.146


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("model_mismatch")


def _transit(t):
    import batman

    p = batman.TransitParams()
    p.t0, p.per, p.rp, p.a = 0.0, PERIOD, RP, A
    p.inc = float(np.degrees(np.arccos(B / A)))
    p.ecc, p.w, p.limb_dark, p.u = 0.0, 90.0, "quadratic", [0.1, 0.05]
    return batman.TransitModel(p, t).light_curve(p)


def test_a_second_slow_ramp_costs_one_ramp_models_depth(bench, tmp_path):
    drop, n = 5, 900
    t = np.linspace(-0.16, 0.17, n + drop)
    hours = 24 * (t - t[0])
    systematics = 1 + 0.003 * np.exp(-hours / 0.5) + 0.002 * np.exp(-hours / 3.0)
    red = np.zeros_like(t)
    red[drop + 300 : drop + 450] = 2e-4  # red noise: a step inside the transit
    transit = _transit(t)
    sim, red_dir = tmp_path / "sim", tmp_path / "red"
    (red_dir / "Stage4").mkdir(parents=True)
    sim.mkdir()
    Table(
        {"transit_white": transit, "systematics_white": systematics * (1 + red), "red_noise": red}
    ).write(sim / "truth_pointing.ecsv")
    (sim / "truth.json").write_text(json.dumps({"white_depth_5_12um": RP**2}))
    Table(
        {
            "time": t[drop:],
            "white_flux": (transit * systematics)[drop:],
            "white_err": np.full(n, 1e-3),
        }
    ).write(red_dir / "Stage4" / "light_curves.ecsv")
    stage4 = {"planet": {"period": PERIOD, "a": A, "b": B}, "drop_first": drop}
    (red_dir / "run.json").write_text(json.dumps({"parameters": {"stage4": stage4}}))
    got = bench.mismatch(sim, red_dir)
    clean = got["truth_without_red_noise"]
    assert abs(clean["n_ramps 2, poly_order 1"]) < 15  # the model that is the truth
    assert abs(clean["n_ramps 1, poly_order 1"]) > 40  # one ramp cannot follow two
    assert got["measured"] == clean  # the light curve given was the noise-free one
    step = got["truth"]["n_ramps 2, poly_order 1"] - clean["n_ramps 2, poly_order 1"]
    assert step < -50  # a brightening inside the transit makes it shallower


def _channel_biases(bench, systematics: dict, stage4: dict) -> np.ndarray:
    """Noise-free channel depths of the `small` scene with `systematics`, minus those of the
    same scene without ramps (its transit alone), fitted with `stage4`."""
    from exolrs.config import Stage4Config
    from exolrs.simulate.config import preset, with_overrides

    base = preset("small", 3)
    hours = base.nints * base.int_time_s / 3600.0
    flat = {"ramp_amplitude": 0.0, "shadow_amplitude": 0.0, "linear_ppm_per_hour": 0.0}
    planet = {"period": base.planet.period_days, "a": base.planet.a_rs, "b": 0.4}
    edges = np.array([5.0, 7.0, 9.0, 11.0])
    depths = []
    for changes in ({}, systematics):
        changes = {"ramp_tau_hours": hours / 8, **flat, **changes}
        cfg = with_overrides(base, {"systematics": changes})
        t, white, chans = bench.noise_free_channels(cfg, edges, (5.0, 12.0))
        p = Stage4Config.model_validate({"planet": planet, **stage4})
        _, d = bench.channel_depths(t[5:], white[5:], chans[5:], p)
        depths.append(d)
    return 1e6 * (depths[1] - depths[0])


def test_channel_mismatch_finds_what_a_model_cannot_follow(bench):
    one_ramp = {"ramp_amplitude": 0.004}
    assert np.all(np.abs(_channel_biases(bench, one_ramp, {})) < 10)  # the model's own shape
    slow = {**one_ramp, "second_ramp_amplitude": 0.003, "second_ramp_tau_hours": 0.27}
    biased = _channel_biases(bench, slow, {})
    assert np.all(np.abs(biased) > 15)  # a second, slower ramp (half the 33 min observation)
    # two ramps follow it better (not exactly: the slow one's τ must exceed model.RAMP_SPLIT)
    two = _channel_biases(bench, slow, {"n_ramps": 2})
    assert np.all(np.abs(two) < 0.6 * np.abs(biased))
