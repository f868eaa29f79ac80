"""Stage 2: rateints → calints (flat, background, bad pixels, first integration, PCA), deep
frame, hot-pixel map.  The whole (nints, 416, 72) cube is held in memory (≈ 210 MB at full
size); each step is a pure function from this package."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from exolrs import refs as R
from exolrs.config import Stage2Config
from exolrs.errors import ExolrsError
from exolrs.io.products import (
    ARRAYS,
    CALIBRATED_ARRAYS,
    IntegrationsWriter,
    calibrated_errors,
    ensure_writable_dir,
    per_integration_error,
    product_name,
    read_integrations_product,
    with_wcsinfo,
    write_hot_pixel_map,
)
from exolrs.io.provenance import make_record, reusable, save_record
from exolrs.io.spectra import write_deep_frame
from exolrs.io.tables import write_table
from exolrs.plots.stage2 import plot_pca
from exolrs.stage2 import background, badpix, baseline, first_int, flat_field, pca
from exolrs.stage2.wavelength import row_wavelengths, wavelength_map

log = logging.getLogger(__name__)


@dataclass
class Stage2Result:
    calints: list[Path]
    deep_frame: Path
    hot_pixel_map: Path
    figures: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    n_bad_pixels: int = 0
    n_time_outliers: int = 0
    trace_x: float = float("nan")
    note: str | None = None  # why present products were recomputed


def baseline_of(baseline_ints, nints: int) -> np.ndarray:
    """The baseline integrations `baseline_ints` selects among `nints`, or the run file's
    error naming the key."""
    try:
        return baseline.baseline_indices(baseline_ints, nints)
    except ValueError as exc:
        raise ExolrsError(f"stage2: {exc}; change `baseline_ints:` in the run file") from None


def run_stage2(
    rateints,
    output_dir,
    *,
    target: str = "target",
    params: Stage2Config | None = None,
    references: dict | None = None,
    crds_path=None,
    force_redo: bool = False,
    do_plot: bool = True,
    **overrides,
) -> Stage2Result:
    """Calibrate Stage 1's rateints (paths in segment order) into calints.

    Writes ``<root>_calints.fits`` per segment, ``<target>_deepframe.fits`` (deep frame and
    row wavelengths) and ``<target>_hot_pixel_map.fits`` (Stage 1's DQInit takes it back).
    """
    params = Stage2Config.model_validate({**(params or Stage2Config()).model_dump(), **overrides})
    out = ensure_writable_dir(output_dir)
    paths = [Path(p) for p in ([rateints] if isinstance(rateints, str | Path) else rateints)]
    targets = [product_name(p, "calints", out) for p in paths]
    deep_path = out / f"{target}_deepframe.fits"
    hot_path = out / f"{target}_hot_pixel_map.fits"
    record = make_record(
        paths,
        {"target": target, **params.model_dump(mode="json")},
        {**(references or {}), "crds_path": crds_path},
    )
    reuse, note = reusable(out, "stage2", record, [*targets, deep_path, hot_path], force_redo)
    if reuse:
        log.info("Stage 2 products exist; reusing them")
        return Stage2Result(targets, deep_path, hot_path)
    skip = set(params.skip_steps)
    seconds: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        seconds[name] = round(now - clock[0], 3)
        clock[0] = now

    # only what the steps use; the variances are copied per segment when writing
    with fits.open(paths[0]) as hdul:
        flat_fielded = "VAR_FLAT" in hdul  # jwst calints: the flat's error is in ERR
    arrays = ("SCI", "ERR", "DQ", "VAR_FLAT") if flat_fielded else ("SCI", "ERR", "DQ")
    cube = read_integrations_product(paths, arrays=arrays)
    if flat_fielded:  # the steps below use the per-integration error
        cube.err, cube.var_flat = per_integration_error(cube.err, cube.var_flat), None
    header = dict(cube.header)
    sci, err, dq = cube.sci, cube.err, cube.dq
    int_times = cube.int_times
    del cube  # the steps below work in place on sci, err, dq
    finite = np.isfinite(sci).mean()
    if finite < 0.5:
        raise ExolrsError(
            f"only {100 * finite:.0f} % of the values in {paths[0].parent}'s rateints are finite; "
            "Stage 1 did not produce usable slopes (check its references and parameters, then "
            "run stage 1 again with --force-redo)"
        )
    lens = [_nints(p) for p in paths]
    refset = R.get_references(
        header, ("flat", "specwcs"), overrides=references, crds_path=crds_path
    )
    lap("read")
    table = R.load_specwcs(refset.paths["specwcs"], header)
    wavelengths = row_wavelengths(table, sci.shape[1], header.get("VELOSYS"))
    wave_map = wavelength_map(table, *sci.shape[1:], header.get("VELOSYS"))
    flat2 = None  # flat² dividing the variances, where the flat was applied
    var_flat = None
    if "flat_field" not in skip:
        flat, flat_dq, flat_err = R.load_flat(refset.paths["flat"], header)
        sci, err, dq = flat_field.apply_flat(
            sci, err, dq, flat, flat_dq, flat_err, inplace=True, include_flat_error=False
        )
        flat2 = flat_field.usable_flat(flat, flat_dq)[0] ** 2
        var_flat = flat_field.flat_variance(sci, flat, flat_err, flat_dq)
        lap("flat_field")
    static_bad = badpix.static_bad_pixels(dq)
    base = baseline_of(params.baseline_ints, sci.shape[0])
    x0 = background.trace_center_estimate(baseline.deep_frame(sci, base))
    bkg_keywords = {}
    if "background" not in skip:
        bkg_keywords = background.header_keywords(
            params.miri_method, params.miri_trace_width, params.miri_background_width
        )
        sci, _ = background.subtract_background(
            sci,
            x0,
            params.miri_method,
            params.miri_trace_width,
            params.miri_background_width,
            bad=static_bad,
        )
        lap("background")
    hot = static_bad.copy()
    n_time = 0
    if "badpix" not in skip:
        sci, err, hot, n_time = badpix.correct_bad_pixels(
            sci,
            err,
            baseline.deep_frame(sci, base),
            static_bad,
            params.space_thresh,
            params.time_thresh,
            inplace=True,
        )
        lap("badpix")
    if "first_int" not in skip and params.replace_first_integration:
        sci = first_int.replace_first_integration(sci)
        err = first_int.replace_first_integration(err)
        lap("first_int")
    figures: list[Path] = []
    if "pca" not in skip:
        result = pca.pca_cube(sci, params.pca_components)
        _write_pca_timeseries(result, out / f"{target}_pca_timeseries.ecsv")
        if params.remove_components:
            sci = pca.remove_components(sci, result, params.remove_components)
        lap("pca")
        if do_plot:
            figures.append(plot_pca(result, out / f"{target}_pca_components.png"))
            if params.remove_components:  # the same decomposition after the removal
                after = pca.pca_cube(sci, params.pca_components)
                figures.append(plot_pca(after, out / f"{target}_pca_components_after.png"))
    write_deep_frame(baseline.deep_frame(sci, base), wavelengths, deep_path)
    write_hot_pixel_map(hot & ~static_bad, hot_path)
    start = 0
    for path, target_path, n in zip(paths, targets, lens, strict=True):
        variances = read_integrations_product(path, arrays=("VAR_POISSON", "VAR_RNOISE"))
        seg = slice(start, start + n)
        seg_err, var_poisson, var_rnoise = err[seg], variances.var_poisson, variances.var_rnoise
        if var_flat is not None:  # ERR² = VAR_POISSON + VAR_RNOISE + VAR_FLAT, as jwst
            seg_err, var_poisson, var_rnoise = calibrated_errors(
                seg_err, var_poisson / flat2, var_rnoise / flat2, var_flat[seg]
            )
        w = IntegrationsWriter(
            target_path,
            n,
            sci.shape[1:],
            header=_primary(path),
            int_times=_times(int_times, start, n),
            images={"WAVELENGTH": wave_map},
            arrays=ARRAYS if var_flat is None else CALIBRATED_ARRAYS,
            extra_keywords={
                "S_EXOLRS": ("STAGE2", "exolrs Stage 2"),
                "TRACE_X": round(x0, 3),
                **bkg_keywords,
            },
        )
        w.write(
            0,
            sci[seg],
            seg_err,
            dq[seg],
            var_poisson=var_poisson,
            var_rnoise=var_rnoise,
            var_flat=None if var_flat is None else var_flat[seg],
        )
        w.close()
        start += n
    lap("write")
    save_record(out, "stage2", record)
    return Stage2Result(
        targets, deep_path, hot_path, figures, seconds, int(hot.sum()), n_time, x0, note
    )


def _nints(path) -> int:
    return int(fits.getheader(path, "SCI")["NAXIS3"])


def _primary(path):
    """The product's primary header with its SCI world-coordinate keywords."""
    with fits.open(path) as hdul:
        return with_wcsinfo(hdul[0].header, hdul["SCI"].header)


def _times(times, start, n):
    return None if times is None else times[start : start + n]


def _write_pca_timeseries(result, path: Path) -> Path:
    """Eigen time series as columns pca_1 … pca_k: detrending vectors for Stage 4."""
    table = Table({f"pca_{k + 1}": ts for k, ts in enumerate(result.timeseries)})
    table.meta["variance_fraction"] = [float(v) for v in result.variance_fraction]
    return write_table(table, path)
