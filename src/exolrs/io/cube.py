"""The whole exposure's integrations between Stage 2 and 3 steps: the `CubeProduct`
container, saved per segment as `<root>_<step>.fits` (rateints/calints layout) and read back
from those files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.io.products import (
    Integrations,
    IntegrationsWriter,
    read_integrations_product,
    root_name,
)


@dataclass
class CubeProduct(Integrations):
    """The arrays of `Integrations` plus what the steps learn about them."""

    names: list[str]  # segment roots
    lengths: list[int]  # integrations per segment
    wavelengths: np.ndarray | None = None  # per row, once AssignWCS ran
    source_type: str | None = None
    trace_x: float | None = None
    hot_pixels: np.ndarray | None = None
    deep: np.ndarray | None = None
    background: dict | None = None  # header keywords of the background subtraction
    history: list[str] = field(default_factory=list)

    def save(self, output_dir: Path, suffix: str) -> list[Path]:
        paths, start = [], 0
        extra = {"S_STEPS": ",".join(self.history)[-68:]}
        if self.source_type:
            extra["SRCTYPE"] = self.source_type
        if self.trace_x is not None:
            extra["TRACE_X"] = round(float(self.trace_x), 3)
        extra.update(self.background or {})
        for name, n in zip(self.names, self.lengths, strict=True):
            w = IntegrationsWriter(
                output_dir / f"{name}_{suffix}.fits",
                n,
                self.sci.shape[1:],
                header=self.header,
                extra_keywords=extra,
                int_times=None if self.int_times is None else self.int_times[start : start + n],
            )
            sl = slice(start, start + n)
            w.write(
                0,
                self.sci[sl],
                self.err[sl],
                self.dq[sl],
                var_poisson=self.var_poisson[sl],
                var_rnoise=self.var_rnoise[sl],
            )
            paths.append(w.close())
            start += n
        return paths


def cube_names(inputs) -> list[str]:
    """Segment roots of a `CubeProduct` or of rateints/calints-layout files."""
    if isinstance(inputs, CubeProduct):
        return inputs.names
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    return [root_name(p) for p in items]


def load_cube(inputs) -> CubeProduct:
    """Files in the rateints/calints layout (segment order), or a `CubeProduct`."""
    if isinstance(inputs, CubeProduct):
        return inputs
    paths = [Path(inputs)] if isinstance(inputs, str | os.PathLike) else [Path(p) for p in inputs]
    r = read_integrations_product(paths)
    lengths = [int(fits.getheader(p, "SCI")["NAXIS3"]) for p in paths]
    header = dict(r.header)
    for key in ("COMMENT", "HISTORY", ""):
        header.pop(key, None)
    fields = {k: getattr(r, k) for k in Integrations.__dataclass_fields__}
    return CubeProduct(
        **{**fields, "header": header},
        names=[root_name(p) for p in paths],
        lengths=lengths,
        source_type=header.get("SRCTYPE"),
        history=[s for s in str(header.get("S_STEPS", "")).split(",") if s],
    )
