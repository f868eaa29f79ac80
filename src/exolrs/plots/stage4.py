"""Stage 4 figures: white light curve, Allan (rms vs bin size), spectroscopic waterfall,
transmission spectrum (with the injected truth when known) and a corner plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exolrs.plots.figure import new_figure, save_figure
from exolrs.stats.allan import allan, allan_slope


def plot_white(t, flux, fit, path) -> Path:
    plt, fig, (a0, a1) = new_figure(
        2, 1, figsize=(7, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    hours = (t - fit.best["t0"]) * 24
    a0.plot(hours, flux / fit.systematics, ".", ms=2, color="0.4", label="detrended data")
    a0.plot(hours, fit.model / fit.systematics, "r-", lw=1, label="transit model")
    a0.set_ylabel("relative flux")
    a0.legend(fontsize=8)
    a1.plot(hours, 1e6 * fit.residuals, ".", ms=2, color="0.4")
    a1.axhline(0, color="r", lw=0.8)
    a1.set_ylabel("residual (ppm)")
    a1.set_xlabel("hours from mid-transit")
    d, lo, hi = fit.depth()
    a0.set_title(
        f"white light: depth {1e6 * d:.0f} ± {1e6 * 0.5 * (lo + hi):.0f} ppm, "
        f"rms {1e6 * np.std(fit.residuals):.0f} ppm"
    )
    return save_figure(plt, fig, path)


def plot_allan(residuals, path) -> Path:
    sizes, rms, expect = allan(residuals)
    plt, fig, ax = new_figure(figsize=(5, 4))
    ax.loglog(sizes, 1e6 * rms, "k.-", label=f"residuals (slope {allan_slope(residuals):.2f})")
    ax.loglog(sizes, 1e6 * expect, "r--", label="white noise")
    ax.set_xlabel("bin size (integrations)")
    ax.set_ylabel("rms (ppm)")
    ax.legend(fontsize=8)
    return save_figure(plt, fig, path)


def plot_waterfall(t, tasks, fits, centres, path) -> Path:
    n = len(fits)
    plt, fig, ax = new_figure(figsize=(6, max(4, 0.35 * n)))
    hours = (t - t.mean()) * 24
    step = 3 * max(np.std(f.residuals) for f in fits) + 0.004
    for k, (task, f) in enumerate(zip(tasks, fits, strict=True)):
        off = -k * step
        ax.plot(hours, task.flux / f.systematics + off, ".", ms=1.5, color="0.5")
        ax.plot(hours, f.model / f.systematics + off, "r-", lw=0.8)
        ax.text(hours[-1], 1 + off, f" {centres[k]:.2f} µm", fontsize=6, va="center")
    ax.set_xlabel("hours")
    ax.set_ylabel("detrended flux + offset")
    return save_figure(plt, fig, path)


def plot_spectrum(spectrum, path) -> Path:
    """The spectrum with its independent errors; left of it, the error every channel shares
    (`depth_err_common`) as one bar; the injected spectrum when a simulation gives it."""
    plt, fig, ax = new_figure(figsize=(7, 4))
    w = np.asarray(spectrum["wavelength"])
    d = 1e6 * np.asarray(spectrum["depth"])
    err = 1e6 * np.vstack([spectrum["depth_err_low"], spectrum["depth_err_high"]])
    ax.errorbar(
        w,
        d,
        yerr=err,
        xerr=np.asarray(spectrum["bin_half_width"]),
        fmt="o",
        ms=3,
        color="k",
        label="exolrs",
    )
    common = (
        1e6 * np.asarray(spectrum["depth_err_common"], float)
        if "depth_err_common" in spectrum.colnames
        else np.array([np.nan])
    )
    if len(w) and np.isfinite(common).any():
        ax.errorbar(
            [w.min() - 4 * np.max(spectrum["bin_half_width"])],
            [np.median(d)],
            yerr=[np.nanmedian(common)],
            fmt="none",
            capsize=4,
            color="C2",
            label="± common to every channel",
        )
    if "truth_depth" in spectrum.colnames:
        ax.step(
            w,
            1e6 * np.asarray(spectrum["truth_depth"]),
            where="mid",
            color="C1",
            label="injected (binned)",
        )
        meta = spectrum.meta
        title = (
            f"χ²ν = {meta.get('chi2_nu', np.nan):.2f}, "
            f"mean bias = {meta.get('mean_bias_sigma', np.nan):+.2f} σ"
        )
        if "chi2_nu_correlated" in meta:
            title += f"; with the common error χ²ν = {meta['chi2_nu_correlated']:.2f}"
        ax.set_title(title, fontsize=10)
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("transit depth (ppm)")
    ax.legend(fontsize=8)
    return save_figure(plt, fig, path)


def plot_corner(fit, path, names=("t0", "a", "b", "rp"), truths: dict | None = None) -> Path:
    """Posterior corner plot of the white fit's orbit parameters (`corner`), with the
    injected values overlaid when `truths` gives them (simulations).  t0 is shown in minutes
    from its median, so the axis labels stay short."""
    import corner

    idx = [fit.names.index(n) for n in names if n in fit.names]
    chain = np.array(fit.chain[:, idx], float)
    labels = [fit.names[i] for i in idx]
    truth = [None if truths is None else truths.get(n) for n in labels]
    if "t0" in labels:
        k = labels.index("t0")
        t_ref = np.median(chain[:, k])
        chain[:, k] = (chain[:, k] - t_ref) * 1440.0
        labels[k] = "t0 − median (min)"
        if truth[k] is not None:
            truth[k] = (truth[k] - t_ref) * 1440.0
    plt, fig, _ = new_figure(len(idx), len(idx), figsize=(1.9 * len(idx), 1.9 * len(idx)))
    corner.corner(
        chain,
        fig=fig,
        labels=labels,
        truths=truth if any(t is not None for t in truth) else None,
        truth_color="C1",
        quantiles=(0.16, 0.5, 0.84),
        show_titles=True,
        title_fmt=".3g",
        title_kwargs={"fontsize": 7},
        label_kwargs={"fontsize": 8},
        max_n_ticks=3,
    )
    for ax in fig.axes:
        ax.tick_params(labelsize=6)
    return save_figure(plt, fig, path)
