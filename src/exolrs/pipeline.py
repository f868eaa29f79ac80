"""Run the stages a run file asks for, resumably, and record what was done in `run.json`.

Products go to ``<output_dir>/Stage1`` (and later stages' folders); a stage whose products
exist is reused unless `force_redo`.  `run.json` records versions, the validated parameters,
the reference files used, wall time per stage (and per step for Stage 1) and peak memory.
"""

from __future__ import annotations

import json
import logging
import platform
import resource
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from astropy.io import fits

from exolrs.config import RunConfig
from exolrs.errors import ExolrsError
from exolrs.io.inputs import FIRST_STAGE, classify_inputs
from exolrs.io.products import ensure_writable_dir
from exolrs.io.tables import write_json

AVAILABLE_STAGES = (1, 2, 3, 4)


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("exolrs", "numpy", "scipy", "astropy", "stcal", "stdatamodels", "jwst"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _peak_rss_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"main_MB": round(own), "largest_worker_MB": round(kids)}


def run_pipeline(
    cfg: RunConfig,
    stages=AVAILABLE_STAGES,
    *,
    force_redo: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Run `stages` of the reduction described by `cfg`; returns the run record.  The run's
    log goes to `<output_dir>/exolrs.log`."""
    unknown = sorted(set(stages) - set(AVAILABLE_STAGES))
    if unknown:
        raise ExolrsError(
            f"stage(s) {unknown} are not available in this version; available: "
            f"{list(AVAILABLE_STAGES)}"
        )
    out = ensure_writable_dir(cfg.output_dir, " (`output_dir:` in the run file)")
    handler = logging.FileHandler(out / "exolrs.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("exolrs")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        return _run(cfg, stages, out, force_redo, progress)
    finally:
        root.removeHandler(handler)
        handler.close()


def preflight(cfg: RunConfig, stages):
    """The run file's ranges against the exposure, before any work (each stage checks its
    own again when run alone): `baseline_ints`, `drop_first` and `extract_width` against
    NINTS and the subarray; Stage 1 checks `miri_drop_groups` against NGROUPS.  Returns the
    discovered exposure, which Stage 1 then uses (the segments are read once)."""
    from exolrs.io.segments import discover_segments
    from exolrs.stage2.engine import baseline_of
    from exolrs.stage3.engine import check_extract_width
    from exolrs.stage4.engine import check_drop_first

    exposure = discover_segments(cfg.input)
    if 2 in stages:
        baseline_of(cfg.stage2.baseline_ints, exposure.nints)
    if 3 in stages:
        check_extract_width(cfg.stage3.extract_width, exposure.nx)
    if 4 in stages:
        check_drop_first(cfg.stage4.drop_first, exposure.nints)
    return exposure


def _input_kind(files, stages, out: Path, log) -> tuple[str, list[Path]]:
    """The run's input kind and files; when they are gone (raw segments deleted after
    Stage 1) but the run starts after Stage 1 and the output folder holds the previous
    stage's products, ("uncal", []): those products are the input."""
    try:
        return classify_inputs(files)
    except ExolrsError:
        first = min(stages, default=1)
        previous = out / f"Stage{first - 1}"
        if first == 1 or not previous.is_dir() or not any(previous.iterdir()):
            raise
        log.info("input %s not found; Stage %d reads %s", files, first, previous)
        return "uncal", []


