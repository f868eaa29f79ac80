"""Stage 2 figures: PCA eigen-images with their time series."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exolrs.plots.figure import new_figure, save_figure


def plot_pca(result, path, n_show: int = 6) -> Path:
    """Eigen-images (left) and their time series (right) of the first `n_show` components."""
    k = min(n_show, len(result.timeseries))
    plt, fig, axes = new_figure(
        k, 2, figsize=(8, 1.8 * k), squeeze=False, gridspec_kw={"width_ratios": [1, 4]}
    )
    for j in range(k):
        img = result.eigenimages[j]
        lim = np.nanpercentile(np.abs(img), 99.5) or 1.0
        axes[j, 0].imshow(img, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[j, 0].set_axis_off()
        axes[j, 1].plot(result.timeseries[j], lw=0.6)
        axes[j, 1].set_ylabel(f"PC{j + 1}\n{100 * result.variance_fraction[j]:.2g} %")
    axes[-1, 1].set_xlabel("integration")
    fig.suptitle("principal components of the integration cube")
    return save_figure(plt, fig, path)
