"""Light-curve pull test (benchmarks/pulls.py on fewer, shorter light curves): depth errors
are honest under white noise with every option, and under red noise the GP (`auto`) makes
them honest where white-noise errors are too small; the full table (300 realisations per
case, the real cadence) is in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import pulls


def test_pulls_are_honest_under_white_noise():
    for option in ("none", "beta", "auto"):
        result = pulls.pulls("white", option, realisations=80, seed=1, n_points=600)
        assert 0.8 < result["std"] < 1.2, (option, result)
        assert abs(result["mean"]) < 0.35, (option, result)


def test_the_gp_makes_errors_honest_under_red_noise():
    plain = pulls.pulls("white+ar1", "none", realisations=60, seed=2, n_points=600)
    widened = pulls.pulls("white+ar1", "beta", realisations=60, seed=2, n_points=600)
    gp = pulls.pulls("white+ar1", "auto", realisations=60, seed=2, n_points=600)
    assert plain["std"] > 1.4  # white-noise errors are too small under red noise
    assert widened["beta"] > 1.1 and widened["std"] < plain["std"] / 1.1
    assert 0.75 < gp["std"] < 1.25, gp
