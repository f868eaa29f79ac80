"""Box extraction: sum an aperture of `extract_width` columns centred on the trace in each
row, with fractional weights for the partial pixels at its edges."""

from __future__ import annotations

import numpy as np


def aperture_weights(centres: np.ndarray, width: float, nx: int) -> np.ndarray:
    """(ny, nx) weight of each pixel in an aperture [c − width/2, c + width/2] per row."""
    lo = centres[:, None] - width / 2.0
    hi = centres[:, None] + width / 2.0
    left = np.arange(nx)[None, :] - 0.5
    right = left + 1.0
    return np.clip(np.minimum(right, hi) - np.maximum(left, lo), 0.0, 1.0)


def box_extract(
    cube: np.ndarray,
    err: np.ndarray,
    centres: np.ndarray,
    width: float = 6.0,
    bkg_var: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Flux and error (nints, ny) in an aperture of `width` columns around `centres` (ny,).

    Bad pixels must already be replaced (Stage 2); any NaN left counts as zero flux.
    `bkg_var` (nints, ny): variance of the subtracted background per row, common to the
    aperture's pixels, so it enters as (Σ w)² · bkg_var."""
    w = aperture_weights(centres, width, cube.shape[-1]).astype(np.float32)
    flux = np.einsum("iyx,yx->iy", np.nan_to_num(cube), w)
    var = np.einsum("iyx,yx->iy", np.broadcast_to(np.nan_to_num(err) ** 2, cube.shape), w * w)
    if bkg_var is not None:
        var += w.sum(axis=1)[None] ** 2 * bkg_var
    return flux, np.sqrt(var)
