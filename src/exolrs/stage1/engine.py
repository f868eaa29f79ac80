"""The streaming Stage 1 engine: chunks of integrations flow through every detector step.

Raw ramps are read in chunks of integrations (memory-mapped, across segment boundaries);
each chunk passes DQInit → Saturation → EmiCorr → Reset → Linearity (+ dark, dropped groups)
→ Jump → RampFit in memory, and the slopes are written into one `*_rateints.fits` per segment.
Time-domain jump detection gets a halo of neighbouring integrations (those its windows use:
two on each side for a window of 5) so the result does not depend on the chunk size or on
segment boundaries.  A task is a stripe of up to STRIPE_CHUNKS consecutive chunks of one
segment, reduced one after another so that the corrected neighbours of one chunk are the
next one's without being read or corrected again; tasks are independent and run serially,
in local processes, or on a dask cluster (`exolrs.parallel`).

By default a chunk goes through the compiled passes of `exolrs.stage1.fused` (the same
arithmetic as the step modules, in five passes over the block, the stored int16 converted in
the first); the step modules run one after another when the parameters ask for what the
passes do not do (up-the-ramp jumps, or DQInit, Saturation or Linearity skipped).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from exolrs.config import Stage1Config
from exolrs.errors import ExolrsError
from exolrs.io.chunks import read_integrations, read_integrations_raw, read_pixeldq
from exolrs.io.inplace import PlanesLayout, ProductInPlace
from exolrs.io.products import product_name, read_hot_pixel_map
from exolrs.io.provenance import digest, make_record, product_digest, reusable, save_record
from exolrs.io.segments import Exposure, discover_segments
from exolrs.parallel import make_executor
from exolrs.stage1 import (
    dark,
    dq_init,
    emicorr,
    fused,
    jump,
    linearity,
    ramp_fit,
    reset,
    saturation,
)
from exolrs.stage1.references import Stage1Refs, load_stage1_refs, resolve_stage1_refs
from exolrs.stage1.workspace import WORKSPACE
from exolrs.timing import Clock, sum_seconds

log = logging.getLogger(__name__)


@dataclass
class ChunkResult:
    """Ramp-fit products of the core integrations of one chunk."""

    start: int
    stop: int
    slope: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    seconds: dict[str, float]


def process_block(
    data: np.ndarray,
    groupdq: np.ndarray,
    int_start: int,
    core: slice,
    refs: Stage1Refs,
    params: Stage1Config,
    group_time: float,
    *,
    nints_total: int,
    pixeldq: np.ndarray | None = None,
    hot_pixel_map: np.ndarray | None = None,
    subarray: str = "SLITLESSPRISM",
    fused: bool | None = None,
) -> ChunkResult:
    """Run every Stage 1 step on a block of integrations (pure: arrays in, arrays out).

    Parameters
    ----------
    data, groupdq : (n, ngroups, ny, nx) raw DN (float32, or the stored big-endian int16
        of `read_integrations_raw`) and group DQ of the block, including any halo
        integrations.  `data` is corrected in place (the engine reads a
        fresh block per chunk), so a chunk costs one copy of its ramps, not one per step.
    int_start : absolute 0-based index of the block's first integration.
    core : the block's integrations whose slopes are wanted (the rest is halo).
    nints_total : integrations in the whole exposure (time-domain windows at its ends).
    fused : run the compiled passes of `exolrs.stage1.fused` (default: whenever the
        parameters allow, i.e. no up-the-ramp jumps and DQInit, Saturation and Linearity
        not skipped) or, when False, the step modules one after another (the reference).
    """
    if fused is None:
        fused = fusable(params)
    elif fused and not fusable(params):
        raise ValueError("the fused passes need DQInit, Saturation, Linearity, no up-ramp jumps")
    if data.dtype == np.dtype(">i2") and not fused:  # as read_integrations converts
        data = data.astype(np.float32)
        data += np.float32(32768.0)
    run = _fused_block if fused else _step_block
    return run(
        data,
        groupdq,
        int_start,
        core,
        refs,
        params,
        group_time,
        nints_total=nints_total,
        pixeldq=pixeldq,
        hot_pixel_map=hot_pixel_map,
        subarray=subarray,
    )


def fusable(params: Stage1Config) -> bool:
    """Whether `fused` can run these parameters (else the step modules run)."""
    skip = set(params.skip_steps)
    return not params.flag_up_ramp and not skip & {"dq_init", "saturation", "linearity"}


def _fused_block(
    data,
    groupdq,
    int_start,
    core,
    refs,
    params,
    group_time,
    *,
    nints_total,
    pixeldq,
    hot_pixel_map,
    subarray,
) -> ChunkResult:
    """`process_block` in the compiled passes of `exolrs.stage1.fused`."""
    clock = Clock()
    dn = WORKSPACE.take("dn", data.shape, np.float32) if data.dtype != np.float32 else None
    gdq = WORKSPACE.take("groupdq", groupdq.shape, np.uint8)
    pdq = _fused_prepare(
        data, groupdq, dn, gdq, int_start, refs, params, clock, pixeldq, hot_pixel_map, subarray
    )
    data = data if dn is None else dn
    fit = _fused_finish(
        data, gdq, pdq, int_start, core, refs, params, group_time, nints_total, clock
    )
    return _chunk_result(fit, int_start, core, clock)


def _fused_prepare(
    data, groupdq, dn, gdq, int_start, refs, params, clock, pixeldq, hot_pixel_map, subarray
) -> np.ndarray:
    """The passes before jump detection (DQ, saturation, EMI, reset, linearity, dark,
    dropped groups) on raw `data` and its uncal `groupdq`: the DN go to `dn` (float32, or
    None to correct a float32 `data` in place) and the flags to `gdq`; returns the pixel DQ.
    """
    skip = set(params.skip_steps)
    n, ng, ny, nx = data.shape
    pdq, gdq = dq_init.init_dq(
        groupdq, refs.mask, pixeldq=pixeldq, hot_pixel_map=hot_pixel_map, out=gdq
    )
    clock.lap("dq_init")
    level, pdq = saturation.saturation_levels(
        (ny, nx), pdq, refs.saturation, refs.saturation_dq, params.saturation_threshold
    )
    data, dnu_fraction = fused.flag_saturation(data, gdq, level, out=dn)
    clock.lap("saturation")
    patterns = basis = None
    if "emicorr" not in skip and not params.emicorr.skip:
        basis = emicorr.emi_basis(
            (ng, ny, nx),
            dnu_fraction,
            _emi_fundamentals(params, refs),
            params.emicorr.n_harmonics,
            subarray,
            params.miri_drop_groups,
        )
    if basis is not None:
        patterns = np.zeros((n, basis.v.shape[0], ng))
        for i in range(n):
            z, scatter, flagged = fused.emi_sums(data[i], gdq[i], basis)
            fit = emicorr.emi_fit(basis, z, scatter, flagged, 5.0)
            if fit is not None:
                patterns[i] = fit.pattern
        clock.lap("emicorr")
    reset_ref = None
    if "reset" not in skip and refs.reset is not None:
        reset_ref = refs.reset
        if refs.reset_dq is not None:
            pdq = pdq | refs.reset_dq
    coeffs, pdq = linearity.linearity_coefficients(refs.linearity, pdq, refs.linearity_dq)
    dark_ref = None
    if "dark" not in skip:
        dark_ref = refs.dark
        if refs.dark_dq is not None:
            pdq = pdq | refs.dark_dq
    fused.correct(
        data,
        gdq,
        int_start,
        emi_patterns=patterns,
        emi_v=None if basis is None else basis.v,
        reset=reset_ref,
        coeffs=coeffs,
        dark=dark_ref,
    )
    linearity.drop_groups(gdq, params.miri_drop_groups, inplace=True)
    clock.lap("correct")
    return pdq


def _fused_finish(data, gdq, pdq, int_start, core, refs, params, group_time, nints_total, clock):
    """Jump detection on the corrected block (its `core` flagged in place) and the fit of
    the core integrations."""
    skip = set(params.skip_steps)
    if "jump" not in skip and params.flag_in_time:
        fused.flag_jumps_in_time(
            data,
            gdq,
            refs.readnoise,
            refs.gain,
            threshold=params.time_rejection_threshold,
            window=params.time_window,
            int_start=int_start,
            nints_total=nints_total,
            core=core,
            shower_sigma=params.shower_sigma,
            shower_radius=params.shower_radius,
        )
        clock.lap("jump")
    fit = fused.fit_ramps(
        data[core],
        gdq[core],
        pdq,
        refs.readnoise,
        refs.gain,
        group_time,
        avg_dark=None if "dark" in skip else refs.avg_dark,
    )
    clock.lap("ramp_fit")
    return fit


def _step_block(
    data,
    groupdq,
    int_start,
    core,
    refs,
    params,
    group_time,
    *,
    nints_total,
    pixeldq,
    hot_pixel_map,
    subarray,
) -> ChunkResult:
    """`process_block` step module by step module (the reference path)."""

    skip = set(params.skip_steps)
    clock = Clock()
    lap = clock.lap
    pdq, gdq = dq_init.init_dq(
        groupdq,
        None if "dq_init" in skip else refs.mask,
        pixeldq=pixeldq,
        hot_pixel_map=hot_pixel_map,
    )
    lap("dq_init")
    if "saturation" not in skip:
        gdq, pdq = saturation.flag_saturation(
            data,
            gdq,
            pdq,
            refs.saturation,
            refs.saturation_dq,
            saturation_threshold=params.saturation_threshold,
        )
        lap("saturation")
    if "emicorr" not in skip and not params.emicorr.skip:
        data, _ = emicorr.correct_emi(
            data,
            gdq,
            frequencies=_emi_fundamentals(params, refs),
            n_harmonics=params.emicorr.n_harmonics,
            subarray=subarray,
            skip_groups=params.miri_drop_groups,
            inplace=True,
        )
        lap("emicorr")
    if "reset" not in skip and refs.reset is not None:
        data = reset.subtract_reset(data, refs.reset, int_start=int_start, inplace=True)
        if refs.reset_dq is not None:
            pdq = pdq | refs.reset_dq
        lap("reset")
    if "linearity" not in skip:
        data, gdq, pdq = linearity.correct_linearity(
            data, gdq, pdq, refs.linearity, refs.linearity_dq, inplace=True
        )
        lap("linearity")
    if "dark" not in skip:
        data = dark.subtract_dark(data, refs.dark, int_start=int_start, inplace=True)
        if refs.dark_dq is not None:
            pdq = pdq | refs.dark_dq
        lap("dark")
    gdq = linearity.drop_groups(gdq, params.miri_drop_groups)
    if "jump" not in skip:
        if params.flag_up_ramp:
            gdq = jump.flag_jumps_up_ramp(
                data,
                gdq,
                pdq,
                refs.readnoise,
                refs.gain,
                rejection_threshold=params.rejection_threshold,
            )
        if params.flag_in_time:
            gdq[core] = jump.flag_jumps_in_time(
                data,
                gdq,
                refs.readnoise,
                refs.gain,
                threshold=params.time_rejection_threshold,
                window=params.time_window,
                int_start=int_start,
                nints_total=nints_total,
                core=core,
                shower_sigma=params.shower_sigma,
                shower_radius=params.shower_radius,
            )
        lap("jump")
    fit = ramp_fit.fit_ramps(
        data[core],
        gdq[core],
        pdq,
        refs.readnoise,
        refs.gain,
        group_time,
        avg_dark=None if "dark" in skip else refs.avg_dark,
    )
    lap("ramp_fit")
    return _chunk_result(fit, int_start, core, clock)


def _chunk_result(fit, int_start: int, core: slice, clock: Clock) -> ChunkResult:
    """A block's fitted core integrations as a ChunkResult, with the step times."""
    a = int_start + (core.start or 0)
    return ChunkResult(
        start=a,
        stop=a + fit.slope.shape[0],
        slope=fit.slope,
        err=fit.err,
        dq=fit.dq,
        var_poisson=fit.var_poisson,
        var_rnoise=fit.var_rnoise,
        seconds=clock.seconds,
    )


