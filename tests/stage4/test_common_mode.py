"""The channels' common (fully correlated) depth error from the white light's red noise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from exolrs.stage4.common_mode import (
    common_depth_errors,
    depth_response,
    exponential_quadratic,
)
from exolrs.stage4.fit import least_squares_start
from exolrs.stage4.limb_darkening import u_to_q
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import pulls


def test_exponential_quadratic_equals_the_dense_form():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 1, 80))  # irregular cadence
    w = rng.normal(size=(80, 3))
    tau = np.array([0.01, 0.1, 1.0, 10.0])
    out = exponential_quadratic(t, w, tau)
    for i, x in enumerate(tau):
        dense = np.exp(-np.abs(t[:, None] - t[None, :]) / x)
        assert out[i] == pytest.approx(np.einsum("ic,ij,jc->c", w, dense, w), rel=1e-10)


def _fixed():
    q1, q2 = u_to_q(*pulls.U)
    return {k: pulls.ORBIT[k] for k in ("t0", "a", "b")} | {"q1": float(q1), "q2": float(q2)}


def _channel(t, flux, err=2e-3):
    return LightCurveModel(
        t,
        flux,
        np.full(t.size, err),
        1.0,
        ["rp", "c0", "c1", "A1"],
        {**_fixed(), "tau1": 0.02},
        BOUNDS,
    )


def _fit(m):
    start = {"rp": 0.13, "c0": 1.0, "c1": 0.0, "A1": 0.0}
    theta, _ = least_squares_start(m, start)
    return m.best_fit(theta)[0]


def test_depth_response_predicts_the_refitted_depth():
    """w · δf is the depth change a least-squares refit finds for a small flux change."""
    t = np.linspace(0, 0.2, 500)
    clean = pulls.transit_light_curve(t)
    base = _fit(_channel(t, clean))
    rng = np.random.default_rng(1)
    w = depth_response(_channel(t, clean), base)
    for _ in range(3):
        delta = 2e-4 * np.cumsum(rng.normal(size=t.size)) / np.sqrt(t.size)
        moved = _fit(_channel(t, clean + delta))
        change = moved["rp"] ** 2 - base["rp"] ** 2
        assert change == pytest.approx(w @ delta, rel=0.03, abs=2e-7)


def _white_model(t, flux, err):
    return LightCurveModel(t, flux, np.full(t.size, err), 1.0, ["rp", "c0", "c1"], _fixed(), BOUNDS)


def _pulls(red: float, draws: int = 40, seed: int = 3):
    """A red δ(t) (AR(1), 10 min, rms `red`) multiplies the white light (white noise 200 ppm)
    and two noise-free channels of other depths: each channel's depth − truth over its
    common error, and the last record."""
    t = np.linspace(0, 0.2, 500)
    clean = pulls.transit_light_curve(t)
    scale = [0.9, 1.1]  # channels with other depths
    truth = [_fit(_channel(t, 1 - k * (1 - clean)))["rp"] ** 2 for k in scale]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        delta = pulls.noise("ar1", t.size, rng) * red / pulls.WHITE
        white = _white_model(t, clean * (1 + delta) + rng.normal(0, 2e-4, t.size), 2e-4)
        channels = [_channel(t, (1 - k * (1 - clean)) * (1 + delta)) for k in scale]
        best = [_fit(m) for m in channels]
        err, record = common_depth_errors(white, _fit(white), channels, best)
        assert err[0] == pytest.approx(err[1], rel=0.2)  # nearly the same for all
        out.append([(b["rp"] ** 2 - d) / e for b, d, e in zip(best, truth, err, strict=True)])
    return np.array(out), record


def test_common_error_is_honest_where_red_noise_is_weak():
    """Red noise 0.2× the white light's, as in program 2783: pull σ ≈ 1 (the maximum
    likelihood instead collapsed to zero in 15 % of these draws)."""
    p, _ = _pulls(4e-5)
    assert 0.8 < np.std(p[:, 0]) < 1.35, np.std(p, axis=0)
    assert abs(np.mean(p[:, 0])) < 0.6  # 40 draws: the mean's standard error ≈ 0.18


def test_common_error_errs_large_not_small_where_red_noise_is_strong():
    """Red noise 2× the white light's: the posterior over ρ, τ spreads along slow, strong
    noise, so the error is too large (pull σ ≈ 0.67), never too small."""
    p, record = _pulls(4e-4)
    assert 0.5 < np.std(p[:, 0]) < 1.1, np.std(p, axis=0)
    assert 250 < record["common_red_rms_ppm"] < 1200


def test_common_error_is_small_without_red_noise():
    """Under white noise the common error is a small fraction of a channel's own depth error
    (a channel with 4× the white light's noise, as with 16 channels; the maximum-likelihood
    red rms is a fluctuation of the white noise, 2–90 ppm of its 200 ppm over ten seeds)."""
    t = np.linspace(0, 0.2, 500)
    clean = pulls.transit_light_curve(t)
    rng = np.random.default_rng(4)
    white = _white_model(t, clean + rng.normal(0, 2e-4, t.size), 2e-4)
    channel = _channel(t, clean + rng.normal(0, 8e-4, t.size), err=8e-4)
    best = _fit(channel)
    own = np.sqrt(np.sum(depth_response(channel, best) ** 2 * channel.err**2))
    err, _ = common_depth_errors(white, _fit(white), [channel], [best])
    assert err[0] < 0.25 * own  # adds < 3 % in quadrature


def test_spectrum_figure_with_and_without_the_common_error(tmp_path):
    from astropy.table import Table

    from exolrs.plots.stage4 import plot_spectrum

    w = np.linspace(5, 12, 8)
    spectrum = Table(
        {
            "wavelength": w,
            "bin_half_width": np.full(8, 0.2),
            "depth": np.full(8, 0.021),
            "depth_err_low": np.full(8, 2e-4),
            "depth_err_high": np.full(8, 2e-4),
            "truth_depth": np.full(8, 0.021),
        }
    )
    spectrum.meta = {"chi2_nu": 1.0, "mean_bias_sigma": 0.0}
    plain = plot_spectrum(spectrum, tmp_path / "plain.png")
    spectrum["depth_err_common"] = np.full(8, 1.2e-4)
    spectrum.meta["chi2_nu_correlated"] = 0.9
    common = plot_spectrum(spectrum, tmp_path / "common.png")
    assert plain.stat().st_size > 0 and common.stat().st_size > 0
    assert plain.read_bytes() != common.read_bytes()  # the common bar is drawn


def _spectra_file(tmp_path, red=0.0):
    from exolrs.io.spectra import Spectra, write_spectra

    rng = np.random.default_rng(5)
    t = np.linspace(0.0, 0.2, 400)
    wave = np.linspace(5, 12, 16)
    ld = {"q1": 0.04, "q2": 0.4}
    m = LightCurveModel(
        t, np.ones(t.size), np.ones(t.size), 1.0, ["t0", "a", "b", "rp"], ld, BOUNDS
    )
    lc = m.model(np.array([0.1, 40.0, 0.3, 0.145]))
    common = red / pulls.WHITE * pulls.noise("ar1", t.size, rng)  # one δ(t) for every λ
    flux = 100 * (lc * (1 + common))[:, None] * np.ones((1, 16))
    flux += rng.normal(0, 0.05, flux.shape)
    spectra = Spectra(wave, np.full(16, 0.22), flux, np.full_like(flux, 0.05), t)
    return write_spectra(spectra, tmp_path / "s.fits")


def _stage4(path, out):
    from astropy.table import Table

    from exolrs.stage4.engine import run_stage4

    r = run_stage4(
        path,
        out,
        planet={"period": 1.0, "a": 40.0, "b": 0.3},
        binning="width",
        bin_width=1.75,
        drop_first=0,
        n_ramps=0,
        limb_darkening="fixed",
        do_plot=False,
        n_steps_white=2000,
        n_steps_spec=1000,
    )
    return Table.read(r.spectrum), json.loads(Path(r.white_fit).read_text())


def test_stage4_writes_the_common_error_and_grows_it_with_shared_red_noise(tmp_path):
    quiet, quiet_white = _stage4(_spectra_file(tmp_path), tmp_path / "quiet")
    red, red_white = _stage4(_spectra_file(tmp_path, red=1e-3), tmp_path / "red")
    assert "depth_err_common" in quiet.colnames
    assert np.all(np.isfinite(red["depth_err_common"]))
    assert np.median(red["depth_err_common"]) > 5 * np.median(quiet["depth_err_common"])
    assert red_white["common_red_rms_ppm"] > 500  # 1000 ppm injected
    assert quiet_white["common_red_rms_ppm"] < 200


def test_a_singular_channel_design_leaves_the_common_error_nan(tmp_path, monkeypatch, caplog):
    from exolrs.stage4 import engine

    def singular(*args):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(engine, "common_depth_errors", singular)
    spectrum, _ = _stage4(_spectra_file(tmp_path), tmp_path / "S4")
    assert np.all(np.isnan(spectrum["depth_err_common"]))
    assert np.all(np.isfinite(spectrum["depth"]))
    assert "no common (correlated) depth error" in caplog.text
