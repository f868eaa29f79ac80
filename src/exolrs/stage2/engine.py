"""Stage 2: rateints → calints (flat, background, bad pixels, first integration, PCA), deep
frame, hot-pixel map — streamed, in memory bounded as the exposure grows.

The steps are the pure functions of this package.  What needs a pixel's whole time series
(deep frames, temporal outliers, the PCA's Gram matrix) is computed over blocks of detector
rows across every integration (`exolrs.io.stack.row_blocks`: ≈ 32 MB a block whatever
NINTS is; the background is per row, the bad-pixel neighbours come from a two-row halo), and
the calints are written segment by segment.  Four passes:

1. statistics — static bad pixels, the deep frame after the flat (→ the trace column) and
   after the background (→ the bad-pixel map);
2. calibrate — flat, background, bad pixels, temporal outliers, first integration, into a
   scratch cube beside the products; the Gram matrix of the PCA;
3. PCA — eigen-images and, after components are removed, the final deep frame;
4. write — each segment's calints: components removed, errors and DQ.

A run stopped during pass 4 resumes at the first segment it did not write (the scratch cube
and pass 3's state stay in `.stage2_work/` until the stage completes; each calints records
the run's fingerprint as EXPROV).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from exolrs import refs as R
from exolrs.config import Stage2Config
from exolrs.dq import DO_NOT_USE
from exolrs.errors import ExolrsError
from exolrs.io.products import (
    ARRAYS,
    CALIBRATED_ARRAYS,
    IntegrationsWriter,
    calibrated_errors,
    ensure_writable_dir,
    per_integration_error,
    product_name,
    with_wcsinfo,
    write_hot_pixel_map,
)
from exolrs.io.provenance import digest, make_record, product_digest, reusable, save_record
from exolrs.io.spectra import write_deep_frame
from exolrs.io.stack import ProductStack, ScratchCube, row_blocks
from exolrs.io.tables import write_table
from exolrs.plots.stage2 import plot_pca
from exolrs.stage2 import background, badpix, baseline, first_int, flat_field, pca, telegraph
from exolrs.stage2.wavelength import row_wavelengths, wavelength_map
from exolrs.timing import Clock

log = logging.getLogger(__name__)

BLOCK_MB = 32.0  # one float32 array of a block of rows across every integration, at most
WORK_DIR = ".stage2_work"


@dataclass
class Stage2Result:
    calints: list[Path]
    deep_frame: Path
    hot_pixel_map: Path
    figures: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    n_bad_pixels: int = 0
    n_time_outliers: int = 0
    n_wandering_pixels: int = 0  # of n_bad_pixels, found by their time series (telegraph)
    trace_x: float = float("nan")
    note: str | None = None  # why present products were recomputed
    resumed_segments: int = 0  # segments a stopped run had written, reused


def baseline_of(baseline_ints, nints: int) -> np.ndarray:
    """The baseline integrations `baseline_ints` selects among `nints`, or the run file's
    error naming the key."""
    try:
        return baseline.baseline_indices(baseline_ints, nints)
    except ValueError as exc:
        raise ExolrsError(f"stage2: {exc}; change `baseline_ints:` in the run file") from None


@dataclass
class _Flat:
    """The flat as every pass applies it (None: not applied)."""

    flat: np.ndarray | None = None  # usable flat (1 where not applied)
    raw: np.ndarray | None = None
    dq: np.ndarray | None = None
    err: np.ndarray | None = None
    flags: np.ndarray | None = None  # DQ flags it adds

    @classmethod
    def load(cls, path, header) -> _Flat:
        raw, fdq, ferr = R.load_flat(path, header)
        f, _ = flat_field.usable_flat(raw, fdq)
        return cls(f, raw, fdq, ferr, flat_field.flat_flags(raw, fdq))

    def divide(self, sci, err=None, rows=slice(None)) -> None:
        """Flat-field (in place) a block of rows: sci / flat, err / flat."""
        if self.flat is not None:
            sci /= self.flat[rows]
            if err is not None:
                err /= self.flat[rows]

    def variance(self, sci_flat: np.ndarray) -> np.ndarray:
        return flat_field.flat_variance(sci_flat, self.raw, self.err, self.dq)

    def dilution(self, background: np.ndarray | None) -> np.ndarray | None:
        """The static offset's variance its error leaves under `background` (None: no flat,
        no flat error or no background subtracted)."""
        if self.flat is None or background is None:
            return None
        return flat_field.dilution_variance(background, self.raw, self.err, self.dq)


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
    progress=None,
    **overrides,
) -> Stage2Result:
    """Calibrate Stage 1's rateints (paths in segment order) into calints.

    Writes ``<root>_calints.fits`` per segment, ``<target>_deepframe.fits`` (deep frame and
    row wavelengths) and ``<target>_hot_pixel_map.fits`` (Stage 1's DQInit takes it back).
    `progress(done, total)` is called after each block of rows and each segment.
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
    clock = Clock()
    stack = ProductStack(paths)
    header = dict(stack.header)
    skip = set(params.skip_steps)
    refset = R.get_references(
        header, ("flat", "specwcs"), overrides=references, crds_path=crds_path
    )
    table = R.load_specwcs(refset.paths["specwcs"], header)
    wavelengths = row_wavelengths(table, stack.ny, header.get("VELOSYS"))
    wave_map = wavelength_map(table, stack.ny, stack.nx, header.get("VELOSYS"))
    flat = _Flat() if "flat_field" in skip else _Flat.load(refset.paths["flat"], header)
    base = baseline_of(params.baseline_ints, stack.nints)
    remove = [] if "pca" in skip else _components(params)
    fingerprint = digest(record)
    blocks = row_blocks(stack.nints, stack.ny, stack.nx, BLOCK_MB)
    sketch = "pca" not in skip and not pca.gram_fits(stack.nints)  # Gram matrix too large
    passes = 2 + ("pca" not in skip) + ("background" not in skip) + sketch * pca.SKETCH_PASSES
    ticker = _Ticker(progress, passes * len(blocks) + len(paths))
    scratch = ScratchCube(out / WORK_DIR, fingerprint, stack.shape)
    state = None if force_redo else scratch.load_state(("sci", "err"))
    clock.lap("read")
    if state is None:
        state = _statistics(stack, flat, params, skip, base, blocks, ticker)
        clock.lap("statistics")
        scratch.create(("sci", "err"))
        state |= _calibrate(stack, flat, params, skip, base, blocks, state, scratch, ticker)
        clock.lap("calibrate")
        if "pca" not in skip:
            state |= _principal_components(scratch, params, remove, base, blocks, state, ticker)
            clock.lap("pca")
        scratch.save_state(**state)
    else:
        log.info("Stage 2: resuming a stopped run at its last pass")
    done = set() if force_redo else set(finished_segments(targets, fingerprint))
    extra = {
        "S_EXOLRS": ("STAGE2", "exolrs Stage 2"),
        "TRACE_X": round(float(state["x0"]), 3),
        "EXPROV": fingerprint,
        **(
            {}
            if "background" in skip
            else background.header_keywords(
                params.miri_method, params.miri_trace_width, params.miri_background_width
            )
        ),
    }
    for k, target_path in enumerate(targets):
        if k not in done:
            _write_segment(stack, k, target_path, scratch, state, remove, flat, wave_map, extra)
        ticker.tick()
    clock.lap("write")
    write_deep_frame(
        state["deep"], wavelengths, deep_path, flat_var=flat.dilution(state.get("background"))
    )
    write_hot_pixel_map((state["hot"] | state["wandering"]) & ~state["static"], hot_path)
    figures: list[Path] = []
    if "pca" not in skip:
        result = pca.result(_eigen(state), state["mean"], state["images"])
        kept = pca.without_components(result, [], params.pca_components)
        _write_pca_timeseries(kept, out / f"{target}_pca_timeseries.ecsv")
        if do_plot:
            figures.append(plot_pca(kept, out / f"{target}_pca_components.png"))
            if remove:  # the decomposition after the removal
                after = pca.without_components(result, remove, params.pca_components)
                figures.append(plot_pca(after, out / f"{target}_pca_components_after.png"))
    save_record(out, "stage2", record)
    scratch.remove()
    return Stage2Result(
        targets,
        deep_path,
        hot_path,
        figures,
        clock.rounded(),
        n_bad_pixels=int((state["hot"] | state["wandering"]).sum()),
        n_time_outliers=int(state["n_time"]),
        n_wandering_pixels=int(state["wandering"].sum()),
        trace_x=float(state["x0"]),
        note=note,
        resumed_segments=len(done),
    )


def finished_segments(targets, fingerprint: str) -> list[int]:
    """The segments whose calints a run with the same record already wrote (EXPROV)."""
    return [k for k, path in enumerate(targets) if product_digest(path) == fingerprint]


def _components(params: Stage2Config) -> list[int]:
    try:
        return pca.check_components(params.remove_components, params.pca_components)
    except ValueError as exc:
        raise ExolrsError(
            f"stage2: remove_components: {exc}; choose components between 1 and "
            f"pca_components = {params.pca_components}"
        ) from None


def _statistics(stack, flat, params, skip, base, blocks, ticker) -> dict:
    """Pass 1: static bad pixels, the trace column, the bad-pixel map."""
    ny, nx = stack.ny, stack.nx
    static = np.zeros((ny, nx), bool)
    deep = np.full((ny, nx), np.nan, np.float32)
    n_finite = 0
    # the frame's light curve and trace column, for the wandering-pixel search of pass 2
    search = "badpix" not in skip and params.telegraph_thresh is not None
    sums = np.zeros((3, stack.nints))
    for r0, r1 in blocks:
        rows = slice(r0, r1)
        dq = stack.rows("DQ", r0, r1)
        if flat.flags is not None:
            dq |= flat.flags[rows]
        static[rows] = badpix.static_bad_pixels(dq)
        del dq
        sci = stack.rows("SCI", r0, r1)
        n_finite += int(np.isfinite(sci).sum())
        flat.divide(sci, rows=rows)
        deep[rows] = baseline.deep_frame(sci, base)
        if search and "background" in skip:
            sums += telegraph.shared_sums(sci, static[rows])
        ticker.tick()
    finite = n_finite / (stack.nints * ny * nx)
    if finite < 0.5:
        raise ExolrsError(
            f"only {100 * finite:.0f} % of the values in {stack.paths[0].parent}'s rateints are "
            "finite; Stage 1 did not produce usable slopes (check its references and "
            "parameters, then run stage 1 again with --force-redo)"
        )
    x0 = background.trace_center_estimate(deep)
    out = {"x0": np.float64(x0), "static": static}
    if "background" not in skip:  # the deep frame as the bad-pixel search sees it
        flat_only = deep.copy()
        for r0, r1 in blocks:
            sci = stack.rows("SCI", r0, r1)
            flat.divide(sci, rows=slice(r0, r1))
            _subtract_background(sci, x0, params, static[r0:r1])
            deep[r0:r1] = baseline.deep_frame(sci, base)
            if search:
                sums += telegraph.shared_sums(sci, static[r0:r1])
            ticker.tick()
        out["background"] = flat_only - deep  # what was subtracted, for the flat's error
    hot = static.copy()
    if "badpix" not in skip:
        hot = badpix.find_bad_pixels(
            deep, static.astype(np.uint32) * DO_NOT_USE, params.space_thresh
        )
    return {**out, "hot": hot, "shared_sums": sums}


def _subtract_background(sci, x0, params, static, inplace=True) -> np.ndarray:
    """Subtract the run's background model from `sci` (in place, or from a copy) without
    the `static` pixels; returns the model's (nints, rows, 2) intercepts and slopes."""
    return background.subtract_background(
        sci,
        x0,
        params.miri_method,
        params.miri_trace_width,
        params.miri_background_width,
        bad=static,
        inplace=inplace,
    )[1]


def _calibrate(stack, flat, params, skip, base, blocks, state, scratch, ticker) -> dict:
    """Pass 2: every per-integration correction, block by block, into the scratch cube;
    the deep frame and the PCA's Gram matrix of the result."""
    ny, nx, h = stack.ny, stack.nx, badpix.HALO
    calibrated_input = "VAR_FLAT" in stack.names  # jwst calints: the flat's error is in ERR
    deep = np.full((ny, nx), np.nan, np.float32)
    held = "pca" not in skip and pca.gram_fits(stack.nints)  # else sketched after this pass
    gram = np.zeros((stack.nints, stack.nints)) if held else None
    n_time = 0
    wandering = np.zeros((ny, nx), bool)
    for r0, r1 in blocks:
        a, b = max(r0 - h, 0), min(r1 + h, ny)
        sci, err = stack.rows("SCI", a, b), stack.rows("ERR", a, b)
        if calibrated_input:  # the steps below use the per-integration error
            err = per_integration_error(err, stack.rows("VAR_FLAT", a, b))
        flat.divide(sci, err, slice(a, b))
        if "background" not in skip:
            _subtract_background(sci, state["x0"], params, state["static"][a:b])
        core = slice(r0 - a, r1 - a)
        if "badpix" not in skip:
            sci, err = badpix.replace_in(sci, err, state["hot"][a:b], inplace=True)
            n_time += badpix.clip_time_outliers(sci[:, core], params.time_thresh, inplace=True)[1]
            if params.telegraph_thresh is not None:
                # searched in the halo rows too, so that none of them is a replacement's source
                found = telegraph.wandering_pixels(
                    sci, params.telegraph_thresh, sums=state["shared_sums"]
                )
                found &= ~state["hot"][a:b]
                if "background" not in skip:
                    found = _background_wanderers(sci, found, stack, flat, params, state, a)
                sci, err = badpix.replace_in(sci, err, found, inplace=True)
                wandering[r0:r1] = found[core]
        sci, err = sci[:, core], err[:, core]
        if "first_int" not in skip and params.replace_first_integration:
            sci = first_int.replace_first_integration(sci)
            err = first_int.replace_first_integration(err)
        scratch.write_rows("sci", r0, sci)
        scratch.write_rows("err", r0, err)
        deep[r0:r1] = baseline.deep_frame(sci, base)
        if gram is not None:
            pca.gram(pca.centred(sci)[1], out=gram)
        ticker.tick()
    out = {"deep": deep, "n_time": np.int64(n_time), "wandering": wandering}
    if gram is not None:
        out["gram"] = gram
    return out


def _background_wanderers(sci, found, stack, flat, params, state, a) -> np.ndarray:
    """A wandering pixel among the background columns makes its row's background wander,
    and then the search flags the whole row: for each such row (of a block starting at row
    `a`, `found` its wandering pixels), refit the background without them, move `sci` (in
    place) from the old fit to the new, and search that row again.  Returns the block's
    wandering pixels.  Only those rows are read again (a wrong flat hides a telegraph pixel
    from the fit's 5-MAD clipping; on program2783 two in one row had 18 false flags)."""
    cols = background.background_columns(
        state["x0"], sci.shape[-1], params.miri_trace_width, params.miri_background_width
    )
    hit = np.flatnonzero((found & cols).any(axis=1))
    if hit.size == 0:
        return found
    xs = np.arange(sci.shape[-1], dtype=np.float32)
    for r in hit:
        rows = slice(a + r, a + r + 1)
        raw = stack.rows("SCI", a + r, a + r + 1)
        flat.divide(raw, rows=rows)
        static = state["static"][rows]
        fits = [
            _subtract_background(raw, state["x0"], params, bad, inplace=False)[:, 0]
            for bad in (static, static | (found[r] & cols))
        ]
        change = fits[0] - fits[1]  # (nints, 2): old − new intercept and slope
        sci[:, r] += change[:, :1] + change[:, 1:] * xs
    out = found.copy()
    out[hit] = (
        telegraph.wandering_pixels(sci[:, hit], params.telegraph_thresh, sums=state["shared_sums"])
        & ~state["hot"][a + hit]
    )
    return out


def _principal_components(scratch, params, remove, base, blocks, state, ticker) -> dict:
    """Pass 3: the leading eigen-images (as many more as components are removed, so that
    the decomposition after the removal needs no second pass) and the final deep frame.  The
    eigenpairs come from pass 2's Gram matrix or, where it would pass `pca.GRAM_MAX_MB`,
    from `pca.SKETCH_PASSES` passes over the scratch cube."""
    k = params.pca_components + len(remove)
    if "gram" in state:
        eigen = pca.decompose(state.pop("gram"), k)
    else:

        def centred_blocks():
            for r0, r1 in blocks:
                yield pca.centred(scratch.rows("sci", r0, r1))[1]
                ticker.tick()

        eigen = pca.sketch_decompose(centred_blocks, scratch.shape[0], k)
    ny, nx = state["static"].shape
    images = np.zeros((len(eigen.values), ny, nx), np.float32)
    mean = np.zeros((ny, nx), np.float32)
    deep = state["deep"]
    ts = eigen.timeseries
    for r0, r1 in blocks:
        sci = scratch.rows("sci", r0, r1)
        mean[r0:r1], x = pca.centred(sci)
        images[:, r0:r1] = pca.eigenimages(eigen, x).reshape(-1, r1 - r0, nx)
        if remove:
            pca.subtract_components(sci, ts, images[:, r0:r1], remove)
            deep[r0:r1] = baseline.deep_frame(sci, base)
        ticker.tick()
    return {
        "eigen_values": eigen.values,
        "eigen_vectors": eigen.vectors,
        "eigen_total": np.float64(eigen.total),
        "images": images,
        "mean": mean,
        "deep": deep,
    }


def _eigen(state) -> pca.Eigen:
    return pca.Eigen(state["eigen_values"], state["eigen_vectors"], float(state["eigen_total"]))


def _write_segment(stack, k, path, scratch, state, remove, flat, wave_map, extra) -> Path:
    """Pass 4 for one segment: its calints, complete or not at all."""
    seg = stack.segment(k)
    sci = scratch.ints("sci", seg.start, seg.stop)
    err = scratch.ints("err", seg.start, seg.stop)
    if remove:
        pca.subtract_components(sci, _eigen(state).timeseries[:, seg], state["images"], remove)
    dq = stack.ints("DQ", seg.start, seg.stop)
    if flat.flags is not None:
        dq |= flat.flags
    var = {
        name: stack.ints(name, seg.start, seg.stop) if name in stack.names else None
        for name in ("VAR_POISSON", "VAR_RNOISE")
    }
    var_flat = None
    if flat.flat is not None:  # ERR² = VAR_POISSON + VAR_RNOISE + VAR_FLAT, as jwst
        raw = stack.ints("SCI", seg.start, seg.stop)
        flat.divide(raw)
        var_flat = flat.variance(raw)
        del raw
        # a pixel Stage 2 replaced was NaN in the rateints, and so is its flat variance: its
        # value now comes from its neighbours, whose own flat errors it carries; 0, not NaN,
        # keeps its ERR (and the optimal weights' error model) finite
        var_flat[np.isnan(var_flat) & np.isfinite(err)] = 0.0
        f2 = flat.flat**2
        err, vp, vr = calibrated_errors(
            err, var["VAR_POISSON"] / f2, var["VAR_RNOISE"] / f2, var_flat
        )
        var = {"VAR_POISSON": vp, "VAR_RNOISE": vr}
    w = IntegrationsWriter(
        path,
        seg.stop - seg.start,
        (stack.ny, stack.nx),
        header=_primary(stack.paths[k]),
        int_times=None if stack.int_times is None else stack.int_times[seg],
        images={"WAVELENGTH": wave_map},
        arrays=ARRAYS if var_flat is None else CALIBRATED_ARRAYS,
        extra_keywords=extra,
    )
    w.write(
        0,
        sci,
        err,
        dq,
        var_poisson=var["VAR_POISSON"],
        var_rnoise=var["VAR_RNOISE"],
        var_flat=var_flat,
    )
    return w.close()


class _Ticker:
    def __init__(self, progress, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def tick(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(min(self.done, self.total), self.total)


def _primary(path):
    """The product's primary header with its SCI world-coordinate keywords."""
    with fits.open(path) as hdul:
        return with_wcsinfo(hdul[0].header, hdul["SCI"].header)


def _write_pca_timeseries(result, path: Path) -> Path:
    """Eigen time series as columns pca_1 … pca_k: detrending vectors for Stage 4."""
    table = Table({f"pca_{k + 1}": ts for k, ts in enumerate(result.timeseries)})
    table.meta["variance_fraction"] = [float(v) for v in result.variance_fraction]
    return write_table(table, path)
