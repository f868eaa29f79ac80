"""Compare two Stage 4 runs on the same spectra (files written by bench_stage4.py --save).

    python benchmarks/compare_stage4.py BEFORE.json AFTER.json

Prints one JSON line: per channel, the difference of the depth medians in units of the
before-run's σ and the ratio of the 1σ widths (after / before), summarised as the largest
|Δ median| / σ, the mean Δ / σ, and the median and range of the width ratios; and both runs'
shortest chain in autocorrelation times.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def load(path: Path) -> dict:
    record = json.loads(path.read_text())
    return {k: np.asarray(v, float) for k, v in record["channels"].items()}


def compare(before: dict, after: dict) -> dict:
    """Medians and widths of the depth, channel by channel."""
    if not np.allclose(before["wavelength"], after["wavelength"]):
        raise SystemExit("the two runs have different channels")
    width_b = 0.5 * (before["depth_err_low"] + before["depth_err_high"])
    width_a = 0.5 * (after["depth_err_low"] + after["depth_err_high"])
    shift = (after["depth"] - before["depth"]) / width_b
    ratio = width_a / width_b
    return {
        "n_channels": len(shift),
        "max_abs_median_shift_sigma": float(np.max(np.abs(shift))),
        "mean_median_shift_sigma": float(np.mean(shift)),
        "width_ratio_median": float(np.median(ratio)),
        "width_ratio_range": [float(ratio.min()), float(ratio.max())],
        "steps_over_autocorr_min": [
            float(before["steps_over_autocorr"].min()),
            float(after["steps_over_autocorr"].min()),
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    print(json.dumps(compare(load(args.before), load(args.after))))


if __name__ == "__main__":
    main()
