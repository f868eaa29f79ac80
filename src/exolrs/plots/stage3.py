"""Stage 3 figures: the 2D light curve (flux normalised per wavelength, against time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exolrs.plots.figure import new_figure, save_figure


def plot_2d_lightcurve(wave: np.ndarray, flux: np.ndarray, path, baseline=None) -> Path:
    """Image of flux / its out-of-transit median per wavelength (the tutorial's
    `make_2d_lightcurve_plot`)."""
    ref = np.nanmedian(flux if baseline is None else flux[baseline], axis=0)
    norm = flux / np.where(ref != 0, ref, np.nan)
    lo, hi = np.nanpercentile(norm, [2, 98])
    plt, fig, ax = new_figure(figsize=(7, 4))
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
    return save_figure(plt, fig, path)


def plot_drift(spec, path) -> Path:
    """Per-integration trace offsets: y shift (along the dispersion), stretch, x shift."""
    series = [
        (spec.y_shift, "y shift (px)"),
        (spec.stretch, "stretch"),
        (spec.x_shift, "x shift (px)"),
    ]
    series = [(v, label) for v, label in series if v is not None]
    plt, fig, axes = new_figure(
        len(series), 1, figsize=(7, 1.8 * len(series)), sharex=True, squeeze=False
    )
    hours = (spec.time - spec.time[0]) * 24
    for ax, (v, label) in zip(axes[:, 0], series, strict=True):
        ax.plot(hours, v, ".", ms=2, color="k")
        ax.set_ylabel(label)
    axes[-1, 0].set_xlabel("hours since the first integration")
    return save_figure(plt, fig, path)
