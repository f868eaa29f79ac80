"""Spectrum against the injected one: χ²ν, bias, and the common offset taken apart."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.stage4.accuracy import spectrum_metrics, summary


def test_a_common_offset_is_measured_and_removed():
    rng = np.random.default_rng(4)
    truth = np.linspace(0.020, 0.022, 400)
    sigma = np.linspace(1e-4, 4e-4, 400)
    depth = truth + sigma * rng.standard_normal(400) + 3e-4  # every channel 300 ppm deep
    m = spectrum_metrics(depth, truth, sigma)
    assert m["n_channels"] == 400
    assert m["common_offset_ppm"] == pytest.approx(300, abs=3 * m["common_offset_err_ppm"])
    assert m["common_offset_err_ppm"] == pytest.approx(1e6 / np.sqrt(np.sum(sigma**-2)))
    assert m["chi2_nu_without_offset"] == pytest.approx(1.0, abs=0.15)
    assert m["chi2_nu"] > 2.0 and m["mean_bias_sigma"] > 1.0


def test_without_an_offset_both_chi2_agree():
    rng = np.random.default_rng(5)
    truth = np.full(300, 0.02)
    sigma = np.full(300, 2e-4)
    m = spectrum_metrics(truth + sigma * rng.standard_normal(300), truth, sigma)
    assert abs(m["mean_bias_sigma"]) < 0.2
    assert m["chi2_nu"] == pytest.approx(m["chi2_nu_without_offset"], rel=0.05)


def test_summary_line_with_and_without_the_offset():
    m = spectrum_metrics([0.0201, 0.0203], [0.02, 0.0202], [1e-4, 1e-4])
    line = summary(m)
    assert line.startswith("χ²ν = 1.00, mean bias = +1.00 σ over 2 channels")
    assert "common offset +100 ± 71 ppm; χ²ν 0.00 without it" in line
    old = {k: m[k] for k in ("chi2_nu", "mean_bias_sigma", "n_channels")}
    assert summary(old) == "χ²ν = 1.00, mean bias = +1.00 σ over 2 channels"


def test_the_common_error_enters_chi2_through_the_full_covariance():
    """χ²ν with the common error equals the dense rᵀC⁻¹r/n; a common offset drawn with that
    error gives χ²ν ≈ 1 and a pull of order one, where the diagonal χ²ν is far above 1."""
    rng = np.random.default_rng(6)
    n = 30
    truth = np.full(n, 0.02)
    sigma = rng.uniform(1e-4, 3e-4, n)
    common = np.full(n, 4e-4) * rng.uniform(0.9, 1.1, n)
    chi2, pulls = [], []
    for _ in range(300):
        depth = truth + sigma * rng.standard_normal(n) + common * rng.standard_normal()
        m = spectrum_metrics(depth, truth, sigma, common)
        chi2.append(m["chi2_nu_correlated"])
        pulls.append(m["common_offset_pull"])
    r = depth - truth
    dense = r @ np.linalg.solve(np.diag(sigma**2) + np.outer(common, common), r) / n
    assert m["chi2_nu_correlated"] == pytest.approx(dense, rel=1e-10)
    assert np.mean(chi2) == pytest.approx(1.0, abs=0.05)
    assert np.std(pulls) == pytest.approx(1.0, abs=0.12)
    assert "with the common error ±" in summary(m)
    without = spectrum_metrics(depth, truth, sigma)
    assert "chi2_nu_correlated" not in without
