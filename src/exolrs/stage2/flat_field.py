"""FlatField: divide by the pixel response, propagate error and DQ."""

from __future__ import annotations

import numpy as np

from exolrs.dq import DO_NOT_USE, NO_FLAT_FIELD


def apply_flat(
    sci: np.ndarray,
    err: np.ndarray,
    dq: np.ndarray,
    flat: np.ndarray,
    flat_dq: np.ndarray | None = None,
    flat_err: np.ndarray | None = None,
    inplace: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (sci / flat, error, dq) for (nints, ny, nx) cubes and a (ny, nx) flat.

    err² = (err / flat)² + (sci · flat_err / flat²)²; pixels whose flat is not finite or
    ≤ 0 are left undivided and get NO_FLAT_FIELD | DO_NOT_USE; the flat's DQ is OR-ed in.
    """
    f = flat.astype(np.float32)
    bad = ~np.isfinite(f) | (f <= 0)
    f = np.where(bad, 1.0, f).astype(np.float32)
    fe = None
    if flat_err is not None:
        fe = np.where(bad, 0.0, np.nan_to_num(flat_err)).astype(np.float32)
    if not inplace:
        sci, err, dq = sci.astype(np.float32), err.astype(np.float32), dq.copy()
    for i in range(sci.shape[0]):  # per integration: bounded temporaries
        e = err[i] / f
        e *= e
        if fe is not None:
            t = sci[i] * fe / (f * f)
            e += t * t
        np.sqrt(e, out=err[i])
        sci[i] /= f
    flags = np.zeros(f.shape, np.uint32)
    if flat_dq is not None:
        flags |= flat_dq.astype(np.uint32)
    flags[bad] |= np.uint32(NO_FLAT_FIELD | DO_NOT_USE)
    dq |= flags
    return sci, err, dq
