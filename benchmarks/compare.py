"""Side-by-side benchmark: exolrs vs exoTEDRF 2.5.0 vs jwst calwebb_detector1, same data.

    python benchmarks/compare.py SIMDIR OUTDIR [--peers exotedrf,jwst]
        [--exotedrf-max-ints N] [--jwst-max-ints N] [--workers 2] [--label NAME] [--reuse]
    python benchmarks/compare.py --docs          # only regenerate docs/benchmarks.md

SIMDIR is an `exolrs simulate` folder (uncal/, refs/, truth files, exolrs.yaml).  On the same
uncal segments and the same reference files:

1. exolrs Stages 1-3 (`exolrs run --stages 1,2,3`, times and peak RSS from its run.json);
2. exoTEDRF's MIRI Stages 1-3 in its own virtual environment, offline
   (`compare/exotedrf_side.py`; see compare/README_exotedrf.md for every workaround);
3. jwst's calwebb_detector1 (`compare/jwst_side.py`), followed by exolrs Stages 2-3 on its
   rateints, so that it isolates Stage 1;
4. exolrs Stage 4 on every set of spectra with the same bins, model and chains (detrended
   against the trace y shift that exolrs' drift measurement gives for each set, so no
   reduction gets a regressor the others lack);
5. results/<date>-compare-<label>.json, then docs/benchmarks.md and its figures are rebuilt
   from every compare JSON in results/.

Where a peer would run for hours, pass --exotedrf-max-ints / --jwst-max-ints: its steps are
timed on that many integrations and the full-size time is extrapolated linearly in the
number of integrations — reported as an extrapolation, never as a measurement.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DOCS = ROOT / "docs"
EXOVENV_PY = Path("/tmp/exovenv/bin/python")


def _run(cmd: list[str], log: Path) -> tuple[float, float]:
    """Run a command, output to `log`; returns its wall time (s) and the peak of the summed
    RSS of it and every process it started (MB, sampled every 0.2 s).  Raises on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    peak = 0.0
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.2)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd[:3]))} … failed (exit {proc.returncode}); see {log}"
        )
    return time.perf_counter() - t0, peak


def _tree_rss_mb(root: int) -> float:
    """Summed resident memory (MB) of process `root` and its descendants, from /proc."""
    parent, rss = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parent[int(d.name)] = int(fields[1])
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    return sum(rss.get(p, 0) for p in tree) / 2**20


def _merge(base: dict, changes: dict) -> dict:
    """`base` with `changes` applied section by section (nested mappings merged)."""
    out = dict(base)
    for k, v in changes.items():
        out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out


def _exolrs_run_file(simdir: Path, out: Path, changes: dict | None = None) -> Path:
    """The simulation's run file with absolute paths, output in OUT/reduction and the
    run-file `changes` applied, written as OUT/exolrs.yaml."""
    import yaml

    cfg = _merge(yaml.safe_load((simdir / "exolrs.yaml").read_text()), changes or {})
    cfg["input"] = str(simdir / cfg["input"])
    cfg["references"] = {k: str(simdir / v) for k, v in cfg["references"].items()}
    cfg["truth"] = str(simdir / cfg["truth"])
    if (cfg.get("stage4") or {}).get("ld_table"):
        cfg["stage4"]["ld_table"] = str(simdir / cfg["stage4"]["ld_table"])
    cfg["output_dir"] = str(out / "reduction")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "exolrs.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def warm_page_cache(files: list[Path]) -> bool:
    """Read `files` once so that the first tool timed finds them in the page cache, as the
    tools after it do; skipped (False) when they exceed half the machine's memory."""
    total = sum(f.stat().st_size for f in files)
    if total > 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"):
        return False
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    return True


def run_exolrs(simdir: Path, out: Path, workers: int) -> dict:
    run_file = _exolrs_run_file(simdir, out)
    warm = warm_page_cache(sorted((simdir / "uncal").glob("*_uncal.fits")))
    exe = Path(sys.executable).with_name("exolrs")
    cmd = [str(exe), "run", str(run_file), "--stages", "1,2,3", "--workers", str(workers)]
    wall, peak_total = _run([*cmd, "--force-redo"], out / "exolrs.log")
    record = json.loads((out / "reduction" / "run.json").read_text())
    stages = {f"stage{k}": v["wall_s"] for k, v in record["stages"].items()}
    method = record["parameters"]["stage3"]["extract_method"]  # the run file's default
    spectra = sorted((out / "reduction" / "Stage3").glob(f"*_{method}_spectra_fullres.fits"))
    return {
        "seconds": stages,
        "seconds_stages_1_3": round(sum(stages.values()), 1),
        "wall_s": round(wall, 1),
        "peak_rss_mb": record["peak_rss"],
        "peak_rss_total_mb": round(peak_total),  # all processes together, sampled
        "workers": workers,
        "input_read_first": warm,
        "spectra": str(spectra[0]),
    }


def run_exotedrf(simdir: Path, out: Path, max_ints: int | None, reuse: bool = False) -> dict:
    py = EXOVENV_PY if EXOVENV_PY.exists() else Path(sys.executable)
    cmd = [str(py), str(HERE / "compare" / "exotedrf_side.py"), str(simdir), str(out)]
    if not EXOVENV_PY.exists():
        cmd.append("--install")
    if max_ints:
        cmd += ["--max-ints", str(max_ints)]
    if not (reuse and (out / "exotedrf_result.json").exists()):
        _run(cmd, out.with_suffix(".log"))
    r = json.loads((out / "exotedrf_result.json").read_text())
    totals = dict(r["stage_totals_s"])
    steps = r.get("steps", {})
    box = steps.get("stage3.Extract1DStep[box]", {}).get("seconds")
    if box is not None:  # each tool's default extraction: exoTEDRF's is box; time it only
        totals["stage3"] = box
    return {
        "seconds": {k: round(v, 1) for k, v in totals.items()},
        "seconds_stages_1_3": round(sum(totals.values()), 1),
        "measured_on_nints": r["measured_on_nints"],
        "peak_rss_mb": round(max(r["peak_rss"].values())),
        "spectra": None if r.get("subset") else r["final_spectra_file"],
        "steps": r.get("steps", {}),
        "workarounds": r.get("workarounds", []),
        "versions": {"exotedrf": r["exotedrf_version"], "jwst": r["jwst_version"]},
    }


