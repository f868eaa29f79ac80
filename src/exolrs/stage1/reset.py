"""MIRI reset correction: subtract the RESET reference ramp (first / later integrations).

The CRDS MIRI reset references are zero today (the reset anomaly is in the dark), so this step
is benign with them; it is kept so a non-zero reference applies as jwst would apply it.
"""

from __future__ import annotations

import numpy as np

from exolrs.stage1.dark import subtract_dark


def subtract_reset(
    data: np.ndarray, reset: np.ndarray, int_start: int = 0, inplace: bool = False
) -> np.ndarray:
    """Subtract the reset ramp (nints_ref, ngroups, ny, nx) from raw DN of a block of
    integrations starting at absolute index `int_start`."""
    if not np.any(reset):
        return data
    return subtract_dark(data, reset, int_start, inplace=inplace)
