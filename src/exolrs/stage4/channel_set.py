"""Spectroscopic channels as one model: every channel's likelihood for every walker at once.

The channels share their times, the orbit (fixed to the white fit's) and the systematics
columns (polynomial, ramp with the white fit's time scale, detrending vectors); only their
flux, errors, transit depth and limb darkening differ.  With the transit 1 − δ(t), non-zero
only at the in-transit times, every quantity the marginal likelihood needs splits into a part
computed once per channel and a small in-transit correction per walker:

    XᵀWX = Σ_t w C Cᵀ − Σ_in (2δ − δ²) w C Cᵀ,      XᵀWf = Σ_t w f C − Σ_in δ w f C,
    χ²(β̂) = fᵀWf − (XᵀWf)ᵀ β̂,

so a step of all channels × walkers is a few batched matrix products over the in-transit
points, with δ interpolated from one `FixedOrbitTransit` table shared by every channel.  It is
the same likelihood as `LightCurveModel.log_prob` of each channel (tested to 1e−6).
"""

from __future__ import annotations

import numpy as np

from exolrs.stage4.limb_darkening import q_to_u
from exolrs.stage4.model import ORBIT, LightCurveModel
from exolrs.stage4.transit import FixedOrbitTransit


def joint_ready(models: list[LightCurveModel]) -> bool:
    """Whether channel models can be stacked: same times and free names, a fixed orbit and
    fixed ramp time scales (the systematics columns are then the same for all)."""
    first = models[0]
    return all(
        m.free == first.free
        and m.t.shape == first.t.shape
        and not any(n in m.nonlinear for n in (*ORBIT, "tau1", "tau2"))
        and all(m.fixed.get(n) == first.fixed.get(n) for n in (*ORBIT, "tau1", "tau2"))
        for m in models
    ) and np.all([np.array_equal(m.t, first.t) for m in models])


class ChannelSet:
    """The marginal likelihood of C channel models (see `joint_ready`) for ensembles
    theta (C, W, d) of their non-linear parameters."""

    def __init__(self, models: list[LightCurveModel], p_range: tuple[float, float]):
        first = models[0]
        self.models = models
        self.nonlinear = list(first.nonlinear)
        self.eclipse = first.eclipse
        self.n, self.k = first.t.size, len(first.linear)
        self.temper = np.array([m.temper for m in models])
        self.lo = np.array([first.bounds.get(n, (-np.inf, np.inf))[0] for n in self.nonlinear])
        self.hi = np.array([first.bounds.get(n, (-np.inf, np.inf))[1] for n in self.nonlinear])
        self.fixed = {
            n: np.array([m.fixed[n] for m in models], float)
            for n in ("rp", "q1", "q2", "fp")
            if n in first.fixed
        }
        orbit = [first.fixed[n] for n in ORBIT]
        p_max = first.bounds.get("rp", (0, 0.5))[1]
        if self.eclipse:
            p_range = (first.fixed["rp"], first.fixed["rp"])
        self.table = FixedOrbitTransit(first.transit, *orbit, p_range, p_max=p_max)
        if self.eclipse:
            self.inside = np.flatnonzero(self.table.shape != 0)
        else:
            self.inside = self.table.inside
        # every column is static here (joint_ready), scaled to unit rms; ln det corrected below
        c = first.static_columns
        self.log_scale = float(np.sum(np.log(first.static_scale)))
        flux = np.array([m.flux for m in models])
        w = np.array([m.weight for m in models])
        wf = w * flux
        self.g0 = np.einsum("ct,ti,tj->cij", w, c, c)
        self.b0 = wf @ c
        self.fwf = np.sum(wf * flux, axis=1)
        ci = c[self.inside]
        outer = (ci[:, :, None] * ci[:, None, :]).reshape(len(self.inside), -1)
        self.q = w[:, self.inside, None] * outer[None]  # (C, n_in, k²)
        self.r = wf[:, self.inside, None] * ci[None]  # (C, n_in, k)

    def in_bounds(self, theta: np.ndarray) -> np.ndarray:
        return np.all((theta >= self.lo) & (theta <= self.hi), axis=-1)

    def hidden(self, theta: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """(C, W, n_in) flux hidden (δ) at the in-transit times; zeros where not ok."""
        c, w, _ = theta.shape
        v = {n: theta[..., j] for j, n in enumerate(self.nonlinear)}
        for n, x in self.fixed.items():
            v.setdefault(n, np.broadcast_to(x[:, None], (c, w)))
        out = np.zeros((c, w, len(self.inside)))
        if self.eclipse:
            out[ok] = -v["fp"][ok][:, None] * self.table.shape[self.inside][None]
            return out
        u1, u2 = q_to_u(v["q1"][ok], v["q2"][ok])
        out[ok] = self.table.hidden(v["rp"][ok], u1, u2)
        return out

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        """(C, W) log posterior of every channel's walkers (−inf outside the priors)."""
        ok = self.in_bounds(theta)
        delta = self.hidden(theta, ok)
        e = 2 * delta - delta**2
        k = self.k
        precision = self.g0[:, None] - (e @ self.q).reshape(*e.shape[:2], k, k)
        rhs = self.b0[:, None] - delta @ self.r
        out = np.full(theta.shape[:2], -np.inf)
        p, b = precision[ok], rhs[ok]
        regular = np.ones(len(p), bool)
        try:
            chol = np.linalg.cholesky(p)
        except np.linalg.LinAlgError:  # a degenerate walker somewhere: leave it out
            regular = np.linalg.eigvalsh(p)[:, 0] > 0
            p, b = p[regular], b[regular]
            chol = np.linalg.cholesky(p)
        beta = np.linalg.solve(p, b[..., None])[..., 0]
        fwf = np.broadcast_to(self.fwf[:, None], ok.shape)[ok][regular]
        chi2 = np.maximum(fwf - np.sum(b * beta, axis=1), 1e-300)
        log_det = np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1) + self.log_scale
        temper = np.broadcast_to(self.temper[:, None], ok.shape)[ok][regular]
        value = np.full(len(regular), -np.inf)
        value[regular] = (-0.5 * (self.n - k) * np.log(chi2) - log_det) / temper
        out[ok] = value
        return out