def run_jwst(
    simdir: Path, out: Path, max_ints: int | None, params: dict, reuse: bool = False
) -> dict:
    cmd = [sys.executable, str(HERE / "compare" / "jwst_side.py"), str(simdir), str(out)]
    if max_ints:
        cmd += ["--max-ints", str(max_ints)]
    if not (reuse and (out / "jwst_result.json").exists()):
        _run(cmd, out.with_suffix(".log"))
    r = json.loads((out / "jwst_result.json").read_text())
    info = {
        "seconds": {"stage1": round(r["seconds_total_pipeline"], 1)},
        "seconds_per_step": r["seconds_per_step"],
        "measured_on_nints": r["measured_on"]["nints"],
        "peak_rss_mb": round(r["peak_rss_mb"]["self_maxrss"]),
        "spectra": None,
    }
    if not r["measured_on"]["partial"]:
        info["spectra"] = _exolrs_stages23([Path(p) for p in r["products"]], out, simdir, params)
    return info


def _exolrs_stages23(rateints: list[Path], out: Path, simdir: Path, params: dict) -> str:
    """exolrs Stages 2-3 (the run file's parameters) on another tool's rateints."""
    from exolrs.config import RunConfig
    from exolrs.stage2.engine import run_stage2
    from exolrs.stage3.engine import run_stage3

    cfg = RunConfig.model_validate(params)
    refs = {k: simdir / v for k, v in params["references"].items()}
    s2 = run_stage2(
        rateints,
        out / "Stage2",
        target=cfg.target,
        references=refs,
        params=cfg.stage2,
        force_redo=True,
        do_plot=False,
    )
    s3 = run_stage3(
        s2.calints,
        s2.deep_frame,
        out / "Stage3",
        target=cfg.target,
        params=cfg.stage3,
        force_redo=True,
        do_plot=False,
    )
    return str(s3.spectra)


def fit_spectra(
    spectra: str, out: Path, simdir: Path, workers: int, row_wavelengths: Path | None = None
) -> dict:
    """exolrs Stage 4 with one model for every tool: R = 20 channels over 5-12 µm, one ramp,
    linear trend, fitted limb darkening, detrended against the y shift that exolrs' drift
    measurement finds in these spectra.  Returns the accuracy metrics against the truth.

    Spectra with no finite wavelength but one spectrum per detector row (exoTEDRF 2.5.0's with
    the in-flight SPECWCS) take each row's wavelength from the deep frame `row_wavelengths`."""
    from exolrs.config import Stage4Config
    from exolrs.io.spectra import read_deep_frame, read_spectra, write_spectra
    from exolrs.parallel import ProcessExecutor
    from exolrs.stage3.engine import align_spectra
    from exolrs.stage4.engine import run_stage4

    truth = json.loads((simdir / "truth.json").read_text())
    spec = read_spectra(spectra)
    if not np.isfinite(spec.wave).any() and row_wavelengths is not None:
        _, rows = read_deep_frame(row_wavelengths)
        if len(rows) == len(spec.wave):
            spec.wave = np.asarray(rows, float)
            spec.wave_err = 0.5 * np.abs(np.gradient(spec.wave))
    keep = np.isfinite(spec.wave)
    spec.wave, spec.wave_err = spec.wave[keep], spec.wave_err[keep]
    spec.flux, spec.flux_err = spec.flux[:, keep], spec.flux_err[:, keep]
    order = np.argsort(spec.wave)  # exoTEDRF writes rows in detector order
    spec.wave, spec.wave_err = spec.wave[order], spec.wave_err[order]
    spec.flux, spec.flux_err = spec.flux[:, order], spec.flux_err[:, order]
    spec, _ = align_spectra(spec)  # y shift (and nothing else) measured the same way for all
    out.mkdir(parents=True, exist_ok=True)
    path = write_spectra(spec, out / "spectra_for_stage4.fits")
    orbit = truth["orbit"]
    params = Stage4Config(
        planet={"period": orbit["period_days"], "a": round(orbit["a_rs"], 1), "b": 0.4},
        detrend=["y_shift"],
    )
    t0 = time.perf_counter()
    with ProcessExecutor(workers) as ex:
        r = run_stage4(
            path,
            out / "Stage4",
            params=params,
            truth=simdir / "truth.ecsv",
            executor=ex,
            force_redo=True,
            do_plot=False,
        )
    white = json.loads(r.white_fit.read_text())
    from astropy.table import Table

    table = Table.read(r.spectrum)
    sigma = 0.5 * (np.asarray(table["depth_err_low"]) + np.asarray(table["depth_err_high"]))
    rp_true = float(np.sqrt(truth["white_depth_5_12um"]))
    rp_sigma = 0.5 * (white["err_high"]["rp"] - white["err_low"]["rp"])
    return {
        "stage4_seconds": round(time.perf_counter() - t0, 1),
        "white_residual_over_expected": white["residual_rms_ppm"] / white["expected_noise_ppm"],
        "white_residual_ppm": white["residual_rms_ppm"],
        "white_expected_ppm": white["expected_noise_ppm"],
        "white_rp_offset_sigma": (white["best"]["rp"] - rp_true) / rp_sigma,
        "white_rp_sigma": rp_sigma,
        "allan_slope": white["allan_slope"],
        "chi2_nu": r.truth_metrics["chi2_nu"],
        "mean_bias_sigma": r.truth_metrics["mean_bias_sigma"],
        "n_channels": r.truth_metrics["n_channels"],
        "median_depth_sigma_ppm": float(1e6 * np.median(sigma)),
        "spectrum": str(r.spectrum),
    }


def _nints(simdir: Path) -> tuple[int, int]:
    from astropy.io import fits

    files = sorted((simdir / "uncal").glob("*_uncal.fits"))
    h = fits.getheader(files[0])
    return int(h["NINTS"]), int(h["NGROUPS"])


