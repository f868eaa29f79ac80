"""The astrophysical scene on the SLITLESSPRISM subarray: spectrum, trace, transit, background.

Geometry is the in-flight LRS slitless one: the trace and wavelength solution of the CRDS
SPECWCS reference (shipped in `data/`), short wavelengths at high row numbers, useful from 5
to 12 µm with throughput collapsing towards 12–14 µm (Kendrew et al. 2015, PASP 127, 623).
Rows are 0-based subarray rows, columns 0-based subarray columns.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.interpolate import UnivariateSpline
from scipy.special import erf

from exolrs.simulate.config import NCOLS, NROWS, SUBSTRT1, SUBSTRT2, SimConfig

SPECWCS_FILE = Path(__file__).parent / "data" / "jwst_miri_specwcs_0006.fits"


@functools.lru_cache(maxsize=1)
def lrs_geometry() -> dict:
    """The in-flight LRS slitless trace and wavelength solution (CRDS SPECWCS 0006, the
    reference program 2783 was calibrated with) in 0-based SLITLESSPRISM subarray pixels.

    The table's X_CENTER / Y_CENTER are offsets from the slitless reference position
    (IMXSLTL, IMYSLTL: 1-based full-frame pixels), so a subarray pixel is
    ``offset + reference − SUBSTRT``.  The physical dispersion is smooth on the scale of a
    pixel, the table is not (4-decimal wavelengths; interpolating it makes |dλ/dy| jagged
    from row to row, and a sub-pixel shift of such a spectrum is not a shift of its
    samples).  So wavelength and trace column are cubic smoothing splines of the rows with a
    residual of ~1 nm rms in wavelength (0.01 px in x), over the monotonic part of the table,
    λ ≥ 4.4 µm (below, the prism's dispersion folds over).  jwst's own model of the table
    (a spline with s = 0.002) departs from it by up to 0.011 µm over 4.5–13.9 µm; this one
    by up to 0.010 µm.  Returns the raw table (``table``, its ``header``), the splines
    (``lam``, ``x``) and the rows they cover (``y``, ``y_range``)."""
    with fits.open(SPECWCS_FILE) as hdul:
        header = hdul[0].header.copy()
        table = np.asarray(hdul["WAVETABLE"].data).copy()
    y = table["Y_CENTER"] + header["IMYSLTL"] - SUBSTRT2
    x = table["X_CENTER"] + header["IMXSLTL"] - SUBSTRT1
    order = np.argsort(y)
    y, x, lam = y[order], x[order], table["WAVELENGTH"][order]
    fold = lam >= 4.4
    y, x, lam = y[fold], x[fold], lam[fold]
    return {
        "table": table,
        "header": header,
        "y": y,
        "lam": UnivariateSpline(y, lam, s=len(y) * 1e-3**2),
        "x": UnivariateSpline(y, x, s=len(y) * 0.01**2),
        "y_range": (float(y[0]), float(y[-1])),
    }


def _clamped(f, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(y) inside the table's rows, continued linearly with its edge slope outside."""
    g = lrs_geometry()
    lo, hi = g["y_range"]
    yc = np.clip(y, lo, hi)
    slope = f.derivative()(yc)
    return f(yc) + slope * (y - yc), slope


def wavelength_of_row(y: np.ndarray | float) -> np.ndarray:
    """Wavelength (µm) at (continuous) subarray row `y`; monotonic, shorter at larger y."""
    return _clamped(lrs_geometry()["lam"], np.asarray(y, dtype=np.float64))[0]


def dispersion(y: np.ndarray | float) -> np.ndarray:
    """|dλ/dy| in µm per row."""
    return np.abs(_clamped(lrs_geometry()["lam"], np.asarray(y, dtype=np.float64))[1])


def throughput(lam: np.ndarray) -> np.ndarray:
    """Relative LRS slitless throughput × detector QE: rises by 5 µm, collapses past 12 µm."""
    lam = np.asarray(lam, dtype=np.float64)
    rise = 1.0 / (1.0 + np.exp(-(lam - 4.7) / 0.15))
    fall = 1.0 / (1.0 + np.exp((lam - 12.4) / 0.45))
    return rise * fall * (0.75 + 0.25 * np.exp(-0.5 * ((lam - 7.5) / 2.5) ** 2))


def star_rate(y: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Detected stellar rate per row (DN/s) of the configured scene: the model spectrum
    scaled to `row_rate_6um`, or, for a scene calibrated to program 2783, the stellar
    electrons its published per-bin errors imply (see `calibration`), per row and second,
    over the gain; outside the published 5–12 µm the model's shape continues it."""
    shape = stellar_row_rate(y, 1.0)
    if cfg.scene.calibration != "program2783":
        return cfg.scene.row_rate_6um * shape
    from exolrs.simulate.calibration import calibration_table

    t = calibration_table()
    per_row = np.asarray(t["star_e_per_int"]) / t.meta["integration_s"] / np.asarray(t["rows"])
    per_row_dn = per_row / cfg.detector.gain
    lam_bins = np.asarray(t["wavelength"])
    model_at_bins = stellar_row_rate(row_of_wavelength(lam_bins), 1.0)
    scale = np.interp(wavelength_of_row(y), lam_bins, per_row_dn / model_at_bins)
    return shape * scale


def stellar_row_rate(y: np.ndarray, row_rate_6um: float) -> np.ndarray:
    """Detected stellar rate per row (DN/s, before flat field), for continuous rows `y`.

    Photon rate per µm of a Rayleigh–Jeans star ∝ λ⁻³, times throughput and |dλ/dy|.
    """
    lam = wavelength_of_row(y)
    shape = lam**-3 * throughput(lam) * dispersion(y)
    y6 = row_of_wavelength(6.0)
    ref = 6.0**-3 * throughput(np.array(6.0)) * dispersion(y6)
    return row_rate_6um * shape / ref


def row_of_wavelength(lam: np.ndarray | float) -> np.ndarray:
    """Inverse of `wavelength_of_row` inside the table (3.7–14 µm)."""
    g = lrs_geometry()
    lam_rows = g["lam"](g["y"])  # decreasing with row
    return np.interp(np.asarray(lam, dtype=np.float64), lam_rows[::-1], g["y"][::-1])


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
    """Injected transit depth (Rp/R*)² versus wavelength: the model below, or the published
    WASP-39b MIRI/LRS spectrum (Powell et al. 2024) interpolated, constant beyond its ends."""
    p = cfg.planet
    lam = np.asarray(lam, dtype=np.float64)
    if p.depth_source == "published":
        from exolrs.simulate.calibration import published_spectrum

        pub = published_spectrum()
        return 1e-6 * np.interp(lam, np.asarray(pub["wl_center_um"]), np.asarray(pub["depth_ppm"]))
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
    lam = np.asarray(lam)
    shadow = np.exp(-0.5 * ((lam - s.shadow_center_um) / s.shadow_width_um) ** 2)
    amp = s.ramp_amplitude + (s.shadow_amplitude - s.ramp_amplitude) * shadow
    tau = s.ramp_tau_hours * s.ramp_tau_ratio_12um ** ((lam - 5.0) / 7.0)
    t = np.asarray(t_hours)[:, None]
    ramp = 1.0 + amp[None, :] * np.exp(-t / tau[None, :])
    if s.second_ramp_amplitude:
        ramp += s.second_ramp_amplitude * np.exp(-t / s.second_ramp_tau_hours)
    return ramp * (1.0 + 1e-6 * s.linear_ppm_per_hour * (t - t.mean()))


def red_noise(n: int, cadence_s: float, cfg: SimConfig, rng: np.random.Generator) -> np.ndarray:
    """(n,) relative flux of an AR(1) process: rms `red_noise_ppm`, correlation time
    `red_noise_tau_minutes` (zeros when the rms is 0)."""
    s = cfg.systematics
    out = np.zeros(n)
    if s.red_noise_ppm <= 0 or n == 0:
        return out
    phi = np.exp(-cadence_s / (60.0 * s.red_noise_tau_minutes))
    e = rng.standard_normal(n) * np.sqrt(1.0 - phi * phi)
    out[0] = rng.standard_normal()
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return 1e-6 * s.red_noise_ppm * out


def glow_rate(cfg: SimConfig) -> np.ndarray:
    """(NROWS, NCOLS) DN/s of an asymmetric background: on the left of the trace only, a
    fraction `glow_fraction_11um` · (λ / 11 µm)⁴ of the row's stellar flux, spread as
    exp(−d / `glow_scale_px`) over the columns d ≥ 1 px left of the trace centre."""
    s = cfg.systematics
    if s.glow_fraction_11um <= 0:
        return np.zeros((NROWS, NCOLS))
    y = np.arange(NROWS, dtype=np.float64)
    lam = np.clip(wavelength_of_row(y), 4.5, 14.0)
    d = trace_center(y, cfg)[:, None] - np.arange(NCOLS)[None, :]  # px left of the trace
    shape = np.where(d >= 1.0, np.exp(-(d - 1.0) / s.glow_scale_px), 0.0)
    shape /= shape.sum(axis=1, keepdims=True)
    total = s.glow_fraction_11um * (lam / 11.0) ** 4 * star_rate(y, cfg)
    return total[:, None] * shape


def background_rate(cfg: SimConfig) -> np.ndarray:
    """Background (DN/s/pixel, before flat) on the subarray: rising with λ (or, calibrated to
    program 2783, its background exposure's rate per pixel), small x-gradient."""
    sc = cfg.scene
    y = np.arange(NROWS, dtype=np.float64)
    lam = np.clip(wavelength_of_row(y), 4.5, 14.0)
    if sc.calibration == "program2783":
        from exolrs.simulate.calibration import calibration_table

        t = calibration_table()
        e_s = np.interp(lam, np.asarray(t["wavelength"]), np.asarray(t["background_e_s_px"]))
        per_row = e_s / cfg.detector.gain
    else:
        frac = (lam - 5.0) / 7.0
        per_row = sc.background_5um * (sc.background_12um / sc.background_5um) ** np.clip(
            frac, 0, 1.3
        )
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
    """Nominal trace column at each row (no jitter): the SPECWCS trace, offset by
    `trace_dx`."""
    x, _ = _clamped(lrs_geometry()["x"], np.asarray(y, dtype=np.float64))
    return x + cfg.scene.trace_dx


def star_rate_cube(
    lc_rows: np.ndarray, dx: np.ndarray, dy: np.ndarray, cfg: SimConfig
) -> np.ndarray:
    """Stellar rate (n, NROWS, NCOLS) DN/s for integrations with per-row relative flux
    `lc_rows` (n, NROWS) (transit × systematics) and trace offsets dx, dy (n,)."""
    y = np.arange(NROWS, dtype=np.float64)
    yy = y[None, :] - dy[:, None]  # the spectrum moves by dy: row y sees source row y - dy
    rate = star_rate(yy, cfg) * lc_rows
    xc = trace_center(yy, cfg) + dx[:, None]
    sigma = psf_sigma(wavelength_of_row(y))
    prof = cross_profile(xc, sigma)
    return (rate[:, :, None] * prof).astype(np.float32)
