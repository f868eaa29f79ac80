"""Background: subtract, row by row, the sky measured in off-trace columns.

Columns come from the trace position (measured on the data, never a constant): with the trace
at x0, a trace width W and a background width B, the background columns are
[x0 − W/2 − B, x0 − W/2) and [x0 + W/2, x0 + W/2 + B) — for x0 = 36, W = 20, B = 14 the
tutorial's columns 12–25 and 46–59.  `method='median'` subtracts each row's median of those
pixels; `'slope'` fits a straight line across the row (closed-form least squares, all rows
and integrations at once, refitted twice without the pixels more than 5 MADs off the line —
a hot pixel not yet found would otherwise tilt its row; exoTEDRF's per-integration fit takes
~4 s each) and subtracts it at every column.  Negative values are kept: they
are noise, and clipping them biases the flux.

The background estimate's own noise is shared by every pixel of a row, so it cannot live in
the per-pixel ERR (a sum over the aperture would count it w times instead of w²):
`estimate_variance` gives it per integration and row, and Stage 3 adds it to the extracted
flux's variance (Stage 2 records the method and columns in the calints header).
"""

from __future__ import annotations

import warnings

import numpy as np


def trace_center_estimate(frame: np.ndarray) -> float:
    """Trace column of a (ny, nx) frame: centroid of the column profile taken as the median
    over rows (the trace runs along every row; hot pixels do not move a median), after each
    row's linear trend across the columns is removed — on the real background (60–130
    DN/s/px with a column gradient) the gradient, not the trace, would otherwise peak."""
    nx = frame.shape[-1]
    x = np.arange(nx, dtype=float) - 0.5 * (nx - 1)
    rows = np.nan_to_num(np.asarray(frame, float))
    slope = rows @ x / (x @ x)
    rows = rows - rows.mean(axis=1, keepdims=True) - slope[:, None] * x
    rows[~np.isfinite(frame)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        prof = np.nanmedian(rows, axis=0)
    prof = np.nan_to_num(prof - np.nanmedian(prof))
    peak = int(np.argmax(prof))
    lo, hi = max(peak - 4, 0), min(peak + 5, prof.size)
    w = np.clip(prof[lo:hi], 0, None)
    return float(np.sum(w * np.arange(lo, hi)) / np.sum(w)) if w.sum() > 0 else float(peak)


def background_columns(x0: float, nx: int, trace_width: int = 20, background_width: int = 14):
    """Boolean (nx,) mask of the background columns around a trace at column x0."""
    c = int(np.rint(x0))
    cols = np.arange(nx)
    left = (cols >= c - trace_width // 2 - background_width) & (cols < c - trace_width // 2)
    right = (cols >= c + trace_width // 2) & (cols < c + trace_width // 2 + background_width)
    mask = left | right
    if mask.sum() < 2:
        raise ValueError(
            f"no background columns for a trace at x = {x0:.1f} with trace width {trace_width}"
            f" and background width {background_width} on {nx} columns"
        )
    return mask


def subtract_background(
    sci: np.ndarray,
    x0: float,
    method: str = "median",
    trace_width: int = 20,
    background_width: int = 14,
    bad: np.ndarray | None = None,
    inplace: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (sci − background, coefficients) for a (nints, ny, nx) cube.

    The background of integration i, row y, column x is ``c[i, y, 0] + c[i, y, 1] · x``
    (the gradient is zero for `'median'`).  `bad` ((ny, nx) or the cube's shape) marks pixels
    left out of the estimate.  With `inplace` a float32 `sci` is corrected in place.
    """
    if method not in ("median", "slope"):
        raise ValueError(f"miri_method must be 'median' or 'slope', got {method!r}")
    cols = background_columns(x0, sci.shape[-1], trace_width, background_width)
    region = sci[..., cols].astype(np.float32, copy=True)
    if bad is not None:
        region[np.broadcast_to(bad, sci.shape)[..., cols]] = np.nan
    coef = np.zeros((*sci.shape[:-1], 2), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "median":
            coef[..., 0] = np.nanmedian(region, axis=-1)
        else:
            x = np.flatnonzero(cols).astype(np.float32)
            w = np.isfinite(region)
            for _ in range(CLIP_ITERATIONS + 1):
                intercept, slope = _line(region, w, x)
                resid = np.abs(region - intercept[..., None] - slope[..., None] * x)
                resid[~w] = np.inf
                mad = 1.4826 * _finite_median(resid)
                keep = w & (resid <= CLIP_SIGMA * mad)
                if np.array_equal(keep, w):
                    break
                w = keep
            coef[..., 1] = slope
            coef[..., 0] = intercept
    coef = np.nan_to_num(coef)
    out = sci if inplace and sci.dtype == np.float32 else sci.astype(np.float32)
    xs = np.arange(sci.shape[-1], dtype=np.float32)
    for i in range(out.shape[0]):
        out[i] -= coef[i, :, :1] + coef[i, :, 1:] * xs
    return out, coef


CLIP_SIGMA = 5.0  # background pixels further than this × their row's MAD from the line …
CLIP_ITERATIONS = 2  # … are left out of the refit (hot pixels and cosmic-ray residuals)


def _finite_median(a: np.ndarray) -> np.ndarray:
    """Median over the last axis of the finite values of `a`, whose others are +inf
    (…, 1); NaN where none is finite.  A sort of the short last axis: np.nanmedian takes a
    per-row Python path when NaNs are present (measured: the robust line's clipping went
    from most of Stage 2's background time to a small part of it)."""
    s = np.sort(a, axis=-1)
    n = np.isfinite(a).sum(axis=-1, keepdims=True)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0), axis=-1)
    hi = np.take_along_axis(s, np.maximum(n // 2, 0), axis=-1)
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def _line(region, w, x):
    """(intercept, slope) of each row's least-squares line through the pixels `w` of
    `region` (…, ncols) at columns `x`; NaN intercept for a row with no pixel."""
    y = np.where(w, region, 0.0)
    n = w.sum(-1)
    sx, sy = (w * x).sum(-1), y.sum(-1)
    sxx, sxy = (w * x * x).sum(-1), (y * x).sum(-1)
    den = n * sxx - sx * sx
    slope = np.where(den > 0, (n * sxy - sx * sy) / np.where(den > 0, den, 1), 0.0)
    return np.where(n > 0, (sy - slope * sx) / np.maximum(n, 1), np.nan), slope


def estimate_variance(
    err: np.ndarray,
    x0: float,
    method: str = "median",
    trace_width: int = 20,
    background_width: int = 14,
) -> np.ndarray:
    """Variance (nints, ny) of each row's background estimate at the trace column `x0`, from
    the errors of the background pixels: π/2 · ⟨σ²⟩ / n for a median (its efficiency for
    Gaussian noise), ⟨σ²⟩ (1/n + (x0 − x̄)² / Σ(x − x̄)²) for a fitted line."""
    cols = background_columns(x0, err.shape[-1], trace_width, background_width)
    e2 = err[..., cols].astype(np.float32) ** 2
    ok = np.isfinite(e2) & (e2 > 0)
    n = np.maximum(ok.sum(axis=-1), 1)
    mean = np.where(ok, e2, 0.0).sum(axis=-1) / n
    if method == "median":
        return (0.5 * np.pi * mean / n).astype(np.float32)
    x = np.flatnonzero(cols).astype(np.float64)
    xbar = x.mean()
    return (mean * (1.0 / n + (x0 - xbar) ** 2 / np.sum((x - xbar) ** 2))).astype(np.float32)


def header_keywords(method: str, trace_width: int, background_width: int) -> dict:
    """Keywords recording a background subtraction in a calints header (with TRACE_X)."""
    return {
        "BKG_METH": (method, "background: median or slope per row"),
        "BKG_TW": (int(trace_width), "background: trace width excluded (columns)"),
        "BKG_BW": (int(background_width), "background: columns used each side"),
    }


def variance_from_header(err: np.ndarray, header) -> np.ndarray | None:
    """`estimate_variance` for a calints cube whose header records its background
    subtraction; None when it records none."""
    if header is None or "BKG_METH" not in header or "TRACE_X" not in header:
        return None
    return estimate_variance(
        err, float(header["TRACE_X"]), header["BKG_METH"], header["BKG_TW"], header["BKG_BW"]
    )
