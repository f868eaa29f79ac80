"""exoTEDRF 2.5.0 side of the exolrs-vs-exoTEDRF benchmark; see README_exotedrf.md beside this file.

Runs in its OWN environment (exoTEDRF's venv), not in exolrs's: it imports nothing from exolrs
and stays outside the package on purpose.

    /tmp/exovenv/bin/python exotedrf_side.py SIMDIR OUTDIR [--max-ints N] [--stages 1,2,3]

Runs exoTEDRF's MIRI/LRS Stage 1 -> 2 -> 3 (run_stage1 / run_stage2 / run_stage3, the functions
run_DMS.py calls) on SIMDIR/uncal/*_uncal.fits entirely offline, with the simulator's reference
files served from a CRDS cache built in OUTDIR/crds_cache, and writes OUTDIR/exotedrf_result.json
(per-step wall times, stage totals, peak RSS, versions, spectra paths, workarounds).

If started with another interpreter it re-executes itself with /tmp/exovenv/bin/python; with
--install it first creates that venv (python3 -m venv + pip install exotedrf==2.5.0) if missing.
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

EXOVENV = Path("/tmp/exovenv")
EXOTEDRF_VERSION = "2.5.0"


# ----------------------------------------------------------------------------- launcher
def ensure_venv(install: bool) -> Path:
    """Path of the exoTEDRF venv's python; create the venv when absent and `install` is set."""
    py = EXOVENV / "bin" / "python"
    if py.exists():
        return py
    if not install:
        sys.exit(
            f"{py} not found; rerun with --install (creates it with 'python3 -m venv "
            f"{EXOVENV} && {EXOVENV}/bin/pip install exotedrf=={EXOTEDRF_VERSION}')"
        )
    subprocess.run([sys.executable or "python3", "-m", "venv", str(EXOVENV)], check=True)
    subprocess.run(
        [str(EXOVENV / "bin" / "pip"), "install", f"exotedrf=={EXOTEDRF_VERSION}"], check=True
    )
    return py


def relaunch_in_venv(argv: list[str]) -> None:
    """Re-execute this script under the exoTEDRF venv unless exotedrf is importable here."""
    try:
        import exotedrf  # noqa: F401

        return
    except ImportError:
        pass
    py = ensure_venv("--install" in argv)
    if Path(sys.prefix).resolve() == EXOVENV.resolve():  # already in the venv
        sys.exit(f"exotedrf is not importable by {py}; reinstall with pip")
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *argv])


# ----------------------------------------------------------------------------- inputs
def read_sim_config(simdir: Path) -> dict:
    """Stage-1 knobs exolrs uses for this simulation (SIMDIR/exolrs.yaml), with brief defaults."""
    cfg = {
        "miri_drop_groups": 12,
        "time_rejection_threshold": 7,
        "flag_up_ramp": False,
        "flag_in_time": True,
    }
    path = simdir / "exolrs.yaml"
    if path.exists():
        import yaml

        doc = yaml.safe_load(path.read_text()) or {}
        for k in cfg:
            if k in (doc.get("stage1") or {}):
                cfg[k] = doc["stage1"][k]
    return cfg


