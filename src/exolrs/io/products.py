"""Per-integration products in the JWST layout: rateints and calints, and the hot-pixel map.

A `<root>_rateints.fits` / `<root>_calints.fits` holds the primary header of its uncal segment
(DATAMODL = CubeModel), `SCI`, `ERR` float32 (nints, ny, nx), `DQ` uint32, `VAR_POISSON`,
`VAR_RNOISE`, and `INT_TIMES`, so `stdatamodels.jwst.datamodels.open` reads it as a CubeModel.
Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError

ARRAYS = ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE")
CALIBRATED_ARRAYS = (*ARRAYS, "VAR_FLAT")  # calints also carry the flat's variance
# World-coordinate keywords that JWST products keep in the SCI header (stdatamodels' wcsinfo):
# read from there into the exposure's header, written back there.
WCSINFO_KEYWORDS = (
    "V2_REF",
    "V3_REF",
    "VPARITY",
    "V3I_YANG",
    "RA_REF",
    "DEC_REF",
    "ROLL_REF",
    "RA_V1",
    "DEC_V1",
    "PA_V3",
    "VELOSYS",
)


def with_wcsinfo(primary: fits.Header, sci: fits.Header) -> fits.Header:
    """`primary` with the SCI header's world-coordinate keywords added."""
    out = primary.copy()
    for key in WCSINFO_KEYWORDS:
        if key in sci:
            out[key] = (sci[key], sci.comments[key])
    return out


_SUFFIX = re.compile(r"_(uncal|rateints|calints|rate|ramp|cal)\.fits$")


def product_name(path: str | os.PathLike, suffix: str, outdir: str | os.PathLike) -> Path:
    """``<outdir>/<root>_<suffix>.fits`` for an input named ``<root>_<anything>.fits``."""
    name = Path(path).name
    root = _SUFFIX.sub("", name) if _SUFFIX.search(name) else Path(name).stem
    return Path(outdir) / f"{root}_{suffix}.fits"


def root_name(path: str | os.PathLike) -> str:
    """``<root>`` of a step product named ``<root>_<suffix>.fits``."""
    return Path(path).name.rsplit("_", 1)[0]


def ensure_writable_dir(path: str | os.PathLike, hint: str = "") -> Path:
    """Create `path` if needed and check a file can be written in it, or raise a clear error."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".exolrs-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ExolrsError(
            f"cannot write to output directory {path} ({exc.strerror}); choose a directory "
            f"you can write to{hint}"
        ) from None
    return path


def atomic_write(hdul: fits.HDUList, path: str | os.PathLike) -> Path:
    """Write `hdul` to ``path`` via a temporary name; never leaves a half-written file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        hdul.writeto(tmp, overwrite=True)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExolrsError(
            f"could not write {path}: {exc.strerror or exc}. Check the output folder is "
            "writable and the disk has space."
        ) from None
    return path


def _int_times_hdu(int_times) -> fits.BinTableHDU | None:
    if int_times is None:
        return None
    hdu = fits.BinTableHDU(np.asarray(int_times), name="INT_TIMES")
    return hdu


