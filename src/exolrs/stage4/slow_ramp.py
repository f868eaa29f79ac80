"""The white light's slow ramp, divided out of every channel (`stage4: common_slow_ramp`).

A ramp slower than the channels' own (MIRI's drift over hours, beside the settling ramp of
minutes) is nearly the same fraction of the flux at every wavelength, and a channel's light
curve is far too noisy to measure it.  The white light fits one ramp more than the channels;
its slowest, as a fraction of the rest of the white baseline,

    f(t) = A e^{−t/τ} / (S(t) − A e^{−t/τ})      (S the white fit's systematics factor),

is divided out of every channel before the channels' fits.  The rest of the baseline, not
c0, is the denominator: where the fit trades a long-τ ramp against the polynomial (c0 = −7,
A = +8 on a 33-minute observation with one ramp) A/c0 is meaningless, while S − A e^{−t/τ}
stays the baseline the channels fit.

`auto` (the default) adds the ramp unless the white light refuses it: least squares with and
without it, and the extra ramp dropped when the fit with it is no better (its optimiser stuck
in a degenerate corner: on the `small` preset's noise-free 33-minute scene with one ramp the
two-ramp fit ended with χ² 227 against 0, and dividing its "slow" ramp out had moved every
channel by ≈ 2 800 ppm), or when the split is not physical (`physical`: a coefficient out of
a normalised light curve's range, or the rest of the baseline not positive) — tested on the
least squares before sampling and on the posterior medians after (then the white light is
fitted again without the ramp).  It does not ask
that the white light *detect* the slow ramp: program 2783's simulated drift (0.2 %, τ = 3 h,
under a 0.4 % settling ramp whose τ doubles from 5 to 12 µm) gains the white fit a χ² of only
2–25 over 1 774 integrations — below the Bayesian information criterion's price of its two
parameters (2 ln n ≈ 15) in 6 of 8 simulations — yet biases every channel fitted without it
by +0.41 σ on average before any noise (benchmarks/model_mismatch.py --channels).  That
criterion's gain is recorded (`information_gain` in white_fit.json) for the reader to judge.
"""

from __future__ import annotations

import numpy as np

from exolrs.stage4.fit import least_squares_start
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS

EXTRA_PARAMETERS = 2  # the extra ramp's amplitude and time scale
MIN_CHI2_GAIN = 0.01  # below this the fits are equal (a noise-free light curve: both ≈ 0)


def slowest(best: dict[str, float]) -> int:
    """Index k (1 or 2) of the slowest ramp among the white fit's values."""
    ramps = [(best[f"tau{k}"], k) for k in (1, 2) if f"A{k}" in best and f"tau{k}" in best]
    if not ramps:
        raise ValueError("the white fit has no ramp to divide out")
    return max(ramps)[1]


def physical(best: dict[str, float]) -> bool:
    """Whether the white fit's baseline coefficients (c0, c1, c2, A1, A2) lie in the ranges
    a normalised light curve's can (parameters.BOUNDS: c0 0.5–1.5, |A| ≤ 0.2, …).  Two
    ramps that trade against the polynomial leave them far out: on the `small` demo c0 = 175,
    A2 = −177 (τ 19 h over a 33-minute observation) and the fast ramp's τ 1 h instead of 4
    minutes, which the channels would have taken."""
    names = [n for n in ("c0", "c1", "c2", "A1", "A2") if n in best]
    return all(BOUNDS[n][0] <= best[n] <= BOUNDS[n][1] for n in names)


def slow_ramp(
    best: dict[str, float], ts: np.ndarray, systematics: np.ndarray
) -> tuple[np.ndarray, dict, dict] | None:
    """The white fit's slowest ramp as a fraction of the rest of its baseline at the times
    `ts` since the first (`systematics` the white fit's factor S(t) at `best`); the white
    values the channels take (its other ramp's τ as tau1, or no ramp); and a record.  None
    when the split is not physical: a coefficient out of its range, or the rest of the
    baseline not positive everywhere."""
    if not physical(best):
        return None
    k = slowest(best)
    ramp = best[f"A{k}"] * np.exp(-np.asarray(ts, float) / best[f"tau{k}"])
    rest = np.asarray(systematics, float) - ramp
    if not np.all(rest > 0):
        return None
    fraction = ramp / rest
    record = {"fraction_at_start": float(fraction[0]), "tau_hours": float(24 * best[f"tau{k}"])}
    return fraction, channel_values(best), record


def channel_values(best: dict[str, float]) -> dict[str, float]:
    """The white values the channels take when its slowest ramp is not theirs: no ramp
    amplitudes, and its other ramp's τ (if any) as tau1."""
    values = {n: v for n, v in best.items() if n not in ("A1", "A2", "tau1", "tau2")}
    other = 3 - slowest(best)
    if f"tau{other}" in best and f"A{other}" in best:
        values["tau1"] = best[f"tau{other}"]
    return values


def extra_ramp_gain(chi2_fewer: float, chi2_more: float, n_points: int, n_more: int) -> float:
    """The χ² an extra ramp buys, in units of the propagated errors (or of the scatter of the
    fit with it, `n_more` parameters, where that is larger), minus the information
    criterion's price of its two parameters: positive when the data measure the ramp."""
    scale = max(chi2_more / max(n_points - n_more, 1), 1.0)
    return (chi2_fewer - chi2_more) / scale - EXTRA_PARAMETERS * np.log(n_points)


def _least_squares_chi2(m: LightCurveModel, start: dict[str, float]) -> tuple[float, dict]:
    theta, _ = least_squares_start(m, start)
    values, model = m.best_fit(theta)
    r = (m.flux - model) / m.err
    return float(r @ r), values


def measured(
    fewer: LightCurveModel, more: LightCurveModel, start: dict[str, float]
) -> tuple[bool, dict]:
    """Whether the white light takes the extra ramp of `more` (the same light curve as
    `fewer` with one ramp more), by least squares from `start`: its fit is better than
    without it and leaves a positive baseline; and a record of the test."""
    chi2_fewer, _ = _least_squares_chi2(fewer, start)
    chi2_more, values = _least_squares_chi2(more, start)
    n_more = len(more.nonlinear) + len(more.linear)
    gain = extra_ramp_gain(chi2_fewer, chi2_more, more.t.size, n_more)
    split = slow_ramp(values, more.ts, more.systematics(values))
    record = {
        "chi2_without": round(chi2_fewer, 2),
        "chi2_with": round(chi2_more, 2),
        "information_gain": round(float(gain), 2),
        "physical": split is not None,
    }
    return bool(chi2_fewer - chi2_more > MIN_CHI2_GAIN and split is not None), record
