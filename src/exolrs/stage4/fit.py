"""Fitting a light curve: least squares for a start, then emcee for posteriors.

`fit_light_curve` returns the best (median) values, 16/84 % intervals, the residuals, and
convergence diagnostics (mean acceptance fraction; integrated autocorrelation times and the
chain length in units of them — emcee's documentation asks for ≥ 50).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from exolrs.stage4.model import LightCurveModel


@dataclass
class FitResult:
    names: list[str]
    best: dict[str, float]  # posterior medians (free) and fixed values
    low: dict[str, float]  # 16th percentile − median (negative)
    high: dict[str, float]  # 84th − median
    model: np.ndarray
    systematics: np.ndarray
    residuals: np.ndarray
    acceptance: float
    autocorr: dict[str, float]
    n_steps: int
    chain: np.ndarray | None = None  # (nsamples, ndim), thinned, for corner plots

    def depth(self) -> tuple[float, float, float]:
        """Transit depth (Rp/R*)² — or eclipse depth fp when fp was fitted — with its lower
        and upper 1σ errors."""
        if "fp" in self.names:
            return self.best["fp"], -self.low["fp"], self.high["fp"]
        rp, lo, hi = self.best["rp"], self.low["rp"], self.high["rp"]
        d = rp * rp
        return d, d - (rp + lo) ** 2, (rp + hi) ** 2 - d


def least_squares_start(m: LightCurveModel, start: dict[str, float]) -> np.ndarray:
    """Maximum-likelihood start of the non-linear parameters (`m.nonlinear`), the linear
    coefficients solved exactly at every step (variable projection); jitter held at its
    start value, then set from the excess scatter."""
    from scipy.optimize import least_squares

    names = [n for n in m.nonlinear if n != "ln_jit"]
    x0 = np.array([start[n] for n in names], float)
    lo = np.array([m.bounds.get(n, (-np.inf, np.inf))[0] for n in names])
    hi = np.array([m.bounds.get(n, (-np.inf, np.inf))[1] for n in names])
    pad = 1e-9 * (np.abs(np.where(np.isfinite(lo), lo, 0)) + 1)
    x0 = np.clip(
        x0, np.where(np.isfinite(lo), lo + pad, lo), np.where(np.isfinite(hi), hi - pad, hi)
    )
    full = {n: start[n] for n in m.nonlinear}

    def resid(x):
        full.update(zip(names, x, strict=True))
        v, model = m.best_fit([full[n] for n in m.nonlinear])
        return np.nan_to_num((m.flux - model) / np.sqrt(m.variance(v)), nan=1e6)

    if names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sol = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", method="trf")
        full.update(zip(names, sol.x, strict=True))
    if "ln_jit" in m.nonlinear:
        _, model = m.best_fit([full[n] for n in m.nonlinear])
        r = m.flux - model
        excess = np.var(r) - np.mean(m.err**2)
        full["ln_jit"] = 0.5 * np.log(max(excess, 1e-4 * np.mean(m.err**2)))
        lo_j, hi_j = m.bounds["ln_jit"]
        full["ln_jit"] = float(np.clip(full["ln_jit"], lo_j + 0.1, hi_j - 0.1))
    return np.array([full[n] for n in m.nonlinear])


def fit_light_curve(
    m: LightCurveModel,
    start: dict[str, float],
    *,
    n_walkers: int | None = None,
    n_steps: int = 2000,
    burn_fraction: float = 0.5,
    seed: int = 0,
    keep_chain: bool = False,
    n_draws: int = 4000,
) -> FitResult:
    """Least squares, then emcee over the non-linear parameters (linear systematics
    coefficients marginalised, then drawn from their conditional Gaussian for `n_draws`
    posterior samples); medians and 16/84 % percentiles of the second half."""
    import emcee

    theta0 = least_squares_start(m, start)
    ndim = len(theta0)
    nw = n_walkers or max(4 * ndim, 24)
    rng = np.random.default_rng(seed)
    scale = np.array([_step(n, x) for n, x in zip(m.nonlinear, theta0, strict=True)])
    p0 = theta0 + scale * rng.standard_normal((nw, ndim))
    for k in range(nw):  # keep every walker inside the priors
        tries = 0
        while not np.isfinite(m.log_prob(p0[k])) and tries < 100:
            p0[k] = theta0 + 0.1 * scale * rng.standard_normal(ndim)
            tries += 1
        if not np.isfinite(m.log_prob(p0[k])):
            p0[k] = theta0
    sampler = emcee.EnsembleSampler(nw, ndim, m.log_prob)
    sampler.random_state = np.random.RandomState(seed).get_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sampler.run_mcmc(p0, n_steps, progress=False)
    burn = int(burn_fraction * n_steps)
    flat = sampler.get_chain(discard=burn, flat=True)
    emcee_log = logging.getLogger("emcee")
    level = emcee_log.level
    emcee_log.setLevel(logging.ERROR)  # short-chain warnings: reported as steps_over_autocorr
    try:
        tau = sampler.get_autocorr_time(discard=burn, quiet=True)
    except Exception:
        tau = np.full(ndim, np.nan)
    finally:
        emcee_log.setLevel(level)
    samples = _with_linear_draws(m, flat, n_draws, rng)
    q16, q50, q84 = np.percentile(samples, [16, 50, 84], axis=0)
    # the best model: median non-linear values, coefficients at their conditional optimum
    best_v, model = m.best_fit(np.median(flat, axis=0))
    best = {**m.fixed, **dict(zip(m.free, q50, strict=True))}
    return FitResult(
        names=list(m.free),
        best={k: float(v) for k, v in best.items()},
        low={n: float(a - b) for n, a, b in zip(m.free, q16, q50, strict=True)},
        high={n: float(a - b) for n, a, b in zip(m.free, q84, q50, strict=True)},
        model=model,
        systematics=m.systematics(best_v),
        residuals=m.flux - model,
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        autocorr={n: float(t) for n, t in zip(m.nonlinear, tau, strict=True)},
        n_steps=n_steps - burn,
        chain=samples[:: max(1, len(samples) // 5000)] if keep_chain else None,
    )


def _with_linear_draws(m: LightCurveModel, flat: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Posterior samples of every free parameter (columns in `m.free` order): a thinned
    set of the chain's non-linear samples, each with linear coefficients drawn from
    N(β̂, (XᵀWX)⁻¹) at that sample."""
    if not m.linear:
        return flat
    pick = flat[np.linspace(0, len(flat) - 1, min(n_draws, len(flat))).astype(int)]
    out = np.empty((len(pick), len(m.free)))
    col = {n: i for i, n in enumerate(m.free)}
    for j, theta in enumerate(pick):
        v = {**m.fixed, **dict(zip(m.nonlinear, theta, strict=True))}
        sol = m.solve_linear(v)
        beta = np.full(len(m.linear), np.nan)
        if sol is not None:
            # β = β̂ + L⁻ᵀ z has covariance (L Lᵀ)⁻¹
            z = rng.standard_normal(len(m.linear))
            beta = sol.beta + np.linalg.solve(sol.chol.T, z)
        for n, x in zip(m.nonlinear, theta, strict=True):
            out[j, col[n]] = x
        for n, x in zip(m.linear, beta, strict=True):
            out[j, col[n]] = x
    return out


def _step(name: str, x: float) -> float:
    """Initial walker spread per parameter."""
    return {
        "t0": 1e-4,
        "a": 0.05,
        "b": 0.01,
        "rp": 1e-4,
        "q1": 0.05,
        "q2": 0.05,
        "tau1": 0.05 * abs(x) + 1e-4,
        "tau2": 0.05 * abs(x) + 1e-4,
        "ln_jit": 0.1,
    }.get(name, 1e-4 * max(abs(x), 1e-3))
