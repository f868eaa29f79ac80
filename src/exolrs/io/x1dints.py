"""jwst `*_x1dints.fits` products: read MAST's (either layout) into `Spectra`, and write
exolrs spectra in the layout jwst writes today, so they go into tools that read MAST
products.

Two layouts exist.  jwst < 1.17 (e.g. the MAST products of program 2783, jwst 1.10.1) wrote
a `MultiSpecModel`: one EXTRACT1D table per integration (header INT_NUM, rows along the
dispersion).  jwst ≥ 1.17 writes a `TSOMultiSpecModel`: one EXTRACT1D table whose rows are
the integrations and whose columns are arrays along the dispersion.  Both carry INT_TIMES
(MJD UTC and BJD TDB of every integration).  For LRS the wavelength decreases with row and
the ends of the table may be NaN.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io.spectra import Spectra, read_spectra

log = logging.getLogger(__name__)

# the array columns of jwst's tso_spectable schema, in its order
ARRAY_COLUMNS = (
    "WAVELENGTH",
    "FLUX",
    "FLUX_ERROR",
    "FLUX_VAR_POISSON",
    "FLUX_VAR_RNOISE",
    "FLUX_VAR_FLAT",
    "SURF_BRIGHT",
    "SB_ERROR",
    "SB_VAR_POISSON",
    "SB_VAR_RNOISE",
    "SB_VAR_FLAT",
    "DQ",
    "BACKGROUND",
    "BKGD_ERROR",
    "BKGD_VAR_POISSON",
    "BKGD_VAR_RNOISE",
    "BKGD_VAR_FLAT",
    "NPIXELS",
)
TIME_COLUMNS = ("MJD-BEG", "MJD-AVG", "MJD-END", "TDB-BEG", "TDB-MID", "TDB-END")


def is_x1dints(path) -> bool:
    """Whether `path` is a jwst extracted-spectra product (it has EXTRACT1D tables)."""
    try:
        with fits.open(path) as hdul:
            return any(h.name == "EXTRACT1D" for h in hdul)
    except OSError:
        return False


def read_x1dints(path) -> Spectra:
    """Spectra of a jwst x1dints product, on increasing wavelength.

    Times are the INT_TIMES mid-integration BJD_TDB of each spectrum's integration (else the
    table's TDB-MID).  Wavelengths where the flux is not finite in every integration (the
    table's NaN ends) are left out; the count is in ``meta["NDROPPED"]``."""
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            header = hdul[0].header.copy()
            tables = [h for h in hdul if h.name == "EXTRACT1D"]
            if not tables:
                raise ExolrsError(f"{path.name} has no EXTRACT1D table: not an x1dints product")
            int_times = np.asarray(hdul["INT_TIMES"].data) if "INT_TIMES" in hdul else None
            if len(tables) == 1 and np.ndim(tables[0].data["WAVELENGTH"]) == 2:
                d = tables[0].data  # TSOMultiSpecModel: a row per integration
                wave = np.asarray(d["WAVELENGTH"], float)
                flux = np.asarray(d["FLUX"], float)
                err = np.asarray(d["FLUX_ERROR"], float)
                int_num = np.asarray(d["INT_NUM"], int)
                tdb = np.asarray(d["TDB-MID"], float) if "TDB-MID" in d.names else None
                unit = tables[0].columns["FLUX"].unit
            else:  # MultiSpecModel: a table per integration
                wave = np.stack([np.asarray(t.data["WAVELENGTH"], float) for t in tables])
                flux = np.stack([np.asarray(t.data["FLUX"], float) for t in tables])
                err = np.stack([np.asarray(t.data["FLUX_ERROR"], float) for t in tables])
                int_num = np.array(
                    [int(t.header.get("INT_NUM", k + 1)) for k, t in enumerate(tables)]
                )
                tdb = np.array([float(t.header.get("TDB-MID", np.nan)) for t in tables])
                unit = tables[0].columns["FLUX"].unit
    except ExolrsError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise ExolrsError(f"cannot read the x1dints product {path}: {exc}") from None
    exp_type = str(header.get("EXP_TYPE", "")).strip()
    if exp_type != "MIR_LRS-SLITLESS":
        raise ExolrsError(
            f"{path.name}: EXP_TYPE = {exp_type or '(missing)'!r}; exolrs reads MIRI LRS "
            "slitless x1dints (EXP_TYPE = 'MIR_LRS-SLITLESS')."
        )
    if not np.allclose(wave, wave[0], equal_nan=True, atol=1e-6):
        raise ExolrsError(
            f"{path.name}: the integrations' wavelength grids differ; exolrs needs one grid "
            "(re-extract them with one wavelength solution)."
        )
    time = _times(path, int_num, int_times, tdb)
    w = wave[0]
    good = np.isfinite(w) & np.all(np.isfinite(flux), axis=0) & np.all(np.isfinite(err), axis=0)
    if good.sum() < 2:
        raise ExolrsError(f"{path.name}: no wavelength has a finite flux in every integration")
    order = np.flatnonzero(good)[np.argsort(w[good])]
    wv = w[order]
    meta = {
        "TARGET": str(header.get("TARGNAME", header.get("TARGPROP", "target"))),
        "CONTENTS": "Spectra read from a jwst x1dints product",
        "METHOD": "x1dints",
        "SOURCE": path.name[:60],
        "FLUXUNIT": str(unit or ""),
        "NDROPPED": int((~good).sum()),
    }
    if (~good).any():
        log.info(
            "%s: %d wavelength(s) without a finite flux in every integration left out",
            path.name,
            int((~good).sum()),
        )
    return Spectra(
        wv, 0.5 * np.abs(np.gradient(wv)), flux[:, order], err[:, order], time, meta=meta
    )


