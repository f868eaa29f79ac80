"""Scale benchmark: a 24-hour phase-curve-length observation through Stages 1–3.

    python benchmarks/bench_phase_curve.py SIMDIR OUTDIR [--nints 5400] [--workers 2]

Simulates (once; reused when SIMDIR/uncal exists) program 2783's scene and readout (100
groups, FASTR1, 15.9 s integrations, 200 integrations a segment) for `nints` integrations
(5 400 ≈ 24 h), then runs `benchmarks/compare.py` on it with no peer and no Stage 4: exolrs
Stages 1–3 from the command line, the wall time of each stage and the peak of the summed
RSS of every process, written as results/<date>-compare-phase-curve-24h.json and into
docs/benchmarks.md and its scaling figure beside the other sizes.  The transit sits in the
middle of the day; the cost of Stages 1–3 does not depend on the light curve.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def simulate(simdir: Path, nints: int, workers: int) -> float:
    from exolrs.simulate import simulate_tso
    from exolrs.simulate.config import preset

    cfg = preset("program2783")
    cfg.preset, cfg.nints = "phase-curve-24h", nints
    t0 = time.perf_counter()
    simulate_tso(simdir, config=cfg, workers=workers)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simdir", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--nints", type=int, default=5400)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if not any((args.simdir / "uncal").glob("*_uncal.fits")):
        print(f"[phase curve] simulated in {simulate(args.simdir, args.nints, args.workers):.0f} s")
    import compare

    compare.compare(
        argparse.Namespace(
            simdir=args.simdir,
            outdir=args.outdir,
            peers="",
            exotedrf_max_ints=None,
            jwst_max_ints=None,
            workers=args.workers,
            label="phase-curve-24h",
            no_fit=True,
            reuse=False,
        )
    )


if __name__ == "__main__":
    main()
