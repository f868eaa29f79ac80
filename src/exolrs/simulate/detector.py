"""The MIRI detector: static maps (the truth behind the reference files) and up-the-ramp reads.

Order of effects for one pixel read (DN), following the MIRI signal chain:
linear charge = bias + reset anomaly + RSCD + dark + Σ Poisson photo-electrons + cosmic rays,
then the non-linear response (the inverse of the linearity reference polynomial), then the
electronic terms (390 Hz EMI and harmonics, read noise), then the hard saturation plateau and
the 16-bit ADC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exolrs.simulate.config import (
    FRAMECLOCKS,
    NCOLS,
    NROWS,
    PIXEL_CLOCK_S,
    ROWCLOCKS,
    TFRAME,
    SimConfig,
)


@dataclass
class DetectorMaps:
    """Per-pixel truth of the detector (all (NROWS, NCOLS) unless noted)."""

    gain: np.ndarray  # e-/DN
    read_noise: np.ndarray  # DN per read
    bias: np.ndarray  # DN
    dark_rate: np.ndarray  # DN/s, including hot pixels
    flat: np.ndarray  # multiplicative response
    nonlin: np.ndarray  # (4, y, x): corrected = Σ c_k raw^k
    saturation: np.ndarray  # DN (raw) at which the reference flags saturation
    reset_amp: np.ndarray  # (2, y, x): reset-anomaly amplitude, first / later integrations
    hot_known: np.ndarray  # bool
    hot_new: np.ndarray  # bool
    dead: np.ndarray  # bool
    emi_phase: np.ndarray  # (nfreq,) radians at t = 0


def make_detector(cfg: SimConfig, rng: np.random.Generator) -> DetectorMaps:
    """Draw the static detector maps for one simulated exposure."""
    d = cfg.detector
    shape = (NROWS, NCOLS)
    gain = d.gain * (1 + d.gain_scatter * rng.standard_normal(shape))
    rn = d.read_noise_dn * (1 + d.read_noise_scatter * rng.standard_normal(shape))
    bias = d.bias_dn + d.bias_scatter_dn * rng.standard_normal(shape)
    # Flat: smooth large-scale shape plus pixel-to-pixel response.
    yy, xx = np.mgrid[0:NROWS, 0:NCOLS]
    flat = (
        1.0
        + 0.02 * np.cos(2 * np.pi * yy / NROWS)
        + 0.01 * ((xx - NCOLS / 2) / NCOLS)
        + d.flat_scatter * rng.standard_normal(shape)
    )
    c2 = d.nonlin_c2 * (1 + d.nonlin_scatter * rng.standard_normal(shape))
    c3 = d.nonlin_c3 * (1 + d.nonlin_scatter * rng.standard_normal(shape))
    nonlin = np.stack([np.zeros(shape), np.ones(shape), c2, c3])
    sat = d.saturation_dn + d.saturation_scatter_dn * rng.standard_normal(shape)
    ra = np.stack(
        [
            d.reset_anomaly_first_int_dn * (1 + 0.2 * rng.standard_normal(shape)),
            d.reset_anomaly_dn * (1 + 0.2 * rng.standard_normal(shape)),
        ]
    )
    npix = NROWS * NCOLS
    order = rng.permutation(npix)
    n_known = round(d.hot_fraction_known * npix)
    n_new = round(d.hot_fraction_new * npix)
    n_dead = round(d.dead_fraction * npix)
    flags = [np.zeros(npix, bool) for _ in range(3)]
    flags[0][order[:n_known]] = True
    flags[1][order[n_known : n_known + n_new]] = True
    flags[2][order[n_known + n_new : n_known + n_new + n_dead]] = True
    hot_known, hot_new, dead = (f.reshape(shape) for f in flags)
    dark = np.full(shape, d.dark_rate_dn_s) * (1 + 0.1 * rng.standard_normal(shape)).clip(0.5)
    hot = hot_known | hot_new
    lo, hi = d.hot_rate_dn_s
    dark[hot] = np.exp(rng.uniform(np.log(lo), np.log(hi), hot.sum()))
    emi_phase = rng.uniform(0, 2 * np.pi, len(d.emi_freqs_hz))
    f32 = np.float32
    return DetectorMaps(
        gain=gain.astype(f32),
        read_noise=rn.astype(f32),
        bias=bias.astype(f32),
        dark_rate=dark.astype(f32),
        flat=flat.astype(f32),
        nonlin=nonlin.astype(f32),
        saturation=sat.astype(f32),
        reset_amp=ra.astype(f32),
        hot_known=hot_known,
        hot_new=hot_new,
        dead=dead,
        emi_phase=emi_phase,
    )


def reset_anomaly(maps: DetectorMaps, ngroups: int, cfg: SimConfig) -> np.ndarray:
    """(2, ngroups, y, x) additive reset anomaly for the first and the later integrations."""
    g = np.arange(ngroups, dtype=np.float32)
    decay = np.exp(-g / cfg.detector.reset_anomaly_tau_groups)[None, :, None, None]
    return maps.reset_amp[:, None] * decay


def dark_ramp(maps: DetectorMaps, ngroups: int, cfg: SimConfig) -> np.ndarray:
    """(2, ngroups, y, x) deterministic dark signal (dark current + reset anomaly), in the
    linearised DN that the dark reference must remove."""
    g = np.arange(1, ngroups + 1, dtype=np.float32)[None, :, None, None]
    return maps.dark_rate[None, None] * (g * TFRAME) + reset_anomaly(maps, ngroups, cfg)


def read_clock(int_index: np.ndarray, ngroups: int) -> np.ndarray:
    """Read time (s) of every (integration, group, row, amplifier sample) of FASTR1.

    Pixel clock 10 µs; the four amplifiers read columns 4k..4k+3 at sample k; 28 clocks per
    row and 15904 per frame on SLITLESSPRISM; one reset frame between integrations (the
    jwst emicorr timing).  Shape (n, ngroups, NROWS, NCOLS // 4).
    """
    i = np.asarray(int_index, dtype=np.int64)[:, None, None, None]
    g = np.arange(ngroups, dtype=np.int64)[None, :, None, None]
    y = np.arange(NROWS, dtype=np.int64)[None, None, :, None]
    k = np.arange(NCOLS // 4, dtype=np.int64)[None, None, None, :]
    clocks = (i * (ngroups + 1) + g) * FRAMECLOCKS + y * ROWCLOCKS + k
    return clocks * PIXEL_CLOCK_S


def emi_pattern(
    int_index: np.ndarray, ngroups: int, maps: DetectorMaps, cfg: SimConfig, rng
) -> np.ndarray:
    """(n, ngroups, y, x) EMI in DN: sinusoids at the configured frequencies, sampled at the
    true read time of every pixel, with a slow per-integration phase wander."""
    d = cfg.detector
    t = read_clock(int_index, ngroups)
    wander = d.emi_phase_jitter_rad * rng.standard_normal((len(int_index), 1, 1, 1))
    out = np.zeros(t.shape, dtype=np.float32)
    for f, a, ph in zip(d.emi_freqs_hz, d.emi_amplitudes_dn, maps.emi_phase, strict=True):
        out += (a * np.sin(2 * np.pi * f * t + ph + wander)).astype(np.float32)
    return np.repeat(out, 4, axis=-1)


def rscd_fraction(previous: np.ndarray, fraction: float, power: float):
    """Share of the previous integration's last signal (DN) that pulls the next one's first
    groups: `fraction`, times (signal / 10 000 DN)^`power` when the RSCD depends on it."""
    if not power:
        return fraction
    return (fraction * (np.maximum(previous, 0.0) / 1e4) ** power).astype(np.float32)


def read_noise_draws(shape, dof: float, rng) -> np.ndarray:
    """Unit-variance float32 read-noise draws: Gaussian, or Student's t with `dof` > 2
    degrees of freedom scaled by √((ν − 2)/ν) (same rms, heavier tails)."""
    if not dof:
        return rng.standard_normal(shape, dtype=np.float32)
    if dof <= 2:
        raise ValueError(f"read_noise_tail_dof must be > 2 (finite variance), got {dof}")
    return (rng.standard_t(dof, shape) * np.sqrt((dof - 2.0) / dof)).astype(np.float32)


def telegraph_states(nints: int, cfg: SimConfig, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random-telegraph pixels: (rows, columns, states (nints, npix) bool high), each pixel
    a two-state Markov chain switching with probability 1 / `telegraph_dwell_ints` per
    integration, starting in a random state."""
    s = cfg.systematics
    npix = round(s.telegraph_fraction * NROWS * NCOLS)
    idx = rng.choice(NROWS * NCOLS, npix, replace=False)
    flips = rng.random((nints, npix)) < 1.0 / max(s.telegraph_dwell_ints, 1.0)
    flips[0] = rng.random(npix) < 0.5
    states = (np.cumsum(flips, axis=0) % 2).astype(bool)
    return idx // NCOLS, idx % NCOLS, states


def _add_shower(steps, j, g, y, x, s, rng) -> float:
    """A cosmic-ray shower in integration j from group g: a core that saturates and a halo
    amplitude · exp(−r / scale) out to the radius.  Returns the core's DN."""
    r = s.shower_radius_px
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1]
    dist = np.hypot(ys, xs)
    halo = s.shower_halo_dn * np.exp(-dist / s.shower_halo_scale_px) * (dist <= r)
    halo *= np.exp(0.3 * rng.standard_normal(halo.shape))
    halo[r, r] = s.shower_core_dn
    y0, y1 = max(y - r, 0), min(y + r + 1, NROWS)
    x0, x1 = max(x - r, 0), min(x + r + 1, NCOLS)
    steps[j, g, y0:y1, x0:x1] += halo[y0 - y + r : y1 - y + r, x0 - x + r : x1 - x + r]
    return float(s.shower_core_dn)


