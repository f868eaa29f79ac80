"""How a recovered spectrum compares with the injected one (simulations): χ²ν and mean bias
over the channels, and the same split into what all channels share and what they do not.

Noise common to every wavelength (achromatic red noise, a systematic the model misses in
the white light) moves every depth by the same amount.  It inflates χ²ν and the mean bias
alike, while the spectrum's shape — what an atmosphere is read from — can be right.  So
beside χ²ν the comparison reports the common offset (the error-weighted mean of depth −
truth, with its error from the channels' errors alone) and χ²ν once it is removed (n − 1
degrees of freedom).  With Stage 4's common error (`depth_err_common`, fully correlated
between channels) the comparison also gives χ²ν under the full covariance diag(σ²) + c cᵀ and
the common offset's pull, offset / √(its error² + the common error²): over many simulated
observations that pull scatters with σ = 1 when the common error is honest.
"""

from __future__ import annotations

import numpy as np


def spectrum_metrics(depth, truth, sigma, common=None) -> dict:
    """χ²ν, mean bias (σ), the common offset (ppm) and its error, and χ²ν without it; with
    the channels' common errors `common` also χ²ν under the full covariance (Sherman–Morrison
    for diag(σ²) + c cᵀ), the common error of the offset and the offset's pull."""
    d = np.asarray(depth, float) - np.asarray(truth, float)
    s = np.asarray(sigma, float)
    z = d / s
    w = 1.0 / s**2
    offset = float(np.sum(w * d) / np.sum(w))
    n = len(d)
    relative = float(np.sum(((d - offset) / s) ** 2) / max(n - 1, 1))
    out = {
        "chi2_nu": float(np.mean(z**2)),
        "mean_bias_sigma": float(np.mean(z)),
        "n_channels": n,
        "common_offset_ppm": 1e6 * offset,
        "common_offset_err_ppm": float(1e6 / np.sqrt(np.sum(w))),
        "chi2_nu_without_offset": relative,
    }
    c = None if common is None else np.asarray(common, float)
    if c is not None and np.all(np.isfinite(c)):
        chi2 = np.sum(w * d * d) - np.sum(w * d * c) ** 2 / (1.0 + np.sum(w * c * c))
        shared = float(np.sum(w * c) / np.sum(w))  # the common part of the weighted mean
        out["chi2_nu_correlated"] = float(chi2 / n)
        out["common_err_ppm"] = 1e6 * shared
        out["common_offset_pull"] = float(offset / np.hypot(1.0 / np.sqrt(np.sum(w)), shared))
    return out


def summary(m: dict) -> str:
    """One line of `spectrum_metrics` for the terminal and the report."""
    line = (
        f"χ²ν = {m['chi2_nu']:.2f}, mean bias = {m['mean_bias_sigma']:+.2f} σ over "
        f"{m['n_channels']} channels"
    )
    if "common_offset_ppm" in m:  # records written before the offset was reported lack it
        line += (
            f" (common offset {m['common_offset_ppm']:+.0f} ± {m['common_offset_err_ppm']:.0f}"
            f" ppm; χ²ν {m['chi2_nu_without_offset']:.2f} without it)"
        )
    if "chi2_nu_correlated" in m:
        line += (
            f"; with the common error ± {m['common_err_ppm']:.0f} ppm: χ²ν "
            f"{m['chi2_nu_correlated']:.2f}, offset pull {m['common_offset_pull']:+.2f}"
        )
    return line
