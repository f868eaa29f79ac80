"""Stage 4: spectra → white and spectroscopic light-curve fits → transmission spectrum.

The white light curve is fitted first with the orbit free; the spectroscopic channels are
then fitted with t0, a/R* and b fixed to the white fit's medians, each channel an
independent task (local processes or dask through `exolrs.parallel`).  `fit_light_curves`
is the stage in memory (the `FitLightCurvesStep` calls it); `run_stage4` reads the spectra
file, calls it, and writes the products and figures.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.config import Stage4Config
from exolrs.errors import ExolrsError
from exolrs.io.products import ensure_writable_dir
from exolrs.io.provenance import make_record, reusable, save_record
from exolrs.io.spectra import Spectra
from exolrs.io.tables import write_json, write_table
from exolrs.io.x1dints import load_spectra
from exolrs.parallel import Executor
from exolrs.plots import stage4 as plots
from exolrs.stage4 import binning, gp, ramp_bands, slow_ramp
from exolrs.stage4.accuracy import spectrum_metrics
from exolrs.stage4.channel_set import joint_ready
from exolrs.stage4.common_mode import common_depth_errors
from exolrs.stage4.fit import FitResult, fit_light_curve
from exolrs.stage4.fit_joint import fit_channels
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import (
    BOUNDS,
    limb_darkening_setup,
    slow_ramp_test,
    start_values,
    systematics_names,
    white_settings,
)
from exolrs.stats.allan import allan_slope

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
    note: str | None = None  # why present products were recomputed
    warnings: list[str] = field(default_factory=list)


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


@dataclass
class LightCurveFits:
    """What Stage 4 computes, in memory: the white light curve and its fit, the channels'
    light curves and fits, and the tables that `write_stage4` saves."""

    t: np.ndarray
    white_flux: np.ndarray
    white_err: np.ndarray
    white: FitResult
    white_info: dict
    centres: np.ndarray
    tasks: list[_ChannelTask]
    fits: list[FitResult]
    channel_table: Table
    spectrum: Table
    truth_metrics: dict | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    truths: dict | None = None  # injected orbit and white Rp/R* (simulations)
    skipped: list[float] = field(default_factory=list)  # channels (µm) that could not be fitted


def sampling_options(p: Stage4Config, white: bool) -> dict:
    """The `fit_light_curve` keywords the run file sets, for the white fit or a channel."""
    return {
        "n_steps": p.n_steps_white if white else p.n_steps_spec,
        "min_autocorr": p.min_autocorr,
        "sampler": p.sampler,
        "red_noise": p.red_noise,
    }


def fit_record(fit: FitResult) -> dict:
    """How a fit went: sampler, convergence, noise scale, red noise (β, or the GP's median
    rms relative to the propagated errors and time scale; NaN without a GP), evidence."""
    has_gp = gp.NAMES[0] in fit.names
    out = {
        "sampler": fit.sampler,
        "steps_over_autocorr": fit.steps_over_autocorr(),
        "error_scale": fit.error_scale,
        "red_noise_beta": fit.red_noise_beta,
        "gp_amplitude": float(np.exp(fit.best[gp.NAMES[0]])) if has_gp else np.nan,
        "gp_timescale_min": float(1440 * np.exp(fit.best[gp.NAMES[1]])) if has_gp else np.nan,
    }
    if fit.log_evidence is not None:
        out["log_evidence"] = fit.log_evidence
        out["log_evidence_err"] = fit.log_evidence_err
    return out


def injected_orbit(truth) -> dict | None:
    """t0, a, b and the white-light Rp/R* a simulation injected (its truth.json beside
    truth.ecsv), for the corner plot; None for real data."""
    path = Path(truth).with_name("truth.json") if truth is not None else None
    if path is None or not path.is_file():
        return None
    info = json.loads(path.read_text())
    orbit = info.get("orbit", {})
    out = {"t0": orbit.get("t0_bjd_tdb"), "a": orbit.get("a_rs"), "b": orbit.get("b")}
    if "white_depth_5_12um" in info:
        out["rp"] = float(np.sqrt(info["white_depth_5_12um"]))
    return {k: v for k, v in out.items() if v is not None}


def _channel_model(task: _ChannelTask) -> tuple[LightCurveModel, dict]:
    """A channel's model (orbit fixed to the white fit's) and its starting values."""
    p = task.params
    ld_free, ld_fixed = limb_darkening_setup(p, task.wave)
    fixed = {k: task.white[k] for k in ("t0", "a", "b")}
    if not p.spec_free_tau:
        fixed.update({k: task.white[k] for k in ("tau1", "tau2") if k in task.white})
    fixed.update(ld_fixed)
    if p.planet.eclipse:  # the planet's size and the limb darkening do not enter an eclipse
        fixed.update({k: task.white[k] for k in ("rp", "q1", "q2")})
        free = ["fp", *systematics_names(p, p.spec_free_tau)]
    else:
        free = ["rp", *ld_free, *systematics_names(p, p.spec_free_tau)]
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
    return m, {**start_values(p, task.t, task.flux), **task.white}


GROUP_SIZE = 12  # channels sampled in lockstep per task, at most


def channel_groups(n: int) -> list[np.ndarray]:
    """Channel indices in groups of ≤ GROUP_SIZE sampled in lockstep, an even number of
    groups of near-equal size (two workers finish together: 28 channels in groups of 12, 12
    and 4 left a core idle for the last third).  Fixed by n alone, so the results do not
    depend on the number of workers."""
    count = 2 * max(1, -(-n // (2 * GROUP_SIZE))) if n > 1 else 1
    return [g for g in np.array_split(np.arange(n), count) if len(g)]


def _fit_channel_group(group: list[_ChannelTask]) -> list[FitResult]:
    """Fit a group of channels: in lockstep when they can be stacked (the de sampler, ramp
    time scales fixed), otherwise one by one."""
    p = group[0].params
    pairs = [_channel_model(task) for task in group]
    models = [m for m, _ in pairs]
    if p.sampler != "de" or not joint_ready(models):
        options = sampling_options(p, False)
        return [
            fit_light_curve(m, start, seed=p.seed + 1 + task.k, **options)
            for (m, start), task in zip(pairs, group, strict=True)
        ]
    options = sampling_options(p, False)
    options.pop("sampler")
    return fit_channels(models, [s for _, s in pairs], seed=p.seed + 1 + group[0].k, **options)


def stage4_params(params: Stage4Config | None, overrides: dict) -> Stage4Config:
    """The run file's `stage4:` section with keyword overrides, validated."""
    p = Stage4Config.model_validate({**(params or Stage4Config()).model_dump(), **overrides})
    if p.planet.period is None:
        raise ExolrsError("stage4: planet: period: is required (days), e.g. 4.05528 for WASP-39b")
    return p


