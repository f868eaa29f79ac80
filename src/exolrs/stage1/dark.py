"""MIRI dark subtraction: the DARK reference holds a ramp for the first integration and one
for every later integration (dark current plus the reset anomaly), in linearised DN."""

from __future__ import annotations

import numpy as np


def integration_planes(ref: np.ndarray, int_start: int, nints: int) -> np.ndarray:
    """Index into a per-integration reference (nints_ref, ngroups, ny, nx) for integrations
    int_start … int_start + nints − 1: integration k uses plane min(k, nints_ref − 1)."""
    k = np.minimum(np.arange(int_start, int_start + nints), ref.shape[0] - 1)
    return k


def subtract_dark(
    data: np.ndarray, dark: np.ndarray, int_start: int = 0, inplace: bool = False
) -> np.ndarray:
    """Subtract the MIRI dark ramp from (nints, ngroups, ny, nx) linearised DN; `int_start` is
    the absolute index of the block's first integration.  With `inplace` (float32 input) the
    input array is modified and returned, saving a copy of the block."""
    out = data if inplace and data.dtype == np.float32 else data.astype(np.float32)
    ng = out.shape[1]
    if dark.shape[1] < ng:
        raise ValueError(f"dark has {dark.shape[1]} groups, data {ng}")
    for i, k in enumerate(integration_planes(dark, int_start, out.shape[0])):
        out[i] -= dark[k, :ng]
    return out