def invert_nonlinearity(linear: np.ndarray, nonlin: np.ndarray) -> np.ndarray:
    """Raw DN whose linearity correction c0 + c1 r + c2 r² + c3 r³ equals `linear`.

    Series reversion of the cubic starts within ~100 DN even at saturation; one Newton step
    then converges to < 0.02 DN, far below the read noise.  Works on blocks of frames that
    fit in cache (≈ 3× faster than whole-chunk array expressions, measured).
    """
    c0, c1, c2, c3 = (c.astype(np.float32) for c in nonlin)
    a, b = c2 / c1, c3 / c1
    q = 2.0 * a * a - b
    flat = linear.reshape(-1, *linear.shape[-2:])
    out = np.empty(flat.shape, np.float32)
    step = 8
    for k in range(0, flat.shape[0], step):
        lin = flat[k : k + step].astype(np.float32)
        y = (lin - c0) / c1
        raw = y * (1.0 + y * (y * q - a))
        p = c0 + raw * (c1 + raw * (c2 + raw * c3))
        p -= lin
        p /= c1 + raw * (2.0 * c2 + raw * (3.0 * c3))
        raw -= p
        out[k : k + step] = raw
    return out.reshape(linear.shape)


def cosmic_rays(
    n: int, ngroups: int, int_start: int, cfg: SimConfig, rng
) -> tuple[np.ndarray, list[tuple[int, int, int, int, float]]]:
    """Draw cosmic-ray hits for n integrations.

    Returns the (n, ngroups, y, x) float32 charge added (DN, cumulative from the hit group
    on) and the list of primary hits (integration, group, row, column, DN).
    """
    d = cfg.detector
    exposure = ngroups * TFRAME
    lam = d.cr_rate_per_pixel_s * exposure * NROWS * NCOLS
    counts = rng.poisson(lam, n)
    steps = np.zeros((n, ngroups, NROWS, NCOLS), dtype=np.float32)
    hits = []
    for j, m in enumerate(counts):
        if m == 0:
            continue
        ys = rng.integers(0, NROWS, m)
        xs = rng.integers(0, NCOLS, m)
        gs = rng.integers(1, ngroups, m)  # a hit between read g-1 and read g
        amps = d.cr_median_dn * np.exp(d.cr_sigma_log * rng.standard_normal(m))
        for yy, xx, gg, aa in zip(ys, xs, gs, amps, strict=True):
            steps[j, gg, yy, xx] += aa
            for dy_, dx_ in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                y2, x2 = yy + dy_, xx + dx_
                if 0 <= y2 < NROWS and 0 <= x2 < NCOLS:
                    steps[j, gg, y2, x2] += d.cr_neighbour_fraction * aa
            hits.append((int_start + j, int(gg), int(yy), int(xx), float(aa)))
    s = cfg.systematics
    if s.shower_rate_per_int > 0:
        for j, m in enumerate(rng.poisson(s.shower_rate_per_int, n)):
            for _ in range(m):
                y, x, g = rng.integers(0, NROWS), rng.integers(0, NCOLS), rng.integers(1, ngroups)
                core = _add_shower(steps, j, g, y, x, s, rng)
                hits.append((int_start + j, int(g), int(y), int(x), core))
    return np.cumsum(steps, axis=1), hits