MIN_POINTS = 10  # fewest integrations a light-curve fit is attempted on


def check_drop_first(drop_first: int, nints: int) -> None:
    """`drop_first` must leave at least MIN_POINTS integrations to fit."""
    if drop_first > nints - MIN_POINTS:
        raise ExolrsError(
            f"stage4: drop_first = {drop_first} leaves {max(nints - drop_first, 0)} of "
            f"{nints} integrations; give at most {max(nints - MIN_POINTS, 0)}."
        )


def check_against_spectra(spec: Spectra, p: Stage4Config) -> None:
    """The `stage4:` ranges against the spectra, before any fit: `drop_first` leaves enough
    integrations, `white_range` and `bin_edges` lie within the wavelengths, the white light
    has finite, non-zero errors and is not constant.  Each problem is one ExolrsError that
    names the key, the value and what is allowed."""
    check_drop_first(p.drop_first, len(spec.time))
    wmin, wmax = float(np.min(spec.wave)), float(np.max(spec.wave))
    lo, hi = p.white_range
    if not (lo < hi and lo >= wmin - 1e-6 and hi <= wmax + 1e-6):
        raise ExolrsError(
            f"stage4: white_range = [{lo}, {hi}] µm must lie within the spectra's "
            f"{wmin:.3f}–{wmax:.3f} µm."
        )
    if p.binning == "edges" and p.bin_edges is not None:
        e = np.asarray(p.bin_edges, float)
        if e.min() < wmin - 1e-6 or e.max() > wmax + 1e-6:
            raise ExolrsError(
                f"stage4: bin_edges span {e.min()}–{e.max()} µm, beyond the spectra's "
                f"{wmin:.3f}–{wmax:.3f} µm."
            )
    band = (spec.wave >= lo) & (spec.wave <= hi)
    flux, err = spec.flux[p.drop_first :, band], spec.flux_err[p.drop_first :, band]
    white = np.nansum(flux, axis=1)
    white_err = np.sqrt(np.nansum(err**2, axis=1))
    if not np.isfinite(white).all() or not (white_err > 0).all():
        raise ExolrsError(
            "stage4: the white light curve has integrations with no finite flux or a zero "
            "error; check the spectra (Stage 3) and the flagged pixels."
        )
    if np.ptp(white) == 0:
        raise ExolrsError("stage4: the white light curve is constant; nothing to fit")


