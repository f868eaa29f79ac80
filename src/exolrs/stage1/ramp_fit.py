"""RampFit: per-integration slopes with the JWST optimal-weighting OLS (stcal's C engine).

Ramps are split at JUMP_DET groups, DO_NOT_USE and SATURATED groups are excluded, the error
combines Poisson and read noise, and the integration DQ is propagated — all by stcal's
`ramp_fit_data` (algorithm OLS_C), the algorithm calwebb_detector1 runs.  This module only
adapts arrays to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from exolrs.dq import GROUP, PIXEL


@dataclass
class RampFitResult:
    """Per-integration rates (nints, ny, nx) in DN/s with their variances and DQ."""

    slope: np.ndarray
    err: np.ndarray
    dq: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray


def _dqflags() -> dict:
    flags = dict(PIXEL)
    flags.update({k: v for k, v in GROUP.items() if k not in flags})
    return flags


def fit_ramps(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    readnoise: np.ndarray,
    gain: np.ndarray,
    group_time: float,
    frame_time: float | None = None,
) -> RampFitResult:
    """Fit (nints, ngroups, ny, nx) linearised DN; returns per-integration slopes (DN/s).

    `readnoise` is DN per read and `gain` e-/DN (ny, nx), as in the references.
    """
    parts = [
        _fit_one(
            data[i : i + 1], groupdq[i : i + 1], pixeldq, readnoise, gain, group_time, frame_time
        )
        for i in range(data.shape[0])
    ]
    return RampFitResult(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in RampFitResult.__annotations__)
    )


def _fit_one(data, groupdq, pixeldq, readnoise, gain, group_time, frame_time) -> RampFitResult:
    """stcal on one integration: its Poisson variance uses the pixel's median rate averaged
    over the integrations of the call, so one call per integration keeps every result
    independent of how the exposure is chunked."""
    from stcal.ramp_fitting import ramp_fit_class
    from stcal.ramp_fitting.ramp_fit import ramp_fit_data

    ramp = ramp_fit_class.RampData()
    ramp.set_arrays(
        np.ascontiguousarray(data, dtype=np.float32),
        np.ascontiguousarray(groupdq, dtype=np.uint8),
        np.ascontiguousarray(pixeldq, dtype=np.uint32),
        np.zeros(pixeldq.shape, np.float32),
    )
    ramp.set_meta(
        name="MIRI",
        frame_time=frame_time or group_time,
        group_time=group_time,
        groupgap=0,
        nframes=1,
        drop_frames1=None,
    )
    ramp.algorithm = "OLS_C"
    ramp.set_dqflags(_dqflags())
    ramp.start_row = 0
    ramp.num_rows = data.shape[2]
    ramp.suppress_one_group_ramps = False
    stcal_log = logging.getLogger("stcal")
    level = stcal_log.level
    stcal_log.setLevel(logging.WARNING)  # stcal logs every call at INFO
    try:
        _, integ, _ = ramp_fit_data(
            ramp,
            False,
            np.array(readnoise, np.float32),  # stcal scales it in place
            np.array(gain, np.float32),
            "OLS_C",
            "optimal",
            "none",
        )
    finally:
        stcal_log.setLevel(level)
    return RampFitResult(
        slope=np.asarray(integ["slope"], np.float32),
        err=np.asarray(integ["err"], np.float32),
        dq=np.asarray(integ["dq"], np.uint32),
        var_poisson=np.asarray(integ["var_poisson"], np.float32),
        var_rnoise=np.asarray(integ["var_rnoise"], np.float32),
    )
