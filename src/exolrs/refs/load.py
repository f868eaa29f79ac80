"""Read reference files into plain arrays cut to the exposure's subarray.

FITS references are read with astropy (a few ms each; the stdatamodels models would
validate schemas on every open and cost ~0.5 s per file); the EMICORR reference is ASDF.
A reference covering a larger area (full frame) is cut using its own SUBSTRT keywords and
the exposure's; a reference that does not cover the exposure's subarray is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError


def subarray_window(ref_header, exposure_header, path: Path) -> tuple[slice, slice]:
    """(rows, cols) slices of the reference covering the exposure's subarray."""
    ex0 = int(exposure_header.get("SUBSTRT1", 1))
    ey0 = int(exposure_header.get("SUBSTRT2", 1))
    nx = int(exposure_header.get("SUBSIZE1", 72))
    ny = int(exposure_header.get("SUBSIZE2", 416))
    rx0 = int(ref_header.get("SUBSTRT1", 1))
    ry0 = int(ref_header.get("SUBSTRT2", 1))
    rnx = int(ref_header.get("SUBSIZE1", 1032))
    rny = int(ref_header.get("SUBSIZE2", 1024))
    x, y = ex0 - rx0, ey0 - ry0
    if x < 0 or y < 0 or x + nx > rnx or y + ny > rny:
        raise ExolrsError(
            f"reference {path.name} covers columns {rx0}-{rx0 + rnx - 1}, rows "
            f"{ry0}-{ry0 + rny - 1} but the exposure needs columns {ex0}-{ex0 + nx - 1}, rows "
            f"{ey0}-{ey0 + ny - 1}; give a reference for subarray "
            f"{exposure_header.get('SUBARRAY', '?')}."
        )
    return slice(y, y + ny), slice(x, x + nx)


def _read(path, exposure_header, extnames, dtypes) -> list[np.ndarray | None]:
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            primary = hdul[0].header
            rows, cols = subarray_window(primary, exposure_header, path)
            out = []
            for name, dtype in zip(extnames, dtypes, strict=True):
                if name not in hdul:
                    out.append(None)
                    continue
                data = hdul[name].data
                if data.shape[-2:] not in ((1, 1),):  # (1, 1) placeholders stay as they are
                    data = data[..., rows, cols]
                out.append(np.ascontiguousarray(data, dtype=dtype))
            return out
    except (OSError, ValueError, KeyError) as exc:
        raise ExolrsError(
            f"cannot read reference file {path}: {exc}. Re-download it or give another path "
            "under `references:`."
        ) from None


def load_mask(path, header) -> np.ndarray:
    """Static bad-pixel mask: DQ uint32 (y, x)."""
    (dq,) = _read(path, header, ["DQ"], [np.uint32])
    return dq


def load_saturation(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """Saturation level (raw DN) float32 and its DQ."""
    return tuple(_read(path, header, ["SCI", "DQ"], [np.float32, np.uint32]))


def load_linearity(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """Linearity coefficients (ncoeffs, y, x) float32 and DQ."""
    return tuple(_read(path, header, ["COEFFS", "DQ"], [np.float32, np.uint32]))


def load_dark(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """MIRI dark (nints_ref, ngroups, y, x) float32 — first and later integrations — and DQ.

    A 3-D dark (ngroups, y, x) is promoted to (1, ngroups, y, x)."""
    data, dq = _read(path, header, ["SCI", "DQ"], [np.float32, np.uint32])
    if data.ndim == 3:
        data = data[None]
    ngroups = int(header.get("NGROUPS", data.shape[1]))
    if data.shape[1] < ngroups:
        raise ExolrsError(
            f"dark reference {Path(path).name} has {data.shape[1]} groups but the exposure has "
            f"{ngroups}; give a dark with at least as many groups under `references: dark:`."
        )
    return data[:, :ngroups], dq


def load_reset(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """MIRI reset correction (nints_ref, ngroups, y, x) float32 and DQ."""
    data, dq = _read(path, header, ["SCI", "DQ"], [np.float32, np.uint32])
    return data[:, : int(header.get("NGROUPS", data.shape[1]))], dq


def load_gain(path, header) -> np.ndarray:
    """Gain (e-/DN) float32 (y, x)."""
    (data,) = _read(path, header, ["SCI"], [np.float32])
    return data


def load_readnoise(path, header) -> np.ndarray:
    """Read noise (DN per read) float32 (y, x)."""
    (data,) = _read(path, header, ["SCI"], [np.float32])
    return data


def load_flat(path, header) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Flat field: data, DQ and error (y, x)."""
    return tuple(_read(path, header, ["SCI", "DQ", "ERR"], [np.float32, np.uint32, np.float32]))


def load_specwcs(path, header) -> dict[str, np.ndarray]:
    """LRS wavelength table in the exposure's 0-based subarray pixel coordinates.

    Returns ``{"x_center", "y_center", "wavelength"}`` sorted by increasing row."""
    path = Path(path)
    try:
        table = fits.getdata(path, "WAVETABLE")
    except (OSError, KeyError) as exc:
        raise ExolrsError(f"cannot read the LRS specwcs table in {path}: {exc}") from None
    x = np.asarray(table["x_center"], float) - (int(header.get("SUBSTRT1", 1)) - 1)
    y = np.asarray(table["y_center"], float) - (int(header.get("SUBSTRT2", 1)) - 1)
    lam = np.asarray(table["wavelength"], float)
    order = np.argsort(y)
    return {"x_center": x[order], "y_center": y[order], "wavelength": lam[order]}


def load_emicorr(path, header=None) -> dict[str, tuple[float, np.ndarray]]:
    """EMI reference waveforms ``{name: (frequency_hz, phase_amplitudes)}``.

    With a header, only the frequencies listed for its subarray and readout speed."""
    import asdf

    path = Path(path)
    try:
        with asdf.open(path, lazy_load=False, memmap=False) as af:
            freqs = af.tree["frequencies"]
            out = {
                name: (float(v["frequency"]), np.asarray(v["phase_amplitudes"], np.float32))
                for name, v in freqs.items()
            }
            if header is not None:
                case = af.tree.get("subarray_cases", {}).get(header.get("SUBARRAY", ""), {})
                speed = "SLOW" if "SLOW" in str(header.get("READPATT", "")) else "FAST"
                wanted = case.get("freqs", {}).get(speed, [])
                if isinstance(wanted, dict):
                    wanted = wanted.get(header.get("DETECTOR", ""), [])
                # no entry for this subarray/readout: nothing to correct (as in jwst)
                out = {k: v for k, v in out.items() if k in wanted}
            return out
    except (OSError, ValueError, KeyError) as exc:
        raise ExolrsError(f"cannot read the EMICORR reference {path}: {exc}") from None
