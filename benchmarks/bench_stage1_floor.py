"""Benchmark: Stage 1 wall time over the read floor, measured back to back.

    python benchmarks/bench_stage1_floor.py SIMDIR [--workers 2] [--repeat 3] [--chunk N]
                                                   [--out DIR]

SIMDIR is a folder written by `exolrs simulate`; Stage 1 runs with its run file's `stage1`
settings and references.  Each repeat first reads every raw integration once in one process
(the read floor: `read_integrations` in blocks of 32, as bench_stage1_vs_stcal.py), then runs
Stage 1 on `workers` processes, so the ratio of the two is measured under the same machine
load.  Prints one JSON line: every repeat's times and ratio, the min and median ratio, and the
CPU seconds by step of each repeat (the profile: summed over chunks and processes) and the
workers' peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from exolrs.config import load_config
from exolrs.io import discover_segments, read_integrations
from exolrs.parallel import make_executor
from exolrs.stage1.engine import run_stage1


def read_floor(files) -> float:
    """Seconds to read every raw integration of the exposure once, in one process."""
    exp = discover_segments(files)
    t0 = time.perf_counter()
    for a in range(0, exp.nints, 32):
        read_integrations(exp, a, min(a + 32, exp.nints))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("simdir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="keep the rateints here")
    ap.add_argument("--chunk", type=int, default=None, help="chunk_ints (default: run file's)")
    args = ap.parse_args()
    cfg = load_config(args.simdir / "exolrs.yaml")
    if args.chunk:
        cfg.stage1.chunk_ints = args.chunk
    files = sorted((args.simdir / "uncal").glob("*_uncal.fits"))
    exposure = discover_segments(files)
    runs = []
    for _ in range(args.repeat):
        floor = read_floor(files)
        with tempfile.TemporaryDirectory() as tmp:
            out = args.out or Path(tmp)
            t0 = time.perf_counter()
            with make_executor("processes", args.workers) as ex:
                products = run_stage1(
                    files,
                    out,
                    params=cfg.stage1,
                    references=cfg.references,
                    executor=ex,
                    force_redo=True,
                )
            wall = time.perf_counter() - t0
        runs.append(
            {
                "read_floor_s": round(floor, 2),
                "stage1_s": round(wall, 2),
                "ratio": round(wall / floor, 2),
                "step_cpu_s": {k: round(v, 2) for k, v in products.step_seconds.items()},
            }
        )
    ratios = [r["ratio"] for r in runs]
    print(
        json.dumps(
            {
                "nints": exposure.nints,
                "ngroups": exposure.ngroups,
                "workers": args.workers,
                "chunk_ints": cfg.stage1.chunk_ints,
                "ratio_min": min(ratios),
                "ratio_median": statistics.median(ratios),
                "runs": runs,
                "peak_rss_worker_MB": round(
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
