"""Benchmark: Stage 4 on a Stage 3 spectra file — white fit and channel fits, wall time.

    python benchmarks/bench_stage4.py SPECTRA TRUTH_JSON TRUTH_ECSV [--channels 60 |
        --resolution 20 | --bin-width 0.25] [--detrend x_shift,y_shift] [--white-range 5,12]
        [--red-noise gp] [--save spectrum.json]

Channels are constant-R bins over 5–12 µm (R given, or chosen to give about --channels of
them) or bins of --bin-width µm; fits run in 2 local processes.  Prints one JSON line with
times, the injection–recovery metrics against the truth and the convergence (steps/τ of the
white fit and of the channels); --save writes the spectrum (depths, errors, steps/τ) for
comparing two runs.  The same script runs against older checkouts (PYTHONPATH=…/src), so it
only passes keys every version knows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.config import Stage4Config
from exolrs.parallel import ProcessExecutor
from exolrs.stage4.engine import run_stage4


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spectra", type=Path)
    ap.add_argument("truth_json", type=Path)
    ap.add_argument("truth_ecsv", type=Path)
    ap.add_argument("--channels", type=int, default=60)
    ap.add_argument("--resolution", type=float, default=None)
    ap.add_argument("--bin-width", type=float, default=None)
    ap.add_argument("--save", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--detrend", default="", help="comma-separated vectors, e.g. x_shift,y_shift")
    ap.add_argument("--white-range", default="5,12", help="white light curve range (µm)")
    ap.add_argument("--red-noise", default=None, help="stage4 red_noise (default: the run file's)")
    args = ap.parse_args()
    extra = {"red_noise": args.red_noise} if args.red_noise else {}
    truth = json.loads(args.truth_json.read_text())
    orbit = truth["orbit"]
    params = Stage4Config(
        planet={"period": orbit["period_days"], "a": round(orbit["a_rs"], 1), "b": 0.4},
        resolution=args.resolution or args.channels / np.log(12 / 5),
        binning="width" if args.bin_width else "R",
        seed=args.seed,
        bin_width=args.bin_width or 0.25,
        detrend=[v for v in args.detrend.split(",") if v],
        white_range=[float(v) for v in args.white_range.split(",")],
        **extra,
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out, ProcessExecutor(args.workers) as ex:
        r = run_stage4(
            args.spectra, out, params=params, truth=args.truth_ecsv, executor=ex, do_plot=False
        )
        white = json.loads(r.white_fit.read_text())
        channels = Table.read(r.channel_fits)
    spectrum = {
        c: [float(x) for x in channels[c]]
        for c in ("wavelength", "depth", "depth_err_low", "depth_err_high", "steps_over_autocorr")
    }
    if args.save:
        args.save.write_text(json.dumps({"white": white, "channels": spectrum}, default=float))
    rp_true = float(np.sqrt(truth["white_depth_5_12um"]))
    print(
        json.dumps(
            {
                "wall_s": round(time.perf_counter() - t0, 1),
                "seconds": r.seconds,
                "truth": r.truth_metrics,
                "white_rp": [white["best"]["rp"], white["err_low"]["rp"], white["err_high"]["rp"]],
                "white_rp_true": rp_true,
                "residual_over_expected": white["residual_rms_ppm"] / white["expected_noise_ppm"],
                "steps_over_autocorr": white["steps_over_autocorr"],
                "channel_steps_over_autocorr_min": min(spectrum["steps_over_autocorr"]),
                "white_gp": [white.get("gp_amplitude"), white.get("gp_timescale_min")],
                "channels_with_gp": int(np.sum(np.isfinite(channels["gp_amplitude"])))
                if "gp_amplitude" in channels.colnames
                else 0,
                "n_channels": len(spectrum["depth"]),
                "allan_slope": white["allan_slope"],
                "detrend": params.detrend,
            }
        )
    )


if __name__ == "__main__":
    main()
