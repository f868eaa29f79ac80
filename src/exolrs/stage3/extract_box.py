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
    profile: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Flux and error (nints, ny) in an aperture of `width` columns around `centres` (ny,).

    Stage 2 replaces the bad pixels it finds; a pixel still NaN in one integration (e.g.
    flagged there alone) is made up for with the spatial `profile` (ny, nx; the deep frame):
    the row's sum over its finite pixels is scaled by Σ w·P / Σ_finite w·P, its variance by
    that factor squared.  Without a profile a NaN counts as zero flux.
    `bkg_var` (nints, ny): variance of the subtracted background per row, common to the
    aperture's pixels, so it enters as (Σ w)² · bkg_var."""
    w = aperture_weights(centres, width, cube.shape[-1]).astype(np.float32)
    finite = np.isfinite(cube)
    flux = np.einsum("iyx,yx->iy", np.nan_to_num(cube), w)
    var = np.einsum("iyx,yx->iy", np.broadcast_to(np.nan_to_num(err) ** 2, cube.shape), w * w)
    if profile is not None:
        holes = ~finite & (w > 0)[None]
        rows = holes.any(axis=2)  # (nints, ny) rows with a NaN in the aperture
        if rows.any():
            wp = w * np.clip(np.nan_to_num(profile), 0.0, None)
            full = wp.sum(axis=1)  # (ny,)
            i, y = np.nonzero(rows)
            seen = np.sum(np.where(finite[i, y], wp[y], 0.0), axis=1)
            factor = np.divide(full[y], seen, out=np.ones_like(seen), where=seen > 0)
            flux[i, y] *= factor
            var[i, y] *= factor * factor
    if bkg_var is not None:
        var += w.sum(axis=1)[None] ** 2 * bkg_var
    return flux, np.sqrt(var)


def box_static_variance(var_map: np.ndarray, centres: np.ndarray, width: float) -> np.ndarray:
    """(ny,) variance of a row's box flux from a static per-pixel variance `var_map`
    (ny, nx) — independent pixels, the same in every integration: Σ w² · var."""
    w = aperture_weights(centres, width, var_map.shape[-1])
    return np.sum(w * w * np.nan_to_num(var_map), axis=1)
