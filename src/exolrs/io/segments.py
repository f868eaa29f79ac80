"""Find, order and validate the uncal segments of one MIRI/LRS slitless exposure.

An exposure downloaded from MAST comes as ``<root>-segNNN_mirimage_uncal.fits`` files.
`discover_segments` accepts a folder, a glob or a list of paths and returns an `Exposure`:
the segments ordered by EXSEGNUM with their integration ranges, after checking that they are
readable, complete FITS files of MIRI LRS slitless data from one observation, contiguous and
of consistent shape.  Every problem raises `ExolrsError` naming the file and the fix.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from exolrs.errors import ExolrsError
from exolrs.io.inputs import expand_inputs
from exolrs.io.products import with_wcsinfo

EXPECTED = {
    "INSTRUME": "MIRI",
    "DETECTOR": "MIRIMAGE",
    "EXP_TYPE": "MIR_LRS-SLITLESS",
    "SUBARRAY": "SLITLESSPRISM",
}
OBSERVATION_KEYS = ("PROGRAM", "OBSERVTN", "VISIT", "VISITGRP", "SEQ_ID", "ACT_ID", "EXPOSURE")
log = logging.getLogger(__name__)
_SEG_RE = re.compile(r"^(?P<root>.+?)(-seg(?P<seg>\d{3}))?_(?P<det>[a-z0-9]+)_(?P<suf>\w+)\.fits$")


@dataclass
class Segment:
    """One segment file: its path, header and where its data live."""

    path: Path
    header: fits.Header
    start: int  # 0-based first integration of the exposure held here
    stop: int
    sci_offset: int  # byte offset of SCI data
    gdq_offset: int | None
    int_times: np.ndarray | None = None  # INT_TIMES rows as a structured array


@dataclass
class Exposure:
    """An ordered, validated set of segments forming one exposure."""

    segments: list[Segment]
    nints: int
    ngroups: int
    ny: int
    nx: int
    header: dict = field(default_factory=dict)  # first segment's primary header
    warnings: list[str] = field(default_factory=list)  # what was rebuilt or assumed, said once

    @property
    def paths(self) -> list[Path]:
        return [s.path for s in self.segments]

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return [(s.start, s.stop) for s in self.segments]

    @property
    def segment_headers(self) -> list[fits.Header]:
        return [s.header for s in self.segments]

    def segment_int_times(self, index: int) -> np.ndarray | None:
        return self.segments[index].int_times

    def int_times(self) -> np.ndarray | None:
        """INT_TIMES of the whole exposure (None when a segment lacks the table)."""
        parts = [s.int_times for s in self.segments]
        if any(p is None for p in parts):
            return None
        return np.concatenate(parts)


def header_float(header, key: str, default, path: Path) -> float:
    """A numeric keyword of a segment's header (`default` when absent), or a clear error."""
    value = header.get(key, default)
    try:
        if isinstance(value, bool):
            raise ValueError
        out = float(value)
        if not np.isfinite(out):
            raise ValueError
        return out
    except (TypeError, ValueError):
        raise ExolrsError(
            f"{path.name}: {key} = {value!r} is not a number; the header is damaged. "
            "Download the file again from MAST."
        ) from None


def header_int(header, key: str, default, path: Path) -> int:
    """A whole-number keyword of a segment's header (`default` when absent), or a clear
    error."""
    value = header_float(header, key, default, path)
    if value != int(value):
        raise ExolrsError(
            f"{path.name}: {key} = {header.get(key)!r} is not a whole number; the header is "
            "damaged. Download the file again from MAST."
        )
    return int(value)


def _expand(files) -> list[Path]:
    return expand_inputs(files, kinds=("uncal",))


