"""Writing simulated exposures in the MAST level-1b `*_uncal.fits` layout, streamed to disk.

A segment file holds: a primary header with the exposure keywords, `SCI` uint16
(nints, ngroups, 416, 72), `GROUPDQ` uint8 (same shape, zero as delivered), `PIXELDQ` uint32
(416, 72) and the `INT_TIMES` table.  Data are streamed in chunks of integrations, so a
10 GB observation never sits in memory; the file is written under a temporary name and
renamed when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.io import fits
from astropy.time import Time

from exolrs.simulate.config import (
    NCOLS,
    NROWS,
    SUBSTRT1,
    SUBSTRT2,
    TFRAME,
    SimConfig,
)

# WASP-39 (Gaia DR3); the barycentric correction needs a sky position.
TARGET_RA_DEG = 217.3266477
TARGET_DEC_DEG = -3.4444994

# World-coordinate keywords MAST puts in the SCI header (jwst's wcsinfo), so that jwst's
# spectroscopic steps (assign_wcs) run on simulated files: the MIRIM_SLITLESSPRISM
# aperture's reference point in the telescope frame (V2/V3, SIAF, approximate), the MIRI
# imager's V3 angle and parity, and a pointing at the target (position angle arbitrary).
PA_V3_DEG = 250.0
SCI_WCSINFO = {
    "V2_REF": (-378.630, "[arcsec] V2 of the reference point"),
    "V3_REF": (-344.895, "[arcsec] V3 of the reference point"),
    "V3I_YANG": (4.83, "[deg] V3 axis to Ideal y axis"),
    "VPARITY": (-1, "Ideal xy vs V2V3 rotation sense"),
    "RA_REF": (TARGET_RA_DEG, "[deg] RA of the reference point"),
    "DEC_REF": (TARGET_DEC_DEG, "[deg] Dec of the reference point"),
    "ROLL_REF": (PA_V3_DEG + 4.83, "[deg] V3 roll at the reference point"),
    "RA_V1": (TARGET_RA_DEG, "[deg] RA of telescope V1 axis"),
    "DEC_V1": (TARGET_DEC_DEG, "[deg] Dec of telescope V1 axis"),
    "PA_V3": (PA_V3_DEG, "[deg] position angle of V3"),
}


def segment_bounds(nints: int, per_segment: int) -> list[tuple[int, int]]:
    """0-based [start, stop) integration ranges of each segment."""
    return [(s, min(s + per_segment, nints)) for s in range(0, nints, per_segment)]


def integration_times(cfg: SimConfig) -> dict[str, np.ndarray]:
    """Start, mid and end of every integration in MJD UTC and BJD TDB."""
    start0 = Time(cfg.date_obs, format="isot", scale="utc")
    i = np.arange(cfg.nints)
    start = start0.mjd + i * cfg.int_time_s / 86400.0
    end = start + cfg.ngroups * TFRAME / 86400.0
    mid = 0.5 * (start + end)
    coord = SkyCoord(TARGET_RA_DEG * u.deg, TARGET_DEC_DEG * u.deg)
    geocentre = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
    out = {}
    for name, mjd in (("start", start), ("mid", mid), ("end", end)):
        t = Time(mjd, format="mjd", scale="utc", location=geocentre)
        bjd = (t.tdb + t.light_travel_time(coord, kind="barycentric")).mjd
        out[f"int_{name}_MJD_UTC"] = mjd
        out[f"int_{name}_BJD_TDB"] = bjd
    return out


def primary_header(
    cfg: SimConfig, seg: int, nseg: int, start: int, stop: int, times: dict
) -> fits.Header:
    """Level-1b primary header of segment `seg` (1-based) holding integrations [start, stop)."""
    t0 = Time(cfg.date_obs, format="isot", scale="utc")
    h = fits.Header()
    root = f"{cfg.obs_root}-seg{seg:03d}_mirimage"
    cards = {
        "DATE": (Time.now().isot, "UTC date file created"),
        "ORIGIN": ("exolrs", "simulated by exolrs.simulate"),
        "FILENAME": (f"{root}_uncal.fits", ""),
        "FILETYPE": ("uncalibrated", "type of data in the file"),
        "DATAMODL": ("Level1bModel", "type of data model (as MAST uncal products)"),
        "TELESCOP": ("JWST", "telescope used to acquire the data"),
        "CAL_VER": ("exolrs-sim", "calibration software version"),
        "PROGRAM": (cfg.program, "program number"),
        "OBSERVTN": ("001", "observation number"),
        "VISIT": ("001", "visit number"),
        "VISITGRP": ("04", "visit group identifier"),
        "SEQ_ID": ("1", "parallel sequence identifier"),
        "ACT_ID": ("03", "activity identifier"),
        "EXPOSURE": ("00001", "exposure request number"),
        "TARGPROP": (cfg.scene.target, "proposer's name for the target"),
        "TARGNAME": (cfg.scene.target, "standard astronomical catalog name for target"),
        "TARG_RA": (TARGET_RA_DEG, "[deg] target RA"),
        "TARG_DEC": (TARGET_DEC_DEG, "[deg] target Dec"),
        "INSTRUME": ("MIRI", "instrument used to acquire the data"),
        "DETECTOR": ("MIRIMAGE", "name of detector used to acquire the data"),
        "FILTER": ("P750L", "name of the filter element used"),
        "EXP_TYPE": ("MIR_LRS-SLITLESS", "type of data in the exposure"),
        "TSOVISIT": (True, "time series observation visit indicator"),
        "READPATT": ("FASTR1", "readout pattern"),
        "NINTS": (cfg.nints, "number of integrations in exposure"),
        "NGROUPS": (cfg.ngroups, "number of groups in integration"),
        "NFRAMES": (1, "number of frames per group"),
        "GROUPGAP": (0, "number of frames dropped between groups"),
        "NSAMPLES": (1, "number of A/D samples per pixel"),
        "TSAMPLE": (10.0, "[us] time between samples"),
        "TFRAME": (TFRAME, "[s] time between frames"),
        "TGROUP": (TFRAME, "[s] time between groups"),
        "EFFINTTM": ((cfg.ngroups - 1) * TFRAME, "[s] effective integration time"),
        "EFFEXPTM": ((cfg.ngroups - 1) * TFRAME * cfg.nints, "[s] effective exposure time"),
        "DURATION": (cfg.nints * cfg.int_time_s, "[s] total duration of exposure"),
        "NRSTSTRT": (1, "number of resets at start of exposure"),
        "NRESETS": (1, "number of resets between integrations"),
        "ZEROFRAM": (False, "zero frame was downlinked separately"),
        "DATE-OBS": (cfg.date_obs.split("T")[0], "[yyyy-mm-dd] UTC date at start of exposure"),
        "TIME-OBS": (cfg.date_obs.split("T")[1], "[hh:mm:ss.sss] UTC time at start of exposure"),
        "EXPSTART": (t0.mjd, "[d] exposure start time in MJD"),
        "EXPMID": (t0.mjd + cfg.nints * cfg.int_time_s / 172800.0, "[d] exposure mid time"),
        "EXPEND": (t0.mjd + cfg.nints * cfg.int_time_s / 86400.0, "[d] exposure end time"),
        "INTSTART": (start + 1, "first integration in this segment (1-based)"),
        "INTEND": (stop, "last integration in this segment (1-based)"),
        "EXSEGNUM": (seg, "segment number"),
        "EXSEGTOT": (nseg, "total number of segments"),
        "SUBARRAY": ("SLITLESSPRISM", "subarray used"),
        "SUBSTRT1": (SUBSTRT1, "starting pixel in axis 1 direction"),
        "SUBSTRT2": (SUBSTRT2, "starting pixel in axis 2 direction"),
        "SUBSIZE1": (NCOLS, "number of pixels in axis 1 direction"),
        "SUBSIZE2": (NROWS, "number of pixels in axis 2 direction"),
        "FASTAXIS": (1, "fast readout axis direction"),
        "SLOWAXIS": (2, "slow readout axis direction"),
        "BKGDTARG": (False, "background target"),
    }
    for key, (value, comment) in cards.items():
        h[key] = (value, comment)
    return h


def _image_header(name: str, shape: tuple[int, ...], bitpix: int, unsigned: bool) -> fits.Header:
    h = fits.Header()
    h["XTENSION"] = "IMAGE"
    h["BITPIX"] = bitpix
    h["NAXIS"] = len(shape)
    for k, n in enumerate(reversed(shape), start=1):
        h[f"NAXIS{k}"] = n
    h["PCOUNT"] = 0
    h["GCOUNT"] = 1
    if unsigned and bitpix == 16:
        h["BSCALE"] = 1
        h["BZERO"] = 32768
    if unsigned and bitpix == 32:
        h["BSCALE"] = 1
        h["BZERO"] = 2147483648
    h["EXTNAME"] = name
    if name == "SCI":
        h["BUNIT"] = "DN"
        for key, card in SCI_WCSINFO.items():
            h[key] = card
    return h


class UncalSegmentWriter:
    """Stream one uncal segment to disk; use as a context manager.

    >>> with UncalSegmentWriter(path, header, nints, ngroups, times) as w:  # doctest: +SKIP
    ...     w.write(chunk_uint16)
    """

    def __init__(
        self, path: Path, header: fits.Header, nints: int, ngroups: int, times: dict
    ) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.header = header
        self.shape = (nints, ngroups, NROWS, NCOLS)
        self.times = times
        self.written = 0
        self._sci = None

    def __enter__(self) -> UncalSegmentWriter:
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        fits.PrimaryHDU(header=self.header).writeto(self.tmp, overwrite=True)
        self._sci = fits.StreamingHDU(str(self.tmp), _image_header("SCI", self.shape, 16, True))
        return self

    def write(self, chunk: np.ndarray) -> None:
        """Append integrations (n, ngroups, 416, 72) uint16 to SCI."""
        if chunk.dtype != np.uint16 or chunk.shape[1:] != self.shape[1:]:
            raise ValueError(
                f"expected uint16 (n, {self.shape[1:]}), got {chunk.dtype} {chunk.shape}"
            )
        # FITS stores unsigned 16-bit as signed with BZERO = 32768: flip the top bit.
        stored = (chunk.astype(">u2") ^ np.uint16(0x8000)).view(">i2")
        self._sci.write(stored)
        self.written += chunk.shape[0]

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._sci is not None:
            self._sci.close()
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
            return
        if self.written != self.shape[0]:
            self.tmp.unlink(missing_ok=True)
            raise RuntimeError(f"{self.path.name}: wrote {self.written} of {self.shape[0]} ints")
        gdq = fits.StreamingHDU(str(self.tmp), _image_header("GROUPDQ", self.shape, 8, False))
        zeros = np.zeros(self.shape[1:], dtype=np.uint8)
        for _ in range(self.shape[0]):
            gdq.write(zeros)
        gdq.close()
        fits.append(self.tmp, np.zeros((NROWS, NCOLS), np.uint32), _pixeldq_header())
        table = _int_times_table(self.times)
        fits.append(self.tmp, table.data, table.header)
        asdf = _asdf_extension(self.header, table)
        fits.append(self.tmp, asdf.data, asdf.header)
        os.replace(self.tmp, self.path)


def _asdf_extension(header: fits.Header, int_times: fits.BinTableHDU) -> fits.BinTableHDU:
    """The ASDF extension MAST files carry (the datamodel's tree, arrays by HDU name):
    jwst ≥ 3.0 reads a file's model type from it.  Built from a stand-in with the segment's
    header and a one-element SCI, so the multi-GB arrays are never loaded."""
    import warnings

    from stdatamodels import fits_support
    from stdatamodels.jwst.datamodels import Level1bModel

    stand_in = fits.HDUList(
        [
            fits.PrimaryHDU(header=header),
            fits.ImageHDU(
                np.zeros((1, 1, 1, 1), np.uint16),
                header=fits.Header([(k, v, c) for k, (v, c) in SCI_WCSINFO.items()]),
                name="SCI",
            ),
            int_times,
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Level1bModel(stand_in) as model:
            return fits_support.to_fits(model._instance, model._schema)["ASDF"]


def _pixeldq_header() -> fits.Header:
    h = fits.Header()
    h["EXTNAME"] = "PIXELDQ"
    return h


def _int_times_table(times: dict) -> fits.BinTableHDU:
    cols = [fits.Column("integration_number", "J", array=times["integration_number"])]
    for key in (
        "int_start_MJD_UTC",
        "int_mid_MJD_UTC",
        "int_end_MJD_UTC",
        "int_start_BJD_TDB",
        "int_mid_BJD_TDB",
        "int_end_BJD_TDB",
    ):
        cols.append(fits.Column(key, "D", array=times[key]))
    hdu = fits.BinTableHDU.from_columns(cols)
    hdu.header["EXTNAME"] = "INT_TIMES"
    return hdu


def segment_times(times: dict, start: int, stop: int) -> dict:
    """Rows [start, stop) of the exposure's INT_TIMES, numbered 1-based."""
    out = {k: v[start:stop] for k, v in times.items()}
    out["integration_number"] = np.arange(start + 1, stop + 1, dtype=np.int32)
    return out
