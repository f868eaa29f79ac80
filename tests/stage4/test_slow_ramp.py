"""The white light's slow ramp divided out of every channel (`common_slow_ramp`), and the
test that decides whether the white light measures it (`auto`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.table import Table

from exolrs.io.spectra import Spectra, write_spectra
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS
from exolrs.stage4.slow_ramp import (
    channel_values,
    extra_ramp_gain,
    measured,
    physical,
    slow_ramp,
    slowest,
)
from tests.stage4.quick_fit import quick_stage4

LD = {"q1": 0.04, "q2": 0.25}  # u1 = u2 = 0.1, as quick_stage4 fixes them


def test_slow_ramp_is_the_slowest_as_a_fraction_of_the_rest_of_the_baseline():
    ts = np.linspace(0, 0.3, 7)
    best = {"c0": 1.0, "A1": 0.004, "tau1": 0.2, "A2": -0.01, "tau2": 0.01, "rp": 0.1}
    assert slowest(best) == 1
    ramp = 0.004 * np.exp(-ts / 0.2)
    systematics = 1.0 + ramp - 0.01 * np.exp(-ts / 0.01)
    fraction, values, record = slow_ramp(best, ts, systematics)
    np.testing.assert_allclose(fraction, ramp / (systematics - ramp))
    assert fraction[0] == pytest.approx(0.004 / 0.99)  # the rest at t = 0 is 1 − 0.01
    assert values == {"c0": 1.0, "rp": 0.1, "tau1": 0.01}  # the fast τ goes to the channels
    assert record["tau_hours"] == pytest.approx(4.8)
    alone = {"c0": 1.0, "A1": 0.003, "tau1": 0.1}
    _, values, _ = slow_ramp(alone, ts, 1.0 + 0.003 * np.exp(-ts / 0.1))
    assert values == {"c0": 1.0} == channel_values(alone)  # n_ramps 0 for the channels


def test_slow_ramp_that_trades_with_the_polynomial_is_refused():
    """c0 = −7, A = +8 (or c0 = 175, A = −177) with a day-long τ: the white model is fine,
    the split is not."""
    ts = np.linspace(0, 0.02, 50)
    for c0, a2 in ((-7.0, 8.0), (175.0, -177.0)):
        best = {"c0": c0, "c1": 0.1, "A1": 0.003, "tau1": 0.002, "A2": a2, "tau2": 0.8}
        systematics = c0 + 0.003 * np.exp(-ts / 0.002) + a2 * np.exp(-ts / 0.8)
        assert not physical(best)
        assert slow_ramp(best, ts, systematics) is None
    # coefficients in range but a baseline that crosses zero
    best = {"c0": 0.6, "A1": 0.003, "tau1": 0.002, "A2": 0.2, "tau2": 0.8}
    assert physical(best)
    assert slow_ramp(best, ts, np.full(ts.size, 0.1)) is None


def test_extra_ramp_gain_prices_two_parameters_in_units_of_the_errors_or_the_scatter():
    n = 1000
    price = 2 * np.log(n)
    assert extra_ramp_gain(1000.0 + price, 1000.0, n, 10) == pytest.approx(0.0, abs=0.2)
    # a scatter twice the errors: the same χ² gain is worth a quarter
    assert extra_ramp_gain(4000.0 + 4 * price, 4000.0, n, 10) == pytest.approx(0.0, abs=0.5)
    # errors larger than the scatter are not trusted to make a gain larger
    assert extra_ramp_gain(500.0 + price, 500.0, n, 10) == pytest.approx(0.0, abs=1e-9)


def _transit(t: np.ndarray) -> np.ndarray:
    """The synthetic transit (period 1 d, a/R* 40, b 0.3, Rp/R* 0.145) at the times `t`."""
    m = LightCurveModel(
        t, np.ones(t.size), np.ones(t.size), 1.0, ["t0", "a", "b", "rp"], LD, BOUNDS
    )
    return m.model(np.array([0.12, 40.0, 0.3, 0.145]))


def _white(slow_amplitude: float, n: int = 900, seed: int = 1):
    """A transit with a fast ramp (0.4 %, 15 min), a line and `slow_amplitude` of a 3-hour
    ramp over 7.2 hours, white noise 300 ppm."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 0.3, n)
    lc = _transit(t)
    base = 1 + 0.004 * np.exp(-t / 0.01) - 2e-3 * (t - 0.15) + slow_amplitude * np.exp(-t / 0.125)
    return t, lc * base + rng.normal(0, 3e-4, n), np.full(n, 3e-4)


def _models(t, flux, err):
    free = ["t0", "a", "b", "rp", "c0", "c1", "A1", "tau1"]
    bounds = {**BOUNDS, "t0": (float(t[0]), float(t[-1]))}
    fewer = LightCurveModel(t, flux, err, 1.0, free, LD, bounds)
    more = LightCurveModel(t, flux, err, 1.0, [*free, "A2", "tau2"], LD, bounds)
    start = {"t0": 0.12, "a": 38.0, "b": 0.4, "rp": 0.14, "tau1": 0.02, "tau2": 0.15}
    return fewer, more, start


def test_measured_keeps_a_slow_ramp_the_white_light_shows():
    fewer, more, start = _models(*_white(0.003))
    used, record = measured(fewer, more, start)
    assert used, record
    assert record["information_gain"] > 50
    assert record["physical"]


