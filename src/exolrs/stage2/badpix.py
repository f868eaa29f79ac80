"""BadPix: static hot/bad pixels found on the deep frame, and temporal outliers.

Spatial pass: on the median (deep) frame of the baseline integrations, each pixel is compared
with the median of its neighbours along the dispersion direction (same column, rows ±1 and
±2 — the trace profile changes slowly along rows, so these neighbours predict the pixel even
on the trace), less the departure the row's bright pixels share (`row_departure`: a narrow
feature of the spectrum moves a whole row); a pixel deviating by more than `space_thresh`
times the local robust scatter, or flagged DO_NOT_USE, is bad.  In every integration a bad
pixel is replaced by the median of its usable neighbours (up to four).  Temporal pass: each
pixel's time series is compared with a running median of 5 integrations; deviations beyond
`time_thresh` times the pixel's robust scatter are replaced by that median.  Pixels whose
level wanders over minutes (random telegraph) are found by `exolrs.stage2.telegraph` and
replaced as bad pixels are.
"""

from __future__ import annotations

import warnings

import numpy as np

from exolrs.dq import DO_NOT_USE
from exolrs.stage2 import telegraph
from exolrs.stats import median_of_window, nanmedian0, neighbour_start

_OFFSETS = (-2, -1, 1, 2)
HALO = max(abs(d) for d in _OFFSETS)  # rows of neighbours a block of rows needs each side


def _row_neighbours(frame: np.ndarray) -> np.ndarray:
    """(4, ny, nx) values of rows y−2, y−1, y+1, y+2 (NaN beyond the edges)."""
    ny = frame.shape[-2]
    out = np.full((4, *frame.shape), np.nan, np.float32)
    for k, d in enumerate(_OFFSETS):
        if d > 0:
            out[k, ..., : ny - d, :] = frame[..., d:, :]
        else:
            out[k, ..., -d:, :] = frame[..., : ny + d, :]
    return out


def static_bad_pixels(dq: np.ndarray) -> np.ndarray:
    """Pixels DO_NOT_USE in most integrations of a (nints, ny, nx) DQ cube."""
    return ((dq & DO_NOT_USE) != 0).mean(axis=0) > 0.5


def correct_bad_pixels(
    sci,
    err,
    deep,
    static,
    space_thresh=10.0,
    time_thresh=10.0,
    inplace=False,
    telegraph_thresh: float | None = 8.0,
):
    """The whole BadPix step: find bad pixels on `deep` (plus the `static` ones), replace
    them in `sci` and `err`, replace temporal outliers of `sci`, then find and replace the
    pixels whose level wanders in time (`telegraph`; None: not searched).

    Returns (sci, err, bad-pixel map, number of temporal outliers)."""
    hot = find_bad_pixels(deep, static.astype(np.uint32) * DO_NOT_USE, space_thresh)
    sci, err = replace_in(sci, err, hot, inplace)
    sci, n_time = clip_time_outliers(sci, time_thresh, inplace=inplace)
    if telegraph_thresh is not None:
        wandering = telegraph.wandering_pixels(sci, telegraph_thresh) & ~hot
        sci, err = replace_in(sci, err, wandering, inplace=True)
        hot = hot | wandering
    return sci, err, hot, n_time


def replace_in(sci, err, bad, inplace=False):
    """`replace_bad_pixels` of both the data and its error (a block of rows works as the
    whole frame does, given two rows of its neighbours on each side)."""
    return replace_bad_pixels(sci, bad, inplace=inplace), replace_bad_pixels(err, bad, inplace)


def find_bad_pixels(
    deep: np.ndarray, dq: np.ndarray | None = None, space_thresh: float = 10.0, window: int = 21
) -> np.ndarray:
    """Boolean (ny, nx) map of bad pixels on a deep frame (plus DO_NOT_USE pixels of `dq`)."""
    from scipy.ndimage import median_filter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # fill NaN (known bad) pixels from their vertical neighbours first, so that every
        # pixel's neighbour set stays symmetric: along a steep spectral gradient an
        # asymmetric set biases the local estimate and makes false outliers
        near = _row_neighbours(deep)
        filled = np.where(np.isfinite(deep), deep, np.nanmean(near[1:3], axis=0))
        local = np.nanmedian(_row_neighbours(filled), axis=0)
        resid = np.nan_to_num(filled - local)
        resid -= row_departure(resid, local)[:, None] * np.nan_to_num(local)
        scale = 1.4826 * median_filter(np.abs(resid), size=(window, 3), mode="nearest")
    floor = 1.4826 * np.median(np.abs(resid))
    scale = np.maximum(scale, 0.1 * floor + 1e-12)
    bad = np.abs(resid) > space_thresh * scale
    bad |= ~np.isfinite(deep)
    if dq is not None:
        bad |= (dq & DO_NOT_USE).astype(bool)
    return bad


