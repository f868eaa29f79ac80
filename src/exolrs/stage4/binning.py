"""Binning spectra into spectroscopic channels and the white light curve."""

from __future__ import annotations

import numpy as np


def bin_edges(
    wave: np.ndarray,
    half_width: np.ndarray | None = None,
    mode: str = "R",
    resolution: float = 20.0,
    width: float = 0.25,
    edges=None,
    wave_range=(5.0, 12.0),
) -> np.ndarray:
    """Channel edges (µm) over `wave_range`.

    mode ``"native"``: one channel per pixel row (edges from the half widths);
    ``"width"``: constant `width` µm; ``"R"``: constant resolving power λ/Δλ = `resolution`;
    ``"edges"``: the user's `edges`.
    """
    lo, hi = wave_range
    if mode == "native":
        hw = half_width if half_width is not None else 0.5 * np.abs(np.gradient(wave))
        sel = (wave >= lo) & (wave <= hi)
        left, right = wave[sel] - hw[sel], wave[sel] + hw[sel]
        return np.append(left, right[-1])
    if mode == "width":
        n = max(int(np.round((hi - lo) / width)), 1)
        return np.linspace(lo, hi, n + 1)
    if mode == "R":
        n = max(int(np.ceil(np.log(hi / lo) * resolution)), 1)
        return lo * np.exp(np.arange(n + 1) * np.log(hi / lo) / n)
    if mode == "edges":
        e = np.asarray(edges, float)
        if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
            raise ValueError("bin edges must be an increasing list of at least two wavelengths")
        return e
    raise ValueError(f"binning mode must be native, width, R or edges; got {mode!r}")


def bin_light_curves(
    wave: np.ndarray, flux: np.ndarray, err: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum flux over the rows of each channel; errors in quadrature.

    Returns (centres, half widths, flux (nints, nbins), error (nints, nbins)); channels
    holding no row are dropped."""
    idx = np.digitize(wave, edges) - 1
    keep = [k for k in range(len(edges) - 1) if np.any(idx == k)]
    f = np.stack([np.nansum(flux[:, idx == k], axis=1) for k in keep], axis=1)
    e = np.stack([np.sqrt(np.nansum(err[:, idx == k] ** 2, axis=1)) for k in keep], axis=1)
    centres = np.array([0.5 * (edges[k] + edges[k + 1]) for k in keep])
    half = np.array([0.5 * (edges[k + 1] - edges[k]) for k in keep])
    return centres, half, f, e


def bin_variance(wave: np.ndarray, var: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of the rows' variances `var` (nrows,) in each channel holding a row (the channels
    `bin_light_curves` keeps, in its order)."""
    idx = np.digitize(wave, edges) - 1
    return np.array([np.nansum(var[idx == k]) for k in range(len(edges) - 1) if np.any(idx == k)])


def dilution_error(depth, static_var, flux) -> np.ndarray:
    """Depth error from a static flux offset of variance `static_var` on a light curve of
    (out-of-transit) flux `flux`: an offset O turns depth δ into δ·F/(F + O) ≈ δ(1 − O/F)."""
    return np.abs(depth) * np.sqrt(np.clip(static_var, 0.0, None)) / np.abs(flux)


def white_light_curve(wave, flux, err, wave_range=(5.0, 12.0)):
    """Flux and error of the white light curve over `wave_range` (µm)."""
    sel = (wave >= wave_range[0]) & (wave <= wave_range[1])
    return np.nansum(flux[:, sel], axis=1), np.sqrt(np.nansum(err[:, sel] ** 2, axis=1))


def bin_truth(truth_wave, truth_depth, truth_weight, edges) -> np.ndarray:
    """Injected depth averaged over each channel with the stellar flux as weight (what a
    flux-summed channel measures)."""
    out = np.full(len(edges) - 1, np.nan)
    for k in range(len(edges) - 1):
        s = (truth_wave >= edges[k]) & (truth_wave < edges[k + 1])
        if s.any():
            out[k] = np.sum(truth_depth[s] * truth_weight[s]) / np.sum(truth_weight[s])
    return out


def usable_channels(flux: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Which binned light curves (columns of flux, err: (nints, nchan)) can be fitted:
    finite flux and errors in every integration, positive errors, a positive median and
    some variation.  A channel of dead or fully flagged pixels fails this."""
    finite = np.all(np.isfinite(flux), axis=0) & np.all(np.isfinite(err), axis=0)
    with np.errstate(invalid="ignore"):
        positive = np.all(err > 0, axis=0) & (np.nanmedian(flux, axis=0) > 0)
        varies = np.nanmax(flux, axis=0) > np.nanmin(flux, axis=0)
    return finite & positive & varies
