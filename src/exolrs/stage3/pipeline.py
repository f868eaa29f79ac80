"""Stage 3: calints → stellar spectra (trace, box or optimal extraction, spectra file)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exolrs.config import Stage3Config

log = logging.getLogger(__name__)


@dataclass
class Stage3Result:
    spectra: Path
    centroids: Path
    figures: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def run_stage3(
    calints,
    deep_frame,
    output_dir,
    *,
    target: str = "target",
    params: Stage3Config | None = None,
    force_redo: bool = False,
    do_plot: bool = True,
    **overrides,
) -> Stage3Result:
    """Extract a spectrum per integration from Stage 2's calints and deep frame."""
    from exolrs.io.products import ensure_writable_dir, read_integrations_product
    from exolrs.io.spectra import (
        Spectra,
        read_centroids,
        read_deep_frame,
        write_centroids,
        write_spectra,
    )
    from exolrs.stage2.background import variance_from_header
    from exolrs.stage3 import extract_box, extract_optimal, trace

    params = Stage3Config.model_validate({**(params or Stage3Config()).model_dump(), **overrides})
    out = ensure_writable_dir(output_dir)
    spectra_path = out / f"{target}_{params.extract_method}_spectra_fullres.fits"
    centroid_path = out / f"{target}_centroids.csv"
    if not force_redo and spectra_path.exists() and centroid_path.exists():
        log.info("Stage 3 products exist; reusing them")
        return Stage3Result(spectra_path, centroid_path)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    cube = read_integrations_product(calints, arrays=("SCI", "ERR"))
    deep, wavelengths = read_deep_frame(deep_frame)
    seconds["read"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    ny = deep.shape[0]
    rows = np.arange(ny)
    if params.centroids is not None:
        centres = read_centroids(params.centroids, ny)
    else:
        centres, _ = trace.find_trace(deep)
    write_centroids(rows, centres, centroid_path)
    lo, hi = params.wavelength_range
    keep = np.isfinite(wavelengths) & (wavelengths >= lo) & (wavelengths <= hi)
    bright = keep & (np.nanmax(deep, axis=1) > 0.2 * np.nanmax(deep[keep]))
    x_shift = trace.trace_shift_per_integration(cube.sci, centres, np.flatnonzero(bright))
    seconds["trace"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    bkg_var = variance_from_header(cube.err, cube.header)
    if params.extract_method == "box":
        flux, err = extract_box.box_extract(
            cube.sci, cube.err, centres, params.extract_width, bkg_var=bkg_var
        )
    else:
        profile = extract_optimal.spatial_profile(deep, centres, params.extract_width)
        flux, err, _ = extract_optimal.optimal_extract(
            cube.sci, extract_optimal.optimal_variance(cube.err), profile, bkg_var=bkg_var
        )
    seconds["extract"] = round(time.perf_counter() - t0, 3)
    order = np.flatnonzero(keep)[np.argsort(wavelengths[keep])]
    wave = wavelengths[order]
    half = 0.5 * np.abs(np.gradient(wave))
    times = (
        cube.int_times["int_mid_BJD_TDB"]
        if cube.int_times is not None
        else np.arange(cube.sci.shape[0], dtype=float)
    )
    meta = {
        "TARGET": target,
        "CONTENTS": "Full resolution stellar spectra",
        "METHOD": params.extract_method,
        "WIDTH": params.extract_width,
        "ALIGN": params.align,
    }
    spec = Spectra(wave, half, flux[:, order], err[:, order], np.asarray(times), x_shift, meta=meta)
    drift = None
    if params.align != "off":
        t0 = time.perf_counter()
        spec, drift = align_spectra(
            spec, resample=params.align == "resample", fit_stretch=params.align_stretch
        )
        seconds["align"] = round(time.perf_counter() - t0, 3)
        if params.align == "resample":  # the raw spectra stay available
            raw = Spectra(
                wave,
                half,
                flux[:, order],
                err[:, order],
                spec.time,
                x_shift,
                spec.y_shift,
                spec.stretch,
                meta={**meta, "ALIGN": "raw"},
            )
            write_spectra(raw, spectra_path.with_name(spectra_path.stem + "_unaligned.fits"))
    write_spectra(spec, spectra_path)
    figures = []
    if do_plot:
        from exolrs.plots.stage3 import plot_2d_lightcurve

        figures.append(
            plot_2d_lightcurve(
                wave, spec.flux, out / f"{target}_{params.extract_method}_2d_lightcurve.png"
            )
        )
        if drift is not None:
            from exolrs.plots.stage3 import plot_drift

            figures.append(plot_drift(spec, out / f"{target}_drift.png"))
    return Stage3Result(spectra_path, centroid_path, figures, seconds)


def align_spectra(spec, resample: bool = False, fit_stretch: bool = False):
    """Measure the spectral drift of `spec` (rows run in increasing wavelength, i.e.
    decreasing detector row) and store it as `y_shift` (+ = towards higher rows) and
    `stretch`; with `resample`, also move every spectrum onto the reference grid."""
    from dataclasses import replace

    from exolrs.stage3 import align

    drift = align.measure_drift(spec.flux, spec.flux_err, fit_stretch=fit_stretch)
    out = replace(spec, y_shift=-drift.shift, stretch=drift.stretch)
    if resample:
        flux, err = align.resample(spec.flux, spec.flux_err, drift)
        out = replace(out, flux=flux, flux_err=err)
    return out, drift