def row_departure(resid: np.ndarray, local: np.ndarray, min_pixels: int = 3) -> np.ndarray:
    """(ny,) the relative departure every bright pixel of a row shares: the median over the
    row's pixels above a quarter of its peak of resid / local (0 for a row with fewer than
    `min_pixels` of them).

    Where the spectrum bends (a kink in the throughput, a feature of the star), a row's
    flux departs from its neighbours' median as a whole — by 0.2 % at a kink of a
    program2783 simulation, ten times the deep frame's noise — while a hot pixel departs
    alone: the median over the trace's pixels keeps the first and ignores the second."""
    local = np.nan_to_num(np.asarray(local, np.float64))
    peak = local.max(axis=1, keepdims=True)
    bright = (local > 0.25 * peak) & (peak > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(bright, resid / np.where(bright, local, 1.0), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmedian(ratio, axis=1)
    return np.where(bright.sum(axis=1) >= min_pixels, np.nan_to_num(out), 0.0)


def replace_bad_pixels(cube: np.ndarray, bad: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Replace bad pixels in every integration by the median of their usable neighbours
    (same column, rows ±1, ±2; else left and right); with none usable they stay NaN."""
    out = cube if inplace and cube.dtype == np.float32 else cube.astype(np.float32)
    ys, xs = np.nonzero(bad)
    if ys.size == 0:
        return out
    ny = cube.shape[-2]
    vals = np.full((cube.shape[0], ys.size, 4), np.nan, np.float32)
    for k, d in enumerate(_OFFSETS):
        yy = ys + d
        ok = (yy >= 0) & (yy < ny)
        ok[ok] &= ~bad[yy[ok], xs[ok]]
        vals[:, ok, k] = cube[:, yy[ok], xs[ok]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[:, ys, xs] = np.nanmedian(vals, axis=-1)
        # no usable vertical neighbour: fall back on the usable pixels left and right
        lost = np.flatnonzero(np.isnan(out[:, ys, xs]).all(axis=0))
        for j in lost:
            y, x = ys[j], xs[j]
            side = [c for c in (x - 1, x + 1) if 0 <= c < cube.shape[-1] and not bad[y, c]]
            if side:
                out[:, y, x] = np.nanmean(cube[:, y, side], axis=-1)
    return out


def running_median5(cube: np.ndarray) -> np.ndarray:
    """Median of each integration with its 4 nearest neighbours in time (windows shifted
    inward at the ends), by a min/max selection network."""
    n = cube.shape[0]
    if n < 5:
        return np.broadcast_to(np.nanmedian(cube, axis=0), cube.shape).copy()
    start = neighbour_start(np.arange(n), 5, n)
    stack = np.stack([cube[start + k] for k in range(5)])
    return median_of_window(stack)


def clip_time_outliers(
    cube: np.ndarray, time_thresh: float = 10.0, inplace: bool = False, rows_per_block: int = 32
) -> tuple[np.ndarray, int]:
    """Replace temporal outliers by the running median; returns (cube, number replaced).

    Worked in blocks of rows, so the temporaries stay a fraction of the cube's size."""
    out = cube if inplace and cube.dtype == np.float32 else cube.astype(np.float32)
    count = 0
    for r0 in range(0, out.shape[1], rows_per_block):
        block = out[:, r0 : r0 + rows_per_block]
        med = running_median5(block)
        dev = block - med
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            scale = 1.4826 * nanmedian0(np.abs(dev))
        hit = np.abs(dev) > time_thresh * np.where(scale > 0, scale, np.inf)
        block[hit] = med[hit]
        count += int(hit.sum())
    return out, count
