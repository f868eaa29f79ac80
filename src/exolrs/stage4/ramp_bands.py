"""Ramp time scales that change with wavelength (`stage4: tau_bands`).

A MIRI ramp need not settle at the same rate at every wavelength.  Fixing every channel's
ramp time scale to the white light's then leaves a ramp the channel model cannot follow,
and part of it lands in the depth with a shape in wavelength; freeing τ in every channel
(`spec_free_tau`) follows it, but a narrow channel barely constrains τ and its depth error
grows.  In between: fit τ on a few broad bands, where the ramp is measured well (least
squares, the orbit fixed to the white fit's), and give each channel the band values
interpolated linearly in wavelength (constant beyond the outer bands' centres).  A band
whose τ is not measured (relative error above `MAX_REL_ERR`, e.g. where the ramp changes
sign and vanishes) is left out of the interpolation; with none measured, the channels keep
the white light's τ.
"""

from __future__ import annotations

import numpy as np

from exolrs.stage4.fit import least_squares_start
from exolrs.stage4.model import LightCurveModel

MAX_REL_ERR = 0.5  # a band's τ is used when σ(τ)/τ is below this


def fitted_time_scales(m: LightCurveModel, start: dict, names: list[str]) -> dict:
    """The least-squares value of each time scale `names` (free in `m`), or None where its
    Laplace error is above `MAX_REL_ERR` of it (or the fit has no covariance)."""
    theta, cov = least_squares_start(m, start)
    order = list(m.nonlinear)
    out = {}
    for name in names:
        i = order.index(name)
        value = float(theta[i])
        ok = cov is not None and value > 0 and np.sqrt(cov[i, i]) < MAX_REL_ERR * value
        out[name] = value if ok else None
    return out


def channel_time_scales(
    band_centres: np.ndarray, band_values: list[dict], white: dict, centres: np.ndarray
) -> list[dict]:
    """Each channel's time scales: the measured bands' values interpolated at the channel
    `centres` (µm), or the `white` fit's where no band measured that time scale."""
    band_centres = np.asarray(band_centres, float)
    names = sorted({n for b in band_values for n in b})
    per_name = {}
    for name in names:
        ok = np.array([b.get(name) is not None for b in band_values], bool)
        if not ok.any():
            per_name[name] = np.full(len(centres), white[name], float)
            continue
        values = np.array([b[name] for b, good in zip(band_values, ok, strict=True) if good])
        per_name[name] = np.interp(centres, band_centres[ok], values)
    return [{n: float(per_name[n][k]) for n in names} for k in range(len(centres))]
