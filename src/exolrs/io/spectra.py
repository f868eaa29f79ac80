"""Stage 2/3 products besides calints: the deep frame, centroids CSV and the spectra file.

`<target>_<method>_spectra_fullres.fits` follows exoTEDRF's layout: an empty primary HDU with
the extraction parameters, then image extensions `Wave`, `Wave Err` (half bin width), `Flux`
(nints, nwave), `Flux Err`, `Time` (integration mid-times, BJD_TDB), and here also
`X Shift` (per-integration trace offset across the dispersion, px), `Y Shift` (spectral drift
along it, px, + = towards higher rows) and `Stretch` for the light-curve detrending.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from exolrs.errors import ExolrsError
from exolrs.io.products import atomic_write


@dataclass
class Spectra:
    wave: np.ndarray
    wave_err: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    time: np.ndarray
    x_shift: np.ndarray | None = None
    y_shift: np.ndarray | None = None
    stretch: np.ndarray | None = None
    static_err: np.ndarray | None = None  # (nrows,) flux error common to every integration
    meta: dict | None = None


_EXT = (
    ("Wave", "wave", "Micron"),
    ("Wave Err", "wave_err", "Micron"),
    ("Flux", "flux", "DN/s"),
    ("Flux Err", "flux_err", "DN/s"),
    ("Time", "time", "BJD_TDB"),
    ("X Shift", "x_shift", "pixel"),
    ("Y Shift", "y_shift", "pixel"),
    ("Stretch", "stretch", ""),
    ("Static Err", "static_err", "DN/s"),
)


def write_spectra(spec: Spectra, path) -> Path:
    primary = fits.PrimaryHDU()
    for k, v in (spec.meta or {}).items():
        primary.header[k[:8].upper()] = v
    hdus = [primary]
    for name, attr, unit in _EXT:
        value = getattr(spec, attr)
        if value is None:
            continue
        hdu = fits.ImageHDU(np.asarray(value), name=name)
        hdu.header["UNITS"] = unit
        hdus.append(hdu)
    return atomic_write(fits.HDUList(hdus), path)


def read_spectra(path) -> Spectra:
    path = Path(path)
    if not path.is_file():
        raise ExolrsError(f"spectra file not found: {path}; run Stage 3 first")
    with fits.open(path, memmap=False) as hdul:
        values = {
            attr: np.asarray(hdul[name].data) if name in hdul else None for name, attr, _ in _EXT
        }
        meta = dict(hdul[0].header)
    return Spectra(**values, meta=meta)


def write_centroids(rows: np.ndarray, x: np.ndarray, path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    Table({"row": rows.astype(int), "x": x}).write(tmp, format="ascii.csv", overwrite=True)
    tmp.replace(path)
    return path


def read_centroids(path, ny: int) -> np.ndarray:
    """x centre of every row from a centroids CSV (columns row, x; rows interpolated)."""
    path = Path(path)
    try:
        t = Table.read(path, format="ascii.csv")
        rows, x = np.asarray(t["row"], float), np.asarray(t["x"], float)
    except (OSError, KeyError, ValueError) as exc:
        raise ExolrsError(
            f"cannot read centroids {path} ({exc}); give a CSV with columns row, x"
        ) from None
    order = np.argsort(rows)
    return np.interp(np.arange(ny), rows[order], x[order])


def write_deep_frame(
    deep: np.ndarray, wavelengths: np.ndarray, path, header=None, flat_var=None
) -> Path:
    """The deep frame, the rows' wavelengths and, when given, FLAT_VAR: the variance of the
    static offset the flat's error leaves under each pixel (`flat_field.dilution_variance`)."""
    primary = fits.PrimaryHDU(deep.astype(np.float32), header=header)
    primary.header["EXTNAME"] = "DEEP"
    hdus = [primary, fits.ImageHDU(wavelengths.astype(np.float64), name="WAVELENGTH")]
    if flat_var is not None:
        hdus.append(fits.ImageHDU(np.asarray(flat_var, np.float32), name="FLAT_VAR"))
        hdus[-1].header["BUNIT"] = "(DN/s)**2"
    return atomic_write(fits.HDUList(hdus), path)


def read_deep_frame(path) -> tuple[np.ndarray, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise ExolrsError(f"deep frame not found: {path}; run Stage 2 first")
    with fits.open(path, memmap=False) as hdul:
        return np.asarray(hdul[0].data, np.float32), np.asarray(hdul["WAVELENGTH"].data)


def read_flat_variance(path) -> np.ndarray | None:
    """The deep frame's FLAT_VAR (None when Stage 2 had no flat error to propagate)."""
    with fits.open(path, memmap=False) as hdul:
        return np.asarray(hdul["FLAT_VAR"].data, np.float32) if "FLAT_VAR" in hdul else None
