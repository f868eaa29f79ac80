"""Benchmark: other Stage 4 run-file choices on one finished reduction.

    python benchmarks/stage4_variants.py REDUCTION_RUN_FILE --label program2783-all
                                         [--only n_ramps_2,poly_2,…] [--workers 2]

REDUCTION_RUN_FILE is the run file of a reduction whose Stages 1–3 are done (e.g. the one
`bench_systematics.py --keep` leaves in <workdir>/<case>/defaults/exolrs.yaml).  Each variant
below re-runs Stage 4 alone, with the run file's stage4 section changed as listed, into
<reduction>/../variants/<name>/ (Stages 1–3 linked, not copied) — the STAGE3_VARIANTS re-run
Stage 3 first (optimal extraction; Stages 1–2 linked) — and reads χ²ν and the mean
bias against the injected spectrum, the white light's residual over its expected noise and
the median depth error.  Writes results/<date>-<label>-stage4-variants.json (docs/benchmarks.md
shows it under the full-size systematics, `python benchmarks/compare.py --docs`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from astropy.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)

EXOLRS = Path(sys.executable).with_name("exolrs")

# name: stage4 changes
VARIANTS = {
    "defaults": {},
    "n_ramps_2": {"n_ramps": 2},
    "poly_2": {"poly_order": 2},
    "n_ramps_2_white_noise": {"n_ramps": 2, "red_noise": "none"},
    "gp": {"red_noise": "gp"},
    # each channel its own ramp time scale (the ramp's τ changes with wavelength)
    "spec_free_tau": {"spec_free_tau": True},
    # the white light's slowest ramp divided out of every channel
    "common_slow_ramp": {"common_slow_ramp": True},
    # … unless the white light refuses it (the default since 2026-12-07)
    "common_slow_ramp_auto": {"common_slow_ramp": "auto"},
    # the channels' one ramp alone (the default before)
    "no_common_slow_ramp": {"common_slow_ramp": False},
    # the ramp's τ fitted on 1 µm bands and interpolated to the channels
    "tau_bands": {"tau_bands": [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]},
    # both: the slow ramp common to every channel, the fast one's τ from the bands
    "common_slow_ramp_tau_bands": {
        "common_slow_ramp": True,
        "tau_bands": [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
    },
    "white_noise": {"red_noise": "none"},
    # the published spectrum's bins, for bin_errors.py (give it its own --label)
    "bins_0.25um": {"binning": "width", "bin_width": 0.25},
    # limb darkening from the star's model table instead of fitted (a simulation's table is
    # the simulator's `star_limb_darkening.ecsv`, beside its truth)
    "ld_table": {"limb_darkening": "table"},
    "ld_table_bins_0.25um": {"limb_darkening": "table", "binning": "width", "bin_width": 0.25},
}
LD_TABLE = "star_limb_darkening.ecsv"
# variants that re-run Stage 3 too (its Stage 1–2 products must be kept: --keep): stage3
# changes, stage4 changes
STAGE3_VARIANTS = {
    "optimal": ({"extract_method": "optimal"}, {}),
    "box": ({"extract_method": "box"}, {}),
    "optimal_bins_0.25um": ({"extract_method": "optimal"}, VARIANTS["bins_0.25um"]),
}


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for k, v in changes.items():
        out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out


def with_ld_table(changes: dict, cfg: dict) -> dict:
    """`changes` with `ld_table:` set to the simulation's star table (beside the run
    file's `truth:`) when they ask for a limb-darkening table without naming one."""
    if changes.get("limb_darkening") != "table" or "ld_table" in changes:
        return changes
    if not cfg.get("truth"):
        raise SystemExit("an ld_table variant needs the run file's truth: (a simulation)")
    return {**changes, "ld_table": str(Path(cfg["truth"]).with_name(LD_TABLE))}


def used_extraction(reduction: Path) -> dict:
    """The stage3 `extract_method` a finished reduction ran with (its run.json)."""
    record = json.loads((reduction / "run.json").read_text())
    return {"extract_method": record["parameters"]["stage3"]["extract_method"]}


