"""Injection–recovery: the `small` simulation through Stages 1–4 against the injected truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.table import Table
from scipy.stats import chi2

from exolrs.config import Stage4Config
from exolrs.io.tables import SPECTRUM_COLUMNS
from exolrs.parallel import ProcessExecutor
from exolrs.stage4.engine import run_stage4
from exolrs.stats.allan import allan_slope


@pytest.fixture(scope="module")
def stage4(small_sim, small_stage23, tmp_path_factory):
    _, s3 = small_stage23
    truth = json.loads((small_sim["outdir"] / "truth.json").read_text())
    params = Stage4Config(
        planet={"period": truth["orbit"]["period_days"], "a": 40.0, "b": 0.4},
        # as the simulation's run file: on the in-flight dispersion (0.08 µm/row at 5 µm)
        # the pointing jitter moves flux across the white window's 5 µm edge
        detrend=["x_shift", "y_shift"],
    )
    with ProcessExecutor(2) as ex:
        r = run_stage4(
            s3["box"].spectra,
            tmp_path_factory.mktemp("s4"),
            params=params,
            truth=small_sim["outdir"] / "truth.ecsv",
            executor=ex,
        )
    return r, truth


def test_transmission_spectrum_matches_the_injected_one(stage4):
    r, _ = stage4
    spec = Table.read(r.spectrum)
    assert len(spec) >= 15
    assert set(spec.colnames) >= set(SPECTRUM_COLUMNS)
    # χ²ν of one draw: for a reduction whose errors are right, χ² over n channels follows
    # χ²(n), and χ²ν > 1.2 in one draw of four at n = 18.  The gate is its 99 % point (1.93);
    # how χ²ν averages over draws is measured in docs/benchmarks.md (seed_pulls.py).  Seed 2
    # gave 1.18 before 2026-12-07's sharper y_shift and 1.23 after (the sampler alone moves
    # it by ±0.05); the white residual went from 1.07 to 0.98 of the expected noise.
    n = r.truth_metrics["n_channels"]
    assert r.truth_metrics["chi2_nu"] <= chi2.ppf(0.99, n) / n
    # no bias at 3σ: the mean of n unit normals has σ 1/√n (0.24 for 18 channels).  A 2σ
    # gate fails one noise realisation in 20: seed 2 gave −0.32 σ before, −0.47 σ (1.97/√n)
    # on 2026-12-02 with numpy 2.4 and the slope background; the fitted limb darkening's
    # share of such a bias is measured in docs/benchmarks.md, not gated here
    assert abs(r.truth_metrics["mean_bias_sigma"]) < 3 / np.sqrt(n)


def test_white_fit_recovers_the_planet_and_reaches_the_noise(stage4, small_sim):
    r, truth = stage4
    w = json.loads(r.white_fit.read_text())
    rp_true = np.sqrt(truth["white_depth_5_12um"])
    sigma = 0.5 * (w["err_high"]["rp"] - w["err_low"]["rp"])
    assert abs(w["best"]["rp"] - rp_true) < 1.0 * sigma + 1e-4
    assert abs(w["best"]["t0"] - truth["orbit"]["t0_bjd_tdb"]) * 86400 < 30
    lc = Table.read(r.light_curves)
    resid = np.asarray(lc["white_flux"] - lc["white_model"])
    # Photon-limited once the pointing is known: on the in-flight dispersion (0.08 µm/row at
    # 5 µm) the jitter moves flux across the white window's edge (−1.3 %/px in y), and the
    # measured shifts (photon-limited, 0.015 px per integration against 0.010 px injected)
    # remove only part of it.  What is left after regressing on the true shifts is photon
    # noise; the whole residual is photon noise plus that pointing term.
    pt = Table.read(small_sim["outdir"] / "truth_pointing.ecsv")[-len(resid) :]
    a = np.vstack([np.ones(len(resid)), pt["dx"], pt["dy"]]).T
    pointing = a @ np.linalg.lstsq(a, resid, rcond=None)[0]
    expected = w["expected_noise_ppm"]
    assert 1e6 * np.std(resid - pointing) <= 1.05 * expected
    assert w["residual_rms_ppm"] <= 1.05 * np.hypot(expected, 1e6 * np.std(pointing))
    assert -0.65 < allan_slope(resid) < -0.35
    # differential-evolution moves accept less often than the stretch move; what matters is
    # the chain length in autocorrelation times
    assert 0.05 < w["acceptance_fraction"] < 0.7
    assert w["steps_over_autocorr"] >= 50
    assert 0.8 < w["error_scale"] < 1.4 and w["red_noise_beta"] >= 1.0


def test_products_and_figures(stage4):
    r, _ = stage4
    fits = Table.read(r.channel_fits)
    assert {"rp", "A1", "c0", "residual_rms_ppm", "error_scale"} <= set(fits.colnames)
    assert np.all(fits["steps_over_autocorr"] >= 50)  # the default chains are long enough
    assert len(r.figures) == 5 and all(f.stat().st_size > 5000 for f in r.figures)