def _emi_fundamentals(params: Stage1Config, refs: Stage1Refs) -> tuple[float, ...]:
    """EMI frequencies: the run file's list when set, else the EMICORR reference's."""
    if params.emicorr.frequencies:
        return tuple(params.emicorr.frequencies)
    return tuple(refs.emi_frequencies.values()) or (390.625,)


def time_window_of(params: Stage1Config) -> int:
    """Integrations in the time-domain jump window, 0 when that detection is off (a chunk
    then needs no neighbours)."""
    if params.flag_in_time and "jump" not in params.skip_steps:
        return params.time_window
    return 0


def plan_chunks(nints: int, chunk_ints: int, bounds: Iterable[tuple[int, int]]) -> list:
    """Core [start, stop) ranges: chunk_ints long, never crossing a segment boundary
    (so each chunk's slopes go to one rateints file)."""
    out = []
    for s0, s1 in bounds:
        out += [(a, min(a + chunk_ints, s1)) for a in range(s0, s1, chunk_ints)]
    if not out or out[-1][1] != nints:
        raise ExolrsError("segment integration ranges do not cover the exposure")
    return out


# Chunks a task reduces one after another, each reusing the corrected neighbours of the
# one before: fewer integrations corrected twice, and with ≥ 4 tasks per worker at full
# size the last task still leaves little idle time.
STRIPE_CHUNKS = 4


