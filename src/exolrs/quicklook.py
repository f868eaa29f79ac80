"""Quick look at raw ramps: a white light curve straight from the uncal segments, as the
tutorial does before reducing — to see the transit, the ramp and any anomaly in minutes.

Per integration, the signal of every pixel is the difference of two reads (after the first
quarter of the ramp, at most group 12, and before the last group); the white flux is its sum
over the trace columns and the rows with signal.  Raw reads are streamed chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from exolrs.errors import ExolrsError


def raw_white_light_curve(
    files, chunk_ints: int = 32, progress: Callable[[int, int], None] | None = None
):
    """(times, relative white flux) from uncal segments."""
    from exolrs.io.chunks import iter_chunks
    from exolrs.io.segments import discover_segments

    exp = discover_segments(files)
    ng = exp.ngroups
    if ng < 3:
        raise ExolrsError(f"quicklook needs at least 3 groups per integration; found {ng}")
    g0, g1 = min(ng // 4, 12), ng - 2
    flux = np.empty(exp.nints)
    region = None
    for chunk in iter_chunks(exp, chunk_ints):
        diff = chunk.data[:, g1] - chunk.data[:, g0]
        if region is None:
            frame = np.median(diff, axis=0)
            cols = np.median(frame, axis=0)
            x0 = int(np.argmax(cols - np.median(cols)))
            rows = np.median(frame[:, max(x0 - 3, 0) : x0 + 4], axis=1)
            bright = rows > np.median(rows) + 0.2 * (rows.max() - np.median(rows))
            region = (bright, slice(max(x0 - 4, 0), x0 + 5))
        flux[chunk.start : chunk.stop] = diff[:, region[0], region[1]].sum(axis=(1, 2))
        if progress:
            progress(chunk.stop, exp.nints)
    times = exp.int_times()
    t = (
        np.asarray(times["int_mid_BJD_TDB"])
        if times is not None
        else np.arange(exp.nints, dtype=float)
    )
    return t, flux / np.median(flux)


def quicklook(files, output: str | Path, progress=None) -> tuple[Path, Path]:
    """Write `<output>.png` and `<output>.ecsv` with the raw white light curve."""
    from astropy.table import Table

    from exolrs.plots.figure import new_figure, save_figure

    t, f = raw_white_light_curve(files, progress=progress)
    out = Path(output).with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    table = Table({"time": t, "white_flux": f})
    ecsv = out.with_suffix(".ecsv")
    tmp = ecsv.with_name(f".{ecsv.name}.part")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    tmp.replace(ecsv)
    plt, fig, ax = new_figure(figsize=(7, 3.5))
    ax.plot((t - t[0]) * 24, f, ".", ms=2, color="k")
    ax.set_xlabel("hours since the first integration")
    ax.set_ylabel("raw white flux (normalised)")
    ax.set_title("quick look: raw ramps, no calibration")
    return save_figure(plt, fig, out.with_suffix(".png")), ecsv
