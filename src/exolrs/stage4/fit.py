"""Fitting a light curve: least squares for a start, then emcee until the chain is long.

`fit_light_curve` starts the walkers from the least-squares solution and its Laplace
(Jacobian) covariance, so burn-in is short, then samples with differential-evolution moves
(they halved the white fit's autocorrelation time against emcee's default stretch move) —
the lockstep sampler (`sampler="de"`, the default), emcee (`"emcee"`) or nested sampling
(`"dynesty"`) — on the whole ensemble at once, in blocks, until the kept chain is
`min_autocorr` integrated autocorrelation times long (emcee's documentation asks for ≥ 50)
or `n_steps` is reached.  It returns the posterior medians, 16/84 % intervals, the residuals
and the convergence record (acceptance, τ per parameter, steps/τ).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from exolrs.stage4 import gp
from exolrs.stage4.convergence import CHECK_EVERY, autocorr, converged
from exolrs.stage4.lockstep import run_until_converged
from exolrs.stage4.model import LightCurveModel
from exolrs.stats.allan import beta_factor


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
    n_steps: int  # steps kept after burn-in
    chain: np.ndarray | None = None  # (nsamples, ndim), thinned, for corner plots
    error_scale: float = 1.0  # scatter / propagated errors at the best fit
    red_noise_beta: float = 1.0  # the time-averaging β the likelihood was tempered by
    log_evidence: float | None = None  # ln Z (nested sampling), and its error
    log_evidence_err: float | None = None
    sampler: str = "emcee"

    def depth(self) -> tuple[float, float, float]:
        """Transit depth (Rp/R*)² — or eclipse depth fp when fp was fitted — with its lower
        and upper 1σ errors."""
        if "fp" in self.names:
            return self.best["fp"], -self.low["fp"], self.high["fp"]
        rp, lo, hi = self.best["rp"], self.low["rp"], self.high["rp"]
        d = rp * rp
        return d, d - (rp + lo) ** 2, (rp + hi) ** 2 - d

    def steps_over_autocorr(self) -> float:
        """Kept chain length in units of its longest autocorrelation time (nan for nested
        sampling, which has no chain)."""
        taus = [t for t in self.autocorr.values() if np.isfinite(t)]
        return float(self.n_steps / max(taus)) if taus else float("nan")


def least_squares_start(m: LightCurveModel, start: dict[str, float]):
    """Maximum-likelihood non-linear parameters (`m.nonlinear`) with the linear coefficients
    solved exactly at every step (variable projection), and their Laplace covariance from the
    Jacobian (None when it is singular).  White noise: a GP's ρ, τ come after, from
    `gp_start`."""
    from scipy.optimize import least_squares

    names = list(m.nonlinear)
    x0 = np.array([start[n] for n in names], float)
    if not names:
        return x0, None
    lo = np.array([m.bounds.get(n, (-np.inf, np.inf))[0] for n in names])
    hi = np.array([m.bounds.get(n, (-np.inf, np.inf))[1] for n in names])
    pad = 1e-9 * (np.abs(np.where(np.isfinite(lo), lo, 0)) + 1)
    x0 = np.clip(
        x0, np.where(np.isfinite(lo), lo + pad, lo), np.where(np.isfinite(hi), hi - pad, hi)
    )

    def resid(x):
        _, model = m.best_fit(x)
        return np.nan_to_num((m.flux - model) / m.err, nan=1e6)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", method="trf")
    dof = max(len(m.flux) - len(names) - len(m.linear), 1)
    try:
        cov = np.linalg.inv(sol.jac.T @ sol.jac) * (2 * sol.cost / dof)
        cov = cov if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0) else None
    except np.linalg.LinAlgError:
        cov = None
    return sol.x, cov


GP_GRID = 12  # cells per GP parameter in the start grid


def gp_start(m: LightCurveModel, theta0: np.ndarray, cov):
    """The GP's ln ρ, ln τ appended to a white start: the likelihood on a 12 × 12 grid of
    cells over their prior ranges at that start (one ensemble call), kept on the model
    (`gp_cells`) so that the walkers start spread over it — under 1/f-like noise the
    posterior in τ can have two modes, and walkers started in one never found the other (the
    depth errors came out 30 % small) — and its best cell as the start."""
    g, size = gp.prior_grid(m.bounds, GP_GRID)
    trial = np.column_stack([np.repeat(theta0[None], len(g), axis=0), g])
    lp = m.log_prob(trial)
    best = trial[int(np.argmax(lp))]
    floor = m.bounds[gp.NAMES[0]][0]
    white = m.log_prob(np.concatenate([theta0, [floor, best[-1]]]))  # ρ = 1 % : white
    m.gp_gain = float(np.max(lp) - white)
    weight = np.exp(lp - np.max(lp))
    m.gp_cells = (g, weight / weight.sum(), size)
    if cov is not None:
        cov = np.block(
            [[cov, np.zeros((len(theta0), 2))], [np.zeros((2, len(theta0))), 0.09 * np.eye(2)]]
        )
    return best, cov


def initial_ensemble(m: LightCurveModel, theta0, cov, n_walkers: int, rng) -> np.ndarray:
    """Walkers drawn around the start from the Laplace covariance (or fixed small spreads),
    every one inside the priors."""
    ndim = len(theta0)
    scale = np.array([_step(n, x) for n, x in zip(m.nonlinear, theta0, strict=True)])
    if cov is not None:
        # a start on a prior edge leaves the Jacobian flat there: keep every direction open
        w, v = np.linalg.eigh(0.5 * (cov + cov.T))
        root = v * np.sqrt(np.clip(w, 0, None))
        draw = lambda k: (  # noqa: E731
            theta0
            + rng.standard_normal((k, ndim)) @ root.T
            + 0.1 * scale * rng.standard_normal((k, ndim))
        )
    else:
        draw = lambda k: theta0 + scale * rng.standard_normal((k, ndim))  # noqa: E731
    p0 = draw(n_walkers)
    if m.gp and m.gp_cells is not None:  # the GP's parameters over its start grid
        cells, weight, size = m.gp_cells
        pick = rng.choice(len(cells), size=n_walkers, p=weight)
        p0[:, -2:] = cells[pick] + size * rng.uniform(-0.5, 0.5, (n_walkers, 2))
    for k in range(1, 60):
        bad = ~np.isfinite(m.log_prob(p0))
        if not bad.any():
            return p0
        # near a prior edge: shrink the spread until the walkers fit inside
        p0[bad] = theta0 + 0.7**k * (draw(int(bad.sum())) - theta0)
    bad = ~np.isfinite(m.log_prob(p0))
    if bad.any():
        start = dict(zip(m.nonlinear, theta0, strict=True))
        raise ValueError(f"cannot place {bad.sum()} walkers inside the priors around {start}")
    return p0


def fit_light_curve(
    m: LightCurveModel,
    start: dict[str, float],
    *,
    n_walkers: int | None = None,
    n_steps: int = 20000,
    min_autocorr: float = 50.0,
    seed: int = 0,
    keep_chain: bool = False,
    n_draws: int = 4000,
    sampler: str = "de",
    red_noise: str = "none",
    progress=None,
) -> FitResult:
    """Least squares, then emcee (or dynesty) over the non-linear parameters; the linear
    coefficients and the error scale are drawn from their conditionals for `n_draws`
    posterior samples; medians and 16/84 % percentiles.  emcee runs until the kept chain is
    `min_autocorr` autocorrelation times long or `n_steps` steps in all.  `red_noise="beta"`
    tempers the likelihood by the least-squares residuals' time-averaging β² (errors × β).
    `progress(done, total)` follows the chain length in τ (the de sampler)."""
    theta0, cov = prepare(m, start, red_noise)
    m.use_fixed_orbit_table(dict(zip(m.nonlinear, theta0, strict=True)).get("rp", 0.1))
    rng = np.random.default_rng(seed)
    if sampler == "dynesty":
        from exolrs.stage4.nested import run_dynesty

        flat, record = run_dynesty(m, theta0, cov, seed)
    elif sampler == "emcee":
        flat, record = _run_emcee(m, theta0, cov, n_walkers, n_steps, min_autocorr, rng, seed)
    else:
        flat, record = _run_de(m, theta0, cov, n_walkers, n_steps, min_autocorr, rng, progress)
    return summarise(m, flat, record, rng, keep_chain=keep_chain, n_draws=n_draws)


def prepare(m: LightCurveModel, start: dict[str, float], red_noise: str):
    """The least-squares start and its covariance; with `red_noise="beta"` the model is
    tempered by the residuals' β² (and the covariance widened to match); with `"gp"` the
    noise gains the Gaussian process of `gp.py`; with `"auto"` it keeps it only when the data
    ask for it (`gp.AUTO_GAIN`)."""
    m.disable_gp()  # the least squares is white (a model prepared before starts over)
    theta0, cov = least_squares_start(m, start)
    if red_noise in ("gp", "auto"):
        m.enable_gp(start)
        with_gp = gp_start(m, theta0, cov)
        if red_noise == "gp" or m.gp_gain >= gp.AUTO_GAIN:
            theta0, cov = with_gp
        else:
            m.disable_gp()
    if red_noise == "beta":
        m.temper = beta_factor(m.flux - m.best_fit(theta0)[1]) ** 2
        cov = None if cov is None else cov * m.temper
    return theta0, cov


def summarise(
    m: LightCurveModel, flat: np.ndarray, record: dict, rng, *, keep_chain=False, n_draws=4000
) -> FitResult:
    """A FitResult from the non-linear posterior samples `flat` and the sampler's record:
    linear coefficients drawn, medians and 16/84 % intervals, the best model."""
    samples = draw_linear(m, flat, n_draws, rng)
    q16, q50, q84 = np.percentile(samples, [16, 50, 84], axis=0)
    # the best model: median non-linear values, coefficients at their conditional optimum
    theta_med = np.median(flat, axis=0)
    best_v, model = m.best_fit(theta_med)
    best = {**m.fixed, **dict(zip(m.free, q50, strict=True))}
    return FitResult(
        names=list(m.free),
        best={k: float(v) for k, v in best.items()},
        low={n: float(a - b) for n, a, b in zip(m.free, q16, q50, strict=True)},
        high={n: float(a - b) for n, a, b in zip(m.free, q84, q50, strict=True)},
        model=model,
        systematics=m.systematics(best_v),
        residuals=m.flux - model,
        chain=samples[:: max(1, len(samples) // 5000)] if keep_chain else None,
        error_scale=m.error_scale(theta_med),
        red_noise_beta=float(np.sqrt(m.temper)),
        **record,
    )


def walkers(m: LightCurveModel, n_walkers: int | None) -> int:
    """Ensemble size: given, or 2 per dimension + 2 and at least 16 (even, for the halves;
    on the demo's white light curve 16 walkers reached 50 τ in half the time of 28, with no
    longer autocorrelation times)."""
    nw = n_walkers or max(2 * len(m.nonlinear) + 2, 16)
    return nw + nw % 2


def _run_de(m, theta0, cov, n_walkers, n_steps, min_autocorr, rng, progress=None):
    """The lockstep DE sampler on one light curve: the flat kept chain and the record."""
    p0 = initial_ensemble(m, theta0, cov, walkers(m, n_walkers), rng)[None]
    kept, records = run_until_converged(
        lambda theta, _: m.log_prob(theta[0])[None], p0, n_steps, min_autocorr, rng, progress
    )
    return kept[0], de_record(m, records[0])


def de_record(m: LightCurveModel, rec: dict) -> dict:
    """`run_until_converged`'s record of one ensemble as FitResult fields."""
    return {
        "sampler": "de",
        "acceptance": rec["acceptance"],
        "autocorr": {n: float(t) for n, t in zip(m.nonlinear, rec["tau"], strict=True)},
        "n_steps": rec["n_steps"],
    }


