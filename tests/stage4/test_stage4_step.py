"""FitLightCurvesStep: the Stage 4 fits in memory or saved, and reused when saved."""

from __future__ import annotations

import numpy as np

from exolrs.stage4 import FitLightCurvesStep
from exolrs.stage4.engine import LightCurveFits, Stage4Result
from exolrs.stage4.model import LightCurveModel
from exolrs.stage4.parameters import BOUNDS


def _spectra(depth_rp=0.145):
    from exolrs.io.spectra import Spectra

    rng = np.random.default_rng(11)
    t = np.linspace(0.4, 0.6, 400)
    fixed = {"t0": 0.5, "a": 12.0, "b": 0.3, "q1": 0.2, "q2": 0.3}
    m = LightCurveModel(t, np.ones(len(t)), np.ones(len(t)), 2.0, ["rp"], fixed, BOUNDS)
    shape = m.model(np.array([depth_rp]))
    wave = np.linspace(5, 12, 20)
    flux = 1000 * shape[:, None] * np.ones(len(wave)) + rng.normal(0, 1.0, (len(t), len(wave)))
    return Spectra(wave, np.full(20, 0.18), flux, np.ones_like(flux), t)


PARAMS = dict(
    planet={"period": 2.0, "a": 12.0, "b": 0.3},
    binning="width",
    bin_width=3.5,
    drop_first=0,
    n_ramps=0,
    n_steps_white=600,
    n_steps_spec=400,
)


def test_in_memory_then_saved_then_reused(tmp_path):
    spec = _spectra()
    out = tmp_path / "S4"
    lc = FitLightCurvesStep(spec, output_dir=out).run(save_results=False, **PARAMS)
    assert isinstance(lc, LightCurveFits) and not out.exists()
    depth = np.asarray(lc.spectrum["depth"])
    sigma = 0.5 * (lc.spectrum["depth_err_low"] + lc.spectrum["depth_err_high"])
    assert np.all(np.abs(depth - 0.145**2) < 4 * sigma)

    step = FitLightCurvesStep(spec, output_dir=out)
    saved = step.run(do_plot=True, **PARAMS)
    assert isinstance(saved, Stage4Result) and saved.spectrum.exists()
    assert saved.light_curves.exists() and len(step.figures) == 5
    from astropy.table import Table

    channels = Table.read(saved.channel_fits)
    assert np.all(channels["steps_over_autocorr"] > 1)  # every fit reports its chain length
    mtime = saved.spectrum.stat().st_mtime_ns
    again = FitLightCurvesStep(spec, output_dir=out).run(**PARAMS)
    assert again.spectrum == saved.spectrum and again.spectrum.stat().st_mtime_ns == mtime


def test_an_orbit_held_at_the_run_files_values(tmp_path):
    """`planet.fixed: [a, b]` keeps a/R* and b at the given (literature) values in the white
    fit, and the channels inherit them."""
    import pytest
    from pydantic import ValidationError

    from exolrs.config import Stage4Config
    from exolrs.stage4.engine import fit_light_curves

    params = {**PARAMS, "planet": {"period": 2.0, "a": 12.3, "b": 0.35, "fixed": ["a", "b"]}}
    lc = fit_light_curves(_spectra(), Stage4Config(**params))
    assert "a" not in lc.white.names and "b" not in lc.white.names
    assert (lc.white.best["a"], lc.white.best["b"]) == (12.3, 0.35)
    assert "t0" in lc.white.names
    with pytest.raises(ValidationError, match=r"planet\.t0 is not given"):
        Stage4Config(planet={"period": 2.0, "fixed": ["t0"]})


def test_the_flats_static_error_widens_each_depth_error():
    """Spectra with a static_err per row: each channel's depth error gains
    depth · sqrt(Σ static_err²) / flux in quadrature; flat_error: false leaves it out."""
    from dataclasses import replace

    from exolrs.config import Stage4Config
    from exolrs.stage4 import binning
    from exolrs.stage4.engine import fit_light_curves

    spec = replace(_spectra(), static_err=np.full(20, 30.0))
    on = fit_light_curves(spec, Stage4Config(**PARAMS)).spectrum
    off = fit_light_curves(spec, Stage4Config(**PARAMS, flat_error=False)).spectrum
    assert np.all(off["depth_err_flat"] == 0)
    np.testing.assert_allclose(on["depth"], off["depth"])  # same seed: the same fits
    rows = np.array([np.sum(np.digitize(spec.wave, [5, 8.5, 12]) - 1 == k) for k in (0, 1)])
    flux = 1000.0 * rows  # each channel sums its rows' 1000 DN/s
    expected = on["depth"] * np.sqrt(rows * 30.0**2) / flux
    np.testing.assert_allclose(on["depth_err_flat"], expected, rtol=2e-3)
    np.testing.assert_allclose(
        on["depth_err_low"], np.hypot(off["depth_err_low"], on["depth_err_flat"]), rtol=1e-6
    )
    np.testing.assert_allclose(binning.bin_variance(spec.wave, np.ones(20), [5, 8.5, 12]), rows)
    assert binning.dilution_error(0.02, 4.0, 100.0) == 0.02 * 2.0 / 100.0