def detrending_vectors(spec: Spectra, p: Stage4Config, keep, source, detrend_table=None) -> dict:
    """The `detrend:` vectors by name, from the spectra file (x_shift, y_shift, stretch) or
    a table (e.g. Stage 2's PCA time series), cut to the fitted integrations."""
    extra = Table.read(detrend_table) if detrend_table and Path(detrend_table).exists() else None
    detrend = {}
    for name in p.detrend:
        value = getattr(spec, name, None)
        if value is None and extra is not None and name in extra.colnames:
            value = extra[name]
        if value is None:
            raise ExolrsError(
                f"detrending vector {name!r} is neither in {source} (x_shift, y_shift, "
                f"stretch) nor in {detrend_table or 'a detrending table'} (e.g. pca_1 …)"
            )
        detrend[name] = np.asarray(value, float)[keep]
    return detrend


def fit_light_curves(
    spec: Spectra,
    p: Stage4Config,
    *,
    truth=None,
    detrend_table=None,
    executor=None,
    progress=None,
    white_progress=None,
    source="the spectra",
) -> LightCurveFits:
    """Fit the white and spectroscopic light curves of `spec`; `truth` (the simulation's
    truth.ecsv) adds the injected depth per channel and the χ²ν / bias metrics."""
    check_against_spectra(spec, p)
    seconds: dict[str, float] = {}
    t_start = time.perf_counter()
    keep = slice(p.drop_first, None)
    t = np.asarray(spec.time, float)[keep]
    detrend = detrending_vectors(spec, p, keep, source, detrend_table)
    # white light curve
    wf, we = binning.white_light_curve(spec.wave, spec.flux, spec.flux_err, p.white_range)
    norm = np.median(wf[keep])
    wflux, werr = wf[keep] / norm, we[keep] / norm
    ld_free, ld_fixed = limb_darkening_setup(p, float(np.mean(p.white_range)))
    orbit = [n for n in ("t0", "a", "b") if n not in p.planet.fixed]
    ld_fixed = {**ld_fixed, **{n: getattr(p.planet, n) for n in p.planet.fixed}}
    if p.planet.eclipse:
        if p.planet.rp is None:
            raise ExolrsError("stage4: an eclipse fit needs planet: rp: (Rp/R*) and a, b")
        ld_fixed = {"q1": 0.1, "q2": 0.3, "rp": p.planet.rp, "a": p.planet.a, "b": p.planet.b}
    bounds = {**BOUNDS, "t0": (float(t[0]), float(t[-1]))}

    def white_model(extra_ramp: bool) -> LightCurveModel:
        names = systematics_names(white_settings(p, extra_ramp), True)
        free = ["t0", "fp", *names] if p.planet.eclipse else [*orbit, "rp", *ld_free, *names]
        return LightCurveModel(
            t, wflux, werr, p.planet.period, free, ld_fixed, bounds, detrend, p.planet.eclipse
        )

    start = start_values(p, t, wflux)
    m, white, split, slow_record = _white_fit(p, white_model, start, t - t[0], white_progress)
    seconds["white_fit"] = round(time.perf_counter() - t_start, 2)
    static = spec.static_err if p.flat_error and spec.static_err is not None else None
    white_flat = float("nan")
    if static is not None:
        sel = (spec.wave >= p.white_range[0]) & (spec.wave <= p.white_range[1])
        white_flat = float(
            binning.dilution_error(white.depth()[0], np.nansum(static[sel] ** 2), norm)
        )
    white_info = {
        "best": white.best,
        "err_low": white.low,
        "err_high": white.high,
        "depth": white.depth(),
        "depth_err_flat": white_flat,
        "residual_rms_ppm": float(1e6 * np.std(white.residuals)),
        "expected_noise_ppm": float(1e6 * np.median(werr)),
        "acceptance_fraction": white.acceptance,
        "autocorr_time": white.autocorr,
        **fit_record(white),
        "allan_slope": allan_slope(white.residuals),
        "n_points": len(t),
    }

    # spectroscopic channels
    t1 = time.perf_counter()
    edges = binning.bin_edges(
        spec.wave, spec.wave_err, p.binning, p.resolution, p.bin_width, p.bin_edges, p.white_range
    )
    centres, half, bf, be = binning.bin_light_curves(spec.wave, spec.flux, spec.flux_err, edges)
    usable = binning.usable_channels(bf[keep], be[keep])
    skipped = [round(float(c), 4) for c in centres[~usable]]
    if skipped:
        log.warning(
            "stage4: %d channel(s) at %s µm not fitted: non-finite, zero or constant flux or "
            "errors in the fitted integrations (dead or fully flagged pixels)",
            len(skipped),
            ", ".join(f"{c:.3f}" for c in skipped),
        )
    if not usable.any():
        raise ExolrsError(
            "stage4: no channel can be fitted (every binned light curve has non-finite, zero "
            "or constant flux or errors); check the spectra (Stage 3) and the flagged pixels."
        )
    centres, half, bf, be = centres[usable], half[usable], bf[:, usable], be[:, usable]
    channel_white = white.best
    slow = None
    if slow_record is not None:
        white_info["common_slow_ramp"] = slow_record
    flux_level = np.median(bf[keep], axis=0)  # what the flat's offset dilutes
    if split is not None:  # the same fraction of every channel's flux: divided out
        slow, channel_white, record = split
        white_info["common_slow_ramp"].update(record)
        bf, be = bf.copy(), be.copy()
        bf[keep] /= 1.0 + slow[:, None]
        be[keep] /= 1.0 + slow[:, None]
    med = np.median(bf[keep], axis=0)
    static_var = (
        np.zeros(len(centres))
        if static is None
        else binning.bin_variance(spec.wave, static**2, edges)[usable]
    )
    channel_whites = [channel_white] * len(centres)
    if p.tau_bands is not None:
        channel_whites, white_info["tau_bands"] = _band_time_scales(
            spec, p, keep, t, detrend, channel_white, slow, centres
        )
    tasks = [
        _ChannelTask(
            k,
            float(centres[k]),
            t,
            bf[keep, k] / med[k],
            be[keep, k] / med[k],
            detrend,
            channel_whites[k],
            p,
        )
        for k in range(len(centres))
    ]
    executor = executor or Executor()
    groups = channel_groups(len(tasks))
    fits = []
    if progress:
        progress(0, len(tasks))
    for part in executor.ordered_map(_fit_channel_group, [[tasks[i] for i in g] for g in groups]):
        fits.extend(part)
        if progress:
            progress(len(fits), len(tasks))
    seconds["channel_fits"] = round(time.perf_counter() - t1, 2)
    t2 = time.perf_counter()
    common, common_record = _common_errors(m, white, tasks, fits)
    white_info.update(common_record)
    seconds["common_error"] = round(time.perf_counter() - t2, 2)

    rows = []
    names = list(dict.fromkeys(n for f in fits for n in f.names))  # `auto`: some have the GP
    for k, f in enumerate(fits):
        d, lo, hi = f.depth()
        flat = float(binning.dilution_error(d, static_var[k], flux_level[k]))
        row = {
            "wavelength": centres[k],
            "bin_half_width": half[k],
            "depth": d,
            "depth_err_low": float(np.hypot(lo, flat)),  # the fit's and the flat's
            "depth_err_high": float(np.hypot(hi, flat)),
            "depth_err_flat": flat,
            "depth_err_common": float(common[k]),
            "residual_rms_ppm": 1e6 * np.std(f.residuals),
            "expected_noise_ppm": 1e6 * np.median(tasks[k].err),
            "acceptance": f.acceptance,
            **fit_record(f),
        }
        row.pop("sampler")
        for name in names:
            free = name in f.names
            row[name] = f.best[name] if free else np.nan
            row[f"{name}_err"] = 0.5 * (f.high[name] - f.low[name]) if free else np.nan
        rows.append(row)
    fit_table = Table(rows=rows)
    truth_metrics = None
    spectrum = fit_table[
        "wavelength",
        "bin_half_width",
        "depth",
        "depth_err_low",
        "depth_err_high",
        "depth_err_flat",
        "depth_err_common",
    ]
    spectrum["wavelength"].unit = spectrum["bin_half_width"].unit = "micron"
    if skipped:
        spectrum.meta["skipped_channels_um"] = fit_table.meta["skipped_channels_um"] = skipped
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
        truth_metrics = spectrum_metrics(
            spectrum["depth"], spectrum["truth_depth"], sigma, spectrum["depth_err_common"]
        )
        spectrum.meta.update(truth_metrics)
    return LightCurveFits(
        t,
        wflux,
        werr,
        white,
        white_info,
        centres,
        tasks,
        fits,
        fit_table,
        spectrum,
        truth_metrics,
        seconds,
        injected_orbit(truth),
        skipped,
    )


