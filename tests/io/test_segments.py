"""Segment discovery and validation, with the bad inputs users actually produce."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io import discover_segments


@pytest.fixture
def segs(tiny_sim, tmp_path):
    """Copies of the tiny simulation's three segments, safe to damage."""
    out = []
    for p in tiny_sim["uncal"]:
        out.append(shutil.copy(p, tmp_path / p.name))
    return [type(tiny_sim["uncal"][0])(p) for p in out]


def test_discovers_and_orders_segments(tiny_sim):
    exp = discover_segments(list(reversed(tiny_sim["uncal"])))
    assert exp.paths == tiny_sim["uncal"]
    assert exp.ranges == [(0, 10), (10, 20), (20, 24)]
    assert (exp.nints, exp.ngroups, exp.ny, exp.nx) == (24, 10, 416, 72)
    assert exp.header["INSTRUME"] == "MIRI"
    times = exp.int_times()
    assert len(times) == 24 and np.all(np.diff(times["int_mid_BJD_TDB"]) > 0)


def test_folder_and_glob_inputs(tiny_sim):
    folder = tiny_sim["uncal"][0].parent
    assert discover_segments(folder).nints == 24
    assert discover_segments(str(folder / "*seg00*_uncal.fits")).nints == 24


def test_missing_file(tmp_path):
    with pytest.raises(ExolrsError, match="input file not found"):
        discover_segments(tmp_path / "nope_uncal.fits")


def test_empty_glob(tmp_path):
    with pytest.raises(ExolrsError, match="no files match"):
        discover_segments(str(tmp_path / "*_uncal.fits"))


def test_empty_file(segs):
    segs[0].write_bytes(b"")
    with pytest.raises(ExolrsError, match="is empty"):
        discover_segments(segs)


def test_not_fits(segs):
    segs[0].write_text("this is not a FITS file\n" * 100)
    with pytest.raises(ExolrsError, match="not a readable FITS file"):
        discover_segments(segs)


def test_truncated_file(segs):
    size = segs[1].stat().st_size
    with open(segs[1], "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(ExolrsError, match=r"truncated|not a readable FITS"):
        discover_segments(segs)


def test_nirspec_file_rejected(segs):
    fits.setval(segs[0], "INSTRUME", value="NIRSPEC")
    with pytest.raises(ExolrsError, match=r"INSTRUME = 'NIRSPEC'.*MIRI LRS slitless"):
        discover_segments(segs)


def test_wrong_subarray_rejected(segs):
    fits.setval(segs[2], "SUBARRAY", value="FULL")
    with pytest.raises(ExolrsError, match="SUBARRAY"):
        discover_segments(segs)


def test_two_observations_rejected(segs, tmp_path):
    other = tmp_path / segs[2].name.replace("jw09999001001", "jw09999002001")
    segs[2].rename(other)
    fits.setval(other, "OBSERVTN", value="002")
    with pytest.raises(ExolrsError, match="mix 2 observations"):
        discover_segments([segs[0], segs[1], other])


def test_missing_segment(segs):
    with pytest.raises(ExolrsError, match=r"seg002 of 3 missing"):
        discover_segments([segs[0], segs[2]])


def test_duplicate_segment_is_reported(segs, tmp_path):
    twin = tmp_path / "copy" / segs[0].name
    twin.parent.mkdir()
    shutil.copy(segs[0], twin)
    with pytest.raises(ExolrsError, match="same segment is given twice"):
        discover_segments([*segs, twin])


def test_rate_product_is_not_uncal(tmp_path):
    path = tmp_path / "x_rateints.fits"
    primary = fits.PrimaryHDU()
    for key, value in {
        "INSTRUME": "MIRI",
        "DETECTOR": "MIRIMAGE",
        "EXP_TYPE": "MIR_LRS-SLITLESS",
        "SUBARRAY": "SLITLESSPRISM",
    }.items():
        primary.header[key] = value
    fits.HDUList([primary, fits.ImageHDU(np.zeros((2, 4, 4), np.float32), name="SCI")]).writeto(
        path
    )
    with pytest.raises(ExolrsError, match="uncal file holds 16-bit ramps"):
        discover_segments(path)
