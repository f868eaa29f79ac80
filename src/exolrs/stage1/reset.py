"""MIRI reset correction: subtract the RESET reference ramp (first / later integrations).

The CRDS MIRI reset references are zero today (the reset anomaly is in the dark), so this step
is benign with them; it is kept so a non-zero reference applies as jwst would apply it.
"""

from __future__ import annotations

import numpy as np

from exolrs.stage1.dark import integration_planes


def subtract_reset(
    data: np.ndarray, reset: np.ndarray, int_start: int = 0, inplace: bool = False
) -> np.ndarray:
    """Subtract the reset ramp (nints_ref, ngroups_ref, ny, nx) from raw DN of a block of
    integrations starting at absolute index `int_start`.  As jwst's `reset_sub`: integration
    k uses plane min(k, nints_ref − 1), and only the reference's first ngroups_ref groups
    are corrected (NaN in the reference counts as zero)."""
    if not np.any(reset):
        return data
    out = data if inplace and data.dtype == np.float32 else data.astype(np.float32)
    ng = min(reset.shape[1], out.shape[1])
    ref = np.nan_to_num(reset[:, :ng])
    for i, k in enumerate(integration_planes(reset, int_start, out.shape[0])):
        out[i, :ng] -= ref[k]
    return out
