"""Stage 4 sampling with known answers: the transit table against batman, the stacked
channels against each channel's model, the lockstep sampler against a known posterior and
against emcee, the red-noise β, nested sampling against MCMC."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.stage4.channel_set import ChannelSet, joint_ready
from exolrs.stage4.fit import fit_light_curve, prepare
from exolrs.stage4.fit_joint import fit_channels
from exolrs.stage4.lockstep import lockstep_sample
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS
from exolrs.stage4.transit import FixedOrbitTransit, Transit
from exolrs.stats.allan import beta_factor

ORBIT = {"t0": 0.1, "a": 40.0, "b": 0.3}


def test_fixed_orbit_table_matches_batman_on_and_off_its_grid():
    t = np.linspace(0.0, 0.2, 800)
    transit = Transit(t, 1.0)
    table = FixedOrbitTransit(transit, *ORBIT.values(), (0.13, 0.16))
    rng = np.random.default_rng(0)
    rp = rng.uniform(0.12, 0.17, 40)  # some below and above the grid: computed exactly
    u1, u2 = rng.uniform(0, 0.5, 40), rng.uniform(-0.1, 0.4, 40)
    exact = transit.many(*ORBIT.values(), rp, u1, u2)
    assert np.abs(table.flux(rp, u1, u2) - exact).max() < 3e-7
    assert exact.min() < 0.98  # the transit is in the window


def test_eclipse_stays_put_on_repeated_calls_and_is_linear_in_fp():
    """batman moves t0 on a secondary eclipse call; every call must still eclipse at t0."""
    t = np.linspace(0.4, 0.6, 401)
    transit = Transit(t, 1.0, eclipse=True)
    first = transit.one(0.5, 40.0, 0.3, 0.145, fp=2e-3)
    again = transit.one(0.5, 40.0, 0.3, 0.145, fp=2e-3)
    assert np.array_equal(first, again)
    assert first[200] == pytest.approx(1.0) and first[0] == pytest.approx(1.002)
    table = FixedOrbitTransit(transit, 0.5, 40.0, 0.3, (0.145, 0.145))
    fp = np.array([1e-3, 3e-3])
    assert np.allclose(table.eclipse(fp), transit.many(0.5, 40.0, 0.3, 0.145, 0, 0, fp))


def _channels(n_channels=4, n=300, seed=0, free=("rp", "q1", "q2", "c0", "c1", "A1")):
    """Channel models of one synthetic observation (orbit fixed, ramp time scale fixed)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 0.2, n)
    vec = rng.standard_normal(n)
    fixed = {**ORBIT, "tau1": 0.01, "q1": 0.04, "q2": 0.4}
    transit = Transit(t, 1.0)
    models = []
    for k in range(n_channels):
        rp = 0.14 + 0.002 * k
        clean = transit.one(*ORBIT.values(), rp, 0.16, 0.0) * (1 + 0.003 * np.exp(-t / 0.01))
        flux = clean * (1 - 0.01 * (t - 0.1)) * (1 + 2e-4 * vec) + rng.normal(0, 5e-4, n)
        own = {k2: v for k2, v in fixed.items() if k2 not in free}
        models.append(
            LightCurveModel(
                t,
                flux,
                np.full(n, 5e-4),
                1.0,
                [*free, "d_v"],
                own,
                BOUNDS,
                {"v": vec},
            )
        )
    return models


def test_stacked_channels_give_each_channels_likelihood():
    models = _channels()
    assert joint_ready(models)
    starts = [prepare(m, {"rp": 0.14, "q1": 0.05, "q2": 0.3}, "none")[0] for m in models]
    stack = ChannelSet(models, (0.12, 0.17))
    rng = np.random.default_rng(1)
    theta = np.array([s + rng.normal(0, 1, (6, 3)) * [1e-3, 0.01, 0.1] for s in starts])
    theta[0, 0, 1] = -0.1  # outside the prior
    stacked = stack.log_prob(theta)
    alone = np.array([m.log_prob(x) for m, x in zip(models, theta, strict=True)])
    assert np.array_equal(np.isfinite(stacked), np.isfinite(alone))
    assert np.isinf(stacked[0, 0])
    ok = np.isfinite(alone)
    assert np.abs(stacked[ok] - alone[ok]).max() < 1e-3


