"""AssignWCS for LRS slitless: the wavelength of every detector row from the specwcs table."""

from __future__ import annotations

import numpy as np


def row_wavelengths(table: dict, ny: int) -> np.ndarray:
    """Wavelength (µm) of each row 0 … ny−1 by linear interpolation in the specwcs table
    (``y_center`` in subarray pixels, increasing; ``wavelength``); NaN outside the table."""
    y = np.asarray(table["y_center"], float)
    lam = np.asarray(table["wavelength"], float)
    order = np.argsort(y)
    y, lam = y[order], lam[order]
    rows = np.arange(ny, dtype=float)
    out = np.interp(rows, y, lam)
    out[(rows < y[0]) | (rows > y[-1])] = np.nan
    return out


def wavelength_map(table: dict, ny: int, nx: int) -> np.ndarray:
    """(ny, nx) wavelength of every pixel: the dispersion runs along rows, so each row holds
    one wavelength across the slitless trace."""
    return np.repeat(row_wavelengths(table, ny)[:, None], nx, axis=1)


def calibrated_rows(wavelengths: np.ndarray, lo: float = 5.0, hi: float = 12.0) -> np.ndarray:
    """Rows whose wavelength lies in the well-calibrated range [lo, hi] µm."""
    with np.errstate(invalid="ignore"):
        return (wavelengths >= lo) & (wavelengths <= hi)
