"""benchmarks/bin_errors.py: per-bin errors against the published ones, and truth metrics."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from exolrs.simulate.calibration import published_spectrum
from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bin_errors")


def _spectrum(scale: float, shift_sigma: float) -> Table:
    pub = published_spectrum()
    err = scale * np.asarray(pub["depth_err_ppm"]) / 1e6
    truth = np.asarray(pub["depth_ppm"]) / 1e6
    return Table(
        {
            "wavelength": np.asarray(pub["wl_center_um"]),
            "depth": truth + shift_sigma * err,
            "depth_err_low": err * 0.9,
            "depth_err_high": err * 1.1,
            "truth_depth": truth,
        }
    )


def test_ratios_and_truth_metrics(bench):
    t = _spectrum(1.2, 0.5)
    out = bench.bin_errors(t, published_spectrum())
    assert set(out) == {"5.1", "7.4", "9.1", "10.1", "11.9"}
    assert all(v["ratio"] == pytest.approx(1.2, abs=1e-3) for v in out.values())
    assert out["11.9"]["bin_um"] == pytest.approx(11.875)
    m = bench.truth_metrics(t)
    assert m["mean_bias_sigma"] == pytest.approx(0.5, abs=1e-3)
    assert m["chi2_nu"] == pytest.approx(0.25, abs=1e-3) and m["n_channels"] == 28


def test_spectrum_in_other_bins_is_refused(bench):
    t = _spectrum(1.0, 0.0)
    t["wavelength"] += 0.1
    with pytest.raises(SystemExit, match=r"fit the 0\.25 µm bins first"):
        bench.bin_errors(t, published_spectrum())
