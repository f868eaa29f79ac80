"""How noisy is a simulated observation, against the real one?

    python benchmarks/bench_realism.py SIMDIR [REDUCTION_DIR]

Reads the Stage 3 spectra of a reduced simulation (default SIMDIR/reduction, as
`exolrs run SIMDIR/exolrs.yaml --stages 1,2,3` writes it), bins them into the published
spectrum's 0.25 µm bins, and measures each bin's per-integration scatter as the
point-to-point scatter of its normalised light curve (std of successive differences / √2:
insensitive to the transit and slow trends), skipping the first 5 integrations (settling).
Compares with the scatter the published per-bin depth errors imply for program 2783
(`exolrs.simulate.calibration`), writes benchmarks/results/<date>-realism-<preset>.json and
docs/figures/simulator_scatter_<preset>.png.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import numpy as np

from exolrs.io.spectra import read_spectra
from exolrs.simulate.calibration import calibration_table

ROOT = Path(__file__).parents[1]
CHECK = (5.1, 7.4, 9.1, 10.1, 11.9)  # the wavelengths the realism issue quotes


def p2p(x: np.ndarray) -> float:
    return float(np.std(np.diff(x)) / np.sqrt(2))


def decorrelate(lc: np.ndarray, vectors: list[np.ndarray]) -> np.ndarray:
    """`lc` minus its least-squares fit on the successive differences of `vectors` (the
    pointing regression a light-curve fit with `detrend: [x_shift, y_shift]` makes)."""
    d = np.diff(lc)
    a = np.vstack([np.ones_like(d), *[np.diff(v) for v in vectors]]).T
    return d - a @ np.linalg.lstsq(a, d, rcond=None)[0]


def measure(spectra_path) -> dict:
    spec = read_spectra(spectra_path)
    t = calibration_table()
    out = {"bins": []}
    skip = 5
    flux = spec.flux[skip:]
    shifts = [v[skip:] for v in (spec.x_shift, spec.y_shift) if v is not None]
    for row in t:
        lo, hi = row["wavelength"] - row["half_width"], row["wavelength"] + row["half_width"]
        sel = (spec.wave >= lo) & (spec.wave < hi)
        lc = np.nansum(flux[:, sel], axis=1)
        lc = lc / np.median(lc)
        out["bins"].append(
            {
                "wavelength": float(row["wavelength"]),
                "rows": int(sel.sum()),
                "scatter_ppm": 1e6 * p2p(lc),
                "scatter_decorrelated_ppm": 1e6
                * float(np.std(decorrelate(lc, shifts)))
                / np.sqrt(2),
                "published_implied_ppm": 1e6 * float(row["sigma_int"]),
            }
        )
    white = np.nansum(flux[:, (spec.wave >= 5) & (spec.wave <= 12)], axis=1)
    out["white_scatter_ppm"] = 1e6 * p2p(white / np.median(white))
    # the white-light scatter the published bins imply, the bins independent and weighted
    # by their stellar counts
    s = np.asarray(t["star_e_per_int"])
    out["white_implied_ppm"] = 1e6 * float(np.sqrt(np.sum((t["sigma_int"] * s) ** 2)) / s.sum())
    for lam in CHECK:
        b = min(out["bins"], key=lambda b: abs(b["wavelength"] - lam))
        out[f"ratio_{lam}"] = b["scatter_ppm"] / b["published_implied_ppm"]
        out[f"ratio_decorrelated_{lam}"] = (
            b["scatter_decorrelated_ppm"] / b["published_implied_ppm"]
        )
    return out


def figure(result: dict, path: Path, label: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = [b["wavelength"] for b in result["bins"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(
        w,
        [b["published_implied_ppm"] for b in result["bins"]],
        "k-o",
        ms=3,
        label="implied by the published errors (program 2783)",
    )
    ax.semilogy(
        w,
        [b["scatter_ppm"] for b in result["bins"]],
        "C1-s",
        ms=3,
        label=f"simulated ({label}), measured after reduction",
    )
    ax.semilogy(
        w,
        [b["scatter_decorrelated_ppm"] for b in result["bins"]],
        "C0-^",
        ms=3,
        label="the same, decorrelated against the measured x/y shifts",
    )
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("per-integration scatter of a 0.25 µm bin (ppm)")
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def main(simdir, reduction=None) -> int:
    simdir = Path(simdir)
    reduction = Path(reduction) if reduction else simdir / "reduction"
    spectra = sorted((reduction / "Stage3").glob("*_spectra_fullres.fits"))
    spectra = [p for p in spectra if "unaligned" not in p.name]
    truth = json.loads((simdir / "truth.json").read_text())
    label = truth.get("preset", "custom")
    result = {"simulation": str(simdir), "preset": label, **measure(spectra[0])}
    date = datetime.date.today().isoformat()
    out = ROOT / "benchmarks" / "results" / f"{date}-realism-{label}.json"
    out.write_text(json.dumps(result, indent=1))
    figure(result, ROOT / "docs" / "figures" / f"simulator_scatter_{label}.png", label)
    for lam in CHECK:
        print(
            f"{lam:5.1f} µm  simulated / published-implied = {result[f'ratio_{lam}']:.2f} "
            f"(decorrelated against the x/y shifts: {result[f'ratio_decorrelated_{lam}']:.2f})"
        )
    print(
        f"white light: {result['white_scatter_ppm']:.0f} ppm per integration (implied by the "
        f"published bins: {result['white_implied_ppm']:.0f})"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
