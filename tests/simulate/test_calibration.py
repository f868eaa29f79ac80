"""The simulator's calibration to program 2783 comes from the real files, recomputably."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exolrs.simulate import calibration as C
from exolrs.simulate.config import preset
from exolrs.simulate.core import _Model

DATA = Path(__file__).parents[1] / "data"
X1DINTS = DATA / "jw02783-o002_t001_miri_p750l-slitlessprism_x1dints.fits"


def test_shipped_table_is_what_the_real_files_give():
    derived = C.derive_calibration(X1DINTS, DATA / "wasp39b_miri_lrs_spectrum_published.csv")
    shipped = C.calibration_table()
    for col in derived.colnames:
        np.testing.assert_allclose(shipped[col], derived[col], rtol=1e-9)


def test_calibration_numbers_are_the_ones_the_real_material_gives():
    t = C.calibration_table()
    band = (t["wavelength"] > 5) & (t["wavelength"] < 12)
    assert 320 < t["background_e_s_px"][band].min() and t["background_e_s_px"].max() < 700
    assert t["sigma_int"][0] * 1e6 == pytest.approx(1910, rel=0.01)  # 5.1 µm
    assert t["sigma_int"][-1] * 1e6 == pytest.approx(20500, rel=0.01)  # 11.9 µm
    # the stellar electrons reproduce the implied scatter with the bin's background
    b = t["background_e_s_px"] * t["rows"] * C.EXTRACTION_PIXELS * C.INTEGRATION_S
    s = np.asarray(t["star_e_per_int"])
    np.testing.assert_allclose(np.sqrt(s + b) / s, t["sigma_int"], rtol=1e-9)


def test_calibrated_preset_uses_the_real_star_background_spectrum_and_settling():
    cfg = preset("medium", seed=1)
    assert cfg.scene.calibration == "program2783" and cfg.planet.depth_source == "published"
    m = _Model(cfg)
    row_5um = int(np.argmin(np.abs(m.row_lambda - 5.125)))
    expected = C.calibration_table()["background_e_s_px"][0] / cfg.detector.gain
    assert np.median(m.background[row_5um]) == pytest.approx(expected, rel=0.05)
    settle = m.lc[:5, row_5um] / m.lc[10, row_5um]
    np.testing.assert_allclose(settle[:4], 1 + np.array(C.SETTLING_P2783), atol=2e-3)
    from exolrs.simulate import scene

    pub = C.published_spectrum()
    depth = scene.depth_spectrum(np.asarray(pub["wl_center_um"]), cfg)
    np.testing.assert_allclose(depth * 1e6, pub["depth_ppm"])
    assert preset("small").scene.calibration is None  # the demo's preset is unchanged
