"""Benchmark: time and peak memory of simulating a preset to disk.

    python benchmarks/bench_simulate.py program2783 /scratch/dir --workers 2

Prints wall time, the size written and the peak RSS of the main process and of the worker
processes (getrusage), as JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

from exolrs.simulate import simulate_tso


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("preset")
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", action="store_true", help="keep the files (default: delete)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    result = simulate_tso(args.outdir, args.preset, seed=args.seed, workers=args.workers)
    wall = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in result["uncal"])
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {
        "preset": args.preset,
        "workers": args.workers,
        "nints": result["nints"],
        "ngroups": result["ngroups"],
        "wall_s": round(wall, 1),
        "uncal_bytes": size,
        "throughput_MB_s": round(size / wall / 1e6, 1),
        "peak_rss_main_MB": round(own, 1),
        "peak_rss_worker_MB": round(kids, 1),
    }
    if not args.keep:
        shutil.rmtree(args.outdir / "uncal", ignore_errors=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