def prepare_uncal(files: list[str], nmax: int | None, outdir: Path) -> list[str]:
    """Copies of the uncal segments that jwst 3.0 can open by path, optionally trimmed.

    jwst 3.0 (stpipe Step.call -> read_metadata) reads a FITS file's metadata from its ASDF
    extension, which every MAST product has but the simulator's files lack (KeyError 'ASDF').
    Each segment is therefore rewritten by stdatamodels (Level1bModel(...).save(), uint16 SCI as
    in MAST uncal files; GROUPDQ/PIXELDQ/INT_TIMES kept).  With `nmax`, only the first `nmax`
    integrations are kept: later segments are dropped and the kept ones get NINTS=nmax,
    INTEND<=nmax, EXSEGTOT=number kept and the INT_TIMES rows of their integrations.
    """
    import numpy as np
    from astropy.io import fits
    from stdatamodels.jwst import datamodels

    outdir.mkdir(parents=True, exist_ok=True)
    kept = []
    for f in files:
        hdr = fits.getheader(f)
        start, end = int(hdr["INTSTART"]), int(hdr["INTEND"])
        if nmax is not None:
            if start > nmax:
                continue
            end = min(end, nmax)
        kept.append((f, start, end))
    out = []
    for f, start, end in kept:
        dest = outdir / Path(f).name
        src = f
        if nmax is not None:
            n = end - start + 1
            src = str(outdir / ("trim_" + Path(f).name))
            with fits.open(f, memmap=False, lazy_load_hdus=True) as h:
                ph = h[0].header.copy()
                ph["NINTS"] = nmax
                ph["INTEND"] = end
                ph["EXSEGTOT"] = len(kept)
                ph["HISTORY"] = f"benchmark: first {nmax} integrations of {Path(f).name}"
                hdus = [fits.PrimaryHDU(header=ph)]
                for ext in h[1:]:
                    if ext.name in ("SCI", "GROUPDQ", "ERR"):
                        data = np.ascontiguousarray(ext.section[:n])
                        eh = ext.header.copy()
                        for k in ("BZERO", "BSCALE"):
                            eh.remove(k, ignore_missing=True)
                        hdus.append(fits.ImageHDU(data, header=eh, name=ext.name))
                    elif ext.name == "INT_TIMES":
                        tab = ext.data
                        num = tab["integration_number"]
                        keep = (num >= start) & (num <= end)
                        hdus.append(fits.BinTableHDU(tab[keep], header=ext.header, name=ext.name))
                    else:
                        hdus.append(ext.copy())
                fits.HDUList(hdus).writeto(src, overwrite=True)
        with datamodels.Level1bModel(src) as m:
            m.meta.filename = dest.name
            m.save(str(dest))
        if src != f:
            os.remove(src)
        out.append(str(dest))
    return out


