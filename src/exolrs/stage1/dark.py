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


def dark_pixel_dq(dark_dq: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """The DARK reference's DQ as one (ny, nx) map to OR into the pixel DQ, as stcal's
    `dark_sub` does: a MIRI dark holds a DQ plane per integration plane, OR-ed together."""
    if dark_dq is None:
        return np.zeros(shape, np.uint32)
    dq = np.asarray(dark_dq, np.uint32)
    if dq.shape[-2:] != tuple(shape):  # a placeholder
        return np.zeros(shape, np.uint32)
    return np.bitwise_or.reduce(dq.reshape(-1, *shape), axis=0)


def average_dark_current(dark: np.ndarray, group_time: float) -> np.ndarray:
    """Per-pixel dark current (DN/s, ≥ 0) of a MIRI dark ramp (nints_ref, ngroups, ny, nx):
    the mean slope of the later-integration plane over its second half, where the reset
    anomaly has decayed.

    The dark is subtracted before the ramp fit, so the fitted rate no longer carries the dark
    current's shot noise; calwebb_detector1 adds it back to the Poisson variance through the
    ramp's ``average_dark_current`` (stcal: var_p ∝ median rate + average dark current).
    This is that array."""
    plane = dark[-1]
    ng = plane.shape[0]
    a = ng // 2
    if ng - 1 - a < 1:
        return np.zeros(plane.shape[1:], np.float32)
    rate = (plane[-1].astype(np.float64) - plane[a]) / ((ng - 1 - a) * group_time)
    return np.clip(np.nan_to_num(rate), 0.0, None).astype(np.float32)
