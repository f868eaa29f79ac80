"""Trace position: edgetrigger centroids per row, refined, smoothed along the dispersion.

Edgetrigger (as exoTEDRF's MIRI path uses): in each row the trace's rising and falling edges
are the extrema of the profile's derivative across columns; their midpoint, each located to
sub-pixel precision with a parabola through the derivative extremum, is the centroid.  That
estimate is refined by the first moment of the background-subtracted profile in a window of
±`half_window` columns, and the per-row centroids are smoothed with a low-order polynomial in
row (robust to a few bad rows).  Nothing is hard-coded: the trace is found in the data.
"""

from __future__ import annotations

import warnings

import numpy as np


def _parabola_peak(y: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Sub-pixel position of the extremum at integer index i along the last axis."""
    n = y.shape[-1]
    i = np.clip(i, 1, n - 2)
    rows = np.arange(y.shape[0])
    a, b, c = y[rows, i - 1], y[rows, i], y[rows, i + 1]
    den = a - 2 * b + c
    off = np.where(np.abs(den) > 0, 0.5 * (a - c) / np.where(den != 0, den, 1), 0.0)
    return i + np.clip(off, -0.5, 0.5)


def edgetrigger(frame: np.ndarray) -> np.ndarray:
    """Per-row centroid (ny,) from the two edges of each row's profile."""
    prof = np.nan_to_num(frame.astype(np.float64))
    grad = np.gradient(prof, axis=1)
    rise = _parabola_peak(grad, np.argmax(grad, axis=1))
    fall = _parabola_peak(-grad, np.argmin(grad, axis=1))
    return 0.5 * (rise + fall)


def refine_centroids(frame: np.ndarray, guess: np.ndarray, half_window: int = 4) -> np.ndarray:
    """First moment of each row within ±half_window of `guess`, background removed."""
    nx = frame.shape[1]
    cols = np.arange(nx)[None, :]
    prof = np.nan_to_num(frame.astype(np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        far = np.abs(cols - guess[:, None]) > 3 * half_window
        bkg = np.nanmedian(np.where(far, prof, np.nan), axis=1)
    prof = prof - np.nan_to_num(bkg)[:, None]
    centre = guess.copy()
    for _ in range(3):
        w = np.clip(1.0 - np.abs(cols - centre[:, None]) / (half_window + 0.5), 0, 1)
        wp = np.clip(prof, 0, None) * w
        s = wp.sum(axis=1)
        centre = np.where(s > 0, (wp * cols).sum(axis=1) / np.where(s > 0, s, 1), centre)
    return centre


def smooth_centroids(
    rows: np.ndarray, x: np.ndarray, good: np.ndarray, degree: int = 3, clip: float = 4.0
) -> np.ndarray:
    """Polynomial in row fitted to good rows with iterative clipping, evaluated everywhere."""
    keep = good & np.isfinite(x)
    if keep.sum() <= degree + 1:
        raise ValueError("too few rows with a measurable trace to fit centroids")
    scale = max(rows.max(), 1)
    for _ in range(5):
        coef = np.polyfit(rows[keep] / scale, x[keep], degree)
        resid = x - np.polyval(coef, rows / scale)
        sigma = 1.4826 * np.median(np.abs(resid[keep]))
        new = keep & (np.abs(resid) <= clip * max(sigma, 1e-3))
        if new.sum() == keep.sum():
            break
        keep = new
    return np.polyval(coef, rows / scale)


def find_trace(
    deep: np.ndarray, min_signal_fraction: float = 0.05, degree: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed trace centre of every row of a deep frame, and the raw per-row centroids.

    Rows whose peak signal is below `min_signal_fraction` of the brightest row's take no part
    in the smoothing fit (their centre comes from the polynomial)."""
    rows = np.arange(deep.shape[0], dtype=float)
    raw = refine_centroids(deep, edgetrigger(deep))
    peak = np.nanmax(deep, axis=1) - np.nanmedian(deep, axis=1)
    good = peak > min_signal_fraction * np.nanmax(peak)
    return smooth_centroids(rows, raw, good, degree), raw


def trace_shift_per_integration(
    cube: np.ndarray, centres: np.ndarray, rows: np.ndarray, half_window: int = 4
) -> np.ndarray:
    """Mean x-offset of the trace in each integration relative to `centres` (px), over the
    rows `rows` — a detrending vector for the light-curve fits."""
    out = np.empty(cube.shape[0])
    for i, frame in enumerate(cube):
        c = refine_centroids(frame[rows], centres[rows], half_window)
        out[i] = np.median(c - centres[rows])
    return out
