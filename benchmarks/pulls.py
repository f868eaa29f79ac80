"""Pull test of Stage 4's depth errors: are they honest under white and red noise?

    python benchmarks/pulls.py [--realisations 300] [--seed 0] [--options none,beta,auto,gp]
        [--kinds white,ar1,white+ar1,white+1/f]

Light curves are simulated directly with batman (a transit times a linear baseline) plus
noise of one of four kinds, at the cadence of program 2783 (1 779 integrations; here over
0.2 d, a 1 h transit); the propagated errors given to the fit are always the white level,
as a pipeline's would be.  The red parts: an AR(1) process with a 10 min correlation time,
and 1/f noise (power ∝ 1/f from the span to the cadence), each at half the white rms (pure
AR(1): at the white rms).  Each light curve is fitted as a Stage 4 channel (orbit and limb
darkening fixed, Rp/R* and the baseline free) with `red_noise: none`, `beta`, `auto` and `gp`, and
the pull (recovered − injected depth)/σ is collected.  Honest errors give a pull standard
deviation of 1.  Prints one JSON line: per noise kind and option, the pulls' mean and
standard deviation, the mean β and the seconds.  `tests/stage4/test_pulls.py` runs the same
on fewer, shorter light curves.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

ORBIT = {"t0": 0.1, "a": 8.0, "b": 0.3, "period": 1.0}
RP, U = 0.14, (0.1, 0.05)
N_POINTS, SPAN, WHITE = 1779, 0.2, 1e-3
RED_LEVEL, RED_TIME = 0.5, 10 / 1440  # red noise rms / white rms; correlation time (days)
KINDS = ("white", "ar1", "white+ar1", "white+1/f")
OPTIONS = ("none", "beta", "auto", "gp")


def transit_light_curve(t: np.ndarray) -> np.ndarray:
    """The injected light curve: batman's quadratic limb-darkened transit × baseline."""
    import batman

    p = batman.TransitParams()
    p.t0, p.per, p.rp, p.a = ORBIT["t0"], ORBIT["period"], RP, ORBIT["a"]
    p.inc = float(np.degrees(np.arccos(ORBIT["b"] / ORBIT["a"])))
    p.ecc, p.w, p.limb_dark, p.u = 0.0, 90.0, "quadratic", list(U)
    return batman.TransitModel(p, t).light_curve(p) * (1 + 0.02 * (t - t.mean()))


def noise(kind: str, n: int, rng, span: float = SPAN) -> np.ndarray:
    """White, AR(1), white + AR(1) or white + 1/f noise on n points over `span` days; red
    parts at RED_LEVEL × white (pure AR(1) at the white level)."""
    phi = np.exp(-span / (n - 1) / RED_TIME)
    out = np.zeros(n)
    if kind.startswith("white"):
        out += rng.normal(0, WHITE, n)
    if "ar1" in kind:
        level = WHITE if kind == "ar1" else RED_LEVEL * WHITE
        red = np.empty(n)
        red[0] = rng.normal()
        for i in range(1, n):
            red[i] = phi * red[i - 1] + np.sqrt(1 - phi**2) * rng.normal()
        out += level * red
    if "1/f" in kind:
        f = np.fft.rfftfreq(n)
        amp = np.zeros_like(f)
        amp[1:] = f[1:] ** -0.5
        spec = amp * (rng.normal(size=f.size) + 1j * rng.normal(size=f.size))
        red = np.fft.irfft(spec, n)
        out += RED_LEVEL * WHITE * red / red.std()
    return out


def pulls(kind: str, red_noise: str, realisations: int, seed: int, n_points=N_POINTS) -> dict:
    """Fit `realisations` light curves of `n_points` with noise `kind`; the pulls' mean and
    std."""
    from exolrs.stage4.fit_joint import fit_channels
    from exolrs.stage4.limb_darkening import u_to_q
    from exolrs.stage4.model import LightCurveModel
    from exolrs.stage4.parameters import BOUNDS

    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, SPAN, n_points)
    started = time.perf_counter()
    clean = transit_light_curve(t)
    q1, q2 = u_to_q(*U)
    fixed = {k: ORBIT[k] for k in ("t0", "a", "b")} | {"q1": float(q1), "q2": float(q2)}
    models = [
        LightCurveModel(
            t,
            clean + noise(kind, n_points, rng),
            np.full(n_points, WHITE),
            ORBIT["period"],
            ["rp", "c0", "c1"],
            fixed,
            BOUNDS,
        )
        for _ in range(realisations)
    ]
    fits = fit_channels(
        models, [{"rp": 0.13}] * realisations, seed=seed, red_noise=red_noise, n_draws=1000
    )
    depth = np.array([f.depth() for f in fits])
    z = (depth[:, 0] - RP**2) / (0.5 * (depth[:, 1] + depth[:, 2]))
    return {
        "mean": float(np.mean(z)),
        "std": float(np.std(z, ddof=1)),
        "beta": float(np.mean([f.red_noise_beta for f in fits])),
        "n": realisations,
        "n_points": n_points,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realisations", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--options", default=",".join(OPTIONS), help="red_noise options")
    ap.add_argument("--kinds", default=",".join(KINDS), help="noise kinds")
    ap.add_argument("--save", action="store_true", help="write results/<date>-pulls.json")
    args = ap.parse_args()
    table = {}
    for i, kind in enumerate(KINDS):
        if kind not in args.kinds.split(","):
            continue
        for option in args.options.split(","):
            table[f"{kind} / {option}"] = pulls(kind, option, args.realisations, args.seed + i)
            print(kind, option, table[f"{kind} / {option}"], flush=True)
    print(json.dumps(table))
    if args.save:
        import datetime
        from pathlib import Path

        out = Path(__file__).resolve().parent / "results" / f"{datetime.date.today()}-pulls.json"
        earlier = json.loads(out.read_text()) if out.exists() else {}  # runs of other cases
        out.write_text(json.dumps({**earlier, **table}, indent=1))


if __name__ == "__main__":
    main()
