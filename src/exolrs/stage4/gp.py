"""Red noise as a Gaussian process: an exponential (Ornstein–Uhlenbeck, continuous AR(1))
kernel on top of the propagated errors, for ensembles of walkers at once.

    C = s² [diag(σ²) + ρ² σ̄² exp(−|tᵢ − tⱼ| / τ)]

σ the propagated errors, σ̄ their median, ρ the red amplitude relative to them and τ its
time scale; s is the noise scale `model.py` integrates out.  ln ρ and ln τ are sampled with
the transit (uniform priors: log-uniform in ρ and τ), so the depth errors include what the
data leave open about the red noise (in a grid prototype of the pull test, fixing ρ, τ at their
maximum-likelihood values left the depth errors 10–40 % too small under red noise).

The kernel is one celerite term (Foreman-Mackey et al. 2017): C = L D Lᵀ with L unit lower
triangular and semiseparable, so the factorisation, the solve of L z = x and with it every
inner product xᵀC⁻¹y and ln det C cost O(n).  `whitened_gram` runs that recursion for a batch
of walkers, each with its own ρ, τ and design, in one compiled loop.  celerite2 is the
oracle in tests/stage4/test_gp.py; measured reason for not calling it per walker: a
channel's walker needs celerite2's `compute` and `apply_inverse`, 185–240 µs for 1 779 points
and five vectors (call overhead and the upper solve this likelihood does not need), against
≈ 30 µs a walker here in a batch of 200, and a full-size reduction with red residuals makes
≈ 10⁶ such evaluations.
"""

from __future__ import annotations

import numba
import numpy as np

NAMES = ("ln_gp_amp", "ln_gp_tau")
AMP_RANGE = (0.01, 100.0)  # red rms / median propagated error
# τ from ¾ of the ingress (or egress) duration to 5 × the observation's span.  Red noise much
# faster than the ingress averages out in a depth like white noise, and the noise scale s
# absorbs it; from shorter τ the single exponential split between the fast and the slow parts
# of 1/f-like noise and under-weighted the slow part that moves a depth.  The fraction was
# chosen by the pull test (benchmarks/pulls.py, 100 light curves each, ingress 52 cadences):
# pull standard deviation under white + 1/f noise 1.41 with τ from 10 cadences, 1.33 from
# ingress/3, 1.18 from ingress/2, 1.03 from ¾ ingress; under white + AR(1) 1.04, 1.01, 0.93.
INGRESS_FRACTION = 0.75
LONGEST = 5.0
# `red_noise: auto` keeps the GP only when it raises the likelihood by this much over white
# noise (ln L at the best of its start grid); for white noise, 2 Δln L ~ χ²₂: 0.7 % above 5
AUTO_GAIN = 5.0


def prior_grid(bounds: dict[str, tuple[float, float]], cells: int):
    """(cells², 2) centres of a cells × cells grid over the prior box of ln ρ, ln τ in
    `bounds`, and the cell size (2,)."""
    lo, hi = np.array([bounds[n] for n in NAMES]).T
    size = (hi - lo) / cells
    axes = [a + size[j] * (np.arange(cells) + 0.5) for j, a in enumerate(lo)]
    return np.stack(np.meshgrid(*axes), axis=-1).reshape(-1, 2), size


def ingress_duration(period: float, a: float, b: float, rp: float) -> float:
    """Ingress (= egress) duration (days) of a circular orbit: (T14 − T23)/2, or T14/2 for a
    grazing transit (Winn 2010, eqs. 14–15 in the small-angle form)."""
    t14 = period / np.pi * np.sqrt(max((1 + rp) ** 2 - b * b, 0.0)) / a
    inner = (1 - rp) ** 2 - b * b
    t23 = period / np.pi * np.sqrt(inner) / a if inner > 0 else 0.0
    return 0.5 * (t14 - t23)


def bounds(t: np.ndarray, ingress: float) -> dict[str, tuple[float, float]]:
    """Log-uniform prior ranges of ρ and τ for a light curve sampled at times `t` (days) with
    a transit whose ingress lasts `ingress` days."""
    cadence = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    span = float(t[-1] - t[0]) if t.size > 1 else 1.0
    shortest = max(INGRESS_FRACTION * ingress, 2 * cadence)
    return {
        NAMES[0]: (float(np.log(AMP_RANGE[0])), float(np.log(AMP_RANGE[1]))),
        NAMES[1]: (float(np.log(shortest)), float(np.log(max(LONGEST * span, 2 * shortest)))),
    }


