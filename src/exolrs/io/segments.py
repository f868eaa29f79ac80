"""Find, order and validate the uncal segments of one MIRI/LRS slitless exposure.

An exposure downloaded from MAST comes as ``<root>-segNNN_mirimage_uncal.fits`` files.
`discover_segments` accepts a folder, a glob or a list of paths and returns an `Exposure`:
the segments ordered by EXSEGNUM with their integration ranges, after checking that they are
readable, complete FITS files of MIRI LRS slitless data from one observation, contiguous and
of consistent shape.  Every problem raises `ExolrsError` naming the file and the fix.
"""

from __future__ import annotations

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
    intstart = int(header.get("INTSTART", 1))
    intend = int(header.get("INTEND", intstart + nints - 1))
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
    """Order and validate uncal segments; see the module docstring."""
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
    segs.sort(key=lambda s: (int(s.header.get("EXSEGNUM", 0)), s.start))
    nints = int(segs[0].header.get("NINTS", segs[-1].stop))
    total = int(segs[0].header.get("EXSEGTOT", len(segs)))
    numbers = [int(s.header.get("EXSEGNUM", i + 1)) for i, s in enumerate(segs)]
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
    header = dict(segs[0].header)
    header.pop("COMMENT", None)
    header.pop("HISTORY", None)
    header.pop("", None)
    return Exposure(segs, nints=nints, ngroups=ngroups, ny=ny, nx=nx, header=header)