def _run_emcee(m, theta0, cov, n_walkers, n_steps, min_autocorr, rng, seed):
    """emcee in blocks of CHECK_EVERY steps until converged; the flat kept chain and the
    convergence record."""
    import emcee

    ndim, nw = len(theta0), walkers(m, n_walkers)
    p0 = initial_ensemble(m, theta0, cov, nw, rng)
    # emcee 3.1's DESnookerMove steps by |x − z|·γ·(…) instead of γ·(…) (u = δ/√|δ|): on a
    # test light curve its rp posterior came out 8 % narrower than a brute-force grid's, so
    # only the differential-evolution move is used
    sampler = emcee.EnsembleSampler(
        nw, ndim, m.log_prob, moves=emcee.moves.DEMove(), vectorize=True
    )
    sampler.random_state = np.random.RandomState(seed).get_state()
    state, tau, burn = p0, np.full(ndim, np.nan), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        while sampler.iteration < n_steps:
            state = sampler.run_mcmc(
                state,
                min(CHECK_EVERY, n_steps - sampler.iteration),
                skip_initial_state_check=True,
            )
            tau, burn = autocorr(sampler.get_chain())
            if converged(tau, sampler.iteration, burn, min_autocorr):
                break
    flat = sampler.get_chain(discard=burn, flat=True)
    record = {
        "sampler": "emcee",
        "acceptance": float(np.mean(sampler.acceptance_fraction)),
        "autocorr": {n: float(t) for n, t in zip(m.nonlinear, tau, strict=True)},
        "n_steps": int(sampler.iteration - burn),
    }
    return flat, record