def test_measured_refuses_an_extra_ramp_that_fits_no_better():
    """A noise-free 33-minute light curve with one ramp: the fit without the extra ramp is
    already exact, so the extra one is refused (its split would be arbitrary)."""
    t = np.linspace(0.1085, 0.1315, 300)
    flux = _transit(t) * (1 + 0.004 * np.exp(-(t - t[0]) / 0.0028) - 1e-3 * (t - t.mean()))
    fewer, more, start = _models(t, flux, np.full(t.size, 1e-4))
    used, record = measured(fewer, more, {**start, "tau1": 0.003})
    assert not used, record
    assert record["chi2_without"] < 1e-3
    # with noise the extra ramp fits a little of it: taken, though not detected
    noisy = flux + np.random.default_rng(3).normal(0, 2e-4, t.size)
    fewer, more, start = _models(t, noisy, np.full(t.size, 2e-4))
    used, record = measured(fewer, more, {**start, "tau1": 0.003})
    assert used and record["information_gain"] < 0, record


def _spectra(tmp_path, slow_amplitude: float):
    """12 channels with one light curve (a fast ramp, and a `slow_amplitude` 3-h ramp the
    same fraction at every wavelength), white noise 2 % of 100 per channel."""
    rng = np.random.default_rng(6)
    t = np.linspace(0.0, 0.3, 600)
    lc = _transit(t)
    ramps = 1 + 0.004 * np.exp(-t / 0.01) + slow_amplitude * np.exp(-t / 0.125)
    flux = 100 * (lc * ramps)[:, None] * np.ones((1, 12)) + rng.normal(0, 0.02, (t.size, 12))
    wave = np.linspace(5, 12, 12)
    return write_spectra(
        Spectra(wave, np.full(12, 0.3), flux, np.full_like(flux, 0.02), t), tmp_path / "s.fits"
    )


def _offset(result) -> float:
    """The channels' mean depth − truth in units of the mean's error."""
    spec = Table.read(result.spectrum)
    err = np.mean(0.5 * (spec["depth_err_low"] + spec["depth_err_high"]))
    return float((np.mean(spec["depth"]) - 0.145**2) / (err / np.sqrt(len(spec))))


def test_common_slow_ramp_removes_the_bias_of_a_slow_ramp_in_every_channel(tmp_path):
    """A slow ramp (0.3 %, τ = 3 h) the same fraction at every wavelength: channels with one
    fast ramp and a line miss its curvature; divided out from the white fit, they do not —
    and `auto` finds that the white light measures it."""
    path = _spectra(tmp_path, 0.003)
    offsets, records = {}, {}
    for slow in (False, True, "auto"):
        r = quick_stage4(path, tmp_path / f"S4_{slow}", bin_width=2.0, common_slow_ramp=slow)
        offsets[slow] = _offset(r)
        records[slow] = json.loads(r.white_fit.read_text()).get("common_slow_ramp")
    assert abs(offsets[False]) > 2.5  # the line and one ramp leave the curvature
    assert abs(offsets[True]) < 1.0, offsets
    assert records[False] is None
    assert records[True]["used"] and "information_gain" not in records[True]
    assert records["auto"]["used"] and records["auto"]["information_gain"] > 0
    assert offsets["auto"] == pytest.approx(offsets[True], abs=0.05)


def test_auto_without_a_slow_ramp_moves_the_channels_little(tmp_path):
    """No slow ramp: the white light's extra one fits a little noise and is divided out of
    every channel — the spectrum moves by a small fraction of its error."""
    path = _spectra(tmp_path, 0.0)
    off = quick_stage4(path, tmp_path / "off", bin_width=2.0, common_slow_ramp=False)
    auto = quick_stage4(path, tmp_path / "auto", bin_width=2.0, common_slow_ramp="auto")
    a, b = Table.read(off.spectrum), Table.read(auto.spectrum)
    err = 0.5 * (a["depth_err_low"] + a["depth_err_high"])
    shift = (b["depth"] - a["depth"]) / err
    assert json.loads(auto.white_fit.read_text())["common_slow_ramp"]["used"]
    assert np.all(np.abs(shift) < 0.2)  # measured: 0.10 at most


def test_a_split_refused_after_sampling_refits_the_white_light_without_it(tmp_path, monkeypatch):
    """auto: the white light is fitted again without the ramp (the spectrum is then the one
    without common_slow_ramp); true: a clear error."""
    from exolrs.errors import ExolrsError
    from exolrs.stage4 import slow_ramp as module

    path = _spectra(tmp_path, 0.003)
    off = quick_stage4(path, tmp_path / "off", bin_width=2.0, common_slow_ramp=False)
    real, calls = module.slow_ramp, []

    def after_sampling(*args):  # the least squares' split passes, the posterior's not
        calls.append(args)
        return real(*args) if len(calls) == 1 else None

    monkeypatch.setattr(module, "slow_ramp", after_sampling)
    auto = quick_stage4(path, tmp_path / "auto", bin_width=2.0, common_slow_ramp="auto")
    record = json.loads(auto.white_fit.read_text())["common_slow_ramp"]
    assert record["refused_after_sampling"] and not record["used"]
    a, b = Table.read(off.spectrum), Table.read(auto.spectrum)
    np.testing.assert_allclose(a["depth"], b["depth"], rtol=1e-6)
    calls[:] = [None]  # true runs no least-squares test: its first split is refused
    with pytest.raises(ExolrsError, match="trades against its polynomial"):
        quick_stage4(path, tmp_path / "true", bin_width=2.0, common_slow_ramp=True)
