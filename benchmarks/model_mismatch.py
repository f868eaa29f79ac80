"""How far Stage 4's white-light model is from the simulated truth, without noise.

    python benchmarks/model_mismatch.py SIMDIR REDUCTION [--label NAME]
    python benchmarks/model_mismatch.py SIMDIR REDUCTION --channels [--variants a,b] [--label NAME]

SIMDIR is an `exolrs simulate` folder: `truth_pointing.ecsv` holds, per integration, the
injected white-light transit and systematics (and the red noise inside them),
`truth.json` the white depth.  REDUCTION is a finished reduction of it (its Stage 4
`light_curves.ecsv` gives the fitted times and white errors, its `run.json` the run file's
`drop_first` and orbit guesses).  The noise-free truth T·S — and T·S with the red noise
taken out — is fitted by least squares with the white model of each candidate systematics
(`n_ramps`, `poly_order`), exactly as Stage 4 starts its white fit; the depth minus the
injected one is what the model's shape alone costs, before any photon.  Comparing with the
measured white light curve's fit separates the model mismatch from the noise.  Appends to
results/<date>-model-mismatch.json under `--label`.

With `--channels`, the same for the spectrum: the simulator's own scene (its configuration in
`truth.json`: the per-row transit, ramps and detector settling, weighted by the star's rate
per row) gives each of the reduction's channels a noise-free light curve; Stage 4's white
fit (orbit free) then its channel fits (orbit and ramp time scales fixed to the white's) run
by least squares for each stage4_variants variant.  Per channel: depth − injected (ppm) and
in units of the reduction's own depth error — the bias the model's shape alone puts into
the spectrum, which no number of seeds averages away.  Appends to
results/<date>-channel-mismatch.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.config import Stage4Config
from exolrs.stage4.fit import least_squares_start
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import (
    BOUNDS,
    slow_ramp_test,
    start_values,
    systematics_names,
    white_settings,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the benchmarks' shared helpers)
from stage4_variants import VARIANTS  # noqa: E402

MODELS = ((1, 1), (1, 2), (2, 1))  # (n_ramps, poly_order)
# the run file's stage4 keys that shape the noise-free fits (no detrending vectors here)
SHAPE = ("planet", "n_ramps", "poly_order", "spec_free_tau", "common_slow_ramp")


def _model(t, flux, err, p: Stage4Config, free, fixed=None):
    """Stage 4's light-curve model of `flux` (normalised to its median) with `free`
    parameters, and its starting values."""
    f = np.asarray(flux, float) / np.median(flux)
    bounds = {**BOUNDS, "t0": (float(t[0]), float(t[-1]))}
    m = LightCurveModel(t, f, err, p.planet.period, free, fixed or {}, bounds)
    return m, start_values(p, t, f)


def _least_squares(t, flux, err, p: Stage4Config, free, fixed=None, start=None) -> dict:
    """Best values of `_model` fitted by least squares, as Stage 4 starts its fits."""
    m, first = _model(t, flux, err, p, free, fixed)
    theta, _ = least_squares_start(m, {**first, **(start or {})})
    values, _ = m.best_fit(theta)
    return values


def white_free(p: Stage4Config) -> list[str]:
    """The white fit's free parameters (orbit and limb darkening free)."""
    return ["t0", "a", "b", "rp", "q1", "q2", *systematics_names(p, True)]


def white_values(t, flux, err, p: Stage4Config) -> dict:
    """Stage 4's white fit (orbit and limb darkening free) by least squares."""
    return _least_squares(t, flux, err, p, white_free(p))


def white_with_slow_ramp(t, flux, err, p: Stage4Config) -> tuple[dict, tuple | None]:
    """The white fit's values by least squares and the slow ramp the channels divide out
    (`slow_ramp.slow_ramp`'s split, or None), as Stage 4's white fit chooses them: always with
    `common_slow_ramp: true`, unless `slow_ramp.measured` refuses it with `auto`; a split
    that is not physical leaves the white light fitted without the ramp."""
    from exolrs.stage4 import slow_ramp

    def model(extra: bool):
        q = white_settings(p, extra)
        return _model(t, flux, err, q, white_free(q))

    use, more = p.common_slow_ramp is True, None
    if slow_ramp_test(p):
        (fewer, start), (more, _) = model(False), model(True)
        use, _ = slow_ramp.measured(fewer, more, start)
    if use:
        wv = white_values(t, flux, err, white_settings(p, True))
        if more is None:  # `true`: not built for the test
            more, _ = model(True)
        split = slow_ramp.slow_ramp(wv, more.ts, more.systematics(wv))
        if split is not None:
            return wv, split
    return white_values(t, flux, err, white_settings(p, False)), None


