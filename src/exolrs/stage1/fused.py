"""Stage 1's per-pixel work compiled into a few passes over a block of integrations (numba).

The step modules (saturation, emicorr, reset, linearity, dark, jump, ramp_fit) are the
readable reference implementations, used by the tutorial steps and by the tests; this module
does the same arithmetic, in the same precision and order, as compiled loops that each read
the block once and keep no block-sized temporaries:

1. `flag_saturation`: the stored int16 converted to DN, SATURATED from the first group at
   the level on, AD_FLOOR | DO_NOT_USE at 0 DN, and the count of DO_NOT_USE pixels per group
   (the EMI fit's usable groups);
2. `emi_sums`, per integration: the EMI fit's projections z = pu @ data, each pixel's
   second-difference scatter and whether a usable group is flagged — the small least-squares
   solve itself is `emicorr.emi_fit`, shared with the reference;
3. `correct`: EMI pattern, reset, linearity (Horner, float32) and dark in one pass;
4. `flag_jumps_in_time`: group differences and their median over the time window, computed
   on the fly;
5. `fit_ramps`: the one-segment OLS of `ramp_fit` per pixel (its median first difference
   from a comparator network run on 128 pixels at once); ramps that are not one clean
   segment still go to stcal, as in `ramp_fit`.

First measured on a full-size chunk (16 + 8 halo integrations × 100 groups, one process):
4–5× faster than the step modules (benchmarks/bench_stage1_floor.py times whole runs).  The loops
are written so that LLVM compiles them to SIMD: no branch inside a pixel loop (selects and
`|`/`&` on flags instead), no loop over a run-time count inside one, loops that start at 0
on slices, and no in-place swap of two rows that might alias — each of these cost 2–5× on
its pass (2026-12-02; CPU seconds by step in docs/benchmarks.md, "Stage 1 over the read floor").

A block's results equal the reference path's to float32 rounding (tests/stage1/test_fused.py):
sums that numpy hands to BLAS are summed here in another order, in the same float64.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from exolrs.dq import AD_FLOOR, DO_NOT_USE, JUMP_DET, SATURATED
from exolrs.stage1 import jump, ramp_fit
from exolrs.stage1.dark import integration_planes
from exolrs.stats import neighbour_start

_DNU = np.uint8(DO_NOT_USE)
_SAT = np.uint8(SATURATED)
_FLOOR = np.uint8(AD_FLOOR | DO_NOT_USE)
_JUMP = np.uint8(JUMP_DET)
_DNU_SAT = np.uint8(DO_NOT_USE | SATURATED)
_BAD_FIT = np.uint8(DO_NOT_USE | SATURATED | JUMP_DET)

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _saturate(data, gdq, level, raw):
    # branch-free uint8 arithmetic so that the loop compiles to SIMD (3× faster than the
    # boolean `or` / conditional-expression form: 3.3 → 1.1 ns per group and pixel)
    n, ng, npix = data.shape
    dnu = np.zeros(ng, np.int64)
    sat = np.zeros(npix, np.uint8)
    convert = raw.shape[0] > 0
    for i in range(n):
        sat[:] = 0
        for g in range(ng):
            d = data[i, g]
            q = gdq[i, g]
            if convert:  # stored big-endian int16 + 32768: the uint16 DN with its bytes swapped
                r = raw[i, g]
                for p in range(npix):
                    u = r[p]
                    d[p] = np.float32(
                        np.uint16((u >> np.uint16(8)) | (u << np.uint16(8))) ^ np.uint16(0x8000)
                    )
            lv = level
            cnt = 0
            for p in range(npix):
                v = d[p]
                s = sat[p] | np.uint8(v >= lv[p])
                sat[p] = s
                f = q[p] | (s * _SAT) | (np.uint8(v <= 0) * _FLOOR)
                q[p] = f
                cnt += f & _DNU
            dnu[g] += cnt
    return dnu


def flag_saturation(
    data: np.ndarray, gdq: np.ndarray, level: np.ndarray, *, out: np.ndarray | None = None
) -> tuple:
    """Flag saturated and A/D-floor groups of (n, ngroups, ny, nx) raw DN in `gdq` in place
    (as `saturation.flag_saturation`, levels from `saturation.saturation_levels`).

    `data` is float32 DN, or the uncal's stored big-endian int16 (`read_integrations_raw`),
    converted to DN in the same pass (into `out`, float32 of data's shape, when given).
    Returns the float32 DN and the fraction of pixels DO_NOT_USE in each group over the
    block (ngroups,)."""
    n = data.shape[0]
    if data.dtype == np.float32:
        dn, raw = data, np.zeros((0, 0, 0), np.uint16)
    elif data.dtype == np.dtype(">i2") and np.little_endian:  # the kernel swaps the bytes
        dn = np.empty(data.shape, np.float32) if out is None else out
        if dn.shape != data.shape or dn.dtype != np.float32 or not dn.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float32 array of shape {data.shape}")
        raw = _flat(data.view(np.uint16))
    elif data.dtype == np.dtype(">i2"):
        dn, raw = data.astype(np.float32) + np.float32(32768.0), np.zeros((0, 0, 0), np.uint16)
    else:
        raise TypeError(f"raw DN must be float32 or big-endian int16, not {data.dtype}")
    lv = np.ascontiguousarray(level, np.float32).ravel()
    dnu = _saturate(_flat(dn), _flat(gdq), lv, raw)
    return dn, dnu / (n * data[0, 0].size)


@_jit
def _emi_sums(d, q, pu, use, first):
    ng, npix = d.shape
    na = pu.shape[0]
    z = np.zeros((na, npix))
    ss = np.zeros(npix, np.float32)
    flagged = np.zeros(npix, np.uint8)
    for g in range(ng):
        row = d[g]
        if use[g]:  # pu is zero on the other groups
            for a in range(0, na - 1, 2):  # two sums a pass: each row read half as often
                c0, c1 = pu[a, g], pu[a + 1, g]
                z0, z1 = z[a], z[a + 1]
                for p in range(npix):
                    x = np.float64(row[p])
                    z0[p] += c0 * x
                    z1[p] += c1 * x
            if na % 2:
                c0, z0 = pu[na - 1, g], z[na - 1]
                for p in range(npix):
                    z0[p] += c0 * np.float64(row[p])
            qg = q[g]
            for p in range(npix):
                flagged[p] |= qg[p] & _DNU_SAT  # no branch: SIMD
        if g >= first + 2:
            r0, r1 = d[g - 2], d[g - 1]
            for p in range(npix):
                s = (row[p] - r1[p]) - (r1[p] - r0[p])
                ss[p] += s * s
    m = np.float32(ng - first - 2)
    scatter = np.sqrt(ss / m)
    return z, scatter, flagged != 0


def emi_sums(data_i: np.ndarray, gdq_i: np.ndarray, basis) -> tuple:
    """For one integration (ngroups, ny, nx): z = basis.pu @ data (2nf, npix) in float64,
    the RMS second difference of each pixel from the first usable group on (float32), and
    whether any usable group of the pixel is DO_NOT_USE or SATURATED — the inputs of
    `emicorr.emi_fit`."""
    ng = data_i.shape[0]
    return _emi_sums(
        data_i.reshape(ng, -1),
        gdq_i.reshape(ng, -1),
        np.ascontiguousarray(basis.pu),
        basis.use,
        basis.first,
    )


@_jit
def _correct(data, gdq, emi, v, reset, reset_k, dark, dark_k, coeffs):
    n, ng, npix = data.shape
    na = emi.shape[1]
    ngr = reset.shape[1]
    has_dark = dark.shape[0] > 0
    # linearity polynomial padded with leading zeros to a fixed degree: Horner's steps
    # 0·x + c are exact, so the result is the same, and the fixed length lets the pixel
    # loop below compile to SIMD (a loop over the coefficients inside it does not: 5×)
    nc = coeffs.shape[0]
    c = np.zeros((_NC_MAX, npix), np.float32)
    c[_NC_MAX - nc :] = coeffs[::-1]  # c[k]: highest power first
    c0, c1, c2, c3, c4, c5 = c[0], c[1], c[2], c[3], c[4], c[5]
    # every term is applied to every pixel (zeros where a correction is off): a branch
    # inside the pixel loop keeps it from compiling to SIMD (measured 4×)
    tile = 4096  # over the groups, a tile's coefficients and EMI functions stay in L2
    model = np.zeros(tile)
    zeros = np.zeros(npix, np.float32)
    for i in range(n):
        for p0 in range(0, npix, tile):
            p1 = min(p0 + tile, npix)
            w = p1 - p0
            # slices indexed from 0: a loop from p0 keeps numba's negative-index check,
            # which stops SIMD
            k0, k1, k2 = c0[p0:p1], c1[p0:p1], c2[p0:p1]
            k3, k4, k5 = c3[p0:p1], c4[p0:p1], c5[p0:p1]
            for g in range(ng):
                d = data[i, g, p0:p1]
                q = gdq[i, g, p0:p1]
                rr = reset[reset_k[i], g, p0:p1] if g < ngr else zeros[p0:p1]
                dd = dark[dark_k[i], g, p0:p1] if has_dark else zeros[p0:p1]
                # EMI: float64 pattern, rounded to float32 and subtracted (the terms two
                # at a time: half the passes over the model)
                model[:w] = 0.0
                for a in range(0, na - 1, 2):
                    ca, cb = emi[i, a, g], emi[i, a + 1, g]
                    va, vb = v[a, p0:p1], v[a + 1, p0:p1]
                    for p in range(w):
                        model[p] = model[p] + ca * va[p] + cb * vb[p]
                if na % 2:
                    ca, va = emi[i, na - 1, g], v[na - 1, p0:p1]
                    for p in range(w):
                        model[p] += ca * va[p]
                for p in range(w):
                    x = d[p] - np.float32(model[p])
                    r = rr[p]
                    x = x - r if r == r else x  # NaN in the reset reference counts as zero
                    y = k0[p]
                    y = y * x + k1[p]
                    y = y * x + k2[p]
                    y = y * x + k3[p]
                    y = y * x + k4[p]
                    y = y * x + k5[p]
                    x = x if q[p] & _SAT else y  # saturated groups are not linearised
                    d[p] = x - dd[p]


_NC_MAX = 6  # linearity coefficients the compiled pass takes (MIRI's references have ≤ 5)


def correct(
    data: np.ndarray,
    gdq: np.ndarray,
    int_start: int,
    *,
    emi_patterns: np.ndarray | None,
    emi_v: np.ndarray | None,
    reset: np.ndarray | None,
    coeffs: np.ndarray,
    dark: np.ndarray | None,
) -> None:
    """EMI, reset, linearity and dark of a block (n, ngroups, ny, nx) float32, in place.

    emi_patterns : (n, 2nf, ngroups) fitted patterns (zeros for integrations not fitted) and
        emi_v (2nf, npix) the pixel functions (`emicorr.EmiFit.pattern`, `EmiBasis.v`), or
        None for no EMI correction.
    reset, dark : per-integration references (nints_ref, ngroups_ref, ny, nx) or None.
    coeffs : (ncoeffs, ny, nx) float32 from `linearity.linearity_coefficients`; saturated
        groups are not corrected.
    """
    n, ng = data.shape[:2]
    npix = data[0, 0].size
    if emi_patterns is None:
        emi_patterns, emi_v = np.zeros((n, 0, ng)), np.zeros((0, npix))
    if reset is None or not np.any(reset):
        reset = np.zeros((1, 0, 1, 1), np.float32)
    else:
        reset = np.ascontiguousarray(reset[:, :ng], np.float32)
    if coeffs.shape[0] > _NC_MAX:
        raise ValueError(f"at most {_NC_MAX} linearity coefficients, got {coeffs.shape[0]}")
    if dark is None:
        dark = np.zeros((0, 0, 1, 1), np.float32)
    elif dark.shape[1] < ng:
        raise ValueError(f"dark has {dark.shape[1]} groups, data {ng}")
    _correct(
        _flat(data),
        _flat(gdq),
        np.ascontiguousarray(emi_patterns, np.float64),
        np.ascontiguousarray(emi_v, np.float64),
        _flat(reset),
        integration_planes(reset, int_start, n) if reset.shape[1] else np.zeros(n, np.int64),
        _flat(np.ascontiguousarray(dark[:, :ng], np.float32)),
        integration_planes(dark, int_start, n) if dark.shape[0] else np.zeros(n, np.int64),
        _flat(np.ascontiguousarray(coeffs, np.float32)),
    )


@numba.njit(inline="always")
def _min(a, b):
    """np.minimum: a NaN in either is the result (`|`, not `or`: no branch, so SIMD)."""
    return a if (a <= b) | (a != a) else b


@numba.njit(inline="always")
def _max(a, b):
    """np.maximum: a NaN in either is the result."""
    return a if (a >= b) | (a != a) else b


@_jit
def _time_jumps(data, gdq, idx, first, window, rn2, inv_gain, inflate, thr2, big2, nx, disc):
    ng, npix = data.shape[1:]
    n = data.shape[0]
    lo, hi = first.min(), first.max() + window  # the block's integrations the windows use
    diffs = np.empty((n, npix), np.float32)
    med = np.empty(npix, np.float32)
    zero = np.float32(0.0)
    for g in range(1, ng):
        for k in range(lo, hi):
            cur, prev, dk = data[k, g], data[k, g - 1], diffs[k]
            for p in range(npix):
                dk[p] = cur[p] - prev[p]
        for j in range(idx.size):
            i = idx[j]
            a0 = first[j]
            # median over the window: min/max networks for 3 and 5 (as
            # stats.median_of_window), else a sort
            if window == 5:
                d0, d1, d2, d3, d4 = (
                    diffs[a0],
                    diffs[a0 + 1],
                    diffs[a0 + 2],
                    diffs[a0 + 3],
                    diffs[a0 + 4],
                )
                for p in range(npix):
                    a, b, c, d, e = d0[p], d1[p], d2[p], d3[p], d4[p]
                    f = _max(_min(a, b), _min(c, d))
                    h = _min(_max(a, b), _max(c, d))
                    med[p] = _max(_min(e, f), _min(_max(e, f), h))
            elif window == 3:
                d0, d1, d2 = diffs[a0], diffs[a0 + 1], diffs[a0 + 2]
                for p in range(npix):
                    a, b, c = d0[p], d1[p], d2[p]
                    med[p] = _max(_min(a, b), _min(_max(a, b), c))
            else:
                for p in range(npix):
                    med[p] = np.sort(diffs[a0 : a0 + window, p])[window // 2]
            di = diffs[i]
            qi, qp = gdq[i, g], gdq[i, g - 1]
            n_large = 0
            for p in range(npix):
                m = med[p]
                var = (rn2[p] + (zero if m < zero else m) * inv_gain[p]) * inflate
                dev = abs(di[p] - m)
                hit = (dev * dev > thr2 * var) & (((qi[p] | qp[p]) & _DNU_SAT) == 0)
                qi[p] = qi[p] | (_JUMP * np.uint8(hit))
                n_large += np.int64(hit & (dev * dev > big2 * var))  # no branch: SIMD
            if n_large:  # rare: find the large events again and flag their surroundings
                _expand_large(di, med, qi, qp, rn2, inv_gain, inflate, thr2, big2, nx, disc)


@_jit
def _expand_large(di, med, qi, qp, rn2, inv_gain, inflate, thr2, big2, nx, disc):
    """Flag JUMP_DET (where not DO_NOT_USE or SATURATED) within the `disc` offsets of every
    pixel of this group whose jump exceeds the large-event threshold (`_time_jumps` has
    flagged the group itself)."""
    npix = di.size
    ny = npix // nx
    zero = np.float32(0.0)
    large = np.empty(npix, np.bool_)
    for p in range(npix):  # decided before any flag changes, as the numpy reference does
        m = med[p]
        var = (rn2[p] + (zero if m < zero else m) * inv_gain[p]) * inflate
        dev = abs(di[p] - m)
        usable = ((qi[p] | qp[p]) & _DNU_SAT) == 0
        large[p] = usable and dev * dev > thr2 * var and dev * dev > big2 * var
    for p in range(npix):
        if not large[p]:
            continue
        y, x = p // nx, p % nx
        for k in range(disc.shape[0]):
            yy, xx = y + disc[k, 0], x + disc[k, 1]
            if 0 <= yy < ny and 0 <= xx < nx:
                pp = yy * nx + xx
                if ((qi[pp] | qp[pp]) & _DNU_SAT) == 0:
                    qi[pp] |= _JUMP


def flag_jumps_in_time(
    data: np.ndarray,
    gdq: np.ndarray,
    readnoise: np.ndarray,
    gain: np.ndarray,
    *,
    threshold: float,
    window: int,
    int_start: int,
    nints_total: int,
    core: slice,
    shower_sigma: float | None = None,
    shower_radius: float = 4.0,
) -> None:
    """`jump.flag_jumps_in_time` on a block, flagging `gdq[core]` in place."""
    n, ng = data.shape[:2]
    if window < 3 or window % 2 == 0:
        raise ValueError(f"time_window must be odd and ≥ 3, got {window}")
    idx = np.arange(n)[core]
    if nints_total < window or ng < 2:
        import logging

        logging.getLogger(__name__).warning(
            "time-domain jump detection needs ≥ %d integrations; skipped", window
        )
        return
    first = neighbour_start(idx + int_start, window, nints_total) - int_start
    if first.min() < 0 or first.max() + window > n:
        raise ValueError("block lacks the halo the time window needs (see time_halo)")
    rn2 = readnoise.astype(np.float32) ** 2
    inv_gain = 1.0 / np.where(gain > 0, gain, np.inf).astype(np.float32)
    inflate = np.float32(1.0 + jump._MEDIAN_VAR.get(window, np.pi / (2 * window)))
    _time_jumps(
        _flat(data),
        _flat(gdq),
        idx.astype(np.int64),
        first.astype(np.int64),
        window,
        rn2.ravel(),
        inv_gain.ravel(),
        inflate,
        np.float32(threshold * threshold),
        np.float32(np.inf if shower_sigma is None else shower_sigma * shower_sigma),
        data.shape[-1],
        jump.disc_offsets(shower_radius),
    )


@_jit
def _pattern(q):
    """Per-group median over pixels of uint8 flags (np.median, cast to uint8)."""
    ng, npix = q.shape
    out = np.empty(ng, np.uint8)
    hist = np.empty(256, np.int64)
    part = np.empty((8, 256), np.int32)
    k0, k1 = (npix - 1) // 2, npix // 2
    for g in range(ng):
        row = q[g]
        # most groups: the previous group's median (or the first pixel's flags) is the
        # median, which two counts check (SIMD) without a histogram (12× faster)
        v = out[g - 1] if g else row[0]
        below = 0
        upto = 0
        for p in range(npix):
            below += row[p] < v
            upto += row[p] <= v
        if below <= k0 and upto > k1:
            out[g] = v
            continue
        # eight histograms filled in turn: most pixels share one value, and one histogram
        # would make every increment wait for the previous one (measured 5× slower)
        part[:] = 0
        stop = npix - npix % 8
        for p in range(0, stop, 8):
            for j in range(8):
                part[j, row[p + j]] += 1
        for p in range(stop, npix):
            part[0, row[p]] += 1
        for b in range(256):
            hist[b] = part[:, b].sum()
        v0 = v1 = -1
        c = 0
        for b in range(256):
            c += hist[b]
            if v0 < 0 and c > k0:
                v0 = b
            if c > k1:
                v1 = b
                break
        out[g] = np.uint8((v0 + v1) // 2)
    return out


@_jit
def _fast_pixels(q, pattern, pixeldq, gain, readnoise):
    ng, npix = q.shape
    fast = np.empty(npix, np.bool_)
    for p in range(npix):
        g_ = gain[p]
        fast[p] = pixeldq[p] == 0 and np.isfinite(g_) and g_ > 0 and np.isfinite(readnoise[p])
    for g in range(ng):
        pg = pattern[g]
        row = q[g]
        for p in range(npix):
            fast[p] = fast[p] & (row[p] == pg)  # no branch: SIMD
    return np.flatnonzero(fast)


@_jit
def _fit_fast(y, fast, gain, readnoise, avg_dark, coeffs, edges, group_time, net, out):
    """One-segment OLS of `ramp_fit._fit_integration`'s vectorised path for the `fast`
    pixels, y (n, npix) float32 the usable groups; `out` the planes (npix,) float32 slope,
    var_poisson, var_rnoise and err, written at the fast pixels only.  Pixels go in tiles
    of 128; the median first difference of a tile's pixels comes from the comparator
    network `net` (`median_network`), run on all of them at once (branch-free,
    vectorised), or from a sort for a pixel with a NaN difference."""
    n, npix = y.shape
    slope, var_poisson, var_rnoise, err = out
    m = n - 1
    k0, k1 = (m - 1) // 2, m // 2
    tile = 128
    diffs = np.empty((m, tile), np.float32)
    lo_t = np.empty(tile, np.float32)
    hi_t = np.empty(tile, np.float32)
    s = np.empty(tile)
    npow = coeffs.shape[0]
    pick = np.empty(tile, np.int64)
    nan = np.empty(tile, np.bool_)
    for p0 in range(0, npix, tile):
        p1 = min(p0 + tile, npix)
        w = p1 - p0
        # weights by signal-to-noise, then the slope as one weighted sum of the reads
        for p in range(p0, p1):
            g = np.float64(gain[p])
            rn_e = np.float64(readnoise[p]) * g / np.sqrt(2.0)
            signal = (np.float64(y[n - 1, p]) - np.float64(y[0, p])) * g
            den = rn_e**2 + signal
            snr = signal / np.sqrt(den) if den > 0 else 0.0
            k = 0
            while k < npow - 1 and edges[k] <= snr:
                k += 1
            pick[p - p0] = k
        s[:] = 0.0
        for t in range(n):
            row = y[t]
            for p in range(p0, p1):
                s[p - p0] += coeffs[pick[p - p0], t] * np.float64(row[p])
        nan[:] = False
        for t in range(m):
            lo_, hi_, d = y[t], y[t + 1], diffs[t]
            for p in range(p0, p1):
                x = hi_[p] - lo_[p]
                d[p - p0] = x
                nan[p - p0] |= x != x
        for c in range(net.shape[0]):
            # through separate temporaries: LLVM vectorises this, not the in-place swap
            # of two rows that might alias (the network is 3× faster so)
            di, dj = diffs[net[c, 0]], diffs[net[c, 1]]
            for q in range(w):
                a, b = di[q], dj[q]
                lo_t[q] = a if a < b else b
                hi_t[q] = b if a < b else a
            for q in range(w):
                di[q] = lo_t[q]
                dj[q] = hi_t[q]
        for p in range(p0, p1):
            if not fast[p]:
                continue
            q = p - p0
            lo, hi = diffs[k0, q], diffs[k1, q]
            if nan[q]:
                lo, hi = _nan_median_pair(y[:, p], k0, k1)
            g = np.float64(gain[p])
            rn_e = np.float64(readnoise[p]) * g / np.sqrt(2.0)
            median_rate = 0.5 * (np.float64(lo) + np.float64(hi)) / group_time
            var_r = 12.0 * (rn_e / group_time) ** 2 / ((n**3 - n) * g**2)
            rate = median_rate if median_rate > 0 else 0.0
            var_p = (rate + np.float64(avg_dark[p])) / (group_time * g * m)
            slope[p] = s[q] / group_time
            var_poisson[p] = var_p
            var_rnoise[p] = var_r
            err[p] = np.sqrt(var_p + var_r)


@_jit
def _nan_median_pair(r, k0, k1):
    """Order statistics k0, k1 of a ramp's first differences as np.partition orders them
    (NaN last): the rare pixel whose network result may be wrong."""
    d = np.sort(r[1:] - r[:-1])
    return d[k0], d[k1]


def median_network(m: int) -> np.ndarray:
    """Comparators (i, j), i < j, that put the (m−1)//2-th and m//2-th smallest of m values
    in those places: Batcher's odd–even merge sort padded to a power of two with +∞ (so
    comparators reaching the padding do nothing), pruned backwards to the comparators the
    two middle places depend on."""
    size = 1
    while size < m:
        size *= 2
    pairs = []

    def merge(lo, n, r):
        step = r * 2
        if step < n:
            merge(lo, n, step)
            merge(lo + r, n, step)
            pairs.extend((i, i + r) for i in range(lo + r, lo + n - r, step))
        else:
            pairs.append((lo, lo + r))

    def sort(lo, n):
        if n > 1:
            h = n // 2
            sort(lo, h)
            sort(lo + h, h)
            merge(lo, n, 1)

    sort(0, size)
    pairs = [(i, j) for i, j in pairs if j < m]
    need = {(m - 1) // 2, m // 2}
    kept = []
    for i, j in reversed(pairs):
        if i in need or j in need:
            kept.append((i, j))
            need |= {i, j}
    return np.array(kept[::-1], np.int64).reshape(-1, 2)


@functools.lru_cache(maxsize=8)
def _slope_coefficients(n: int) -> np.ndarray:
    """(6, n) weights of stcal's six optimal-weighting exponents (as in ramp_fit), made
    once per ramp length (read only: callers share it)."""
    x = np.arange(n, dtype=np.float64)
    mid = (n - 1) / 2.0
    out = []
    for p in ramp_fit._POWERS:
        w = np.abs((x - mid) / mid) ** p
        sw, sx, sxx = w.sum(), (w * x).sum(), (w * x * x).sum()
        out.append((sw * x - sx) * w / (sw * sxx - sx * sx))
    out = np.asarray(out)
    out.flags.writeable = False
    return out


def fit_ramps(
    data: np.ndarray,
    groupdq: np.ndarray,
    pixeldq: np.ndarray,
    readnoise: np.ndarray,
    gain: np.ndarray,
    group_time: float,
    avg_dark: np.ndarray | None = None,
) -> ramp_fit.RampFitResult:
    """`ramp_fit.fit_ramps` with its one-segment path compiled; other ramps go to stcal."""
    n, ng, ny, nx = data.shape
    npix = ny * nx
    if avg_dark is None:
        avg_dark = np.zeros(pixeldq.shape, np.float32)
    avg_dark = np.ascontiguousarray(avg_dark, dtype=np.float32)
    rn = np.ascontiguousarray(readnoise, np.float32).ravel()
    gn = np.ascontiguousarray(gain, np.float32).ravel()
    pdq = np.ascontiguousarray(pixeldq, np.uint32).ravel()
    edges = np.asarray(ramp_fit._SNR_EDGES, np.float64)
    fields = ramp_fit.RampFitResult.__annotations__
    res = ramp_fit.RampFitResult(
        slope=np.full((n, ny, nx), np.nan, np.float32),
        err=np.zeros((n, ny, nx), np.float32),
        dq=np.zeros((n, ny, nx), np.uint32),
        var_poisson=np.zeros((n, ny, nx), np.float32),
        var_rnoise=np.zeros((n, ny, nx), np.float32),
    )
    pending = []  # (integration, pixels) that stcal fits after the loop
    for i in range(n):
        q = groupdq[i].reshape(ng, npix)
        pattern = _pattern(q)
        used = np.flatnonzero((pattern & _BAD_FIT) == 0)
        contiguous = used.size >= 3 and used[-1] - used[0] + 1 == used.size
        if not contiguous or (pattern[used[1:]] & JUMP_DET).any():
            one = ramp_fit._fit_one(
                data[i : i + 1],
                groupdq[i : i + 1],
                pixeldq,
                readnoise,
                gain,
                group_time,
                None,
                avg_dark,
            )
            for f in fields:
                getattr(res, f)[i] = getattr(one, f)[0]
            continue
        idx = _fast_pixels(q, pattern, pdq, gn, rn)
        if idx.size:
            fast = np.zeros(npix, bool)
            fast[idx] = True
            _fit_fast(
                data[i].reshape(ng, npix)[used[0] : used[-1] + 1],
                fast,
                gn,
                rn,
                avg_dark.ravel(),
                _slope_coefficients(used.size),
                edges,
                float(group_time),
                _network(used.size - 1),
                # straight into the result's planes (views), not scattered from a copy
                (
                    res.slope[i].reshape(npix),
                    res.var_poisson[i].reshape(npix),
                    res.var_rnoise[i].reshape(npix),
                    res.err[i].reshape(npix),
                ),
            )
        rest = np.ones(npix, bool)
        rest[idx] = False
        rest = np.flatnonzero(rest)
        if rest.size:
            pending.append((i, rest))
    _fit_rest(data, groupdq, pdq, rn, gn, avg_dark.ravel(), group_time, pending, res)
    return res


def _fit_rest(data, groupdq, pdq, rn, gn, avg_dark, group_time, pending, res) -> None:
    """stcal on the pixels the compiled path leaves (jumps, saturation, flags): those of
    every integration of the chunk side by side as the pixels of one integration, one call.
    stcal fits each pixel of an integration on its own (its median rate too, which with one
    integration per call is the pixel's own), so the results equal a call per integration
    (tests/stage1/test_fused.py); measured: 300 such pixels cost 4.8 ms a call, the call
    itself ≈ 1 ms, so the chunk's 16 calls become one."""
    if not pending:
        return
    n, ng = data.shape[:2]
    npix = data.shape[2] * data.shape[3]
    ints = np.concatenate([np.full(rest.size, i) for i, rest in pending])
    pix = np.concatenate([rest for _, rest in pending])
    flat_data = data.reshape(n, ng, npix)
    flat_dq = groupdq.reshape(n, ng, npix)
    sub = ramp_fit._fit_one(
        flat_data[ints, :, pix].T.reshape(1, ng, 1, pix.size),
        flat_dq[ints, :, pix].T.reshape(1, ng, 1, pix.size),
        pdq[pix].reshape(1, -1),
        rn[pix].reshape(1, -1),
        gn[pix].reshape(1, -1),
        group_time,
        None,
        avg_dark[pix].reshape(1, -1),
    )
    for f in ramp_fit.RampFitResult.__annotations__:
        getattr(res, f).reshape(n, npix)[ints, pix] = getattr(sub, f).ravel()


@functools.lru_cache(maxsize=8)
def _network(m: int) -> np.ndarray:
    return median_network(m)


def _flat(a: np.ndarray) -> np.ndarray:
    """(…, ny, nx) → (…, ny·nx) view of a C-contiguous array."""
    if not a.flags.c_contiguous:
        raise ValueError("fused kernels need C-contiguous blocks")
    return a.reshape(*a.shape[:-2], a.shape[-2] * a.shape[-1])
