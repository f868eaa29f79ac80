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
