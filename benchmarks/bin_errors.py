"""Per-bin depth errors of a reduced spectrum against the published program 2783 ones.

    python benchmarks/bin_errors.py SPECTRUM.ecsv [--label NAME]

SPECTRUM is a Stage 4 `transmission_spectrum.ecsv` fitted in the published spectrum's
0.25 µm bins (`stage4: {binning: width, bin_width: 0.25}`).  Prints, and appends to
results/<date>-bin-errors.json under `--label`, each checked wavelength's error (mean of the
two sides, ppm) over the published error of that bin, and, when the spectrum carries the
injected depth, χ²ν and the mean bias (σ) over all its channels.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.simulate.calibration import published_spectrum

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)

CHECK = (5.1, 7.4, 9.1, 10.1, 11.9)  # the wavelengths the realism issue quotes


def bin_errors(spectrum: Table, published: Table) -> dict:
    """{wavelength: our error, the published one and their ratio} at the checked bins."""
    w = np.asarray(spectrum["wavelength"], float)
    err = 0.5e6 * (np.asarray(spectrum["depth_err_low"]) + np.asarray(spectrum["depth_err_high"]))
    centres = np.asarray(published["wl_center_um"], float)
    out = {}
    for lam in CHECK:
        k = int(np.argmin(abs(centres - lam)))
        j = int(np.argmin(abs(w - centres[k])))
        if abs(w[j] - centres[k]) > 0.05:
            raise SystemExit(f"no channel at {centres[k]} µm: fit the 0.25 µm bins first")
        pub = float(published["depth_err_ppm"][k])
        out[f"{lam}"] = {
            "bin_um": float(centres[k]),
            "error_ppm": round(float(err[j]), 1),
            "published_ppm": pub,
            "ratio": round(float(err[j]) / pub, 3),
        }
    return out


def truth_metrics(spectrum: Table) -> dict:
    if "truth_depth" not in spectrum.colnames:
        return {}
    err = 0.5 * (np.asarray(spectrum["depth_err_low"]) + np.asarray(spectrum["depth_err_high"]))
    z = (np.asarray(spectrum["depth"]) - np.asarray(spectrum["truth_depth"])) / err
    return {
        "chi2_nu": round(float(np.mean(z**2)), 3),
        "mean_bias_sigma": round(float(np.mean(z)), 3),
        "n_channels": int(z.size),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spectrum", type=Path)
    ap.add_argument("--label", default="run")
    args = ap.parse_args()
    spectrum = Table.read(args.spectrum)
    row = {
        "spectrum": str(args.spectrum),
        "bins": bin_errors(spectrum, published_spectrum()),
        **truth_metrics(spectrum),
    }
    print(json.dumps(row, indent=1))
    compare.append_result("bin-errors", args.label, row)


if __name__ == "__main__":
    main()
