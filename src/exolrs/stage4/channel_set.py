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

With the GP noise (`gp.py`) the in-transit shortcut does not hold (the covariance couples every
time to every other); each walker's design and flux are then whitened by its own covariance,
all channels' walkers in one compiled call.
"""

from __future__ import annotations

import numpy as np

from exolrs.stage4 import gp
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
        self.gp = first.gp
        if self.gp:  # every walker whitened by its own covariance (_gp_normal_equations)
            self.t, self.columns = first.t, np.ascontiguousarray(c[:, :, None])
            self.flux_t = np.ascontiguousarray(flux.T)
            self.var_t = np.ascontiguousarray(np.array([m.err**2 for m in models]).T)
            self.err_ref = np.array([m.err_ref for m in models])
            self.gp_index = [self.nonlinear.index(n) for n in gp.NAMES]
            return
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

    def hidden(self, theta: np.ndarray, ok: np.ndarray, channels=slice(None)) -> np.ndarray:
        """(C, W, n_in) flux hidden (δ) at the in-transit times; zeros where not ok."""
        c, w, _ = theta.shape
        v = {n: theta[..., j] for j, n in enumerate(self.nonlinear)}
        for n, x in self.fixed.items():
            v.setdefault(n, np.broadcast_to(x[channels, None], (c, w)))
        out = np.zeros((c, w, len(self.inside)))
        if self.eclipse:
            out[ok] = -v["fp"][ok][:, None] * self.table.shape[self.inside][None]
            return out
        u1, u2 = q_to_u(v["q1"][ok], v["q2"][ok])
        out[ok] = self.table.hidden(v["rp"][ok], u1, u2)
        return out

    def log_prob(self, theta: np.ndarray, channels=None) -> np.ndarray:
        """(C, W) log posterior of every channel's walkers (−inf outside the priors); or of
        the channels with indices `channels` only, theta then (len(channels), W, d)."""
        ch = slice(None) if channels is None or len(channels) == len(self.models) else channels
        ok = self.in_bounds(theta)
        delta = self.hidden(theta, ok, ch)
        k = self.k
        out = np.full(theta.shape[:2], -np.inf)
        if self.gp:
            p, b, fwf, log_det_noise = self._gp_normal_equations(theta, delta, ok, ch)
        else:
            e = 2 * delta - delta**2
            precision = self.g0[ch, None] - (e @ self.q[ch]).reshape(*e.shape[:2], k, k)
            rhs = self.b0[ch, None] - delta @ self.r[ch]
            p, b = precision[ok], rhs[ok]
            fwf = np.broadcast_to(self.fwf[ch, None], ok.shape)[ok]
            log_det_noise = np.zeros(len(p))
        chol, regular = regular_cholesky(p)
        p, b = p[regular], b[regular]
        beta = np.linalg.solve(p, b[..., None])[..., 0]
        chi2 = np.maximum(fwf[regular] - np.sum(b * beta, axis=1), 1e-300)
        log_det = np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1) + self.log_scale
        log_det = log_det + 0.5 * log_det_noise[regular]
        temper = np.broadcast_to(self.temper[ch, None], ok.shape)[ok][regular]
        value = np.full(len(regular), -np.inf)
        value[regular] = (-0.5 * (self.n - k) * np.log(chi2) - log_det) / temper
        out[ok] = value
        return out

    def _gp_normal_equations(self, theta, delta, ok, channels):
        """XᵀC⁻¹X, XᵀC⁻¹f, fᵀC⁻¹f and ln det C of the walkers inside the priors, each
        whitened by its own GP covariance."""
        chan = np.arange(len(self.models))[channels]
        chan = np.broadcast_to(chan[:, None], ok.shape)[ok]
        a = np.ones((self.n, len(chan)))
        a[self.inside] -= delta[ok].T
        amp = np.exp(theta[ok][:, self.gp_index[0]]) * self.err_ref[chan]
        gram, log_det = gp.whitened_gram(
            self.t,
            self.var_t,
            self.flux_t,
            chan,
            a,
            self.columns,
            amp * amp,
            np.exp(theta[ok][:, self.gp_index[1]]),
        )
        k = self.k
        return gram[:, :k, :k], gram[:, :k, k], gram[:, k, k], log_det


def regular_cholesky(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of the (W, k, k) normal matrices that have one, and which those are:
    a walker whose design is degenerate (two ramps with the same τ, a column of zeros) is left
    out, so its log posterior is −inf, instead of failing the whole ensemble."""
    try:
        return np.linalg.cholesky(p), np.ones(len(p), bool)
    except np.linalg.LinAlgError:
        pass
    ev = np.linalg.eigvalsh(p)
    regular = ev[:, 0] > 1e-12 * np.abs(ev[:, -1])
    try:
        return np.linalg.cholesky(p[regular]), regular
    except np.linalg.LinAlgError:  # positive but too close to singular: walker by walker
        chols = []
        for i in np.flatnonzero(regular):
            try:
                chols.append(np.linalg.cholesky(p[i]))
            except np.linalg.LinAlgError:
                regular[i] = False
        k = p.shape[-1]
        return (np.stack(chols) if chols else np.zeros((0, k, k))), regular