def baseline_from_truth(simdir: Path, files: list[str], nints: int) -> tuple[list[int], str]:
    """exoTEDRF baseline_ints [a, -b] (ints < a and >= nints-b) from the simulator's orbit truth."""
    import numpy as np
    from astropy.io import fits

    try:
        orbit = json.loads((simdir / "truth.json").read_text())["orbit"]
        times = np.concatenate([fits.getdata(f, "INT_TIMES")["int_mid_BJD_TDB"] for f in files])
        p, a, b = orbit["period_days"], orbit["a_rs"], orbit["b"]
        k = orbit.get("rp_rs_reference", 0.15)
        inc = np.radians(orbit["inc_deg"])
        t14 = p / np.pi * np.arcsin(np.sqrt(max((1 + k) ** 2 - b**2, 0)) / (a * np.sin(inc)))
        intr = np.where(np.abs(times - orbit["t0_bjd_tdb"]) <= 0.5 * t14)[0]
        margin = 10
        if intr.size == 0:
            return [nints, 0], "no transit in the processed integrations: all are baseline"
        lo = int(np.clip(intr[0] - margin, 1, nints))
        hi = int(np.clip(nints - (intr[-1] + 1 + margin), 0, nints))
        return [lo, -hi], f"from truth.json: in transit ints {intr[0]}..{intr[-1]}, margin {margin}"
    except Exception as exc:
        q = max(nints // 4, 1)
        return [q, -q], f"truth.json unusable ({exc!r}); first/last quarter"


# ----------------------------------------------------------------------------- offline CRDS
REFTYPES_PROVIDED = [
    "dark",
    "emicorr",
    "flat",
    "gain",
    "linearity",
    "mask",
    "readnoise",
    "reset",
    "saturation",
    "specwcs",
]
# Reference types the jwst steps exoTEDRF calls ask CRDS for but the simulator has no file for:
# CRDS answers N/A, which jwst treats as "not applicable".
REFTYPES_NA = [
    "fflat",
    "sflat",
    "dflat",
    "distortion",
    "filteroffset",
    "regions",
    "wavelengthrange",
    "camera",
    "collimator",
    "disperser",
    "fore",
    "fpa",
    "msa",
    "ota",
    "ifupost",
    "ifufore",
    "ifuslicer",
    "photom",
    "area",
    "rscd",
    "superbias",
    "ipc",
    "refpix",
    "sirskernel",
    "persat",
    "trapdensity",
    "trappars",
    "pictureframe",
    "bkg",
    "apcorr",
    "extract1d",
    "pathloss",
    "barshadow",
    "wfssbkg",
]


def build_crds_cache(simdir: Path, cache: Path) -> dict:
    """A minimal CRDS cache (context jwst_9999.pmap) selecting SIMDIR/refs for MIRIMAGE.

    Layout: mappings/jwst/{pmap,imap,rmaps}, references/jwst/miri/<symlinks to SIMDIR/refs>,
    config/jwst/server_config.  Used with CRDS_SERVER_URL=https://jwst-serverless-mode.stsci.edu
    (no JSON-RPC is attempted), CRDS_MODE=local, CRDS_CONTEXT=jwst_9999.pmap.
    """
    maps = cache / "mappings" / "jwst"
    refs = cache / "references" / "jwst" / "miri"
    cfg = cache / "config" / "jwst"
    for d in (maps, refs, cfg):
        d.mkdir(parents=True, exist_ok=True)
    ctx = "jwst_9999.pmap"
    imap = "jwst_miri_9999.imap"
    selectors = {}
    found = {}
    fixes: list[str] = []
    for rt in REFTYPES_PROVIDED:
        cands = sorted(glob.glob(str(simdir / "refs" / f"jwst_miri_{rt}_*")))
        if not cands:
            selectors[rt] = "N/A"
            continue
        src = Path(cands[0]).resolve()
        link = refs / src.name
        if link.is_symlink() or link.exists():
            link.unlink()
        if rt == "dark" and fix_miri_dark_dq(src, link):
            fixes.append(
                f"Simulator dark {src.name}: DQ has one plane (1,1,ny,nx) but SCI has "
                "several dark integrations; stcal's MIRI dark subtraction ORs "
                "groupdq[i, 0] for every dark integration i and raises IndexError. The cache "
                "holds a copy with the DQ plane repeated per dark integration (SCI/ERR "
                "unchanged)."
            )
        else:
            link.symlink_to(src)
        rmap = f"jwst_miri_{rt}_9999.rmap"
        (maps / rmap).write_text(
            "header = {\n"
            "    'classes' : ('Match', 'UseAfter'),\n"
            f"    'filekind' : '{rt.upper()}',\n"
            "    'instrument' : 'MIRI',\n"
            "    'mapping' : 'REFERENCE',\n"
            f"    'name' : '{rmap}',\n"
            "    'observatory' : 'JWST',\n"
            "    'parkey' : (('META.INSTRUMENT.DETECTOR',), "
            "('META.OBSERVATION.DATE', 'META.OBSERVATION.TIME')),\n"
            "    'derived_from' : 'exotedrf_side.py (offline benchmark)',\n"
            "    'sha1sum' : 'none',\n"
            "}\n\n"
            "selector = Match({\n"
            "    ('MIRIMAGE',) : UseAfter({\n"
            f"        '1900-01-01 00:00:00' : '{src.name}',\n"
            "    }),\n"
            "})\n"
        )
        selectors[rt] = rmap
        found[rt] = str(src)
    for rt in REFTYPES_NA:
        selectors.setdefault(rt, "N/A")
    sel = "".join(f"    '{k}' : '{v}',\n" for k, v in sorted(selectors.items()))
    (maps / imap).write_text(
        "header = {\n"
        "    'instrument' : 'MIRI',\n"
        "    'mapping' : 'INSTRUMENT',\n"
        f"    'name' : '{imap}',\n"
        "    'observatory' : 'JWST',\n"
        "    'parkey' : ('REFTYPE',),\n"
        "    'derived_from' : 'exotedrf_side.py (offline benchmark)',\n"
        "    'sha1sum' : 'none',\n"
        "}\n\n"
        f"selector = {{\n{sel}}}\n"
    )
    (maps / ctx).write_text(
        "header = {\n"
        "    'mapping' : 'PIPELINE',\n"
        f"    'name' : '{ctx}',\n"
        "    'observatory' : 'JWST',\n"
        "    'parkey' : ('META.INSTRUMENT.NAME',),\n"
        "    'derived_from' : 'exotedrf_side.py (offline benchmark)',\n"
        "    'sha1sum' : 'none',\n"
        "}\n\n"
        f"selector = {{\n    'MIRI' : '{imap}',\n}}\n"
    )
    info = {
        "observatory": "jwst",
        "operational_context": ctx,
        "edit_context": ctx,
        "bad_files": "",
        "bad_files_list": [],
        "bad_files_info": {},
        "force_remote_mode": False,
        "mappings": [ctx, imap] + [v for v in selectors.values() if v != "N/A"],
        "last_synced": time.strftime("%Y-%m-%d %H:%M:%S"),
        "crds_version": {"str": "offline"},
        "reference_url": {"checked": {"jwst": "none"}, "unchecked": {"jwst": "none"}},
        "mapping_url": {"checked": {"jwst": "none"}, "unchecked": {"jwst": "none"}},
        "download_metadata": "none",
    }
    (cfg / "server_config").write_text(repr(info))
    os.environ.update(
        {
            "CRDS_PATH": str(cache),
            "CRDS_SERVER_URL": "https://jwst-serverless-mode.stsci.edu",
            "CRDS_MODE": "local",
            "CRDS_CONTEXT": ctx,
            "CRDS_IGNORE_MAPPING_CHECKSUM": "1",
            "STPIPE_DISABLE_CRDS_STEPPARS": "true",
        }
    )
    return found, fixes


def fix_miri_dark_dq(src: Path, dest: Path) -> bool:
    """Write `dest` with DQ (n,1,ny,nx) if the MIRI dark `src` has fewer DQ planes than
    integrations; return False (nothing written) when `src` is already consistent."""
    import numpy as np
    from astropy.io import fits

    with fits.open(src) as h:
        nint = h["SCI"].data.shape[0] if h["SCI"].data.ndim == 4 else 1
        dq = h["DQ"].data
        if h["SCI"].data.ndim != 4 or (dq.ndim == 4 and dq.shape[0] == nint):
            return False
        plane = dq.reshape((-1, *dq.shape[-2:]))[0]
        h["DQ"].data = np.repeat(plane[None, None], nint, axis=0)
        h.writeto(dest, overwrite=True)
    return True


# ----------------------------------------------------------------------------- timing
class Timer:
    """Wall time per step: wraps step-class `run` methods and named module functions."""

    def __init__(self):
        self.steps: dict[str, dict] = {}
        self.stack: list[str] = []

    def _record(self, name, dt):
        s = self.steps.setdefault(name, {"seconds": 0.0, "calls": 0})
        s["seconds"] += dt
        s["calls"] += 1

    def wrap(self, owner, attr, name, after=None):
        """Time owner.attr; `after(args, result)` runs once the timed call has returned."""
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*a, **k):
            t0 = time.perf_counter()
            self.stack.append(name)
            try:
                res = fn(*a, **k)
            finally:
                self.stack.pop()
                self._record(name, time.perf_counter() - t0)
            if after is not None:
                after(a, res)
            return res

        setattr(owner, attr, timed)

    def measure(self, name):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                timer._record(name, time.perf_counter() - self.t0)

        return _Ctx()


