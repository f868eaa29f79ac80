"""Stage 4 on a synthetic spectra file, fast: the orbit of the synthetic transits, limb
darkening fixed (u1 = u2 = 0.1), white noise, short chains, no figures."""

from __future__ import annotations

from exolrs.stage4.engine import run_stage4

PLANET = {"period": 1.0, "a": 40.0, "b": 0.3}


def quick_stage4(path, out, **changes):
    """`run_stage4` of `path` into `out` with the settings above and `changes`."""
    settings = {
        "planet": PLANET,
        "binning": "width",
        "drop_first": 0,
        "limb_darkening": "fixed",
        "u1": 0.1,
        "u2": 0.1,
        "red_noise": "none",
        "n_steps_white": 3000,
        "n_steps_spec": 1500,
        **changes,
    }
    return run_stage4(path, out, do_plot=False, **settings)