def fitted_depth(t, flux, err, stage4: dict, n_ramps: int, poly_order: int) -> float:
    """Depth (Rp/R*)² of Stage 4's white model (orbit and limb darkening free) fitted to
    `flux` by least squares."""
    p = Stage4Config.model_validate({**stage4, "n_ramps": n_ramps, "poly_order": poly_order})
    return float(white_values(t, flux, err, p)["rp"] ** 2)


def mismatch(simdir: Path, reduction: Path) -> dict:
    """Depth − injected (ppm) for every model on the noise-free truth, the truth without
    its red noise, and the measured white light curve."""
    run = json.loads((reduction / "run.json").read_text())
    stage4 = {k: v for k, v in run["parameters"]["stage4"].items() if k in ("planet",)}
    drop = run["parameters"]["stage4"]["drop_first"]
    truth = Table.read(simdir / "truth_pointing.ecsv")[drop:]
    lc = Table.read(reduction / "Stage4" / "light_curves.ecsv")
    t, err = np.asarray(lc["time"], float), np.asarray(lc["white_err"], float)
    transit = np.asarray(truth["transit_white"], float)
    systematics = np.asarray(truth["systematics_white"], float)
    red = np.asarray(truth["red_noise"], float)
    injected = json.loads((simdir / "truth.json").read_text())["white_depth_5_12um"]
    curves = {
        "truth": transit * systematics,
        "truth_without_red_noise": transit * systematics / (1 + red),
        "measured": np.asarray(lc["white_flux"], float),
    }
    return {
        name: {
            f"n_ramps {n}, poly_order {q}": round(
                1e6 * (fitted_depth(t, flux, err, stage4, n, q) - injected), 1
            )
            for n, q in MODELS
        }
        for name, flux in curves.items()
    }


