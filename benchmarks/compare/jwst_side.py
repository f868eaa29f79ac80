"""jwst side of the exolrs-vs-jwst Stage 1 benchmark: calwebb_detector1, offline, on a simulation.

Runs as its own process (jwst's pipeline, CRDS switched off before jwst is imported), apart
from the package on purpose; it uses exolrs only to read products back for the comparison.

    python jwst_side.py SIMDIR OUTDIR [--max-ints N] [--segments K] [--cores 1|all]

Runs jwst's ``Detector1Pipeline`` in-process on every ``SIMDIR/uncal/*_uncal.fits`` segment
with every reference file taken from ``SIMDIR/refs`` through ``override_<reftype>`` (CRDS is
never contacted: an empty CRDS_PATH and an unreachable CRDS_SERVER_URL are set before jwst is
imported, CRDS step-parameter lookups are disabled, and the one remaining CRDS call -- the
"context used" keyword written into the products -- is answered locally).  Products:

* ``OUTDIR/Stage1/<segment root>_rateints.fits`` (and ``_rate.fits``): the file names exolrs
  Stage 1 writes, so exolrs Stages 2-3 can run on them;
* ``OUTDIR/jwst_result.json``: per-step wall times summed over segments, total, peak RSS,
  integrations processed, versions, steps skipped and why.

The step list is what a user runs for MIRI LRS TSO with jwst 3.0 defaults, plus:
emicorr switched on (jwst's default is skip) with the simulator's EMICORR reference, and the
"first N groups DO_NOT_USE" of exolrs (``stage1.miri_drop_groups`` in SIMDIR/exolrs.yaml)
done the way jwst >= 2.0 does it -- by its RSCD step -- with a one-row RSCD reference
written here (group_skip1 = group_skip = N for SLITLESSPRISM/FASTR1).  See README_jwst.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

# --------------------------------------------------------------------------- offline CRDS
# Must happen before crds / jwst are imported (crds reads its configuration at import).
_OFFLINE_URL = "https://crds-offline.invalid"


def _configure_offline_crds(outdir: Path) -> Path:
    crds_path = outdir / "crds_empty"
    crds_path.mkdir(parents=True, exist_ok=True)
    os.environ["CRDS_PATH"] = str(crds_path)
    os.environ["CRDS_SERVER_URL"] = _OFFLINE_URL
    os.environ["CRDS_OBSERVATORY"] = "jwst"
    # no CRDS "pars-*" step-parameter reference files
    os.environ["STPIPE_DISABLE_CRDS_STEPPARS"] = "true"
    return crds_path


# Reference files the simulator writes, by jwst reftype.
SIM_REFTYPES = (
    "dark",
    "emicorr",
    "gain",
    "linearity",
    "mask",
    "readnoise",
    "reset",
    "saturation",
)

# Steps of calwebb_detector1 in the order jwst 3.0 runs them for MIRI.
MIRI_ORDER = (
    "group_scale",
    "dq_init",
    "emicorr",
    "saturation",
    "ipc",
    "firstframe",
    "lastframe",
    "reset",
    "linearity",
    "rscd",
    "dark_current",
    "refpix",
    "charge_migration",
    "jump",
    "picture_frame",
    "clean_flicker_noise",
    "persistence",
    "ramp_fit",
    "gain_scale",
)

SKIPPED_WHY = {
    "ipc": "no IPC reference from the simulator, which adds no IPC",
    "firstframe": "jwst 3.0 default skip=True (deprecated since 2.0: the RSCD step flags the "
    "first groups; here it flags the first miri_drop_groups groups, which include group 1)",
    "charge_migration": "jwst default skip=True (NIR only)",
    "picture_frame": "jwst default skip=True (NIR only, needs a PICTUREFRAME reference)",
    "clean_flicker_noise": "jwst default skip=True",
    "persistence": "jwst default skip=True",
}


def _sim_refs(simdir: Path) -> dict[str, str]:
    refs = {}
    for reftype in SIM_REFTYPES:
        hits = sorted((simdir / "refs").glob(f"jwst_miri_{reftype}_*"))
        if hits:
            refs[reftype] = str(hits[0].resolve())
    missing = {"mask", "saturation", "linearity", "dark", "gain", "readnoise"} - set(refs)
    if missing:
        sys.exit(f"missing reference files in {simdir / 'refs'}: {sorted(missing)}")
    return refs


def patch_references(refs: dict[str, str], dest: Path) -> dict[str, str]:
    """jwst reads a ramp reference's shape from its header (NINTS / NGROUPS: reset_sub.py
    compares them with the science ramp).  Where the simulator's DARK or RESET reference lacks
    them, write a copy with them filled from the SCI shape; every other file is used as is."""
    from astropy.io import fits

    out = dict(refs)
    for reftype in ("reset", "dark"):
        if reftype not in refs:
            continue
        src = Path(refs[reftype])
        hdr = fits.getheader(src, 0)
        shape = fits.getheader(src, "SCI")
        want = {"NINTS": shape["NAXIS4"], "NGROUPS": shape["NAXIS3"]} if shape["NAXIS"] == 4 else {}
        missing = {k: v for k, v in want.items() if k not in hdr}
        dq = fits.getheader(src, "DQ") if "DQ" in [h.name for h in fits.open(src)] else None
        # stcal's MIRI dark subtraction ORs DQ[i, 0] of every dark integration i
        grow_dq = (
            dq is not None
            and dq["NAXIS"] == 4
            and shape["NAXIS"] == 4
            and dq["NAXIS4"] != shape["NAXIS4"]
            and dq["NAXIS4"] == 1
        )
        if not missing and not grow_dq:
            continue
        dest.mkdir(parents=True, exist_ok=True)
        dst = dest / src.name
        notes = []
        with fits.open(src) as hdul:
            for k, v in missing.items():
                hdul[0].header[k] = (v, "added by jwst_side.py from the SCI shape")
            if missing:
                notes.append(f"added header {missing}")
            if grow_dq:
                import numpy as np

                d = hdul["DQ"].data
                hdul["DQ"].data = np.repeat(d, shape["NAXIS4"], axis=0)
                notes.append(f"DQ {d.shape} repeated to {hdul['DQ'].data.shape}")
            hdul.writeto(dst, overwrite=True)
        out[reftype] = str(dst)
        PATCHED[reftype] = f"{src.name}: " + "; ".join(notes) + " (jwst needs it; SCI unchanged)"
    return out


PATCHED: dict[str, str] = {}


def _drop_groups(simdir: Path, cli_value: int | None) -> tuple[int, str]:
    if cli_value is not None:
        return cli_value, "--drop-groups"
    cfg = simdir / "exolrs.yaml"
    if cfg.is_file():
        import yaml

        stage1 = (yaml.safe_load(cfg.read_text()) or {}).get("stage1") or {}
        if "miri_drop_groups" in stage1:
            return int(stage1["miri_drop_groups"]), f"{cfg.name}: stage1.miri_drop_groups"
    return 12, "exolrs default (12)"


def write_rscd_reference(path: Path, n_skip: int, subarray: str, readpatt: str) -> Path:
    """A one-row RSCD reference: skip the first `n_skip` groups in every integration."""
    import numpy as np
    from stdatamodels.jwst import datamodels

    table = np.array(
        [(subarray, readpatt, n_skip, n_skip)],
        dtype=[
            ("subarray", "S17"),
            ("readpatt", "S12"),
            ("group_skip1", "<i4"),
            ("group_skip", "<i4"),
        ],
    )
    with datamodels.RSCDModel() as m:
        m.rscd_group_skip_table = table
        m.meta.instrument.name = "MIRI"
        m.meta.instrument.detector = "MIRIMAGE"
        m.meta.reftype = "RSCD"
        m.meta.author = "benchmarks/compare/jwst_side.py"
        m.meta.pedigree = "DUMMY"
        m.meta.description = f"first {n_skip} groups DO_NOT_USE (emulates exolrs miri_drop_groups)"
        m.meta.useafter = "2022-01-01T00:00:00"
        m.save(path, overwrite=True)
    return path


# --------------------------------------------------------------------------- inputs
def plan_inputs(uncal: list[Path], max_ints: int | None, segments: int | None):
    """[(path, nints)]: the first `segments` files, cut so that at most `max_ints`
    integrations of the exposure (counted from its start) are processed."""
    from astropy.io import fits

    files = uncal[:segments] if segments else list(uncal)
    lengths = [fits.getheader(p, "SCI")["NAXIS4"] for p in files]
    plan, left = [], max_ints if max_ints else sum(lengths)
    for p, n in zip(files, lengths, strict=True):
        if left <= 0:
            break
        plan.append((p, min(n, left), n))
        left -= min(n, left)
    return plan


def prepare_uncal(src: Path, dst: Path, n: int, n_file: int, total: int, nseg: int, partial):
    """Write `src` as jwst writes a MAST uncal file (Level1bModel: uint16 SCI, INT_TIMES and
    the ASDF extension jwst 3.0 needs to open a file by name -- the simulator's files have no
    ASDF extension).  Keeps the first `n` integrations; for a partial run the headers say
    what was kept (NINTS = integrations processed, INTEND, EXSEGTOT).  The simulator's
    all-zero GROUPDQ/PIXELDQ extensions are not copied (MAST uncal files have none)."""
    import numpy as np
    from stdatamodels.jwst import datamodels

    with datamodels.Level1bModel(str(src)) as m:
        for key in ("groupdq", "pixeldq"):
            hdu = m.extra_fits.instance.get(key.upper()) if "extra_fits" in m.instance else None
            if hdu is not None and np.any(hdu.get("data", 0)):
                raise SystemExit(f"{src.name}: non-zero {key.upper()} would be lost")
        if "extra_fits" in m.instance:
            del m.extra_fits
        if n < n_file:
            m.data = m.data[:n]
            m.int_times = m.int_times[:n]
        if partial:
            m.meta.exposure.nints = total
            m.meta.exposure.integration_end = m.meta.exposure.integration_start + n - 1
            m.meta.exposure.segment_total = nseg
        m.meta.filename = src.name
        m.save(str(dst), overwrite=True)
    return dst


# --------------------------------------------------------------------------- RSS sampling
class RssSampler:
    """Samples VmRSS of this process (and its children) every `dt` s; `mark(step)` starts
    attributing samples to a new step, so the peak of each step is known."""

    def __init__(self, dt: float = 0.1):
        self.dt, self.step, self.peaks, self.loads = dt, "startup", {}, []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _rss_mb(pid="self") -> float:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _children_mb(self) -> float:
        total = 0.0
        try:
            kids = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        except OSError:
            return 0.0
        for pid in kids:
            total += self._rss_mb(pid)
        return total

    def _loop(self):
        while not self._stop.is_set():
            rss = self._rss_mb() + self._children_mb()
            if rss > self.peaks.get(self.step, 0.0):
                self.peaks[self.step] = rss
            self._n = getattr(self, "_n", 0) + 1
            if self._n % 50 == 0:  # every ~5 s
                self.loads.append(os.getloadavg()[0])
            time.sleep(self.dt)

    def mark(self, step: str):
        self.step = step

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# --------------------------------------------------------------------------- the run
def build_pipeline(refs, rscd_path, stage1_dir, cores, jump_threshold, extra_skip=()):
    from jwst.pipeline import Detector1Pipeline

    steps = {
        "group_scale": {},
        "dq_init": {"override_mask": refs["mask"]},
        "emicorr": {"skip": "emicorr" not in refs},
        # MIRI has no SUPERBIAS (CRDS answers N/A); saturation only uses one for NIR
        "saturation": {"override_saturation": refs["saturation"], "override_superbias": "N/A"},
        "ipc": {"skip": True},
        "firstframe": {"skip": True},
        "lastframe": {},
        "reset": {"override_reset": refs["reset"]} if "reset" in refs else {"skip": True},
        "linearity": {"override_linearity": refs["linearity"]},
        "rscd": {"override_rscd": str(rscd_path)},
        "dark_current": {"override_dark": refs["dark"]},
        # MIRI subarray: jwst skips the correction itself; N/A keeps CRDS out of the prefetch
        "refpix": {"override_refpix": "N/A", "override_sirskernel": "N/A"},
        "jump": {
            "override_gain": refs["gain"],
            "override_readnoise": refs["readnoise"],
            "maximum_cores": cores,
        },
        "ramp_fit": {
            "override_gain": refs["gain"],
            "override_readnoise": refs["readnoise"],
            "maximum_cores": cores,
        },
        "gain_scale": {"override_gain": refs["gain"]},
    }
    if "emicorr" in refs:
        steps["emicorr"]["override_emicorr"] = refs["emicorr"]
    if jump_threshold is not None:
        steps["jump"]["rejection_threshold"] = jump_threshold
    for name in extra_skip:
        if name not in Detector1Pipeline.step_defs:
            sys.exit(f"--skip {name}: not a calwebb_detector1 step")
        steps.setdefault(name, {})["skip"] = True
    pipe = Detector1Pipeline(steps=steps)
    pipe.output_dir = str(stage1_dir)
    pipe.save_results = True  # the _rate.fits file, as `strun calwebb_detector1` writes it
    return pipe, steps


def instrument_pipeline(pipe, timings: dict, sampler: RssSampler):
    """Wrap every sub-step's run() and the pipeline's save_model() with a wall clock."""

    def timed(name, fn):
        def wrapper(*a, **k):
            sampler.mark(name)
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
                sampler.mark("pipeline_other")

        return wrapper

    for name in pipe.step_defs:
        step = getattr(pipe, name)
        step.run = timed(name, step.run)
    pipe.save_model = timed("save_products", pipe.save_model)


def compare_rateints(jwst_dir: Path, exolrs_dir: Path, rows=(150, 390), cols=(30, 43)) -> dict:
    """Slopes and errors of jwst's rateints against exolrs's on the trace box, read with
    exolrs's own reader (so this also checks that exolrs can read jwst's products)."""
    import numpy as np

    from exolrs.io.products import read_integrations_product

    J = read_integrations_product(sorted(Path(jwst_dir).glob("*_rateints.fits")))
    E = read_integrations_product(sorted(Path(exolrs_dir).glob("*_rateints.fits")))
    if J.sci.shape != E.sci.shape:
        raise SystemExit(f"shapes differ: jwst {J.sci.shape}, exolrs {E.sci.shape}")
    box = (slice(None), slice(*rows), slice(*cols))
    out = {"trace_box": {"rows": list(rows), "cols": list(cols)}, "nints": int(J.sci.shape[0])}
    pairs = [
        ("sci", J.sci, E.sci),
        ("err", J.err, E.err),
        ("var_poisson", J.var_poisson, E.var_poisson),
        ("var_rnoise", J.var_rnoise, E.var_rnoise),
    ]
    for name, a, b in pairs:
        if a is None or b is None:
            continue
        a, b = a[box].astype(np.float64), b[box].astype(np.float64)
        ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
        r = a[ok] / b[ok]
        entry = {
            "median_ratio_jwst_over_exolrs": float(np.median(r)),
            "p16_p84_ratio": [float(np.percentile(r, 16)), float(np.percentile(r, 84))],
            "n": int(ok.sum()),
        }
        if name == "sci":
            rel = np.abs(r - 1.0)
            entry["median_rel_diff"] = float(np.median(r - 1.0))
            entry["median_abs_rel_diff"] = float(np.median(rel))
            entry["p99_abs_rel_diff"] = float(np.percentile(rel, 99))
            entry["frac_abs_rel_diff_gt_1e-5"] = float(np.mean(rel > 1e-5))
            entry["median_abs_diff_in_exolrs_err"] = float(
                np.median(np.abs(a[ok] - b[ok]) / E.err[box][ok])
            )
        out[name] = entry
    jj, ee = (J.dq & 4) != 0, (E.dq & 4) != 0  # JUMP_DET in the integration DQ
    out["jump_det_fraction_of_pixel_ints"] = {
        "jwst": float(jj.mean()),
        "exolrs": float(ee.mean()),
        "jwst_only": float((jj & ~ee).mean()),
        "exolrs_only": float((ee & ~jj).mean()),
    }
    wa = np.nansum(J.sci[box], axis=(1, 2))
    wb = np.nansum(E.sci[box], axis=(1, 2))
    out["trace_box_sum"] = {
        "mean_ratio_jwst_over_exolrs": float(np.mean(wa / wb)),
        "point_to_point_scatter_jwst": float(np.std(np.diff(wa)) / np.sqrt(2) / np.mean(wa)),
        "point_to_point_scatter_exolrs": float(np.std(np.diff(wb)) / np.sqrt(2) / np.mean(wb)),
    }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simdir", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--max-ints", type=int, default=None, help="first N integrations only")
    ap.add_argument("--segments", type=int, default=None, help="first K segments only")
    ap.add_argument(
        "--cores", default="1", help="maximum_cores of jump and ramp_fit: 1 (default) or 'all'"
    )
    ap.add_argument(
        "--drop-groups",
        type=int,
        default=None,
        help="groups flagged DO_NOT_USE at the ramp start (default: SIMDIR/exolrs.yaml "
        "stage1.miri_drop_groups, else 12)",
    )
    ap.add_argument(
        "--jump-threshold",
        type=float,
        default=None,
        help="jump rejection_threshold (default: jwst's 4.0)",
    )
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="STEP",
        help="also skip this calwebb_detector1 step (repeatable), e.g. --skip emicorr",
    )
    ap.add_argument("--keep-converted", action="store_true", help="keep the uncal copies jwst read")
    ap.add_argument(
        "--compare-with",
        type=Path,
        default=None,
        metavar="EXOLRS_STAGE1",
        help="exolrs Stage1 folder of the same data: add slope/error ratios to the JSON",
    )
    ap.add_argument(
        "--compare-only",
        action="store_true",
        help="with --compare-with: do not run jwst, compare OUTDIR/Stage1 as it is",
    )
    args = ap.parse_args(argv)
    if args.compare_only:
        if args.compare_with is None:
            sys.exit("--compare-only needs --compare-with")
        res_path = args.outdir / "jwst_result.json"
        res = json.loads(res_path.read_text()) if res_path.is_file() else {}
        res["accuracy_vs_exolrs"] = compare_rateints(args.outdir / "Stage1", args.compare_with)
        res["accuracy_vs_exolrs"]["exolrs_stage1"] = str(args.compare_with.resolve())
        res_path.write_text(json.dumps(res, indent=2, default=str) + "\n")
        print(json.dumps(res["accuracy_vs_exolrs"], indent=1))
        return 0

    simdir, outdir = args.simdir.resolve(), args.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    crds_path = _configure_offline_crds(outdir)
    t_start = time.perf_counter()
    load_start = list(os.getloadavg())

    import logging

    import crds
    import jwst
    import numpy as np
    import stcal
    import stdatamodels
    import stpipe
    from astropy.io import fits
    from stpipe import crds_client

    # The one CRDS call left with every reference overridden: the "context used" keyword
    # written into each product (stpipe asks crds.heavy_client, which needs a cache or the
    # server).  Answer it locally.
    crds_client.get_context_used = lambda observatory: "N/A (offline: override_* references)"

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )

    uncal = sorted((simdir / "uncal").glob("*_uncal.fits"))
    if not uncal:
        sys.exit(f"no *_uncal.fits in {simdir / 'uncal'}")
    refs = patch_references(_sim_refs(simdir), outdir / "refs_patched")
    n_drop, n_drop_src = _drop_groups(simdir, args.drop_groups)
    hdr0 = fits.getheader(uncal[0], 0)
    rscd_path = write_rscd_reference(
        outdir / "jwst_miri_rscd_dropgroups.fits",
        n_drop,
        hdr0.get("SUBARRAY", "SLITLESSPRISM"),
        hdr0.get("READPATT", "FASTR1"),
    )
    work = outdir / "uncal_for_jwst"  # per-segment converted copy, deleted after its run
    work.mkdir(exist_ok=True)
    plan = plan_inputs(uncal, args.max_ints, args.segments)
    partial = bool(args.max_ints or args.segments)
    total_planned = sum(n for _, n, _ in plan)
    stage1 = outdir / "Stage1"
    stage1.mkdir(exist_ok=True)

    timings: dict[str, float] = {}
    per_segment = []
    prep_seconds = 0.0
    inputs = []
    with RssSampler() as sampler:
        for src, nints, n_file in plan:
            sampler.mark("prepare_uncal")
            t0 = time.perf_counter()
            path = prepare_uncal(
                src, work / src.name, nints, n_file, total_planned, len(plan), partial
            )
            prep_seconds += time.perf_counter() - t0
            inputs.append((src, nints, nints < n_file))
            sampler.mark("pipeline_other")
            pipe, steps = build_pipeline(
                refs, rscd_path, stage1, args.cores, args.jump_threshold, args.skip
            )
            seg_t: dict[str, float] = {}
            instrument_pipeline(pipe, seg_t, sampler)
            t0 = time.perf_counter()
            result = pipe.run(str(path))
            wall = time.perf_counter() - t0
            sampler.mark("after")
            cal_step = {k: v for k, v in result.meta.cal_step.instance.items()}
            result.close()
            del result, pipe
            if not args.keep_converted:
                path.unlink()
            seg_t["pipeline_other"] = wall - sum(seg_t.values())  # read input, setup
            seg_t["segment_total"] = wall
            for k, v in seg_t.items():
                timings[k] = timings.get(k, 0.0) + v
            per_segment.append(
                {
                    "file": str(src),
                    "trimmed": nints < n_file,
                    "nints": nints,
                    # stcal: sigma clipping across integrations when a segment has >= 100
                    # (minimum_sigclip_groups, only_use_ints=True), else up the ramp
                    "jump_method": "sigma_clip_across_integrations"
                    if nints >= 100
                    else "two_point_difference_up_the_ramp",
                    "seconds": {k: round(v, 3) for k, v in seg_t.items()},
                    "cal_step": cal_step,
                }
            )
            print(f"{src.name}: {nints} ints, {wall:.1f} s", flush=True)
        peaks = dict(sampler.peaks)

    products = sorted(stage1.glob("*_rateints.fits"))
    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    nints_total = sum(n for _, n, _ in inputs)
    skipped = dict(SKIPPED_WHY)
    skipped["refpix"] = (
        "runs, but jwst skips the correction itself for MIRI subarrays (SLITLESSPRISM)"
    )
    for name in args.skip:
        skipped[name] = "--skip on the command line"
    if "emicorr" not in refs:
        skipped["emicorr"] = "no EMICORR reference in SIMDIR/refs"
    if "reset" not in refs:
        skipped["reset"] = "no RESET reference in SIMDIR/refs"
    step_order = [s for s in MIRI_ORDER if s in timings]
    result = {
        "tool": "jwst calwebb_detector1 (Detector1Pipeline, in-process)",
        "simdir": str(simdir),
        "measured_on": {
            "nints": nints_total,
            "segments": len(inputs),
            "ngroups": int(hdr0["NGROUPS"]),
            "segments_in_exposure": len(uncal),
            "nints_in_exposure": int(hdr0["NINTS"]),
            "partial": partial,
            "note": "times are measured on exactly these integrations; nothing is extrapolated",
            "jump_methods": sorted({p["jump_method"] for p in per_segment}),
        },
        "cores": args.cores,
        "seconds_per_step": {k: round(timings[k], 3) for k in step_order},
        "seconds_save_products": round(timings.get("save_products", 0.0), 3),
        "seconds_pipeline_other": round(timings.get("pipeline_other", 0.0), 3),
        "seconds_total_pipeline": round(timings.get("segment_total", 0.0), 3),
        "seconds_total_script": round(time.perf_counter() - t_start, 3),
        "seconds_prepare_uncal_not_counted": round(prep_seconds, 3),
        "seconds_total_note": "total_pipeline = sum of Detector1Pipeline.run wall times over "
        "segments (steps + saving rateints/rate + reading the uncal file and pipeline "
        "setup, 'pipeline_other'); total_script adds imports, the RSCD reference and rewriting "
        "each simulated uncal as a MAST-format Level1bModel file (prepare_uncal, not counted)",
        "peak_rss_mb": {
            "self_maxrss": round(ru_self.ru_maxrss / 1024, 1),
            "children_maxrss": round(ru_kids.ru_maxrss / 1024, 1),
            "sampled_self_plus_children_by_step": {k: round(v, 1) for k, v in peaks.items()},
        },
        "per_segment": per_segment,
        "products": [str(p) for p in products],
        "settings": {
            "drop_groups": n_drop,
            "drop_groups_source": n_drop_src,
            "drop_groups_how": "RSCD step with a generated reference "
            f"({rscd_path.name}: group_skip1 = group_skip = {n_drop})",
            "steps": {k: {kk: vv for kk, vv in v.items()} for k, v in steps.items()},
            "jump_rejection_threshold": args.jump_threshold or 4.0,
            "crds": {
                "CRDS_PATH": str(crds_path),
                "CRDS_SERVER_URL": _OFFLINE_URL,
                "STPIPE_DISABLE_CRDS_STEPPARS": "true",
                "context_used": "patched stpipe.crds_client.get_context_used",
            },
        },
        "steps_skipped": skipped,
        "reference_patches": PATCHED,
        "versions": {
            "python": platform.python_version(),
            "jwst": jwst.__version__,
            "stcal": stcal.__version__,
            "stdatamodels": stdatamodels.__version__,
            "stpipe": stpipe.__version__,
            "crds": crds.__version__,
            "numpy": np.__version__,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            # other jobs on the machine inflate wall times: the load seen while this ran
            "loadavg_1min_samples": {"start": load_start, "end": list(os.getloadavg())},
            "loadavg_max_sampled": round(max(sampler.loads, default=0.0), 2),
        },
    }
    if args.compare_with is not None:
        result["accuracy_vs_exolrs"] = compare_rateints(stage1, args.compare_with)
        result["accuracy_vs_exolrs"]["exolrs_stage1"] = str(args.compare_with.resolve())
    (outdir / "jwst_result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    if not args.keep_converted:
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {k: result[k] for k in ("seconds_per_step", "seconds_total_pipeline", "peak_rss_mb")},
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
