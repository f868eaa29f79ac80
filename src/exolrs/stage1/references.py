"""Stage 1's reference files as arrays: which reftypes it needs, finding them (override →
CRDS cache → CRDS server) and loading them cut to the exposure's subarray, once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from exolrs import refs as R
from exolrs.stage1.dark import average_dark_current, dark_pixel_dq

STAGE1_REFTYPES = ("mask", "saturation", "linearity", "dark", "reset", "gain", "readnoise")


@dataclass
class Stage1Refs:
    """Reference arrays for Stage 1, already cut to the exposure's subarray."""

    mask: np.ndarray
    saturation: np.ndarray
    saturation_dq: np.ndarray | None
    linearity: np.ndarray
    linearity_dq: np.ndarray | None
    dark: np.ndarray
    reset: np.ndarray | None
    gain: np.ndarray
    readnoise: np.ndarray
    emi_frequencies: dict[str, float] = field(default_factory=dict)
    avg_dark: np.ndarray | None = None  # dark current (DN/s) for the Poisson variance
    dark_dq: np.ndarray | None = None  # (ny, nx) DQ of the dark, OR-ed into the pixel DQ
    reset_dq: np.ndarray | None = None  # (ny, nx) DQ of the reset reference, likewise


def resolve_stage1_refs(
    header, overrides: dict[str, Path] | None = None, crds_path: Path | None = None
):
    """Find every Stage 1 reference file: override → CRDS cache → CRDS server → error."""
    return R.get_references(
        header,
        (*STAGE1_REFTYPES, "emicorr"),
        overrides=overrides,
        crds_path=crds_path,
        optional=("reset", "emicorr"),
    )


_REF_CACHE: dict = {}


def load_stage1_refs(paths: dict[str, Path], header) -> Stage1Refs:
    """Load the resolved reference files as arrays cut to the exposure's subarray.

    Cached per process, so worker processes load each file once per run.
    """
    key = tuple(sorted((k, str(v), Path(v).stat().st_mtime_ns) for k, v in paths.items()))
    if key in _REF_CACHE:
        return _REF_CACHE[key]
    sat, sat_dq = R.load_saturation(paths["saturation"], header)
    lin, lin_dq = R.load_linearity(paths["linearity"], header)
    dark, dark_dq = R.load_dark(paths["dark"], header)
    reset, reset_dq = R.load_reset(paths["reset"], header) if paths.get("reset") else (None, None)
    refs = Stage1Refs(
        mask=R.load_mask(paths["mask"], header),
        saturation=sat,
        saturation_dq=sat_dq,
        linearity=lin,
        linearity_dq=lin_dq,
        dark=dark,
        avg_dark=average_dark_current(dark, float(header.get("TGROUP", header.get("TFRAME")))),
        dark_dq=dark_pixel_dq(dark_dq, dark.shape[-2:]),
        reset_dq=None if reset is None else dark_pixel_dq(reset_dq, reset.shape[-2:]),
        reset=reset,
        gain=R.load_gain(paths["gain"], header),
        readnoise=R.load_readnoise(paths["readnoise"], header),
        emi_frequencies={
            name: freq for name, (freq, _) in R.load_emicorr(paths["emicorr"], header).items()
        }
        if paths.get("emicorr")
        else {},
    )
    _REF_CACHE.clear()
    _REF_CACHE[key] = refs
    return refs
