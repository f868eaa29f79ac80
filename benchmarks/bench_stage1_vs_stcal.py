"""Benchmark: exolrs Stage 1 kernels against stcal's on the same block of a simulated exposure,
and the raw read floor.

    python benchmarks/bench_stage1_vs_stcal.py SIMDIR [--nints 32] [--start 200]

The block goes through DQInit … dark exactly as in the engine, then is timed through
  * ramp fitting: exolrs `fit_ramps` vs stcal `ramp_fit_data` (OLS_C, one call, as
    calwebb_detector1 runs it);
  * jump detection: exolrs time-domain `flag_jumps_in_time` vs stcal's two-point difference
    (`detect_jumps_data`, the up-the-ramp engine calwebb_detector1 runs);
and the read floor is the time to read every integration of the exposure once (one process).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from exolrs.config import Stage1Config
from exolrs.io import discover_segments, read_integrations, read_pixeldq
from exolrs.stage1 import dark, dq_init, emicorr, jump, linearity, ramp_fit, saturation
from exolrs.stage1.references import load_stage1_refs, resolve_stage1_refs


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("simdir", type=Path)
    ap.add_argument("--nints", type=int, default=32)
    ap.add_argument("--start", type=int, default=200)
    ap.add_argument("--drop", type=int, default=12)
    args = ap.parse_args()
    exp = discover_segments(sorted((args.simdir / "uncal").glob("*_uncal.fits")))
    refs = {p.name.split("_")[2]: p for p in (args.simdir / "refs").iterdir()}
    r = load_stage1_refs(resolve_stage1_refs(exp.header, refs).paths, exp.header)
    p = Stage1Config(miri_drop_groups=args.drop)
    a, b = args.start, args.start + args.nints
    data, gdq = read_integrations(exp, a, b)
    pdq, gdq = dq_init.init_dq(gdq, r.mask, pixeldq=read_pixeldq(exp))
    gdq, pdq = saturation.flag_saturation(data, gdq, pdq, r.saturation, r.saturation_dq)
    data, _ = emicorr.correct_emi(data, gdq, (390.625,), 3, skip_groups=args.drop, inplace=True)
    data, gdq, pdq = linearity.correct_linearity(data, gdq, pdq, r.linearity, inplace=True)
    data = dark.subtract_dark(data, r.dark, a, inplace=True)
    gdq = linearity.drop_groups(gdq, p.miri_drop_groups)
    tg = float(exp.header["TGROUP"])

    ours, t_fit = _timed(ramp_fit.fit_ramps, data, gdq, pdq, r.readnoise, r.gain, tg)
    theirs, t_stcal_fit = _timed(ramp_fit._fit_one, data, gdq, pdq, r.readnoise, r.gain, tg, None)
    same = np.allclose(ours.slope, theirs.slope, rtol=1e-4, atol=1e-4, equal_nan=True)

    _, t_jump = _timed(
        jump.flag_jumps_in_time,
        data,
        gdq,
        r.readnoise,
        r.gain,
        threshold=7,
        window=5,
        int_start=a,
        nints_total=exp.nints,
        core=slice(jump.time_halo(5), args.nints - jump.time_halo(5)),
    )
    t_jump *= args.nints / (args.nints - 2 * jump.time_halo(5))  # per-integration basis
    _, t_stcal_jump = _timed(jump.flag_jumps_up_ramp, data, gdq, pdq, r.readnoise, r.gain)

    t0 = time.perf_counter()
    for c in range(0, exp.nints, 32):
        read_integrations(exp, c, min(c + 32, exp.nints))
    t_read = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "nints_block": args.nints,
                "ngroups": exp.ngroups,
                "ramp_fit_s": {
                    "exolrs": round(t_fit, 2),
                    "stcal_OLS_C": round(t_stcal_fit, 2),
                    "speedup": round(t_stcal_fit / t_fit, 1),
                    "slopes_agree_1e-4": bool(same),
                },
                "jump_s": {
                    "exolrs_time_domain": round(t_jump, 2),
                    "stcal_two_point": round(t_stcal_jump, 2),
                    "speedup": round(t_stcal_jump / t_jump, 1),
                },
                "read_floor_s": {
                    "all_integrations_one_process": round(t_read, 1),
                    "nints": exp.nints,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