def peak_rss_mb() -> dict:
    to_mb = 1 / 1024  # ru_maxrss is in kB on Linux
    return {
        "self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb, 1),
        "children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb, 1),
    }


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("simdir", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument(
        "--max-ints",
        type=int,
        default=None,
        help="process only the first N integrations (trimmed uncal copies in OUTDIR)",
    )
    ap.add_argument("--stages", default="1,2,3")
    ap.add_argument(
        "--extract",
        default="box,optimal",
        help="Stage 3 extraction method(s), comma-separated (box, optimal)",
    )
    ap.add_argument("--extract-width", type=float, default=6, help="box width (columns)")
    ap.add_argument(
        "--optimal-width",
        default="none",
        help="optimal-extraction width; 'none' = whole frame (see README)",
    )
    ap.add_argument("--install", action="store_true", help="create the exoTEDRF venv if missing")
    ap.add_argument(
        "--keep-intermediates",
        action="store_true",
        help="keep Stage 1/2 products (default: delete the large ones at the end)",
    )
    args = ap.parse_args(argv)
    stages = sorted({int(s) for s in args.stages.split(",") if s.strip()})
    simdir, outdir = args.simdir.resolve(), args.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    workarounds: list[str] = []
    load_start = os.getloadavg()

    # --- inputs
    uncal = sorted(glob.glob(str(simdir / "uncal" / "*_uncal.fits")))
    if not uncal:
        sys.exit(f"no *_uncal.fits in {simdir / 'uncal'}")
    t0 = time.perf_counter()
    if 1 in stages:
        uncal = prepare_uncal(uncal, args.max_ints, outdir / "uncal_prepared")
    else:
        uncal = sorted(glob.glob(str(outdir / "uncal_prepared" / "*_uncal.fits"))) or uncal
    t_prep = time.perf_counter() - t0
    from astropy.io import fits

    nints = int(fits.getheader(uncal[0])["NINTS"])
    ngroups = int(fits.getheader(uncal[0])["NGROUPS"])
    s1cfg = read_sim_config(simdir)
    baseline_ints, baseline_note = baseline_from_truth(simdir, uncal, nints)

    # --- offline references
    refs, ref_fixes = build_crds_cache(simdir, outdir / "crds_cache")
    workarounds += ref_fixes
    workarounds.append(
        "Offline CRDS: a minimal CRDS cache is generated in OUTDIR/crds_cache (context "
        "jwst_9999.pmap -> jwst_miri_9999.imap -> one rmap per simulator reference type, matching "
        "DETECTOR=MIRIMAGE, USEAFTER 1900; references are symlinks to SIMDIR/refs; every other "
        "reference type is N/A) with CRDS_SERVER_URL=https://jwst-serverless-mode.stsci.edu "
        "(CRDS skips all JSON-RPC for 'serverless' URLs), CRDS_MODE=local, CRDS_CONTEXT, "
        "CRDS_IGNORE_MAPPING_CHECKSUM=1 and STPIPE_DISABLE_CRDS_STEPPARS=true (no pars-* lookups). "
        "run_DMS.py is not used because it hard-sets CRDS_SERVER_URL to the real server; its "
        "run_stage1/2/3 calls are made directly with the same arguments. override_<reftype> "
        "kwargs are NOT used: exoTEDRF forwards stage kwargs {'LinearityStep': {...}} to most jwst "
        "step.call()s, but its MIRI dark subtraction (inside LinearityStep) calls "
        "DarkCurrentStep without kwargs, so the dark can only come from CRDS."
    )

    # --- import exoTEDRF after the CRDS environment is set (as run_DMS.py does)
    import jwst
    from exotedrf import stage1, stage2, stage3

    timer = Timer()
    pod = outdir / "pipeline_outputs_directory"
    ours = (str(pod / "Stage1"), str(outdir / "uncal_prepared"))

    keep = args.keep_intermediates

    def drop_consumed_inputs(call_args, res):
        """Delete a Stage 1 step's input files once the step has written its outputs (each
        RampModel product is ~3 GB per 200x100-group segment); only files this script or
        exoTEDRF wrote under OUTDIR, never SIMDIR."""
        if keep:
            return
        outs = {str(r) for r in res}
        for f in call_args[0].datafiles:
            if isinstance(f, str) and f.startswith(ours) and f not in outs and os.path.exists(f):
                os.remove(f)

    for cls in (
        "DQInitStep",
        "EmiCorrStep",
        "LinearityStep",
        "JumpStep",
        "RampFitStep",
        "GainScaleStep",
    ):
        timer.wrap(getattr(stage1, cls), "run", f"stage1.{cls}", after=drop_consumed_inputs)
    for cls in (
        "AssignWCSStep",
        "FlatFieldStep",
        "BackgroundStep",
        "BadPixStep",
        "PCAReconstructStep",
    ):
        timer.wrap(getattr(stage2, cls), "run", f"stage2.{cls}")
    timer.wrap(stage3.Extract1DStep, "run", "stage3.Extract1DStep")
    # Sub-steps (called through module globals, so wrapping the module attribute times them):
    timer.wrap(stage1, "flag_saturated_pixels", "stage1.DQInitStep/flag_saturated_pixels")
    timer.wrap(stage1, "jumpstep_in_time", "stage1.JumpStep/jumpstep_in_time")
    timer.wrap(stage1, "griddata", "stage1.RampFitStep/cosmetic_griddata_nan_interp")
    timer.wrap(stage2, "griddata", "stage2.FlatFieldStep/cosmetic_griddata_nan_interp")
    timer.wrap(stage3, "trace_spectrum", "stage3.Extract1DStep/trace_spectrum")
    timer.wrap(stage3, "box_extract_miri", "stage3.Extract1DStep/box_extract_miri")
    timer.wrap(stage3, "optimal_extract_miri", "stage3.Extract1DStep/optimal_extract_miri")
    timer.wrap(stage3, "format_miri_spectra", "stage3.Extract1DStep/format_miri_spectra")
    from jwst.dark_current import dark_current_step

    _dark_call = dark_current_step.DarkCurrentStep.call.__func__

    def _timed_dark_call(cls, *a, **k):
        with timer.measure("stage1.LinearityStep/jwst_DarkCurrentStep"):
            return _dark_call(cls, *a, **k)

    dark_current_step.DarkCurrentStep.call = classmethod(_timed_dark_call)

    root = str(outdir) + "/"
    result_path = outdir / "exotedrf_result.json"
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    stage_totals = result.get("stage_totals_s", {})
    old_steps = result.get("steps", {})

    common = dict(save_results=True, force_redo=True, root_dir=root, do_plot=False)
    t_stage = {}

    # ---------------- Stage 1
    if 1 in stages:
        workarounds += [
            "run_stage1(saturation_threshold=None) (its default) raises TypeError in "
            "DQInitStep (None /= 100); passed saturation_threshold=80 (% of the hard-coded MIRI "
            "full well 56600 DN), DQInitStep.run's own default.",
            "exoTEDRF's MIRI Stage 1 runs jwst DQInit, EmiCorr, Linearity + Dark (inside "
            "LinearityStep), its own time-domain JumpStep, RampFit, GainScale; it runs no jwst "
            "Saturation, Reset, RSCD, IPC, RefPix, SuperBias or 1/f step for MIRI (RSCD is "
            "handled by flagging the first miri_drop_groups groups DO_NOT_USE, saturation by its "
            "own 80%-full-well threshold), so no rscd/ipc/refpix/superbias reference is needed; "
            "the simulator's saturation and reset references are unused.",
        ]
        workarounds.append(
            "Disk: exoTEDRF saves every Stage 1 step's RampModel (~3 GB per 200-integration "
            "100-group segment, 6 steps). To fit the disk, run_stage1 is called once per segment "
            "(all exoTEDRF MIRI Stage 1 steps are per-segment, so the computation is the same) "
            "and each step's input file is deleted right after the step returns (outside the "
            "timed region); --keep-intermediates disables this."
        )
        t0 = time.perf_counter()
        s1 = []
        for seg in uncal:
            s1 += stage1.run_stage1(
                [seg],
                mode="MIRI/LRS",
                baseline_ints=baseline_ints,
                flag_up_ramp=bool(s1cfg["flag_up_ramp"]),
                flag_in_time=bool(s1cfg["flag_in_time"]),
                time_rejection_threshold=s1cfg["time_rejection_threshold"],
                miri_drop_groups=int(s1cfg["miri_drop_groups"]),
                saturation_threshold=80,
                skip_steps=[],
                **common,
            )
        t_stage["stage1"] = time.perf_counter() - t0
        s1 = [str(x) for x in s1]
    else:
        s1 = sorted(glob.glob(str(pod / "Stage1" / "*gainscalestep.fits")))

    # ---------------- Stage 2
    deepframe = None
    if 2 in stages:
        t0 = time.perf_counter()
        with timer.measure("stage2.AssignWCSStep(substitute)"):
            s1 = substitute_assign_wcs(s1, refs["specwcs"], pod / "Stage2")
        workarounds.append(
            "jwst AssignWcsStep cannot run for MIR_LRS-SLITLESS on the simulated data: it needs a "
            "MIRI 'distortion' reference (the simulator provides none) and pointing keywords "
            "(V2_REF/V3_REF/ROLL_REF/RA_REF...) absent from the simulated headers. Instead the "
            "script writes the same product exoTEDRF's AssignWCSStep would "
            "(<root>assignwcsstep.fits, SRCTYPE=POINT) with the WAVELENGTH extension filled "
            "per row by linear interpolation of the specwcs WAVETABLE (x_center, y_center, "
            "wavelength) -- what exoTEDRF's Stage 3 get_wave_miri() reads -- and runs run_stage2 "
            "with skip_steps=['AssignWCSStep']. Its time is reported as "
            "'stage2.AssignWCSStep(substitute)', not as exoTEDRF's."
        )
        workarounds.append(
            "save_results=True throughout (as run_DMS.yaml): with save_results=False, Stage 2 "
            "for MIRI runs (tested on 20 integrations) but Stage 3 fails: trace_spectrum then "
            "returns the centroids as a numpy array and box_extract_miri indexes "
            "centroids['xpos'] (IndexError); it would also hold every product in memory."
        )
        s2, deepframe = stage2.run_stage2(
            s1,
            mode="MIRI/LRS",
            baseline_ints=baseline_ints,
            space_thresh=10,
            time_thresh=10,
            pca_components=10,
            remove_components=None,
            generate_lc=False,
            miri_trace_width=20,
            miri_background_width=14,
            miri_background_method="median",
            skip_steps=["AssignWCSStep"],
            **common,
        )
        t_stage["stage2"] = time.perf_counter() - t0
        s2 = [str(x) for x in s2]
    else:
        s2 = sorted(glob.glob(str(pod / "Stage2" / "*pcareconstructstep.fits"))) or sorted(
            glob.glob(str(pod / "Stage2" / "*badpixstep.fits"))
        )
        deeps = sorted(glob.glob(str(pod / "Stage2" / "*deepframe.fits")))
        deepframe = deeps[0] if deeps else None

    # ---------------- Stage 3
    spectra_files = dict(result.get("spectra_files", {}))
    if 3 in stages:
        t0 = time.perf_counter()
        for method in [m.strip() for m in args.extract.split(",") if m.strip()]:
            name = f"stage3.Extract1DStep[{method}]"
            width = int(args.extract_width)
            if method == "optimal" and args.optimal_width.lower() == "none":
                width = None
                workarounds.append(
                    "Optimal extraction runs with extract_width=None (whole 72-column frame, "
                    "exoTEDRF's documented 'None for optimal' option): with an integer width, "
                    "exoTEDRF 2.5.0's optimal_extract_miri passes per-row bounds of length "
                    "max(row)-min(row)+1 (366 centroid rows 50..415) but xmin:xmax = 50:415 "
                    "(365 rows) to get_spatial_prof_opt, which fails 'assert len(ymax) == "
                    "xdim' (off-by-one; reproducible with --optimal-width 6)."
                )
            elif method == "optimal":
                width = int(args.optimal_width)
            with timer.measure(name):
                stage3.run_stage3(
                    s2,
                    extract_method=method,
                    extract_width=width,
                    deepframe=deepframe,
                    centroids=None,
                    **common,
                )
            spectra_files[method] = sorted(
                glob.glob(str(pod / "Stage3" / f"*_{method}_spectra_fullres.fits"))
            )[-1]
        t_stage["stage3"] = time.perf_counter() - t0

    # ---------------- result JSON
    steps = dict(old_steps)
    steps.update(
        {
            k: {"seconds": round(v["seconds"], 3), "calls": v["calls"]}
            for k, v in timer.steps.items()
        }
    )
    # The wrapped Extract1DStep.run total covers both methods; keep the per-method entries.
    steps.pop("stage3.Extract1DStep", None)
    stage_totals.update({k: round(v, 3) for k, v in t_stage.items()})
    # before platform.platform(), whose `uname -p` fork would inherit our high-water mark
    rss = peak_rss_mb()
    prev_ws = result.get("workarounds", [])
    result.update(
        {
            "tool": "exoTEDRF",
            "exotedrf_version": _version("exotedrf"),
            "jwst_version": jwst.__version__,
            "python": platform.python_version(),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "loadavg_1_5_15_at_start": load_start,
                "loadavg_1_5_15_at_end": os.getloadavg(),
            },
            "simdir": str(simdir),
            "input_files": list(uncal),
            "nints_processed": nints,
            "ngroups": ngroups,
            "nsegments": len(uncal),
            "measured_on_nints": nints,
            "subset": bool(args.max_ints),
            "note_times": (
                "all times are wall-clock seconds measured on measured_on_nints "
                "integrations in one process; nothing is extrapolated"
            ),
            "parameters": {
                "stage1": {
                    **s1cfg,
                    "saturation_threshold": 80,
                    "rejection_threshold(unused)": 15,
                    "ramp_fit_maximum_cores": "quarter (exoTEDRF default)",
                },
                "stage2": {
                    "miri_background_method": "median",
                    "miri_trace_width": 20,
                    "miri_background_width": 14,
                    "space_thresh": 10,
                    "time_thresh": 10,
                    "pca_components": 10,
                    "remove_components": None,
                    "baseline_ints": baseline_ints,
                    "baseline_note": baseline_note,
                },
                "stage3": {
                    "extract_methods": args.extract,
                    "extract_width": int(args.extract_width),
                    "optimal_extract_width": args.optimal_width,
                    "centroids": "exoTEDRF trace_spectrum (edgetrigger)",
                },
            },
            "steps": dict(sorted(steps.items())),
            "stage_totals_s": stage_totals,
            "prepare_input_s(not exoTEDRF)": round(t_prep, 3),
            "peak_rss": rss,
            "spectra_files": spectra_files,
            "final_spectra_file": spectra_files.get("box")
            or next(iter(spectra_files.values()), None),
            "deepframe": str(deepframe) if deepframe is not None else result.get("deepframe"),
            "references": refs,
            "workarounds": list(dict.fromkeys(prev_ws + workarounds)),
        }
    )
    extra = [
        "Input files: jwst 3.0's Step.call(path) reads metadata from the FITS 'ASDF' extension "
        "(stdatamodels read_metadata), which MAST uncal files have but the exolrs simulator's "
        "do not (KeyError: \"Extension 'ASDF' not found.\" in DQInitStep). Each segment is "
        "rewritten with stdatamodels Level1bModel(...).save() into OUTDIR/uncal_prepared "
        "(uint16 SCI like MAST, GROUPDQ/PIXELDQ/INT_TIMES kept); this time is reported as "
        "'prepare_input_s(not exoTEDRF)'."
    ]
    if args.max_ints:
        extra.append(
            f"--max-ints {args.max_ints}: the prepared copies hold the first {args.max_ints} "
            "integrations (NINTS, INTEND, EXSEGTOT and INT_TIMES rows updated; INTSTART kept; "
            "later segments dropped)."
        )
    result["workarounds"] = list(dict.fromkeys(result["workarounds"] + extra))
    result_path.write_text(json.dumps(result, indent=2, default=str))

    if not args.keep_intermediates and 3 in stages:
        cleanup(outdir)
    print(
        json.dumps(
            {
                "steps": result["steps"],
                "stage_totals_s": stage_totals,
                "peak_rss": result["peak_rss"],
                "nints": nints,
            },
            indent=1,
        )
    )
    return 0


