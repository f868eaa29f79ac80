"""Stage 4 building blocks with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.stage4 import binning
from exolrs.stage4.fit import fit_light_curve
from exolrs.stage4.limb_darkening import q_to_u, u_to_q
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS
from exolrs.stats.allan import allan_slope


def test_kipping_round_trip():
    u1, u2 = q_to_u(*u_to_q(0.12, 0.10))
    assert (u1, u2) == pytest.approx((0.12, 0.10))


def test_bin_edges_modes():
    wave = np.linspace(4.5, 14, 200)
    r = binning.bin_edges(wave, mode="R", resolution=20)
    assert r[0] == 5.0 and r[-1] == pytest.approx(12.0)
    assert np.allclose(r[1:] / r[:-1], r[1] / r[0])  # constant R
    w = binning.bin_edges(wave, mode="width", width=0.5)
    assert len(w) == 15 and np.allclose(np.diff(w), 0.5)
    n = binning.bin_edges(wave, mode="native")
    assert len(n) == np.sum((wave >= 5) & (wave <= 12)) + 1
    assert list(binning.bin_edges(wave, mode="edges", edges=[5, 6, 8])) == [5, 6, 8]
    with pytest.raises(ValueError):
        binning.bin_edges(wave, mode="edges", edges=[6, 5])
    with pytest.raises(ValueError):
        binning.bin_edges(wave, mode="log")


def test_binning_sums_flux_and_errors_in_quadrature():
    wave = np.array([5.1, 5.2, 6.5, 7.0])
    flux = np.ones((3, 4))
    err = np.full((3, 4), 0.5)
    c, h, f, e = binning.bin_light_curves(wave, flux, err, np.array([5.0, 6.0, 7.5]))
    assert list(f[0]) == [2.0, 2.0] and e[0, 0] == pytest.approx(np.sqrt(0.5))
    assert list(c) == [5.5, 6.75] and list(h) == [0.5, 0.75]
    d = binning.bin_truth(
        np.array([5.2, 5.8]), np.array([1.0, 3.0]), np.array([3.0, 1.0]), np.array([5.0, 6.0])
    )
    assert d[0] == pytest.approx(1.5)


def _synthetic(ramp=0.004, seed=0, n=400):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 0.2, n)
    truth = {
        "t0": 0.1,
        "a": 40.0,
        "b": 0.3,
        "rp": 0.145,
        "q1": 0.04,
        "q2": 0.4,
        "c0": 1.0,
        "c1": -0.02,
        "A1": ramp,
        "tau1": 0.01,
    }
    names = list(truth)
    m = LightCurveModel(t, np.ones(n), np.full(n, 4e-4), 1.0, names, {}, BOUNDS)
    clean = m.model(np.array([truth[k] for k in names]))
    flux = clean + rng.normal(0, 4e-4, n)
    return t, flux, truth


@pytest.mark.parametrize("ramp", [0.004, -0.003])  # the shadowed region's reversed ramp
def test_fit_recovers_an_injected_light_curve(ramp):
    t, flux, truth = _synthetic(ramp)
    free = ["t0", "a", "b", "rp", "q1", "q2", "c0", "c1", "A1", "tau1"]
    bounds = {**BOUNDS, "t0": (t[0], t[-1])}
    m = LightCurveModel(t, flux, np.full(len(t), 4e-4), 1.0, free, {}, bounds)
    start = {**truth, "t0": 0.105, "a": 30.0, "b": 0.5, "rp": 0.13, "A1": 0.0}
    fit = fit_light_curve(m, start, n_steps=4000, seed=1)
    for k in ("rp", "t0", "A1"):
        sigma = 0.5 * (fit.high[k] - fit.low[k])
        assert abs(fit.best[k] - truth[k]) < 4 * sigma, k
    assert np.sign(fit.best["A1"]) == np.sign(ramp)
    assert 0.05 < fit.acceptance < 0.7
    assert abs(np.std(fit.residuals) / 4e-4 - 1) < 0.15
    assert fit.error_scale == pytest.approx(1.0, abs=0.15)  # the errors were right


def test_allan_slope_of_white_noise():
    rng = np.random.default_rng(3)
    assert allan_slope(rng.normal(0, 1, 2000)) == pytest.approx(-0.5, abs=0.1)


def test_secondary_eclipse_depth_recovered(tmp_path):
    from exolrs.io.spectra import Spectra, write_spectra

    rng = np.random.default_rng(7)
    t = np.linspace(0.35, 0.65, 500)
    fixed = {"t0": 0.5, "a": 40.0, "b": 0.3, "rp": 0.145, "q1": 0.1, "q2": 0.3}
    wave = np.linspace(5, 12, 40)
    fp = 1e-3 + 2e-4 * (wave - 5) / 7  # rising with wavelength
    flux = np.empty((len(t), len(wave)))
    for j, f in enumerate(fp):
        m = LightCurveModel(
            t, np.ones(len(t)), np.ones(len(t)), 1.0, ["fp"], fixed, BOUNDS, eclipse=True
        )
        flux[:, j] = 1000 * m.model(np.array([f]))
    noisy = flux + rng.normal(0, 1.0, flux.shape)
    path = write_spectra(
        Spectra(wave, np.full(40, 0.09), noisy, np.ones_like(noisy), t), tmp_path / "s.fits"
    )
    from exolrs.stage4 import FitLightCurvesStep

    r = FitLightCurvesStep(path, output_dir=tmp_path / "S4").run(
        planet={"period": 1.0, "eclipse": True, "rp": 0.145, "a": 40.0, "b": 0.3},
        binning="width",
        bin_width=1.75,
        drop_first=0,
        n_ramps=0,
        n_steps_white=800,
        n_steps_spec=600,
        do_plot=False,
        maximum_cores=2,
    )
    from astropy.table import Table

    spec = Table.read(r.spectrum)
    expected = [fp[(wave >= lo) & (wave < lo + 1.75)].mean() for lo in (5, 6.75, 8.5, 10.25)]
    sigma = 0.5 * (spec["depth_err_low"] + spec["depth_err_high"])
    assert np.all(np.abs(spec["depth"] - expected[: len(spec)]) < 4 * sigma)
    assert np.all(spec["depth"] > 5e-4)


def test_detrending_vectors_from_the_spectra_and_a_table(tmp_path):
    """A systematic that follows an external vector (e.g. a PCA time series) is removed."""
    from astropy.table import Table

    from exolrs.errors import ExolrsError
    from exolrs.io.spectra import Spectra, write_spectra
    from exolrs.stage4.engine import run_stage4

    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 0.2, 400)
    vec = rng.standard_normal(400)
    wave = np.linspace(5, 12, 20)
    names = ["t0", "a", "b", "rp", "q1", "q2"]
    truth = [0.1, 40.0, 0.3, 0.145, 0.04, 0.4]
    m = LightCurveModel(t, np.ones(400), np.ones(400), 1.0, names, {}, BOUNDS)
    lc = m.model(np.array(truth)) * (1 + 1e-3 * vec)
    flux = 100 * lc[:, None] * np.ones((1, 20)) + rng.normal(0, 0.02, (400, 20))
    path = write_spectra(
        Spectra(wave, np.full(20, 0.18), flux, np.full_like(flux, 0.02), t), tmp_path / "s.fits"
    )
    Table({"pca_1": vec}).write(tmp_path / "pca.ecsv")
    common = dict(
        planet={"period": 1.0, "a": 40.0, "b": 0.3},
        binning="width",
        bin_width=3.5,
        drop_first=0,
        n_ramps=0,
        n_steps_white=600,
        n_steps_spec=300,
        do_plot=False,
    )
    r = run_stage4(
        path, tmp_path / "S4", detrend=["pca_1"], detrend_table=tmp_path / "pca.ecsv", **common
    )
    import json

    w = json.loads(r.white_fit.read_text())
    assert w["residual_rms_ppm"] < 1.2 * w["expected_noise_ppm"]
    assert w["best"]["d_pca_1"] > 0
    with pytest.raises(ExolrsError, match="detrending vector 'pca_9'"):
        run_stage4(
            path, tmp_path / "S5", detrend=["pca_9"], detrend_table=tmp_path / "pca.ecsv", **common
        )


def test_linear_coefficients_and_noise_scale_are_integrated_out_exactly():
    """log_prob(rp), with c0 (flat prior) and the noise scale s (prior 1/s) integrated out,
    equals log ∫∫ L(rp, c0, s) dc0 ds/s up to a constant (the s integral is analytic:
    ∝ χ²(c0)^(−n/2)); the drawn c0 follow their Student-t marginal."""
    t, flux, truth = _synthetic(ramp=0.0, seed=5)
    fixed = {k: truth[k] for k in ("t0", "a", "b", "q1", "q2")}
    err = np.full(len(t), 4e-4)
    m = LightCurveModel(t, flux, err, 1.0, ["rp", "c0"], fixed, BOUNDS)
    assert m.nonlinear == ["rp"] and m.linear == ["c0"]

    def brute(rp):
        c0 = np.linspace(0.998, 1.002, 4001)
        chi2 = np.array([np.sum((flux - m.model(np.array([rp, c]))) ** 2 / err**2) for c in c0])
        ll = -0.5 * len(t) * np.log(chi2)
        return ll.max() + np.log(np.trapezoid(np.exp(ll - ll.max()), c0))

    d_marg = m.log_prob([0.146]) - m.log_prob([0.144])
    assert d_marg == pytest.approx(brute(0.146) - brute(0.144), abs=1e-3)
    fit = fit_light_curve(m, {"rp": 0.14}, n_steps=3000, seed=2)
    solved = m.solve(np.array([[fit.best["rp"]]]))
    dof = len(t) - 1
    sd = np.sqrt(solved.chi2[0] / (dof - 2)) / solved.chol[0, 0, 0]
    assert 0.5 * (fit.high["c0"] - fit.low["c0"]) == pytest.approx(sd, rel=0.15)
    assert fit.autocorr.keys() == {"rp"}
    assert fit.steps_over_autocorr() >= 50  # the default chain length rule


def test_usable_channels():
    flux = np.ones((5, 5)) + np.arange(5)[:, None] * 0.01
    err = np.full((5, 5), 0.1)
    flux[2, 1] = np.nan  # one bad integration
    err[:, 2] = 0.0  # zero errors
    flux[:, 3] = 1.0  # constant
    flux[:, 4] = -1.0 + np.arange(5) * 0.01  # negative
    assert list(binning.usable_channels(flux, err)) == [True, False, False, False, False]


def test_a_dead_channel_is_skipped_and_said(tmp_path, caplog):
    """A channel whose pixels are all flagged (NaN) is left out of the spectrum with a
    warning and named in its meta; the others are fitted."""
    from astropy.table import Table

    from exolrs.io.spectra import Spectra, write_spectra
    from exolrs.stage4.engine import run_stage4

    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 0.2, 300)
    wave = np.linspace(5, 12, 20)
    ld = {"q1": 0.04, "q2": 0.4}
    m = LightCurveModel(t, np.ones(300), np.ones(300), 1.0, ["t0", "a", "b", "rp"], ld, BOUNDS)
    lc = m.model(np.array([0.1, 40.0, 0.3, 0.145]))
    flux = 100 * lc[:, None] * np.ones((1, 20)) + rng.normal(0, 0.02, (300, 20))
    flux[:, 11:14] = np.nan  # every pixel of the 9–10 µm channel
    path = write_spectra(
        Spectra(wave, np.full(20, 0.18), flux, np.full_like(flux, 0.02), t), tmp_path / "s.fits"
    )
    r = run_stage4(
        path,
        tmp_path / "S4",
        planet={"period": 1.0, "a": 40.0, "b": 0.3},
        binning="width",
        bin_width=1.0,
        drop_first=0,
        n_ramps=0,
        limb_darkening="fixed",
        do_plot=False,
    )
    spec = Table.read(r.spectrum)
    assert 9.5 not in list(spec["wavelength"]) and 8.5 in list(spec["wavelength"])
    assert spec.meta["skipped_channels_um"] == [9.5]
    assert np.all(np.isfinite(spec["depth"]))
    assert "9.500 µm not fitted" in caplog.text and "9.500" in r.warnings[0]


def test_channel_groups_are_even_and_balanced():
    from exolrs.stage4.engine import GROUP_SIZE, channel_groups

    for n in (1, 2, 5, 18, 28, 60, 61):
        groups = channel_groups(n)
        sizes = [len(g) for g in groups]
        assert np.array_equal(np.concatenate(groups), np.arange(n))
        assert max(sizes) <= GROUP_SIZE and max(sizes) - min(sizes) <= 1
        assert len(groups) % 2 == 0 or n == 1
    assert [len(g) for g in channel_groups(28)] == [7, 7, 7, 7]
    assert [len(g) for g in channel_groups(18)] == [9, 9]


def test_degenerate_normal_matrices_are_left_out_not_fatal():
    """A walker whose design is degenerate gets no factor (its log posterior is −inf); the
    others keep theirs — one such walker once stopped a whole channel fit."""
    from exolrs.stage4.channel_set import regular_cholesky

    eye = np.eye(2)
    near = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-15]])  # positive, yet not factorable
    batch = np.stack([eye, np.ones((2, 2)), 2 * eye, near, -eye])
    chol, regular = regular_cholesky(batch)
    assert regular.tolist() == [True, False, True, False, False]
    np.testing.assert_allclose(chol, [eye, np.sqrt(2) * eye])
    chol, regular = regular_cholesky(np.stack([eye, 3 * eye]))
    assert regular.all() and chol.shape == (2, 2, 2)


def test_two_ramps_stay_one_fast_one_slow():
    """With two ramps free the first is kept below RAMP_SPLIT and the second above it, so
    they neither swap nor cancel; a fast and a slow ramp are both recovered."""
    from exolrs.stage4.fit import least_squares_start
    from exolrs.stage4.model import RAMP_SPLIT

    rng = np.random.default_rng(2)
    t = np.linspace(0.0, 0.3, 800)
    free = ["rp", "c0", "c1", "A1", "tau1", "A2", "tau2"]
    fixed = {"t0": 0.12, "a": 40.0, "b": 0.3, "q1": 0.04, "q2": 0.25}
    m = LightCurveModel(t, np.ones(t.size), np.full(t.size, 2e-4), 1.0, free, fixed, BOUNDS)
    assert m.bounds["tau1"][1] == RAMP_SPLIT == m.bounds["tau2"][0]
    truth = {
        "rp": 0.145,
        "c0": 1.0,
        "c1": 0.0,
        "A1": 0.004,
        "tau1": 0.01,
        "A2": 0.003,
        "tau2": 0.125,
    }
    flux = m.predict({**fixed, **truth}) + rng.normal(0, 2e-4, t.size)
    m = LightCurveModel(t, flux, np.full(t.size, 2e-4), 1.0, free, fixed, BOUNDS)
    start = {"rp": 0.14, "c0": 1.0, "c1": 0.0, "A1": 0.0, "tau1": 0.01, "A2": 0.0, "tau2": 0.15}
    theta, _ = least_squares_start(m, start)
    best, _ = m.best_fit(theta)
    assert best["tau1"] == pytest.approx(0.01, rel=0.2)
    assert best["tau2"] == pytest.approx(0.125, rel=0.3)
    assert best["A2"] == pytest.approx(0.003, rel=0.3)
    one = LightCurveModel(t, flux, flux, 1.0, ["rp", "A1", "tau1", "c0"], fixed, BOUNDS)
    assert one.bounds["tau1"] == BOUNDS["tau1"]  # one ramp: any time scale
