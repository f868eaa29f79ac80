"""Stage 1 diagnostic figures, drawn from products (arrays of saved files), written as PNG.

Each function takes arrays and an output path and returns the path; matplotlib runs headless
(Agg).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from exolrs.dq import DO_NOT_USE, JUMP_DET, SATURATED
from exolrs.plots.figure import new_figure, save_figure


def plot_dq_map(pixeldq: np.ndarray, groupdq: np.ndarray, path) -> Path:
    """Static bad pixels, and the first saturated group of each pixel (first integration)."""
    plt, fig, (a0, a1) = new_figure(1, 2, figsize=(6, 6), sharey=True)
    a0.imshow((pixeldq & DO_NOT_USE) > 0, origin="lower", cmap="Greys", aspect="auto")
    a0.set_title(f"DO_NOT_USE pixels ({int(((pixeldq & DO_NOT_USE) > 0).sum())})")
    sat = (groupdq[0] & SATURATED) > 0
    first = np.where(sat.any(axis=0), sat.argmax(axis=0), np.nan)
    im = a1.imshow(first, origin="lower", aspect="auto", cmap="viridis")
    a1.set_title(f"first saturated group ({int(sat.any(axis=0).sum())} px)")
    fig.colorbar(im, ax=a1, label="group")
    a0.set_ylabel("row")
    for a in (a0, a1):
        a.set_xlabel("column")
    return save_figure(plt, fig, path)


def plot_group_differences(data: np.ndarray, groupdq: np.ndarray, path, title: str) -> Path:
    """Median group-to-group difference against group, for trace and background pixels —
    the figure that shows the reset anomaly / RSCD in the first groups and why they are
    dropped.  `data` (nints, ngroups, ny, nx)."""
    diffs = np.diff(data, axis=1)
    level = np.nanmedian(diffs, axis=(0, 1))
    bright = level >= np.nanpercentile(level, 99)
    faint = level <= np.nanpercentile(level, 50)
    plt, fig, ax = new_figure(figsize=(6, 4))
    groups = np.arange(1, data.shape[1])
    for mask, label in ((bright, "trace (top 1 %)"), (faint, "background (bottom 50 %)")):
        curve = np.nanmedian(diffs[..., mask], axis=(0, 2))
        ax.plot(groups, curve / np.nanmedian(curve), label=label)
    dropped = np.flatnonzero((groupdq[0] & DO_NOT_USE).all(axis=(1, 2)))
    if dropped.size:
        ax.axvspan(
            0.5,
            dropped[dropped < data.shape[1] // 2].max(initial=0) + 1.5,
            color="0.85",
            label="DO_NOT_USE groups",
        )
    ax.set_xlabel("group")
    ax.set_ylabel("median difference / its median")
    ax.set_title(title)
    ax.legend()
    return save_figure(plt, fig, path)


def plot_jumps(groupdq: np.ndarray, path, nframes: int = 9) -> Path:
    """Jump locations (any group) in `nframes` integrations spread over the block."""
    n = groupdq.shape[0]
    picks = np.unique(np.linspace(0, n - 1, min(nframes, n)).astype(int))
    side = int(np.ceil(np.sqrt(len(picks))))
    plt, fig, axes = new_figure(side, side, figsize=(2.2 * side, 4 * side), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, i in zip(axes.ravel(), picks, strict=False):
        hits = ((groupdq[i] & JUMP_DET) > 0).any(axis=0)
        ax.imshow(hits, origin="lower", cmap="Reds", aspect="auto")
        ax.set_title(f"int {i}: {int(hits.sum())}", fontsize=8)
    fig.suptitle("pixels with a detected jump")
    return save_figure(plt, fig, path)


def plot_slope(slope: np.ndarray, err: np.ndarray, path) -> Path:
    """Median slope image and median error image over integrations."""
    plt, fig, (a0, a1) = new_figure(1, 2, figsize=(6, 6), sharey=True)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels NaN in every integration
        med = np.nanmedian(slope, axis=0)
        e = np.nanmedian(err, axis=0)
    lo, hi = np.nanpercentile(med, [1, 99.5])
    im0 = a0.imshow(med, origin="lower", aspect="auto", vmin=lo, vmax=hi)
    fig.colorbar(im0, ax=a0, label="DN/s")
    a0.set_title("median slope")
    im1 = a1.imshow(e, origin="lower", aspect="auto", vmax=np.nanpercentile(e, 99.5))
    fig.colorbar(im1, ax=a1, label="DN/s")
    a1.set_title("median error")
    return save_figure(plt, fig, path)