def run_variant(
    run_file: Path, name: str, changes: dict, workers: int, stage3: dict | None = None
) -> dict:
    """Stage 4 of the reduction `run_file` describes, with `changes` to its stage4 section
    (and Stage 3 first, with `stage3` changes, when they are given)."""
    cfg = yaml.safe_load(run_file.read_text())
    reduction = Path(cfg["output_dir"])
    out = run_file.parent / "variants" / name
    red = out / "reduction"
    red.mkdir(parents=True, exist_ok=True)
    linked = ("Stage1", "Stage2") if stage3 is not None else ("Stage1", "Stage2", "Stage3")
    for stage in linked:  # those the benchmark kept
        link = red / stage
        if (reduction / stage).is_dir() and not link.is_symlink():
            link.symlink_to(reduction / stage, target_is_directory=True)
    if stage3 is None:  # Stage 4 reads the spectra the reduction made, whatever the default
        cfg = {**cfg, "stage3": _merge(cfg.get("stage3") or {}, used_extraction(reduction))}
    else:
        if not (reduction / "Stage2").is_dir():
            raise SystemExit(f"{name} re-runs Stage 3: keep {reduction / 'Stage2'} (--keep)")
        cfg = {**cfg, "stage3": _merge(cfg.get("stage3") or {}, stage3)}
    changes = with_ld_table(changes, cfg)
    cfg = {**cfg, "output_dir": str(red), "stage4": _merge(cfg.get("stage4") or {}, changes)}
    variant_file = out / "exolrs.yaml"
    variant_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
    stages = "3,4" if stage3 is not None else "4"
    cmd = [str(EXOLRS), "run", str(variant_file), "--stages", stages, "--workers", str(workers)]
    t0 = time.perf_counter()
    with open(out / "exolrs.log", "w") as fh:
        subprocess.run([*cmd, "--force-redo"], stdout=fh, stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - t0
    record = json.loads((red / "run.json").read_text())
    s4 = record["stages"]["4"]
    white = json.loads(Path(s4["products"][1]).read_text())
    spectrum = Table.read(s4["products"][0])
    err = 0.5 * (np.asarray(spectrum["depth_err_low"]) + np.asarray(spectrum["depth_err_high"]))
    m = s4["truth_metrics"]
    return {
        "changes": {"stage4": changes, **({"stage3": stage3} if stage3 is not None else {})},
        "chi2_nu": round(m["chi2_nu"], 3),
        "mean_bias_sigma": round(m["mean_bias_sigma"], 3),
        "n_channels": m["n_channels"],
        **compare.offset_fields(m),
        "white_residual_over_expected": round(
            white["residual_rms_ppm"] / white["expected_noise_ppm"], 3
        ),
        "white_gp_amplitude": white.get("gp_amplitude"),
        "median_depth_err_ppm": round(float(1e6 * np.median(err)), 1),
        "stage4_s": round(wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_file", type=Path)
    ap.add_argument("--label", required=True, help="e.g. program2783-all")
    ap.add_argument("--only", default=",".join(VARIANTS), help="also: " + ",".join(STAGE3_VARIANTS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--note", default=None, help="how the machine was loaded, for the docs")
    args = ap.parse_args()
    names = compare.chosen(ap, args.only, {**VARIANTS, **STAGE3_VARIANTS}, "variant")
    rows = {}
    for n in names:
        s3, s4 = STAGE3_VARIANTS.get(n, (None, VARIANTS.get(n)))
        rows[n] = run_variant(args.run_file.resolve(), n, s4, args.workers, s3)
        print(f"[variants] {n}: {json.dumps(rows[n])}", flush=True)
    date = _dt.date.today().isoformat()
    path = HERE / "results" / f"{date}-{args.label}-stage4-variants.json"
    old = json.loads(path.read_text())["variants"] if path.exists() else {}
    result = {
        "date": date,
        "note": args.note or f"Stage 4 re-run on {args.run_file}",
        "variants": {**old, **rows},
    }
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"[variants] wrote {path}")


if __name__ == "__main__":
    main()
