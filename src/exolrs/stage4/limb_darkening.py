"""Quadratic limb darkening with Kipping (2013, MNRAS 435, 2152) uninformative priors.

Fitting (q1, q2) uniform in [0, 1] samples every physical (u1, u2) uniformly.  Coefficients
can instead be fixed or read per channel from a table (ECSV/CSV with columns `wavelength`,
`u1`, `u2`), e.g. computed offline with ExoTiC-LD or exotic-ld for the star's Teff, log g and
[Fe/H] through the MIRI/LRS throughput.
"""

from __future__ import annotations

import numpy as np


def q_to_u(q1, q2):
    s = np.sqrt(q1)
    return 2 * s * q2, s * (1 - 2 * q2)


def u_to_q(u1, u2):
    q1 = (u1 + u2) ** 2
    q2 = np.where(u1 + u2 != 0, u1 / (2 * (u1 + u2)), 0.0)
    return q1, q2


def table_coefficients(path, wavelengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u1, u2 interpolated at `wavelengths` from a user table."""
    from astropy.table import Table

    t = Table.read(path)
    order = np.argsort(t["wavelength"])
    w = np.asarray(t["wavelength"], float)[order]
    return (
        np.interp(wavelengths, w, np.asarray(t["u1"], float)[order]),
        np.interp(wavelengths, w, np.asarray(t["u2"], float)[order]),
    )