def plan_stripes(
    chunks: list[tuple[int, int]],
    per_stripe: int,
    bounds: Iterable[tuple[int, int]],
    single_tail: int = 0,
) -> list[tuple[int, int]]:
    """Runs of up to `per_stripe` consecutive chunks as [start, stop) ranges, never
    crossing a segment boundary (`bounds`: each segment's integration range), so that a
    run's slopes go to one rateints file.  The last `single_tail` chunks are tasks of their
    own: the workers then finish within about one chunk of each other instead of one stripe
    (one of two cores sat idle for ≈ 2 s at the end of the full simulation's run)."""
    head = len(chunks) - min(single_tail, len(chunks))
    starts = {s0 for s0, _ in bounds}
    out: list[list[int]] = []
    count = 0
    for a, b in chunks[:head]:
        if out and out[-1][1] == a and count < per_stripe and a not in starts:
            out[-1][1] = b
            count += 1
        else:
            out.append([a, b])
            count = 1
    return [(a, b) for a, b in out] + list(chunks[head:])


ProgressFn = Callable[[int, int], None]


@dataclass
class _Task:
    """One chunk: everything a worker needs to read and reduce it by itself (small to
    pickle: paths and parameters, never data)."""

    exposure: Exposure
    start: int
    stop: int
    window: int  # time-domain jump window (0: none), which sets the neighbours read
    ref_paths: dict
    params: Stage1Config
    group_time: float
    # the segment's product being written in place (set per stripe by `_stream`), and the
    # segment's first integration
    out: PlanesLayout | None = None
    out_first: int = 0


