"""How a flat field's pixel errors move a transmission spectrum: measured against predicted.

    python benchmarks/flat_dilution.py SIMDIR EXACT_RUN WRONG_RUN [--aperture 6] [--label NAME]

SIMDIR is an `exolrs simulate` folder (its `truth_rows.ecsv` gives each row's stellar rate,
background and trace column); EXACT_RUN and WRONG_RUN are the folders of two run files that
reduced it, the first with the simulation's own flat, the second with a flat that differs
from it pixel by pixel (each holds `exolrs.yaml`, whose `references: flat:` is read, and the
reduction its `output_dir` names).

A flat field divides star and background alike.  For the star a wrong flat is a constant
factor per pixel, which cancels in relative photometry.  For the background it does not: the
background is measured beside the trace and subtracted, so a pixel whose flat is wrong by ε
keeps a residual −ε·B under the trace, the same in every integration.  That static offset
dilutes the transit: a channel's depth moves by depth × B Σ ε / S over its aperture pixels
(S the channel's stellar flux).  This script computes that prediction for every channel of
WRONG_RUN's spectrum and sets it beside the measured shift (WRONG − EXACT depth), and appends
both to results/<date>-flat-dilution.json under `--label`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits
from astropy.table import Table

from exolrs.stage3.extract_box import aperture_weights

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)


def predicted_shift(rows: Table, eps: np.ndarray, spectrum: Table, aperture: float) -> np.ndarray:
    """Each channel's depth shift from the flat errors `eps` (ny, nx) acting on the
    background of a box of `aperture` columns centred on the trace (the box's pixel
    weights are Stage 3's own, `aperture_weights`: pixel j spans j − ½ … j + ½)."""
    wave = np.asarray(rows["wavelength"], float)
    weights = aperture_weights(np.asarray(rows["trace_x"], float), aperture, eps.shape[-1])
    residual = np.asarray(rows["background"], float) * (weights * eps).sum(axis=1)
    star = np.asarray(rows["star_rate"], float)
    out = []
    for w, hw, depth in zip(
        spectrum["wavelength"], spectrum["bin_half_width"], spectrum["depth"], strict=True
    ):
        sel = (wave >= w - hw) & (wave < w + hw)
        out.append(depth * residual[sel].sum() / star[sel].sum())
    return np.asarray(out)


def _run(folder: Path) -> tuple[Table, np.ndarray]:
    cfg = yaml.safe_load((folder / "exolrs.yaml").read_text())
    out = Path(cfg["output_dir"])
    spectrum = Table.read(out / "Stage4" / "transmission_spectrum.ecsv")
    flat = fits.getdata(cfg["references"]["flat"], "SCI").astype(float)
    return spectrum, flat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simdir", type=Path)
    ap.add_argument("exact", type=Path)
    ap.add_argument("wrong", type=Path)
    ap.add_argument("--aperture", type=float, default=6.0, help="stage3 extract_width")
    ap.add_argument("--label", default="run")
    args = ap.parse_args()
    rows = Table.read(args.simdir / "truth_rows.ecsv")
    exact, flat0 = _run(args.exact)
    wrong, flat1 = _run(args.wrong)
    # the flat divides: a reference too high by ε leaves (1 − ε) of the background
    eps = flat1 / flat0 - 1.0
    pred = predicted_shift(rows, eps, wrong, args.aperture)
    meas = np.asarray(wrong["depth"]) - np.asarray(exact["depth"])
    err = 0.5 * (np.asarray(exact["depth_err_low"]) + np.asarray(exact["depth_err_high"]))
    row = {
        "flat_error_rms": round(float(np.std(eps)), 4),
        "correlation": round(float(np.corrcoef(pred, meas)[0, 1]), 3),
        "rms_measured_over_error": round(float(np.sqrt(np.mean((meas / err) ** 2))), 3),
        "rms_predicted_over_error": round(float(np.sqrt(np.mean((pred / err) ** 2))), 3),
        "channels": [
            {
                "wavelength_um": round(float(w), 3),
                "predicted_ppm": round(1e6 * p, 1),
                "measured_ppm": round(1e6 * m, 1),
                "error_ppm": round(1e6 * e, 1),
            }
            for w, p, m, e in zip(wrong["wavelength"], pred, meas, err, strict=True)
        ],
    }
    print(json.dumps({k: v for k, v in row.items() if k != "channels"}))
    compare.append_result("flat-dilution", args.label, row)


if __name__ == "__main__":
    main()