def noise_free_rows(cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (BJD), each row's wavelength (µm) and (n, rows) flux of the simulated scene
    without noise: each row's injected transit × ramps × settling (no red noise) times the
    star's rate in that row."""
    from exolrs.simulate import scene
    from exolrs.simulate.config import NROWS
    from exolrs.simulate.uncal import integration_times

    t = integration_times(cfg)["int_mid_BJD_TDB"]
    rows = np.arange(NROWS, dtype=np.float64)
    lam = scene.wavelength_of_row(rows)
    clipped = np.clip(lam, 4.0, 16.0)  # as the simulator evaluates its scene
    lc = scene.transit_light_curves(t, clipped, cfg)
    lc *= scene.systematic_ramp(24.0 * (t - t[0]), clipped, cfg)
    for k, f in enumerate(cfg.systematics.settling[: cfg.nints]):
        lc[k] *= 1.0 + f
    return t, lam, lc * scene.star_rate(rows, cfg)[None, :]


def row_sums(flux: np.ndarray, lam: np.ndarray, edges) -> np.ndarray:
    """(n, bins) sums of the rows' `flux` over [edges[k], edges[k+1]) µm."""
    return np.stack(
        [flux[:, (lam >= lo) & (lam < hi)].sum(1) for lo, hi in itertools.pairwise(edges)],
        axis=1,
    )


def white_sum(flux: np.ndarray, lam: np.ndarray, white_range) -> np.ndarray:
    """(n,) sum of the rows' `flux` over `white_range` µm, both ends included (as Stage 4's
    white light curve)."""
    return flux[:, (lam >= white_range[0]) & (lam <= white_range[1])].sum(1)


def noise_free_channels(cfg, edges: np.ndarray, white_range) -> tuple[np.ndarray, ...]:
    """Times (BJD), white flux and (n, channels) flux of the simulated scene without noise
    (`noise_free_rows`), summed over the rows of each channel [edges[k], edges[k+1]) µm and
    of `white_range`."""
    t, lam, flux = noise_free_rows(cfg)
    return t, white_sum(flux, lam, white_range), row_sums(flux, lam, edges)


def channel_depths(t, white, chans, p: Stage4Config, centres=None, bands=None):
    """The white fit's values and each channel's fitted depth, Stage 4's way: the white light
    with the orbit free (one ramp more and its slow ramp divided out of the channels with
    `common_slow_ramp`), the channels with the orbit and ramp time scales fixed to it — or,
    with `tau_bands`, the time scales of the `bands` (centres µm, (n, bands) flux) fitted
    and interpolated at the channel `centres` (µm) as `ramp_bands` does."""
    from exolrs.stage4.ramp_bands import channel_time_scales, fitted_time_scales

    err = np.full(t.size, 1e-4)  # noise-free: equal weights
    wv, split = white_with_slow_ramp(t, white, err, p)
    slow = np.zeros(t.size)
    if split is not None:
        slow, wv, _ = split
    fixed = {k: wv[k] for k in ("t0", "a", "b") if k in wv}
    taus = {k: wv[k] for k in ("tau1", "tau2") if k in wv}
    per_channel = [taus] * chans.shape[1]
    if p.tau_bands is not None:
        free = ["rp", "q1", "q2", *systematics_names(p, True)]
        measured = []
        for f in bands[1].T:
            m, first = _model(t, f / (1.0 + slow), err, p, free, fixed)
            measured.append(fitted_time_scales(m, {**first, **wv}, list(taus)))
        per_channel = channel_time_scales(bands[0], measured, wv, centres)
    free = ["rp", "q1", "q2", *systematics_names(p, p.spec_free_tau)]
    depths = [
        _least_squares(
            t,
            chans[:, k] / (1.0 + slow),
            err,
            p,
            free,
            {**fixed, **({} if p.spec_free_tau else per_channel[k])},
            wv,
        )["rp"]
        ** 2
        for k in range(chans.shape[1])
    ]
    return wv, np.array(depths)


def channel_mismatch(simdir: Path, reduction: Path, variants: list[str]) -> dict:
    """Per variant: each channel's noise-free depth − injected (ppm), the same in units of
    the reduction's depth error, and their means."""
    from exolrs.simulate.config import preset, with_overrides

    c = json.loads((simdir / "truth.json").read_text())["config"]
    cfg = with_overrides(
        preset(c["preset"], c["seed"]),
        {k: c[k] for k in ("planet", "systematics", "detector", "scene")},
        f"{simdir}/truth.json",
    )
    run = json.loads((reduction / "run.json").read_text())["parameters"]["stage4"]
    spec = Table.read(reduction / "Stage4" / "transmission_spectrum.ecsv")
    centre, half = np.asarray(spec["wavelength"]), np.asarray(spec["bin_half_width"])
    edges = np.append(centre - half, centre[-1] + half[-1])
    err = 0.5 * (np.asarray(spec["depth_err_low"]) + np.asarray(spec["depth_err_high"]))
    truth = np.asarray(spec["truth_depth"])
    t, lam, rows = noise_free_rows(cfg)  # the scene once, binned for every variant
    white = white_sum(rows, lam, run.get("white_range", [5.0, 12.0]))
    chans = row_sums(rows, lam, edges)
    keep = slice(run["drop_first"], None)
    out = {"wavelength_um": [round(float(x), 3) for x in centre]}
    for name in variants:
        p = Stage4Config.model_validate(
            {**{k: run[k] for k in SHAPE if k in run}, **VARIANTS[name]}
        )
        bands = None
        if p.tau_bands is not None:
            b_edges = np.asarray(p.tau_bands, float)
            bands = (0.5 * (b_edges[:-1] + b_edges[1:]), row_sums(rows, lam, b_edges)[keep])
        _, depth = channel_depths(t[keep], white[keep], chans[keep], p, centre, bands)
        bias = depth - truth
        out[name] = {
            "bias_ppm": [round(1e6 * float(b), 1) for b in bias],
            "bias_sigma": [round(float(b), 3) for b in bias / err],
            "mean_bias_ppm": round(1e6 * float(np.mean(bias)), 1),
            "mean_bias_sigma": round(float(np.mean(bias / err)), 3),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("simdir", type=Path)
    ap.add_argument("reduction", type=Path)
    ap.add_argument("--label", default="run")
    ap.add_argument("--channels", action="store_true", help="the spectrum's channels")
    ap.add_argument(
        "--variants",
        default="defaults,common_slow_ramp,tau_bands,common_slow_ramp_tau_bands,spec_free_tau,"
        "n_ramps_2,poly_2",
        help="stage4_variants names (with --channels)",
    )
    args = ap.parse_args()
    if args.channels:
        names = compare.chosen(ap, args.variants, VARIANTS, "variant")
        result = channel_mismatch(args.simdir, args.reduction, names)
        print(json.dumps(result))
        compare.append_result("channel-mismatch", args.label, result)
        return
    result = mismatch(args.simdir, args.reduction)
    print(json.dumps(result, indent=1))
    compare.append_result("model-mismatch", args.label, result)


if __name__ == "__main__":
    main()
