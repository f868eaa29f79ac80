"""Which light-curve parameters a fit leaves free, their bounds and their starting values,
from the run file's `stage4:` section (pure functions)."""

from __future__ import annotations

import numpy as np

from exolrs.config import Stage4Config
from exolrs.errors import ExolrsError
from exolrs.stage4.limb_darkening import table_coefficients, u_to_q

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
    "fp": (0.0, 0.1),
}


def white_settings(p: Stage4Config, slow_ramp: bool) -> Stage4Config:
    """The settings of the white fit: with a `slow_ramp` one ramp more than the channels
    (its slowest is divided out of them, `common_slow_ramp`)."""
    return p.model_copy(update={"n_ramps": p.n_ramps + 1}) if slow_ramp else p


def slow_ramp_test(p: Stage4Config) -> bool:
    """Whether the white light decides if it has a slow ramp for the channels
    (`common_slow_ramp: auto`, which has room for one ramp more only with n_ramps ≤ 1)."""
    return p.common_slow_ramp == "auto" and p.n_ramps <= 1


def systematics_names(p: Stage4Config, free_tau: bool) -> list[str]:
    """Systematics parameters: polynomial, ramp amplitudes (and time constants when
    `free_tau`), detrending coefficients.  (The noise scale is integrated out.)"""
    names = ["c0", *[f"c{k}" for k in range(1, p.poly_order + 1)]]
    for k in range(1, p.n_ramps + 1):
        names.append(f"A{k}")
        if free_tau:
            names.append(f"tau{k}")
    return [*names, *[f"d_{n}" for n in p.detrend]]


def limb_darkening_setup(p: Stage4Config, wave: float) -> tuple[list[str], dict]:
    """Free limb-darkening names and fixed limb-darkening values (Kipping q1, q2) for a
    light curve centred on `wave` (µm)."""
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


def start_values(p: Stage4Config, t, flux) -> dict:
    """Starting value of every parameter: t0 and Rp/R* from the light curve's minimum unless
    the run file gives them, the orbit guesses, neutral systematics."""
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
        "tau2": 0.15,  # above model.RAMP_SPLIT: the slower of two ramps
        "c0": 1.0,
        "c1": 0.0,
        "c2": 0.0,
        "fp": 1e-3,
        **{f"d_{n}": 0.0 for n in p.detrend},
    }
