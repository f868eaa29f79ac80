"""Read integrations of an exposure in chunks, across segment boundaries.

The uncal SCI array is big-endian int16 with BZERO = 32768, stored integration after
integration, so integrations [a, b) of a segment are one contiguous byte range: it is read
with one positioned read (`numpy.fromfile` with an offset) and converted to float32.  Only the
requested integrations are touched; astropy's scaled access would convert a whole segment
on first touch (1.2 GB at full size), and a memory map would let every page read stay
resident in the process (measured: workers grew to 4–5 GB RSS over a full exposure).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from exolrs.errors import ExolrsError
from exolrs.io.segments import Exposure


def read_integrations(exposure: Exposure, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw DN (float32) and GROUPDQ (uint8) of integrations [start, stop), 0-based.

    Shapes (n, ngroups, ny, nx); the range may span several segments.
    """
    raw, gdq = read_integrations_raw(exposure, start, stop)
    # stored int16 + BZERO 32768 = uint16 DN; exact in float32.
    data = raw.astype(np.float32)
    data += np.float32(32768.0)
    return data, gdq


def read_integrations_raw(
    exposure: Exposure, start: int, stop: int, *, out: tuple | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The stored SCI values (big-endian int16; DN = value + 32768) and GROUPDQ (uint8) of
    integrations [start, stop), unconverted — for a reader that converts them in its own
    first pass over the data (`exolrs.stage1.fused`); otherwise as `read_integrations`.

    out : optional (sci, groupdq) arrays of shape (stop − start, ngroups, ny, nx), dtypes
        >i2 and uint8, to read into (a worker's reused buffers) instead of new ones."""
    if not 0 <= start < stop <= exposure.nints:
        raise ExolrsError(f"integrations [{start}, {stop}) outside 0–{exposure.nints}")
    n = stop - start
    frame = (exposure.ngroups, exposure.ny, exposure.nx)
    per_int = int(np.prod(frame))
    if out is None:
        raw, gdq = np.empty((n, *frame), ">i2"), np.empty((n, *frame), np.uint8)
    else:
        raw, gdq = out
        bad_dtype = raw.dtype != np.dtype(">i2") or gdq.dtype != np.uint8
        if raw.shape != (n, *frame) or gdq.shape != raw.shape or bad_dtype:
            raise ValueError(f"out must be (>i2, uint8) arrays of shape {(n, *frame)}")
    for seg in exposure.segments:
        a, b = max(start, seg.start), min(stop, seg.stop)
        if a >= b:
            continue
        k = a - seg.start
        _read_into(seg.path, seg.sci_offset + 2 * k * per_int, raw[a - start : b - start])
        if seg.gdq_offset is not None:
            _read_into(seg.path, seg.gdq_offset + k * per_int, gdq[a - start : b - start])
        else:
            gdq[a - start : b - start] = 0
    return raw, gdq


def _read_into(path, offset: int, out: np.ndarray) -> None:
    """Fill the C-contiguous `out` with the bytes of `path` from `offset`."""
    view = memoryview(out.reshape(-1).view(np.uint8))
    with open(path, "rb") as fh:
        fh.seek(offset)
        got = fh.readinto(view)
    if got != view.nbytes:
        raise ExolrsError(f"{path} ended early while reading; the file is truncated")


def read_pixeldq(exposure: Exposure) -> np.ndarray:
    """PIXELDQ of the exposure (first segment), uint32 (ny, nx); zeros when absent."""
    from astropy.io import fits

    with fits.open(exposure.segments[0].path, memmap=False) as hdul:
        if "PIXELDQ" in hdul:
            return np.asarray(hdul["PIXELDQ"].data, np.uint32)
    return np.zeros((exposure.ny, exposure.nx), np.uint32)


@dataclass
class Chunk:
    """Integrations [lo, hi) read for the core [start, stop) plus halo on both sides."""

    start: int
    stop: int
    lo: int
    hi: int
    data: np.ndarray
    groupdq: np.ndarray

    @property
    def core(self) -> slice:
        """Position of the core integrations inside `data`."""
        return slice(self.start - self.lo, self.stop - self.lo)


def chunk_bounds(nints: int, chunk_ints: int, halo: int = 0) -> list[tuple[int, int, int, int]]:
    """(start, stop, lo, hi) of every chunk: cores tile [0, nints), halos clipped to it."""
    if chunk_ints < 1:
        raise ExolrsError(f"chunk_ints must be ≥ 1, got {chunk_ints}")
    out = []
    for a in range(0, nints, chunk_ints):
        b = min(a + chunk_ints, nints)
        out.append((a, b, max(0, a - halo), min(nints, b + halo)))
    return out


def iter_chunks(exposure: Exposure, chunk_ints: int, halo: int = 0) -> Iterator[Chunk]:
    """Chunks of `chunk_ints` integrations (with `halo` neighbours each side), in order."""
    for a, b, lo, hi in chunk_bounds(exposure.nints, chunk_ints, halo):
        data, gdq = read_integrations(exposure, lo, hi)
        yield Chunk(a, b, lo, hi, data, gdq)
