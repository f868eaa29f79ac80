"""FlatField: divide by the pixel response, propagate error and DQ, as jwst's
`flatfield.flat_field.apply_flat_field` does for a CubeModel.

The flat's own uncertainty (its ERR) is a static calibration error, the same in every
integration.  On the star's light it cancels in relative photometry; on the background it
does not: the background is subtracted with a smooth model, so each pixel under the trace
keeps B·ε (B its background, ε the flat's error there), a constant offset that dilutes the
transit — depth × offset / stellar flux (benchmarks/flat_dilution.py measures it).
`dilution_variance` is that offset's variance per pixel; Stage 3 sums it over each row's
extraction weights and Stage 4 adds depth × its square root / flux to the depth errors.
jwst keeps the flat's error in VAR_FLAT and in ERR; exolrs does the same in its products, and
its extraction weights and light-curve errors use the per-integration part,
ERR² − VAR_FLAT = VAR_POISSON + VAR_RNOISE.
"""

from __future__ import annotations

import numpy as np

from exolrs.dq import DO_NOT_USE, NO_FLAT_FIELD


def usable_flat(
    flat: np.ndarray, flat_dq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(flat with 1.0 where it must not be applied, that mask).  Not applied, as in jwst:
    NaN or zero (and, here, negative) values, and pixels the flat's DQ marks DO_NOT_USE or
    NO_FLAT_FIELD."""
    f = np.asarray(flat, np.float32)
    bad = ~np.isfinite(f) | (f <= 0)
    if flat_dq is not None:
        bad |= (np.asarray(flat_dq, np.uint32) & np.uint32(DO_NOT_USE | NO_FLAT_FIELD)) != 0
    return np.where(bad, 1.0, f).astype(np.float32), bad


def apply_flat(
    sci: np.ndarray,
    err: np.ndarray,
    dq: np.ndarray,
    flat: np.ndarray,
    flat_dq: np.ndarray | None = None,
    flat_err: np.ndarray | None = None,
    inplace: bool = False,
    include_flat_error: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (sci / flat, error, dq) for (nints, ny, nx) cubes and a (ny, nx) flat.

    err² = (err / flat)² [+ (sci · flat_err / flat²)², jwst's VAR_FLAT, unless
    `include_flat_error` is False]; pixels where the flat is not applied (`usable_flat`)
    are left undivided, those with no valid flat value get NO_FLAT_FIELD | DO_NOT_USE; the
    flat's DQ is OR-ed in.
    """
    f, bad = usable_flat(flat, flat_dq)
    fe = None
    if flat_err is not None and include_flat_error:
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
    dq |= flat_flags(flat, flat_dq)
    return sci, err, dq


def flat_flags(flat: np.ndarray, flat_dq: np.ndarray | None = None) -> np.ndarray:
    """(ny, nx) DQ flags a flat adds to every integration: its own DQ, and NO_FLAT_FIELD |
    DO_NOT_USE where it has no valid value."""
    flags = np.zeros(np.shape(flat), np.uint32)
    if flat_dq is not None:
        flags |= flat_dq.astype(np.uint32)
    raw = np.asarray(flat)
    flags[~np.isfinite(raw) | (raw <= 0)] |= np.uint32(NO_FLAT_FIELD | DO_NOT_USE)
    return flags


def flat_variance(
    sci: np.ndarray,
    flat: np.ndarray,
    flat_err: np.ndarray | None,
    flat_dq: np.ndarray | None = None,
) -> np.ndarray:
    """jwst's VAR_FLAT, (sci · flat_err / flat)², for flat-fielded `sci` (float32); zero
    where the flat is not applied or has no error."""
    if flat_err is None:
        return np.zeros(sci.shape, np.float32)
    fe = relative_flat_error(flat, flat_err, flat_dq)
    out = np.empty(sci.shape, np.float32)
    for i in range(sci.shape[0]):
        np.multiply(sci[i], fe, out=out[i])
        out[i] *= out[i]
    return out


def dilution_variance(
    background: np.ndarray,
    flat: np.ndarray,
    flat_err: np.ndarray | None,
    flat_dq: np.ndarray | None = None,
) -> np.ndarray | None:
    """(ny, nx) variance of the static offset the flat's error leaves in the background-
    subtracted image: (B · flat_err / flat)², B the (flat-fielded) background subtracted from
    each pixel.  Zero where the flat is not applied or B is unknown; None without flat_err."""
    if flat_err is None:
        return None
    rel = relative_flat_error(flat, flat_err, flat_dq)
    out = np.nan_to_num(np.asarray(background, np.float64) * rel) ** 2
    return out.astype(np.float32)


def relative_flat_error(
    flat: np.ndarray, flat_err: np.ndarray, flat_dq: np.ndarray | None = None
) -> np.ndarray:
    """(ny, nx) float32 flat_err / flat: zero where the flat is not applied (`usable_flat`)
    or its error is not finite."""
    f, bad = usable_flat(flat, flat_dq)
    return np.where(bad | ~np.isfinite(flat_err), 0.0, flat_err).astype(np.float32) / f
