"""Which integrations are out of transit: the tutorial's `baseline_ints`."""

from __future__ import annotations

import numpy as np

from exolrs.stats import nanmedian0


def baseline_indices(baseline_ints, nints: int) -> np.ndarray:
    """Indices of the baseline integrations.

    `baseline_ints` follows exoTEDRF: ``[n]`` with n > 0 is the first n integrations, with
    n < 0 the last |n|; ``[a, b]`` is the first a and the last |b|; None is all of them.
    """
    if baseline_ints is None:
        return np.arange(nints)
    b = [int(v) for v in np.atleast_1d(baseline_ints)]
    if sum(abs(v) for v in b) >= nints or any(v == 0 for v in b):
        raise ValueError(
            f"baseline_ints = {list(b)} must select between 1 and {nints - 1} of the {nints} "
            "integrations (a baseline of every integration includes the transit)"
        )
    if len(b) == 1:
        n = b[0]
        idx = np.arange(min(n, nints)) if n > 0 else np.arange(max(nints + n, 0), nints)
    elif len(b) == 2:
        idx = np.union1d(
            np.arange(min(abs(b[0]), nints)), np.arange(max(nints - abs(b[1]), 0), nints)
        )
    else:
        raise ValueError(f"baseline_ints must have one or two values, got {baseline_ints}")
    if idx.size == 0:
        raise ValueError(f"baseline_ints {baseline_ints} selects no integration of {nints}")
    return idx


def deep_frame(sci: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Median image (ny, nx) of the integrations `base`; pixels NaN throughout stay NaN."""
    return nanmedian0(sci[base])