@dataclass
class _Written:
    """What a task that wrote its slopes into the product returns."""

    start: int
    stop: int
    seconds: dict[str, float]


def _run_task(task: _Task) -> _Written:
    """Reduce the task's stripe [start, stop) chunk by chunk (chunk_ints integrations) and
    write each chunk's slopes into `task.out`."""
    exp = task.exposure
    t0 = time.perf_counter()
    pixeldq = _pixeldq(exp)
    refs = load_stage1_refs(task.ref_paths, exp.header)
    hot = _hot_pixel_map(task.params.hot_pixel_map)
    subarray = str(exp.header.get("SUBARRAY", "SLITLESSPRISM"))
    setup = time.perf_counter() - t0
    seconds = []
    carry = None
    # one BLAS thread: a matrix product's rounding depends on the thread count, and dask
    # workers run single-threaded BLAS — this keeps every executor's products bit-identical
    with threadpool_limits(limits=1):
        for a in range(task.start, task.stop, task.params.chunk_ints):
            b = min(a + task.params.chunk_ints, task.stop)
            if fusable(task.params):
                part, carry = _fused_chunk(task, a, b, refs, pixeldq, hot, subarray, carry)
            else:
                part = _step_chunk(task, a, b, refs, pixeldq, hot, subarray)
            t0 = time.perf_counter()
            task.out.put(part.start - task.out_first, _planes(part))
            part.seconds["write"] = time.perf_counter() - t0
            seconds.append(part.seconds)
    seconds[0]["read"] = seconds[0].get("read", 0.0) + setup
    return _Written(task.start, task.stop, sum_seconds(seconds))


