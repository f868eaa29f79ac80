"""EmiCorr: remove the ~390 Hz electromagnetic-interference pattern and its harmonics.

MIRI reads pixels at known instants (FASTR1: 10 µs per pixel clock, four amplifiers reading
columns 4k…4k+3 together, ROWCLOCKS per row and FRAMECLOCKS per frame; the timing jwst's
emicorr uses).  EMI at frequency f adds a sin(2π f t) + b cos(2π f t) to every read.  For
each integration this module fits (a, b) per frequency by linear least squares, after
projecting out a per-pixel quadratic in group number (the ramp itself).  The same projection
is applied to the sinusoid basis, so the fit is unbiased however few groups there are, and
because the basis separates into (group time) × (position in the frame) the whole fit costs
one small matrix product per integration.  The fitted pattern is subtracted from every group.
Amplitude and phase are free per integration (jwst 'joint' fits per integration as well;
Bell et al. 2024 fit per integration on LRS TSOs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exolrs.dq import DO_NOT_USE, SATURATED

PIXEL_CLOCK_S = 10e-6
# (rowclocks, frameclocks) per subarray, FASTR1 (jwst emicorr's table).
SUBARRAY_CLOCKS = {"SLITLESSPRISM": (28, 15904), "SUB64": (28, 8512), "SUB128": (44, 11904)}


def frequency_list(fundamentals, n_harmonics: int) -> list[float]:
    """Every harmonic k·f (k = 1 … n_harmonics) of every fundamental, without repeats."""
    out: list[float] = []
    for f in fundamentals:
        for k in range(1, n_harmonics + 1):
            if not any(abs(k * f - g) < 1e-6 for g in out):
                out.append(k * f)
    return out


def read_times(ngroups: int, ny: int, nx: int, rowclocks: int, frameclocks: int):
    """Read time split in two: group part (ngroups,) and in-frame part (ny, nx), seconds."""
    tg = np.arange(ngroups) * frameclocks * PIXEL_CLOCK_S
    ty = np.arange(ny)[:, None] * rowclocks
    tx = (np.arange(nx) // 4)[None, :]
    return tg, (ty + tx) * PIXEL_CLOCK_S


def _projector(ngroups: int, use: np.ndarray, degree: int = 2) -> np.ndarray:
    """(ngroups, ngroups) projector removing a polynomial in group number over `use` groups;
    rows/columns of unused groups are zero."""
    g = np.flatnonzero(use).astype(np.float64)
    v = np.vander((g - g.mean()) / max(len(g), 1), degree + 1)
    p_use = np.eye(len(g)) - v @ np.linalg.pinv(v)
    p = np.zeros((ngroups, ngroups))
    p[np.ix_(use, use)] = p_use
    return p


def correct_emi(
    data: np.ndarray,
    groupdq: np.ndarray,
    frequencies=(390.625,),
    n_harmonics: int = 3,
    *,
    subarray: str = "SLITLESSPRISM",
    skip_groups: int = 0,
    clip_sigma: float = 5.0,
    inplace: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the fitted EMI from a block of raw ramps.

    Parameters
    ----------
    data : (n, ngroups, ny, nx) raw DN (not modified; a float32 result is returned).
    groupdq : group flags; saturated or DO_NOT_USE groups exclude a pixel from the fit.
    frequencies : fundamentals in Hz (from the EMICORR reference or the run file).
    n_harmonics : harmonics per fundamental, the fundamental included.
    subarray : sets the row and frame clocks.
    skip_groups : leading groups left out of the fit (reset anomaly); still corrected.
        Groups DO_NOT_USE for most pixels are left out as well.
    clip_sigma : pixels whose ramp residuals are this many times the median scatter (cosmic
        rays, hot pixels) are left out of the fit.
    inplace : correct a float32 `data` in place instead of a copy.

    Returns
    -------
    corrected data (float32) and the fitted amplitudes (n, nfreq) as complex a + i b.
    """
    n, ng, ny, nx = data.shape
    dnu_fraction = ((groupdq & DO_NOT_USE) != 0).mean(axis=(0, 2, 3))
    basis = emi_basis((ng, ny, nx), dnu_fraction, frequencies, n_harmonics, subarray, skip_groups)
    if basis is None:
        return data.astype(np.float32, copy=True), np.zeros((n, 0), complex)
    out = data if inplace and data.dtype == np.float32 else data.astype(np.float32)
    amps = np.zeros((n, basis.nf), complex)
    flagged = ((groupdq[:, basis.use] & (DO_NOT_USE | SATURATED)) != 0).any(axis=1)
    for i in range(n):
        d = out[i].reshape(ng, -1)
        z = basis.pu @ d  # (2nf, npix): Σ_g (P u)(g) d(g, p) — P idempotent, so data need no P
        # scatter of second differences flags pixels with jumps or hot behaviour
        second = np.diff(d[basis.first :], 2, axis=0)
        scatter = np.sqrt(np.mean(second * second, axis=0))
        left = emi_fit(basis, z, scatter, flagged[i].ravel(), clip_sigma)
        if left is None:
            continue
        amps[i] = left.amplitudes
        out[i] -= (left.pattern.T @ basis.v).reshape(ng, ny, nx).astype(np.float32)
    return out, amps


