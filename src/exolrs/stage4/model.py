"""Light-curve model: a batman transit (or eclipse) times MIRI systematics.

    flux(t) = transit(t; t0, a/R*, b, Rp/R*, q1, q2)
              × (c0 + c1 Δt + c2 Δt² + A1 e^{−(t−t_s)/τ1} [+ A2 e^{−(t−t_s)/τ2}] + Σ_k d_k v_k(t))

with Δt = t − mean(t) in days, t_s the first time, v_k standardised detrending vectors (trace
x/y position, PCA time series).  Ramp amplitudes are free in sign, so the 10–11 µm shadowed
region's reversed ramp needs nothing special.  Likelihood: Gaussian with the propagated
errors and a fitted jitter added in quadrature (ln σ_jit).

The systematics are linear in their coefficients (c_k, A_k, d_k), so for any transit and
ramp time scales those coefficients are integrated out analytically (flat priors): the
sampler explores only the non-linear parameters (t0, a/R*, b, Rp/R*, q1, q2, τ, ln σ_jit),
and the coefficients are drawn afterwards from their exact conditional Gaussian.  For the
white light curve that takes the sampled dimension from 11 to 7; for a channel from 6 to 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from exolrs.stage4.limb_darkening import q_to_u


class LinearSolution(NamedTuple):
    """The linear coefficients at fixed non-linear values: the model is
    offset + design @ beta, and chol is the Cholesky factor of their precision XᵀWX."""

    offset: np.ndarray
    design: np.ndarray
    var: np.ndarray
    chol: np.ndarray
    beta: np.ndarray


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
    _batman: object = None
    _params: object = None

    def __post_init__(self):
        import batman

        p = batman.TransitParams()
        p.t0, p.per, p.rp, p.a, p.inc = 0.0, self.period, 0.1, 10.0, 90.0
        p.ecc, p.w, p.limb_dark, p.u = 0.0, 90.0, "quadratic", [0.1, 0.1]
        p.fp, p.t_secondary = 1e-3, 0.5 * self.period
        self._params = p
        kind = "secondary" if self.eclipse else "primary"
        self._batman = batman.TransitModel(p, np.asarray(self.t, np.float64), transittype=kind)
        self.dt = self.t - self.t.mean()
        self.ts = self.t - self.t[0]
        self.vectors = {k: (v - v.mean()) / (v.std() or 1.0) for k, v in self.detrend.items()}
        self.linear = [n for n in self.free if is_linear(n)]
        self.nonlinear = [n for n in self.free if not is_linear(n)]

    def values(self, theta) -> dict[str, float]:
        return {**self.fixed, **dict(zip(self.free, theta, strict=True))}

    def astro(self, v: dict) -> np.ndarray:
        p = self._params
        p.t0, p.rp, p.a = v["t0"], v["rp"], v["a"]
        p.inc = float(np.degrees(np.arccos(np.clip(v["b"] / v["a"], -1, 1))))
        p.u = list(q_to_u(v["q1"], v["q2"]))
        if self.eclipse:
            p.fp = v.get("fp", 0.0)
            p.t_secondary = v["t0"]
        return self._batman.light_curve(p)

    def terms(self, v: dict) -> dict[str, np.ndarray]:
        """Every linear systematics term of the model, by coefficient name."""
        cols = {"c0": np.ones_like(self.dt), "c1": self.dt, "c2": self.dt**2}
        for k in ("1", "2"):
            if f"tau{k}" in v:
                cols[f"A{k}"] = np.exp(-self.ts / v[f"tau{k}"])
        for n, vec in self.vectors.items():
            cols[f"d_{n}"] = vec
        return cols

    def systematics(self, v: dict) -> np.ndarray:
        return sum(_coefficient(v, n) * col for n, col in self.terms(v).items())

    def predict(self, v: dict) -> np.ndarray:
        """Model flux for a full set of values."""
        return self.astro(v) * self.systematics(v)

    def model(self, theta) -> np.ndarray:
        return self.predict(self.values(theta))

    def in_bounds(self, v: dict, names) -> bool:
        for name in names:
            lo, hi = self.bounds.get(name, (-np.inf, np.inf))
            if not lo <= v[name] <= hi:
                return False
        return v.get("b", 0.0) < v.get("a", np.inf)

    def variance(self, v: dict) -> np.ndarray:
        return self.err**2 + np.exp(2 * v.get("ln_jit", -np.inf))

    def solve_linear(self, v: dict) -> LinearSolution | None:
        """The best linear coefficients for the non-linear values in `v`, with what the
        marginal likelihood and the coefficient draws need; None when the design is
        degenerate."""
        astro = self.astro(v)
        cols = self.terms(v)
        offset = np.zeros_like(astro)
        for n, col in cols.items():
            if n not in self.linear:
                offset += _coefficient(v, n) * col
        offset *= astro
        design = np.empty((astro.size, len(self.linear)))
        for j, n in enumerate(self.linear):
            np.multiply(astro, cols[n], out=design[:, j])
        var = self.variance(v)
        xw = design / var[:, None]
        precision = xw.T @ design
        try:
            chol = np.linalg.cholesky(precision)
        except np.linalg.LinAlgError:
            return None
        # numpy's small solves: ~5× less overhead per call than scipy's triangular ones
        beta = np.linalg.solve(precision, xw.T @ (self.flux - offset))
        return LinearSolution(offset, design, var, chol, beta)

    def log_prob(self, theta_nl) -> float:
        """Log posterior of the non-linear parameters (`self.nonlinear`, in order), the linear
        coefficients integrated out: −½ χ²(β̂) − ½ Σ ln σ² − ln det L (L Lᵀ = XᵀWX)."""
        v = {**self.fixed, **dict(zip(self.nonlinear, theta_nl, strict=True))}
        if not self.in_bounds(v, self.nonlinear):
            return -np.inf
        if not self.linear:
            var = self.variance(v)
            r = self.flux - self.predict(v)
            return float(-0.5 * np.sum(r * r / var + np.log(var)))
        sol = self.solve_linear(v)
        if sol is None:
            return -np.inf
        r = self.flux - sol.offset - sol.design @ sol.beta
        return float(
            -0.5 * np.sum(r * r / sol.var + np.log(sol.var)) - np.sum(np.log(np.diag(sol.chol)))
        )

    def best_fit(self, theta_nl) -> tuple[dict[str, float], np.ndarray]:
        """All values (the non-linear ones given, the linear ones at their best) and the model
        flux they give, from one transit evaluation."""
        v = {**self.fixed, **dict(zip(self.nonlinear, theta_nl, strict=True))}
        if not self.linear:
            return v, self.predict(v)
        sol = self.solve_linear(v)
        if sol is None:  # degenerate design: coefficients at zero
            v.update(dict.fromkeys(self.linear, 0.0))
            return v, self.predict(v)
        v.update(zip(self.linear, sol.beta, strict=True))
        return v, sol.offset + sol.design @ sol.beta


def _coefficient(v: dict, name: str) -> float:
    """A systematics coefficient's value, or its neutral default (c0 = 1, others 0)."""
    return v.get(name, 1.0 if name == "c0" else 0.0)


def is_linear(name: str) -> bool:
    """Whether a parameter is a coefficient of the linear systematics."""
    return name in ("c0", "c1", "c2", "A1", "A2") or name.startswith("d_")
