"""How a recovered spectrum compares with the injected one (simulations): χ²ν and mean bias
over the channels, and the same split into what all channels share and what they do not.

Noise common to every wavelength (achromatic red noise, a systematic the model misses in
the white light) moves every depth by the same amount.  It inflates χ²ν and the mean bias
alike, while the spectrum's shape — what an atmosphere is read from — can be right.  So
beside χ²ν the comparison reports the common offset (the error-weighted mean of depth −
truth, with its error from the channels' errors alone) and χ²ν once it is removed (n − 1
degrees of freedom).
"""

from __future__ import annotations

import numpy as np


def spectrum_metrics(depth, truth, sigma) -> dict:
    """χ²ν, mean bias (σ), the common offset (ppm) and its error, and χ²ν without it."""
    d = np.asarray(depth, float) - np.asarray(truth, float)
    s = np.asarray(sigma, float)
    z = d / s
    w = 1.0 / s**2
    offset = float(np.sum(w * d) / np.sum(w))
    n = len(d)
    relative = float(np.sum(((d - offset) / s) ** 2) / max(n - 1, 1))
    return {
        "chi2_nu": float(np.mean(z**2)),
        "mean_bias_sigma": float(np.mean(z)),
        "n_channels": n,
        "common_offset_ppm": 1e6 * offset,
        "common_offset_err_ppm": float(1e6 / np.sqrt(np.sum(w))),
        "chi2_nu_without_offset": relative,
    }


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
    return line