def test_lockstep_sampler_recovers_known_gaussians():
    """Three independent correlated 2-D Gaussians sampled in lockstep."""
    means = np.array([[0.0, 0.0], [5.0, -1.0], [1.0, 2.0]])
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    icov = np.linalg.inv(cov)

    def log_prob(x):
        d = x - means[:, None, :]
        return -0.5 * np.einsum("cwi,ij,cwj->cw", d, icov, d)

    rng = np.random.default_rng(2)
    p0 = means[:, None, :] + rng.normal(0, 0.1, (3, 24, 2))
    chain, _, accepted = lockstep_sample(log_prob, p0, 4000, rng)
    for c in range(3):
        s = chain[500:, c].reshape(-1, 2)
        assert np.allclose(s.mean(axis=0), means[c], atol=0.1)
        assert np.allclose(s.std(axis=0), 1.0, atol=0.07)
        assert np.corrcoef(s.T)[0, 1] == pytest.approx(0.9, abs=0.03)
    assert 0.15 < accepted.mean() / 4000 < 0.8


def _grid_quantiles(m, rp):
    """16/50/84 % of Rp/R*'s marginal posterior by brute force: the posterior on a grid of
    (rp, q1, q2) summed over q1 and q2."""
    r, q1, q2 = np.meshgrid(rp, np.linspace(0, 1, 61)[1:], np.linspace(0, 1, 31), indexing="ij")
    x = np.stack([r.ravel(), q1.ravel(), q2.ravel()], axis=1)
    lp = np.concatenate([m.log_prob(x[i : i + 4000]) for i in range(0, len(x), 4000)])
    marginal = np.exp(lp - lp.max()).reshape(r.shape).sum(axis=(1, 2))
    return np.interp([0.16, 0.5, 0.84], np.cumsum(marginal) / marginal.sum(), rp)


@pytest.mark.parametrize("sampler", ["de", "emcee"])
def test_samplers_match_a_brute_force_posterior(sampler):
    """Medians within 0.15σ and widths within 8 % of the exact marginal posterior of
    Rp/R* (limb darkening free, five systematics coefficients integrated out)."""
    m = _channels(1, seed=3)[0]
    fit = fit_light_curve(m, {"rp": 0.14, "q1": 0.05, "q2": 0.3}, sampler=sampler, seed=4)
    lo, mid, hi = _grid_quantiles(m, np.linspace(0.1365, 0.1435, 71))
    width = 0.5 * (hi - lo)
    assert abs(fit.best["rp"] - mid) < 0.15 * width
    assert 0.5 * (fit.high["rp"] - fit.low["rp"]) == pytest.approx(width, rel=0.08)
    assert fit.steps_over_autocorr() >= 50 and fit.sampler == sampler


def test_channels_fitted_jointly_equal_channels_fitted_alone():
    models = _channels(3, seed=5)
    start = {"rp": 0.14, "q1": 0.05, "q2": 0.3}
    joint = fit_channels(models, [start] * 3, seed=6)
    for m, fit in zip(_channels(3, seed=5), joint, strict=True):
        alone = fit_light_curve(m, start, seed=7)
        sd = 0.5 * (alone.high["rp"] - alone.low["rp"])
        assert abs(fit.best["rp"] - alone.best["rp"]) < 0.25 * sd
        assert 0.5 * (fit.high["rp"] - fit.low["rp"]) == pytest.approx(sd, rel=0.12)
        assert fit.sampler == "de" and fit.steps_over_autocorr() >= 50


def test_beta_factor_of_white_and_red_noise():
    rng = np.random.default_rng(8)
    assert 1.0 <= beta_factor(rng.normal(0, 1, 1000)) < 1.15
    red = np.zeros(1000)
    for i in range(1, 1000):  # AR(1), 10-point correlation time
        red[i] = 0.9 * red[i - 1] + rng.normal(0, 1)
    assert beta_factor(red) > 2.0


