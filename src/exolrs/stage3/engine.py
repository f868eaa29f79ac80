"""Stage 3: calints → stellar spectra (trace, box or optimal extraction, drift, spectra file).

`extract_spectra` is the stage on arrays in memory (the `Extract1DStep` calls it directly);
`run_stage3` reads Stage 2's files, calls it, and writes the products and figures.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from exolrs import refs as R
from exolrs.config import Stage3Config
from exolrs.errors import ExolrsError
from exolrs.io.products import (
    ensure_writable_dir,
    per_integration_error,
    read_integrations_product,
    read_wavelength_image,
    row_wavelengths_of,
)
from exolrs.io.provenance import make_record, reusable, save_record
from exolrs.io.spectra import (
    Spectra,
    read_centroids,
    read_deep_frame,
    write_centroids,
    write_deep_frame,
    write_spectra,
)
from exolrs.io.x1dints import write_x1dints
from exolrs.plots.stage3 import plot_2d_lightcurve, plot_drift
from exolrs.stage2 import baseline
from exolrs.stage2.background import variance_from_header
from exolrs.stage2.wavelength import row_wavelengths
from exolrs.stage3 import align, extract_box, extract_optimal, trace

log = logging.getLogger(__name__)


@dataclass
class Stage3Result:
    spectra: Path
    centroids: Path
    figures: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    note: str | None = None  # why present products were recomputed


@dataclass
class Extraction:
    """What Stage 3 computes: the spectra (aligned when asked), the trace centre per row,
    the raw spectra when they were resampled (else None) and the drift (None when `align`
    is off)."""

    spectra: Spectra
    rows: np.ndarray
    centres: np.ndarray
    unaligned: Spectra | None = None
    drift: object | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    header: dict | None = None  # the calints' primary header (for the x1dints product)
    int_times: np.ndarray | None = None


def check_extract_width(width: float, nx: int) -> None:
    """The aperture must fit the subarray (with a column to spare on each side)."""
    if width > nx - 2:
        raise ExolrsError(
            f"stage3: extract_width = {width} is wider than the {nx}-column subarray allows; "
            f"give at most {nx - 2}."
        )


def extract_spectra(
    sci: np.ndarray,
    err: np.ndarray,
    header,
    int_times,
    deep: np.ndarray,
    wavelengths: np.ndarray,
    params: Stage3Config,
    target: str = "target",
) -> Extraction:
    """Trace, extraction and spectral drift of calibrated integrations (in memory).

    Parameters
    ----------
    sci, err : (nints, ny, nx) calibrated integrations and their errors.
    header : the calints' primary header (background method and width keywords).
    int_times : the INT_TIMES table (or None: times are the integration index).
    deep : (ny, nx) deep frame; wavelengths : (ny,) µm per row.
    """
    if int_times is None or "int_mid_BJD_TDB" not in (int_times.dtype.names or ()):
        raise ExolrsError(
            "the calibrated integrations carry no INT_TIMES (mid-integration BJD_TDB); a light "
            "curve needs them. Reduce from the uncal segments, or give products with INT_TIMES."
        )
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    ny, nx = deep.shape
    check_extract_width(params.extract_width, nx)
    rows = np.arange(ny)
    if params.centroids is not None:
        centres = read_centroids(params.centroids, ny)
    else:
        centres, _ = trace.find_trace(deep)
    lo, hi = params.wavelength_range
    keep = np.isfinite(wavelengths) & (wavelengths >= lo) & (wavelengths <= hi)
    bright = keep & (np.nanmax(deep, axis=1) > 0.2 * np.nanmax(deep[keep]))
    x_shift = trace.trace_shift_per_integration(sci, centres, np.flatnonzero(bright))
    seconds["trace"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    bkg_var = variance_from_header(err, header)
    if params.extract_method == "box":
        flux, ferr = extract_box.box_extract(
            sci, err, centres, params.extract_width, bkg_var=bkg_var, profile=deep
        )
    else:
        profile = extract_optimal.spatial_profile(deep, centres, params.extract_width)
        flux, ferr, _ = extract_optimal.optimal_extract(
            sci, extract_optimal.optimal_variance(err), profile, bkg_var=bkg_var
        )
    seconds["extract"] = round(time.perf_counter() - t0, 3)
    order = np.flatnonzero(keep)[np.argsort(wavelengths[keep])]
    wave = wavelengths[order]
    half = 0.5 * np.abs(np.gradient(wave))
    times = int_times["int_mid_BJD_TDB"]
    meta = {
        "TARGET": target,
        "CONTENTS": "Full resolution stellar spectra",
        "METHOD": params.extract_method,
        "WIDTH": params.extract_width,
        "ALIGN": params.align,
    }
    spec = Spectra(
        wave, half, flux[:, order], ferr[:, order], np.asarray(times), x_shift, meta=meta
    )
    result = Extraction(spec, rows, centres, seconds=seconds, header=header, int_times=int_times)
    if params.align != "off":
        t0 = time.perf_counter()
        result.spectra, result.drift = align_spectra(
            spec, resample=params.align == "resample", fit_stretch=params.align_stretch
        )
        seconds["align"] = round(time.perf_counter() - t0, 3)
        if params.align == "resample":  # the raw spectra stay available
            aligned = result.spectra
            result.unaligned = replace(
                spec,
                y_shift=aligned.y_shift,
                stretch=aligned.stretch,
                meta={**meta, "ALIGN": "raw"},
            )
    return result


def _deep_frame_of(cube, path: Path, references=None, crds_path=None) -> Path:
    """Deep frame (median of every integration) and row wavelengths of calints that came
    without Stage 2's deep frame."""
    deep = baseline.deep_frame(cube.sci, np.arange(cube.sci.shape[0]))
    wave_map = read_wavelength_image(cube.paths[0])
    if wave_map is not None and np.isfinite(wave_map).any():
        wavelengths = row_wavelengths_of(wave_map)
    else:
        header = dict(cube.header)
        table = R.load_specwcs(
            R.get_references(header, ("specwcs",), overrides=references, crds_path=crds_path).paths[
                "specwcs"
            ],
            header,
        )
        wavelengths = row_wavelengths(table, cube.sci.shape[1], header.get("VELOSYS"))
    return write_deep_frame(deep, wavelengths, path)


