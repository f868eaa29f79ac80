"""Stage 3: calints → stellar spectra (trace, box or optimal extraction, drift, spectra file).

`extract_spectra` is the stage on arrays in memory (the `Extract1DStep` calls it directly):
`locate_trace` on the deep frame, `extract_block` of integrations, `assemble_spectra` and the
drift.  `run_stage3` runs the same pieces on Stage 2's files `CHUNK_INTS` integrations at a
time (memory bounded whatever NINTS is) and writes the products and figures.
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
    read_wavelength_image,
    row_wavelengths_of,
)
from exolrs.io.provenance import make_record, reusable, save_record
from exolrs.io.spectra import (
    Spectra,
    read_centroids,
    read_deep_frame,
    read_flat_variance,
    write_centroids,
    write_deep_frame,
    write_spectra,
)
from exolrs.io.stack import ProductStack, row_blocks
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


def _check_times(int_times) -> None:
    if int_times is None or "int_mid_BJD_TDB" not in (int_times.dtype.names or ()):
        raise ExolrsError(
            "the calibrated integrations carry no INT_TIMES (mid-integration BJD_TDB); a light "
            "curve needs them. Reduce from the uncal segments, or give products with INT_TIMES."
        )


@dataclass
class TraceRows:
    """Where the spectrum is: the trace centre of every row, the rows kept (finite
    wavelength within `wavelength_range`) and the bright rows that measure the x shift."""

    rows: np.ndarray
    centres: np.ndarray
    keep: np.ndarray
    bright: np.ndarray


def locate_trace(deep: np.ndarray, wavelengths: np.ndarray, params: Stage3Config) -> TraceRows:
    """The trace on the deep frame (or the user's centroids) and the rows to extract."""
    ny, nx = deep.shape
    check_extract_width(params.extract_width, nx)
    if params.centroids is not None:
        centres = read_centroids(params.centroids, ny)
    else:
        centres, _ = trace.find_trace(deep)
    lo, hi = params.wavelength_range
    keep = np.isfinite(wavelengths) & (wavelengths >= lo) & (wavelengths <= hi)
    bright = keep & (np.nanmax(deep, axis=1) > 0.2 * np.nanmax(deep[keep]))
    return TraceRows(np.arange(ny), centres, keep, np.flatnonzero(bright))


def extract_block(
    sci: np.ndarray,
    err: np.ndarray,
    header,
    deep: np.ndarray,
    where: TraceRows,
    params: Stage3Config,
    error_model: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x shift (n,), flux (n, ny), error (n, ny)) of a block of integrations: each
    integration on its own, given the deep frame and, for optimal extraction, the (ny, nx)
    `error_model` of the weights (`extract_optimal.optimal_variance` of every integration;
    this block's when None)."""
    x_shift = trace.trace_shift_per_integration(sci, where.centres, where.bright)
    bkg_var = variance_from_header(err, header)
    if params.extract_method == "box":
        flux, ferr = extract_box.box_extract(
            sci, err, where.centres, params.extract_width, bkg_var=bkg_var, profile=deep
        )
    else:
        profile = extract_optimal.spatial_profile(deep, where.centres, params.extract_width)
        model = extract_optimal.optimal_variance(err) if error_model is None else error_model
        flux, ferr, _ = extract_optimal.optimal_extract(sci, model, profile, bkg_var=bkg_var)
    return x_shift, flux, ferr


def assemble_spectra(
    x_shift,
    flux,
    ferr,
    wavelengths,
    where: TraceRows,
    int_times,
    header,
    params,
    target,
    seconds: dict,
    static_var: np.ndarray | None = None,
) -> Extraction:
    """The spectra (rows in increasing wavelength) of extracted fluxes, then the drift;
    `static_var` (ny,), the variance every row's flux shares in all integrations, becomes
    the spectra's static_err."""
    order = np.flatnonzero(where.keep)[np.argsort(wavelengths[where.keep])]
    wave = wavelengths[order]
    half = 0.5 * np.abs(np.gradient(wave))
    meta = {
        "TARGET": target,
        "CONTENTS": "Full resolution stellar spectra",
        "METHOD": params.extract_method,
        "WIDTH": params.extract_width,
        "ALIGN": params.align,
    }
    spec = Spectra(
        wave,
        half,
        flux[:, order],
        ferr[:, order],
        np.asarray(int_times["int_mid_BJD_TDB"]),
        x_shift,
        static_err=None if static_var is None else np.sqrt(static_var[order]).astype(np.float32),
        meta=meta,
    )
    result = Extraction(
        spec, where.rows, where.centres, seconds=seconds, header=header, int_times=int_times
    )
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
    int_times : the INT_TIMES table (mid-integration BJD_TDB required).
    deep : (ny, nx) deep frame; wavelengths : (ny,) µm per row.
    """
    _check_times(int_times)
    t0 = time.perf_counter()
    where = locate_trace(deep, wavelengths, params)
    error_model = None
    if params.extract_method == "optimal":  # as `run_stage3`: from every integration's error
        error_model = extract_optimal.optimal_variance(err)
    x_shift, flux, ferr = extract_block(sci, err, header, deep, where, params, error_model)
    seconds = {"extract": round(time.perf_counter() - t0, 3)}
    return assemble_spectra(
        x_shift, flux, ferr, wavelengths, where, int_times, header, params, target, seconds
    )


def static_row_variance(var_map, deep, where: TraceRows, params: Stage3Config, error_model):
    """(ny,) variance of each row's extracted flux from Stage 2's static per-pixel variance
    `var_map` (the flat's error on the subtracted background), with the extraction's own
    weights; None without a map."""
    if var_map is None:
        return None
    if params.extract_method == "box":
        return extract_box.box_static_variance(var_map, where.centres, params.extract_width)
    profile = extract_optimal.spatial_profile(deep, where.centres, params.extract_width)
    return extract_optimal.optimal_static_variance(var_map, profile, error_model)


CHUNK_INTS = 128  # integrations extracted at once: memory bounded whatever NINTS is


def _per_integration_error(stack: ProductStack, i0: int, i1: int) -> np.ndarray:
    """ERR of integrations [i0, i1) without the flat's static part (it cancels in relative
    photometry): the weights and errors use the per-integration error."""
    err = stack.ints("ERR", i0, i1)
    if "VAR_FLAT" not in stack.names:
        return err
    return per_integration_error(err, stack.ints("VAR_FLAT", i0, i1))


def _temporal(stack: ProductStack, statistic, array: str = "ERR") -> np.ndarray:
    """(ny, nx) `statistic` over every integration of the per-integration error (or of
    `array`), computed in blocks of rows."""
    out = np.empty((stack.ny, stack.nx), np.float32)
    for r0, r1 in row_blocks(stack.nints, stack.ny, stack.nx):
        block = stack.rows(array, r0, r1)
        if array == "ERR" and "VAR_FLAT" in stack.names:
            block = per_integration_error(block, stack.rows("VAR_FLAT", r0, r1))
        out[r0:r1] = statistic(block)
    return out


def _deep_frame_of(stack: ProductStack, path: Path, references=None, crds_path=None) -> Path:
    """Deep frame (median of every integration) and row wavelengths of calints that came
    without Stage 2's deep frame."""
    everything = np.arange(stack.nints)
    deep = _temporal(stack, lambda block: baseline.deep_frame(block, everything), "SCI")
    wave_map = read_wavelength_image(stack.paths[0])
    if wave_map is not None and np.isfinite(wave_map).any():
        wavelengths = row_wavelengths_of(wave_map)
    else:
        header = dict(stack.header)
        table = R.load_specwcs(
            R.get_references(header, ("specwcs",), overrides=references, crds_path=crds_path).paths[
                "specwcs"
            ],
            header,
        )
        wavelengths = row_wavelengths(table, stack.ny, header.get("VELOSYS"))
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
    stack = ProductStack(inputs)
    _check_times(stack.int_times)
    if deep_frame is None:
        deep_frame = _deep_frame_of(stack, out / f"{target}_deepframe.fits", references, crds_path)
    deep, wavelengths = read_deep_frame(deep_frame)
    where = locate_trace(deep, wavelengths, params)
    error_model = None
    if params.extract_method == "optimal":  # the weights' error model: every integration's
        error_model = _temporal(stack, extract_optimal.optimal_variance)
    blocks = []
    for i0 in range(0, stack.nints, CHUNK_INTS):
        i1 = min(i0 + CHUNK_INTS, stack.nints)
        sci, err = stack.ints("SCI", i0, i1), _per_integration_error(stack, i0, i1)
        blocks.append(extract_block(sci, err, stack.header, deep, where, params, error_model))
    x_shift, flux, ferr = (np.concatenate(parts) for parts in zip(*blocks, strict=True))
    seconds = {"extract": round(time.perf_counter() - t0, 3)}
    static_var = static_row_variance(
        read_flat_variance(deep_frame), deep, where, params, error_model
    )
    result = assemble_spectra(
        x_shift,
        flux,
        ferr,
        wavelengths,
        where,
        stack.int_times,
        stack.header,
        params,
        target,
        seconds,
        static_var,
    )
    written = write_stage3(result, out, target, params.extract_method)
    if do_plot:
        written.figures = plot_stage3(result, out, target, params.extract_method)
    save_record(out, f"stage3.{params.extract_method}", record)
    written.note = note
    return written
