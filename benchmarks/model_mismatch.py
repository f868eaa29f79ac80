"""How far Stage 4's white-light model is from the simulated truth, without noise.

    python benchmarks/model_mismatch.py SIMDIR REDUCTION [--label NAME]

SIMDIR is an `exolrs simulate` folder: `truth_pointing.ecsv` holds, per integration, the
injected white-light transit and systematics (and the red noise inside them),
`truth.json` the white depth.  REDUCTION is a finished reduction of it (its Stage 4
`light_curves.ecsv` gives the fitted times and white errors, its `run.json` the run file's
`drop_first` and orbit guesses).  The noise-free truth T·S — and T·S with the red noise
taken out — is fitted by least squares with the white model of each candidate systematics
(`n_ramps`, `poly_order`), exactly as Stage 4 starts its white fit; the depth minus the
injected one is what the model's shape alone costs, before any photon.  Comparing with the
measured white light curve's fit separates the model mismatch from the noise.  Appends to
results/<date>-model-mismatch.json under `--label`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.config import Stage4Config
from exolrs.stage4.fit import least_squares_start
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS, start_values, systematics_names

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)

MODELS = ((1, 1), (1, 2), (2, 1))  # (n_ramps, poly_order)


def fitted_depth(t, flux, err, stage4: dict, n_ramps: int, poly_order: int) -> float:
    """Depth (Rp/R*)² of Stage 4's white model (orbit and limb darkening free) fitted to
    `flux` by least squares."""
    p = Stage4Config.model_validate({**stage4, "n_ramps": n_ramps, "poly_order": poly_order})
    f = np.asarray(flux, float) / np.median(flux)
    free = ["t0", "a", "b", "rp", "q1", "q2", *systematics_names(p, True)]
    bounds = {**BOUNDS, "t0": (float(t[0]), float(t[-1]))}
    m = LightCurveModel(t, f, err, p.planet.period, free, {}, bounds)
    theta, _ = least_squares_start(m, start_values(p, t, f))
    values, _ = m.best_fit(theta)
    return float(values["rp"] ** 2)


def mismatch(simdir: Path, reduction: Path) -> dict:
    """Depth − injected (ppm) for every model on the noise-free truth, the truth without
    its red noise, and the measured white light curve."""
    run = json.loads((reduction / "run.json").read_text())
    stage4 = {k: v for k, v in run["parameters"]["stage4"].items() if k in ("planet",)}
    drop = run["parameters"]["stage4"]["drop_first"]
    truth = Table.read(simdir / "truth_pointing.ecsv")[drop:]
    lc = Table.read(reduction / "Stage4" / "light_curves.ecsv")
    t, err = np.asarray(lc["time"], float), np.asarray(lc["white_err"], float)
    transit = np.asarray(truth["transit_white"], float)
    systematics = np.asarray(truth["systematics_white"], float)
    red = np.asarray(truth["red_noise"], float)
    injected = json.loads((simdir / "truth.json").read_text())["white_depth_5_12um"]
    curves = {
        "truth": transit * systematics,
        "truth_without_red_noise": transit * systematics / (1 + red),
        "measured": np.asarray(lc["white_flux"], float),
    }
    return {
        name: {
            f"n_ramps {n}, poly_order {q}": round(
                1e6 * (fitted_depth(t, flux, err, stage4, n, q) - injected), 1
            )
            for n, q in MODELS
        }
        for name, flux in curves.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simdir", type=Path)
    ap.add_argument("reduction", type=Path)
    ap.add_argument("--label", default="run")
    args = ap.parse_args()
    result = mismatch(args.simdir, args.reduction)
    print(json.dumps(result, indent=1))
    compare.append_result("model-mismatch", args.label, result)


if __name__ == "__main__":
    main()
