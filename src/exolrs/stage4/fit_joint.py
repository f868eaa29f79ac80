"""Fitting many spectroscopic channels at once: one least-squares start per channel, then
every channel's ensemble sampled in lockstep (`lockstep.py`) on the stacked likelihood
(`channel_set.py`) until each channel's kept chain is `min_autocorr` autocorrelation times
long.  Each channel's result is the same `FitResult` a single fit returns."""

from __future__ import annotations

import numpy as np

from exolrs.stage4.channel_set import ChannelSet
from exolrs.stage4.fit import (
    FitResult,
    de_record,
    initial_ensemble,
    prepare,
    summarise,
    walkers,
)
from exolrs.stage4.lockstep import run_until_converged
from exolrs.stage4.model import LightCurveModel


def fit_channels(
    models: list[LightCurveModel],
    starts: list[dict[str, float]],
    *,
    seed: int = 0,
    n_walkers: int | None = None,
    n_steps: int = 10000,
    min_autocorr: float = 50.0,
    red_noise: str = "none",
    n_draws: int = 4000,
) -> list[FitResult]:
    """Fit channel models that `channel_set.joint_ready` accepts; one FitResult each.  With
    `red_noise="auto"` the channels that keep the GP and those that do not are sampled as two
    stacks."""
    rng = np.random.default_rng(seed)
    starts_cov = [prepare(m, s, red_noise) for m, s in zip(models, starts, strict=True)]
    results: list[FitResult | None] = [None] * len(models)
    for use_gp in (False, True):
        part = [i for i, m in enumerate(models) if m.gp == use_gp]
        if part:
            fits = _sample_stack(
                [models[i] for i in part],
                [starts_cov[i] for i in part],
                rng,
                n_walkers,
                n_steps,
                min_autocorr,
                n_draws,
            )
            for i, f in zip(part, fits, strict=True):
                results[i] = f
    return results


def _sample_stack(models, starts_cov, rng, n_walkers, n_steps, min_autocorr, n_draws):
    """Channels of one likelihood shape (all with or all without the GP), in lockstep."""
    radii = (
        [t[models[0].nonlinear.index("rp")] for t, _ in starts_cov]
        if "rp" in models[0].nonlinear
        else [0.1]
    )
    stack = ChannelSet(models, (min(radii) / 1.25, max(radii) * 1.25))
    for m in models:  # one transit table for the group: the draws use the sampled likelihood
        m.table = stack.table
    nw = walkers(models[0], n_walkers)
    p0 = np.array(
        [initial_ensemble(m, t, c, nw, rng) for m, (t, c) in zip(models, starts_cov, strict=True)]
    )
    kept, records = run_until_converged(stack.log_prob, p0, n_steps, min_autocorr, rng)
    return [
        summarise(m, flat, de_record(m, rec), rng, n_draws=n_draws)
        for m, flat, rec in zip(models, kept, records, strict=True)
    ]
