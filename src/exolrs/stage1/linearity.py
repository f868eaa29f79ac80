"""Linearity: corrected = Σ c_k raw^k from the LINEARITY reference, and MIRI dropped groups.

Pixels with any NaN coefficient, or flagged NO_LIN_CORR in the reference, are left as they are
and get NO_LIN_CORR in PIXELDQ; saturated groups are not corrected (stcal's rules).  Horner
evaluation in float32 in place on the block: ~4× faster than stcal's float64 per-integration
loop on a 16 × 100 × 416 × 72 block (benchmarks/bench_stage1.py), same result to < 1e-3 DN.
"""

from __future__ import annotations

import numpy as np

from exolrs.dq import DO_NOT_USE, NO_LIN_CORR, SATURATED


def correct_linearity(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    coeffs: np.ndarray,
    lin_dq: np.ndarray | None = None,
    inplace: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (corrected data float32, groupdq, pixeldq) for (nints, ngroups, ny, nx) DN.

    With `inplace` (float32 input) the corrected values overwrite `data`."""
    c, pdq = linearity_coefficients(coeffs, pixeldq, lin_dq)
    raw = data.astype(np.float32, copy=False)
    out = raw if inplace and raw is data else np.empty_like(raw)
    sat = (groupdq & SATURATED).astype(bool)
    for i in range(raw.shape[0]):  # one integration at a time bounds the temporaries
        r = raw[i].copy() if out is raw else raw[i]
        acc = np.full(r.shape, c[-1], np.float32)
        for k in range(c.shape[0] - 2, -1, -1):
            acc *= r
            acc += c[k]
        s = sat[i]
        acc[s] = r[s]  # saturated groups are left as they are
        out[i] = acc
    return out, groupdq, pdq


def linearity_coefficients(
    coeffs: np.ndarray, pixeldq: np.ndarray, lin_dq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Float32 coefficients (ncoeffs, ny, nx), the identity polynomial where the correction
    is not applied (a NaN coefficient or NO_LIN_CORR), and the pixel DQ with the reference's
    flags and NO_LIN_CORR there."""
    c = coeffs.astype(np.float32, copy=True)
    pdq = pixeldq.astype(np.uint32, copy=True)
    skip = ~np.all(np.isfinite(c), axis=0)
    if lin_dq is not None:
        pdq |= lin_dq.astype(np.uint32)
        skip |= (lin_dq & NO_LIN_CORR).astype(bool)
    pdq[skip] |= np.uint32(NO_LIN_CORR)
    # identity polynomial where the correction is not applied
    c[:, skip] = 0.0
    c[1, skip] = 1.0
    return c, pdq


def drop_groups(groupdq: np.ndarray, n: int, *, inplace: bool = False) -> np.ndarray:
    """Mark the first `n` groups of every integration DO_NOT_USE (reset anomaly / RSCD),
    in a copy or, with `inplace`, in `groupdq` itself.

    With the last group also DO_NOT_USE, at least two groups must stay usable; asking for
    more raises ValueError."""
    ng = groupdq.shape[1]
    if n <= 0:
        return groupdq
    if n > ng - 3:
        raise ValueError(
            f"miri_drop_groups = {n} leaves fewer than 2 of {ng} groups; use at most {ng - 3}"
        )
    out = groupdq if inplace else groupdq.copy()
    out[:, :n] |= np.uint8(DO_NOT_USE)
    return out
