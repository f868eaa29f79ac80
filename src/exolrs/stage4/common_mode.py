"""Noise common to every wavelength, and the error it gives every channel's depth.

Red noise that is the same at every wavelength (an achromatic drift the systematics model
misses, pointing, a detector-wide effect) multiplies each channel's light curve by the same
δ(t).  A channel's light curve is far too noisy to show it, so the channel's fit takes its
depth error from white noise alone, yet δ moves every depth by nearly the same amount: an
error fully correlated between channels.  It cancels in the spectrum's shape and adds to its
absolute level, so it is reported as its own column (`depth_err_common`) beside the
independent errors rather than inside them.

The size comes from the white light curve, whose photon noise is low enough to show δ.
For a channel fitted at its best values, a small change δf of its flux moves the depth by
Δd = wᵀ δf, w the depth's row of the weighted least-squares response (JᵀWJ)⁻¹JᵀW (J the
model's Jacobian in every free parameter, W = diag(1/σ²)).  With δ a Gaussian process of
covariance K and δf = model · δ,  Var(Δd) = (model ⊙ w)ᵀ K (model ⊙ w).  K is the white
light's red noise in the exponential kernel of `gp.py`, s² ρ² σ̄² exp(−|Δt|/τ), averaged over
the posterior of ρ and τ (a fine grid over the GP's prior box, at the white fit's best
values), whether or not the white fit itself kept the GP, so the answer does not flip with
the `red_noise: auto` decision.  The posterior mean, not the maximum likelihood: measured in
tests/stage4/test_common_mode.py on 40 draws each, with red noise 0.2× the white light's
(program 2783's regime: 150 ppm against ≈ 740 ppm per integration) the maximum-likelihood
amplitude collapsed to zero in 15 % of the draws (pull standard deviation 14), the posterior
mean gave 1.12; with red noise 2× the white the maximum likelihood was exact (0.99) and the
posterior mean errs large (0.67: the posterior spreads along slow, strong noise the baseline
half absorbs) — too large an error, never a vanishing one."""

from __future__ import annotations

import numpy as np

from exolrs.stage4 import gp
from exolrs.stage4.model import LightCurveModel, is_linear


def depth_response(m: LightCurveModel, values: dict[str, float]) -> np.ndarray:
    """(n,) w: the change of the fitted depth, (Rp/R*)² or fp, per unit change of each flux
    point, linearised at `values` (every value of the model, e.g. a FitResult's `best`)."""
    names = [n for n in m.free if n not in gp.NAMES]
    base = {**m.fixed, **values}
    jac = np.empty((m.t.size, len(names)))
    for j, name in enumerate(names):
        if is_linear(name):  # exact: the model is linear in it
            jac[:, j] = m.predict({**base, name: base[name] + 1.0}) - m.predict(base)
            continue
        h = 1e-4 * max(abs(base[name]), 1e-2)
        up = m.predict({**base, name: base[name] + h})
        down = m.predict({**base, name: base[name] - h})
        jac[:, j] = (up - down) / (2 * h)
    weight = 1.0 / m.err**2
    response = np.linalg.solve(jac.T @ (jac * weight[:, None]), (jac * weight[:, None]).T)
    if "fp" in names:
        return response[names.index("fp")]
    return 2.0 * base["rp"] * response[names.index("rp")]


def exponential_quadratic(t: np.ndarray, w: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """wᵀ E w with E_ij = exp(−|tᵢ − tⱼ| / τ), for every τ (T,) and column of w (n, C):
    (T, C), by the O(n) recursion S_i = e^{−(tᵢ − tᵢ₋₁)/τ} (S_{i−1} + w_{i−1})."""
    t = np.asarray(t, float)
    w = np.asarray(w, float).reshape(t.size, -1)
    tau = np.atleast_1d(np.asarray(tau, float))
    decay = np.exp(-np.diff(t)[:, None] / tau[None, :])  # (n − 1, T)
    s = np.zeros((tau.size, w.shape[1]))
    cross = np.zeros_like(s)
    for i in range(1, t.size):
        s = decay[i - 1][:, None] * (s + w[i - 1])
        cross += w[i] * s
    return np.sum(w * w, axis=0)[None, :] + 2.0 * cross


GRID = 48  # cells per GP parameter for the common error's posterior over ln ρ, ln τ


def red_noise_posterior(white: LightCurveModel, best: dict[str, float]):
    """The white light's red noise on a GRID × GRID grid over the GP's prior box in ln ρ,
    ln τ, transit and ramp held at its best values (coefficients and the scale s integrated
    out): each cell's red variance s²ρ²σ̄² (relative flux², s at its best in the cell), τ
    (days) and posterior weight."""
    free = [n for n in white.free if n not in gp.NAMES]
    bounds = {k: v for k, v in white.bounds.items() if k not in gp.NAMES}
    m = LightCurveModel(
        white.t,
        white.flux,
        white.err,
        white.period,
        free,
        white.fixed,
        bounds,
        white.detrend,
        white.eclipse,
    )
    values = {**m.fixed, **best}
    m.enable_gp(values)
    theta0 = np.array([values[n] for n in m.nonlinear if n not in gp.NAMES], float)
    cells, _ = gp.prior_grid(m.bounds, GRID)
    trial = np.column_stack([np.repeat(theta0[None], len(cells), axis=0), cells])
    # one GP solve per cell gives both its likelihood and its noise scale
    sol = m.solve(trial) if m.linear else None
    if sol is None:
        lp = m.log_prob(trial)
        resid = m.flux - m.predict(values)
        s2 = np.full(len(cells), np.mean(resid**2 / m.err**2))
    else:
        lp = np.where(m.in_bounds(m._ensemble(trial)), m.log_marginal_of(sol), -np.inf)
        s2 = sol.chi2 / (m.t.size - len(m.linear))
    weight = np.exp(lp - np.max(lp))
    weight /= weight.sum()
    amp2, tau = m.gp_kernel({gp.NAMES[0]: cells[:, 0], gp.NAMES[1]: cells[:, 1]})
    return s2 * amp2, tau, weight


def common_depth_errors(
    white: LightCurveModel,
    white_best: dict[str, float],
    channels: list[LightCurveModel],
    channel_best: list[dict[str, float]],
) -> tuple[np.ndarray, dict]:
    """Each channel's depth error from the white light's red noise (fully correlated
    between channels), and a record of that noise: its posterior-mean rms (ppm) and time
    scale (posterior geometric mean, minutes)."""
    if any(m.t.size != white.t.size or np.any(m.t != white.t) for m in channels):
        raise ValueError("the channels and the white light curve must share their times")
    var, tau, weight = red_noise_posterior(white, white_best)
    w = np.column_stack(
        [
            m.predict({**m.fixed, **b}) * depth_response(m, b)
            for m, b in zip(channels, channel_best, strict=True)
        ]
    )
    taus, which = np.unique(tau, return_inverse=True)
    quad = exponential_quadratic(white.t, w, taus)[which]  # (cells, channels)
    err = np.sqrt(np.sum((weight * var)[:, None] * quad, axis=0))
    record = {
        "common_red_rms_ppm": float(1e6 * np.sqrt(np.sum(weight * var))),
        "common_red_tau_min": float(1440 * np.exp(np.sum(weight * np.log(tau)))),
    }
    return err, record
