"""RampFit: per-integration slopes with the JWST optimal-weighting OLS (stcal's C engine).

Ramps are split at JUMP_DET groups, DO_NOT_USE and SATURATED groups are excluded, the error
combines Poisson and read noise, and the integration DQ is propagated — all by stcal's
OLS_C fit (`ols_fit.ols_ramp_fit_multi`, what `ramp_fit_data` runs for it), the algorithm
calwebb_detector1 runs.  This module only adapts arrays to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from exolrs.dq import DO_NOT_USE, GROUP, JUMP_DET, PIXEL, SATURATED


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
    avg_dark: np.ndarray | None = None,
) -> RampFitResult:
    """Fit (nints, ngroups, ny, nx) linearised DN; returns per-integration slopes (DN/s).

    `readnoise` is DN per read and `gain` e-/DN (ny, nx), as in the references.  `avg_dark`
    (ny, nx, DN/s) is the dark current subtracted before the fit, whose shot noise belongs in
    the Poisson variance (stcal's ``average_dark_current``); None when the dark is still in
    the data.
    """
    if avg_dark is None:
        avg_dark = np.zeros(pixeldq.shape, np.float32)
    avg_dark = np.ascontiguousarray(avg_dark, dtype=np.float32)
    parts = [
        _fit_integration(
            data[i], groupdq[i], pixeldq, readnoise, gain, group_time, frame_time, avg_dark
        )
        for i in range(data.shape[0])
    ]
    return RampFitResult(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in RampFitResult.__annotations__)
    )


# stcal's optimal-weighting exponents by segment signal-to-noise (Fixsen et al. 2000)
_SNR_EDGES = np.array([5.0, 10.0, 20.0, 50.0, 100.0])
_POWERS = np.array([0.0, 0.4, 1.0, 3.0, 6.0, 10.0])


def _common_pattern(gdq: np.ndarray) -> np.ndarray:
    """Per-group flag value shared by most pixels (ngroups,)."""
    flat = gdq.reshape(gdq.shape[0], -1)
    return np.median(flat, axis=1).astype(np.uint8)


def _median_first_difference(y: np.ndarray) -> np.ndarray:
    """Median over groups of each pixel's first differences, y (ngroups, npix) float32.

    Pixel-major partition of a contiguous transpose: 2.3× faster than `np.median(axis=0)`
    on (87, 29952), same values."""
    diffs = np.diff(np.ascontiguousarray(y.T), axis=1)
    m = diffs.shape[1]
    k = [(m - 1) // 2, m // 2]
    diffs.partition(k, axis=1)
    return 0.5 * (diffs[:, k[0]].astype(np.float64) + diffs[:, k[1]])


def _fit_integration(data, gdq, pixeldq, readnoise, gain, group_time, frame_time, avg_dark):
    """One integration: pixels whose ramp is one clean segment (the common case: the same
    usable groups as most pixels, no jump, no saturation, good pixel) are fitted here in a
    vectorised form of stcal's OLS_C optimal weighting; every other pixel goes to stcal.

    The fast form uses that a segment's slope is a fixed linear combination of its reads for
    each of stcal's six weighting exponents, so all pixels cost one (6 × N) @ (N × npix)
    product; it reproduces stcal to float32 precision (tests/stage1/test_ramp_fit.py) and is
    ~10× faster (benchmarks/bench_stage1.py).
    """
    ng, ny, nx = data.shape
    npix = ny * nx
    pattern = _common_pattern(gdq)
    bad = (pattern & (DO_NOT_USE | SATURATED | JUMP_DET)) != 0
    used = np.flatnonzero(~bad)
    contiguous = used.size >= 3 and used[-1] - used[0] + 1 == used.size
    if not contiguous or (pattern[used[1:]] & JUMP_DET).any():
        return _fit_one(
            data[None], gdq[None], pixeldq, readnoise, gain, group_time, frame_time, avg_dark
        )
    fast = (gdq.reshape(ng, -1) == pattern[:, None]).all(axis=0)
    fast &= pixeldq.ravel() == 0
    g_ = gain.ravel().astype(np.float64)
    fast &= np.isfinite(g_) & (g_ > 0) & np.isfinite(readnoise.ravel())
    out = RampFitResult(
        slope=np.full(npix, np.nan, np.float32),
        err=np.zeros(npix, np.float32),
        dq=np.zeros(npix, np.uint32),
        var_poisson=np.zeros(npix, np.float32),
        var_rnoise=np.zeros(npix, np.float32),
    )
    idx = np.flatnonzero(fast)
    if idx.size:
        y32 = data.reshape(ng, -1)[used[0] : used[-1] + 1][:, idx]
        y = y32.astype(np.float64)
        n = used.size
        g = g_[idx]
        rn_e = readnoise.ravel()[idx].astype(np.float64) * g / np.sqrt(2.0)  # per read, e-
        signal = (y[-1] - y[0]) * g
        den = rn_e**2 + signal
        snr = np.where(den > 0, signal / np.sqrt(np.where(den > 0, den, 1.0)), 0.0)
        power = _POWERS[np.searchsorted(_SNR_EDGES, np.maximum(snr, 0.0), side="right")]
        x = np.arange(n, dtype=np.float64)
        mid = (n - 1) / 2.0
        coeffs = []
        for p in _POWERS:
            w = np.abs((x - mid) / mid) ** p
            sw, sx, sxx = w.sum(), (w * x).sum(), (w * x * x).sum()
            coeffs.append((sw * x - sx) * w / (sw * sxx - sx * sx))
        slopes = np.asarray(coeffs) @ y  # (6, npix) DN per group
        pick = np.searchsorted(_POWERS, power)
        slope = slopes[pick, np.arange(idx.size)] / group_time
        var_r = 12.0 * (rn_e / group_time) ** 2 / ((n**3 - n) * g**2)
        median_rate = _median_first_difference(y32) / group_time
        dark = avg_dark.ravel()[idx].astype(np.float64)
        var_p = (np.where(median_rate > 0, median_rate, 0.0) + dark) / (group_time * g * (n - 1))
        out.slope[idx] = slope
        out.var_rnoise[idx] = var_r
        out.var_poisson[idx] = var_p
        out.err[idx] = np.sqrt(var_p + var_r)
    rest = np.flatnonzero(~fast)
    if rest.size:
        sub = _fit_one(
            data.reshape(1, ng, 1, npix)[..., rest],
            gdq.reshape(1, ng, 1, npix)[..., rest],
            pixeldq.reshape(1, npix)[:, rest],
            readnoise.reshape(1, npix)[:, rest],
            gain.reshape(1, npix)[:, rest],
            group_time,
            frame_time,
            avg_dark.reshape(1, npix)[:, rest],
        )
        for f in RampFitResult.__annotations__:
            getattr(out, f)[rest] = getattr(sub, f).ravel()
    return RampFitResult(
        *(getattr(out, f).reshape(1, ny, nx) for f in RampFitResult.__annotations__)
    )


def _fit_one(
    data, groupdq, pixeldq, readnoise, gain, group_time, frame_time, avg_dark
) -> RampFitResult:
    """stcal on one integration: its Poisson variance uses the pixel's median rate averaged
    over the integrations of the call, so one call per integration keeps every result
    independent of how the exposure is chunked."""
    # stcal's OLS driver itself, not ramp_fit.ramp_fit_data: that module imports the
    # likelihood fit and with it stcal.jump and scipy.signal, 2.4 s in every fresh Stage 1
    # worker (0.3 s for these two); for OLS, ramp_fit_data only scales the read noise
    # (below) and calls ols_ramp_fit_multi
    from stcal.ramp_fitting import ols_fit, ramp_fit_class

    ramp = ramp_fit_class.RampData()
    ramp.set_arrays(
        np.ascontiguousarray(data, dtype=np.float32),
        np.ascontiguousarray(groupdq, dtype=np.uint8),
        np.ascontiguousarray(pixeldq, dtype=np.uint32),
        np.ascontiguousarray(avg_dark, dtype=np.float32),
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
        gain32 = np.array(gain, np.float32)
        # ramp_fit_data's read noise in electrons per difference (nframes = 1)
        rn_e = np.array(readnoise, np.float32)
        rn_e *= gain32 / np.sqrt(2.0)  # in place, float32, as stcal does
        _, integ, _ = ols_fit.ols_ramp_fit_multi(ramp, False, rn_e, gain32, "optimal", "none")
    finally:
        stcal_log.setLevel(level)
    if integ is None:  # stcal's shortcut when no pixel of the call has a usable group
        shape = data.shape[:1] + data.shape[2:]
        flags = np.bitwise_or.reduce(groupdq, axis=1).astype(np.uint32) | pixeldq | DO_NOT_USE
        zeros = np.zeros(shape, np.float32)
        return RampFitResult(np.full(shape, np.nan, np.float32), zeros, flags, zeros, zeros)
    return RampFitResult(
        slope=np.asarray(integ["slope"], np.float32),
        err=np.asarray(integ["err"], np.float32),
        dq=np.asarray(integ["dq"], np.uint32),
        var_poisson=np.asarray(integ["var_poisson"], np.float32),
        var_rnoise=np.asarray(integ["var_rnoise"], np.float32),
    )
