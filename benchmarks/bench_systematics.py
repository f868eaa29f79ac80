"""Benchmark: what each simulated systematic does to the recovered spectrum, with the run
file's defaults and with the counter-measure exolrs offers.

    python benchmarks/bench_systematics.py WORKDIR [--preset medium] [--seed 7]
                                           [--only none,glow,…] [--workers 2]

For every case below, `exolrs simulate --config` writes the preset with that systematic
switched on (the simulator's `systematics:` options; same seed, so the cases differ only by
the systematic), `exolrs run` reduces it with the simulation's run file (Stages 1–4, the
defaults), and again with the counter-measure's run-file changes.  Stage 4 compares the
spectrum with the injected one: χ²ν and the mean bias in σ over the R = 20 channels, and the
white light's residual over its expected noise.  Writes results/<date>-systematics-<preset>.json
(docs/benchmarks.md's table is rebuilt from it by `python benchmarks/compare.py --docs`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)

EXOLRS = Path(sys.executable).with_name("exolrs")


def _sys(**options) -> dict:
    return {"systematics": options}


# name: (what, simulator overrides, counter-measure run-file changes, what the counter is)
CASES = {
    "none": ("no optional systematic (the preset as it is)", {}, None, "—"),
    "ramp": (
        "ramp τ 2× longer at 12 µm than at 5 µm, plus a second ramp (0.2 %, τ = 3 h)",
        _sys(ramp_tau_ratio_12um=2.0, second_ramp_amplitude=0.002, second_ramp_tau_hours=3.0),
        {"stage4": {"spec_free_tau": True, "n_ramps": 2}},
        "stage4 spec_free_tau: true, n_ramps: 2",
    ),
    "red_noise": (
        "AR(1) red noise, 150 ppm per integration, 10 min correlation time",
        _sys(red_noise_ppm=150.0, red_noise_tau_minutes=10.0),
        {"stage4": {"red_noise": "none"}},
        "without the default's GP: stage4 red_noise: none",
    ),
    "references": (
        "dark and linearity references 2 % off the truth, flat 2 % pixel to pixel",
        _sys(reference_error=0.02),
        {"stage4": {"flat_error": False}},
        "without the default's flat error in the depth errors: stage4 flat_error: false",
    ),
    "rscd": (
        "RSCD ∝ signal^1.5 (1 % at 10 000 DN), decaying over 20 groups",
        {"systematics": {"rscd_signal_power": 0.5}, "detector": {"rscd_tau_groups": 20.0}},
        {"stage1": {"miri_drop_groups": 20}},
        "stage1 miri_drop_groups: 20",
    ),
    "glow": (
        "left-side background glow, 1 % of the row's stellar flux at 11 µm (∝ λ⁴)",
        _sys(glow_fraction_11um=0.01),
        {"stage2": {"miri_method": "slope"}},
        "stage2 miri_method: slope",
    ),
    "read_tails": (
        "Student-t read noise (ν = 4), same rms",
        _sys(read_noise_tail_dof=4.0),
        {"stage1": {"flag_up_ramp": True}},
        "stage1 flag_up_ramp: true",
    ),
    "telegraph": (
        "0.2 % of pixels random-telegraph (+20 DN/s, 30-integration dwell)",
        _sys(telegraph_fraction=0.002),
        {"stage2": {"time_thresh": 5.0}},
        "stage2 time_thresh: 5",
    ),
    "showers": (
        "0.5 cosmic-ray showers per integration (saturating core, 6 px halo)",
        _sys(shower_rate_per_int=0.5),
        {"stage1": {"shower_sigma": None}},
        "without the default's shower flagging: stage1 shower_sigma: null",
    ),
}


def _together(names) -> dict:
    """The simulator overrides of several cases at once."""
    return {
        section: {k: v for n in names for k, v in CASES[n][1].get(section, {}).items()}
        for section in ("systematics", "detector")
    }


_SINGLE = [n for n in CASES if n != "none"]
CASES["all"] = ("every systematic above at once", _together(_SINGLE), None, "—")
for _left_out in _SINGLE:  # leave-one-out: which systematic moves the every-systematic case
    CASES[f"all_but_{_left_out}"] = (
        f"every systematic above but: {CASES[_left_out][0]}",
        _together([n for n in _SINGLE if n != _left_out]),
        None,
        "—",
    )


def _reduce(simdir: Path, out: Path, changes: dict | None, workers: int) -> dict:
    """`exolrs run` Stages 1–4 on the simulation with the run file changed by `changes`."""
    run_file = compare._exolrs_run_file(simdir, out, changes)
    t0 = time.perf_counter()
    cmd = [str(EXOLRS), "run", str(run_file), "--workers", str(workers), "--force-redo"]
    with open(out / "exolrs.log", "w") as fh:
        subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - t0
    record = json.loads((out / "reduction" / "run.json").read_text())
    white = json.loads(Path(record["stages"]["4"]["products"][1]).read_text())
    m = record["stages"]["4"]["truth_metrics"]
    return {
        "wall_s": round(wall, 1),
        "stage_s": {k: v["wall_s"] for k, v in record["stages"].items()},
        "chi2_nu": round(m["chi2_nu"], 3),
        "mean_bias_sigma": round(m["mean_bias_sigma"], 3),
        "n_channels": m["n_channels"],
        **compare.offset_fields(m),
        "white_residual_over_expected": round(
            white["residual_rms_ppm"] / white["expected_noise_ppm"], 3
        ),
        "white_gp_amplitude": white.get("gp_amplitude"),  # NaN: no GP taken
        "white_allan_slope": round(white["allan_slope"], 3),
    }


def run_case(
    name: str,
    work: Path,
    preset: str,
    seed: int,
    workers: int,
    keep: bool = False,
    counter_measures: bool = True,
) -> dict:
    what, sim_changes, counter, counter_what = CASES[name]
    simdir = work / name / "sim"
    if not (simdir / "uncal").is_dir():
        config = work / name / "systematics.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(sim_changes))
        cmd = [str(EXOLRS), "simulate", str(simdir), "--preset", preset, "--seed", str(seed)]
        cmd += ["--workers", str(workers), "--config", str(config)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    row = {
        "what": what,
        "simulator": sim_changes,
        "defaults": _reduce(simdir, work / name / "defaults", None, workers),
    }
    if counter and counter_measures:
        row["counter_measure"] = counter_what
        row["counter"] = _reduce(simdir, work / name / "counter", counter, workers)
    print(f"[systematics] {name}: {json.dumps(row)}", flush=True)
    if not keep:  # the raw segments and Stage 1–2 products are GBs a case
        shutil.rmtree(simdir / "uncal", ignore_errors=True)
        for red in (work / name).glob("*/reduction"):
            for stage in ("Stage1", "Stage2"):
                shutil.rmtree(red / stage, ignore_errors=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep each case's data and products")
    ap.add_argument(
        "--defaults-only", action="store_true", help="skip the counter-measures' reductions"
    )
    ap.add_argument("--note", default=None, help="how the machine was loaded, for the docs")
    args = ap.parse_args()
    names = compare.chosen(ap, args.only, CASES, "case")
    result = {
        "date": _dt.date.today().isoformat(),
        "preset": args.preset,
        "seed": args.seed,
        "workers": args.workers,
        **({"note": args.note} if args.note else {}),
        "cases": {
            n: run_case(
                n,
                args.workdir,
                args.preset,
                args.seed,
                args.workers,
                args.keep,
                not args.defaults_only,
            )
            for n in names
        },
    }
    path = HERE / "results" / f"{result['date']}-systematics-{args.preset}.json"
    if path.exists():  # cases run separately the same day join one table
        old = json.loads(path.read_text())
        if (old["seed"], old["workers"]) == (args.seed, args.workers):
            result["cases"] = {**old["cases"], **result["cases"]}
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"[systematics] wrote {path}")


if __name__ == "__main__":
    main()