def compare(args) -> Path:
    import yaml

    simdir, out = args.simdir.resolve(), args.outdir.resolve()
    nints, ngroups = _nints(simdir)
    label = args.label or simdir.name
    params = yaml.safe_load((simdir / "exolrs.yaml").read_text())
    tools: dict[str, dict] = {}
    print(f"[compare] {label}: {nints} integrations × {ngroups} groups", flush=True)
    tools["exolrs"] = run_exolrs(simdir, out / "exolrs", args.workers)
    print(f"[compare] exolrs Stages 1-3: {tools['exolrs']['seconds']}", flush=True)
    peers = [p for p in args.peers.split(",") if p]
    if "jwst" in peers:
        tools["jwst"] = run_jwst(simdir, out / "jwst", args.jwst_max_ints, params, args.reuse)
        print(f"[compare] jwst detector1: {tools['jwst']['seconds']}", flush=True)
    if "exotedrf" in peers:
        tools["exotedrf"] = run_exotedrf(
            simdir, out / "exotedrf", args.exotedrf_max_ints, args.reuse
        )
        print(f"[compare] exoTEDRF Stages 1-3: {tools['exotedrf']['seconds']}", flush=True)
    for name, info in tools.items():
        measured = info.get("measured_on_nints", nints)
        if measured < nints:  # a subset: scale to the full exposure, and say so
            info["extrapolated_seconds"] = {
                k: round(v * nints / measured, 1) for k, v in info["seconds"].items()
            }
            info["extrapolation"] = f"linear in integrations from {measured} to {nints}"
        if info.get("spectra") and not args.no_fit:
            rows = None
            if name == "exotedrf":  # its wavelengths are NaN with the in-flight SPECWCS
                rows = (
                    out / "exolrs" / "reduction" / "Stage2" / f"{params['target']}_deepframe.fits"
                )
                info.setdefault("workarounds", []).append(
                    "exoTEDRF 2.5.0 wrote NaN wavelengths with the in-flight SPECWCS 0006; its "
                    "spectra (one per detector row) took the row wavelengths of exolrs' deep frame"
                )
            info["accuracy"] = fit_spectra(info["spectra"], out / name, simdir, args.workers, rows)
            print(f"[compare] {name} Stage 4: {info['accuracy']}", flush=True)
    result = {
        "date": _dt.date.today().isoformat(),
        "label": label,
        "nints": nints,
        "ngroups": ngroups,
        "machine": {"cpus": os.cpu_count()},
        "tools": tools,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{result['date']}-compare-{label}.json"
    path.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(f"[compare] wrote {path}", flush=True)
    write_docs()
    return path


# ------------------------------------------------------------------------------- the docs
def _full_seconds(info: dict, stages: tuple[str, ...]) -> tuple[float | None, bool]:
    """Seconds for `stages` at full size and whether they were extrapolated."""
    src = info.get("extrapolated_seconds") or info["seconds"]
    if not all(s in src for s in stages):
        return None, False
    return sum(src[s] for s in stages), "extrapolated_seconds" in info


def _fmt_s(value: float | None, extrapolated: bool) -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{text} (extrapolated)" if extrapolated else text


def write_docs() -> Path:
    runs = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*-compare-*.json"))]
    latest: dict[str, dict] = {}
    for r in runs:  # the newest run of every label
        latest[r["label"]] = r
    runs = sorted(latest.values(), key=lambda r: r["nints"] * r["ngroups"])
    lines = [
        "# Benchmarks: exolrs, exoTEDRF 2.5.0 and jwst calwebb_detector1 on the same data",
        "",
        "Generated by `python benchmarks/compare.py` (do not edit by hand); raw numbers in",
        "`benchmarks/results/*-compare-*.json`.  Every tool reads the same simulated uncal",
        "segments and the same reference files; every set of spectra is fitted by the same",
        "exolrs Stage 4 (R = 20 channels over 5–12 µm, one ramp, linear trend, fitted limb",
        "darkening, detrended against the y shift measured the same way in each set).  jwst's",
        "detector1 rateints go through exolrs Stages 2–3, so that row isolates Stage 1.",
        "Machine: 2 cores, 24 GB.  Times are wall-clock seconds of one run; a time marked",
        "*extrapolated* was measured on a subset of integrations and scaled linearly.",
        "exolrs runs first; since 2026-12-07 after one read of its input where the input fits",
        "in half the memory, so that it finds the page cache as the tools after it do.",
        "exolrs' Stage 1 worker processes exit before Stage 2 starts, so its memory in use at",
        "once is the larger of (main + workers) during Stage 1 and the main process in Stage 2.",
        "",
    ]
    for r in runs:
        tools = r["tools"]
        ex = tools["exolrs"]
        lines += [f"## `{r['label']}`: {r['nints']} integrations × {r['ngroups']} groups", ""]
        if r.get("note"):  # how the run was made, when it matters for reading it
            lines += [f"{r['date']}: {r['note']}", ""]
        lines += [
            "| tool | Stage 1 (s) | Stages 2–3 (s) | Stages 1–3 (s) | peak RSS (MB) "
            "| exolrs speed-up |",
            "|---|---|---|---|---|---|",
        ]
        ex_total = ex["seconds_stages_1_3"]
        ex_s1 = ex["seconds"]["stage1"]
        rss = ex["peak_rss_mb"]
        rss_text = f"{rss['main_MB']} main + {rss['largest_worker_MB']} per worker"
        if "peak_rss_total_mb" in ex:  # sampled: every process at once
            rss_text = f"{ex['peak_rss_total_mb']} all processes ({rss_text})"
        lines.append(
            f"| exolrs ({ex['workers']} processes) | {ex_s1:.1f} | "
            f"{ex_total - ex_s1:.1f} | {ex_total:.1f} | {rss_text} | 1 |"
        )
        for name, title, stages in (
            ("exotedrf", "exoTEDRF 2.5.0", ("stage1", "stage2", "stage3")),
            ("jwst", "jwst detector1 (1 core)", ("stage1",)),
        ):
            if name not in tools:
                continue
            info = tools[name]
            s1, x1 = _full_seconds(info, ("stage1",))
            tot, xt = _full_seconds(info, stages)
            s23 = None if len(stages) == 1 else tot - s1
            ref = ex_total if len(stages) == 3 else ex_s1
            ratio = f"{tot / ref:.1f}×" + (" (extrapolated)" if xt else "")
            what = "Stage 1" if len(stages) == 1 else "Stages 1–3"
            rss_note = (
                f" (on {info['measured_on_nints']} ints)"
                if info.get("measured_on_nints", r["nints"]) < r["nints"]
                else ""
            )
            lines.append(
                f"| {title} | {_fmt_s(s1, x1)} | {_fmt_s(s23, xt)} | "
                f"{_fmt_s(tot if len(stages) == 3 else None, xt)} | "
                f"{info['peak_rss_mb']}{rss_note} | {ratio} ({what}) |"
            )
        if not any(t.get("accuracy") for t in tools.values()):  # timings only (--no-fit)
            lines.append("")
            continue
        lines += [
            "",
            "| accuracy (same Stage 4) | exolrs | "
            + " | ".join(n for n in ("exotedrf", "jwst") if n in tools)
            + " |",
        ]
        lines.append("|---" * (2 + sum(n in tools for n in ("exotedrf", "jwst"))) + "|")
        metrics = (
            ("white residual / expected noise", "white_residual_over_expected", "{:.3f}"),
            ("white Rp/R* − truth (σ)", "white_rp_offset_sigma", "{:+.2f}"),
            ("white Allan slope (−0.5 = white)", "allan_slope", "{:.2f}"),
            ("spectrum χ²ν vs injected", "chi2_nu", "{:.2f}"),
            ("spectrum mean bias (σ)", "mean_bias_sigma", "{:+.2f}"),
            ("median depth σ per channel (ppm)", "median_depth_sigma_ppm", "{:.0f}"),
        )
        for title, key, fmt in metrics:
            cells = []
            for n in ("exolrs", "exotedrf", "jwst"):
                if n not in tools:
                    continue
                acc = tools[n].get("accuracy")
                timed = tools[n].get("measured_on_nints", r["nints"])
                missing = f"timed on {timed} ints only" if timed < r["nints"] else "—"
                cells.append(fmt.format(acc[key]) if acc else missing)
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        fig = _spectra_figure(r)
        if fig:
            lines += ["", f"![spectra]({fig.relative_to(DOCS).as_posix()})"]
        lines.append("")
    scaling = _scaling_figure(runs)
    if scaling:
        lines += ["## Scaling", "", f"![scaling]({scaling.relative_to(DOCS).as_posix()})", ""]
    lines += _stage1_floor_lines() + _stage4_lines() + _systematics_lines() + _targets_lines()
    path = DOCS / "benchmarks.md"
    path.write_text("\n".join(lines))
    return path


def offset_fields(metrics: dict) -> dict:
    """The common offset of a run's truth metrics, χ²ν without it, and with Stage 4's common
    error the correlated χ²ν and the offset's pull (rounded; nothing for records from before
    Stage 4 reported them)."""
    keys = (
        "common_offset_ppm",
        "common_offset_err_ppm",
        "chi2_nu_without_offset",
        "common_err_ppm",
        "chi2_nu_correlated",
        "common_offset_pull",
    )
    return {k: round(metrics[k], 3) for k in keys if k in metrics}


def append_result(kind: str, label: str, row: dict) -> Path:
    """Write `row` under `label` into results/<today>-<kind>.json, keeping the file's other
    labels (runs of one benchmark on several reductions the same day share a file)."""
    path = RESULTS / f"{_dt.date.today()}-{kind}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, label: row}, indent=1) + "\n")
    return path


def chosen(ap, only: str, known, what: str) -> list[str]:
    """The comma-separated names of `only`, each one of `known`, else the parser's error."""
    names = [n for n in only.split(",") if n]
    unknown = set(names) - set(known)
    if unknown:
        ap.error(f"unknown {what}(s) {sorted(unknown)}; choose from {list(known)}")
    return names


def _latest(pattern: str) -> tuple[str, dict] | None:
    paths = sorted(RESULTS.glob(pattern))
    return (paths[-1].name, json.loads(paths[-1].read_text())) if paths else None


def _stage1_floor_lines() -> list[str]:
    """Stage 1 against the read floor (bench_stage1_floor.py), the latest full-size run on
    an idle machine (runs on a shared one keep their own result files)."""
    found = _latest("*-stage1-floor-idle-program2783.json")
    if not found:
        return []
    name, r = found
    lines = [
        "## Stage 1 over the read floor",
        "",
        f"`benchmarks/bench_stage1_floor.py` ({name}): `program2783` ({r['nints']} × "
        f"{r['ngroups']}), {r['workers']} processes, chunks of {r['chunk_ints']} integrations;",
        "each repeat reads every raw integration once in one process (the floor; the first",
        "repeat may find the files out of the page cache), then runs Stage 1.  Stage 1's",
        "per-pixel work runs as compiled passes (`stage1/fused.py`); CPU seconds by step are",
        "summed over chunks and processes.  The floor reads as `read_integrations` does (int16",
        "converted to float32, with the group DQ); Stage 1 itself reads the raw int16 planes",
        "into reused buffers, which costs it less CPU (its `read` seconds) than the floor's",
        "wall time (so against a floor of that reader alone the ratio would be larger).",
        "",
        "| repeat | read floor (s) | Stage 1 (s) | Stage 1 / floor | CPU s by step |",
        "|---|---|---|---|---|",
    ]
    for k, run in enumerate(r["runs"], 1):
        steps = ", ".join(f"{n} {v:.1f}" for n, v in run["step_cpu_s"].items())
        lines.append(
            f"| {k} | {run['read_floor_s']:.1f} | {run['stage1_s']:.1f} | "
            f"{run['ratio']:.2f} | {steps} |"
        )
    lines += ["", f"Worker peak RSS {r['peak_rss_worker_MB']} MB." + _note(r)]
    # earlier engines, each measured beside the one that replaced it
    for path in sorted(RESULTS.glob("*-stage1-floor-idle-program2783-before-*.json")):
        b = json.loads(path.read_text())
        bratio = [run["ratio"] for run in b["runs"]]
        bstage = [run["stage1_s"] for run in b["runs"]]
        lines += [
            "",
            f"Before ({path.name}): Stage 1 "
            f"{min(bstage):.1f}–{max(bstage):.1f} s, Stage 1 / floor "
            f"{min(bratio):.2f}–{max(bratio):.2f}." + _note(b),
        ]
    return [*lines, ""]


def _note(r: dict) -> str:
    """A result file's note (how and when it was measured) as a sentence, or nothing."""
    return f" {r['note'][0].upper()}{r['note'][1:]}." if r.get("note") else ""


def _stage4_lines() -> list[str]:
    """Stage 4 before/after (bench_stage4_speed.py) and the pull test (pulls.py)."""
    lines = []
    speed = _latest("*-stage4-speed.json")
    if speed:
        name, r = speed
        lines += [
            "## Stage 4: before and after the ensemble likelihood and the lockstep sampler",
            "",
            f"`benchmarks/bench_stage4_speed.py` ({name}), one run on one machine: the",
            "`program2783` simulation's spectra (1774 integrations fitted), white light curve",
            "plus R = 20 channels (18) and plus 0.25 µm channels (28), 2 processes.  *before* is",
            "the previous sampler (emcee stretch move, fixed chain lengths, additive jitter);",
            "*after* the default now (differential-evolution ensemble, channels in lockstep,",
            "noise scale integrated out, chains run to 50 autocorrelation times, `red_noise:",
            "auto`: no light curve of this simulation took the GP).",
            "",
            "| run | white fit (s) | channels (s) | total (s) | white steps/τ | "
            "shortest channel steps/τ | peak RSS (MB) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, run in r["runs"].items():
            sec = run["seconds"]
            lines.append(
                f"| {label} ({run['n_channels']} channels) | {sec['white_fit']:.1f} | "
                f"{sec['channel_fits']:.1f} | {run['wall_s']:.1f} | "
                f"{run['steps_over_autocorr']:.0f} | "
                f"{run['channel_steps_over_autocorr_min']:.0f} | {run['peak_rss_MB']} |"
            )
        lines += [
            "",
            "Posteriors, channel by channel (depth medians in units of the first run's σ; "
            "widths as after / before):",
            "",
            "| comparison | channels | largest abs Δ median | mean Δ median | "
            "width ratio: median (range) |",
            "|---|---|---|---|---|",
        ]
        for label, c in r["posteriors"].items():
            lo, hi = c["width_ratio_range"]
            lines.append(
                f"| {label} | {c['n_channels']} | {c['max_abs_median_shift_sigma']:.2f} σ | "
                f"{c['mean_median_shift_sigma']:+.2f} σ | "
                f"{c['width_ratio_median']:.3f} ({lo:.2f}–{hi:.2f}) |"
            )
        lines.append("")
    pulls = _latest("*-pulls.json")
    if pulls:
        name, r = pulls
        lines += [
            "## Stage 4: pull test of the depth errors",
            "",
            f"`benchmarks/pulls.py` ({name}): light curves simulated with batman at program",
            "2783's cadence (1 779 points over 0.2 d, a 1 h transit), white noise at the",
            "propagated errors' level and red noise (AR(1) with a 10 min correlation time, or",
            "1/f) at half of it (pure AR(1): at it); each fitted as a channel (one process).",
            "Honest errors give a pull (recovered − injected)/σ with standard deviation 1;",
            "with N realisations the standard deviation itself is uncertain by ≈ 1/√(2N).",
            "",
            "| noise / red_noise option | realisations | pull mean | pull std | mean β |",
            "|---|---|---|---|---|",
        ]
        for label, p in r.items():
            lines.append(
                f"| {label} | {p['n']} | {p['mean']:+.2f} | {p['std']:.2f} | {p['beta']:.2f} |"
            )
        lines.append("")
    return lines


def _systematics_lines() -> list[str]:
    """The simulator's optional systematics, each reduced with the defaults and with its
    counter-measure (bench_systematics.py), on `medium` and at full size."""
    lines = []
    for preset, title in (
        ("medium", "## Systematics: their effect on the spectrum, and the counter-measures"),
        ("program2783", "## Systematics at full size (`program2783`)"),
    ):
        found = _latest(f"*-systematics-{preset}.json")
        if found and len(found[1]["cases"]) > 1:
            lines += _systematics_table(title, *found)
    return lines + _flat_dilution_lines()


def _flat_dilution_lines() -> list[str]:
    """A flat's pixel errors through the background: predicted against measured shifts."""
    found = _latest("*-flat-dilution.json")
    if not found:
        return []
    name, runs = found
    lines = [
        "## A flat's pixel errors dilute the transit through the background",
        "",
        f"`benchmarks/flat_dilution.py` ({name}).  A flat field divides star and background",
        "alike.  For the star a wrong flat is a constant factor per pixel and cancels in",
        "relative photometry; the background, measured beside the trace and subtracted, does",
        "not: a pixel whose flat is wrong by ε keeps −ε·B under the trace in every",
        "integration, a static offset that dilutes the transit.  A channel's depth moves by",
        "depth × B Σε / S over its aperture (S its stellar flux): the long-wavelength,",
        "background-limited channels move most in ppm, but the shifts in σ are similar",
        "everywhere.  No choice of background method removes it (the residual is under the",
        "star, where the background cannot be measured): only a better flat does.  What the",
        "reduction can do is say so: Stage 4 adds depth × σ(B Σε) / S to each depth error",
        "(`depth_err_flat`, from the flat's ERR through Stage 2's FLAT_VAR and Stage 3's",
        "Static Err); the full-size `references` case above measures it with and without.",
        "Optimal extraction adds a trap: weights ∝ P/V from a profile that holds the",
        "residual r make Σ P·r/V gain Σ r²/V > 0, a dilution whatever the signs of ε; its",
        "profile is therefore smoothed along the rows (the two seed-8 runs below, before",
        "and after, when they are in the file).",
        "",
    ]
    if name < "2026-12-07":  # the prediction's box was fixed that day
        lines += [
            "These predictions were computed with a box half a pixel off Stage 3's (pixel",
            "edges at integers; mended 2026-12-07, not yet re-run): read them as indicative.",
            "",
        ]
    for label, r in runs.items():
        lines += [
            f"{label}: flat error rms {r['flat_error_rms']:.3f}; measured against predicted "
            f"shift correlation {r['correlation']:.2f}; rms shift "
            f"{r['rms_measured_over_error']:.2f} σ measured, "
            f"{r['rms_predicted_over_error']:.2f} σ predicted.",
            "",
            "| λ (µm) | predicted shift (ppm) | measured shift (ppm) | depth error (ppm) |",
            "|---|---|---|---|",
            *[
                f"| {c['wavelength_um']:.2f} | {c['predicted_ppm']:+.0f} | "
                f"{c['measured_ppm']:+.0f} | {c['error_ppm']:.0f} |"
                for c in r["channels"]
            ],
            "",
        ]
    return lines


def _systematics_table(title: str, name: str, r: dict) -> list[str]:
    lines = [
        title,
        "",
        f"`benchmarks/bench_systematics.py` ({name}): the `{r['preset']}` preset (seed "
        f"{r['seed']}) simulated with one of the simulator's optional systematics at a time",
        "(`exolrs simulate --config`; same seed, so the cases differ only by the systematic),",
        "reduced with the run file's defaults (Stages 1–4, R = 20) and with the counter-measure.",
        "Spectrum against the injected one: χ²ν and mean bias (σ) over the channels; white",
        "light: residual rms over the propagated noise.  Time: `exolrs run` wall seconds on",
        f"{r['workers']} processes." + (f" {r['note']}" if r.get("note") else ""),
        "",
        "The bias a systematic adds is its mean bias minus the case without one (Δ bias,",
        "defaults → counter-measure): the issue's threshold for an answer in the reduction is",
        "0.3 σ.",
        "",
        "| systematic | defaults: χ²ν · bias · white res/exp | counter-measure | with it: "
        "χ²ν · bias · white res/exp | Δ bias (σ) | time (s) defaults → counter |",
        "|---|---|---|---|---|---|",
    ]
    base = r["cases"].get("none", {}).get("defaults", {}).get("mean_bias_sigma")

    def delta(m: dict | None) -> str:
        return "—" if m is None or base is None else f"{m['mean_bias_sigma'] - base:+.2f}"

    def cells(m: dict) -> str:
        return (
            f"{m['chi2_nu']:.2f} · {m['mean_bias_sigma']:+.2f} σ · "
            f"{m['white_residual_over_expected']:.2f}"
        )

    for case in r["cases"].values():
        d, c = case["defaults"], case.get("counter")
        lines.append(
            f"| {case['what']} | {cells(d)} | {case.get('counter_measure', '—')} | "
            f"{cells(c) if c else '—'} | {delta(d)}"
            + (f" → {delta(c)}" if c else "")
            + f" | {d['wall_s']:.0f}"
            + (f" → {c['wall_s']:.0f} |" if c else " |")
        )
    return [*lines, ""]


# bin_errors.py labels of the targets case with one run-file change
OTHER_BINS = {
    "optimal extraction": "program2783, every systematic, optimal extraction",
    "limb darkening from the star's table": (
        "program2783, every systematic, LD from the star's table"
    ),
    "seed 8, optimal extraction with the smoothed profile (today's defaults)": (
        "program2783 every systematic, seed 8, optimal extraction, smoothed profile "
        "(2026-12-07 evening)"
    ),
}


def _offset_rows(what: str, d: dict) -> list[tuple[str, str, str]]:
    """The common offset and χ²ν without it, when the run recorded them."""
    if "common_offset_ppm" not in d:
        return []
    return [
        (
            f"{what}: common offset",
            f"{d['common_offset_ppm']:+.0f} ± {d['common_offset_err_ppm']:.0f} ppm",
            "—",
        ),
        (f"{what}: χ²ν without the common offset", f"{d['chi2_nu_without_offset']:.2f}", "—"),
    ]


def _run_rows(
    d: dict,
    chi2: str,
    bias: str = "… mean bias",
    white: str = "… white residual / expected",
    offset: str = "…",
) -> list[tuple[str, str, str]]:
    """One run's rows of the targets table: χ²ν, mean bias, white light, common offset."""
    return [
        (chi2, f"{d['chi2_nu']:.2f}", "≤ 1.3"),
        (bias, f"{d['mean_bias_sigma']:+.2f} σ", "−0.25 to +0.25 σ"),
        (white, f"{d['white_residual_over_expected']:.2f}", "0.95–1.1"),
        *_offset_rows(offset, d),
    ]


def _targets_lines() -> list[str]:
    """`program2783` with every systematic on against the realism issue's targets
    (bench_systematics.py --preset program2783 --only all; bin_errors.py)."""
    found = _latest("*-systematics-program2783.json")
    if not found or "all" not in found[1]["cases"]:
        return []
    name, r = found
    d = r["cases"]["all"]["defaults"]
    rows = _run_rows(
        d,
        "R = 20 channels: χ²ν",
        bias="R = 20 channels: mean bias",
        white="white light: residual / expected",
        offset="R = 20 channels",
    )
    variants = _latest("*-program2783-all-stage4-variants.json")
    other = variants[1]["variants"].get("optimal") if variants else None
    if other:  # the same reduction's Stages 3–4 with optimal extraction
        rows += _run_rows(other, "R = 20, optimal extraction: χ²ν")
    bins = _latest("*-bin-errors.json")
    label = "program2783, every systematic, defaults"
    b = bins[1].get(label) if bins else None
    if b:
        rows += [
            ("0.25 µm bins: χ²ν", f"{b['chi2_nu']:.2f}", "—"),
            ("0.25 µm bins: mean bias", f"{b['mean_bias_sigma']:+.2f} σ", "—"),
        ]
        rows += [
            (f"error / published at {v['bin_um']:.3f} µm", f"{v['ratio']:.2f}", "0.8–1.25")
            for v in b["bins"].values()
        ]
    for path in sorted(RESULTS.glob("*-systematics-program2783-seed*.json")):
        seeded = json.loads(path.read_text())  # the same case simulated with another seed
        o = seeded["cases"].get("all", {}).get("defaults")
        if o:
            rows += _run_rows(o, f"seed {seeded['seed']} ({path.name[:10]}): χ²ν")
    for what, other in OTHER_BINS.items():  # the same bins with one run-file change
        o = bins[1].get(other) if bins else None
        if o:
            ratios = " / ".join(f"{v['ratio']:.2f}" for v in o["bins"].values())
            rows += [
                (f"0.25 µm bins, {what}: χ²ν", f"{o['chi2_nu']:.2f}", "—"),
                ("… mean bias", f"{o['mean_bias_sigma']:+.2f} σ", "—"),
                ("… error / published at the five bins", ratios, "0.8–1.25"),
            ]
    lines = [
        "## `program2783` with every systematic on, against the realism targets",
        "",
        f"`benchmarks/bench_systematics.py --preset program2783 --only all` ({name}; "
        f"{d['wall_s']:.0f} s for Stages 1–4)"
        + (
            f" and `benchmarks/bin_errors.py` on the same reduction fitted in the published "
            f"0.25 µm bins ({bins[0]})"
            if b
            else ""
        )
        + f".{_note(r)}"
        + (
            "  Each row is one reduction on the day it ran; the tables of several seeds below, "
            "re-fitted by the latest code, are the current state."
            if list(RESULTS.glob("*-program2783-all*-common-error.json"))
            else ""
        ),
        "",
        "| measure | measured | target |",
        "|---|---|---|",
        *[f"| {a} | {m} | {t} |" for a, m, t in rows],
        "",
    ]
    return (
        lines
        + _seed_pull_lines()
        + _variant_lines()
        + _mismatch_lines()
        + _channel_mismatch_lines()
    )


def _seed_pull_lines() -> list[str]:
    """The common error over simulations of other seeds (seed_pulls.py), with the defaults
    and with each Stage 4 variant fitted the same way."""
    lines = []
    for path in sorted(RESULTS.glob("*-program2783-all*-common-error.json")):
        lines += _seed_pull_table(path.name, json.loads(path.read_text()))
    return lines


def _seed_pull_table(name: str, r: dict) -> list[str]:
    rows = [
        f"| {x['seed']} | {x['common_offset_ppm']:+.0f} ± {x['common_offset_err_ppm']:.0f} | "
        f"{x['common_err_ppm']:.0f} | {x['common_offset_pull']:+.2f} | {x['chi2_nu']:.2f} | "
        f"{x['chi2_nu_correlated']:.2f} | {x['chi2_nu_without_offset']:.2f} | "
        f"{x['mean_bias_sigma']:+.2f} | {x['white_residual_over_expected']:.2f} | "
        f"{x['median_depth_err_ppm']:.0f} |"
        for x in sorted(r["runs"], key=lambda x: x["seed"] or 0)
    ]
    spread = "" if r["pull_std"] is None else f", standard deviation {r['pull_std']:.2f}"
    own = (
        ""
        if r["own_only_std"] is None
        else f" (with the channels' errors alone {r['own_only_std']:.2f})"
    )
    bias = "" if r["ensemble_bias_err"] is None else f" ± {r['ensemble_bias_err']:.2f}"
    variant = r.get("variant", "defaults")
    fitted = "the defaults" if variant == "defaults" else f"the `{variant}` variant"
    return [
        f"The error every channel shares, over {r['n']} simulations of the same case with other "
        f"seeds (`benchmarks/seed_pulls.py`, {name}): each seed's Stage 4 re-run with "
        f"{fitted}; the common offset of the spectrum from the injected one, Stage 4's "
        "`depth_err_common` (c), the offset's pull (offset / √(its error² + c²)), χ²ν "
        "with the channels' own errors, under the covariance diag(σ²) + c cᵀ, and without "
        "the offset; the mean bias; the white light's residual / expected; the median "
        f"depth error.{_note(r)}",
        "",
        "| seed | offset (ppm) | c (ppm) | pull | χ²ν | χ²ν with c | χ²ν without offset | "
        "mean bias (σ) | white | σ (ppm) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Pulls: mean {r['pull_mean']:+.2f}{spread}{own}.  The mean bias averaged over the "
        f"seeds — the reduction's part, not one observation's draw — is "
        f"{r['ensemble_bias_sigma']:+.2f}{bias} σ.{_chi2_spread(r)}",
        "",
    ]


def _chi2_spread(r: dict) -> str:
    """χ²ν under the full covariance over the seeds, beside what pure noise would give."""
    if "chi2_nu_correlated_median" not in r:
        return ""
    from scipy.stats import chi2

    text = (
        f"  χ²ν with c: median {r['chi2_nu_correlated_median']:.2f}, mean "
        f"{r['chi2_nu_correlated_mean']:.2f}, ≤ 1.3 in {r['n_chi2_nu_correlated_within_1_3']} "
        f"of {r['n']}"
    )
    counts = [x["n_channels"] for x in r["runs"] if "n_channels" in x]
    if not counts:
        return text + "."
    k = int(np.median(counts))
    return (
        text + f" (noise alone, {k} channels: mean 1, ≤ 1.3 in "
        f"{100 * chi2.cdf(1.3 * k, k):.0f} % of observations)."
    )


def _mismatch_lines() -> list[str]:
    """The white model's shape against the noise-free truth (model_mismatch.py)."""
    found = _latest("*-model-mismatch.json")
    if not found:
        return []
    name, runs = found
    lines = [
        f"What the white light's model costs before any photon (`benchmarks/model_mismatch.py`,"
        f" {name}): the simulation's noise-free white light curve (the injected transit",
        "times the injected systematics), with and without the red noise's draw, fitted by",
        "least squares with Stage 4's white model (no detrending vectors) for each systematics",
        "choice; depth − injected (ppm).  The measured row is the reduced white light curve.",
        "",
    ]
    for label, r in runs.items():
        models = list(next(iter(r.values())))
        lines += [
            f"{label}:",
            "",
            "| light curve | " + " | ".join(models) + " |",
            "|---|" + "---|" * len(models),
            *[
                f"| {curve} | " + " | ".join(f"{v[m]:+.0f}" for m in models) + " |"
                for curve, v in r.items()
            ],
            "",
        ]
    return lines


def _channel_mismatch_lines() -> list[str]:
    """Each channel's noise-free depth bias under Stage 4's models (model_mismatch.py
    --channels)."""
    found = _latest("*-channel-mismatch.json")
    if not found:
        return []
    name, runs = found
    lines = [
        f"The same for the spectrum (`benchmarks/model_mismatch.py --channels`, {name}): the "
        "simulator's scene without noise (each row's injected transit, ramps and settling, no "
        "red noise), binned to the reduction's channels and fitted by least squares as Stage 4 "
        "fits them, for each run-file variant; depth − injected in units of the reduction's "
        "own depth error.  What no number of seeds averages away.",
        "",
    ]
    for label, r in runs.items():
        waves = r["wavelength_um"]
        variants = [k for k in r if k != "wavelength_um"]
        lines += [
            f"{label}:",
            "",
            "| variant | mean (σ) | mean (ppm) | "
            + " | ".join(f"{w:.1f}" for w in waves)
            + " µm |",
            "|---|---|---|" + "---|" * len(waves),
            *[
                f"| {v} | {r[v]['mean_bias_sigma']:+.2f} | {r[v]['mean_bias_ppm']:+.0f} | "
                + " | ".join(f"{x:+.2f}" for x in r[v]["bias_sigma"])
                + " |"
                for v in variants
            ],
            "",
        ]
    return lines


def _variant_lines() -> list[str]:
    """Other run-file choices on the same `program2783` reduction (R = 20)."""
    found = _latest("*-program2783-all-stage4-variants.json")
    if not found:
        return []
    name, r = found

    def change(c: dict) -> str:
        flat = [f"{sec} {k}: {v}" for sec, kv in c.items() for k, v in kv.items()]
        return "; ".join(flat) or "the defaults"

    lines = [
        f"The same reduction with other run-file choices ({name}, R = 20).{_note(r)}",
        "",
        "| run-file change | χ²ν | mean bias | white res/exp | median depth error (ppm) | "
        "Stage 4 (s) |",
        "|---|---|---|---|---|---|",
    ]
    for v in r["variants"].values():
        err = v.get("median_depth_err_ppm")
        lines.append(
            f"| {change(v['changes'])} | {v['chi2_nu']:.2f} | {v['mean_bias_sigma']:+.2f} σ | "
            f"{v['white_residual_over_expected']:.2f} | {'—' if err is None else f'{err:.0f}'} | "
            f"{v['stage4_s']:.0f} |"
        )
    return [*lines, ""]


def _spectra_figure(r: dict) -> Path | None:
    from astropy.table import Table

    wanted = {n: t["accuracy"]["spectrum"] for n, t in r["tools"].items() if t.get("accuracy")}
    fits_ = {n: p for n, p in wanted.items() if Path(p).exists()}
    out = DOCS / "figures" / f"benchmark_spectra_{r['label']}.png"
    if len(fits_) < len(wanted) and out.exists():  # some of the run's data are gone: keep the
        return out  # figure drawn when they were all there
    if not fits_:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    offsets = {"exolrs": 0.0, "exotedrf": 0.02, "jwst": -0.02}
    truth_drawn = False
    for name, p in fits_.items():
        t = Table.read(p)
        w = np.asarray(t["wavelength"]) + offsets.get(name, 0.0)
        err = [1e6 * np.asarray(t["depth_err_low"]), 1e6 * np.asarray(t["depth_err_high"])]
        label = {"jwst": "jwst detector1 + exolrs 2–3", "exotedrf": "exoTEDRF 2.5.0"}.get(
            name, name
        )
        ax.errorbar(w, 1e6 * np.asarray(t["depth"]), yerr=err, fmt="o", ms=3, label=label)
        if not truth_drawn and "truth_depth" in t.colnames:
            ax.plot(
                t["wavelength"], 1e6 * np.asarray(t["truth_depth"]), "k-", lw=1, label="injected"
            )
            truth_drawn = True
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("transit depth (ppm)")
    ax.set_title(f"{r['label']}: same Stage 4 on each tool's spectra")
    ax.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _scaling_figure(runs: list[dict]) -> Path | None:
    if len(runs) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name, stages, style in (
        ("exolrs", ("stage1", "stage2", "stage3"), "o-"),
        ("exotedrf", ("stage1", "stage2", "stage3"), "s--"),
        ("jwst", ("stage1",), "^:"),
    ):
        pts = []
        for r in runs:
            info = r["tools"].get(name)
            if not info:
                continue
            sec, extrap = _full_seconds(info, stages)
            size = r["nints"] * r["ngroups"]
            rss = info.get("peak_rss_total_mb", info["peak_rss_mb"])
            rss = (
                rss["main_MB"] + rss["largest_worker_MB"] * info["workers"]
                if isinstance(rss, dict)
                else rss
            )
            pts.append(
                (size, sec, extrap, rss, info.get("measured_on_nints", r["nints"]) < r["nints"])
            )
        if not pts:
            continue
        x = np.array([p[0] for p in pts], float)
        label = {"exolrs": "exolrs 1–3", "exotedrf": "exoTEDRF 1–3", "jwst": "jwst Stage 1"}[name]
        a0.plot(x, [p[1] for p in pts], style, label=label)
        for p in pts:
            if p[2]:
                a0.plot(p[0], p[1], "x", color="r", ms=9)
        a1.plot(
            [p[0] for p in pts if not p[4]], [p[3] for p in pts if not p[4]], style, label=label
        )
    from matplotlib.ticker import NullFormatter

    for ax in (a0, a1):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_yscale("log")
        ax.set_xlabel("integrations × groups")
        ax.legend(fontsize=8)
    a0.set_ylabel("wall time (s); × = extrapolated")
    a1.set_ylabel("peak RSS (MB, all processes)")
    out = DOCS / "figures" / "benchmark_scaling.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simdir", type=Path, nargs="?")
    ap.add_argument("outdir", type=Path, nargs="?")
    ap.add_argument("--peers", default="exotedrf,jwst")
    ap.add_argument("--exotedrf-max-ints", type=int, default=None)
    ap.add_argument("--jwst-max-ints", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--label", default=None, help="name of the size (default: SIMDIR's name)")
    ap.add_argument("--no-fit", action="store_true", help="timings only, no Stage 4")
    ap.add_argument(
        "--reuse", action="store_true", help="keep a peer's results already in OUTDIR/<peer>"
    )
    ap.add_argument("--docs", action="store_true", help="only rebuild docs/benchmarks.md")
    args = ap.parse_args()
    if args.docs:
        print(write_docs())
        return
    if args.simdir is None or args.outdir is None:
        ap.error("SIMDIR and OUTDIR are required (or --docs)")
    compare(args)


if __name__ == "__main__":
    main()
