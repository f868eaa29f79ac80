"""The GP red-noise likelihood (stage4/gp.py): celerite2 as the oracle of the compiled
whitening, a dense-matrix computation as the oracle of the marginal likelihood, and the
stacked channels equal to each channel's own model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from exolrs.stage4 import gp
from exolrs.stage4.channel_set import ChannelSet
from exolrs.stage4.fit import prepare
from exolrs.stage4.limb_darkening import u_to_q
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import pulls


def test_whitened_gram_matches_celerite2():
    celerite2 = pytest.importorskip("celerite2")
    rng = np.random.default_rng(1)
    n, k, nb, curves = 400, 3, 7, 2
    t = np.sort(rng.uniform(0, 0.3, n))
    t[100:200] = t[100] + 0.0003 * np.arange(100)  # a regular stretch
    t = np.sort(t)
    var = rng.uniform(0.5, 2.0, (n, curves)) * 1e-6
    flux = rng.normal(size=(n, curves))
    channel = rng.integers(0, curves, nb)
    transit = rng.uniform(0.9, 1.0, (n, nb))
    amp2 = np.exp(rng.uniform(-6, 3, nb)) * 1e-6
    tau = np.exp(rng.uniform(-7, 0, nb))
    shared = rng.normal(size=(n, k, 1))
    own = rng.normal(size=(n, k, nb))
    for columns in (shared, own):
        gram, log_det = gp.whitened_gram(t, var, flux, channel, transit, columns, amp2, tau)
        for b in range(nb):
            ref = celerite2.GaussianProcess(celerite2.terms.RealTerm(a=amp2[b], c=1 / tau[b]))
            ref.compute(t, diag=var[:, channel[b]])
            x = transit[:, b, None] * columns[:, :, b if columns.shape[2] > 1 else 0]
            vecs = np.column_stack([x, flux[:, channel[b]]])
            expect = vecs.T @ ref.apply_inverse(vecs)
            assert np.allclose(gram[b], expect, rtol=1e-9, atol=1e-9 * np.abs(expect).max())
            # ln det C from celerite2's likelihood of zeros: −½ (ln det C + n ln 2π)
            ln_det = -2 * ref.log_likelihood(np.zeros(n)) - n * np.log(2 * np.pi)
            assert log_det[b] == pytest.approx(ln_det, rel=1e-10)


def _models(n=300, count=3, seed=0, kind="white+ar1"):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 0.2, n)
    clean = pulls.transit_light_curve(t)
    q1, q2 = u_to_q(*pulls.U)
    fixed = {k: pulls.ORBIT[k] for k in ("t0", "a", "b")} | {"q1": float(q1), "q2": float(q2)}
    return [
        LightCurveModel(
            t,
            clean + pulls.noise(kind, n, rng),
            np.full(n, pulls.WHITE) * (1 + 0.1 * i),
            1.0,
            ["rp", "c0", "c1"],
            dict(fixed),
            BOUNDS,
        )
        for i in range(count)
    ]


def test_gp_marginal_likelihood_equals_the_dense_computation():
    """ln L = −½(n−k) ln χ²_C − ½ ln det XᵀC⁻¹X − ½ ln det C (coefficients and noise scale
    integrated out) with C built as a dense matrix."""
    m = _models(count=1)[0]
    m.enable_gp({"rp": 0.14})
    assert m.nonlinear == ["rp", *gp.NAMES]
    n = m.t.size
    for theta in ([0.141, -0.5, -4.5], [0.139, 1.0, -2.0], [0.14, -4.0, -3.5]):
        v = m._ensemble(np.array([theta]))
        amp2, tau = m.gp_kernel(v)
        cov = np.diag(m.err**2) + amp2[0] * np.exp(-np.abs(m.t[:, None] - m.t) / tau[0])
        x = m.astro(v)[0][:, None] * np.column_stack([np.ones(n), m.dt])
        ci = np.linalg.inv(cov)
        prec, rhs = x.T @ ci @ x, x.T @ ci @ m.flux
        chi2 = m.flux @ ci @ m.flux - rhs @ np.linalg.solve(prec, rhs)
        expect = (
            -0.5 * (n - 2) * np.log(chi2)
            - 0.5 * np.linalg.slogdet(prec)[1]
            - 0.5 * np.linalg.slogdet(cov)[1]
        )
        assert m.log_prob(theta) == pytest.approx(expect, abs=1e-6)
    lo, hi = m.bounds[gp.NAMES[1]]
    ingress = gp.ingress_duration(1.0, 8.0, 0.3, 0.14)
    assert ingress == pytest.approx(0.00585, abs=1e-5)  # (T14 − T23)/2 of this orbit
    grazing = gp.ingress_duration(1.0, 8.0, 1.0, 0.14)
    assert grazing == pytest.approx(0.5 * np.sqrt(1.14**2 - 1) / (8 * np.pi))  # T14 / 2
    assert np.exp(lo) == pytest.approx(0.75 * ingress) and np.exp(hi) == pytest.approx(1.0)
    assert m.log_prob([0.14, -0.5, hi + 0.1]) == -np.inf


def test_stacked_channels_with_a_gp_equal_their_own_models():
    models = _models()
    starts = [prepare(m, {"rp": 0.13}, "gp") for m in models]
    for theta0, _ in starts:
        assert theta0.shape == (3,) and 0.13 < theta0[0] < 0.15
        assert -3 < theta0[1] < 1  # the injected red rms is half the white: ln 0.5
    stack = ChannelSet(models, (0.1, 0.2))
    for m in models:
        m.table = stack.table
    rng = np.random.default_rng(3)
    theta = np.array([t0 + 0.01 * rng.normal(size=(6, 3)) for t0, _ in starts])
    own = np.array([m.log_prob(th) for m, th in zip(models, theta, strict=True)])
    assert np.allclose(stack.log_prob(theta), own, atol=1e-6)


def test_gp_widens_the_depth_errors_under_red_noise_only():
    """The pull test's own light curves, a few of each: with red noise the GP's depth
    errors are wider than the white ones; with white noise they stay close."""
    from exolrs.stage4.fit_joint import fit_channels

    def widths(kind, option):
        models = _models(n=600, count=6, seed=4, kind=kind)
        fits = fit_channels(models, [{"rp": 0.13}] * 6, seed=1, red_noise=option, n_draws=500)
        return np.array([f.depth()[1] + f.depth()[2] for f in fits])

    red = widths("white+ar1", "gp") / widths("white+ar1", "none")
    white = widths("white", "gp") / widths("white", "none")
    assert np.median(red) > 1.4
    assert 0.9 < np.median(white) < 1.25


def test_auto_keeps_the_gp_only_where_the_noise_is_red():
    white, red = (
        _models(n=600, count=1, seed=6, kind="white")[0],
        _models(n=600, count=1, seed=6, kind="ar1")[0],
    )
    theta_w, _ = prepare(white, {"rp": 0.13}, "auto")
    theta_r, cov_r = prepare(red, {"rp": 0.13}, "auto")
    assert not white.gp and white.nonlinear == ["rp"] and theta_w.shape == (1,)
    assert white.gp_gain < gp.AUTO_GAIN
    assert red.gp and red.nonlinear == ["rp", *gp.NAMES] and theta_r.shape == (3,)
    assert red.gp_gain > 20 and (cov_r is None or cov_r.shape == (3, 3))
    # a stack of both kinds comes back in order, each with its own parameters
    from exolrs.stage4.fit_joint import fit_channels

    models = [
        *_models(n=600, count=2, seed=7, kind="white"),
        *_models(n=600, count=2, seed=7, kind="ar1"),
    ]
    fits = fit_channels(models, [{"rp": 0.13}] * 4, seed=2, red_noise="auto", n_draws=300)
    assert [gp.NAMES[0] in f.names for f in fits] == [False, False, True, True]


def test_prior_grid_centres_cells_over_the_box():
    bounds = {gp.NAMES[0]: (-2.0, 2.0), gp.NAMES[1]: (0.0, 1.0)}
    cells, size = gp.prior_grid(bounds, 4)
    assert cells.shape == (16, 2)
    np.testing.assert_allclose(size, [1.0, 0.25])
    np.testing.assert_allclose(np.unique(cells[:, 0]), [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(np.unique(cells[:, 1]), [0.125, 0.375, 0.625, 0.875])