class IntegrationsWriter:
    """Collect per-integration arrays of one segment, then write one product file.

    Memory is one segment's worth of float32 planes (≈ 120 MB for 200 integrations), not the
    exposure's.  ``write(offset, sci, err, dq, var_poisson=, var_rnoise=)`` fills integrations
    [offset, offset + n); ``close()`` writes the file (only when every integration is filled).
    """

    def __init__(
        self,
        path,
        nints: int,
        shape: tuple[int, int],
        header=None,
        int_times=None,
        extra_keywords: dict | None = None,
        datamodel: str = "CubeModel",
        images: dict[str, np.ndarray] | None = None,
        arrays: tuple[str, ...] = ARRAYS,
    ) -> None:
        self.path = Path(path)
        self.images = images or {}  # extra whole-exposure images, e.g. WAVELENGTH
        self.header = fits.Header(header) if header is not None else fits.Header()
        self.int_times = int_times
        self.extra = extra_keywords or {}
        self.datamodel = datamodel
        # stored big-endian, as FITS keeps them: the copy in `write` swaps the bytes, and
        # astropy then writes the planes as they are instead of swapping them in place and
        # back (a 120 MB segment file: 0.25 → 0.06 s)
        self.arrays = {
            name: np.zeros((nints, *shape), ">u4" if name == "DQ" else ">f4") for name in arrays
        }
        self.filled = np.zeros(nints, bool)

    def write(
        self, offset, sci, err, dq, *, var_poisson=None, var_rnoise=None, var_flat=None
    ) -> None:
        n = sci.shape[0]
        sl = slice(offset, offset + n)
        self.arrays["SCI"][sl] = sci
        self.arrays["ERR"][sl] = err
        self.arrays["DQ"][sl] = dq
        if var_poisson is not None:
            self.arrays["VAR_POISSON"][sl] = var_poisson
        if var_rnoise is not None:
            self.arrays["VAR_RNOISE"][sl] = var_rnoise
        if var_flat is not None:
            self.arrays["VAR_FLAT"][sl] = var_flat
        self.filled[sl] = True

    def close(self) -> Path:
        self.check_filled()
        return atomic_write(self.hdus(self.arrays), self.path)

    def check_filled(self) -> None:
        """Raise if an integration was never written (the product must not be)."""
        if not self.filled.all():
            missing = np.flatnonzero(~self.filled)
            raise ExolrsError(
                f"{self.path.name}: integrations {missing[:5].tolist()}… were never computed; "
                "the product was not written."
            )

    def hdus(self, arrays: dict[str, np.ndarray]) -> fits.HDUList:
        """The product's HDUs with these per-integration arrays (name → (nints, ny, nx))."""
        primary = fits.PrimaryHDU(header=self.header)
        h = primary.header
        for key in ("NAXIS1", "NAXIS2", "NAXIS3", "NAXIS4"):
            h.remove(key, ignore_missing=True)
        h["DATAMODL"] = self.datamodel
        h["FILENAME"] = self.path.name
        h["FILETYPE"] = "calibrated"
        for k, v in self.extra.items():
            h[k] = v
        wcsinfo = {k: (h[k], h.comments[k]) for k in WCSINFO_KEYWORDS if k in h}
        for k in wcsinfo:
            h.remove(k)
        hdus = [primary]
        for name, arr in arrays.items():
            hdu = fits.ImageHDU(arr, name=name)
            if name == "SCI":
                hdu.header["BUNIT"] = h.get("S_BUNIT", "DN/s")
                hdu.header.update(wcsinfo)
            hdus.append(hdu)
        for name, arr in self.images.items():
            hdus.append(fits.ImageHDU(arr, name=name))
        times = _int_times_hdu(self.int_times)
        if times is not None:
            hdus.append(times)
        return fits.HDUList(hdus)


def read_wavelength_image(path) -> np.ndarray | None:
    """The (ny, nx) WAVELENGTH image of a calints (jwst's or exolrs'), or None."""
    with fits.open(path) as hdul:
        return np.asarray(hdul["WAVELENGTH"].data) if "WAVELENGTH" in hdul else None


def row_wavelengths_of(wave_map: np.ndarray) -> np.ndarray:
    """Each row's wavelength from a WAVELENGTH image (one value across the slitless trace;
    NaN where the whole row is)."""
    return np.fmax.reduce(wave_map, axis=1).astype(float)


def calibrated_errors(err, var_poisson, var_rnoise, var_flat):
    """(ERR, VAR_POISSON, VAR_RNOISE) as a calints holds them, from the per-integration
    error `err` (after Stage 2's corrections) and the flat's static variance:
    ERR² = VAR_POISSON + VAR_RNOISE + VAR_FLAT, with err² shared between VAR_POISSON and
    VAR_RNOISE in their own ratio (float32)."""
    total = var_poisson + var_rnoise
    ratio = np.divide(err * err, total, out=np.ones_like(total), where=total > 0)
    return (
        np.sqrt(err * err + var_flat).astype(np.float32),
        (var_poisson * ratio).astype(np.float32),
        (var_rnoise * ratio).astype(np.float32),
    )


