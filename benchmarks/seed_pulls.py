"""Benchmark: is the common (fully correlated) depth error honest over simulated observations?

    python benchmarks/seed_pulls.py RUN_FILE [RUN_FILE …] --label program2783-all [--workers 2]
                                    [--variant common_slow_ramp]

Each RUN_FILE is the run file of a finished reduction of the same case simulated with another
seed (`bench_systematics.py --preset program2783 --only all --seed N` leaves it in
<workdir>/all/defaults/exolrs.yaml, with the Stage 3 spectra).  Stage 4 is re-run on each with
the defaults, or one of stage4_variants.py's variants (`stage4_variants.run_variant`, so the
spectra are fitted by today's code), and
the spectrum's common offset from the injected one is divided by its error: the channels'
own errors and Stage 4's `depth_err_common` in quadrature.  The pulls' spread is 1 when
the common error is honest, ≈ offset / own error when it is missing.  Writes
results/<date>-<label>-common-error.json, joining the runs already there that day
(docs/benchmarks.md shows it, `compare.py --docs`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)
import stage4_variants  # noqa: E402


def seed_of(run_file: Path) -> int | None:
    """The simulation seed of a reduction (the simulator's truth.json beside its truth)."""
    cfg = yaml.safe_load(run_file.read_text())
    if not cfg.get("truth"):
        return None
    truth = Path(cfg["truth"]).with_name("truth.json")
    return json.loads(truth.read_text()).get("seed") if truth.is_file() else None


def merge_runs(old: list[dict], new: list[dict]) -> list[dict]:
    """Runs of earlier invocations the same day joined with the new ones (a seed run again
    replaces its row), so seeds can be fitted as their reductions finish."""
    seeds = {r["seed"] for r in new}
    return [r for r in old if r["seed"] not in seeds] + new


def pull_summary(rows: list[dict]) -> dict:
    """Mean and standard deviation of the offset pulls with and without the common error;
    the mean bias (σ) averaged over the runs, with its standard error: what of the bias is
    the reduction's and not one observation's draw; χ²ν under the full covariance over the
    runs (median, mean, how many within the realism target 1.3)."""
    with_common = np.array([r["common_offset_pull"] for r in rows])
    own = np.array([r["common_offset_ppm"] / r["common_offset_err_ppm"] for r in rows])
    bias = np.array([r["mean_bias_sigma"] for r in rows])
    chi2 = np.array([r["chi2_nu_correlated"] for r in rows])
    n = len(rows)
    return {
        "chi2_nu_correlated_median": round(float(np.median(chi2)), 3),
        "chi2_nu_correlated_mean": round(float(np.mean(chi2)), 3),
        "n_chi2_nu_correlated_within_1_3": int((chi2 <= 1.3).sum()),
        "ensemble_bias_sigma": round(float(np.mean(bias)), 3),
        "ensemble_bias_err": round(float(np.std(bias, ddof=1) / np.sqrt(n)), 3) if n > 1 else None,
        "n": len(rows),
        "pull_mean": round(float(np.mean(with_common)), 3),
        "pull_std": round(float(np.std(with_common, ddof=1)), 3) if len(rows) > 1 else None,
        "own_only_mean": round(float(np.mean(own)), 3),
        "own_only_std": round(float(np.std(own, ddof=1)), 3) if len(rows) > 1 else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_files", type=Path, nargs="+")
    ap.add_argument("--label", required=True, help="e.g. program2783-all")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--variant",
        default="defaults",
        help="a stage4_variants.py variant to fit with instead of the defaults: "
        + ", ".join(stage4_variants.VARIANTS),
    )
    args = ap.parse_args()
    name = compare.chosen(ap, args.variant, stage4_variants.VARIANTS, "variant")[0]
    rows = []
    for run_file in args.run_files:
        row = stage4_variants.run_variant(
            run_file, name, stage4_variants.VARIANTS[name], args.workers
        )
        row["seed"] = seed_of(run_file)
        print(f"[seed_pulls] {run_file}: {json.dumps(row)}", flush=True)
        rows.append(row)
    date = _dt.date.today().isoformat()
    path = compare.RESULTS / f"{date}-{args.label}-common-error.json"
    rows = merge_runs(json.loads(path.read_text())["runs"] if path.exists() else [], rows)
    result = {"date": date, "variant": name, "runs": rows, **pull_summary(rows)}
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"[seed_pulls] wrote {path}")


if __name__ == "__main__":
    main()
