"""rateints/calints round trip in the JWST layout; atomic writes; hot-pixel maps."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.errors import ExolrsError
from exolrs.io import (
    IntegrationsWriter,
    discover_segments,
    product_name,
    read_hot_pixel_map,
    read_integrations_product,
    write_hot_pixel_map,
)


def test_product_name():
    p = product_name("/a/jw01_04103_00001-seg002_mirimage_uncal.fits", "rateints", "/out")
    assert str(p) == "/out/jw01_04103_00001-seg002_mirimage_rateints.fits"
    assert product_name("x_rateints.fits", "calints", ".").name == "x_calints.fits"


def _fill(path, exposure, seg, rng):
    s0, s1 = exposure.ranges[seg]
    n = s1 - s0
    arrays = {
        "sci": rng.normal(size=(n, 416, 72)).astype(np.float32),
        "err": rng.random((n, 416, 72)).astype(np.float32),
        "dq": rng.integers(0, 2**20, (n, 416, 72)).astype(np.uint32),
        "var_poisson": rng.random((n, 416, 72)).astype(np.float32),
        "var_rnoise": rng.random((n, 416, 72)).astype(np.float32),
    }
    w = IntegrationsWriter(
        path,
        n,
        (416, 72),
        header=exposure.segment_headers[seg],
        int_times=exposure.segment_int_times(seg),
        extra_keywords={"S_EXOLRS": "COMPLETE"},
    )
    # out of order, as parallel chunks may arrive
    half = n // 2
    w.write(
        half,
        *(arrays[k][half:] for k in ("sci", "err", "dq")),
        var_poisson=arrays["var_poisson"][half:],
        var_rnoise=arrays["var_rnoise"][half:],
    )
    w.write(
        0,
        *(arrays[k][:half] for k in ("sci", "err", "dq")),
        var_poisson=arrays["var_poisson"][:half],
        var_rnoise=arrays["var_rnoise"][:half],
    )
    w.close()
    return arrays


def test_rateints_round_trip_and_jwst_opens_it(tiny_sim, tmp_path):
    exposure = discover_segments(tiny_sim["uncal"])
    rng = np.random.default_rng(0)
    paths, written = [], []
    for seg in range(3):
        p = product_name(exposure.paths[seg], "rateints", tmp_path)
        written.append(_fill(p, exposure, seg, rng))
        paths.append(p)
    back = read_integrations_product(paths)
    for key in ("sci", "err", "dq", "var_poisson", "var_rnoise"):
        np.testing.assert_array_equal(getattr(back, key), np.concatenate([w[key] for w in written]))
    assert len(back.int_times) == 24
    assert back.header["S_EXOLRS"] == "COMPLETE"
    dm = pytest.importorskip("stdatamodels.jwst.datamodels")
    with dm.open(paths[1]) as model:
        assert type(model).__name__ == "CubeModel"
        assert model.data.shape == (10, 416, 72)
        assert model.meta.exposure.type == "MIR_LRS-SLITLESS"
        assert len(model.int_times) == 10


def test_incomplete_product_is_not_written(tmp_path):
    w = IntegrationsWriter(tmp_path / "a_rateints.fits", 4, (3, 3))
    w.write(0, *(np.zeros((2, 3, 3)),) * 3)
    with pytest.raises(ExolrsError, match="never computed"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_a_clear_error(tmp_path):
    w = IntegrationsWriter(tmp_path / "missing" / "a_rateints.fits", 1, (2, 2))
    w.write(0, *(np.zeros((1, 2, 2)),) * 3)
    with pytest.raises(ExolrsError, match="could not write"):
        w.close()


def test_missing_product(tmp_path):
    with pytest.raises(ExolrsError, match="run the previous stage"):
        read_integrations_product(tmp_path / "x_rateints.fits")


def test_hot_pixel_map_round_trip(tmp_path):
    mask = np.zeros((416, 72), bool)
    mask[3, 4] = mask[100, 36] = True
    path = write_hot_pixel_map(mask, tmp_path / "hot.fits")
    np.testing.assert_array_equal(read_hot_pixel_map(path), mask)
    np.save(tmp_path / "hot.npy", mask)
    np.testing.assert_array_equal(read_hot_pixel_map(tmp_path / "hot.npy"), mask)
    with pytest.raises(ExolrsError, match="not found"):
        read_hot_pixel_map(tmp_path / "nope.fits")
