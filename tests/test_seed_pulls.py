"""benchmarks/seed_pulls.py: the seed of a reduction and the pulls' summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("seed_pulls")


def test_seed_is_read_from_the_simulations_truth(bench, tmp_path):
    (tmp_path / "truth.json").write_text(json.dumps({"seed": 11}))
    run_file = tmp_path / "exolrs.yaml"
    run_file.write_text(yaml.safe_dump({"truth": str(tmp_path / "truth.ecsv")}))
    assert bench.seed_of(run_file) == 11
    run_file.write_text(yaml.safe_dump({"output_dir": "x"}))  # real data: no truth
    assert bench.seed_of(run_file) is None


def test_pull_summary_with_and_without_the_common_error(bench):
    rng = np.random.default_rng(0)
    common, own = 100.0, 40.0
    offsets = rng.normal(0, np.hypot(common, own), 400)
    rows = [
        {
            "common_offset_ppm": o,
            "common_offset_err_ppm": own,
            "common_offset_pull": o / np.hypot(common, own),
            "mean_bias_sigma": o / 200.0,
            "chi2_nu_correlated": 1.0 + (o > 0),
        }
        for o in offsets
    ]
    s = bench.pull_summary(rows)
    assert s["n"] == 400
    assert s["pull_std"] == pytest.approx(1.0, abs=0.1)
    assert s["own_only_std"] == pytest.approx(np.hypot(common, own) / own, rel=0.1)
    assert s["ensemble_bias_sigma"] == pytest.approx(np.mean(offsets) / 200.0, abs=1e-3)
    assert s["ensemble_bias_err"] == pytest.approx(np.hypot(common, own) / 200 / 20, rel=0.1)
    assert s["n_chi2_nu_correlated_within_1_3"] == int((offsets <= 0).sum())
    assert s["chi2_nu_correlated_mean"] == pytest.approx(1.0 + np.mean(offsets > 0), abs=1e-3)
    assert bench.pull_summary(rows[:1])["pull_std"] is None


def test_runs_of_the_same_day_join_and_a_seed_run_again_replaces_its_row(bench):
    old = [{"seed": 7, "x": 1}, {"seed": 8, "x": 2}]
    merged = bench.merge_runs(old, [{"seed": 8, "x": 3}, {"seed": 9, "x": 4}])
    assert merged == [{"seed": 7, "x": 1}, {"seed": 8, "x": 3}, {"seed": 9, "x": 4}]
