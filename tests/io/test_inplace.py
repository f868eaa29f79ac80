"""A product written in place by workers is the file IntegrationsWriter writes, byte for byte."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.io.inplace import ProductInPlace
from exolrs.io.products import ARRAYS, IntegrationsWriter

N, FRAME = 9, (6, 4)


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    out = {name: rng.normal(size=(N, *FRAME)).astype(np.float32) for name in ARRAYS}
    out["DQ"] = rng.integers(0, 2**32, (N, *FRAME), dtype=np.uint64).astype(np.uint32)
    out["DQ"][0, 0] = [0, 1, 2**31, 2**32 - 1]  # both ends of the unsigned range
    return out


def _options():
    header = fits.Header({"TELESCOP": "JWST", "SUBARRAY": "SLITLESSPRISM", "V2_REF": -378.6})
    times = np.zeros(N, [("integration_number", ">i4"), ("int_mid_MJD_UTC", ">f8")])
    times["integration_number"] = np.arange(1, N + 1)
    return {"header": header, "int_times": times, "extra_keywords": {"S_EXOLRS": "COMPLETE"}}


def _put(layout, first, planes):
    layout.put(first, planes)
    return first


def test_written_in_place_equals_the_collected_product(tmp_path):
    arrays = _arrays()
    ref = IntegrationsWriter(tmp_path / "ref" / "x_rateints.fits", N, FRAME, **_options())
    (tmp_path / "ref").mkdir()
    ref.write(
        0,
        arrays["SCI"],
        arrays["ERR"],
        arrays["DQ"],
        var_poisson=arrays["VAR_POISSON"],
        var_rnoise=arrays["VAR_RNOISE"],
    )
    ref.close()

    product = ProductInPlace(tmp_path / "x_rateints.fits", N, FRAME, **_options())
    layout = pickle.loads(pickle.dumps(product.create()))  # as a worker receives it
    assert not product.path.exists() and product.part.exists()
    pieces = [(5, 9), (0, 2), (2, 5)]  # out of order, from other processes
    with ProcessPoolExecutor(2) as pool:
        jobs = [
            pool.submit(_put, layout, a, {k: v[a:b] for k, v in arrays.items()}) for a, b in pieces
        ]
        for job, (a, b) in zip(jobs, pieces, strict=True):
            job.result()
            product.mark(a, b)
    assert product.finish() == product.path and not product.part.exists()
    assert product.path.read_bytes() == ref.path.read_bytes()
    with fits.open(product.path) as hdul:
        np.testing.assert_array_equal(hdul["DQ"].data, arrays["DQ"])


def test_an_incomplete_product_is_removed_not_named(tmp_path):
    product = ProductInPlace(tmp_path / "y_rateints.fits", N, FRAME, **_options())
    product.create()
    product.layout.put(0, {"SCI": np.ones((3, *FRAME), np.float32)})
    product.mark(0, 3)
    with pytest.raises(ExolrsError, match=r"integrations \[3, 4, 5, 6, 7\]"):
        product.finish()
    assert not product.path.exists() and not product.part.exists()


def test_planes_that_do_not_fit_are_refused(tmp_path):
    product = ProductInPlace(tmp_path / "z_rateints.fits", N, FRAME, **_options())
    layout = product.create()
    with pytest.raises(ValueError, match="do not fit"):
        layout.put(8, {"SCI": np.ones((2, *FRAME), np.float32)})
    with pytest.raises(ValueError, match="do not fit"):
        layout.put(0, {"SCI": np.ones((1, 5, 4), np.float32)})
    product.abandon()
    assert not product.part.exists()