def _white_fit(p: Stage4Config, white_model, start: dict, ts: np.ndarray, progress):
    """The white light's fit (`white_model(extra_ramp)` its model, `ts` its times since the
    first), with one ramp more where `common_slow_ramp` takes it (`auto`:
    unless `slow_ramp.measured` refuses it; a split the posterior makes unphysical refits
    without it, or stops `true` with an error).  Returns the model fitted, the fit, the
    split (`slow_ramp.slow_ramp`'s, or None) and the record for white_fit.json (None when
    the option is off)."""

    def fit(extra_ramp: bool) -> tuple[LightCurveModel, FitResult]:
        m = white_model(extra_ramp)
        options = sampling_options(p, True)
        return m, fit_light_curve(
            m, start, seed=p.seed, keep_chain=True, progress=progress, **options
        )

    use, record = p.common_slow_ramp is True, None
    if slow_ramp_test(p):  # the extra ramp unless the white light refuses it
        use, record = slow_ramp.measured(white_model(False), white_model(True), start)
    m, white = fit(use)
    split = slow_ramp.slow_ramp(white.best, ts, white.systematics) if use else None
    if use and split is None:
        message = (
            "stage4: common_slow_ramp: the white fit's slow ramp trades against its polynomial "
            "(a coefficient outside its physical range or a baseline that is not positive)"
        )
        if p.common_slow_ramp is True:
            raise ExolrsError(message + "; use common_slow_ramp: auto or false")
        log.warning("%s: the white light refitted without it", message)
        record = {**(record or {}), "refused_after_sampling": True}
        m, white = fit(False)
    if record is None and not use:
        return m, white, None, None
    return m, white, split, {"used": split is not None, **(record or {})}


