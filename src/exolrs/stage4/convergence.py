"""When a chain is long enough: integrated autocorrelation times (emcee's estimator) after
a burn-in of a few of them, and the rule the samplers stop on (kept steps ≥ min_autocorr × τ;
emcee's documentation asks for ≥ 50)."""

from __future__ import annotations

import logging

import numpy as np

CHECK_EVERY = 500  # steps between convergence checks
BURN_TAUS = 5  # autocorrelation times discarded as burn-in


def autocorr(chain: np.ndarray) -> tuple[np.ndarray, int]:
    """Integrated autocorrelation times of a chain (n_steps, W, d) after discarding
    BURN_TAUS of them (estimated on the second half first), and that burn-in in steps."""
    from emcee.autocorr import integrated_time

    emcee_log = logging.getLogger("emcee")
    level = emcee_log.level
    emcee_log.setLevel(logging.ERROR)  # short-chain warnings: reported as steps/τ
    n = len(chain)
    try:
        tau = integrated_time(chain[n // 2 :], quiet=True)
        burn = int(min(BURN_TAUS * np.nanmax(tau), n // 2)) if np.all(np.isfinite(tau)) else n // 2
        tau = integrated_time(chain[burn:], quiet=True)
    except Exception:
        tau, burn = np.full(chain.shape[-1], np.nan), n // 2
    finally:
        emcee_log.setLevel(level)
    return np.asarray(tau, float), burn


def converged(tau: np.ndarray, n_steps: int, burn: int, min_autocorr: float) -> bool:
    """Whether the kept chain is at least `min_autocorr` autocorrelation times long."""
    return bool(np.all(np.isfinite(tau)) and n_steps - burn >= min_autocorr * tau.max())