@numba.njit(cache=True, nogil=True, fastmath=True)
def _gram(t, var, flux, channel, transit, columns, amp2, rate, gram, logdet):  # pragma: no cover
    # walkers innermost (contiguous): the compiler runs them in SIMD lanes; the design
    # column j of walker b at time i is transit[i, b] · columns[i, j, b or 0]
    n, nb = transit.shape
    k = columns.shape[1]
    per_walker = columns.shape[2] > 1
    m = k + 1
    f = np.zeros((m, nb))
    z = np.zeros((m, nb))
    s = np.zeros(nb)
    d = np.ones(nb)
    w = np.zeros(nb)
    inv = np.empty(nb)
    p = np.ones(nb)
    prod = np.ones(nb)
    gram[:] = 0.0
    logdet[:] = 0.0
    step = -1.0
    for i in range(n):
        if i > 0:
            if t[i] - t[i - 1] != step:  # a regular cadence needs one exp per walker
                step = t[i] - t[i - 1]
                for b in range(nb):
                    p[b] = np.exp(-rate[b] * step)
            for b in range(nb):
                s[b] = p[b] * p[b] * (s[b] + d[b] * w[b] * w[b])
            for j in range(m):
                for b in range(nb):
                    f[j, b] = p[b] * (f[j, b] + w[b] * z[j, b])
        for b in range(nb):
            v = var[i, channel[b]]
            d[b] = v + amp2[b] - amp2[b] * amp2[b] * s[b]
            w[b] = (1.0 - amp2[b] * s[b]) / d[b]
            inv[b] = 1.0 / d[b]
            prod[b] *= d[b] / v  # in [1, 1 + amp2/var]: a log every 16 points
        for j in range(k):
            if per_walker:
                for b in range(nb):
                    z[j, b] = transit[i, b] * columns[i, j, b] - amp2[b] * f[j, b]
            else:
                c = columns[i, j, 0]
                for b in range(nb):
                    z[j, b] = transit[i, b] * c - amp2[b] * f[j, b]
        for b in range(nb):
            z[k, b] = flux[i, channel[b]] - amp2[b] * f[k, b]
        for j in range(m):
            for q in range(j + 1):
                for b in range(nb):
                    gram[j, q, b] += z[j, b] * z[q, b] * inv[b]
        if i % 16 == 15 or i == n - 1:
            for b in range(nb):
                logdet[b] += np.log(prod[b])
                prod[b] = 1.0
    for j in range(m):
        for q in range(j):
            for b in range(nb):
                gram[q, j, b] = gram[j, q, b]


def whitened_gram(
    t: np.ndarray,
    var: np.ndarray,
    flux: np.ndarray,
    channel: np.ndarray,
    transit: np.ndarray,
    columns: np.ndarray,
    amp2: np.ndarray,
    tau: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For B walkers, each with the covariance C = diag(var) + amp2 · exp(−|Δt|/τ): the Gram
    matrix xᵀC⁻¹y of its design columns transit ⊙ columns_j and its flux (last), and ln det C.

    var, flux (n, L): L light curves; channel (B,): each walker's light curve; transit
    (n, B); columns (n, k, B), or (n, k, 1) when all walkers share them; amp2, tau (B,).
    Returns (B, k+1, k+1) and (B,)."""
    nb = transit.shape[1]
    k = columns.shape[1]
    var = np.ascontiguousarray(var, float)
    gram = np.empty((k + 1, k + 1, nb))
    logdet = np.empty(nb)
    channel = np.ascontiguousarray(channel, np.int64)
    _gram(
        np.ascontiguousarray(t, float),
        var,
        np.ascontiguousarray(flux, float),
        channel,
        np.ascontiguousarray(transit, float),
        np.ascontiguousarray(columns, float),
        np.ascontiguousarray(amp2, float),
        1.0 / np.ascontiguousarray(tau, float),
        gram,
        logdet,
    )
    ln_var = np.sum(np.log(var), axis=0)[channel]
    return np.moveaxis(gram, 2, 0), logdet + ln_var