def _planes(result: ChunkResult) -> dict[str, np.ndarray]:
    """A chunk's slopes by the product's array names."""
    return {
        "SCI": result.slope,
        "ERR": result.err,
        "DQ": result.dq,
        "VAR_POISSON": result.var_poisson,
        "VAR_RNOISE": result.var_rnoise,
    }


def _step_chunk(task, a, b, refs, pixeldq, hot, subarray) -> ChunkResult:
    """One chunk through the step modules, read with its neighbours."""
    exp = task.exposure
    t0 = time.perf_counter()
    lo, hi = jump.time_span(a, b, task.window, exp.nints)
    data, groupdq = read_integrations(exp, lo, hi)
    t_read = time.perf_counter() - t0
    result = process_block(
        data,
        groupdq,
        lo,
        slice(a - lo, b - lo),
        refs,
        task.params,
        task.group_time,
        nints_total=exp.nints,
        pixeldq=pixeldq,
        hot_pixel_map=hot,
        subarray=subarray,
        fused=False,
    )
    result.seconds["read"] = t_read
    return result


@dataclass
class _Carry:
    """Corrected integrations [lo, hi) at the front of the block buffers, left by the
    previous chunk of a stripe (its core's last neighbours and its right halo), and the
    pixel DQ they were corrected with."""

    lo: int
    hi: int
    pdq: np.ndarray


def _fused_chunk(task, a, b, refs, pixeldq, hot, subarray, carry):
    """One chunk [a, b) through the compiled passes.  Integrations the previous chunk of
    the stripe already corrected (`carry`) are not read or corrected again: only the
    neighbours at a stripe's ends are done twice (the chunk-by-chunk design corrected
    window − 1 extra integrations on each side of every chunk).  Returns the chunk's
    result and the carry for the next chunk."""
    exp = task.exposure
    params = task.params
    frame = (exp.ngroups, exp.ny, exp.nx)
    lo, hi = jump.time_span(a, b, task.window, exp.nints)
    width = params.chunk_ints + 2 * max(task.window - 1, 0)
    block_dn = WORKSPACE.take("block_dn", (width, *frame), np.float32)
    block_dq = WORKSPACE.take("block_dq", (width, *frame), np.uint8)
    clock = Clock()
    kept = 0
    pdq = None
    if carry is not None and carry.lo == lo and carry.hi <= hi:
        kept, pdq = carry.hi - lo, carry.pdq
    if hi - lo > kept:
        new = (hi - lo - kept, *frame)
        raw, groupdq = read_integrations_raw(
            exp,
            lo + kept,
            hi,
            out=(WORKSPACE.take("sci", new, ">i2"), WORKSPACE.take("uncal_dq", new, np.uint8)),
        )
        clock.lap("read")
        pdq = _fused_prepare(
            raw,
            groupdq,
            block_dn[kept : hi - lo],
            block_dq[kept : hi - lo],
            lo + kept,
            refs,
            params,
            clock,
            pixeldq,
            hot,
            subarray,
        )
    core = slice(a - lo, b - lo)
    dn, dq = block_dn[: hi - lo], block_dq[: hi - lo]
    fit = _fused_finish(dn, dq, pdq, lo, core, refs, params, task.group_time, exp.nints, clock)
    result = _chunk_result(fit, lo, core, clock)
    # what the next chunk of the stripe needs from this block goes to the buffers' front
    nxt = None
    if b < task.stop:
        lo2, _ = jump.time_span(b, min(b + params.chunk_ints, task.stop), task.window, exp.nints)
        if lo <= lo2 < hi:
            # (numpy buffers an assignment between overlapping slices itself)
            block_dn[: hi - lo2] = block_dn[lo2 - lo : hi - lo]
            block_dq[: hi - lo2] = block_dq[lo2 - lo : hi - lo]
            nxt = _Carry(lo2, hi, pdq)
    return result, nxt


