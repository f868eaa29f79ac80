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
    """Maximum-likelihood start (jitter held at its start value)."""
    from scipy.optimize import least_squares

    names = [n for n in m.free if n != "ln_jit"]
    x0 = np.array([start[n] for n in names], float)
    lo = np.array([m.bounds.get(n, (-np.inf, np.inf))[0] for n in names])
    hi = np.array([m.bounds.get(n, (-np.inf, np.inf))[1] for n in names])
    pad = 1e-9 * (np.abs(np.where(np.isfinite(lo), lo, 0)) + 1)
    x0 = np.clip(
        x0, np.where(np.isfinite(lo), lo + pad, lo), np.where(np.isfinite(hi), hi - pad, hi)
    )
    full = dict(start)

    def resid(x):
        full.update(zip(names, x, strict=True))
        theta = np.array([full[n] for n in m.free])
        return m.residuals_normalised(theta)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", method="trf")
    full.update(zip(names, sol.x, strict=True))
    if "ln_jit" in m.free:
        r = m.flux - m.model(np.array([full[n] for n in m.free]))
        excess = np.var(r) - np.mean(m.err**2)
        full["ln_jit"] = 0.5 * np.log(max(excess, 1e-4 * np.mean(m.err**2)))
        lo_j, hi_j = m.bounds["ln_jit"]
        full["ln_jit"] = float(np.clip(full["ln_jit"], lo_j + 0.1, hi_j - 0.1))
    return np.array([full[n] for n in m.free])


def fit_light_curve(
    m: LightCurveModel,
    start: dict[str, float],
    *,
    n_walkers: int | None = None,
    n_steps: int = 2000,
    burn_fraction: float = 0.5,
    seed: int = 0,
    keep_chain: bool = False,
) -> FitResult:
    """Least squares, then emcee; medians and 16/84 % percentiles of the second half."""
    import emcee

    theta0 = least_squares_start(m, start)
    ndim = len(theta0)
    nw = n_walkers or max(2 * ndim + 2, 24)
    rng = np.random.default_rng(seed)
    scale = np.array([_step(n, x) for n, x in zip(m.free, theta0, strict=True)])
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
    q16, q50, q84 = np.percentile(flat, [16, 50, 84], axis=0)
    emcee_log = logging.getLogger("emcee")
    level = emcee_log.level
    emcee_log.setLevel(logging.ERROR)  # short-chain warnings: reported as steps_over_autocorr
    try:
        tau = sampler.get_autocorr_time(discard=burn, quiet=True)
    except Exception:
        tau = np.full(ndim, np.nan)
    finally:
        emcee_log.setLevel(level)
    best = {**m.fixed, **dict(zip(m.free, q50, strict=True))}
    theta = np.array([best[n] for n in m.free])
    model = m.model(theta)
    return FitResult(
        names=list(m.free),
        best={k: float(v) for k, v in best.items()},
        low={n: float(a - b) for n, a, b in zip(m.free, q16, q50, strict=True)},
        high={n: float(a - b) for n, a, b in zip(m.free, q84, q50, strict=True)},
        model=model,
        systematics=m.systematics(m.values(theta)),
        residuals=m.flux - model,
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        autocorr={n: float(t) for n, t in zip(m.free, tau, strict=True)},
        n_steps=n_steps - burn,
        chain=flat[:: max(1, len(flat) // 5000)] if keep_chain else None,
    )


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
