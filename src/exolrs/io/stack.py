"""Random access to the integrations of rateints/calints segments without loading them.

Stage 2 works on blocks of detector rows across every integration (temporal statistics are
exact per pixel, the background is per row, the bad-pixel neighbours are two rows away),
and writes segment by segment.  `ProductStack` gives both views of the segments on disk:
``rows(name, r0, r1)`` → (nints, r1 − r0, nx) and ``ints(name, i0, i1)`` → (i1 − i0, ny, nx),
native float32 / uint32, reading only those bytes.  Each read maps the file for the duration
of the read only, so pages read never stay resident in the process (a memory map kept open
would grow the RSS to the size of the files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io.products import with_wcsinfo


@dataclass(frozen=True)
class _Array:
    offset: int  # byte offset of the data in the file
    dtype: str  # stored (big-endian) dtype
    bzero: float
    bscale: float


_STORED = {-32: ">f4", -64: ">f8", 32: ">i4", 16: ">i2", 8: "u1"}


def _array_info(hdu) -> _Array | None:
    """Where and how an image HDU's data are stored; None when they are not plain bytes
    (compressed or tiled), so that the reader falls back on astropy."""
    h = hdu.header
    info = hdu.fileinfo()
    if info is None or h.get("XTENSION", "IMAGE") != "IMAGE" or h["BITPIX"] not in _STORED:
        return None
    return _Array(info["datLoc"], _STORED[h["BITPIX"]], h.get("BZERO", 0), h.get("BSCALE", 1))


class ProductStack:
    """The segments of one exposure's rateints or calints, in the given order."""

    def __init__(self, paths) -> None:
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ExolrsError("no rateints/calints files given")
        self.lengths: list[int] = []
        self._arrays: list[dict[str, _Array | None]] = []
        times = []
        self.header = None
        for p in self.paths:
            if not p.is_file():
                raise ExolrsError(f"product not found: {p}; run the previous stage first")
            try:
                with fits.open(p, memmap=False, lazy_load_hdus=False) as hdul:
                    sci = hdul["SCI"].header
                    if sci.get("NAXIS") != 3:
                        raise ValueError(f"SCI is {sci.get('NAXIS')}-dimensional, not a cube")
                    shape = (sci["NAXIS2"], sci["NAXIS1"])
                    if self.header is None:
                        self.header = with_wcsinfo(hdul[0].header, sci)
                        self.ny, self.nx = shape
                    elif shape != (self.ny, self.nx):
                        raise ValueError(f"frames {shape} differ from {self.paths[0].name}'s")
                    self.lengths.append(int(sci["NAXIS3"]))
                    self._arrays.append(
                        {
                            h.name: _array_info(h)
                            for h in hdul[1:]
                            if isinstance(h, fits.ImageHDU) and h.header.get("NAXIS") == 3
                        }
                    )
                    if "INT_TIMES" in hdul:
                        times.append(np.asarray(hdul["INT_TIMES"].data).copy())
            except (OSError, KeyError, ValueError) as exc:
                raise ExolrsError(
                    f"cannot read {p}: {exc}; re-run the stage that wrote it"
                ) from None
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)]).astype(int)
        self.nints = int(self.starts[-1])
        self.int_times = np.concatenate(times) if len(times) == len(self.paths) else None
        self.names = set.intersection(*(set(a) for a in self._arrays))

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.nints, self.ny, self.nx

    def segment(self, k: int) -> slice:
        """The integrations of segment k in the exposure."""
        return slice(int(self.starts[k]), int(self.starts[k + 1]))

    def rows(self, name: str, r0: int, r1: int) -> np.ndarray:
        """Rows [r0, r1) of every integration: (nints, r1 − r0, nx)."""
        out = np.empty((self.nints, r1 - r0, self.nx), self._native(name))
        for k in range(len(self.paths)):
            out[self.segment(k)] = self._read(k, name, slice(None), slice(r0, r1))
        return out

    def ints(self, name: str, i0: int, i1: int) -> np.ndarray:
        """Integrations [i0, i1) of the exposure (across segments): (i1 − i0, ny, nx)."""
        out = np.empty((i1 - i0, self.ny, self.nx), self._native(name))
        for k in range(len(self.paths)):
            s = self.segment(k)
            a, b = max(i0, s.start), min(i1, s.stop)
            if a < b:
                out[a - i0 : b - i0] = self._read(k, name, slice(a - s.start, b - s.start))
        return out

    def _native(self, name: str):
        if name not in self.names:
            raise ExolrsError(
                f"{self.paths[0]} has no {name} array; re-run the stage that wrote it"
            )
        return np.uint32 if name == "DQ" else np.float32

    def _read(self, k: int, name: str, ints: slice, rows: slice = slice(None)) -> np.ndarray:
        info = self._arrays[k][name]
        path = self.paths[k]
        dtype = self._native(name)
        try:
            if info is None:  # not plain bytes: astropy reads (and scales) the section
                with fits.open(path) as hdul:
                    return np.asarray(hdul[name].section[ints, rows], dtype)
            shape = (self.lengths[k], self.ny, self.nx)
            mm = np.memmap(path, info.dtype, "r", offset=info.offset, shape=shape)
            raw = mm[ints, rows]
            if dtype == np.uint32 and info.dtype == ">i4" and info.bzero == 2**31:
                out = raw.view(">u4").astype(np.uint32)  # int32 + 2³¹: flip the sign bit
                out ^= np.uint32(2**31)
            elif info.bscale != 1 or info.bzero != 0:
                out = (raw * info.bscale + info.bzero).astype(dtype)
            else:
                out = raw.astype(dtype)
            del mm, raw
            return out
        except (OSError, ValueError) as exc:
            raise ExolrsError(
                f"cannot read {name} of {path}: {exc}; the file is damaged or "
                "truncated, re-run the stage that wrote it"
            ) from None


