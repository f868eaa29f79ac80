"""Stage 4: spectra → white and spectroscopic light-curve fits → transmission spectrum.

The white light curve is fitted first with the orbit free; the spectroscopic channels are
then fitted with t0, a/R* and b fixed to the white fit's medians, each channel an
independent task (local processes or dask through `exolrs.parallel`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.config import Stage4Config
from exolrs.errors import ExolrsError
from exolrs.stage4.fit import FitResult, fit_light_curve
from exolrs.stage4.limb_darkening import table_coefficients, u_to_q
from exolrs.stage4.model import LightCurveModel

log = logging.getLogger(__name__)


@dataclass
class Stage4Result:
    white_fit: Path
    spectrum: Path
    channel_fits: Path
    light_curves: Path
    figures: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    truth_metrics: dict | None = None


# columns of transmission_spectrum.ecsv (truth_depth only for simulations)
SPECTRUM_COLUMNS = (
    "wavelength",
    "bin_half_width",
    "depth",
    "depth_err_low",
    "depth_err_high",
    "truth_depth",
)

BOUNDS = {
    "t0": (-np.inf, np.inf),
    "a": (1.5, 100.0),
    "b": (0.0, 1.5),
    "rp": (1e-3, 0.5),
    "q1": (0.0, 1.0),
    "q2": (0.0, 1.0),
    "A1": (-0.2, 0.2),
    "tau1": (1e-4, 1.0),
    "A2": (-0.2, 0.2),
    "tau2": (1e-4, 1.0),
    "c0": (0.5, 1.5),
    "c1": (-1.0, 1.0),
    "c2": (-10.0, 10.0),
    "ln_jit": (-20.0, -3.0),
    "fp": (0.0, 0.1),
}


def _systematics_names(p: Stage4Config, free_tau: bool) -> list[str]:
    names = ["c0", *[f"c{k}" for k in range(1, p.poly_order + 1)]]
    for k in range(1, p.n_ramps + 1):
        names.append(f"A{k}")
        if free_tau:
            names.append(f"tau{k}")
    return [*names, *[f"d_{n}" for n in p.detrend], "ln_jit"]


def _ld(p: Stage4Config, wave: float) -> tuple[list[str], dict]:
    """Free LD names and fixed LD values for a channel at `wave`."""
    if p.limb_darkening == "fit":
        return ["q1", "q2"], {}
    if p.limb_darkening == "fixed":
        u1, u2 = p.u1, p.u2
    else:
        if p.ld_table is None:
            raise ExolrsError("limb_darkening: table needs `ld_table:` (wavelength, u1, u2)")
        a, b = table_coefficients(p.ld_table, np.array([wave]))
        u1, u2 = float(a[0]), float(b[0])
    q1, q2 = u_to_q(u1, u2)
    return [], {"q1": float(q1), "q2": float(np.clip(q2, 0, 1))}


def _start(p: Stage4Config, t, flux) -> dict:
    smooth = np.convolve(flux, np.ones(5) / 5, mode="same")
    t0 = p.planet.t0 if p.planet.t0 is not None else float(t[2 + np.argmin(smooth[2:-2])])
    depth = max(1.0 - np.min(smooth[2:-2]) / np.median(flux), 1e-4)
    rp = p.planet.rp or float(np.sqrt(depth))
    return {
        "t0": t0,
        "a": p.planet.a,
        "b": p.planet.b,
        "rp": rp,
        "q1": 0.1,
        "q2": 0.3,
        "A1": 0.0,
        "tau1": 0.01,
        "A2": 0.0,
        "tau2": 0.05,
        "c0": 1.0,
        "c1": 0.0,
        "c2": 0.0,
        "ln_jit": -10.0,
        "fp": 1e-3,
        **{f"d_{n}": 0.0 for n in p.detrend},
    }


@dataclass
class _ChannelTask:
    k: int
    wave: float
    t: np.ndarray
    flux: np.ndarray
    err: np.ndarray
    detrend: dict
    white: dict
    params: Stage4Config


def _fit_channel(task: _ChannelTask) -> FitResult:
    p = task.params
    ld_free, ld_fixed = _ld(p, task.wave)
    fixed = {k: task.white[k] for k in ("t0", "a", "b")}
    if not p.spec_free_tau:
        fixed.update({k: task.white[k] for k in ("tau1", "tau2") if k in task.white})
    fixed.update(ld_fixed)
    if p.planet.eclipse:  # the planet's size and the limb darkening do not enter an eclipse
        fixed.update({k: task.white[k] for k in ("rp", "q1", "q2")})
        free = ["fp", *_systematics_names(p, p.spec_free_tau)]
    else:
        free = ["rp", *ld_free, *_systematics_names(p, p.spec_free_tau)]
    m = LightCurveModel(
        task.t,
        task.flux,
        task.err,
        p.planet.period,
        free,
        fixed,
        BOUNDS,
        task.detrend,
        p.planet.eclipse,
    )
    start = {**_start(p, task.t, task.flux), **task.white}
    return fit_light_curve(m, start, n_steps=p.n_steps_spec, seed=p.seed + 1 + task.k)


def run_stage4(
    spectra_path,
    output_dir,
    *,
    params: Stage4Config | None = None,
    truth=None,
    detrend_table=None,
    executor=None,
    force_redo: bool = False,
    do_plot: bool = True,
    progress=None,
    **overrides,
) -> Stage4Result:
    """Fit the light curves of a Stage 3 spectra file; write Stage 4 products.

    `progress(done, total)` is called after each channel fit; `detrend_table` (ECSV, e.g.
    Stage 2's `<target>_pca_timeseries.ecsv`) supplies detrending vectors by column name."""
    from exolrs.io.products import ensure_writable_dir
    from exolrs.io.spectra import read_spectra
    from exolrs.parallel import Executor
    from exolrs.stage4 import binning
    from exolrs.stage4.allan import allan_slope

    p = Stage4Config.model_validate({**(params or Stage4Config()).model_dump(), **overrides})
    if p.planet.period is None:
        raise ExolrsError("stage4: planet: period: is required (days), e.g. 4.05528 for WASP-39b")
    out = ensure_writable_dir(output_dir)
    result = Stage4Result(
        out / "white_fit.json",
        out / "transmission_spectrum.ecsv",
        out / "channel_fits.ecsv",
        out / "light_curves.ecsv",
    )
    if not force_redo and all(
        x.exists() for x in (result.white_fit, result.spectrum, result.channel_fits)
    ):
        return result
    t_start = time.perf_counter()
    spec = read_spectra(spectra_path)
    keep = slice(p.drop_first, None)
    t = np.asarray(spec.time, float)[keep]
    extra = Table.read(detrend_table) if detrend_table and Path(detrend_table).exists() else None
    detrend = {}
    for name in p.detrend:
        value = getattr(spec, name, None)
        if value is None and extra is not None and name in extra.colnames:
            value = extra[name]
        if value is None:
            raise ExolrsError(
                f"detrending vector {name!r} is neither in {spectra_path} (x_shift, y_shift, "
                f"stretch) nor in {detrend_table or 'a detrending table'} (e.g. pca_1 …)"
            )
        detrend[name] = np.asarray(value, float)[keep]

    # white light curve
    wf, we = binning.white_light_curve(spec.wave, spec.flux, spec.flux_err, p.white_range)
    norm = np.median(wf[keep])
    wflux, werr = wf[keep] / norm, we[keep] / norm
    ld_free, ld_fixed = _ld(p, float(np.mean(p.white_range)))
    free = ["t0", "a", "b", "rp", *ld_free, *_systematics_names(p, True)]
    if p.planet.eclipse:
        if p.planet.rp is None:
            raise ExolrsError("stage4: an eclipse fit needs planet: rp: (Rp/R*) and a, b")
        ld_fixed = {"q1": 0.1, "q2": 0.3, "rp": p.planet.rp, "a": p.planet.a, "b": p.planet.b}
        free = ["t0", "fp", *_systematics_names(p, True)]
    bounds = {**BOUNDS, "t0": (float(t[0]), float(t[-1]))}
    m = LightCurveModel(
        t, wflux, werr, p.planet.period, free, ld_fixed, bounds, detrend, p.planet.eclipse
    )
    start = _start(p, t, wflux)
    white = fit_light_curve(m, start, n_steps=p.n_steps_white, seed=p.seed, keep_chain=True)
    result.seconds["white_fit"] = round(time.perf_counter() - t_start, 2)
    white_info = {
        "best": white.best,
        "err_low": white.low,
        "err_high": white.high,
        "depth": white.depth(),
        "residual_rms_ppm": float(1e6 * np.std(white.residuals)),
        "expected_noise_ppm": float(1e6 * np.median(werr)),
        "acceptance_fraction": white.acceptance,
        "autocorr_time": white.autocorr,
        "steps_over_autocorr": float(white.n_steps / np.nanmax(list(white.autocorr.values()))),
        "allan_slope": allan_slope(white.residuals),
        "n_points": len(t),
    }
    _write_json(white_info, result.white_fit)

    # spectroscopic channels
    t1 = time.perf_counter()
    edges = binning.bin_edges(
        spec.wave, spec.wave_err, p.binning, p.resolution, p.bin_width, p.bin_edges, p.white_range
    )
    centres, half, bf, be = binning.bin_light_curves(spec.wave, spec.flux, spec.flux_err, edges)
    med = np.median(bf[keep], axis=0)
    tasks = [
        _ChannelTask(
            k,
            float(centres[k]),
            t,
            bf[keep, k] / med[k],
            be[keep, k] / med[k],
            detrend,
            white.best,
            p,
        )
        for k in range(len(centres))
    ]
    executor = executor or Executor()
    fits = []
    for fit in executor.ordered_map(_fit_channel, tasks):
        fits.append(fit)
        if progress:
            progress(len(fits), len(tasks))
    result.seconds["channel_fits"] = round(time.perf_counter() - t1, 2)

    rows = []
    for k, f in enumerate(fits):
        d, lo, hi = f.depth()
        row = {
            "wavelength": centres[k],
            "bin_half_width": half[k],
            "depth": d,
            "depth_err_low": lo,
            "depth_err_high": hi,
            "residual_rms_ppm": 1e6 * np.std(f.residuals),
            "expected_noise_ppm": 1e6 * np.median(tasks[k].err),
            "acceptance": f.acceptance,
        }
        for name in f.names:
            row[name] = f.best[name]
            row[f"{name}_err"] = 0.5 * (f.high[name] - f.low[name])
        rows.append(row)
    fit_table = Table(rows=rows)
    _write_table(fit_table, result.channel_fits)
    spectrum = fit_table["wavelength", "bin_half_width", "depth", "depth_err_low", "depth_err_high"]
    spectrum["wavelength"].unit = spectrum["bin_half_width"].unit = "micron"
    if truth is not None and Path(truth).exists():
        tt = Table.read(truth)
        truth_depth = binning.bin_truth(
            np.asarray(tt["wavelength"]),
            np.asarray(tt["depth"]),
            np.asarray(tt["stellar_flux"]),
            edges,
        )
        spectrum["truth_depth"] = _match(edges, centres, truth_depth)
        sigma = 0.5 * (spectrum["depth_err_low"] + spectrum["depth_err_high"])
        z = (spectrum["depth"] - spectrum["truth_depth"]) / sigma
        result.truth_metrics = {
            "chi2_nu": float(np.mean(z**2)),
            "mean_bias_sigma": float(np.mean(z)),
            "n_channels": len(z),
        }
        spectrum.meta.update(result.truth_metrics)
    _write_table(spectrum, result.spectrum)
    lc = Table(
        {
            "time": t,
            "white_flux": wflux,
            "white_err": werr,
            "white_model": white.model,
            "white_systematics": white.systematics,
        }
    )
    for k, f in enumerate(fits):
        lc[f"flux_{k:02d}"] = tasks[k].flux
        lc[f"err_{k:02d}"] = tasks[k].err
        lc[f"model_{k:02d}"] = f.model
    lc.meta["wavelengths"] = [float(c) for c in centres]
    _write_table(lc, result.light_curves)
    if do_plot:
        from exolrs.plots import stage4 as P

        result.figures = [
            P.plot_white(t, wflux, white, out / "white_light_curve.png"),
            P.plot_allan(white.residuals, out / "allan.png"),
            P.plot_waterfall(t, tasks, fits, centres, out / "spectroscopic_light_curves.png"),
            P.plot_spectrum(spectrum, out / "transmission_spectrum.png"),
            P.plot_corner(white, out / "white_corner.png"),
        ]
    result.seconds["total"] = round(time.perf_counter() - t_start, 2)
    return result


def _match(edges, centres, values):
    mids = 0.5 * (edges[:-1] + edges[1:])
    return np.array([values[np.argmin(np.abs(mids - c))] for c in centres])


def _write_json(info: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(info, indent=1, default=float))
    os.replace(tmp, path)


def _write_table(table: Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.part")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    os.replace(tmp, path)


class FitLightCurvesStep:
    """Tutorial-style wrapper of `run_stage4`:

    >>> FitLightCurvesStep("W_box_spectra_fullres.fits", output_dir="Stage4").run(
    ...     planet={"period": 4.05528}, resolution=20)  # doctest: +SKIP
    """

    def __init__(self, spectra, output_dir="Stage4", truth=None, **kwargs):
        self.spectra, self.output_dir, self.truth, self.kwargs = spectra, output_dir, truth, kwargs

    def run(
        self, force_redo: bool = False, do_plot: bool = True, maximum_cores: int = 1, **params
    ) -> Stage4Result:
        from exolrs.parallel import make_executor

        with make_executor("processes", maximum_cores) as ex:
            return run_stage4(
                self.spectra,
                self.output_dir,
                truth=self.truth,
                executor=ex,
                force_redo=force_redo,
                do_plot=do_plot,
                **{**self.kwargs, **params},
            )