def simulate_ramps(
    rate: np.ndarray,
    prev_rate: np.ndarray | None,
    int_start: int,
    maps: DetectorMaps,
    cfg: SimConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list]:
    """Raw uint16 reads (n, ngroups, y, x) for integrations int_start … int_start + n − 1.

    `rate` is the detected illumination (DN/s, flat applied) per integration, and
    `prev_rate` the rate of integration int_start − 1 (None at the exposure start), which
    sets the RSCD of the chunk's first integration.  Returns the reads and the CR hits.
    """
    d = cfg.detector
    n = rate.shape[0]
    ng = cfg.ngroups
    rate = rate + maps.dark_rate[None]
    rate = np.where(maps.dead[None], 0.0, rate).astype(np.float32)
    mean_inc = rate * np.float32(TFRAME)  # DN per frame
    # Poisson photo-electrons, Gaussian approximation of each frame's increment (counts per
    # frame ≫ 1 on the trace; off trace the read noise dominates the discreteness).
    if d.poisson:
        z = rng.standard_normal((n, ng, NROWS, NCOLS), dtype=np.float32)
        z *= np.sqrt(mean_inc / maps.gain[None])[:, None]
        z += mean_inc[:, None]
    else:
        z = np.repeat(mean_inc[:, None], ng, axis=1)
    signal = np.cumsum(z, axis=1, out=z)
    del z
    crs, hits = cosmic_rays(n, ng, int_start, cfg, rng)
    signal += crs
    del crs
    g = np.arange(ng, dtype=np.float32)
    # Reset anomaly, larger in the exposure's first integration.
    ra = reset_anomaly(maps, ng, cfg)
    first = int_start == 0
    signal += ra[1][None]
    if first:
        signal[0] += ra[0] - ra[1]
    # RSCD: pulls the first groups by a fraction of the previous integration's last signal.
    rscd_decay = np.exp(-g / d.rscd_tau_groups)[:, None, None]
    last = rate * np.float32(ng * TFRAME)
    prev = np.empty_like(last)
    prev[1:] = last[:-1]
    prev[0] = 0.0 if prev_rate is None else (prev_rate + maps.dark_rate) * np.float32(ng * TFRAME)
    frac = rscd_fraction(prev, d.rscd_fraction, cfg.systematics.rscd_signal_power)
    signal -= (frac * prev)[:, None] * rscd_decay[None]
    signal += maps.bias[None, None]
    raw = invert_nonlinearity(signal, maps.nonlin).astype(np.float32)
    del signal
    raw += emi_pattern(np.arange(int_start, int_start + n), ng, maps, cfg, rng)
    noise = read_noise_draws(raw.shape, cfg.systematics.read_noise_tail_dof, rng)
    noise *= maps.read_noise[None, None]
    raw += noise
    del noise
    np.minimum(raw, (maps.saturation + 400.0)[None, None], out=raw)
    np.rint(raw, out=raw)
    np.clip(raw, 0, 65535, out=raw)
    return raw.astype(np.uint16), hits
