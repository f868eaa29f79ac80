"""nanmedian0 equals numpy's nanmedian over time, NaN-free columns and NaN columns alike."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from exolrs.stats import nanmedian0


@pytest.mark.parametrize("n", [1, 2, 5, 6, 40])
def test_equals_numpy_nanmedian(n):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, 7, 5)).astype(np.float32)
    a[rng.random(a.shape) < 0.1] = np.nan
    a[:, 2, 3] = np.nan  # a column NaN throughout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmedian(a, axis=0)
    got = nanmedian0(a)
    assert got.dtype == np.float32 and got.shape == (7, 5)
    np.testing.assert_array_equal(got, ref)
