"""Time-averaging (Allan) test of light-curve residuals: rms of the residuals binned over
n points against n, which falls as n^−½ for white noise; a flatter slope means red noise."""

from __future__ import annotations

import numpy as np


def allan(residuals: np.ndarray, max_bin: int | None = None):
    """(bin sizes, rms of binned residuals, white-noise expectation)."""
    n = len(residuals)
    max_bin = max_bin or max(n // 10, 2)
    sizes = np.unique(np.logspace(0, np.log10(max_bin), 25).astype(int))
    rms, expect = [], []
    sigma1 = np.std(residuals)
    for s in sizes:
        m = n // s
        binned = residuals[: m * s].reshape(m, s).mean(axis=1)
        rms.append(np.std(binned))
        expect.append(sigma1 / np.sqrt(s) * np.sqrt(m / max(m - 1, 1)))
    return sizes, np.array(rms), np.array(expect)


def allan_slope(residuals: np.ndarray) -> float:
    """Log-log slope of rms against bin size (−0.5 for white noise)."""
    sizes, rms, _ = allan(residuals)
    return float(np.polyfit(np.log(sizes), np.log(rms), 1)[0])


def beta_factor(residuals: np.ndarray, min_bin: int = 4) -> float:
    """Time-averaging β (Pont et al. 2006; Winn et al. 2008): how much more the binned
    residuals scatter than white noise would, the median of rms/expected over bins of
    `min_bin` … n/10 points; at least 1.  Multiplying the errors by β makes parameter
    errors honest when the residuals are correlated on those time scales."""
    sizes, rms, expect = allan(np.asarray(residuals, float))
    use = sizes >= min_bin
    if not use.any():
        return 1.0
    return float(max(np.median(rms[use] / expect[use]), 1.0))
