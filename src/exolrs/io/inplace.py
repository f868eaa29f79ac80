"""A per-integration product that worker processes write into directly.

`IntegrationsWriter` gathers a segment's planes in the main process and writes the file at
the end, so every slope a worker computes is pickled, sent down a pipe, unpickled, copied and
byte-swapped there: on the full simulation that was 9 CPU s of Stage 1's main process
competing with the two workers on a 2-core machine (2026-12-02).  Here the main process
writes the file once with zero planes under a temporary name (the same HDUs, headers and
INT_TIMES as `IntegrationsWriter` writes), reads where astropy put each array's data, and
hands that `PlanesLayout` to the workers; each worker writes its integrations' planes at
their offsets (big-endian, as FITS stores them) and returns only its times.  The file is
renamed to its real name when every integration has been written, and removed if the run
fails, so a half-written product never carries the product's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io.products import IntegrationsWriter


@dataclass(frozen=True)
class PlanesLayout:
    """Where each per-integration array of a file being written lies (small to pickle)."""

    path: Path  # the temporary file
    offsets: dict[str, int]  # byte offset of each array's first plane
    dtypes: dict[str, str]  # big-endian, as stored
    frame: tuple[int, int]
    nints: int
    # arrays stored as FITS stores unsigned 32-bit integers: signed, with BZERO = 2**31
    unsigned: tuple[str, ...] = ()

    def put(self, first: int, planes: dict[str, np.ndarray]) -> None:
        """Write integrations [first, first + n) of each named array."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for name, arr in planes.items():
                n = arr.shape[0]
                if arr.shape[1:] != self.frame or not 0 <= first <= first + n <= self.nints:
                    raise ValueError(
                        f"{name}: planes {arr.shape} at {first} do not fit "
                        f"({self.nints}, {self.frame[0]}, {self.frame[1]})"
                    )
                dtype = np.dtype(self.dtypes[name])
                if name in self.unsigned:  # value − 2**31, i.e. the top bit flipped
                    arr = (np.asarray(arr, np.uint32) ^ np.uint32(1 << 31)).view(np.int32)
                buf = memoryview(np.ascontiguousarray(arr, dtype)).cast("B")
                offset = self.offsets[name] + first * self.frame[0] * self.frame[1] * dtype.itemsize
                while buf.nbytes:
                    done = os.pwrite(fd, buf, offset)
                    buf, offset = buf[done:], offset + done
        finally:
            os.close(fd)


# FITS BITPIX → the big-endian dtype of the stored values
_STORED = {-32: ">f4", -64: ">f8", 32: ">i4", 16: ">i2", 8: "u1"}


class ProductInPlace:
    """One segment's product, written in place: ``create`` (main process) → ``layout.put``
    (any process, any order) → ``mark`` what was written → ``finish`` (renames it) or
    ``abandon`` (removes it)."""

    def __init__(self, path, nints: int, frame: tuple[int, int], **writer_options) -> None:
        self.path = Path(path)
        self.part = self.path.with_name(f".{self.path.name}.part")
        # the planes are zero-filled on demand (calloc): none is touched until astropy
        # writes the zeros, so this costs no memory
        self._writer = IntegrationsWriter(self.path, nints, frame, **writer_options)
        self.layout: PlanesLayout | None = None

    def create(self) -> PlanesLayout:
        arrays = self._writer.arrays
        try:
            self._writer.hdus(arrays).writeto(self.part, overwrite=True)
            with fits.open(self.part, memmap=False, lazy_load_hdus=False) as hdul:
                offsets, dtypes, unsigned = {}, {}, []
                for name in arrays:
                    k = hdul.index_of(name)
                    offsets[name] = int(hdul.fileinfo(k)["datLoc"])
                    h = hdul[k].header
                    dtypes[name] = _STORED[h["BITPIX"]]
                    bzero = h.get("BZERO", 0)
                    if h["BITPIX"] == 32 and bzero == 2**31:
                        unsigned.append(name)
                    elif bzero != 0 or h.get("BSCALE", 1) != 1:
                        raise ValueError(f"{name} is stored scaled; cannot write it in place")
        except OSError as exc:
            self.abandon()
            raise ExolrsError(
                f"could not write {self.path}: {exc.strerror or exc}. Check the output folder "
                "is writable and the disk has space."
            ) from None
        first = next(iter(arrays.values()))
        self.layout = PlanesLayout(
            self.part, offsets, dtypes, first.shape[1:], first.shape[0], tuple(unsigned)
        )
        return self.layout

    def mark(self, first: int, stop: int) -> None:
        """Integrations [first, stop) have been written."""
        self._writer.filled[first:stop] = True

    def finish(self) -> Path:
        try:
            self._writer.check_filled()
        except ExolrsError:
            self.abandon()
            raise
        os.replace(self.part, self.path)
        return self.path

    def abandon(self) -> None:
        self.part.unlink(missing_ok=True)