def _band_time_scales(spec, p, keep, t, detrend, white: dict, slow, centres):
    """`stage4: tau_bands`: each channel's white values with its ramp time scales from the
    broad bands' fits (`ramp_bands`), and a record of the bands'."""
    edges = np.asarray(p.tau_bands, float)
    bc, _, bf, be = binning.bin_light_curves(spec.wave, spec.flux, spec.flux_err, edges)
    bf, be = bf[keep], be[keep]
    if slow is not None:
        bf, be = bf / (1.0 + slow[:, None]), be / (1.0 + slow[:, None])
    band_p = p.model_copy(update={"spec_free_tau": True, "tau_bands": None})
    names = [f"tau{k}" for k in range(1, p.n_ramps + 1)]
    usable = binning.usable_channels(bf, be)  # a band of dead pixels is not measured
    measured = []
    for k in range(len(bc)):
        if not usable[k]:
            measured.append(dict.fromkeys(names))
            continue
        norm = np.median(bf[:, k])
        task = _ChannelTask(
            k, float(bc[k]), t, bf[:, k] / norm, be[:, k] / norm, detrend, white, band_p
        )
        measured.append(ramp_bands.fitted_time_scales(*_channel_model(task), names))
    per_channel = ramp_bands.channel_time_scales(bc, measured, white, centres)
    record = {
        "centres_um": [float(c) for c in bc],
        **{f"{n}_hours": [None if b[n] is None else 24.0 * b[n] for b in measured] for n in names},
    }
    return [{**white, **taus} for taus in per_channel], record


def _common_errors(white_model, white: FitResult, tasks, fits) -> tuple[np.ndarray, dict]:
    """`common_mode.common_depth_errors` for the channels (NaN, with a warning, when a
    channel's design is singular there)."""
    try:
        return common_depth_errors(
            white_model,
            white.best,
            [_channel_model(task)[0] for task in tasks],
            [f.best for f in fits],
        )
    except np.linalg.LinAlgError as exc:
        log.warning("stage4: no common (correlated) depth error: %s", exc)
        return np.full(len(tasks), np.nan), {}


