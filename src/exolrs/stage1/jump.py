"""Jump (cosmic-ray) detection: up the ramp and across integrations.

* `flag_jumps_up_ramp`: the JWST two-point-difference algorithm, run by stcal's
  `detect_jumps_data` (the engine calwebb_detector1 uses), with its 4-neighbour flagging.
* `flag_jumps_in_time`: the time-domain detector of Nikolov et al. (2014) as exoTEDRF applies
  it, improved in three ways: it works on group *differences* (a hit flags the one group it
  arrived in, not every later group of the cumulative ramp); the scatter of each difference
  is predicted from the read noise, the gain and the local signal instead of measured over a
  whole segment (so the result depends on neither chunk size nor segment boundaries); and the
  neighbour window near the exposure's ends is shifted inward, never truncated.

Group k is flagged JUMP_DET when the difference (group k − group k−1) of integration i
deviates from the median of the same difference in the `window` integrations centred on i by
more than `threshold` × σ.  A cosmic-ray shower deposits a bright core and a faint halo that
stays below the threshold but still biases each slope it touches; with `shower_sigma`, a jump
deviating by more than that many σ also flags every pixel within `shower_radius` of it, in
the same group (as jwst's large-event expansion does around snowballs).
"""

from __future__ import annotations

import logging

import numpy as np

from exolrs.dq import DO_NOT_USE, GROUP, JUMP_DET, PIXEL, SATURATED
from exolrs.stats import median_of_window, neighbour_start

# Variance of the median of w Gaussian draws relative to one draw (w = 3, 5, 7, 9 …):
# ≈ π/(2w) for large w; exact small-w values from order statistics.
_MEDIAN_VAR = {3: 0.449, 5: 0.287, 7: 0.210, 9: 0.166, 11: 0.137}


def time_halo(window: int) -> int:
    """Integrations a chunk needs on each side so every core integration sees the same
    `window` neighbours as in a whole-exposure run (edge windows are shifted inward) —
    an upper bound; `time_span` gives the exact range of one chunk."""
    return max(window - 1, 0)


def time_span(start: int, stop: int, window: int, nints: int) -> tuple[int, int]:
    """Integrations [lo, hi) whose ramps the time windows of the core integrations
    [start, stop) use: window // 2 on each side inside the exposure, more where the edge
    windows are shifted inward (a short core near either end of the exposure)."""
    if window <= 1:
        return start, stop
    first = neighbour_start(np.array([start, stop - 1]), window, nints)
    return min(start, int(first[0])), min(nints, max(stop, int(first[1]) + window))


