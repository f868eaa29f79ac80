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
light's red noise in the exponential kernel of `gp.py`, s² ρ² σ̄² exp(−|Δt|/τ), with ρ and τ
at their maximum likelihood at the white fit's best values, whether or not the white fit
itself kept the GP (white noise drives ρ to its floor and the common error towards zero, and
the answer does not flip with the `red_noise: auto` decision).  Maximum likelihood, not the
posterior mean over ρ and τ: over a light curve a few hours long the posterior spreads along
the ridge of slow, strong noise that the baseline half absorbs, and its mean variance made
the errors 1.7× too large (pull standard deviation 0.65 in tests/stage4/test_common_mode.py,
0.98 with the maximum).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from exolrs.stage4 import gp
from exolrs.stage4.fit import gp_start
from exolrs.stage4.model import LightCurveModel, is_linear


def slow_ramp(best: dict[str, float], ts: np.ndarray) -> tuple[np.ndarray, dict, dict]:
    """The white fit's slowest ramp as a fraction of its baseline, A/c0 · exp(−t/τ) at the
    times `ts` since the first (`stage4: common_slow_ramp`); the white values the channels
    take (its other ramp's τ as tau1, or no ramp); and a record of the ramp."""
    ramps = sorted((best[f"tau{k}"], k) for k in (1, 2) if f"A{k}" in best and f"tau{k}" in best)
    tau, k = ramps[-1]
    fraction = best[f"A{k}"] / best["c0"] * np.exp(-np.asarray(ts, float) / tau)
    values = {n: v for n, v in best.items() if n not in ("A1", "A2", "tau1", "tau2")}
    if len(ramps) > 1:
        values["tau1"] = ramps[0][0]
    record = {"fraction_at_start": float(fraction[0]), "tau_hours": float(24 * tau)}
    return fraction, values, record


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


def red_noise_estimate(white: LightCurveModel, best: dict[str, float]) -> tuple[float, float]:
    """The white light's red noise at its best values: the variance s²ρ²σ̄² (relative flux²)
    and time scale τ (days) that maximise the GP likelihood (transit and ramp held at
    `best`, coefficients and the scale s integrated out), from the best cell of
    `fit.gp_start`'s grid."""
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
    start, _ = gp_start(m, theta0, None)
    lo, hi = np.array([m.bounds[n] for n in gp.NAMES]).T
    found = minimize(
        lambda x: -m.log_prob(np.concatenate([theta0, np.clip(x, lo, hi)])),
        start[-2:],
        method="Nelder-Mead",
        options={"xatol": 1e-3, "fatol": 1e-3},
    )
    x = np.clip(found.x, lo, hi)
    sol = m.solve(np.concatenate([theta0, x])[None]) if m.linear else None
    if sol is None:
        resid = m.flux - m.predict(values)
        s2 = float(np.mean(resid**2 / m.err**2))
    else:
        s2 = float(sol.chi2[0] / (m.t.size - len(m.linear)))
    amp2, tau = m.gp_kernel({gp.NAMES[0]: x[0], gp.NAMES[1]: x[1]})
    return s2 * float(amp2), float(tau)


def common_depth_errors(
    white: LightCurveModel,
    white_best: dict[str, float],
    channels: list[LightCurveModel],
    channel_best: list[dict[str, float]],
) -> tuple[np.ndarray, dict]:
    """Each channel's depth error from the white light's red noise (fully correlated
    between channels), and a record of that noise: its posterior-mean rms (ppm) and time
    scale (minutes)."""
    var, tau = red_noise_estimate(white, white_best)
    if any(m.t.size != white.t.size or np.any(m.t != white.t) for m in channels):
        raise ValueError("the channels and the white light curve must share their times")
    w = np.column_stack(
        [
            m.predict({**m.fixed, **b}) * depth_response(m, b)
            for m, b in zip(channels, channel_best, strict=True)
        ]
    )
    err = np.sqrt(var * exponential_quadratic(white.t, w, tau)[0])
    record = {"common_red_rms_ppm": 1e6 * np.sqrt(var), "common_red_tau_min": 1440 * tau}
    return err, record