@dataclass
class EmiBasis:
    """The fit's fixed parts for one block: usable groups, projected group functions `pu`
    (2nf, ngroups), group functions `u` and pixel functions `v` (2nf, npix) of the
    separable sinusoid basis, and the index terms that assemble the normal equations."""

    nf: int
    use: np.ndarray
    first: int
    u: np.ndarray
    pu: np.ndarray
    v: np.ndarray
    gram_g: np.ndarray
    terms: np.ndarray


@dataclass
class EmiFit:
    amplitudes: np.ndarray  # (nf,) complex a + i b
    pattern: np.ndarray  # (2nf, ngroups): model(g, p) = Σ_a pattern[a, g] · v[a, p]


def emi_basis(
    shape, dnu_fraction, frequencies, n_harmonics, subarray, skip_groups
) -> EmiBasis | None:
    """The fixed parts of the EMI fit for ramps of `shape` (ngroups, ny, nx), given the
    fraction of pixels DO_NOT_USE in each group over the block; None when too few groups
    are usable for a fit."""
    ng, ny, nx = shape
    if subarray not in SUBARRAY_CLOCKS:
        raise ValueError(f"no EMI read timing for subarray {subarray}")
    if ng < 4:
        return None
    freqs = np.asarray(frequency_list(frequencies, n_harmonics))
    tg, tp = read_times(ng, ny, nx, *SUBARRAY_CLOCKS[subarray])
    use = np.zeros(ng, bool)
    use[min(skip_groups, ng - 4) :] = True
    # groups flagged for (nearly) every pixel, like MIRI's last group, stay out of the fit
    use &= np.asarray(dnu_fraction) < 0.5
    if use.sum() < 4:
        return None
    proj = _projector(ng, use)
    wg = 2 * np.pi * freqs[:, None] * tg[None]  # (nf, ng)
    wp = 2 * np.pi * freqs[:, None, None] * tp[None]  # (nf, ny, nx)
    u = np.concatenate([np.sin(wg), np.cos(wg)])  # (2nf, ng): sg…, cg…
    pu = u @ proj  # projected group functions (P symmetric)
    v = np.concatenate([np.cos(wp), np.sin(wp)]).reshape(2 * len(freqs), -1)  # cp…, sp…
    nf = len(freqs)
    # basis: sin(ω(tg+tp)) = sg·cp + cg·sp ; cos(ω(tg+tp)) = cg·cp − sg·sp
    # as (parameter, group function, pixel function, sign); parameters a_k then b_k
    k = np.arange(nf)
    terms = np.array(
        [
            *[(j, j, j, 1) for j in k],
            *[(j, nf + j, nf + j, 1) for j in k],
            *[(nf + j, nf + j, j, 1) for j in k],
            *[(nf + j, j, nf + j, -1) for j in k],
        ]
    )
    return EmiBasis(
        nf=nf,
        use=use,
        first=int(np.flatnonzero(use)[0]),
        u=u,
        pu=pu,
        v=v,
        gram_g=pu @ pu.T,  # (2nf, 2nf) Σ_g Pu_a Pu_b
        terms=terms,
    )


def emi_fit(
    basis: EmiBasis, z: np.ndarray, scatter: np.ndarray, flagged: np.ndarray, clip_sigma: float
) -> EmiFit | None:
    """Least-squares EMI amplitudes of one integration from its projections
    z = pu @ data (2nf, npix), the pixels' second-difference scatter (npix,) and the pixels
    flagged in a usable group (npix,); None when fewer than 100 pixels are fit to use."""
    nf = basis.nf
    good = ~flagged & np.isfinite(scatter)
    if good.sum() < 100:
        return None
    good &= scatter < clip_sigma * np.median(scatter[good])
    v = basis.v
    vw = v * good
    gram_p = vw @ v.T  # (2nf, 2nf) Σ_p w v_a v_b
    zv = z @ vw.T  # (2nf, 2nf): Σ_p w z_a(p) v_b(p)
    par, gfun, pfun, sign = basis.terms.T
    b = np.zeros(2 * nf)
    np.add.at(b, par, sign * zv[gfun, pfun])
    a = np.zeros((2 * nf, 2 * nf))
    np.add.at(
        a,
        (par[:, None], par[None, :]),
        np.outer(sign, sign) * basis.gram_g[np.ix_(gfun, gfun)] * gram_p[np.ix_(pfun, pfun)],
    )
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    amp_s, amp_c = coef[:nf], coef[nf:]
    # model(g, p) = Σ_k (a sg + b cg)(g) cp(p) + (a cg − b sg)(g) sp(p)
    gs, gc = basis.u[:nf], basis.u[nf:]
    pattern = np.concatenate(
        [amp_s[:, None] * gs + amp_c[:, None] * gc, amp_s[:, None] * gc - amp_c[:, None] * gs]
    )
    return EmiFit(amp_s + 1j * amp_c, pattern)