def stage4_result(output_dir) -> Stage4Result:
    """The product paths of Stage 4 in `output_dir`."""
    out = Path(output_dir)
    return Stage4Result(
        out / "white_fit.json",
        out / "transmission_spectrum.ecsv",
        out / "channel_fits.ecsv",
        out / "light_curves.ecsv",
    )


def write_stage4(lc: LightCurveFits, output_dir) -> Stage4Result:
    """Write white_fit.json, channel_fits.ecsv, transmission_spectrum.ecsv and
    light_curves.ecsv."""
    result = stage4_result(output_dir)
    write_json(lc.white_info, result.white_fit, default=float)
    write_table(lc.channel_table, result.channel_fits)
    write_table(lc.spectrum, result.spectrum)
    table = Table(
        {
            "time": lc.t,
            "white_flux": lc.white_flux,
            "white_err": lc.white_err,
            "white_model": lc.white.model,
            "white_systematics": lc.white.systematics,
        }
    )
    for k, f in enumerate(lc.fits):
        table[f"flux_{k:02d}"] = lc.tasks[k].flux
        table[f"err_{k:02d}"] = lc.tasks[k].err
        table[f"model_{k:02d}"] = f.model
    table.meta["wavelengths"] = [float(c) for c in lc.centres]
    write_table(table, result.light_curves)
    result.truth_metrics = lc.truth_metrics
    result.seconds = dict(lc.seconds)
    if lc.skipped:
        result.warnings.append(
            f"stage4: channels at {', '.join(f'{c:.3f}' for c in lc.skipped)} µm not fitted "
            "(non-finite, zero or constant flux or errors); listed in "
            "transmission_spectrum.ecsv's meta as skipped_channels_um"
        )
    return result


def plot_stage4(lc: LightCurveFits, output_dir) -> list[Path]:
    """White light curve, Allan plot, spectroscopic waterfall, spectrum, corner plot."""
    out = Path(output_dir)
    return [
        plots.plot_white(lc.t, lc.white_flux, lc.white, out / "white_light_curve.png"),
        plots.plot_allan(lc.white.residuals, out / "allan.png"),
        plots.plot_waterfall(
            lc.t, lc.tasks, lc.fits, lc.centres, out / "spectroscopic_light_curves.png"
        ),
        plots.plot_spectrum(lc.spectrum, out / "transmission_spectrum.png"),
        plots.plot_corner(lc.white, out / "white_corner.png", truths=lc.truths),
    ]


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
    white_progress=None,
    **overrides,
) -> Stage4Result:
    """Fit the light curves of a Stage 3 spectra file (or a jwst x1dints product); write
    Stage 4 products.

    `progress(done, total)` is called after each group of channels, `white_progress(done,
    total)` as the white fit's chain grows (in autocorrelation times); `detrend_table` (ECSV, e.g.
    Stage 2's `<target>_pca_timeseries.ecsv`) supplies detrending vectors by column name."""
    p = stage4_params(params, overrides)
    out = ensure_writable_dir(output_dir)
    paths = stage4_result(out)
    extra = [x for x in (detrend_table, truth) if x is not None and Path(x).exists()]
    record = make_record([spectra_path, *extra], p.model_dump(mode="json"))
    reuse, note = reusable(
        out, "stage4", record, [paths.white_fit, paths.spectrum, paths.channel_fits], force_redo
    )
    if reuse:
        return paths
    t_start = time.perf_counter()
    lc = fit_light_curves(
        load_spectra(spectra_path),
        p,
        truth=truth,
        detrend_table=detrend_table,
        executor=executor,
        progress=progress,
        white_progress=white_progress,
        source=spectra_path,
    )
    result = write_stage4(lc, out)
    if do_plot:
        result.figures = plot_stage4(lc, out)
    result.seconds["total"] = round(time.perf_counter() - t_start, 2)
    save_record(out, "stage4", record)
    result.note = note
    return result


def _match(edges, centres, values):
    mids = 0.5 * (edges[:-1] + edges[1:])
    return np.array([values[np.argmin(np.abs(mids - c))] for c in centres])
