"""AssignWCS for LRS slitless: the wavelength of every detector row and pixel from the
SPECWCS table, as jwst's WCS gives it (`assign_wcs.miri.lrs_xytoabl`): a smoothing spline
(s = 0.002) of wavelength against the table's subarray rows, evaluated at those rows and
interpolated linearly between them; NaN outside the table and outside the WCS bounding box;
the barycentric correction λ / (1 + VELOSYS / c) when the exposure records VELOSYS."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import UnivariateSpline

C_M_PER_S = 299_792_458.0


def row_wavelengths(table: dict, ny: int, velosys: float | None = None) -> np.ndarray:
    """Wavelength (µm) of each row 0 … ny−1 (the trace's rows are the dispersion axis).

    `table` is `refs.load_specwcs`'s: ``y_center`` in 0-based subarray rows, increasing,
    ``wavelength``, and optionally ``y_bounds``."""
    y = np.asarray(table["y_center"], float)
    lam = np.asarray(table["wavelength"], float)
    order = np.argsort(y)
    y, lam = y[order], lam[order]
    # (a table too short for a cubic spline is taken as it is)
    smooth = UnivariateSpline(y, lam, s=0.002)(y) if len(y) > 3 else lam
    rows = np.arange(ny, dtype=float)
    out = np.interp(rows, y, smooth)
    outside = (rows < y[0]) | (rows > y[-1])
    lo, hi = table.get("y_bounds", (-np.inf, np.inf))
    outside |= (rows < lo) | (rows > hi)
    out[outside] = np.nan
    if velosys:
        out /= 1.0 + float(velosys) / C_M_PER_S
    return out


def wavelength_map(table: dict, ny: int, nx: int, velosys: float | None = None) -> np.ndarray:
    """(ny, nx) wavelength of every pixel (µm, float32), jwst's `WAVELENGTH` array: each row
    holds one wavelength across the slitless trace; NaN outside the WCS bounding box (the 4
    reference columns on the left)."""
    rows = row_wavelengths(table, ny, velosys)
    out = np.repeat(rows[:, None], nx, axis=1)
    lo, hi = table.get("x_bounds", (-np.inf, np.inf))
    cols = np.arange(nx)
    out[:, (cols < lo) | (cols > hi)] = np.nan
    return out.astype(np.float32)


def calibrated_rows(wavelengths: np.ndarray, lo: float = 5.0, hi: float = 12.0) -> np.ndarray:
    """Rows whose wavelength lies in the well-calibrated range [lo, hi] µm."""
    with np.errstate(invalid="ignore"):
        return (wavelengths >= lo) & (wavelengths <= hi)
