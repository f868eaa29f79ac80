"""Benchmark: Stage 1 on a simulated exposure — wall time, per-step time, peak RSS.

    python benchmarks/bench_stage1.py SIMDIR [--workers 2] [--chunk 16] [--nints N]

SIMDIR is a folder written by `exolrs simulate` (uses its uncal/ and refs/).  With --nints,
only the first N integrations' chunks are reduced (a subset timing, reported as such).
Prints one JSON line: wall seconds, integrations per second, per-step CPU seconds summed over
chunks, and peak RSS of the main process and of the workers (getrusage).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from exolrs.config import Stage1Config
from exolrs.io import discover_segments
from exolrs.parallel import make_executor
from exolrs.stage1.engine import run_stage1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("simdir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--segments", type=int, default=None, help="reduce only the first N")
    ap.add_argument("--drop", type=int, default=12)
    args = ap.parse_args()
    files = sorted((args.simdir / "uncal").glob("*_uncal.fits"))
    exposure = discover_segments(files)
    refs = {p.name.split("_")[2]: p for p in (args.simdir / "refs").iterdir()}
    params = Stage1Config(
        chunk_ints=args.chunk, miri_drop_groups=args.drop, time_rejection_threshold=7
    )
    if args.segments:
        # a contiguous subset of whole segments, so the engine sees a valid exposure
        raise SystemExit("--segments is not supported: the engine validates whole exposures")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        with make_executor("processes", args.workers) as ex:
            products = run_stage1(files, out, params=params, references=refs, executor=ex)
        wall = time.perf_counter() - t0
    report = {
        "nints": exposure.nints,
        "ngroups": exposure.ngroups,
        "workers": args.workers,
        "chunk_ints": args.chunk,
        "wall_s": round(wall, 1),
        "ints_per_s": round(exposure.nints / wall, 2),
        "step_cpu_s": {k: round(v, 1) for k, v in products.step_seconds.items()},
        "peak_rss_main_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_worker_MB": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
