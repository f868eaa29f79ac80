"""Jump detection in time (ours) and up the ramp (stcal engine), on injected hits."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.dq import DO_NOT_USE, JUMP_DET
from exolrs.stage1.jump import (
    disc_offsets,
    expand_large_events,
    flag_jumps_in_time,
    flag_jumps_up_ramp,
    time_halo,
    time_span,
)
from exolrs.stats import neighbour_start
from tests.stage1.conftest import make_ramps


def _hits(gdq):
    return set(map(tuple, np.argwhere(gdq & JUMP_DET).tolist()))


def test_time_domain_finds_every_injected_jump_and_nothing_else(ramps, detector_maps):
    data, _, crs = ramps
    rn, gain = detector_maps
    gdq = np.zeros(data.shape, np.uint8)
    out = flag_jumps_in_time(data, gdq, rn, gain, threshold=7, window=5)
    assert _hits(out) == set(crs)


def test_disc_expansion_and_its_edges():
    assert len(disc_offsets(1.0)) == 5 and len(disc_offsets(2.0)) == 13
    assert len(disc_offsets(4.0)) == 49
    large = np.zeros((2, 9, 7), bool)
    large[1, 4, 3] = True  # inside
    large[0, 0, 6] = True  # a corner: the disc is cut by the edges
    out = expand_large_events(large, 2.0)
    assert out[1].sum() == 13 and out[1, 2, 3] and out[1, 4, 5] and not out[1, 2, 2]
    assert out[0].sum() == 6 and out[0, 2, 6] and out[0, 1, 5] and not out[0, 2, 5]


def _shower_block(core_dn=20000.0, halo_dn=40.0):
    """Ramps of constant rate with a shower in integration 6, group 5 at (10, 8): a core
    far above any threshold and a halo of `halo_dn` (r ≤ 3), below it."""
    data, _, _ = make_ramps(n=14, ng=10, seed=3, n_crs=0)
    yy, xx = np.mgrid[:24, :16]
    r = np.hypot(yy - 10, xx - 8)
    step = np.where(r <= 3, halo_dn, 0.0)
    step[10, 8] = core_dn
    data[6, 5:] += step.astype(np.float32)
    return data, r


def test_large_jumps_flag_the_shower_halo_in_their_group(detector_maps):
    data, r = _shower_block()
    rn, gain = detector_maps
    gdq = np.zeros(data.shape, np.uint8)
    plain = flag_jumps_in_time(data, gdq, rn, gain, threshold=7, window=5)
    assert _hits(plain) == {(6, 5, 10, 8)}  # the halo stays below the threshold
    gdq[6, 5, 10, 9] = DO_NOT_USE  # a flagged group is left alone
    out = flag_jumps_in_time(
        data, gdq, rn, gain, threshold=7, window=5, shower_sigma=100.0, shower_radius=3.5
    )
    want = {(6, 5, y, x) for y, x in zip(*np.nonzero(r <= 3.5), strict=True)} - {(6, 5, 10, 9)}
    assert _hits(out) == want
    # a jump below shower_sigma flags only itself
    out = flag_jumps_in_time(
        data, np.zeros_like(gdq), rn, gain, threshold=7, window=5, shower_sigma=1e5
    )
    assert _hits(out) == {(6, 5, 10, 8)}


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