def _pixeldq(exposure: Exposure) -> np.ndarray:
    """The exposure's PIXELDQ, read once per process (every chunk of a run needs it)."""
    path = exposure.segments[0].path
    key = (str(path), path.stat().st_mtime_ns)  # a rewritten file is read again
    if key not in _PIXELDQ_CACHE:
        _PIXELDQ_CACHE.clear()
        _PIXELDQ_CACHE[key] = read_pixeldq(exposure)
    return _PIXELDQ_CACHE[key]


_PIXELDQ_CACHE: dict = {}


def _hot_pixel_map(path: Path | None) -> np.ndarray | None:
    """The optional extra hot-pixel map, read once per process (per file version)."""
    if path is None:
        return None
    mtime = Path(path).stat().st_mtime_ns if Path(path).exists() else None
    return _read_hot_pixel_map(str(path), mtime)


@functools.lru_cache(maxsize=2)
def _read_hot_pixel_map(path: str, mtime: int | None) -> np.ndarray:
    return read_hot_pixel_map(path)


class Stage1Products(list):
    """The rateints paths (a list, in segment order) with what the run learned: the step
    times summed over chunks, the resolved references (`refset`, None when finished
    products were reused) and the warnings of the inputs' validation."""

    def __init__(self, paths, step_seconds: dict | None = None, refset=None, warnings=None):
        super().__init__(paths)
        self.step_seconds = step_seconds or {}
        self.refset = refset
        self.warnings = list(warnings or [])  # what the inputs lacked and was rebuilt
        self.note: str | None = None  # why present products were recomputed


def run_stage1(
    files,
    output_dir: str | Path,
    *,
    params: Stage1Config | None = None,
    references: dict[str, Path] | None = None,
    crds_path: Path | None = None,
    executor=None,
    maximum_cores: int = 1,
    progress: ProgressFn | bool | None = None,
    force_redo: bool = False,
    **overrides,
) -> Stage1Products:
    """Stream uncal segments through every Stage 1 step; write one rateints per segment.

    Parameters
    ----------
    files : uncal segment paths, a glob or a directory.
    output_dir : where `<root>_rateints.fits` files are written.
    params : a `Stage1Config`; keyword `overrides` (e.g. ``miri_drop_groups=12``) replace
        its fields.
    references : reference-file overrides by reftype; others come from CRDS.
    executor : an `exolrs.parallel` executor; default: `maximum_cores` local processes
        (serial when 1).
    maximum_cores : worker processes when no executor is given.
    progress : callback ``progress(done_integrations, total)``, or True for a progress bar.
    force_redo : recompute even when every rateints file already exists.

    Returns the rateints paths, in segment order (a `Stage1Products` list that also carries
    the step times and the references used).
    """
    params = Stage1Config.model_validate({**(params or Stage1Config()).model_dump(), **overrides})
    exposure = discover_segments(files)
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExolrsError(f"cannot create output folder {out}: {exc.strerror}") from None
    targets = [product_name(p, "rateints", out) for p in exposure.paths]
    record = make_record(
        exposure.paths,
        params.model_dump(mode="json", exclude={"chunk_ints"}),
        {**(references or {}), "crds_path": crds_path},
    )
    reuse, note = reusable(out, "stage1", record, targets, force_redo)
    if reuse:
        log.info("Stage 1 products exist; reusing them (force_redo=True recomputes)")
        return Stage1Products(targets, warnings=exposure.warnings)
    if params.miri_drop_groups > exposure.ngroups - 3:
        raise ExolrsError(
            f"miri_drop_groups = {params.miri_drop_groups} leaves fewer than 2 usable groups of "
            f"{exposure.ngroups}; set it to at most {exposure.ngroups - 3}."
        )
    header = exposure.header
    refset = resolve_stage1_refs(header, references, crds_path)
    load_stage1_refs(refset.paths, header)  # fail early on a bad reference file
    group_time = float(header.get("TGROUP", header.get("TFRAME")))
    window = time_window_of(params)
    fingerprint = digest(record)
    done = [] if force_redo else finished_segments(targets, fingerprint)
    if done:
        log.info(
            "Stage 1: %d of %d segments were finished by a run with the same inputs and "
            "parameters; computing the other %d",
            len(done),
            len(targets),
            len(targets) - len(done),
        )
    chunks = [
        (a, b)
        for a, b in plan_chunks(exposure.nints, params.chunk_ints, exposure.ranges)
        if _segment_of(exposure, a) not in done
    ]
    own_executor = executor is None
    if own_executor:
        executor = make_executor("processes", maximum_cores)
    tail = STRIPE_CHUNKS * executor.workers if executor.workers > 1 else 0
    task = _Task(exposure, 0, 0, window, dict(refset.paths), params, group_time)
    stripes = plan_stripes(chunks, STRIPE_CHUNKS, exposure.ranges, tail)
    bar = None
    if progress is True:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task_id = bar.add_task("Stage 1", total=sum(b - a for a, b in chunks))
        progress = lambda done, total: bar.update(task_id, completed=done)  # noqa: E731
    try:
        keywords = {**_provenance(params, refset), "EXPROV": fingerprint}
        total = sum(b - a for a, b in chunks)
        totals = _stream(exposure, task, stripes, executor, targets, keywords, total, progress)
    finally:
        if bar is not None:
            bar.stop()
        if own_executor:
            executor.close()
    save_record(out, "stage1", record)
    products = Stage1Products(targets, totals, refset, exposure.warnings)
    products.note = note
    return products


