"""Nested sampling of a light curve with dynesty: the posterior and the evidence.

The same likelihood as emcee's (linear systematics and the noise scale integrated out) under
the same uniform priors, mapped from the unit cube.  The evidence ln Z is therefore exact up
to a constant shared by every fit of the same light curve with the same systematics columns
(the flat priors of the integrated-out coefficients are improper): differences of ln Z
compare transit models — limb darkening fitted or fixed, an eclipse or none — on one light
curve.
"""

from __future__ import annotations

import warnings

import numpy as np

from exolrs.errors import ExolrsError
from exolrs.stage4.model import LightCurveModel

N_LIVE = 250
FLOOR = -1e300  # log-likelihood outside the priors (dynesty wants finite values)


def prior_box(m: LightCurveModel, theta0, cov) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges of the uniform prior of each non-linear parameter; an unbounded
    side is closed at 50σ (Laplace) from the start."""
    lo = np.array([m.bounds.get(n, (-np.inf, np.inf))[0] for n in m.nonlinear], float)
    hi = np.array([m.bounds.get(n, (-np.inf, np.inf))[1] for n in m.nonlinear], float)
    sig = np.sqrt(np.diag(cov)) if cov is not None else np.abs(theta0) * 0.1 + 1e-3
    lo = np.where(np.isfinite(lo), lo, theta0 - 50 * sig)
    hi = np.where(np.isfinite(hi), hi, theta0 + 50 * sig)
    return lo, hi


def run_dynesty(m: LightCurveModel, theta0, cov, seed: int, n_live: int = N_LIVE):
    """Equal-weight posterior samples of the non-linear parameters and the record
    (ln Z and its error) that `FitResult` takes."""
    try:
        import dynesty
    except ImportError as exc:  # an optional dependency
        raise ExolrsError(
            "stage4: sampler: dynesty needs the dynesty package: pip install 'exolrs[nested]'"
        ) from exc
    lo, hi = prior_box(m, theta0, cov)
    width = hi - lo

    def loglike(x):
        value = m.log_prob(x)
        return value if np.isfinite(value) else FLOOR

    def transform(u):
        return lo + width * u

    rng = np.random.default_rng(seed)
    sampler = dynesty.NestedSampler(
        loglike, transform, len(theta0), nlive=n_live, rstate=rng, sample="rwalk"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sampler.run_nested(print_progress=False, dlogz=0.1)
    res = sampler.results
    weights = np.exp(res.logwt - res.logz[-1])
    flat = dynesty.utils.resample_equal(res.samples, weights / weights.sum(), rstate=rng)
    record = {
        "sampler": "dynesty",
        "acceptance": float("nan"),
        "autocorr": {n: float("nan") for n in m.nonlinear},
        "n_steps": len(flat),
        "log_evidence": float(res.logz[-1]),
        "log_evidence_err": float(res.logzerr[-1]),
    }
    return flat, record
