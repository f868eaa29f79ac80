"""Stage 3 figures: the 2D light curve (flux normalised per wavelength, against time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exolrs.plots.stage1 import _figure, _save


def plot_2d_lightcurve(wave: np.ndarray, flux: np.ndarray, path, baseline=None) -> Path:
    """Image of flux / its out-of-transit median per wavelength (the tutorial's
    `make_2d_lightcurve_plot`)."""
    ref = np.nanmedian(flux if baseline is None else flux[baseline], axis=0)
    norm = flux / np.where(ref != 0, ref, np.nan)
    lo, hi = np.nanpercentile(norm, [2, 98])
    plt, fig, ax = _figure(figsize=(7, 4))
    im = ax.imshow(
        norm.T,
        origin="lower",
        aspect="auto",
        vmin=lo,
        vmax=hi,
        cmap="viridis",
        extent=(0, flux.shape[0], wave[0], wave[-1]),
    )
    fig.colorbar(im, ax=ax, label="normalised flux")
    ax.set_xlabel("integration")
    ax.set_ylabel("wavelength (µm)")
    return _save(plt, fig, path)