def draw_linear(m: LightCurveModel, flat: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Posterior samples of every free parameter (columns in `m.free` order): a thinned set
    of the non-linear samples, each with an error scale s² = χ²/χ²_{n−k} and linear
    coefficients β ~ N(β̂, s² (XᵀWX)⁻¹) drawn at that sample."""
    if not m.linear:
        return flat
    pick = flat[np.linspace(0, len(flat) - 1, min(n_draws, len(flat))).astype(int)]
    col = {n: i for i, n in enumerate(m.free)}
    out = np.empty((len(pick), len(m.free)))
    for j, n in enumerate(m.nonlinear):
        out[:, col[n]] = pick[:, j]
    k, dof = len(m.linear), len(m.t) - len(m.linear)
    for lo in range(0, len(pick), 512):
        part = pick[lo : lo + 512]
        sol = m.solve(part)
        if sol is None:  # a degenerate design somewhere: one by one
            rows = [m.solve(row[None]) for row in part]
            beta = np.array([_draw(s, k, dof, rng)[0] if s else np.full(k, np.nan) for s in rows])
        else:
            beta = _draw(sol, k, dof, rng)
        for j, n in enumerate(m.linear):
            out[lo : lo + len(part), col[n]] = beta[:, j]
    return out


def _draw(sol, k: int, dof: int, rng) -> np.ndarray:
    """β = β̂ + s L⁻ᵀ z: covariance s² (L Lᵀ)⁻¹, with s² from its inverse-χ² conditional."""
    w = len(sol.beta)
    s = np.sqrt(sol.chi2 / rng.chisquare(dof, size=w))
    z = rng.standard_normal((w, k, 1))
    return sol.beta + s[:, None] * np.linalg.solve(np.swapaxes(sol.chol, 1, 2), z)[..., 0]


def _step(name: str, x: float) -> float:
    """Initial walker spread per parameter when the Laplace covariance is singular."""
    return {
        "t0": 1e-4,
        "a": 0.05,
        "b": 0.01,
        "rp": 1e-4,
        "q1": 0.05,
        "q2": 0.05,
        "tau1": 0.05 * abs(x) + 1e-4,
        "tau2": 0.05 * abs(x) + 1e-4,
        **dict.fromkeys(gp.NAMES, 0.3),
    }.get(name, 1e-4 * max(abs(x), 1e-3))
