"""The astrophysical scene on the SLITLESSPRISM subarray: spectrum, trace, transit, background.

Geometry follows the MIRI LRS (Kendrew et al. 2015, PASP 127, 623): R ≈ 100 at 7.5 µm, the
spectrum dispersed along detector rows with short wavelengths at high row numbers, useful
from 5 to 12 µm with throughput collapsing towards 12–14 µm, and the dispersion turning over
below ≈ 4.5 µm.  Rows are 0-based subarray rows, columns 0-based subarray columns.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from exolrs.simulate.config import NCOLS, NROWS, SimConfig

ROW_5UM = 385.0  # subarray row of 5 µm
ROW_SPAN = 245.0  # rows from 5 µm to 14 µm


def wavelength_of_row(y: np.ndarray | float) -> np.ndarray:
    """Wavelength (µm) at (continuous) subarray row `y`; monotonic, shorter at larger y."""
    u = (ROW_5UM - np.asarray(y, dtype=np.float64)) / ROW_SPAN
    return 5.0 + 9.0 * (0.55 * u + 0.45 * u**2)


def dispersion(y: np.ndarray | float) -> np.ndarray:
    """|dλ/dy| in µm per row."""
    u = (ROW_5UM - np.asarray(y, dtype=np.float64)) / ROW_SPAN
    return 9.0 * (0.55 + 0.9 * u) / ROW_SPAN


def throughput(lam: np.ndarray) -> np.ndarray:
    """Relative LRS slitless throughput × detector QE: rises by 5 µm, collapses past 12 µm."""
    lam = np.asarray(lam, dtype=np.float64)
    rise = 1.0 / (1.0 + np.exp(-(lam - 4.7) / 0.15))
    fall = 1.0 / (1.0 + np.exp((lam - 12.4) / 0.45))
    return rise * fall * (0.75 + 0.25 * np.exp(-0.5 * ((lam - 7.5) / 2.5) ** 2))


def stellar_row_rate(y: np.ndarray, row_rate_6um: float) -> np.ndarray:
    """Detected stellar rate per row (DN/s, before flat field), for continuous rows `y`.

    Photon rate per µm of a Rayleigh–Jeans star ∝ λ⁻³, times throughput and |dλ/dy|.
    """
    lam = wavelength_of_row(y)
    shape = lam**-3 * throughput(lam) * dispersion(y)
    y6 = ROW_5UM - ROW_SPAN * _u_of_lambda(6.0)
    ref = 6.0**-3 * throughput(np.array(6.0)) * dispersion(y6)
    return row_rate_6um * shape / ref


def _u_of_lambda(lam: float) -> float:
    # Inverse of wavelength_of_row's polynomial in u.
    c = (lam - 5.0) / 9.0
    return (-0.55 + np.sqrt(0.55**2 + 4 * 0.45 * c)) / (2 * 0.45)


def row_of_wavelength(lam: np.ndarray | float) -> np.ndarray:
    """Inverse of `wavelength_of_row` (valid for λ ≥ 4.5 µm)."""
    c = (np.asarray(lam, dtype=np.float64) - 5.0) / 9.0
    u = (-0.55 + np.sqrt(0.55**2 + 4 * 0.45 * c)) / (2 * 0.45)
    return ROW_5UM - ROW_SPAN * u


def psf_sigma(lam: np.ndarray) -> np.ndarray:
    """Gaussian-core σ (px) of the cross-dispersion profile: diffraction (1.03 λ/D with
    D = 6.5 m and 0.11″ pixels) with an undersampling floor at short wavelengths."""
    fwhm = np.maximum(1.55, 1.03 * np.asarray(lam) * 1e-6 / 6.5 * 206265.0 / 0.11)
    return fwhm / 2.3548


WING_FRACTION = 0.03
WING_SCALE = 4.0  # wing half-width in units of the core σ


def cross_profile(xc: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Pixel-integrated cross-dispersion profile on the 72 columns.

    Parameters
    ----------
    xc : (..., nrows) trace centre in columns; sigma : (nrows,) core width.

    Returns (..., nrows, NCOLS) float64, each row summing to the fraction of light that
    falls on the subarray (≈ 1).  A Gaussian core plus a weak Lorentzian-like wing
    (the MIRI PSF's extended wings), both normalised to unit integral.
    """
    edges = np.arange(NCOLS + 1, dtype=np.float64) - 0.5
    d = edges - xc[..., None]  # (..., nrows, ncols+1)
    s = sigma[:, None] * np.sqrt(2.0)
    core = 0.5 * np.diff(erf(d / s), axis=-1)
    g = (WING_SCALE * sigma)[:, None]
    wing = np.diff(np.arctan(d / g), axis=-1) / np.pi
    return (1.0 - WING_FRACTION) * core + WING_FRACTION * wing


