"""stage4/ramp_bands.py and `stage4: tau_bands`: ramp time scales that change with wavelength."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exolrs.config import Stage4Config
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS
from exolrs.stage4.ramp_bands import channel_time_scales, fitted_time_scales

ORBIT = {"t0": 0.12, "a": 40.0, "b": 0.3, "q1": 0.04, "q2": 0.25}


def _transit(t):
    m = LightCurveModel(t, np.ones(t.size), np.ones(t.size), 1.0, ["rp"], ORBIT, BOUNDS)
    return m.model(np.array([0.145]))


def _band_model(t, flux, err):
    free = ["rp", "c0", "c1", "A1", "tau1"]
    return LightCurveModel(t, flux, err, 1.0, free, ORBIT, BOUNDS)


def test_a_band_measures_its_ramp_time_scale_or_says_it_cannot():
    rng = np.random.default_rng(1)
    t = np.linspace(0.0, 0.3, 800)
    err = np.full(t.size, 3e-4)
    start = {"rp": 0.14, "c0": 1.0, "c1": 0.0, "A1": 0.0, "tau1": 0.01}
    ramp = 1 + 0.004 * np.exp(-t / 0.02)
    flux = _transit(t) * ramp + rng.normal(0, 3e-4, t.size)
    got = fitted_time_scales(_band_model(t, flux, err), start, ["tau1"])
    assert got["tau1"] == pytest.approx(0.02, rel=0.1)
    flat = _transit(t) + rng.normal(0, 3e-4, t.size)  # no ramp: its τ is anything
    assert fitted_time_scales(_band_model(t, flat, err), start, ["tau1"]) == {"tau1": None}


def test_channels_take_the_measured_bands_interpolated_else_the_white_value():
    bands = np.array([5.5, 6.5, 7.5, 8.5])
    values = [{"tau1": 0.01}, {"tau1": 0.02}, {"tau1": None}, {"tau1": 0.04}]
    got = channel_time_scales(bands, values, {"tau1": 0.5}, np.array([5.0, 6.0, 8.0, 12.0]))
    assert [g["tau1"] for g in got] == pytest.approx([0.01, 0.015, 0.02 + 0.02 * 1.5 / 2, 0.04])
    none = channel_time_scales(bands, [{"tau1": None}] * 4, {"tau1": 0.5}, np.array([6.0]))
    assert none == [{"tau1": 0.5}]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"tau_bands": [5.0, 12.0]}, "at least 3 increasing"),
        ({"tau_bands": [5.0, 9.0, 7.0]}, "at least 3 increasing"),
        ({"tau_bands": [5.0, 8.0, 12.0], "spec_free_tau": True}, "give one"),
        ({"tau_bands": [5.0, 8.0, 12.0], "n_ramps": 0}, "n_ramps"),
    ],
)
def test_tau_bands_that_cannot_work_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Stage4Config.model_validate(changes)


def test_tau_bands_follow_a_ramp_whose_time_scale_changes_with_wavelength(tmp_path):
    """τ 0.01 d at 5 µm to 0.03 d at 12 µm: channels fixed to the white light's one τ are
    biased at both ends; with τ from 1 µm bands they are not."""
    from astropy.table import Table

    from exolrs.io.spectra import Spectra, write_spectra
    from tests.stage4.quick_fit import quick_stage4

    rng = np.random.default_rng(6)
    t = np.linspace(0.0, 0.3, 600)
    wave = np.linspace(5.0, 12.0, 15)
    tau = 0.01 * 3.0 ** ((wave - 5.0) / 7.0)
    ramps = 1 + 0.01 * np.exp(-t[:, None] / tau[None, :])
    noise = 2e-4
    flux = 100 * _transit(t)[:, None] * ramps + rng.normal(0, 100 * noise, (t.size, 15))
    path = write_spectra(
        Spectra(wave, np.full(15, 0.25), flux, np.full_like(flux, 100 * noise), t),
        tmp_path / "s.fits",
    )
    pulls, records = {}, {}
    for bands in (None, [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]):
        r = quick_stage4(  # one ramp and no slow one: the bands alone, no common slow ramp
            path,
            tmp_path / f"S4_{bands is not None}",
            bin_width=1.0,
            tau_bands=bands,
            common_slow_ramp=False,
        )
        spec = Table.read(r.spectrum)
        err = 0.5 * (spec["depth_err_low"] + spec["depth_err_high"])
        pulls[bands is not None] = np.asarray((spec["depth"] - 0.145**2) / err)
        records[bands is not None] = json.loads(r.white_fit.read_text()).get("tau_bands")
    ends = [0, -1]  # the white light's τ is right in the middle, wrong at the ends
    assert np.max(np.abs(pulls[False][ends])) > 2.0, pulls
    assert np.max(np.abs(pulls[True])) < 1.5, pulls
    assert records[False] is None
    hours = records[True]["tau1_hours"]
    assert hours[0] < hours[3] < hours[-1]  # the band values rise with wavelength
