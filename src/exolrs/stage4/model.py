"""Light-curve model: a batman transit (or eclipse) times MIRI systematics.

    flux(t) = transit(t; t0, a/R*, b, Rp/R*, q1, q2)
              × (1 + A1 e^{−(t−t_s)/τ1}) [× (1 + A2 e^{−(t−t_s)/τ2})]
              × (c0 + c1 Δt + c2 Δt²) × (1 + Σ_k d_k v_k(t))

with Δt = t − mean(t) in days, t_s the first time, v_k standardised detrending vectors (trace
x/y position, PCA time series).  Ramp amplitudes are free in sign, so the 10–11 µm shadowed
region's reversed ramp needs nothing special.  Likelihood: Gaussian with the propagated
errors and a fitted jitter added in quadrature (ln σ_jit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from exolrs.stage4.limb_darkening import q_to_u

ORBIT = ("t0", "a", "b", "rp")
LD = ("q1", "q2")


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

    def systematics(self, v: dict) -> np.ndarray:
        s = v.get("c0", 1.0) + v.get("c1", 0.0) * self.dt + v.get("c2", 0.0) * self.dt**2
        for k in ("1", "2"):
            if f"A{k}" in v:
                s = s * (1.0 + v[f"A{k}"] * np.exp(-self.ts / v[f"tau{k}"]))
        if self.vectors:
            s = s * (1.0 + sum(v.get(f"d_{n}", 0.0) * vec for n, vec in self.vectors.items()))
        return s

    def model(self, theta) -> np.ndarray:
        v = self.values(theta)
        return self.astro(v) * self.systematics(v)

    def in_bounds(self, theta) -> bool:
        for name, x in zip(self.free, theta, strict=True):
            lo, hi = self.bounds.get(name, (-np.inf, np.inf))
            if not lo <= x <= hi:
                return False
        v = self.values(theta)
        return v.get("b", 0.0) < v.get("a", np.inf)

    def log_prob(self, theta) -> float:
        if not self.in_bounds(theta):
            return -np.inf
        v = self.values(theta)
        r = self.flux - self.model(theta)
        var = self.err**2 + np.exp(2 * v.get("ln_jit", -np.inf))
        return float(-0.5 * np.sum(r * r / var + np.log(var)))

    def residuals_normalised(self, theta) -> np.ndarray:
        """(data − model) / σ for least squares (jitter included when free)."""
        v = self.values(theta)
        var = self.err**2 + np.exp(2 * v.get("ln_jit", -np.inf))
        return (self.flux - self.model(theta)) / np.sqrt(var)
