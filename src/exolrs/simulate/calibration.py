"""Calibration of the simulated observation to program 2783 (WASP-39b, MIRI/LRS), from real
material only — never from the reduction.

* Background: the programme's dedicated background exposure (MAST x1dints, jwst 1.10.1,
  star off the subarray).  jwst's ramp fit sets FLUX_VAR_POISSON from the counts, so
  FLUX² / FLUX_VAR_POISSON is the number of electrons the pipeline counted in the extraction
  box (NPIXELS = 12) per integration; divided by NPIXELS and the integration time it is the
  background rate per pixel.  Caveats: it is what the pipeline accounted (its gain and its
  effective time), not an absolute photometric measurement; the first integrations settle
  (−2.7 % in the first), so the median over the later ones is used; read noise is < 2 % of
  the variance and is neglected.
* Star: the published spectrum's per-bin depth errors (Powell et al. 2024) imply the
  per-integration scatter of each 0.25 µm bin, σ_int = σ_depth / √(1/N_in + 1/N_out) with
  1779 integrations of which ~700 in transit; with the background in the same bin the
  stellar electrons per integration S solve σ_int² S² = S + B (+ read noise).
* Detector settling: the background exposure's white light relative to its last
  integration, −2.70 %, −0.75 %, −0.25 %, −0.12 % in integrations 1–4.

`calibration_table()` reads the shipped table (`data/p2783_calibration.ecsv`), which
`derive_calibration()` recomputes from the real files (a test checks they agree).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

DATA = Path(__file__).parent / "data"
TABLE = DATA / "p2783_calibration.ecsv"
PUBLISHED = DATA / "wasp39b_miri_lrs_spectrum_published.csv"
NINTS_P2783 = 1779
NINTS_IN_TRANSIT = 700
EXTRACTION_PIXELS = 12  # the background product's NPIXELS (and a typical box width)
INTEGRATION_S = 15.904  # EFFINTTM of program 2783's exposures (100 groups × 0.15904 s)
SETTLING_P2783 = (-0.0270, -0.0075, -0.0025, -0.0012)  # integrations 1–4, then flat


def published_spectrum(path=PUBLISHED) -> Table:
    """The published WASP-39b MIRI/LRS spectrum: bin centre and half width (µm), depth and
    error (ppm)."""
    return Table.read(path, format="ascii.csv", comment="#")


def per_integration_scatter(depth_err_ppm, nints=NINTS_P2783, n_in=NINTS_IN_TRANSIT):
    """Relative scatter of one integration implied by a transit-depth error."""
    return np.asarray(depth_err_ppm, float) * 1e-6 / np.sqrt(1.0 / n_in + 1.0 / (nints - n_in))


def background_from_x1dints(path, skip_first: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength µm, background e⁻/s/pixel) of a background-only x1dints (MultiSpecModel
    layout: one EXTRACT1D per integration), median over the integrations after `skip_first`."""
    with fits.open(path) as hdul:
        tables = [h for h in hdul if h.name == "EXTRACT1D"]
        t_int = float(hdul[0].header["EFFINTTM"])
        wave = np.asarray(tables[0].data["WAVELENGTH"], float)
        electrons = np.stack(
            [
                np.asarray(t.data["FLUX"], float) ** 2
                / np.asarray(t.data["FLUX_VAR_POISSON"])
                / np.asarray(t.data["NPIXELS"], float)
                for t in tables[skip_first:]
            ]
        )
    rate = np.nanmedian(electrons, axis=0) / t_int
    good = np.isfinite(wave) & np.isfinite(rate)
    order = np.argsort(wave[good])
    return wave[good][order], rate[good][order]


def derive_calibration(x1dints_path, published_path=PUBLISHED, read_noise_e=0.0) -> Table:
    """The calibration table at the published bins: background rate per pixel (e⁻/s), the
    detector rows each bin spans, the implied per-integration scatter, and the stellar
    electrons per integration per bin (background of `rows` × 12 pixels)."""
    pub = published_spectrum(published_path)
    wave, bkg = background_from_x1dints(x1dints_path)
    centre, half = np.asarray(pub["wl_center_um"]), np.asarray(pub["half_width_um"])
    # background per pixel, averaged over each bin (it varies slowly), and the number of
    # detector rows (wavelength elements) the bin spans
    in_bin = [(wave >= c - h) & (wave < c + h) for c, h in zip(centre, half, strict=True)]
    bkg_bin = np.array([np.median(bkg[m]) for m in in_bin])
    rows = np.array([m.sum() for m in in_bin])
    sigma = per_integration_scatter(pub["depth_err_ppm"])
    out = Table()
    out["wavelength"] = centre
    out["half_width"] = half
    out["depth_ppm"] = np.asarray(pub["depth_ppm"], float)
    out["depth_err_ppm"] = np.asarray(pub["depth_err_ppm"], float)
    out["sigma_int"] = sigma
    out["background_e_s_px"] = bkg_bin
    out["rows"] = rows
    background_e = bkg_bin * rows * EXTRACTION_PIXELS * INTEGRATION_S
    out["star_e_per_int"] = stellar_electrons(
        sigma, background_e + read_noise_e**2 * rows * EXTRACTION_PIXELS
    )
    out.meta["integration_s"] = INTEGRATION_S
    out.meta["extraction_pixels"] = EXTRACTION_PIXELS
    out.meta["note"] = __doc__.split("`calibration_table()`")[0].strip()
    return out


def stellar_electrons(sigma_int, background_e, read_noise_e2=0.0) -> np.ndarray:
    """Stellar electrons S per integration in a bin whose relative scatter is `sigma_int`,
    with `background_e` (+ read-noise variance) electrons of background in the same
    aperture: the positive root of σ² S² − S − (B + R) = 0."""
    s2 = np.asarray(sigma_int, float) ** 2
    b = np.asarray(background_e, float) + read_noise_e2
    return (1.0 + np.sqrt(1.0 + 4.0 * s2 * b)) / (2.0 * s2)


@functools.lru_cache(maxsize=1)
def calibration_table() -> Table:
    """The shipped program-2783 calibration (see the module docstring)."""
    return Table.read(TABLE)