def _open_segment(path: Path) -> tuple[Segment, tuple[int, ...]]:
    if path.stat().st_size == 0:
        raise ExolrsError(f"{path} is empty (0 bytes); download it again")
    try:
        with warnings.catch_warnings():
            # a truncated file is reported below with a clearer message
            warnings.simplefilter("ignore", AstropyUserWarning)
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        with hdul:
            if "SCI" not in hdul:
                raise ExolrsError(f"{path} has no SCI extension; is it an *_uncal.fits file?")
            header = with_wcsinfo(hdul[0].header, hdul["SCI"].header)
            sci = hdul["SCI"]
            info = sci.fileinfo()
            shape = tuple(sci.header[f"NAXIS{k}"] for k in range(sci.header["NAXIS"], 0, -1))
            end = info["datLoc"] + int(np.prod(shape)) * abs(sci.header["BITPIX"]) // 8
            gdq_offset = hdul["GROUPDQ"].fileinfo()["datLoc"] if "GROUPDQ" in hdul else None
            times = np.asarray(hdul["INT_TIMES"].data).copy() if "INT_TIMES" in hdul else None
            sci_header = sci.header.copy()
    except ExolrsError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ExolrsError(
            f"{path} is not a readable FITS file ({exc}); it may be truncated or not FITS. "
            "Download it again from MAST."
        ) from None
    if os.path.getsize(path) < end:
        raise ExolrsError(
            f"{path} is truncated: SCI needs {end} bytes, the file has "
            f"{os.path.getsize(path)}. Download it again from MAST."
        )
    for key, want in EXPECTED.items():
        have = str(header.get(key, "")).strip()
        if have != want:
            raise ExolrsError(
                f"{path.name}: {key} = {have or '(missing)'!r}, but exolrs reduces MIRI LRS "
                f"slitless time series ({key} = {want!r}). Pass only *_mirimage_uncal.fits "
                "segments of a MIRI/LRS SLITLESSPRISM exposure."
            )
    if len(shape) != 4 or sci_header["BITPIX"] != 16:
        raise ExolrsError(
            f"{path.name}: SCI has shape {shape} and BITPIX {sci_header['BITPIX']}; an uncal "
            "file holds 16-bit ramps (nints, ngroups, ny, nx). Is this a rate or cal product?"
        )
    nints = shape[0]
    if "INTSTART" not in header:  # placed after the others by discover_segments
        return Segment(
            path=path,
            header=header,
            start=-1,
            stop=-1 + nints,
            sci_offset=info["datLoc"],
            gdq_offset=gdq_offset,
            int_times=times,
        ), shape
    intstart = header_int(header, "INTSTART", 1, path)
    intend = header_int(header, "INTEND", intstart + nints - 1, path)
    if intend - intstart + 1 != nints:
        raise ExolrsError(
            f"{path.name}: INTSTART–INTEND = {intstart}–{intend} but SCI holds {nints} "
            "integrations; the file header is inconsistent."
        )
    return Segment(
        path=path,
        header=header,
        start=intstart - 1,
        stop=intend,
        sci_offset=info["datLoc"],
        gdq_offset=gdq_offset,
        int_times=times,
    ), shape


def observation_id(path: Path, header) -> tuple:
    """What must agree between segments of one exposure."""
    m = _SEG_RE.match(path.name)
    root = m.group("root") if m else path.stem
    return (root, *(str(header.get(k, "")) for k in OBSERVATION_KEYS))


def discover_segments(files) -> Exposure:
    """Order and validate uncal segments; see the module docstring.  An `Exposure` already
    discovered is returned as it is."""
    if isinstance(files, Exposure):
        return files
    opened = [_open_segment(p) for p in _expand(files)]
    segs = [s for s, _ in opened]
    shapes = {s.path.name: shape[1:] for s, shape in opened}
    ids = {observation_id(s.path, s.header) for s in segs}
    if len(ids) > 1:
        roots = sorted({i[0] for i in ids})
        raise ExolrsError(
            f"the inputs mix {len(ids)} observations ({', '.join(roots)}); reduce one "
            "exposure at a time (give one observation's segments, e.g. 'uncal/jw02783001001*')."
        )
    if len(set(shapes.values())) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in shapes.items())
        raise ExolrsError(f"segments have different (ngroups, ny, nx): {detail}")
    segs.sort(key=lambda s: (header_int(s.header, "EXSEGNUM", 0, s.path), s.start))
    notes: list[str] = []
    if any(s.start < 0 for s in segs):
        if len(segs) > 1 and any("EXSEGNUM" not in s.header for s in segs):
            raise ExolrsError(
                f"{segs[0].path.name}: INTSTART and EXSEGNUM are missing, so the segments "
                "cannot be put in order; give segments with their MAST headers."
            )
        start = 0
        for seg in segs:
            n = seg.stop - seg.start
            seg.start, seg.stop = start, start + n
            start += n
        notes.append(
            "INTSTART/INTEND missing: integration ranges derived from the segments' order "
            "(EXSEGNUM) and sizes"
        )
    nints = header_int(segs[0].header, "NINTS", segs[-1].stop, segs[0].path)
    total = header_int(segs[0].header, "EXSEGTOT", len(segs), segs[0].path)
    if not 1 <= total <= 999:  # MAST numbers segments seg001 … seg999
        raise ExolrsError(
            f"{segs[0].path.name}: EXSEGTOT = {total} is not a segment count (1–999); the "
            "header is damaged. Download the file again from MAST."
        )
    numbers = [header_int(s.header, "EXSEGNUM", i + 1, s.path) for i, s in enumerate(segs)]
    if len(set(numbers)) != len(numbers):
        raise ExolrsError("the same segment is given twice: " + ", ".join(map(str, numbers)))
    missing = sorted(set(range(1, total + 1)) - set(numbers))
    if missing:
        raise ExolrsError(
            f"segment(s) {', '.join(f'seg{m:03d}' for m in missing)} of {total} missing from "
            f"the inputs (found {', '.join(f'seg{n:03d}' for n in numbers)}); download every "
            "segment of the exposure."
        )
    expected = 0
    for s in segs:
        if s.start != expected:
            raise ExolrsError(
                f"{s.path.name} starts at integration {s.start + 1} but {expected + 1} was "
                "expected; segments are not contiguous."
            )
        expected = s.stop
    if expected != nints:
        raise ExolrsError(
            f"the segments hold integrations 1–{expected} but NINTS = {nints}; "
            "a segment is missing or truncated."
        )
    ngroups, ny, nx = next(iter(shapes.values()))
    notes += check_integration_times(segs, nints, ngroups)
    header = dict(segs[0].header)
    header.pop("COMMENT", None)
    header.pop("HISTORY", None)
    header.pop("", None)
    for note in notes:
        log.warning(note)
    return Exposure(segs, nints=nints, ngroups=ngroups, ny=ny, nx=nx, header=header, warnings=notes)