def row_blocks(nints: int, ny: int, nx: int, budget_mb: float = 32.0) -> list[tuple[int, int]]:
    """Blocks of rows [r0, r1) tiling [0, ny) with one float32 array of a block across every
    integration ≤ `budget_mb` (at least one row): memory stays bounded as NINTS grows."""
    per_row = nints * nx * 4
    n = int(max(1, min(ny, budget_mb * 2**20 // max(per_row, 1))))
    return [(r0, min(r0 + n, ny)) for r0 in range(0, ny, n)]


class ScratchCube:
    """Float32 (nints, ny, nx) cubes on disk (`<folder>/<name>.npy`) written by blocks of
    rows and read back by integrations, plus a small state (`state.npz`) that is valid only
    for the run whose `fingerprint` it records: what a stage keeps between its passes so
    that a run stopped in its last pass resumes there."""

    def __init__(self, folder, fingerprint: str, shape: tuple[int, int, int]) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.shape = tuple(int(v) for v in shape)

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.npy"

    def create(self, names) -> None:
        self.remove()
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            mm = np.lib.format.open_memmap(self._path(name), "w+", np.float32, self.shape)
            del mm

    def write_rows(self, name: str, r0: int, data: np.ndarray) -> None:
        mm = np.load(self._path(name), mmap_mode="r+")
        mm[:, r0 : r0 + data.shape[1]] = data
        mm.flush()
        del mm

    def rows(self, name: str, r0: int, r1: int) -> np.ndarray:
        mm = np.load(self._path(name), mmap_mode="r")
        out = np.array(mm[:, r0:r1])
        del mm
        return out

    def ints(self, name: str, i0: int, i1: int) -> np.ndarray:
        mm = np.load(self._path(name), mmap_mode="r")
        out = np.array(mm[i0:i1])
        del mm
        return out

    def save_state(self, **arrays) -> None:
        """Record the state (arrays and scalars) as complete for this fingerprint."""
        tmp = self.folder / "state.part.npz"
        np.savez(tmp, fingerprint=self.fingerprint, shape=self.shape, **arrays)
        os.replace(tmp, self.folder / "state.npz")

    def load_state(self, names) -> dict | None:
        """The saved state when it was made by this run and the cubes `names` are there."""
        path = self.folder / "state.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                state = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):
            return None
        if str(state.pop("fingerprint")) != self.fingerprint:
            return None
        if tuple(state.pop("shape")) != self.shape:
            return None
        if not all(self._path(n).is_file() for n in names):
            return None
        return state

    def remove(self) -> None:
        if self.folder.is_dir():
            for p in self.folder.iterdir():
                p.unlink()
            self.folder.rmdir()
