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
from exolrs.refs.asdf_tree import read_tree


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


def check_reftype(ref_header, reftype: str, path: Path) -> None:
    """A reference whose header names another REFTYPE is refused (a file given under the
    wrong `references:` key); one without REFTYPE is taken as given."""
    have = str(ref_header.get("REFTYPE", "")).strip().upper()
    if have and have != reftype.upper():
        raise ExolrsError(
            f"{path.name} is a {have} reference but was given as the {reftype!r} reference; "
            f"put it under `references: {have.lower()}:` or give a {reftype.upper()} file."
        )


def _read(path, exposure_header, extnames, dtypes, reftype=None) -> list[np.ndarray | None]:
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            primary = hdul[0].header
            if reftype:
                check_reftype(primary, reftype, path)
            rows, cols = subarray_window(primary, exposure_header, path)
            out = []
            for name, dtype in zip(extnames, dtypes, strict=True):
                if name not in hdul:
                    out.append(None)
                    continue
                data = hdul[name].data
                if data is None or data.ndim < 2:
                    raise ExolrsError(
                        f"reference {path.name}: {name} holds no image; give a reference of "
                        "the right type under `references:`."
                    )
                if data.shape[-2:] not in ((1, 1),):  # (1, 1) placeholders stay as they are
                    data = data[..., rows, cols]
                    want = (rows.stop - rows.start, cols.stop - cols.start)
                    if data.shape[-2:] != want:
                        raise ExolrsError(
                            f"reference {path.name}: {name} is {hdul[name].data.shape[-2:]} "
                            f"pixels, which does not cover the {want} subarray at rows "
                            f"{rows.start + 1}–{rows.stop}; its SUBSTRT/SUBSIZE keywords are "
                            "missing or wrong. Give a reference for this subarray."
                        )
                out.append(np.ascontiguousarray(data, dtype=dtype))
            return out
    except (OSError, ValueError, KeyError) as exc:
        raise ExolrsError(
            f"cannot read reference file {path}: {exc}. Re-download it or give another path "
            "under `references:`."
        ) from None


def load_mask(path, header) -> np.ndarray:
    """Static bad-pixel mask: DQ uint32 (y, x)."""
    (dq,) = _read(path, header, ["DQ"], [np.uint32], reftype="mask")
    return dq


