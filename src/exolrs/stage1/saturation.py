"""Saturation: flag the group that reaches the saturation level and every later group.

The level is the SATURATION reference (raw DN, per pixel) or a user threshold.  Pixels whose
reference value is NaN or flagged NO_SAT_CHECK are not checked (as jwst does); groups at the
A/D floor (0 DN) are flagged AD_FLOOR | DO_NOT_USE.  Equivalent to stcal's `flag_saturated_pixels`
without the neighbour growth (slitless MIRI has no charge-migration growth), vectorised over
integrations; tested against it.
"""

from __future__ import annotations

import numpy as np

from exolrs.dq import AD_FLOOR, DO_NOT_USE, NO_SAT_CHECK, SATURATED


def flag_saturation(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    saturation: np.ndarray | None,
    saturation_dq: np.ndarray | None = None,
    saturation_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (groupdq, pixeldq) with SATURATED set from the first saturated group on.

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) raw DN.
    groupdq : group flags (uint8), not modified in place.
    pixeldq : (ny, nx) pixel flags.
    saturation : (ny, nx) level in DN from the reference (ignored when a threshold is given).
    saturation_dq : (ny, nx) DQ of the saturation reference.
    saturation_threshold : one level in DN for every pixel, overriding the reference.
    """
    level, pdq = saturation_levels(
        data.shape[-2:], pixeldq, saturation, saturation_dq, saturation_threshold
    )
    saturated = np.logical_or.accumulate(data >= level, axis=1)
    gdq = groupdq.copy()
    gdq[saturated] |= np.uint8(SATURATED)
    gdq[data <= 0] |= np.uint8(AD_FLOOR | DO_NOT_USE)
    return gdq, pdq


def saturation_levels(
    shape: tuple[int, int],
    pixeldq: np.ndarray,
    saturation: np.ndarray | None,
    saturation_dq: np.ndarray | None = None,
    saturation_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The level each pixel is checked against (float32, +inf where not checked) and the
    pixel DQ with the reference's flags and NO_SAT_CHECK (arguments as `flag_saturation`)."""
    if saturation_threshold is not None:
        level = np.full(shape, saturation_threshold, np.float32)
    elif saturation is None:
        raise ValueError("need a saturation reference or a saturation_threshold")
    else:
        level = saturation.astype(np.float32, copy=True)
    pdq = pixeldq.astype(np.uint32, copy=True)
    skip = ~np.isfinite(level)
    if saturation_dq is not None:
        skip |= (saturation_dq & NO_SAT_CHECK).astype(bool)
        pdq |= saturation_dq.astype(np.uint32)
    pdq[skip] |= np.uint32(NO_SAT_CHECK)
    level[skip] = np.inf
    return level, pdq
