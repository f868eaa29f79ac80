"""The median over the first axis, ignoring NaN, at numpy's fast speed.

`np.nanmedian` on an array with any NaN takes a per-element Python path (measured on the
full-size cube: 119 704 one-dimensional calls, 5.6 s of Stage 2's 21 s).  Here the columns
without NaN go through `np.median` (one partition) and only those with a NaN through
`np.nanmedian`: the same values, a few per cent of the time.
"""

from __future__ import annotations

import warnings

import numpy as np


def nanmedian0(a: np.ndarray) -> np.ndarray:
    """Median over axis 0 of the non-NaN values (NaN where a column has none)."""
    a = np.asarray(a)
    flat = a.reshape(a.shape[0], -1)
    holes = np.isnan(flat).any(axis=0)
    dtype = np.result_type(a.dtype, np.float32)
    out = np.empty(flat.shape[1], dtype)
    if (~holes).any():
        out[~holes] = np.median(flat[:, ~holes], axis=0)
    if holes.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # columns NaN throughout
            out[holes] = np.nanmedian(flat[:, holes], axis=0)
    return out.reshape(a.shape[1:])