def depth_spectrum(lam: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Injected transit depth (Rp/R*)² versus wavelength."""
    p = cfg.planet
    lam = np.asarray(lam, dtype=np.float64)
    feat = (
        p.so2_ppm * np.exp(-0.5 * ((lam - p.so2_center_um) / p.so2_width_um) ** 2)
        + p.water_ppm * np.exp(-0.5 * ((lam - p.water_center_um) / p.water_width_um) ** 2)
        + p.slope_ppm_per_um * (lam - 8.0)
    )
    return p.rp_rs**2 + 1e-6 * feat


def limb_darkening(lam: np.ndarray, cfg: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Quadratic limb-darkening coefficients (u1, u2), linear in λ between 5 and 12 µm."""
    p = cfg.planet
    f = np.clip((np.asarray(lam) - 5.0) / 7.0, 0.0, 1.0)
    return p.u1_5um + f * (p.u1_12um - p.u1_5um), p.u2_5um + f * (p.u2_12um - p.u2_5um)


def transit_light_curves(t_days: np.ndarray, lam: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Relative flux (ntimes, nlam) of the transit with batman, one curve per wavelength."""
    import batman

    p = cfg.planet
    t0 = t_days[0] + p.t0_fraction * (t_days[-1] - t_days[0])
    params = batman.TransitParams()
    params.t0, params.per, params.a, params.inc = t0, p.period_days, p.a_rs, p.inc_deg
    params.ecc, params.w, params.limb_dark = p.ecc, p.w_deg, "quadratic"
    params.rp, params.u = p.rp_rs, [0.1, 0.1]
    model = batman.TransitModel(params, np.asarray(t_days, dtype=np.float64))
    depth = depth_spectrum(lam, cfg)
    u1, u2 = limb_darkening(lam, cfg)
    out = np.empty((len(t_days), len(lam)))
    for j in range(len(lam)):
        params.rp = float(np.sqrt(depth[j]))
        params.u = [float(u1[j]), float(u2[j])]
        out[:, j] = model.light_curve(params)
    return out


def systematic_ramp(t_hours: np.ndarray, lam: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Multiplicative (ntimes, nlam) systematics: exponential ramp whose amplitude changes
    sign in the shadowed region, times a linear trend."""
    s = cfg.systematics
    shadow = np.exp(-0.5 * ((np.asarray(lam) - s.shadow_center_um) / s.shadow_width_um) ** 2)
    amp = s.ramp_amplitude + (s.shadow_amplitude - s.ramp_amplitude) * shadow
    t = np.asarray(t_hours)[:, None]
    ramp = 1.0 + amp[None, :] * np.exp(-t / s.ramp_tau_hours)
    return ramp * (1.0 + 1e-6 * s.linear_ppm_per_hour * (t - t.mean()))


def background_rate(cfg: SimConfig) -> np.ndarray:
    """Background (DN/s/pixel, before flat) on the subarray: rising with λ, small x-gradient."""
    sc = cfg.scene
    y = np.arange(NROWS, dtype=np.float64)
    lam = np.clip(wavelength_of_row(y), 4.5, 14.0)
    frac = (lam - 5.0) / 7.0
    per_row = sc.background_5um * (sc.background_12um / sc.background_5um) ** np.clip(frac, 0, 1.3)
    x = np.arange(NCOLS, dtype=np.float64)
    return per_row[:, None] * (1.0 + sc.background_col_gradient * (x - NCOLS / 2))[None, :]


def pointing(n: int, cfg: SimConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Trace offsets (dx, dy) in px per integration: slow linear drift plus white jitter."""
    s = cfg.systematics
    ramp = np.linspace(-0.5, 0.5, n)
    dx = s.x_drift_px * ramp + s.x_jitter_px * rng.standard_normal(n)
    dy = s.y_drift_px * ramp + s.y_jitter_px * rng.standard_normal(n)
    return dx, dy


def trace_center(y: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Nominal trace column at each row (no jitter)."""
    return cfg.scene.trace_x0 + cfg.scene.trace_tilt * (np.asarray(y, dtype=np.float64) - 300.0)


def star_rate_cube(
    lc_rows: np.ndarray, dx: np.ndarray, dy: np.ndarray, cfg: SimConfig
) -> np.ndarray:
    """Stellar rate (n, NROWS, NCOLS) DN/s for integrations with per-row relative flux
    `lc_rows` (n, NROWS) (transit × systematics) and trace offsets dx, dy (n,)."""
    y = np.arange(NROWS, dtype=np.float64)
    yy = y[None, :] - dy[:, None]  # the spectrum moves by dy: row y sees source row y - dy
    rate = stellar_row_rate(yy, cfg.scene.row_rate_6um) * lc_rows
    xc = trace_center(yy, cfg) + dx[:, None]
    sigma = psf_sigma(wavelength_of_row(y))
    prof = cross_profile(xc, sigma)
    return (rate[:, :, None] * prof).astype(np.float32)