def _times(path, int_num, int_times, tdb) -> np.ndarray:
    if int_times is not None and "int_mid_BJD_TDB" in int_times.dtype.names:
        lookup = dict(
            zip(
                np.asarray(int_times["integration_number"], int),
                np.asarray(int_times["int_mid_BJD_TDB"], float),
                strict=True,
            )
        )
        if all(int(k) in lookup for k in int_num):
            return np.array([lookup[int(k)] for k in int_num])
    if tdb is not None and np.all(np.isfinite(tdb)):
        return tdb
    raise ExolrsError(
        f"{path.name}: no integration times (neither INT_TIMES for every integration nor "
        "TDB-MID); a light curve needs them."
    )


def write_x1dints(spec: Spectra, path, header=None, int_times=None) -> Path:
    """Write `spec` as a jwst `TSOMultiSpecModel` x1dints (one EXTRACT1D row per
    integration, the wavelength axis in detector-row order as jwst writes LRS, INT_TIMES).
    FLUX is in the spectra's own unit (DN/s for exolrs: no photometric calibration);
    FLUX_VAR_POISSON holds the whole per-integration variance."""
    from stdatamodels.jwst import datamodels as dm

    path = Path(path)
    nints, nwave = spec.flux.shape
    rev = slice(None, None, -1)  # increasing wavelength → detector-row order
    dtype = [("INT_NUM", "i4")]
    dtype += [(c, "u4" if c == "DQ" else "f8", (nwave,)) for c in ARRAY_COLUMNS]
    dtype += [("N_ALONGDISP", "u4"), ("SEGMENT", "i4")] + [(c, "f8") for c in TIME_COLUMNS]
    rows = np.zeros(nints, dtype=dtype)
    for name in rows.dtype.names:
        if rows[name].dtype.kind == "f":
            rows[name] = np.nan
    rows["INT_NUM"] = np.arange(1, nints + 1)
    rows["WAVELENGTH"] = np.asarray(spec.wave, float)[rev]
    rows["FLUX"] = np.asarray(spec.flux, float)[:, rev]
    rows["FLUX_ERROR"] = np.asarray(spec.flux_err, float)[:, rev]
    rows["FLUX_VAR_POISSON"] = rows["FLUX_ERROR"] ** 2
    rows["FLUX_VAR_RNOISE"] = rows["FLUX_VAR_FLAT"] = 0.0
    rows["DQ"] = np.where(np.isfinite(rows["FLUX"]), 0, 1).astype(np.uint32)
    rows["N_ALONGDISP"] = nwave
    rows["SEGMENT"] = 1
    rows["TDB-MID"] = np.asarray(spec.time, float)
    if int_times is not None:
        it = np.asarray(int_times)
        for col, name in (
            ("MJD-BEG", "int_start_MJD_UTC"),
            ("MJD-AVG", "int_mid_MJD_UTC"),
            ("MJD-END", "int_end_MJD_UTC"),
            ("TDB-BEG", "int_start_BJD_TDB"),
            ("TDB-END", "int_end_BJD_TDB"),
        ):
            if name in it.dtype.names:
                rows[col] = it[name]
    model = dm.TSOMultiSpecModel()
    if header is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stand_in = fits.HDUList(
                [
                    fits.PrimaryHDU(
                        header=fits.Header(
                            {
                                k: v
                                for k, v in dict(header).items()
                                if k not in ("", "COMMENT", "HISTORY")
                            }
                        )
                    ),
                    fits.ImageHDU(np.zeros((1, 1, 1), np.float32), name="SCI"),
                ]
            )
            with dm.CubeModel(stand_in) as src:
                model.update(src)
    model.meta.filetype = "extracted spectra"
    model.spec.append(dm.TSOSpecModel(spec_table=rows))
    if int_times is not None:
        model.int_times = _int_times_table(np.asarray(int_times))
    # written under its final name in a scratch folder (the model records its file name),
    # then moved into place: an interrupted write never leaves a complete-looking file
    scratch = path.parent / f".{path.name}.partial"
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(scratch / path.name)
        (scratch / path.name).replace(path)
    except OSError as exc:
        raise ExolrsError(f"could not write {path}: {exc.strerror or exc}") from None
    finally:
        model.close()
        (scratch / path.name).unlink(missing_ok=True)
        if scratch.exists():
            scratch.rmdir()
    return path


INT_TIMES_COLUMNS = (
    "int_start_MJD_UTC",
    "int_mid_MJD_UTC",
    "int_end_MJD_UTC",
    "int_start_BJD_TDB",
    "int_mid_BJD_TDB",
    "int_end_BJD_TDB",
)


def _int_times_table(times: np.ndarray) -> np.ndarray:
    """INT_TIMES with every column jwst's schema asks for (NaN where `times` lacks one)."""
    out = np.zeros(
        len(times), dtype=[("integration_number", "i4")] + [(c, "f8") for c in INT_TIMES_COLUMNS]
    )
    out["integration_number"] = times["integration_number"]
    for c in INT_TIMES_COLUMNS:
        out[c] = times[c] if c in times.dtype.names else np.nan
    return out


def load_spectra(path) -> Spectra:
    """A Stage 3 spectra file, or a jwst x1dints product (detected from the file)."""
    return read_x1dints(path) if is_x1dints(path) else read_spectra(path)
