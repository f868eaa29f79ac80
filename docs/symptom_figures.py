"""Figures of docs/symptoms.md: what a symptom looks like, and the knob that removes it.

    python docs/symptom_figures.py [WORKDIR]

Simulates a `small` observation with the pointing jitter raised five-fold (so that its
effect shows at this size), reduces it with Stages 1–3 (once more without the EMI
correction), fits the white light curve with and without the knobs, and writes
docs/figures/symptom_*.png.  About two minutes on 2 cores; the PNGs are committed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from exolrs.config import EmiCorrConfig, Stage1Config
from exolrs.io.spectra import read_spectra
from exolrs.plots.figure import new_figure, save_figure
from exolrs.simulate import preset, simulate_tso
from exolrs.stage1 import run_stage1
from exolrs.stage2 import run_stage2
from exolrs.stage3 import run_stage3
from exolrs.stage4.engine import fit_light_curves, stage4_params

FIGURES = Path(__file__).parent / "figures"


def reduce(work: Path):
    cfg = preset("small", seed=3)
    cfg.systematics.x_jitter_px *= 5
    cfg.systematics.y_jitter_px *= 5
    if (work / "sim" / "exolrs.yaml").exists():  # a finished simulation in WORKDIR: reuse it
        uncal = sorted((work / "sim" / "uncal").glob("*_uncal.fits"))
        refs = {p.name.split("_")[2]: p for p in (work / "sim" / "refs").iterdir()}
        sim = {"uncal": uncal, "refs": refs}
    else:
        sim = simulate_tso(work / "sim", config=cfg, workers=2)
    refs = sim["refs"]
    rates = run_stage1(
        sim["uncal"], work / "Stage1", references=refs, miri_drop_groups=10, maximum_cores=2
    )
    no_emi = run_stage1(
        sim["uncal"],
        work / "Stage1_noemi",
        references=refs,
        maximum_cores=2,
        params=Stage1Config(miri_drop_groups=10, emicorr=EmiCorrConfig(skip=True)),
    )
    s2 = run_stage2(list(rates), work / "Stage2", target="W", references=refs, do_plot=False)
    s3 = run_stage3(s2.calints, s2.deep_frame, work / "Stage3", target="W", do_plot=False)
    return cfg, rates, no_emi, read_spectra(s3.spectra)


def white_fit(spec, planet, **knobs):
    p = stage4_params(
        None,
        {
            "planet": planet,
            "binning": "edges",
            "bin_edges": [5.0, 12.0],
            "n_steps_white": 300,
            "n_steps_spec": 100,
            **knobs,
        },
    )
    return fit_light_curves(spec, p)


def ramp_figure(spec, planet) -> Path:
    pointing = {"detrend": ["x_shift", "y_shift"]}
    bare = white_fit(spec, planet, drop_first=0, n_ramps=0, **pointing)
    knob = white_fit(spec, planet, drop_first=5, n_ramps=1, **pointing)
    t0 = np.asarray(spec.time, float)[0]
    plt, fig, ax = new_figure(figsize=(7, 3.6))
    for lc, label, color in (
        (bare, "drop_first: 0, n_ramps: 0", "C3"),
        (knob, "drop_first: 5, n_ramps: 1 (defaults)", "k"),
    ):
        minutes = (lc.t - t0) * 1440
        r = lc.white.residuals * 1e6
        ax.plot(minutes, r, ".", ms=2, color=color, alpha=0.35)
        n = len(r) // 5 * 5  # means of 5 integrations
        ax.plot(
            minutes[:n].reshape(-1, 5).mean(1),
            r[:n].reshape(-1, 5).mean(1),
            "o-",
            ms=3,
            lw=1,
            color=color,
            label=f"{label}, means of 5",
        )
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("minutes since the first integration")
    ax.set_ylabel("white residual (ppm)")
    ax.set_title("ramp left at the start of the light curve")
    ax.legend(loc="upper right", fontsize=8)
    return save_figure(plt, fig, FIGURES / "symptom_ramp.png")


def jitter_figure(spec, planet) -> Path:
    bare = white_fit(spec, planet, detrend=[])
    knob = white_fit(spec, planet, detrend=["x_shift", "y_shift"])
    keep = slice(5, None)  # drop_first
    y = np.asarray(spec.y_shift)[keep]
    plt, fig, axes = new_figure(ncols=2, figsize=(8, 3.4))
    for ax, lc, title in (
        (axes[0], bare, "detrend: []"),
        (axes[1], knob, "detrend: [x_shift, y_shift]"),
    ):
        r = lc.white.residuals * 1e6
        slope = np.polyfit(y, r, 1)[0]
        ax.plot(y, r, ".", ms=3, color="k")
        ax.set_title(f"{title}\nrms {np.std(r):.0f} ppm, slope {slope / 1e4:+.2f} %/px", fontsize=9)
        ax.set_xlabel("trace y shift (px)")
    axes[0].set_ylabel("white residual (ppm)")
    return save_figure(plt, fig, FIGURES / "symptom_jitter.png")


def emi_figure(rates, no_emi) -> Path:
    from astropy.io import fits

    k = 50  # one integration of the first segment
    with fits.open(rates[0]) as a, fits.open(no_emi[0]) as b:
        diff = b["SCI"].data[k] - a["SCI"].data[k]
    plt, fig, axes = new_figure(ncols=2, figsize=(8.5, 3.8), layout="constrained")
    lim = np.nanpercentile(np.abs(diff), 99)
    im = axes[0].imshow(diff, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.colorbar(im, ax=axes[0], label="DN/s")
    axes[0].set(
        title=f"integration {k + 1}: rates without − with emicorr", xlabel="column", ylabel="row"
    )
    rows = np.arange(diff.shape[0])
    axes[1].plot(np.nanmedian(diff[:, :20], axis=1), rows, color="k", lw=0.8)
    axes[1].set(title="its median over columns 1–20", xlabel="DN/s", ylabel="row", ylim=(0, 120))
    return save_figure(plt, fig, FIGURES / "symptom_emi.png")


def main(work: Path) -> None:
    cfg, rates, no_emi, spec = reduce(work)
    planet = {"period": cfg.planet.period_days, "a": round(cfg.planet.a_rs, 1), "b": 0.4}
    for path in (ramp_figure(spec, planet), jitter_figure(spec, planet), emi_figure(rates, no_emi)):
        print(path)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