def _run(cfg: RunConfig, stages, out: Path, force_redo: bool, progress) -> dict:
    from exolrs.parallel import make_executor
    from exolrs.stage1.engine import run_stage1
    from exolrs.stage1.references import resolve_stage1_refs

    log = logging.getLogger("exolrs.pipeline")
    log.info("run of %s, stages %s, output %s", cfg.target, list(stages), out)
    record: dict = {
        "target": cfg.target,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": _versions(),
        "parameters": json.loads(cfg.model_dump_json()),
        "stages": {},
    }
    kind, inputs = _input_kind(cfg.input, stages, out, log)
    first = FIRST_STAGE[kind]
    stage2_params = cfg.stage2
    if kind == "calints" and "BKG_METH" not in fits.getheader(inputs[0]):
        # jwst calints (tso-spec2 subtracts no background and leaves bad pixels as NaN):
        # Stage 2's remaining steps run on them, the flat already applied
        first = 2
        skip = sorted({*cfg.stage2.skip_steps, "flat_field"})
        stage2_params = cfg.stage2.model_copy(update={"skip_steps": skip})
    if first > 1:
        skipped = [s for s in stages if s < first]
        stages = [s for s in stages if s >= first]
        if not stages:
            raise ExolrsError(
                f"the input is {kind} (MAST products that Stage {first} starts from); stage(s) "
                f"{skipped} cannot run on it. Give uncal segments, or --stages {first},…"
            )
        if skipped:
            log.info("input is %s: starting at Stage %d (skipping %s)", kind, first, skipped)
        record["input"] = {"kind": kind, "files": [str(p) for p in inputs], "skipped": skipped}
    exposure = preflight(cfg, stages) if kind == "uncal" and inputs else None
    if 1 in stages:
        t0 = time.perf_counter()
        with make_executor(
            cfg.parallel.backend, cfg.parallel.workers, cfg.parallel.scheduler
        ) as executor:
            paths = run_stage1(
                exposure if exposure is not None else cfg.input,
                out / "Stage1",
                params=cfg.stage1,
                references=cfg.references,
                crds_path=cfg.crds_path,
                executor=executor,
                force_redo=force_redo,
                progress=(lambda d, n: progress("Stage 1", d, n)) if progress else None,
            )
        refset = paths.refset
        if refset is None:  # products reused: say which references they would use now
            from exolrs.io.segments import discover_segments

            header = (exposure or discover_segments(cfg.input)).header
            refset = resolve_stage1_refs(header, cfg.references, cfg.crds_path)
        record.setdefault("warnings", []).extend(paths.warnings)
        if paths.note:
            record.setdefault("notes", []).append(paths.note)
        record["stages"]["1"] = {
            "products": [str(p) for p in paths],
            "wall_s": round(time.perf_counter() - t0, 2),
            "step_cpu_s": {k: round(v, 2) for k, v in paths.step_seconds.items()},
            "references": {k: str(v) for k, v in refset.paths.items()},
            "reference_sources": refset.sources,
        }
    if 2 in stages:
        from exolrs.stage2.engine import run_stage2

        t0 = time.perf_counter()
        if kind in ("rateints", "calints"):
            rateints = inputs
        else:
            rateints = sorted((out / "Stage1").glob("*_rateints.fits"))
        if not rateints:
            raise ExolrsError(f"no Stage 1 products in {out / 'Stage1'}; run stage 1 first")
        r2 = run_stage2(
            rateints,
            out / "Stage2",
            target=cfg.target,
            params=stage2_params,
            references=cfg.references,
            crds_path=cfg.crds_path,
            force_redo=force_redo,
            progress=(lambda d, n: progress("Stage 2", d, n)) if progress else None,
        )
        if r2.note:
            record.setdefault("notes", []).append(r2.note)
        record["stages"]["2"] = {
            "products": [str(p) for p in (*r2.calints, r2.deep_frame, r2.hot_pixel_map)],
            "wall_s": round(time.perf_counter() - t0, 2),
            "step_s": r2.seconds,
            "bad_pixels": r2.n_bad_pixels,
            "time_outliers": r2.n_time_outliers,
            "wandering_pixels": r2.n_wandering_pixels,
            "trace_x": r2.trace_x,
            "resumed_segments": r2.resumed_segments,
            "figures": [str(f) for f in r2.figures],
        }
    if 3 in stages:
        from exolrs.stage3.engine import run_stage3

        t0 = time.perf_counter()
        if kind == "calints" and first == 3:  # calints of exolrs' Stage 2 without a deep frame
            calints, deep = inputs, None
        else:
            calints = sorted((out / "Stage2").glob("*_calints.fits"))
            deep = out / "Stage2" / f"{cfg.target}_deepframe.fits"
            if not calints or not deep.exists():
                raise ExolrsError(f"no Stage 2 products in {out / 'Stage2'}; run stage 2 first")
        r3 = run_stage3(
            calints,
            deep,
            out / "Stage3",
            target=cfg.target,
            params=cfg.stage3,
            force_redo=force_redo,
            references=cfg.references,
            crds_path=cfg.crds_path,
        )
        if r3.note:
            record.setdefault("notes", []).append(r3.note)
        record["stages"]["3"] = {
            "products": [str(r3.spectra), str(r3.centroids)],
            "wall_s": round(time.perf_counter() - t0, 2),
            "step_s": r3.seconds,
            "figures": [str(f) for f in r3.figures],
        }
    if 4 in stages:
        from exolrs.stage4.engine import run_stage4

        t0 = time.perf_counter()
        if kind == "x1dints":
            spectra = inputs[0]
        else:
            method = cfg.stage3.extract_method
            spectra = out / "Stage3" / f"{cfg.target}_{method}_spectra_fullres.fits"
        if not spectra.exists():
            raise ExolrsError(f"no Stage 3 spectra at {spectra}; run stage 3 first")
        with make_executor(
            cfg.parallel.backend, cfg.parallel.workers, cfg.parallel.scheduler
        ) as executor:
            r4 = run_stage4(
                spectra,
                out / "Stage4",
                params=cfg.stage4,
                truth=cfg.truth,
                detrend_table=out / "Stage2" / f"{cfg.target}_pca_timeseries.ecsv",
                executor=executor,
                force_redo=force_redo,
                progress=(lambda d, n: progress("Stage 4 channels", d, n)) if progress else None,
                white_progress=(lambda d, n: progress("Stage 4 white fit (chain / τ)", d, n))
                if progress
                else None,
            )
        if r4.note:
            record.setdefault("notes", []).append(r4.note)
        record.setdefault("warnings", []).extend(r4.warnings)
        record["stages"]["4"] = {
            "products": [
                str(p) for p in (r4.spectrum, r4.white_fit, r4.channel_fits, r4.light_curves)
            ],
            "wall_s": round(time.perf_counter() - t0, 2),
            "step_s": r4.seconds,
            "truth_metrics": r4.truth_metrics,
            "figures": [str(f) for f in r4.figures],
        }
    record["peak_rss"] = _peak_rss_mb()
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(record, out / "run.json")
    return record
