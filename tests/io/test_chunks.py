"""Chunked reading: every integration exactly once, halos right, bytes identical to FITS."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io import chunk_bounds, discover_segments, iter_chunks, read_integrations, read_pixeldq
from exolrs.io.chunks import read_integrations_raw


@pytest.fixture(scope="module")
def exposure(tiny_sim):
    return discover_segments(tiny_sim["uncal"])


@pytest.fixture(scope="module")
def full_cube(tiny_sim):
    return np.concatenate([fits.getdata(p, "SCI") for p in tiny_sim["uncal"]]).astype(np.float32)


def test_read_across_segment_boundary_matches_astropy(exposure, full_cube):
    data, gdq = read_integrations(exposure, 7, 22)  # spans all three segments
    assert data.dtype == np.float32 and gdq.dtype == np.uint8
    np.testing.assert_array_equal(data, full_cube[7:22])
    assert data.shape == (15, 10, 416, 72)


def test_out_of_range_is_an_error(exposure):
    with pytest.raises(ExolrsError):
        read_integrations(exposure, 20, 25)
    with pytest.raises(ExolrsError):
        read_integrations_raw(exposure, 3, 3)


def test_raw_read_is_the_stored_int16(exposure, full_cube):
    raw, gdq = read_integrations_raw(exposure, 5, 20)  # spans all three segments
    assert raw.dtype == np.dtype(">i2") and raw.shape == (15, 10, 416, 72)
    np.testing.assert_array_equal(raw.astype(np.float32) + 32768, full_cube[5:20])
    np.testing.assert_array_equal(gdq, read_integrations(exposure, 5, 20)[1])


@pytest.mark.parametrize(("chunk", "halo"), [(1, 0), (5, 2), (7, 3), (24, 0), (50, 4)])
def test_chunks_visit_every_integration_once(exposure, full_cube, chunk, halo):
    seen = np.zeros(exposure.nints, int)
    for c in iter_chunks(exposure, chunk, halo):
        seen[c.start : c.stop] += 1
        assert c.lo == max(0, c.start - halo) and c.hi == min(exposure.nints, c.stop + halo)
        np.testing.assert_array_equal(c.data, full_cube[c.lo : c.hi])
        np.testing.assert_array_equal(c.data[c.core], full_cube[c.start : c.stop])
    assert np.all(seen == 1)


def test_chunk_bounds_rejects_zero():
    with pytest.raises(ExolrsError):
        chunk_bounds(10, 0)


def test_pixeldq(exposure):
    dq = read_pixeldq(exposure)
    assert dq.shape == (416, 72) and dq.dtype == np.uint32


def test_raw_read_into_given_buffers(exposure):
    want_sci, want_dq = read_integrations_raw(exposure, 5, 14)
    shape = want_sci.shape
    sci, dq = np.full(shape, 99, ">i2"), np.full(shape, 255, np.uint8)
    got_sci, got_dq = read_integrations_raw(exposure, 5, 14, out=(sci, dq))
    assert got_sci is sci and got_dq is dq
    np.testing.assert_array_equal(sci, want_sci)
    np.testing.assert_array_equal(dq, want_dq)
    with pytest.raises(ValueError, match="out must be"):
        read_integrations_raw(exposure, 5, 13, out=(sci, dq))
    with pytest.raises(ValueError, match="out must be"):  # a DQ buffer of another type
        read_integrations_raw(exposure, 5, 14, out=(sci, dq.astype(np.uint16)))
