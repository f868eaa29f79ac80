"""Light-curve model: a batman transit (or eclipse) times MIRI systematics.

    flux(t) = transit(t; t0, a/R*, b, Rp/R*, q1, q2)
              × (c0 + c1 Δt + c2 Δt² + A1 e^{−(t−t_s)/τ1} [+ A2 e^{−(t−t_s)/τ2}] + Σ_k d_k v_k(t))

with Δt = t − mean(t) in days, t_s the first time, v_k standardised detrending vectors (trace
x/y position, PCA time series).  Ramp amplitudes are free in sign, so the 10–11 µm shadowed
region's reversed ramp needs nothing special.

Noise: Gaussian with the propagated errors times one free scale s (the light curve's scatter
is s·σ; MIRI's per-integration errors within a channel are nearly constant, so this is the
additive jitter in another guise, without its slow plateau when the errors are right).

Two families of parameters are integrated out analytically, so the sampler explores only the
transit and the ramp time scales:
- the systematics coefficients (c_k, A_k, d_k) are linear: flat priors, Gaussian integral;
- the scale s: Jeffreys prior 1/s, which leaves  ln L = −½ (n − k) ln χ²(β̂) − ln det L
  (n points, k coefficients, L Lᵀ = XᵀWX).
Both are drawn afterwards from their exact conditionals (s² = χ²/χ²_{n−k}, then β).  For
red noise the log-likelihood is divided by β_red² (`temper`), which widens the posteriors by
the time-averaging β factor (Winn et al. 2008).

Every likelihood call takes a whole ensemble (`log_prob(theta)` with theta (W, d)), as emcee's
`vectorize=True` passes it: one batched linear algebra for all walkers, and for a fixed orbit
(the channels) the transit from `FixedOrbitTransit`'s table instead of a batman call each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from exolrs.stage4 import gp
from exolrs.stage4.limb_darkening import q_to_u
from exolrs.stage4.transit import FixedOrbitTransit, Transit

ORBIT = ("t0", "a", "b")
# With two ramps free, the first is kept faster than this (days, 1.2 h) and the second
# slower: otherwise the two can trade places, or take one time scale with large amplitudes
# of opposite sign that cancel (a white fit with two ramps of the full-size simulation did:
# τ ≈ 0.85 d for both, amplitudes ±100, the depth error 4× too large).  MIRI's settling ramp
# lasts minutes to tens of minutes (the simulator's 21 min); a slow drift, hours.
RAMP_SPLIT = 0.05


class LinearSolution(NamedTuple):
    """The linear coefficients of an ensemble at fixed non-linear values: for each walker
    the Cholesky factor of XᵀWX (X the design: transit × systematics columns), the best β and
    χ²(β̂)."""

    chol: np.ndarray  # (W, k, k)
    beta: np.ndarray  # (W, k)
    chi2: np.ndarray  # (W,)
    log_det_noise: np.ndarray | float = 0.0  # ln det of the GP noise covariance (W,)


@dataclass
class LightCurveModel:
    """A light curve, what is free, what is fixed, and the priors (uniform bounds)."""

    t: np.ndarray
    flux: np.ndarray
    err: np.ndarray
    period: float
    free: list[str]
    fixed: dict[str, float]
    bounds: dict[str, tuple[float, float]]
    detrend: dict[str, np.ndarray] = field(default_factory=dict)
    eclipse: bool = False
    temper: float = 1.0  # red-noise β²: the log-likelihood is divided by it

    def __post_init__(self):
        if "tau1" in self.free and "tau2" in self.free:
            lo1, hi1 = self.bounds.get("tau1", (0.0, np.inf))
            lo2, hi2 = self.bounds.get("tau2", (0.0, np.inf))
            self.bounds = {
                **self.bounds,
                "tau1": (lo1, min(hi1, RAMP_SPLIT)),
                "tau2": (max(lo2, RAMP_SPLIT), hi2),
            }
        self.t = np.asarray(self.t, float)
        self.flux = np.asarray(self.flux, float)
        self.err = np.asarray(self.err, float)
        self.transit = Transit(self.t, self.period, self.eclipse)
        self.table: FixedOrbitTransit | None = None
        self.gp = False
        self.gp_gain = 0.0  # ln L the GP gains over white noise at the start (fit.gp_start)
        self.gp_cells = None  # its likelihood over a grid of ln ρ, ln τ there (fit.gp_start)
        self.dt = self.t - self.t.mean()
        self.ts = self.t - self.t[0]
        self.vectors = {k: (v - v.mean()) / (v.std() or 1.0) for k, v in self.detrend.items()}
        self.linear = [n for n in self.free if is_linear(n)]
        self.nonlinear = [n for n in self.free if not is_linear(n)]
        self.weight = 1.0 / self.err**2
        self._fwf = float(np.sum(self.weight * self.flux**2))
        # columns that no sampled parameter changes (`static_columns`, in `linear` order
        # without the ramps whose τ is sampled), scaled to unit rms by `static_scale`
        dynamic = {f"A{k}" for k in ("1", "2") if f"tau{k}" in self.nonlinear}
        self._static = [j for j, n in enumerate(self.linear) if n not in dynamic]
        self._dynamic = [j for j, n in enumerate(self.linear) if n in dynamic]
        cols = [_column(self, self.linear[j], self.fixed) for j in self._static]
        static = np.column_stack(cols) if cols else np.zeros((self.t.size, 0))
        self.static_scale = np.sqrt(np.mean(static**2, axis=0)) if cols else np.zeros(0)
        self.static_scale[self.static_scale == 0] = 1.0
        self.static_columns = static / self.static_scale
        n_static = len(self._static)
        self._static_outer = (
            self.static_columns[:, :, None] * self.static_columns[:, None, :]
        ).reshape(self.t.size, n_static * n_static)

    def enable_gp(self, values: dict[str, float]) -> None:
        """Model the noise as the propagated errors plus an exponential-kernel Gaussian
        process (`gp.py`): ln ρ and ln τ join the sampled parameters, τ's prior starting at
        ¾ of the ingress that `values` (a, b, Rp/R*, with the fixed ones) give."""
        if self.gp:
            return
        self.gp = True
        v = {**values, **self.fixed}
        ingress = gp.ingress_duration(self.period, v["a"], v["b"], v.get("rp", 0.1))
        self.bounds = {**gp.bounds(self.t, ingress), **self.bounds}
        self.free = [*self.free, *gp.NAMES]
        self.nonlinear = [*self.nonlinear, *gp.NAMES]
        self.err_ref = float(np.median(self.err))

    def disable_gp(self) -> None:
        """Back to white noise (undo `enable_gp`)."""
        if not self.gp:
            return
        self.gp = False
        self.free = [n for n in self.free if n not in gp.NAMES]
        self.nonlinear = [n for n in self.nonlinear if n not in gp.NAMES]
        self.bounds = {k: v for k, v in self.bounds.items() if k not in gp.NAMES}

    def gp_kernel(self, v: dict) -> tuple[np.ndarray, np.ndarray]:
        """The GP's variance and time scale (days) for an ensemble's values."""
        amp = np.exp(np.asarray(v[gp.NAMES[0]], float)) * self.err_ref
        return amp * amp, np.exp(np.asarray(v[gp.NAMES[1]], float))

    # -- values -------------------------------------------------------------------------
    def values(self, theta) -> dict[str, float]:
        """Every value, from a vector of all free parameters (in `free` order)."""
        return {**self.fixed, **dict(zip(self.free, theta, strict=True))}

    def _ensemble(self, theta_nl: np.ndarray) -> dict:
        """Non-linear values of an ensemble (W, d) by name: arrays of W, fixed ones scalars."""
        return {**self.fixed, **{n: theta_nl[:, j] for j, n in enumerate(self.nonlinear)}}

    def in_bounds(self, v: dict) -> np.ndarray:
        """Which walkers lie inside the uniform priors of the non-linear parameters."""
        ok = np.ones(len(np.atleast_1d(v[self.nonlinear[0]])) if self.nonlinear else 1, bool)
        for name in self.nonlinear:
            lo, hi = self.bounds.get(name, (-np.inf, np.inf))
            ok &= (v[name] >= lo) & (v[name] <= hi)
        if "b" in v and "a" in v:
            ok &= np.asarray(v["b"]) < np.asarray(v["a"])
        return ok

    # -- the model ----------------------------------------------------------------------
    def use_fixed_orbit_table(self, rp: float, spread: float = 0.25) -> None:
        """Tabulate the transit for rp/(1 + spread) … rp·(1 + spread) (fixed orbit only)."""
        if any(n in self.nonlinear for n in ORBIT) or any(n not in self.fixed for n in ORBIT):
            return
        orbit = [self.fixed[n] for n in ORBIT]
        rp = self.fixed.get("rp", rp)
        self.table = FixedOrbitTransit(
            self.transit,
            *orbit,
            (rp / (1 + spread), rp * (1 + spread)),
            p_max=self.bounds.get("rp", (0, 0.5))[1],
        )

    def astro(self, v: dict) -> np.ndarray:
        """(W, n) transit (or eclipse) light curves of an ensemble's values."""
        n_w = max((np.size(v[n]) for n in self.nonlinear), default=1)
        q1, q2 = (np.broadcast_to(np.asarray(v[k], float), (n_w,)) for k in ("q1", "q2"))
        u1, u2 = q_to_u(q1, q2)
        if self.table is not None:
            if self.eclipse:
                return self.table.eclipse(np.broadcast_to(v["fp"], (n_w,)))
            return self.table.flux(np.broadcast_to(v["rp"], (n_w,)), u1, u2)
        fp = v.get("fp", 0.0)
        return self.transit.many(v["t0"], v["a"], v["b"], v["rp"], u1, u2, fp).reshape(n_w, -1)

    def solve(self, theta_nl: np.ndarray) -> LinearSolution | None:
        """Best linear coefficients and χ² for an ensemble (W, d) of non-linear values; None
        when a walker's design is degenerate (the caller then solves them one by one).

        With the transit a(t) and columns C: XᵀWX = Σ a²w C Cᵀ and XᵀWf = Σ a w f C, so the
        columns no walker changes enter through one matrix product for the whole ensemble,
        and χ²(β̂) = fᵀWf − (XᵀWf)ᵀβ̂ needs no residuals."""
        v = self._ensemble(np.atleast_2d(theta_nl))
        a = self.astro(v)
        if self.gp:
            return self._solve_gp(v, a)
        n_w, k = len(a), len(self.linear)
        g = a * a * self.weight
        h = a * (self.weight * self.flux)
        si, di = self._static, self._dynamic
        precision = np.empty((n_w, k, k))
        rhs = np.empty((n_w, k))
        scale = np.empty((n_w, k))
        ns = len(si)
        precision[:, np.ix_(si, si)[0], si] = (g @ self._static_outer).reshape(n_w, ns, ns)
        rhs[:, si] = h @ self.static_columns
        scale[:, si] = self.static_scale
        dyn = []
        for j in di:
            col, scale[:, j] = _scaled_column(self, self.linear[j], v, a.shape)
            cross = (g * col) @ self.static_columns
            precision[:, si, j] = cross
            precision[:, j, si] = cross
            rhs[:, j] = np.sum(h * col, axis=1)
            for i, other in dyn:
                precision[:, i, j] = precision[:, j, i] = np.sum(g * col * other, axis=1)
            precision[:, j, j] = np.sum(g * col * col, axis=1)
            dyn.append((j, col))
        try:
            chol = np.linalg.cholesky(precision)
            beta = np.linalg.solve(precision, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return None
        chi2 = np.maximum(self._fwf - np.sum(rhs * beta, axis=1), 1e-300)
        # back to the unscaled columns: β = β̃/s, chol(XᵀWX) = s·chol(X̃ᵀWX̃)
        return LinearSolution(scale[:, :, None] * chol, beta / scale, chi2)

    def _solve_gp(self, v: dict, a: np.ndarray) -> LinearSolution | None:
        """`solve` with the GP noise: every walker's design and the flux whitened by its own
        covariance (`gp.whitened_gram`), then the same normal equations."""
        n_w, k = len(a), len(self.linear)
        cols, scale = [], np.ones((n_w, k))
        for j, name in enumerate(self.linear):
            col, scale[:, j] = _scaled_column(self, name, v, a.shape)
            cols.append(col.T)
        amp2, tau = self.gp_kernel(v)
        gram, log_det = gp.whitened_gram(
            self.t,
            self.err[:, None] ** 2,
            self.flux[:, None],
            np.zeros(n_w, int),
            a.T,
            np.stack(cols, axis=1) if cols else np.zeros((self.t.size, 0, 1)),
            np.broadcast_to(amp2, (n_w,)),
            np.broadcast_to(tau, (n_w,)),
        )
        precision, rhs, fwf = gram[:, :k, :k], gram[:, :k, k], gram[:, k, k]
        try:
            chol = np.linalg.cholesky(precision)
            beta = np.linalg.solve(precision, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return None
        chi2 = np.maximum(fwf - np.sum(rhs * beta, axis=1), 1e-300)
        return LinearSolution(scale[:, :, None] * chol, beta / scale, chi2, log_det)

    def log_prob(self, theta_nl):
        """Log posterior of the non-linear parameters (`self.nonlinear`, in order) for one
        vector (returns a float) or an ensemble (W, d) (returns W values), with the linear
        coefficients and the error scale integrated out."""
        theta = np.atleast_2d(np.asarray(theta_nl, float))
        out = np.full(len(theta), -np.inf)
        ok = self.in_bounds(self._ensemble(theta))
        if ok.any():
            out[ok] = self._log_marginal(theta[ok])
        return out if np.ndim(theta_nl) == 2 else float(out[0])

    def _log_marginal(self, theta: np.ndarray) -> np.ndarray:
        n, k = self.t.size, len(self.linear)
        if k == 0:
            v = self._ensemble(theta)
            resid = self.flux - self.astro(v)
            if self.gp:
                amp2, tau = self.gp_kernel(v)
                gram, log_det = gp.whitened_gram(
                    self.t,
                    self.err[:, None] ** 2,
                    resid.T,
                    np.arange(len(resid)),
                    np.zeros((self.t.size, len(resid))),
                    np.zeros((self.t.size, 0, 1)),
                    amp2,
                    tau,
                )
                return -0.5 * n * np.log(gram[:, 0, 0]) - 0.5 * log_det
            chi2 = np.sum(resid**2 * self.weight, axis=1)
            return -0.5 * n * np.log(chi2) / self.temper
        sol = self.solve(theta)
        if sol is None:  # a degenerate walker: the others still count
            return np.array(
                [
                    self._log_marginal(row[None])[0] if self._regular(row) else -np.inf
                    for row in theta
                ]
            )
        return self.log_marginal_of(sol)

    def log_marginal_of(self, sol: LinearSolution) -> np.ndarray:
        """The log-likelihood, coefficients and noise scale integrated out, of an ensemble
        whose linear solution `solve` gave (no prior bounds applied)."""
        n, k = self.t.size, len(self.linear)
        log_det = np.sum(np.log(np.diagonal(sol.chol, axis1=1, axis2=2)), axis=1)
        log_det = log_det + 0.5 * sol.log_det_noise
        return (-0.5 * (n - k) * np.log(sol.chi2) - log_det) / self.temper

    def _regular(self, row) -> bool:
        return self.solve(row[None]) is not None

    def best_fit(self, theta_nl) -> tuple[dict[str, float], np.ndarray]:
        """All values (the non-linear ones given, the linear ones at their best) and the model
        flux they give."""
        v = {**self.fixed, **dict(zip(self.nonlinear, map(float, theta_nl), strict=True))}
        sol = self.solve(np.asarray(theta_nl, float)) if self.linear else None
        if sol is None:
            v.update(dict.fromkeys(self.linear, 0.0))
            return v, self.predict(v)
        v.update(zip(self.linear, map(float, sol.beta[0]), strict=True))
        return v, self.predict(v)

    def error_scale(self, theta_nl) -> float:
        """The noise scale s at its best for these non-linear values: √(χ²/(n − k))."""
        _, model = self.best_fit(theta_nl)
        chi2 = np.sum((self.flux - model) ** 2 * self.weight)
        return float(np.sqrt(chi2 / (self.t.size - len(self.linear))))

    def systematics(self, v: dict) -> np.ndarray:
        """The systematics factor for one full set of values."""
        out = np.zeros_like(self.t)
        for name in self.linear:
            out += v.get(name, 0.0) * _column(self, name, v)
        return out if self.linear else np.ones_like(self.t)

    def predict(self, v: dict) -> np.ndarray:
        """Model flux for a full set of values."""
        return self.astro({**v, **{n: np.atleast_1d(v[n]) for n in self.nonlinear}})[0] * (
            self.systematics(v)
        )

    def model(self, theta) -> np.ndarray:
        """Model flux for a vector of all free parameters."""
        return self.predict(self.values(theta))


def _column(m: LightCurveModel, name: str, v: dict) -> np.ndarray:
    """One systematics column at the values `v` ((n,) or (W, n) when its τ varies)."""
    if name == "c0":
        return np.ones_like(m.t)
    if name in ("c1", "c2"):
        return m.dt ** int(name[1])
    if name in ("A1", "A2"):
        tau = np.asarray(v[f"tau{name[1]}"], float)
        return np.exp(-m.ts / tau[..., None]) if tau.ndim else np.exp(-m.ts / tau)
    return m.vectors[name[2:]]


def _scaled_column(m: LightCurveModel, name: str, v: dict, shape) -> tuple:
    """A systematics column for every walker ((W, n), `shape`) scaled to unit rms, and the
    scales (W,) (columns are scaled for the conditioning of the normal equations)."""
    col = np.broadcast_to(_column(m, name, v), shape)
    s = np.sqrt(np.mean(col**2, axis=1))
    s[s == 0] = 1.0
    return col / s[:, None], s


def is_linear(name: str) -> bool:
    """Whether a parameter is a coefficient of the linear systematics."""
    return name in ("c0", "c1", "c2", "A1", "A2") or name.startswith("d_")