def substitute_assign_wcs(files: list[str], specwcs: str, outdir: Path) -> list[str]:
    """<root>assignwcsstep.fits copies with WAVELENGTH (µm) per row from the specwcs table."""
    import numpy as np
    from astropy.io import fits
    from exotedrf import utils
    from jwst import datamodels

    outdir.mkdir(parents=True, exist_ok=True)
    tab = fits.getdata(specwcs, "WAVETABLE")
    names = {n.lower(): n for n in tab.columns.names}
    yc = np.asarray(tab[names["y_center"]], float)
    wl = np.asarray(tab[names["wavelength"]], float)
    o = np.argsort(yc)
    roots = utils.get_filename_root(files)
    out = []
    for f, r in zip(files, roots, strict=True):
        with datamodels.open(f) as m:
            ny, nx = m.data.shape[-2:]
            # specwcs y_center is in full-frame pixels; shift to 0-based subarray rows
            y0 = int(m.meta.subarray.ystart or 1) - 1
            row_wave = np.interp(np.arange(ny), yc[o] - y0, wl[o], left=np.nan, right=np.nan)
            m.wavelength = np.repeat(row_wave[:, None], nx, axis=1).astype(np.float32)
            m.meta.target.source_type = "POINT"
            dest = outdir / f"{r}assignwcsstep.fits"
            m.meta.filename = dest.name
            m.save(str(dest))
        out.append(str(dest))
    return out


def cleanup(outdir: Path) -> None:
    """Delete the big intermediate products; keep spectra, centroids, deep frame, JSON."""
    pod = outdir / "pipeline_outputs_directory"
    for pat in ("Stage1/*.fits", "Stage2/*step.fits"):
        for f in glob.glob(str(pod / pat)):
            os.remove(f)
    shutil.rmtree(outdir / "uncal_prepared", ignore_errors=True)


def _version(pkg):
    from importlib.metadata import version

    try:
        return version(pkg)
    except Exception:
        return "unknown"


if __name__ == "__main__":
    relaunch_in_venv(sys.argv[1:])
    sys.exit(main(sys.argv[1:]))
