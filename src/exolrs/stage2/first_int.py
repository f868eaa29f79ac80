"""Replace the anomalous first integration of a MIRI exposure (detector settling after the
first reset) with the median of the next three."""

from __future__ import annotations

import numpy as np


def replace_first_integration(cube: np.ndarray, n_next: int = 3) -> np.ndarray:
    """Copy of `cube` whose integration 0 is the median of integrations 1 … n_next."""
    out = cube.copy()
    if cube.shape[0] > n_next:
        out[0] = np.median(cube[1 : n_next + 1], axis=0)
    return out