def finished_segments(targets, fingerprint: str) -> list[int]:
    """The segments whose rateints a run with the same record already wrote (their EXPROV
    header keyword is `fingerprint`): an interrupted run resumes after them."""
    return [k for k, path in enumerate(targets) if product_digest(path) == fingerprint]


def _segment_of(exposure: Exposure, start: int) -> int:
    return next(k for k, (s0, s1) in enumerate(exposure.ranges) if s0 <= start < s1)


def _stream(exposure, task, stripes, executor, targets, keywords, total, progress) -> dict:
    """Run a task per stripe (`task` with its start and stop replaced); each segment's
    product is created when its first task is handed out, written by the workers in place,
    and renamed when complete (removed if the run fails).  Returns the step times summed
    over chunks."""
    totals: dict[str, float] = {}
    products: dict[int, ProductInPlace] = {}

    def tasks():
        for a, b in stripes:
            seg = _segment_of(exposure, a)
            s0, s1 = exposure.ranges[seg]
            if seg not in products:
                products[seg] = ProductInPlace(
                    targets[seg],
                    s1 - s0,
                    (exposure.ny, exposure.nx),
                    header=exposure.segment_headers[seg],
                    int_times=exposure.segment_int_times(seg),
                    extra_keywords=keywords,
                )
                products[seg].create()
            yield replace(task, start=a, stop=b, out=products[seg].layout, out_first=s0)

    done = 0
    try:
        for result in executor.ordered_map(_run_task, tasks()):
            seg = _segment_of(exposure, result.start)
            s0, s1 = exposure.ranges[seg]
            products[seg].mark(result.start - s0, result.stop - s0)
            if result.stop == s1:
                products.pop(seg).finish()
            totals = sum_seconds((totals, result.seconds))
            done += result.stop - result.start
            if progress:
                progress(done, total)
    finally:
        for product in products.values():  # a failed or interrupted run
            product.abandon()
    log.info("Stage 1 step times (s, summed over chunks): %s", totals)
    return totals


def _provenance(params: Stage1Config, refset) -> dict:
    keys = {"S_EXOLRS": ("COMPLETE", "exolrs Stage 1"), "DROPGRPS": params.miri_drop_groups}
    for k, v in refset.paths.items():
        keys[f"R_{k.upper()[:6]}"] = Path(v).name[-60:]
    return keys
