"""DQInit: pixel flags from the static mask (and an optional hot-pixel map); first and last
group of every integration marked DO_NOT_USE (jwst's MIRI firstframe/lastframe steps)."""

from __future__ import annotations

import numpy as np

from exolrs.dq import DO_NOT_USE, HOT


def init_dq(
    groupdq: np.ndarray,
    mask: np.ndarray | None,
    pixeldq: np.ndarray | None = None,
    hot_pixel_map: np.ndarray | None = None,
    flag_first_last: bool = True,
    *,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (pixeldq, groupdq) for a block of ramps.

    Parameters
    ----------
    groupdq : (nints, ngroups, ny, nx) uint8 group flags as read from the uncal file.
    mask : (ny, nx) uint32 static mask (DQ of the MASK reference), or None.
    pixeldq : (ny, nx) flags already set (uncal PIXELDQ), OR-ed in.
    hot_pixel_map : (ny, nx) bool; True pixels get HOT | DO_NOT_USE.
    flag_first_last : mark groups 0 and ngroups−1 DO_NOT_USE.
    out : uint8 array of groupdq's shape to hold the group flags (default: a new one).
    """
    shape = groupdq.shape[-2:]
    pdq = np.zeros(shape, np.uint32)
    if pixeldq is not None:
        pdq |= pixeldq.astype(np.uint32)
    if mask is not None:
        pdq |= mask.astype(np.uint32)
    if hot_pixel_map is not None:
        if hot_pixel_map.shape != shape:
            raise ValueError(f"hot-pixel map shape {hot_pixel_map.shape} != detector {shape}")
        pdq[hot_pixel_map.astype(bool)] |= np.uint32(HOT | DO_NOT_USE)
    if out is None:
        gdq = groupdq.astype(np.uint8, copy=True)
    else:
        if out.shape != groupdq.shape or out.dtype != np.uint8:
            raise ValueError(f"out must be uint8 of shape {groupdq.shape}")
        gdq = out
        np.copyto(gdq, groupdq, casting="unsafe")
    if flag_first_last and gdq.shape[1] > 2:
        gdq[:, 0] |= np.uint8(DO_NOT_USE)
        gdq[:, -1] |= np.uint8(DO_NOT_USE)
    return pdq, gdq