def disc_offsets(radius: float) -> np.ndarray:
    """(k, 2) pixel offsets (dy, dx) within `radius` of a pixel, itself included."""
    r = int(np.floor(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    inside = dy * dy + dx * dx <= radius * radius
    return np.stack([dy[inside], dx[inside]], axis=1).astype(np.int64)


def expand_large_events(large: np.ndarray, radius: float) -> np.ndarray:
    """(…, ny, nx) bool: every pixel within `radius` of a True pixel of `large`."""
    out = np.zeros(large.shape, bool)
    ny, nx = large.shape[-2:]
    for dy, dx in disc_offsets(radius):
        src = large[..., max(-dy, 0) : ny - max(dy, 0), max(-dx, 0) : nx - max(dx, 0)]
        out[..., max(dy, 0) : ny + min(dy, 0), max(dx, 0) : nx + min(dx, 0)] |= src
    return out


def flag_jumps_in_time(
    data: np.ndarray,
    groupdq: np.ndarray,
    readnoise: np.ndarray,
    gain: np.ndarray,
    *,
    threshold: float = 10.0,
    window: int = 5,
    int_start: int = 0,
    nints_total: int | None = None,
    core: slice | None = None,
    shower_sigma: float | None = None,
    shower_radius: float = 4.0,
) -> np.ndarray:
    """Group DQ of the `core` integrations with time-domain jumps flagged.

    Parameters
    ----------
    data : (n, ngroups, ny, nx) linearised DN of a block (core plus halo).
    groupdq : matching group flags.
    readnoise, gain : (ny, nx) read noise of a correlated double sample in DN (the JWST
        READNOISE reference convention) and gain in e-/DN.
    threshold : rejection threshold in σ (exoTEDRF default 10; the tutorial uses 7).
    window : integrations in each neighbourhood (odd, ≥ 3).
    int_start : absolute index of the block's first integration.
    nints_total : integrations in the whole exposure (default: the block's).
    core : integrations of the block to flag (default all); their neighbourhoods must lie in
        the block, which `time_halo` guarantees.
    shower_sigma, shower_radius : jumps deviating by more than `shower_sigma` σ also flag
        the pixels within `shower_radius` of them in the same group (None: off).
    """
    n, ng = data.shape[:2]
    if window < 3 or window % 2 == 0:
        raise ValueError(f"time_window must be odd and ≥ 3, got {window}")
    nints_total = n + int_start if nints_total is None else nints_total
    core = core or slice(0, n)
    idx = np.arange(n)[core]
    out = groupdq[core].copy()
    if nints_total < window or ng < 2:
        logging.getLogger(__name__).warning(
            "time-domain jump detection needs ≥ %d integrations; skipped", window
        )
        return out
    first = neighbour_start(idx + int_start, window, nints_total) - int_start
    if first.min() < 0 or first.max() + window > n:
        raise ValueError("block lacks the halo the time window needs (see time_halo)")
    diffs = np.diff(data, axis=1)  # (n, ng-1, ny, nx) float32
    bad = ((groupdq[:, 1:] | groupdq[:, :-1]) & (DO_NOT_USE | SATURATED)).astype(bool)
    rn2 = readnoise.astype(np.float32) ** 2  # READNOISE refs are CDS noise: var of a difference
    inv_gain = 1.0 / np.where(gain > 0, gain, np.inf).astype(np.float32)
    inflate = np.float32(1.0 + _MEDIAN_VAR.get(window, np.pi / (2 * window)))
    for j, (i, a) in enumerate(zip(idx, first, strict=True)):
        med = median_of_window(diffs[a : a + window])
        var = (rn2 + np.maximum(med, 0.0) * inv_gain) * inflate
        dev = np.abs(diffs[i] - med)
        hit = (dev * dev > (threshold * threshold) * var) & ~bad[i]
        if shower_sigma:
            large = hit & (dev * dev > (shower_sigma * shower_sigma) * var)
            if large.any():
                hit |= expand_large_events(large, shower_radius) & ~bad[i]
        out[j, 1:][hit] |= np.uint8(JUMP_DET)
    return out


def flag_jumps_up_ramp(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    readnoise: np.ndarray,
    gain: np.ndarray,
    *,
    rejection_threshold: float = 4.0,
    flag_4_neighbors: bool = True,
) -> np.ndarray:
    """Group DQ with up-the-ramp (two-point difference) jumps flagged, by stcal."""
    from stcal.jump.jump import detect_jumps_data
    from stcal.jump.jump_class import JumpData

    flags = dict(PIXEL)
    flags.update({k: v for k, v in GROUP.items() if k not in flags})
    jd = JumpData(
        gain2d=np.array(gain, np.float32),  # copies: stcal may scale them in place
        rnoise2d=np.array(readnoise, np.float32),
        dqflags=flags,
    )
    jd.init_arrays_from_arrays(
        np.array(data, np.float32, copy=True),
        np.array(groupdq, np.uint8, copy=True),
        np.array(pixeldq, np.uint32, copy=True),
    )
    jd.nframes = 1
    jd.dt_group = np.ones(1)
    jd.n_reads_groupdiff = np.ones(1) * 2
    jd.rejection_thresh = rejection_threshold
    jd.flag_4_neighbors = flag_4_neighbors
    jd.max_cores = "none"
    stcal_log = logging.getLogger("stcal")
    level = stcal_log.level
    stcal_log.setLevel(logging.WARNING)
    try:
        gdq, _pdq, *_ = detect_jumps_data(jd)
    finally:
        stcal_log.setLevel(level)
    return np.asarray(gdq, np.uint8)
