"""Benchmark: Stages 2 and 3 on Stage 1 products — wall time per step and peak RSS.

    python benchmarks/bench_stage23.py SIMDIR STAGE1_DIR [--method box|optimal]

SIMDIR holds the simulation's refs/; STAGE1_DIR the rateints.  Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from exolrs.stage2.engine import run_stage2
from exolrs.stage3.engine import run_stage3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("simdir", type=Path)
    ap.add_argument("stage1", type=Path)
    ap.add_argument("--method", default="box")
    args = ap.parse_args()
    refs = {p.name.split("_")[2]: p for p in (args.simdir / "refs").iterdir()}
    rateints = sorted(args.stage1.glob("*_rateints.fits"))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        s2 = run_stage2(rateints, Path(out) / "S2", references=refs, do_plot=False)
        t2 = time.perf_counter() - t0
        t0 = time.perf_counter()
        s3 = run_stage3(
            s2.calints, s2.deep_frame, Path(out) / "S3", extract_method=args.method, do_plot=False
        )
        t3 = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "segments": len(rateints),
                "stage2_s": round(t2, 1),
                "stage2_steps_s": s2.seconds,
                "stage3_s": round(t3, 1),
                "stage3_steps_s": s3.seconds,
                "method": args.method,
                "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
