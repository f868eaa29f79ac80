"""One segment's ramps between Stage 1 steps: the `RampProduct` container, saved as
`<root>_<step>.fits` (the jwst RampModel layout) and read back from uncal segments or from
those files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io.products import atomic_write, root_name


@dataclass
class RampProduct:
    """One segment's ramps between Stage 1 steps (the RampModel layout, in memory)."""

    data: np.ndarray  # (nints, ngroups, ny, nx) float32
    groupdq: np.ndarray  # uint8
    pixeldq: np.ndarray  # (ny, nx) uint32
    header: fits.Header
    int_times: np.ndarray | None
    name: str  # root name, e.g. jw..._00001-seg001_mirimage
    int_start: int = 0  # absolute index of the first integration
    nints_total: int = 0
    history: list[str] = field(default_factory=list)

    def save(self, path: Path) -> Path:
        h = self.header.copy()
        h["DATAMODL"] = "RampModel"
        h["FILENAME"] = path.name
        h["S_STEPS"] = ",".join(self.history)[-68:]
        hdus = [
            fits.PrimaryHDU(header=h),
            fits.ImageHDU(self.data.astype(np.float32), name="SCI"),
            fits.ImageHDU(self.pixeldq.astype(np.uint32), name="PIXELDQ"),
            fits.ImageHDU(self.groupdq.astype(np.uint8), name="GROUPDQ"),
        ]
        if self.int_times is not None:
            hdus.append(fits.BinTableHDU(self.int_times, name="INT_TIMES"))
        return atomic_write(fits.HDUList(hdus), path)


def load_ramps(inputs) -> list[RampProduct]:
    """Uncal segments or saved step outputs (paths), or products, as `RampProduct`s."""
    if isinstance(inputs, RampProduct):
        return [inputs]
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    inputs = list(inputs)
    if inputs and all(isinstance(x, RampProduct) for x in inputs):
        return inputs
    paths = [Path(p) for p in inputs]
    if paths and all(p.name.endswith("_uncal.fits") for p in paths):
        return _from_uncal(paths)
    return [_from_step_file(p) for p in paths]


def ramp_names(inputs) -> list[str] | None:
    """Root names of the inputs (files or products); None when they are neither."""
    if isinstance(inputs, str | os.PathLike | RampProduct):
        inputs = [inputs]
    try:
        items = list(inputs)
    except TypeError:
        return None
    if items and all(isinstance(x, RampProduct) for x in items):
        return [x.name for x in items]
    if items and all(isinstance(x, str | os.PathLike) for x in items):
        return [root_name(x) for x in items]
    return None


def _from_uncal(paths) -> list[RampProduct]:
    from exolrs.io.chunks import read_integrations, read_pixeldq
    from exolrs.io.segments import discover_segments

    exp = discover_segments(paths)
    pixeldq = read_pixeldq(exp)
    out = []
    for seg in exp.segments:
        data, gdq = read_integrations(exp, seg.start, seg.stop)
        root = seg.path.name.removesuffix("_uncal.fits")
        out.append(
            RampProduct(
                data,
                gdq,
                pixeldq.copy(),
                seg.header.copy(),
                seg.int_times,
                root,
                seg.start,
                exp.nints,
            )
        )
    return out


def _from_step_file(path: Path) -> RampProduct:
    if not path.is_file():
        raise ExolrsError(f"input not found: {path}")
    try:
        with fits.open(path, memmap=False) as hdul:
            h = hdul[0].header.copy()
            times = np.asarray(hdul["INT_TIMES"].data).copy() if "INT_TIMES" in hdul else None
            return RampProduct(
                np.asarray(hdul["SCI"].data, np.float32),
                np.asarray(hdul["GROUPDQ"].data, np.uint8),
                np.asarray(hdul["PIXELDQ"].data, np.uint32),
                h,
                times,
                root_name(path),
                int(h.get("INTSTART", 1)) - 1,
                int(h.get("NINTS", 0)),
                [s for s in str(h.get("S_STEPS", "")).split(",") if s],
            )
    except (OSError, KeyError) as exc:
        raise ExolrsError(
            f"{path} is not a Stage 1 step product ({exc}); pass *_uncal.fits or the output "
            "of the previous step"
        ) from None
