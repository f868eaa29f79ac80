"""Write the simulated detector's truth as a CRDS-format MIRI reference-file set.

Each file is built with the `stdatamodels` reference model the JWST pipeline itself reads
(MaskModel, SaturationModel, LinearityModel, DarkMIRIModel, GainModel, ReadnoiseModel,
ResetModel, FlatModel, MiriLRSSpecwcsModel, EmiModel), carries the CRDS selection keywords
(TELESCOP, INSTRUME, DETECTOR, REFTYPE, SUBARRAY and its corners, USEAFTER, PEDIGREE) and is
cut to the SLITLESSPRISM subarray.  Names follow CRDS (`jwst_miri_<reftype>_<tag>.fits`),
so the directory can be dropped into a CRDS cache (`$CRDS_PATH/references/jwst/miri/`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from exolrs.simulate.config import NCOLS, NROWS, SUBSTRT1, SUBSTRT2

TAG = "exolrssim"
USEAFTER = "2022-01-01T00:00:00"


def _common_meta(model, reftype: str, description: str) -> None:
    m = model.meta
    m.telescope = "JWST"
    m.instrument.name = "MIRI"
    m.instrument.detector = "MIRIMAGE"
    m.reftype = reftype.upper()
    m.author = "exolrs.simulate"
    m.pedigree = "DUMMY"
    m.description = description
    m.useafter = USEAFTER
    m.origin = "exolrs"
    if hasattr(m, "subarray"):
        m.subarray.name = "SLITLESSPRISM"
        m.subarray.xstart = SUBSTRT1
        m.subarray.ystart = SUBSTRT2
        m.subarray.xsize = NCOLS
        m.subarray.ysize = NROWS


def _save(model, refdir: Path, reftype: str, ext: str = "fits") -> Path:
    path = refdir / f"jwst_miri_{reftype}_{TAG}.{ext}"
    # Written under the final name in a scratch folder (the model records its file name),
    # then moved into place, so an interrupted run never leaves a complete-looking file.
    scratch = refdir / ".partial"
    scratch.mkdir(exist_ok=True)
    model.save(scratch / path.name)
    model.close()
    os.replace(scratch / path.name, path)
    return path


def write_reference_set(refdir: str | os.PathLike, arrays: dict) -> dict[str, Path]:
    """Write one reference file per reftype from the arrays of `core.reference_arrays`.

    Returns ``{reftype: path}`` for mask, saturation, linearity, dark, gain, readnoise,
    reset, flat, specwcs and emicorr.
    """
    from astropy.io import fits
    from stdatamodels.jwst import datamodels as dm

    refdir = Path(refdir)
    refdir.mkdir(parents=True, exist_ok=True)
    shape = (NROWS, NCOLS)
    out: dict[str, Path] = {}

    model = dm.MaskModel(dq=arrays["mask"].astype(np.uint32))
    _common_meta(model, "mask", "Bad-pixel mask of the simulated detector")
    out["mask"] = _save(model, refdir, "mask")

    model = dm.SaturationModel(
        data=arrays["saturation"].astype(np.float32), dq=np.zeros(shape, np.uint32)
    )
    _common_meta(model, "saturation", "Saturation level (raw DN) of the simulated detector")
    out["saturation"] = _save(model, refdir, "saturation")

    model = dm.LinearityModel(
        coeffs=arrays["linearity"].astype(np.float32), dq=np.zeros(shape, np.uint32)
    )
    _common_meta(model, "linearity", "Linearity polynomial: corrected = sum c_k raw^k")
    out["linearity"] = _save(model, refdir, "linearity")

    dark = arrays["dark"].astype(np.float32)
    model = dm.DarkMIRIModel(
        data=dark, err=np.zeros_like(dark), dq=np.zeros((dark.shape[0], 1, *shape), np.uint32)
    )  # one DQ plane per integration plane, as stcal's dark subtraction indexes it
    _common_meta(model, "dark", "MIRI dark: first-integration and later-integration ramps")
    model.meta.exposure.ngroups = dark.shape[1]
    model.meta.exposure.nframes = 1
    model.meta.exposure.groupgap = 0
    model.meta.exposure.readpatt = "FASTR1"
    out["dark"] = _save(model, refdir, "dark")
    # calwebb_detector1 reads NINTS from the dark's header (not in the DarkMIRIModel schema)
    fits.setval(out["dark"], "NINTS", value=dark.shape[0], comment="integration planes")

    model = dm.GainModel(data=arrays["gain"].astype(np.float32))
    _common_meta(model, "gain", "Gain (e-/DN) of the simulated detector")
    out["gain"] = _save(model, refdir, "gain")

    model = dm.ReadnoiseModel(data=arrays["readnoise"].astype(np.float32))
    _common_meta(model, "readnoise", "Read noise (DN per read) of the simulated detector")
    out["readnoise"] = _save(model, refdir, "readnoise")

    reset = arrays["reset"].astype(np.float32)
    model = dm.ResetModel(data=reset, err=np.zeros_like(reset), dq=np.zeros(shape, np.uint32))
    _common_meta(model, "reset", "Reset correction (zero, as the CRDS MIRI reset today)")
    model.meta.exposure.nints, model.meta.exposure.ngroups = reset.shape[:2]
    out["reset"] = _save(model, refdir, "reset")

    flat = arrays["flat"].astype(np.float32)
    flat_err = arrays.get("flat_err", np.zeros_like(flat)).astype(np.float32)
    model = dm.FlatModel(data=flat, err=flat_err, dq=np.zeros(shape, np.uint32))
    _common_meta(model, "flat", "Pixel response of the simulated detector")
    model.meta.instrument.filter = "P750L"
    out["flat"] = _save(model, refdir, "flat")

    out["specwcs"] = _write_specwcs(refdir, arrays["specwcs"])
    out["emicorr"] = _write_emicorr(refdir, arrays["emicorr"])
    (refdir / ".partial").rmdir()
    return out


def _write_specwcs(refdir: Path, geometry: dict) -> Path:
    """LRS specwcs in the CRDS convention: the WAVETABLE (X_CENTER, Y_CENTER offsets from
    the reference position, WAVELENGTH, corners) and the reference positions IMX/IMY,
    IMXSLTL/IMYSLTL of the in-flight file the simulated geometry comes from."""
    from stdatamodels.jwst import datamodels as dm

    src = geometry["table"]
    table = np.zeros(len(src), dtype=[(n.lower(), "f8") for n in src.dtype.names])
    for name in src.dtype.names:
        table[name.lower()] = src[name]
    model = dm.MiriLRSSpecwcsModel(wavetable=table)
    _common_meta(model, "specwcs", "LRS slitless wavelength table (in flight, SPECWCS 0006)")
    model.meta.instrument.filter = "P750L"
    model.meta.exposure.type = "MIR_LRS-SLITLESS"
    h = geometry["header"]
    model.meta.x_ref, model.meta.y_ref = float(h["IMX"]), float(h["IMY"])
    model.meta.x_ref_slitless = float(h["IMXSLTL"])
    model.meta.y_ref_slitless = float(h["IMYSLTL"])
    return _save(model, refdir, "specwcs")


def _write_emicorr(refdir: Path, emi: dict) -> Path:
    """EMICORR reference (ASDF) in the layout jwst's emicorr step reads: reference
    waveforms per frequency, and the frequencies to correct per subarray and readout."""
    from stdatamodels.jwst import datamodels as dm

    freqs = {
        name: {"frequency": float(f), "phase_amplitudes": np.asarray(w, np.float32)}
        for name, (f, w) in emi.items()
    }
    cases = {
        "SLITLESSPRISM": {
            "rowclocks": 28,
            "frameclocks": 15904,
            "freqs": {"FAST": sorted(freqs), "SLOW": {"MIRIMAGE": sorted(freqs)}},
        }
    }
    model = dm.EmiModel()
    model.frequencies = freqs
    model.subarray_cases = cases
    _common_meta(model, "emicorr", "EMI reference waveforms of the simulated detector")
    return _save(model, refdir, "emicorr", ext="asdf")
