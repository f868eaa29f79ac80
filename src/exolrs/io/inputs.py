"""What a run starts from: uncal segments, or MAST products of a later stage (jwst
`*_rateints.fits` → Stage 2, `*_calints.fits` → Stage 3, `*_x1dints.fits` → Stage 4),
recognised from the files' names and, failing that, their contents."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from astropy.io import fits

from exolrs.errors import ExolrsError

KINDS = ("uncal", "rateints", "calints", "x1dints")
FIRST_STAGE = {"uncal": 1, "rateints": 2, "calints": 3, "x1dints": 4}


def expand_inputs(files, kinds=KINDS) -> list[Path]:
    """Paths named by `files` (a path, a glob, a folder, or a list of them).  A folder gives
    its files of the first of `kinds` it holds (`*_uncal.fits` before `*_rateints.fits` …)."""
    if isinstance(files, str | os.PathLike):
        files = [files]
    out: list[Path] = []
    for item in files:
        p = Path(item).expanduser()
        if p.is_dir():
            found = next((f for f in (sorted(p.glob(f"*_{k}.fits")) for k in kinds) if f), None)
            if not found:
                names = ", ".join(f"*_{k}.fits" for k in kinds)
                raise ExolrsError(f"no {names} files in folder {p}")
            out += found
        elif any(ch in str(item) for ch in "*?["):
            found = sorted(Path(f) for f in glob.glob(str(p)))
            if not found:
                raise ExolrsError(f"no files match {item}; check the `input:` pattern")
            out += found
        elif not p.exists() and not p.is_symlink():
            raise ExolrsError(f"input file not found: {p}")
        else:
            out.append(p)
    if not out:
        raise ExolrsError("no input files given")
    for p in out:
        if p.is_symlink() and not p.exists():
            raise ExolrsError(f"{p} is a link to a file that does not exist; fix or remove it")
    return list(dict.fromkeys(out))


def product_kind(path) -> str:
    """uncal, rateints, calints or x1dints: from the name's suffix, else from the contents
    (EXTRACT1D tables; 4-D ramps; a flat-fielded cube)."""
    path = Path(path)
    for kind in KINDS:
        if path.name.endswith(f"_{kind}.fits"):
            return kind
    try:
        with fits.open(path) as hdul:
            if any(h.name == "EXTRACT1D" for h in hdul):
                return "x1dints"
            if "SCI" in hdul:
                ndim = hdul["SCI"].header.get("NAXIS", 0)
                if ndim == 4:
                    return "uncal"
                if ndim == 3:
                    calibrated = "VAR_FLAT" in hdul or "S_FLAT" in hdul[0].header
                    return "calints" if calibrated else "rateints"
    except OSError as exc:
        raise ExolrsError(f"{path} is not a readable FITS file ({exc})") from None
    raise ExolrsError(
        f"{path.name} is not a product exolrs starts from: give uncal segments, or jwst "
        "*_rateints.fits, *_calints.fits or *_x1dints.fits of a MIRI LRS slitless exposure."
    )


def classify_inputs(files) -> tuple[str, list[Path]]:
    """(kind, paths) of a run's input; every file must be of one kind."""
    paths = expand_inputs(files)
    kinds = {p: product_kind(p) for p in paths}
    found = sorted(set(kinds.values()), key=KINDS.index)
    if len(found) > 1:
        raise ExolrsError(
            f"the input mixes {' and '.join(found)} files; give the files of one stage "
            f"(e.g. only the *_{found[0]}.fits)"
        )
    if found[0] == "x1dints" and len(paths) > 1:
        raise ExolrsError("give one *_x1dints.fits (Stage 4 fits one spectra product)")
    return found[0], paths