def align_spectra(spec: Spectra, resample: bool = False, fit_stretch: bool = False):
    """Measure the spectral drift of `spec` (rows run in increasing wavelength, i.e.
    decreasing detector row) and store it as `y_shift` (+ = towards higher rows) and
    `stretch`; with `resample`, also move every spectrum onto the reference grid."""
    drift = align.measure_drift(spec.flux, spec.flux_err, fit_stretch=fit_stretch)
    out = replace(spec, y_shift=-drift.shift, stretch=drift.stretch)
    if resample:
        flux, err = align.resample(spec.flux, spec.flux_err, drift)
        out = replace(out, flux=flux, flux_err=err)
    return out, drift


def stage3_paths(output_dir, target: str, method: str) -> tuple[Path, Path]:
    """The spectra file and the centroids CSV Stage 3 writes."""
    out = Path(output_dir)
    return out / f"{target}_{method}_spectra_fullres.fits", out / f"{target}_centroids.csv"


def x1dints_path(output_dir, target: str, method: str) -> Path:
    """The jwst-layout copy of the spectra Stage 3 writes beside them."""
    return Path(output_dir) / f"{target}_{method}_x1dints.fits"


def write_stage3(result: Extraction, output_dir, target: str, method: str) -> Stage3Result:
    """Write the spectra file (and the unaligned spectra when resampled), the same spectra as
    a jwst x1dints product, and the centroids."""
    spectra_path, centroid_path = stage3_paths(output_dir, target, method)
    write_centroids(result.rows, result.centres, centroid_path)
    if result.unaligned is not None:
        write_spectra(
            result.unaligned, spectra_path.with_name(spectra_path.stem + "_unaligned.fits")
        )
    write_x1dints(
        result.spectra,
        x1dints_path(output_dir, target, method),
        header=result.header,
        int_times=result.int_times,
    )
    write_spectra(result.spectra, spectra_path)
    return Stage3Result(spectra_path, centroid_path, seconds=result.seconds)


def plot_stage3(result: Extraction, output_dir, target: str, method: str) -> list[Path]:
    """The 2D light curve, and the drift when it was measured."""
    out = Path(output_dir)
    spec = result.spectra
    figures = [
        plot_2d_lightcurve(spec.wave, spec.flux, out / f"{target}_{method}_2d_lightcurve.png")
    ]
    if result.drift is not None:
        figures.append(plot_drift(spec, out / f"{target}_drift.png"))
    return figures


def run_stage3(
    calints,
    deep_frame,
    output_dir,
    *,
    target: str = "target",
    params: Stage3Config | None = None,
    force_redo: bool = False,
    do_plot: bool = True,
    references: dict | None = None,
    crds_path=None,
    **overrides,
) -> Stage3Result:
    """Extract a spectrum per integration from Stage 2's calints and deep frame.

    With `deep_frame` None (calints from MAST), the deep frame is the median of every
    integration and the rows' wavelengths come from the calints' WAVELENGTH image, else from
    the SPECWCS reference (`references` / CRDS); it is saved as `<target>_deepframe.fits`."""
    params = Stage3Config.model_validate({**(params or Stage3Config()).model_dump(), **overrides})
    out = ensure_writable_dir(output_dir)
    spectra_path, centroid_path = stage3_paths(out, target, params.extract_method)
    inputs = [calints] if isinstance(calints, str | Path) else list(calints)
    record = make_record(
        [*inputs, *([deep_frame] if deep_frame is not None else [])],
        {"target": target, **params.model_dump(mode="json")},
        {**(references or {}), "crds_path": crds_path},
    )
    reuse, note = reusable(
        out, f"stage3.{params.extract_method}", record, [spectra_path, centroid_path], force_redo
    )
    if reuse:
        log.info("Stage 3 products exist; reusing them")
        return Stage3Result(spectra_path, centroid_path)
    t0 = time.perf_counter()
    cube = read_integrations_product(calints, arrays=("SCI", "ERR", "VAR_FLAT"))
    if deep_frame is None:
        deep_frame = _deep_frame_of(cube, out / f"{target}_deepframe.fits", references, crds_path)
    deep, wavelengths = read_deep_frame(deep_frame)
    read_s = round(time.perf_counter() - t0, 3)
    # the flat's error is common to every integration and cancels: weights and errors use
    # the per-integration part
    cube.err, cube.var_flat = per_integration_error(cube.err, cube.var_flat), None
    result = extract_spectra(
        cube.sci, cube.err, cube.header, cube.int_times, deep, wavelengths, params, target
    )
    result.seconds = {"read": read_s, **result.seconds}
    written = write_stage3(result, out, target, params.extract_method)
    if do_plot:
        written.figures = plot_stage3(result, out, target, params.extract_method)
    save_record(out, f"stage3.{params.extract_method}", record)
    written.note = note
    return written