def rebuilt_times(header, start: int, stop: int, nints: int) -> np.ndarray:
    """INT_TIMES of integrations [start, stop) rebuilt from the exposure keywords: the
    cadence (EXPEND − EXPSTART) / NINTS from EXPSTART in MJD UTC, and BJD_TDB at the
    geocentre toward TARG_RA/TARG_DEC (JWST's distance from Earth makes that up to ~5 s off)."""
    from astropy import units as u
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    need = ("EXPSTART", "EXPEND", "TARG_RA", "TARG_DEC")
    lacking = [k for k in need if k not in header]
    if lacking:
        raise ExolrsError(
            "the segments have no INT_TIMES table and the header lacks "
            f"{', '.join(lacking)} to rebuild the integration times; give the MAST files."
        )
    where_from = Path(str(header.get("FILENAME", "the segment")))
    t0, t1, ra, dec = (
        header_float(header, k, None, where_from)
        for k in ("EXPSTART", "EXPEND", "TARG_RA", "TARG_DEC")
    )
    if not (t1 > t0 and -90 <= dec <= 90):
        raise ExolrsError(
            f"{where_from.name}: EXPSTART/EXPEND/TARG_DEC ({t0}, {t1}, {dec}) cannot give the "
            "integration times; give the MAST files with their INT_TIMES."
        )
    cadence = (t1 - t0) / nints
    k = np.arange(start, stop)
    coord = SkyCoord(ra * u.deg, dec * u.deg)
    where = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
    table = np.zeros(
        len(k),
        dtype=[("integration_number", ">i4")]
        + [
            (f"int_{w}_{s}", ">f8") for s in ("MJD_UTC", "BJD_TDB") for w in ("start", "mid", "end")
        ],
    )
    table["integration_number"] = k + 1
    for w, off in (("start", 0.0), ("mid", 0.5), ("end", 1.0)):
        mjd = t0 + (k + off) * cadence
        t = Time(mjd, format="mjd", scale="utc", location=where)
        table[f"int_{w}_MJD_UTC"] = mjd
        table[f"int_{w}_BJD_TDB"] = (t.tdb + t.light_travel_time(coord)).mjd
    return table


def check_integration_times(segs: list[Segment], nints: int, ngroups: int) -> list[str]:
    """Every segment's INT_TIMES present (or rebuilt, said in the returned notes), one row per
    integration, finite, strictly increasing across segments and spaced as the readout
    (≈ TGROUP × NGROUPS, within 20 %); else a clear error."""
    notes = []
    if any(s.int_times is None for s in segs):
        for s in segs:
            if s.int_times is None:
                s.int_times = rebuilt_times(s.header, s.start, s.stop, nints)
        notes.append(
            "INT_TIMES missing: integration times rebuilt from EXPSTART/EXPEND and "
            "TARG_RA/TARG_DEC (BJD_TDB at the geocentre: within ~5 s)"
        )
    mids = []
    for s in segs:
        t = s.int_times
        if "int_mid_BJD_TDB" not in (t.dtype.names or ()):
            raise ExolrsError(f"{s.path.name}: INT_TIMES has no int_mid_BJD_TDB column")
        if len(t) != s.stop - s.start:
            raise ExolrsError(
                f"{s.path.name}: INT_TIMES has {len(t)} rows for {s.stop - s.start} "
                "integrations; the file is inconsistent."
            )
        mids.append(np.asarray(t["int_mid_BJD_TDB"], float))
    mid = np.concatenate(mids)
    if not np.all(np.isfinite(mid)):
        k = int(np.flatnonzero(~np.isfinite(mid))[0])
        raise ExolrsError(f"integration {k + 1} has no finite mid time in INT_TIMES")
    step = np.diff(mid) * 86400.0
    if np.any(step <= 0):
        k = int(np.flatnonzero(step <= 0)[0])
        raise ExolrsError(
            f"INT_TIMES runs backwards or stalls at integration {k + 2} "
            f"({step[k]:+.2f} s after the previous one); the times are corrupt."
        )
    h, path = segs[0].header, segs[0].path
    tgroup = header_float(h, "TGROUP", header_float(h, "TFRAME", 0.0, path), path)
    if tgroup > 0 and len(step):
        expected = tgroup * ngroups
        ratio = np.median(step) / expected
        if not 0.8 < ratio < 1.5:
            raise ExolrsError(
                f"INT_TIMES spaces integrations by {np.median(step):.2f} s but the readout "
                f"(TGROUP × NGROUPS) takes {expected:.2f} s; the times or the header are wrong."
            )
    return notes
