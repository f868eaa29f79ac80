"""Run the stages a run file asks for, resumably, and record what was done in `run.json`.

Products go to ``<output_dir>/Stage1`` (and later stages' folders); a stage whose products
exist is reused unless `force_redo`.  `run.json` records versions, the validated parameters,
the reference files used, wall time per stage (and per step for Stage 1) and peak memory.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Callable
from importlib import metadata

from exolrs.config import RunConfig
from exolrs.errors import ExolrsError
from exolrs.io.products import ensure_writable_dir

AVAILABLE_STAGES = (1,)


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
    """Run `stages` of the reduction described by `cfg`; returns the run record."""
    from exolrs.parallel import make_executor
    from exolrs.run import resolve_stage1_refs, run_stage1

    unknown = sorted(set(stages) - set(AVAILABLE_STAGES))
    if unknown:
        raise ExolrsError(
            f"stage(s) {unknown} are not available in this version; available: "
            f"{list(AVAILABLE_STAGES)}"
        )
    out = ensure_writable_dir(cfg.output_dir, " (`output_dir:` in the run file)")
    record: dict = {
        "target": cfg.target,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": _versions(),
        "parameters": json.loads(cfg.model_dump_json()),
        "stages": {},
    }
    if 1 in stages:
        t0 = time.perf_counter()
        with make_executor(
            cfg.parallel.backend, cfg.parallel.workers, cfg.parallel.scheduler
        ) as executor:
            paths = run_stage1(
                cfg.input,
                out / "Stage1",
                params=cfg.stage1,
                references=cfg.references,
                crds_path=cfg.crds_path,
                executor=executor,
                force_redo=force_redo,
                progress=(lambda d, n: progress("Stage 1", d, n)) if progress else None,
            )
        from exolrs.io.segments import discover_segments

        header = discover_segments(cfg.input).header
        refset = resolve_stage1_refs(header, cfg.references, cfg.crds_path)
        record["stages"]["1"] = {
            "products": [str(p) for p in paths],
            "wall_s": round(time.perf_counter() - t0, 2),
            "step_cpu_s": {
                k: round(v, 2) for k, v in getattr(run_stage1, "last_timings", {}).items()
            },
            "references": {k: str(v) for k, v in refset.paths.items()},
            "reference_sources": refset.sources,
        }
        run_stage1.last_timings = {}
    record["peak_rss"] = _peak_rss_mb()
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    path = out / "run.json"
    tmp = path.with_name(".run.json.part")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return record
