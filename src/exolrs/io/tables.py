"""Table and JSON products (light curves, fits, the transmission spectrum, PCA time series,
run records), each written under a temporary name and renamed when complete."""

from __future__ import annotations

import json
import os
from pathlib import Path

from astropy.table import Table

# columns of Stage 4's transmission_spectrum.ecsv the report shows (truth_depth only for
# simulations; depth_err_common is the error every channel shares, kept apart)
SPECTRUM_COLUMNS = (
    "wavelength",
    "bin_half_width",
    "depth",
    "depth_err_low",
    "depth_err_high",
    "depth_err_common",
    "truth_depth",
)


def write_table(table: Table, path) -> Path:
    """Write `table` as ECSV at `path`, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    os.replace(tmp, path)
    return path


def write_json(info: dict, path, **dump_kwargs) -> Path:
    """Write `info` as indented JSON at `path`, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(info, indent=1, **dump_kwargs))
    os.replace(tmp, path)
    return path