def per_integration_error(err, var_flat):
    """The error that changes from integration to integration: √(ERR² − VAR_FLAT) (the
    flat's error is common to every integration and cancels in relative photometry)."""
    if var_flat is None:
        return err
    return np.sqrt(np.maximum(err * err - var_flat, 0.0)).astype(np.float32)


@dataclass
class Integrations:
    """Per-integration products of a whole exposure, concatenated over segments."""

    sci: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    int_times: np.ndarray | None
    header: fits.Header
    paths: list[Path]
    var_flat: np.ndarray | None = None  # calints: the flat's (static) variance


def read_integrations_product(paths, arrays=ARRAYS) -> Integrations:
    """Read rateints or calints files (in the given order) into one set of cubes.

    Each array is allocated once for the whole exposure and filled file by file (no
    concatenation copies); arrays not named in `arrays` are left as None.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.is_file():
            raise ExolrsError(f"product not found: {p}; run the previous stage first")
    try:
        shapes = [fits.getheader(p, "SCI") for p in paths]
        lengths = [h["NAXIS3"] for h in shapes]
        ny, nx = shapes[0]["NAXIS2"], shapes[0]["NAXIS1"]
    except (OSError, KeyError) as exc:
        raise ExolrsError(
            f"cannot read {paths[0]}: {exc}; re-run the stage that wrote it"
        ) from None
    total = sum(lengths)
    out = {
        name: np.zeros((total, ny, nx), np.uint32 if name == "DQ" else np.float32)
        for name in arrays
    }
    times = []
    header = None
    start = 0
    for p, n in zip(paths, lengths, strict=True):
        try:
            with fits.open(p, memmap=False) as hdul:
                header = header or with_wcsinfo(hdul[0].header, hdul["SCI"].header)
                for name in arrays:
                    if name in hdul:
                        out[name][start : start + n] = hdul[name].data
                if "INT_TIMES" in hdul:
                    times.append(np.asarray(hdul["INT_TIMES"].data).copy())
        except (OSError, KeyError, ValueError) as exc:
            raise ExolrsError(f"cannot read {p}: {exc}; re-run the stage that wrote it") from None
        start += n
    return Integrations(
        sci=out.get("SCI"),
        err=out.get("ERR"),
        dq=out.get("DQ"),
        var_poisson=out.get("VAR_POISSON"),
        var_rnoise=out.get("VAR_RNOISE"),
        int_times=np.concatenate(times) if len(times) == len(paths) else None,
        header=header,
        paths=paths,
        var_flat=out.get("VAR_FLAT"),
    )


def write_hot_pixel_map(mask: np.ndarray, path) -> Path:
    """Save a boolean hot-pixel map (ny, nx) as a FITS image (1 = hot)."""
    hdu = fits.PrimaryHDU(np.asarray(mask, bool).astype(np.uint8))
    hdu.header["EXTNAME"] = "HOTPIX"
    hdu.header["COMMENT"] = "exolrs hot-pixel map: 1 = flag as DO_NOT_USE in DQInit"
    return atomic_write(fits.HDUList([hdu]), path)


def read_hot_pixel_map(path) -> np.ndarray:
    """A hot-pixel map as bool (ny, nx), from FITS (first image) or .npy."""
    path = Path(path)
    if not path.is_file():
        raise ExolrsError(f"hot-pixel map not found: {path}")
    try:
        if path.suffix == ".npy":
            return np.load(path).astype(bool)
        return np.asarray(fits.getdata(path)).astype(bool)
    except (OSError, ValueError) as exc:
        raise ExolrsError(f"cannot read the hot-pixel map {path}: {exc}") from None