def load_saturation(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """Saturation level (raw DN) float32 and its DQ."""
    return tuple(_read(path, header, ["SCI", "DQ"], [np.float32, np.uint32], reftype="saturation"))


def load_linearity(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """Linearity coefficients (ncoeffs, y, x) float32 and DQ."""
    return tuple(
        _read(path, header, ["COEFFS", "DQ"], [np.float32, np.uint32], reftype="linearity")
    )


def load_dark(path, header) -> tuple[np.ndarray, np.ndarray | None]:
    """MIRI dark (nints_ref, ngroups, y, x) float32 — first and later integrations — and DQ.

    A 3-D dark (ngroups, y, x) is promoted to (1, ngroups, y, x)."""
    data, dq = _read(path, header, ["SCI", "DQ"], [np.float32, np.uint32], reftype="dark")
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
    data, dq = _read(path, header, ["SCI", "DQ"], [np.float32, np.uint32], reftype="reset")
    return data[:, : int(header.get("NGROUPS", data.shape[1]))], dq


def load_gain(path, header) -> np.ndarray:
    """Gain (e-/DN) float32 (y, x)."""
    (data,) = _read(path, header, ["SCI"], [np.float32], reftype="gain")
    return data


def load_readnoise(path, header) -> np.ndarray:
    """Read noise (DN per read) float32 (y, x)."""
    (data,) = _read(path, header, ["SCI"], [np.float32], reftype="readnoise")
    return data


def load_flat(path, header) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Flat field: data, DQ and error (y, x)."""
    return tuple(
        _read(
            path, header, ["SCI", "DQ", "ERR"], [np.float32, np.uint32, np.float32], reftype="flat"
        )
    )


def load_specwcs(path, header) -> dict:
    """The LRS wavelength table in the exposure's 0-based subarray pixels, read as jwst's
    `assign_wcs.miri.lrs_xytoabl` reads it.

    The CRDS SPECWCS table holds X_CENTER / Y_CENTER as offsets from the reference position
    in its header (IMXSLTL, IMYSLTL for slitless; IMX, IMY for the slit), in 1-based
    full-frame pixels; the zero point in subarray pixels is ``ref − SUBSTRT`` (both 1-based).

    Returns ``x_center``, ``y_center``, ``wavelength`` (sorted by increasing row),
    ``x_bounds`` and ``y_bounds`` (the (lo, hi) pixel edges inside which jwst's WCS is
    defined: the subarray without its 4 reference columns, and the table's corner rows).
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            ref = hdul[0].header
            check_reftype(ref, "specwcs", path)
            table = hdul["WAVETABLE"].data
            cols = {n.lower(): np.asarray(table[n], float) for n in table.columns.names}
    except (OSError, KeyError) as exc:
        raise ExolrsError(f"cannot read the LRS specwcs table in {path}: {exc}") from None
    slitless = "SLITLESS" in str(header.get("EXP_TYPE", "MIR_LRS-SLITLESS")).upper()
    kx, ky = ("IMXSLTL", "IMYSLTL") if slitless else ("IMX", "IMY")
    if kx not in ref or ky not in ref:
        raise ExolrsError(
            f"{path.name} has no {kx}/{ky} (the reference position its X_CENTER/Y_CENTER are "
            "offsets from): it is not a CRDS MIRI LRS SPECWCS. Use a CRDS file "
            "(e.g. jwst_miri_specwcs_0006.fits), or simulate again with this exolrs version."
        )
    missing = {"x_center", "y_center", "wavelength"} - set(cols)
    if missing:
        raise ExolrsError(f"{path.name}: WAVETABLE lacks column(s) {sorted(missing)}")
    x0 = float(ref[kx]) - int(header.get("SUBSTRT1", 1))
    y0 = float(ref[ky]) - int(header.get("SUBSTRT2", 1))
    x, y, lam = cols["x_center"] + x0, cols["y_center"] + y0, cols["wavelength"]
    if {"y0", "y2"} <= set(cols):
        y_bounds = (np.floor(cols["y2"].min() + y0) - 0.5, np.ceil(cols["y0"].max() + y0) + 0.5)
    else:
        y_bounds = (y.min() - 0.5, y.max() + 0.5)
    if slitless:  # jwst leaves out the 4 reference columns at the subarray's left edge
        xstart = int(header.get("SUBSTRT1", 1))
        x_bounds = (xstart - 1 + 4 - 0.5, int(header.get("SUBSIZE1", 72)) - 1 + 0.5)
    else:
        x_bounds = (np.floor(cols["x0"].min() + x0) - 0.5, np.ceil(cols["x1"].max() + x0) + 0.5)
    order = np.argsort(y)
    return {
        "x_center": x[order],
        "y_center": y[order],
        "wavelength": lam[order],
        "x_bounds": x_bounds,
        "y_bounds": y_bounds,
    }


def load_emicorr(path, header=None) -> dict[str, tuple[float, np.ndarray]]:
    """EMI reference waveforms ``{name: (frequency_hz, phase_amplitudes)}``.

    With a header, only the frequencies listed for its subarray and readout speed."""
    path = Path(path)
    try:
        tree = read_tree(path)
        freqs = tree["frequencies"]
        out = {
            name: (float(v["frequency"]), np.asarray(v["phase_amplitudes"], np.float32))
            for name, v in freqs.items()
        }
        if header is not None:  # as jwst's emicorr.get_subarcase
            speed = "SLOW" if "SLOW" in str(header.get("READPATT", "")).upper() else "FAST"
            subarray = str(header.get("SUBARRAY", ""))
            if "FULL" in subarray:
                subarray = f"{subarray}_{speed}"
            case = tree.get("subarray_cases", {}).get(subarray, {})
            wanted = case.get("freqs", {}).get(speed, [])
            if isinstance(wanted, dict):
                wanted = wanted.get(header.get("DETECTOR", ""), [])
            # in the case's order (jwst corrects them in turn); no entry for this
            # subarray/readout: nothing to correct (as in jwst)
            out = {k: out[k] for k in wanted if k in out}
        return out
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExolrsError(f"cannot read the EMICORR reference {path}: {exc}") from None
