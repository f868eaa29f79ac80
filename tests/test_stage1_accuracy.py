"""Stage 1 on the `small` simulation against the injected truth (the issue's targets)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from exolrs.config import Stage1Config
from exolrs.dq import DO_NOT_USE, JUMP_DET
from exolrs.io import read_integrations_product
from exolrs.simulate.config import TFRAME, preset
from exolrs.simulate.core import _Model
from exolrs.stage1.jump import disc_offsets

DROP = 10


@pytest.fixture(scope="module")
def result(small_stage1):
    return read_integrations_product(small_stage1), _Model(preset("small", seed=2))


def test_trace_slopes_are_unbiased_and_errors_honest(result):
    r, model = result
    truth = model.rate(0, model.cfg.nints)
    good = ((r.dq & (DO_NOT_USE | JUMP_DET)) == 0) & np.isfinite(r.sci)
    trace = good & (truth > 1000)
    assert trace.sum() > 10_000
    rel = (r.sci[trace] - truth[trace]) / truth[trace]
    assert abs(np.median(rel)) < 1e-3
    resid = r.sci[trace] - truth[trace]
    ratio = np.std(resid) / np.sqrt(np.mean(r.err[trace] ** 2))
    assert 0.9 < ratio <= 1.05


def test_cosmic_rays_recovered_with_few_false_flags(result, small_sim):
    r, model = result
    hits = Table.read(small_sim["outdir"] / "truth_cosmic_rays.ecsv")
    ng = model.cfg.ngroups
    rate = model.rate(0, model.cfg.nints) + model.maps.dark_rate
    i, y, x, g = hits["integration"], hits["row"], hits["col"], hits["group"]
    sigma = np.sqrt(
        2 * model.maps.read_noise[y, x] ** 2 + rate[i, y, x] * TFRAME / model.maps.gain[y, x]
    )
    usable = (r.dq[i, y, x] & DO_NOT_USE) == 0
    matters = usable & (g > DROP) & (g < ng - 1) & (hits["amplitude"] > 10 * sigma)
    assert matters.sum() > 30
    found = (r.dq[i[matters], y[matters], x[matters]] & JUMP_DET) > 0
    assert found.mean() >= 0.95
    explained = np.zeros(r.dq.shape, bool)
    for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        yy, xx = np.clip(y + dy, 0, r.dq.shape[1] - 1), np.clip(x + dx, 0, r.dq.shape[2] - 1)
        explained[i, yy, xx] = True
    # the defaults flag a shower's halo: every pixel within shower_radius of a large event
    cfg = Stage1Config()
    big = hits["amplitude"] > 0.8 * cfg.shower_sigma * sigma
    for dy, dx in disc_offsets(cfg.shower_radius):
        yy = np.clip(y[big] + dy, 0, r.dq.shape[1] - 1)
        xx = np.clip(x[big] + dx, 0, r.dq.shape[2] - 1)
        explained[i[big], yy, xx] = True
    flagged = (r.dq & JUMP_DET) > 0
    false = flagged & ~explained & ((r.dq & DO_NOT_USE) == 0)
    assert false.sum() / flagged.size < 1e-3
