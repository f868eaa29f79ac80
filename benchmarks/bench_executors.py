"""Benchmark: Stage 1 on one simulated exposure with each executor — serial, local
processes, dask LocalCluster — wall time and whether the products are identical.

    python benchmarks/bench_executors.py SIMDIR [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from exolrs.config import Stage1Config
from exolrs.io import read_integrations_product
from exolrs.parallel import make_executor
from exolrs.stage1.engine import run_stage1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("simdir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    files = sorted((args.simdir / "uncal").glob("*_uncal.fits"))
    refs = {p.name.split("_")[2]: p for p in (args.simdir / "refs").iterdir()}
    params = Stage1Config(miri_drop_groups=12, time_rejection_threshold=7)
    report, first = {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for backend, workers in (
            ("serial", 1),
            ("processes", args.workers),
            ("dask", args.workers),
        ):
            out = Path(tmp) / backend
            t0 = time.perf_counter()
            with make_executor(backend, workers) as ex:
                paths = run_stage1(files, out, params=params, references=refs, executor=ex)
            wall = time.perf_counter() - t0
            sci = read_integrations_product(paths, arrays=("SCI",)).sci
            if first is None:
                first = sci
            report[backend] = {
                "wall_s": round(wall, 1),
                "identical_to_serial": bool(np.array_equal(sci, first, equal_nan=True)),
            }
            print(backend, report[backend], flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