def test_nested_sampling_agrees_with_mcmc_and_reports_the_evidence():
    free = ("rp", "c0", "c1")
    m = _channels(1, seed=9, free=free)[0]
    start = {"rp": 0.14}
    mc = fit_light_curve(m, start, seed=10)
    ns = fit_light_curve(_channels(1, seed=9, free=free)[0], start, sampler="dynesty", seed=10)
    sd = 0.5 * (mc.high["rp"] - mc.low["rp"])
    assert abs(ns.best["rp"] - mc.best["rp"]) < 0.3 * sd
    assert 0.5 * (ns.high["rp"] - ns.low["rp"]) == pytest.approx(sd, rel=0.2)
    assert np.isfinite(ns.log_evidence) and 0 < ns.log_evidence_err < 1
    assert ns.sampler == "dynesty" and mc.log_evidence is None


def test_run_until_converged_reports_the_chain_length_as_it_grows():
    from exolrs.stage4.lockstep import run_until_converged

    calls = []
    mode = np.array([2.5, 0.0])

    def log_prob(x, channels):
        calls.append(tuple(int(c) for c in channels))
        out = -0.5 * np.sum(x**2, axis=-1)
        if 1 in channels:  # the second ensemble is slower: two modes
            y = x[list(channels).index(1)]
            out[list(channels).index(1)] = np.logaddexp(
                -0.5 * np.sum((y - mode) ** 2, axis=-1), -0.5 * np.sum((y + mode) ** 2, axis=-1)
            )
        return out

    seen = []
    rng = np.random.default_rng(11)
    kept, records = run_until_converged(
        log_prob, rng.normal(0, 0.1, (2, 16, 2)), 20000, 50, rng, lambda d, n: seen.append((d, n))
    )
    assert seen[0] == (0, 50) and all(n == 50 for _, n in seen) and seen[-1][0] == 50
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert all(r["n_steps"] >= 50 * r["tau"].max() for r in records)
    assert np.std(kept[0], axis=0) == pytest.approx([1, 1], rel=0.1)
    assert np.std(kept[1], axis=0) == pytest.approx([np.sqrt(1 + 2.5**2), 1], rel=0.1)
    # the first ensemble stopped stepping once converged; the second went on alone
    assert calls[0] == (0, 1) and calls[-1] == (1,)
    assert len(kept[1]) > len(kept[0])


def test_many_transits_at_once_equal_batman():
    """Transit.many (separations for all walkers, batman's quadratic kernel on the in-transit
    points) against batman's own light_curve, one parameter set at a time."""
    from exolrs.stage4.transit import Transit

    rng = np.random.default_rng(4)
    t = np.linspace(-0.25, 0.25, 1500)
    tr = Transit(t, 4.055)
    n = 40
    t0 = rng.uniform(-0.05, 0.05, n)
    a = rng.uniform(5, 15, n)
    b = rng.uniform(0, 1.2, n)
    rp = rng.uniform(0.02, 0.2, n)
    u1, u2 = rng.uniform(0, 0.5, n), rng.uniform(-0.1, 0.4, n)
    many = tr.many(t0, a, b, rp, u1, u2)
    one = np.array([tr.one(*row) for row in zip(t0, a, b, rp, u1, u2, strict=True)])
    assert many.shape == (n, t.size)
    assert np.max(np.abs(many - one)) < 1e-12
    assert np.any(many < 1)  # some walkers do transit
    # a full orbit: the planet behind the star (the eclipse phase) hides nothing
    t_full = np.linspace(0, 4.055, 4000)
    assert np.allclose(
        Transit(t_full, 4.055).many(0.0, 8.0, 0.2, 0.15, 0.1, 0.2)[0],
        Transit(t_full, 4.055).one(0.0, 8.0, 0.2, 0.15, 0.1, 0.2),
        atol=1e-12,
    )
