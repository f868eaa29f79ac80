"""Jump detection in time (ours) and up the ramp (stcal engine), on injected hits."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.dq import DO_NOT_USE, JUMP_DET
from exolrs.stage1.jump import flag_jumps_in_time, flag_jumps_up_ramp, time_halo, time_span
from exolrs.stats import neighbour_start


def _hits(gdq):
    return set(map(tuple, np.argwhere(gdq & JUMP_DET).tolist()))


def test_time_domain_finds_every_injected_jump_and_nothing_else(ramps, detector_maps):
    data, _, crs = ramps
    rn, gain = detector_maps
    gdq = np.zeros(data.shape, np.uint8)
    out = flag_jumps_in_time(data, gdq, rn, gain, threshold=7, window=5)
    assert _hits(out) == set(crs)


def test_time_domain_respects_threshold_and_flags(ramps, detector_maps):
    data, _, crs = ramps
    rn, gain = detector_maps
    gdq = np.zeros(data.shape, np.uint8)
    i, g, y, x = crs[0]
    gdq[i, g, y, x] = DO_NOT_USE  # flagged groups are not re-flagged
    out = flag_jumps_in_time(data, gdq, rn, gain, threshold=7, window=5)
    assert not out[i, g, y, x] & JUMP_DET
    assert not (flag_jumps_in_time(data, gdq, rn, gain, threshold=1e4) & JUMP_DET).any()


@pytest.mark.parametrize(
    ("chunk", "span"), [(1, False), (4, False), (7, False), (1, True), (4, True), (7, True)]
)
def test_time_domain_result_does_not_depend_on_chunking(ramps, detector_maps, chunk, span):
    data, _, _ = ramps
    rn, gain = detector_maps
    n = data.shape[0]
    gdq = np.zeros(data.shape, np.uint8)
    whole = flag_jumps_in_time(data, gdq, rn, gain, threshold=7, window=5)
    halo = time_halo(5)
    parts = []
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        lo, hi = time_span(a, b, 5, n) if span else (max(0, a - halo), min(n, b + halo))
        parts.append(
            flag_jumps_in_time(
                data[lo:hi],
                gdq[lo:hi],
                rn,
                gain,
                threshold=7,
                window=5,
                int_start=lo,
                nints_total=n,
                core=slice(a - lo, b - lo),
            )
        )
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("window", [3, 5, 7])
@pytest.mark.parametrize("nints", [2, 5, 9, 40])
def test_time_span_is_exactly_the_windows_used(window, nints):
    for a in range(nints):
        for b in range(a + 1, nints + 1):
            first = neighbour_start(np.arange(a, b), window, nints)
            used = {k for f in first for k in range(f, min(f + window, nints))} | set(range(a, b))
            assert time_span(a, b, window, nints) == (min(used), max(used) + 1)
    assert time_span(10, 26, 5, 1779) == (8, 28)  # two neighbours each side mid-exposure


def test_windows_shift_inward_at_the_ends():
    idx = np.arange(10)
    assert list(neighbour_start(idx, 5, 10)) == [0, 0, 0, 1, 2, 3, 4, 5, 5, 5]


def test_bad_window_and_missing_halo(ramps, detector_maps):
    data, _, _ = ramps
    rn, gain = detector_maps
    gdq = np.zeros(data.shape, np.uint8)
    with pytest.raises(ValueError, match="odd"):
        flag_jumps_in_time(data, gdq, rn, gain, window=4)
    with pytest.raises(ValueError, match="halo"):
        flag_jumps_in_time(
            data[5:10], gdq[5:10], rn, gain, int_start=5, nints_total=30, core=slice(0, 5)
        )


def test_up_the_ramp_engine_finds_injected_jumps(ramps, detector_maps):
    data, _, crs = ramps
    rn, gain = detector_maps
    gdq = np.zeros(data.shape, np.uint8)
    out = flag_jumps_up_ramp(
        data,
        gdq,
        np.zeros(rn.shape, np.uint32),
        rn,
        gain,
        rejection_threshold=5,
        flag_4_neighbors=False,
    )
    found = _hits(out)
    assert set(crs) <= found
    assert len(found - set(crs)) < 0.001 * data.size


@pytest.mark.parametrize("w", [3, 5, 7])
def test_median_networks_equal_numpy(w):
    from exolrs.stats import median_of_window

    rng = np.random.default_rng(w)
    stack = rng.integers(0, 4, (w, 50, 7)).astype(np.float32)  # many ties
    np.testing.assert_array_equal(median_of_window(stack), np.median(stack, axis=0))
