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
    ARRAYS,
    CALIBRATED_ARRAYS,
    Integrations,
    IntegrationsWriter,
    calibrated_errors,
    per_integration_error,
    read_integrations_product,
    read_wavelength_image,
    root_name,
    row_wavelengths_of,
)


@dataclass
class CubeProduct(Integrations):
    """The arrays of `Integrations` plus what the steps learn about them.  `err` is the
    per-integration error; once FlatField ran, the flat's variance is `var_flat` and the
    saved ERR is √(err² + VAR_FLAT), as in jwst's products."""

    names: list[str] = field(default_factory=list)  # segment roots
    lengths: list[int] = field(default_factory=list)  # integrations per segment
    wavelengths: np.ndarray | None = None  # per row, once AssignWCS ran
    wavelength_map: np.ndarray | None = None  # (ny, nx), saved as the WAVELENGTH image
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
                images={} if self.wavelength_map is None else {"WAVELENGTH": self.wavelength_map},
                arrays=ARRAYS if self.var_flat is None else CALIBRATED_ARRAYS,
            )
            sl = slice(start, start + n)
            err, vp, vr = self.err[sl], self.var_poisson[sl], self.var_rnoise[sl]
            if self.var_flat is not None:  # ERR² = VAR_POISSON + VAR_RNOISE + VAR_FLAT
                err, vp, vr = calibrated_errors(err, vp, vr, self.var_flat[sl])
            w.write(
                0,
                self.sci[sl],
                err,
                self.dq[sl],
                var_poisson=vp,
                var_rnoise=vr,
                var_flat=None if self.var_flat is None else self.var_flat[sl],
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
    with fits.open(paths[0]) as hdul:
        calibrated = "VAR_FLAT" in hdul
    r = read_integrations_product(paths, CALIBRATED_ARRAYS if calibrated else ARRAYS)
    lengths = [int(fits.getheader(p, "SCI")["NAXIS3"]) for p in paths]
    header = dict(r.header)
    for key in ("COMMENT", "HISTORY", ""):
        header.pop(key, None)
    fields = {k: getattr(r, k) for k in Integrations.__dataclass_fields__}
    fields["err"] = per_integration_error(r.err, r.var_flat)
    wave_map = read_wavelength_image(paths[0])
    return CubeProduct(
        **{**fields, "header": header},
        names=[root_name(p) for p in paths],
        lengths=lengths,
        wavelength_map=wave_map,
        wavelengths=None if wave_map is None else row_wavelengths_of(wave_map),
        source_type=header.get("SRCTYPE"),
        history=[s for s in str(header.get("S_STEPS", "")).split(",") if s],
    )
